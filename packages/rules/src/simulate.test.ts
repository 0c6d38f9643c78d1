import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Ratio, compareRatios, ratio } from './arithmetic';
import { convertCapOut, mintForOrder, poolValuationOf } from './pool';
import { type ProgramInput, defaultProgram } from './program';
import { type SimulationDay, type SimulationEvent, simulate } from './simulate';
import { EMPTY_POOL } from './valuation';

/** An instant in Asia/Shanghai (the default program zone), e.g. on('2025-03-03', '10:00'). */
const on = (date: string, time = '10:00') => new Date(`${date}T${time}:00+08:00`);

const flat = { new: 1, regular: 1, vip: 1 };

function aClassicProgram(overrides: ProgramInput = {}) {
  return defaultProgram({ ...overrides, earning: { monthlyBudgetRate: null, ...overrides.earning } });
}

/** One tier at ×1: with the default tiers a ¥1,000 order lifts a new shopper to silver (×1.2) as it completes. */
const oneTier = [{ id: 'member', name: { 'zh-CN': '会员', en: 'Member' }, minSpend: 0, multiplier: 1 }];

/** Pool defaults with whole points, no caps and no multipliers, so the SPEC §3.2 figures come out unchanged. */
function aPoolProgram(valuation: Record<string, unknown> = {}, earning: ProgramInput['earning'] = {}, overrides: ProgramInput = {}) {
  return defaultProgram({
    pointDecimals: 0,
    valuation: { kind: 'pool', ...valuation },
    earning: { monthlyBudgetRate: null, perOrderCapRate: null, segments: flat, tiers: oneTier, ...earning },
    ...overrides,
  });
}

const paid = (at: Date, orderId: string, shopperId: string, amount: number, extra: Partial<Extract<SimulationEvent, { kind: 'paid' }>> = {}): SimulationEvent => ({
  kind: 'paid',
  at,
  orderId,
  shopperId,
  amount,
  ...extra,
});
const completed = (at: Date, orderId: string): SimulationEvent => ({ kind: 'completed', at, orderId });
const refunded = (at: Date, orderId: string, amount: number): SimulationEvent => ({ kind: 'refunded', at, orderId, amount });
const used = (at: Date, shopperId: string, points: number, orderId?: string): SimulationEvent => ({ kind: 'pointsUsed', at, shopperId, points, ...(orderId ? { orderId } : {}) });

function dayOf(days: readonly SimulationDay[], date: string): SimulationDay {
  const day = days.find((candidate) => candidate.date === date);
  if (day === undefined) throw new Error(`no simulated day ${date}`);
  return day;
}

describe('simulate: classic programs (SPEC §3.1)', () => {
  it('grants a new shopper 8,000 points for a ¥1,000 order and reports the cost as 8% of GMV', () => {
    const { days } = simulate(aClassicProgram(), [paid(on('2025-03-03'), 'o1', 's1', 100_000)]);
    expect(days).toHaveLength(1);
    expect(days[0]).toMatchObject({
      date: '2025-03-03',
      gmvMinor: 100_000,
      issued: 8_000,
      issuedValueMinor: 8_000,
      costMinor: 8_000,
      costShareOfGmv: '0.0800',
      liability: { points: 8_000, minor: 8_000 },
      pool: null,
    });
  });

  it('holds issuance to the monthly budget, reports the shortfall and alerts', () => {
    const { days, totals } = simulate(defaultProgram(), [paid(on('2025-03-03'), 'o1', 's1', 100_000)]);
    expect(days[0]).toMatchObject({ issued: 5_000, withheld: 3_000, costShareOfGmv: '0.0500', alerts: ['monthlyBudgetReached'] });
    expect(totals.withheld).toBe(3_000);
  });

  it('keeps pending points out of reach until the end of the pending window', () => {
    const { days } = simulate(aClassicProgram(), [
      paid(on('2025-03-03'), 'o1', 's1', 100_000),
      used(on('2025-03-05'), 's1', 1_000),
      used(on('2025-03-11'), 's1', 1_000),
    ]);
    expect(dayOf(days, '2025-03-05')).toMatchObject({ redeemed: 0, liability: { points: 8_000 } });
    expect(dayOf(days, '2025-03-11')).toMatchObject({ redeemed: 1_000, redeemedValueMinor: 1_000, liability: { points: 7_000 } });
  });

  it('makes points usable as soon as the order completes', () => {
    const { days } = simulate(aClassicProgram(), [paid(on('2025-03-03'), 'o1', 's1', 100_000), completed(on('2025-03-04'), 'o1'), used(on('2025-03-04', '12:00'), 's1', 1_000)]);
    expect(dayOf(days, '2025-03-04').redeemed).toBe(1_000);
  });

  it('cancels pending points cleanly when the order is refunded before completion', () => {
    const { days, totals } = simulate(aClassicProgram(), [paid(on('2025-03-03'), 'o1', 's1', 100_000), refunded(on('2025-03-04'), 'o1', 100_000)]);
    expect(dayOf(days, '2025-03-04')).toMatchObject({ refundsMinor: 100_000, clawedBack: 8_000, liability: { points: 0 } });
    expect(totals.debt).toBe(0);
  });

  it('records a debt when refunded points were already spent, and nets it against the next earning', () => {
    const { days, totals } = simulate(aClassicProgram(), [
      paid(on('2025-03-03'), 'o1', 's1', 100_000),
      completed(on('2025-03-03', '12:00'), 'o1'),
      used(on('2025-03-04'), 's1', 3_000),
      refunded(on('2025-03-05'), 'o1', 100_000),
      paid(on('2025-03-06'), 'o2', 's1', 100_000),
    ]);
    expect(dayOf(days, '2025-03-05')).toMatchObject({ clawedBack: 8_000, liability: { points: 0 } });
    // o2 earns 5,000 as a regular shopper: 3,000 pay off the debt, 2,000 are credited.
    expect(dayOf(days, '2025-03-06')).toMatchObject({ issued: 5_000, liability: { points: 2_000 } });
    expect(totals.debt).toBe(0);
  });

  it('restores points used to pay for an order in proportion to a refund', () => {
    const { days } = simulate(aClassicProgram(), [
      paid(on('2025-03-03'), 'o1', 's1', 100_000),
      completed(on('2025-03-03', '12:00'), 'o1'),
      used(on('2025-03-04'), 's1', 3_000, 'o2'),
      paid(on('2025-03-04'), 'o2', 's1', 20_000, { pointsPaidValue: 3_000 }),
      refunded(on('2025-03-05'), 'o2', 10_000),
    ]);
    expect(dayOf(days, '2025-03-05').restored).toBe(1_500);
  });

  it('expires what is left at the end of the expiry day, in the merchant time zone', () => {
    const program = aClassicProgram({ expiry: { kind: 'rolling', months: 1 } });
    const { days, totals } = simulate(
      program,
      [paid(on('2025-01-31'), 'o1', 's1', 100_000), completed(on('2025-01-31', '12:00'), 'o1'), paid(on('2025-01-31', '20:00'), 'o2', 's2', 50_000), completed(on('2025-01-31', '21:00'), 'o2')],
      { until: on('2025-03-02') },
    );
    expect(dayOf(days, '2025-02-27')).toMatchObject({ expired: 0, liability: { points: 12_000 } });
    expect(dayOf(days, '2025-02-28')).toMatchObject({ expired: 12_000, liability: { points: 0, minor: 0 } });
    expect(days.at(-1)?.date).toBe('2025-03-02');
    expect(totals.expired).toBe(12_000);
  });

  it('replays the same history to the same series whatever the order the events arrive in', () => {
    const events = [
      paid(on('2025-03-03'), 'o1', 's1', 100_000),
      completed(on('2025-03-03', '12:00'), 'o1'),
      used(on('2025-03-04'), 's1', 3_000),
      paid(on('2025-03-05'), 'o2', 's2', 40_000),
      refunded(on('2025-03-06'), 'o2', 10_000),
    ];
    expect(simulate(aClassicProgram(), [...events].reverse())).toEqual(simulate(aClassicProgram(), events));
  });

  it('ignores events for orders it never saw paid and repeated payments', () => {
    const result = simulate(aClassicProgram(), [
      paid(on('2025-03-03'), 'o1', 's1', 100_000),
      paid(on('2025-03-03', '11:00'), 'o1', 's1', 100_000),
      completed(on('2025-03-04'), 'elsewhere'),
      refunded(on('2025-03-04'), 'elsewhere', 100),
      completed(on('2025-03-04'), 'o1'),
    ]);
    expect(result.ignoredEvents).toBe(3);
    expect(result.totals.issued).toBe(8_000);
  });

  it('replays events at the same instant in the order they were given', () => {
    const paidAt = on('2025-03-03');
    const completion = completed(on('2025-03-04'), 'o1');
    const use = used(on('2025-03-04'), 's1', 1_000);
    expect(simulate(aClassicProgram(), [paid(paidAt, 'o1', 's1', 100_000), completion, use]).totals.redeemed).toBe(1_000);
    expect(simulate(aClassicProgram(), [paid(paidAt, 'o1', 's1', 100_000), use, completion]).totals.redeemed).toBe(0);
  });

  it('puts an event at local midnight on the day it starts', () => {
    const { days } = simulate(aClassicProgram(), [paid(on('2025-03-03'), 'o1', 's1', 100_000), paid(on('2025-03-04', '00:00'), 'o2', 's2', 50_000)]);
    expect(days.map((day) => [day.date, day.gmvMinor])).toEqual([
      ['2025-03-03', 100_000],
      ['2025-03-04', 50_000],
    ]);
  });

  it('runs to the last event even when `until` is earlier', () => {
    const { days } = simulate(aClassicProgram(), [paid(on('2025-03-03'), 'o1', 's1', 100_000), paid(on('2025-03-05'), 'o2', 's1', 100_000)], { until: on('2025-03-04') });
    expect(days.at(-1)?.date).toBe('2025-03-05');
  });

  it('earns on what the shopper paid in cash for eligible goods, as the earning rules say', () => {
    const program = aClassicProgram({ earning: { excludedCategories: ['tobacco'] } });
    const order = {
      amount: 102_000,
      items: [
        { category: 'food', amount: 75_000 },
        { category: 'tobacco', amount: 25_000 },
      ],
      shipping: 1_500,
      tax: 500,
      couponDiscount: 10_000,
      pointsPaidValue: 20_000,
    };
    const { totals } = simulate(program, [paid(on('2025-03-03'), 'o1', 's1', order.amount, order)]);
    // Tea ¥750 less its ¥75 coupon share and ¥150 of points: ¥525 eligible, × 5% × 1.6 (new shopper).
    expect(totals.issued).toBe(4_200);
  });

  it('earns at the VIP coefficient for a VIP shopper', () => {
    expect(simulate(aClassicProgram(), [paid(on('2025-03-03'), 'o1', 's1', 100_000, { isVip: true })]).totals.issued).toBe(3_000);
  });

  it('earns at the new tier from the order after the one that reached it', () => {
    const { days } = simulate(aClassicProgram(), [paid(on('2025-03-03'), 'o1', 's1', 100_000), paid(on('2025-03-04'), 'o2', 's1', 100_000)]);
    expect(dayOf(days, '2025-03-04').issued).toBe(6_000); // 银卡 ×1.2, regular
  });

  it('makes points usable at once when there is no pending window', () => {
    const { totals } = simulate(aClassicProgram({ earning: { pendingDays: 0 } }), [paid(on('2025-03-03'), 'o1', 's1', 100_000), used(on('2025-03-03', '10:01'), 's1', 500)]);
    expect(totals.redeemed).toBe(500);
  });

  it('holds each shopper to the daily cap, day by day', () => {
    const program = aClassicProgram({ earning: { dailyCapPoints: 6_000 } });
    const { days } = simulate(program, [
      paid(on('2025-03-03'), 'o1', 's1', 100_000),
      paid(on('2025-03-03', '12:00'), 'o2', 's1', 100_000),
      paid(on('2025-03-03', '12:00'), 'o3', 's2', 100_000),
      paid(on('2025-03-04'), 'o4', 's1', 100_000),
    ]);
    expect(dayOf(days, '2025-03-03').issued).toBe(6_000 + 0 + 6_000);
    expect(dayOf(days, '2025-03-04').issued).toBe(6_000);
  });

  it('starts a fresh monthly budget on the first local day of a month', () => {
    const { days } = simulate(defaultProgram(), [paid(on('2025-03-31'), 'o1', 's1', 100_000, { isVip: true }), paid(on('2025-04-01'), 'o2', 's2', 100_000)]);
    expect(dayOf(days, '2025-03-31').issued).toBe(3_000);
    expect(dayOf(days, '2025-04-01')).toMatchObject({ issued: 5_000, withheld: 3_000 });
  });

  it('raises the budget alert once a day however many orders reach it', () => {
    const { days } = simulate(defaultProgram(), [paid(on('2025-03-03'), 'o1', 's1', 100_000), paid(on('2025-03-03', '11:00'), 'o2', 's2', 100_000)]);
    expect(days[0]?.alerts).toEqual(['monthlyBudgetReached']);
  });

  it('makes only the completed order available, and a refund of it leaves another order pending', () => {
    const { days, totals } = simulate(aClassicProgram(), [
      paid(on('2025-03-03'), 'o1', 's1', 100_000),
      paid(on('2025-03-03', '11:00'), 'o2', 's1', 100_000),
      completed(on('2025-03-04'), 'o2'),
      used(on('2025-03-04', '12:00'), 's1', 7_000),
      refunded(on('2025-03-05'), 'o1', 100_000),
    ]);
    expect(dayOf(days, '2025-03-04').redeemed).toBe(6_000); // only o2's 6,000 (银卡) are available
    expect(dayOf(days, '2025-03-05')).toMatchObject({ clawedBack: 8_000, liability: { points: 0 } });
    expect(totals.debt).toBe(0);
  });

  it('restores points used on an order placed before the points were used', () => {
    const { totals } = simulate(aClassicProgram(), [
      paid(on('2025-03-03'), 'o1', 's1', 100_000),
      completed(on('2025-03-03', '12:00'), 'o1'),
      paid(on('2025-03-04'), 'o2', 's1', 20_000, { pointsPaidValue: 3_000 }),
      used(on('2025-03-04', '10:01'), 's1', 3_000, 'o2'),
      refunded(on('2025-03-05'), 'o2', 20_000),
    ]);
    expect(totals.restored).toBe(3_000);
  });

  it('exchanges points for coupons like any other use', () => {
    const { totals } = simulate(aClassicProgram(), [paid(on('2025-03-03'), 'o1', 's1', 100_000), completed(on('2025-03-03', '12:00'), 'o1'), { kind: 'couponExchanged', at: on('2025-03-04'), shopperId: 's1', points: 2_000 }]);
    expect(totals).toMatchObject({ redeemed: 2_000, redeemedValueMinor: 2_000 });
  });

  it('counts a refund of an order already refunded in full as ignored', () => {
    const result = simulate(aClassicProgram(), [paid(on('2025-03-03'), 'o1', 's1', 100_000), refunded(on('2025-03-04'), 'o1', 100_000), refunded(on('2025-03-05'), 'o1', 1)]);
    expect(result.ignoredEvents).toBe(1);
    expect(result.totals.refundsMinor).toBe(100_000);
  });

  it('raises no budget alert while the budget has room', () => {
    const { days } = simulate(defaultProgram(), [paid(on('2025-03-03'), 'o1', 's1', 100_000, { isVip: true })]);
    expect(days[0]).toMatchObject({ issued: 3_000, withheld: 0, alerts: [] });
  });

  it('shares one monthly budget across the days of a month', () => {
    const { days } = simulate(defaultProgram(), [paid(on('2025-03-03'), 'o1', 's1', 100_000, { isVip: true }), paid(on('2025-03-04'), 'o2', 's2', 30_000)]);
    // ¥1,300 paid this month allows ¥65; ¥30 is spent, so the new shopper's 2,400 points fit.
    expect(dayOf(days, '2025-03-04')).toMatchObject({ issued: 2_400, withheld: 0 });
  });

  it('completes an order that earned nothing without trouble', () => {
    const { totals } = simulate(aClassicProgram(), [paid(on('2025-03-03'), 'o1', 's1', 0), completed(on('2025-03-04'), 'o1')]);
    expect(totals).toMatchObject({ issued: 0, gmvMinor: 0 });
  });

  it('takes a refund of spent points from the shopper, never from another order still pending', () => {
    const { days, totals } = simulate(aClassicProgram(), [
      paid(on('2025-03-03'), 'o1', 's1', 100_000),
      paid(on('2025-03-04'), 'o2', 's1', 100_000),
      completed(on('2025-03-04', '11:00'), 'o2'),
      used(on('2025-03-04', '12:00'), 's1', 6_000),
      refunded(on('2025-03-05'), 'o2', 100_000),
    ]);
    expect(dayOf(days, '2025-03-05')).toMatchObject({ clawedBack: 6_000, liability: { points: 8_000 } });
    expect(totals.debt).toBe(6_000);
  });

  it('reports the debt left with shoppers at the end', () => {
    const { totals } = simulate(aClassicProgram(), [paid(on('2025-03-03'), 'o1', 's1', 100_000), completed(on('2025-03-03', '12:00'), 'o1'), used(on('2025-03-04'), 's1', 3_000), refunded(on('2025-03-05'), 'o1', 100_000)]);
    expect(totals.debt).toBe(3_000);
  });

  it('does not tie points one shopper used to another shopper order', () => {
    const { totals } = simulate(aClassicProgram(), [
      paid(on('2025-03-03'), 'o1', 's1', 100_000),
      paid(on('2025-03-03', '11:00'), 'o3', 's2', 100_000),
      completed(on('2025-03-03', '12:00'), 'o1'),
      completed(on('2025-03-03', '12:00'), 'o3'),
      paid(on('2025-03-04'), 'o2', 's1', 20_000),
      used(on('2025-03-04', '10:01'), 's2', 3_000, 'o2'),
      refunded(on('2025-03-05'), 'o2', 20_000),
    ]);
    expect(totals).toMatchObject({ redeemed: 3_000, restored: 0 });
  });

  it('returns no days for no events', () => {
    expect(simulate(aClassicProgram(), []).days).toEqual([]);
  });
});

describe('simulate: pool programs (SPEC §3.2)', () => {
  it('replays the worked example: two ¥1,000 orders mint 112 and 78 points and the price reaches ¥1.6842', () => {
    const { days, totals } = simulate(aPoolProgram(), [
      paid(on('2025-03-03'), 'o1', 's1', 100_000),
      paid(on('2025-03-03', '11:00'), 'o2', 's2', 100_000),
      completed(on('2025-03-04'), 'o1'),
      completed(on('2025-03-04', '11:00'), 'o2'),
    ]);
    expect(dayOf(days, '2025-03-03')).toMatchObject({ gmvMinor: 200_000, issued: 0, pool: { amount: 0, supply: 0, price: '100.0000' } });
    expect(dayOf(days, '2025-03-04')).toMatchObject({
      issued: 190,
      costMinor: 32_000,
      liability: { points: 190, minor: 32_000 },
      pool: { amount: 32_000, supply: 190, price: '168.4211' },
      alerts: [],
    });
    expect(totals.costShareOfGmv).toBe('0.1600');
    expect(dayOf(days, '2025-03-04').costShareOfGmvToDate).toBe('0.1600');
  });

  it('mints when the pending window ends if the merchant never sends completed', () => {
    const { days } = simulate(aPoolProgram(), [paid(on('2025-03-03'), 'o1', 's1', 100_000)], { until: on('2025-03-11') });
    expect(dayOf(days, '2025-03-09').issued).toBe(0);
    expect(dayOf(days, '2025-03-10')).toMatchObject({ issued: 112, pool: { supply: 112 } });
  });

  it('pays checkout uses out of the pool and keeps the price', () => {
    const { days } = simulate(aPoolProgram(), [paid(on('2025-03-03'), 'o1', 's1', 100_000), completed(on('2025-03-03', '12:00'), 'o1'), used(on('2025-03-04'), 's1', 12)]);
    // 12 × 16000 / 112 = 1714.28 → 1714 fen paid out; the rounding stays in the pool.
    expect(dayOf(days, '2025-03-04')).toMatchObject({ redeemed: 12, redeemedValueMinor: 1_714, pool: { amount: 14_286, supply: 100 } });
  });

  it('burns refunded points after completion and keeps the contribution, so the price rises', () => {
    const { days } = simulate(aPoolProgram(), [paid(on('2025-03-03'), 'o1', 's1', 100_000), completed(on('2025-03-03', '12:00'), 'o1'), refunded(on('2025-03-04'), 'o1', 50_000)]);
    expect(dayOf(days, '2025-03-04')).toMatchObject({ clawedBack: 56, pool: { amount: 16_000, supply: 56, price: '285.7143' } });
  });

  it('contributes only what was left after a refund before completion', () => {
    const { days } = simulate(aPoolProgram(), [paid(on('2025-03-03'), 'o1', 's1', 100_000), refunded(on('2025-03-03', '11:00'), 'o1', 50_000), completed(on('2025-03-04'), 'o1')]);
    expect(dayOf(days, '2025-03-04')).toMatchObject({ issued: 56, costMinor: 8_000 });
  });

  it('locks minted points under staged release and frees a share each period', () => {
    const program = aPoolProgram({ release: { periods: 10, periodDays: 1 } });
    const { days } = simulate(program, [
      paid(on('2025-03-03'), 'o1', 's1', 100_000),
      completed(on('2025-03-03', '12:00'), 'o1'),
      used(on('2025-03-03', '18:00'), 's1', 50),
      used(on('2025-03-08', '13:00'), 's1', 50),
    ]);
    expect(dayOf(days, '2025-03-03').redeemed).toBe(0);
    expect(dayOf(days, '2025-03-08').redeemed).toBe(50); // 5 periods: 56 released
  });

  it('caps out a shopper whose holdings reach capMultiple × basis, converting them to a coupon', () => {
    const program = aPoolProgram({ poolShare: { default: 1 }, mintRatio: 0.5, capMultiple: 1.2, retention: { capOut: 0.2 } }, {}, { expiry: { kind: 'none' } });
    const events: SimulationEvent[] = [paid(on('2025-03-01'), 'first', 'early', 10_000), completed(on('2025-03-01', '11:00'), 'first')];
    for (let index = 0; index < 3; index++) {
      events.push(paid(on('2025-03-02', `1${index}:00`), `later-${index}`, `s${index}`, 10_000), completed(on('2025-03-02', `1${index}:30`), `later-${index}`));
    }
    const { days, totals } = simulate(program, events);

    // The same history by hand with pool.ts: the early shopper holds 50 points minted at ¥1.
    const valuation = poolValuationOf(program);
    let pool = mintForOrder(program, { pool: EMPTY_POOL, order: { amount: 10_000 } }).pool;
    for (let index = 0; index < 3; index++) pool = mintForOrder(program, { pool, order: { amount: 10_000 } }).pool;
    const price: Ratio = ratio(pool.amount, pool.supply);
    expect(compareRatios(ratio(50n * price.numerator, price.denominator), ratio(12_000))).toBeGreaterThanOrEqual(0);
    const conversion = convertCapOut(pool, 50, valuation.retention);

    expect(totals.capOuts).toBe(1);
    expect(dayOf(days, '2025-03-02')).toMatchObject({ redeemed: 50, redeemedValueMinor: conversion.couponValue, pool: { amount: conversion.pool.amount, supply: conversion.pool.supply } });
  });

  it('throttles minting once supply has grown by maxSupplyGrowth over the window, and alerts', () => {
    const program = aPoolProgram({ risk: { maxSupplyGrowth: 0.12, growthWindowDays: 30 } });
    const { days } = simulate(program, [
      paid(on('2025-03-01'), 'o1', 's1', 100_000),
      completed(on('2025-03-01', '12:00'), 'o1'),
      paid(on('2025-04-02'), 'o2', 's2', 100_000),
      completed(on('2025-04-02', '12:00'), 'o2'),
    ]);
    // Supply was 112 when the window opened: it may reach floor(112 × 1.12) = 125, so 13 of 78 are minted.
    expect(dayOf(days, '2025-04-02')).toMatchObject({ issued: 13, withheld: 65, alerts: ['supplyThrottled'], pool: { amount: 32_000, supply: 125 } });
  });

  it('counts shoppers holding more than concentrationReview of the supply', () => {
    const { days } = simulate(aPoolProgram({ risk: { concentrationReview: 0.5 } }), [
      paid(on('2025-03-03'), 'o1', 's1', 100_000),
      completed(on('2025-03-03', '11:00'), 'o1'),
      paid(on('2025-03-03', '12:00'), 'o2', 's2', 10_000),
      completed(on('2025-03-03', '13:00'), 'o2'),
    ]);
    expect(dayOf(days, '2025-03-03').pool?.concentrationFlags).toBe(1);
  });

  it('values the points issued at the price each order minted at', () => {
    const { totals } = simulate(aPoolProgram(), [paid(on('2025-03-03'), 'o1', 's1', 100_000), paid(on('2025-03-03', '11:00'), 'o2', 's2', 100_000), completed(on('2025-03-04'), 'o1'), completed(on('2025-03-04', '11:00'), 'o2')]);
    expect(totals.issuedValueMinor).toBe(11_200 + 11_142); // 112 × ¥1, then 78 × ¥1.428571 rounded down
  });

  it('contributes by category share on the order amount, as the ledger does, whatever coupons and points paid of it', () => {
    const program = aPoolProgram({ poolShare: { default: 0.16, byCategory: { food: 0.08 } } });
    const { totals } = simulate(program, [
      paid(on('2025-03-03'), 'o1', 's1', 100_000, { items: [{ category: 'food', amount: 50_000 }, { category: 'home', amount: 50_000 }], couponDiscount: 20_000, pointsPaidValue: 10_000 }),
      completed(on('2025-03-04'), 'o1'),
    ]);
    // SPEC §3.2 "an order of amount A": food ¥500 × 8% + home ¥500 × 16%.
    expect(totals.costMinor).toBe(4_000 + 8_000);
  });

  it('mints at the tier the shopper holds at completion, the order itself counted, as the ledger does', () => {
    const tiers = [...oneTier, { id: 'silver', name: { 'zh-CN': '银卡', en: 'Silver' }, minSpend: 100_000, multiplier: 1.2 }];
    const { totals } = simulate(aPoolProgram({}, { tiers }), [paid(on('2025-03-03'), 'o1', 's1', 100_000), completed(on('2025-03-04'), 'o1')]);
    // The ¥1,000 order lifts the shopper to silver: ¥160 × 0.7 × 1.2 = 134.4 points at ¥1.
    expect(totals.issued).toBe(134);
  });

  it('scales the mint by the campaign on the categories it covers', () => {
    const program = aPoolProgram({ mintRatio: 0.5 }, { campaigns: [{ id: 'food-day', multiplier: 2, categories: ['food'] }] });
    const { totals } = simulate(program, [paid(on('2025-03-03'), 'o1', 's1', 200_000, { items: [{ category: 'food', amount: 100_000 }, { category: 'home', amount: 100_000 }] }), completed(on('2025-03-04'), 'o1')]);
    expect(totals.issued).toBe(240); // ¥320 contributed, minted at (1 + 0.5) / 2 = 0.75 at ¥1
  });

  it('exchanges pool points for coupons, keeping the coupon retention in the pool', () => {
    const program = aPoolProgram({ retention: { coupon: 0.1 } });
    const { days } = simulate(program, [paid(on('2025-03-03'), 'o1', 's1', 100_000), completed(on('2025-03-03', '12:00'), 'o1'), { kind: 'couponExchanged', at: on('2025-03-04'), shopperId: 's1', points: 56 }]);
    // 56 points are worth ¥80; 90% of it (¥72) is paid out.
    expect(dayOf(days, '2025-03-04')).toMatchObject({ redeemed: 56, redeemedValueMinor: 8_000, pool: { amount: 8_800, supply: 56 } });
  });

  it('burns expired pool points with nothing paid out, so the holders left see the price rise', () => {
    const program = aPoolProgram({}, {}, { expiry: { kind: 'rolling', months: 1 } });
    const { days } = simulate(program, [paid(on('2025-01-10'), 'o1', 's1', 100_000), completed(on('2025-01-10', '11:00'), 'o1'), paid(on('2025-02-01'), 'o2', 's2', 100_000), completed(on('2025-02-01', '11:00'), 'o2')], { until: on('2025-02-11') });
    expect(dayOf(days, '2025-02-10')).toMatchObject({ expired: 112, pool: { amount: 32_000, supply: 78, price: '410.2564' } });
  });

  it('does not restore pool points used to pay for a refunded order', () => {
    const { totals } = simulate(aPoolProgram(), [
      paid(on('2025-03-03'), 'o1', 's1', 100_000),
      completed(on('2025-03-03', '12:00'), 'o1'),
      used(on('2025-03-04'), 's1', 50, 'o2'),
      paid(on('2025-03-04'), 'o2', 's1', 20_000, { pointsPaidValue: 5_000 }),
      completed(on('2025-03-04', '12:00'), 'o2'),
      refunded(on('2025-03-05'), 'o2', 20_000),
    ]);
    expect(totals.restored).toBe(0);
  });

  it('pays a pool debt off with the next mint and burns the points that paid it', () => {
    const { days, totals } = simulate(aPoolProgram(), [
      paid(on('2025-03-03'), 'o1', 's1', 100_000),
      completed(on('2025-03-03', '11:00'), 'o1'),
      used(on('2025-03-03', '12:00'), 's1', 112),
      refunded(on('2025-03-03', '13:00'), 'o1', 100_000),
      paid(on('2025-03-04'), 'o2', 's1', 100_000),
      completed(on('2025-03-04', '11:00'), 'o2'),
    ]);
    expect(dayOf(days, '2025-03-03')).toMatchObject({ clawedBack: 112, pool: { supply: 0 } });
    // The pool was emptied, so o2 mints 112 again at ¥1: all of them pay off the 112-point debt.
    expect(dayOf(days, '2025-03-04')).toMatchObject({ issued: 112, liability: { points: 0 }, pool: { amount: 16_000, supply: 0 } });
    expect(totals.debt).toBe(0);
  });

  it('lowers the cap-out basis by a refund, which can bring the cap-out forward', () => {
    const program = aPoolProgram({ poolShare: { default: 1 }, mintRatio: 0.5, capMultiple: 1.2 }, {}, { expiry: { kind: 'none' } });
    // 50 points for ¥100; half refunded: 25 points burned, the ¥100 stays, so 25 points are worth ¥100 against a ¥50 basis.
    const { totals } = simulate(program, [paid(on('2025-03-03'), 'o1', 's1', 10_000), completed(on('2025-03-03', '11:00'), 'o1'), refunded(on('2025-03-03', '12:00'), 'o1', 5_000)]);
    expect(totals).toMatchObject({ clawedBack: 25, capOuts: 1, redeemed: 25, redeemedValueMinor: 8_000 });
  });

  it('releases faster once the shopper has enough completed referrals', () => {
    const program = aPoolProgram({ release: { periods: 10, periodDays: 1, referralBoost: { invitees: 1, factor: 2 } } });
    const events: SimulationEvent[] = [paid(on('2025-03-03'), 'o1', 's1', 100_000), completed(on('2025-03-03', '12:00'), 'o1'), used(on('2025-03-05', '13:00'), 's1', 112)];
    expect(simulate(program, events).totals.redeemed).toBe(22); // 2 of 10 periods
    expect(simulate(program, [{ kind: 'referralCompleted', at: on('2025-03-04'), inviterId: 's1' }, ...events]).totals.redeemed).toBe(44); // 4 of 10
  });

  it('applies the monthly budget to the minted value, and alerts', () => {
    const { days } = simulate(aPoolProgram({}, { monthlyBudgetRate: 0.05 }), [paid(on('2025-03-03'), 'o1', 's1', 100_000), completed(on('2025-03-03', '11:00'), 'o1')]);
    expect(days[0]).toMatchObject({ issued: 50, withheld: 62, alerts: ['monthlyBudgetReached'], pool: { amount: 16_000, supply: 50 } });
  });

  it("charges a mint to the budget of the month the order was paid in, when it completes in the next", () => {
    const { days } = simulate(aPoolProgram({}, { monthlyBudgetRate: 0.05 }), [paid(on('2025-03-31', '23:00'), 'o1', 's1', 100_000), completed(on('2025-04-01', '01:00'), 'o1')]);
    // March's GMV holds the order, and its budget (¥50) the mint; April's GMV holds nothing to mint against.
    expect(dayOf(days, '2025-04-01')).toMatchObject({ issued: 50, withheld: 62, pool: { amount: 16_000, supply: 50 } });
  });

  it('applies the daily cap of the day the order was paid, whenever it completes', () => {
    const { days } = simulate(aPoolProgram({}, { dailyCapPoints: 100 }), [
      paid(on('2025-03-03'), 'o1', 's1', 100_000),
      paid(on('2025-03-04', '09:00'), 'o2', 's1', 100_000),
      completed(on('2025-03-04', '10:00'), 'o2'),
      completed(on('2025-03-04', '11:00'), 'o1'),
    ]);
    // o2 mints 112, held to 4 March's cap of 100; o1, paid on 3 March, mints against 3 March's cap,
    // untouched — charged to 4 March it would mint nothing.
    const day = dayOf(days, '2025-03-04');
    expect(day.issued).toBeGreaterThan(100);
    expect(day.issued).toBeLessThanOrEqual(200);
  });

  it('applies the daily cap to what a shopper minted that day', () => {
    const { days } = simulate(aPoolProgram({}, { dailyCapPoints: 100 }), [
      paid(on('2025-03-03'), 'o1', 's1', 100_000),
      completed(on('2025-03-03', '11:00'), 'o1'),
      paid(on('2025-03-03', '12:00'), 'o2', 's1', 100_000),
      completed(on('2025-03-03', '13:00'), 'o2'),
    ]);
    expect(days[0]?.issued).toBe(100);
  });

  it('claws back locked points too: they are the shopper, only not yet usable', () => {
    const program = aPoolProgram({ release: { periods: 10, periodDays: 1 } });
    const { days, totals } = simulate(program, [paid(on('2025-03-03'), 'o1', 's1', 100_000), completed(on('2025-03-03', '11:00'), 'o1'), refunded(on('2025-03-03', '12:00'), 'o1', 50_000)]);
    expect(days[0]).toMatchObject({ clawedBack: 56, pool: { supply: 56 } });
    expect(totals.debt).toBe(0);
  });

  it('flags only shoppers holding more than the review share, not exactly that share', () => {
    const program = aPoolProgram({ mintRatio: 1, risk: { concentrationReview: 0.5 } });
    const { days } = simulate(program, [
      paid(on('2025-03-03'), 'o1', 's1', 100_000),
      completed(on('2025-03-03', '11:00'), 'o1'),
      paid(on('2025-03-03', '12:00'), 'o2', 's2', 100_000),
      completed(on('2025-03-03', '13:00'), 'o2'),
    ]);
    expect(days[0]?.pool).toMatchObject({ supply: 320, concentrationFlags: 0 });
  });

  it('measures supply growth from the supply at the very instant the window opens', () => {
    const program = aPoolProgram({ risk: { maxSupplyGrowth: 0.12, growthWindowDays: 30 } });
    const { days } = simulate(program, [
      paid(on('2025-03-01'), 'o1', 's1', 100_000),
      completed(on('2025-03-01', '10:00'), 'o1'),
      paid(on('2025-03-02'), 'o2', 's2', 100_000),
      completed(on('2025-03-02', '10:00'), 'o2'),
      paid(on('2025-04-01'), 'o3', 's3', 100_000),
      completed(on('2025-04-01', '10:00'), 'o3'),
    ]);
    // 190 points when the window opened (o2 minted at that instant): up to 212, so 22 of 66.
    expect(dayOf(days, '2025-04-01')).toMatchObject({ issued: 22, withheld: 44 });
  });

  it('never lets the price fall from day to day, and the pool always covers the liability, over any history', () => {
    const shoppers = ['a', 'b', 'c'];
    const anEvent = fc.oneof(
      fc.record({ kind: fc.constant('order' as const), shopper: fc.constantFrom(...shoppers), amount: fc.integer({ min: 0, max: 500_000 }), refund: fc.integer({ min: 0, max: 100 }), completes: fc.boolean() }),
      fc.record({ kind: fc.constant('use' as const), shopper: fc.constantFrom(...shoppers), points: fc.integer({ min: 0, max: 20_000 }), coupon: fc.boolean() }),
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 60 }), anEvent), { maxLength: 25 }), fc.integer({ min: 0, max: 5_000 }), (history, capOutRetention) => {
        const program = aPoolProgram({ retention: { checkout: 0, coupon: 0.1, capOut: capOutRetention / 10_000 }, release: { periods: 3 } }, {}, { pointDecimals: 2, expiry: { kind: 'rolling', months: 1 } });
        const events: SimulationEvent[] = [];
        history.forEach(([day, event], index) => {
          const at = new Date(on('2025-01-01').getTime() + day * 86_400_000 + index * 1_000);
          if (event.kind === 'use') {
            events.push(event.coupon ? { kind: 'couponExchanged', at, shopperId: event.shopper, points: event.points } : used(at, event.shopper, event.points));
            return;
          }
          events.push(paid(at, `o${index}`, event.shopper, event.amount));
          if (event.completes) events.push(completed(new Date(at.getTime() + 3_600_000), `o${index}`));
          if (event.refund > 0) events.push(refunded(new Date(at.getTime() + 7_200_000), `o${index}`, Math.floor((event.amount * event.refund) / 100)));
        });
        const { days } = simulate(program, events, { until: on('2025-04-15') });
        let previous: { price: Ratio; supply: number } | null = null;
        for (const day of days) {
          const pool = day.pool!;
          expect(day.liability.points).toBe(pool.supply);
          expect(day.liability.minor).toBeLessThanOrEqual(pool.amount);
          // An emptied pool restarts at the initial price (pool.md §7); the supply can only have
          // touched zero during the day if the day burned at least what was outstanding before it.
          const burned = day.redeemed + day.expired + day.clawedBack;
          const price = pool.supply === 0 ? null : ratio(pool.amount, pool.supply);
          if (previous !== null && price !== null && burned < previous.supply) {
            expect(compareRatios(price, previous.price)).toBeGreaterThanOrEqual(0);
          }
          previous = price === null ? null : { price, supply: pool.supply };
        }
      }),
      { numRuns: 60 },
    );
  });
});
