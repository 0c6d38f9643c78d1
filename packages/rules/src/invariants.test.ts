import { describe, expect, it } from 'vitest';
import { ratio } from './arithmetic';
import { checkIn } from './behaviours';
import { couponDiscount, couponExpiry, exchangeEligibility, parseCouponTemplate } from './coupons';
import { capEarning, eligibleAmount } from './earning';
import { remindersDue } from './expiry';
import { type Lot, allocateLots } from './lots';
import { defaultProgram } from './program';
import { quoteRedemption, splitFor } from './redemption';
import { clawback, netAgainstDebt, restoreExpiry, restoreSpent } from './refunds';

// Amounts that cannot come from a caller that checked its input (negative or fractional money or
// points, a refund past the order) are bugs: an `assert` with a constant message (STYLE.md), thrown
// rather than returned. Each guard is pinned at its boundary: the smallest valid value passes.

const program = defaultProgram();
const NOW = new Date('2026-06-15T04:00:00Z');

describe('money and points guards', () => {
  it('refuses a negative or fractional amount anywhere in a redemption quote, and accepts zero points', () => {
    const base = { program, cartAmount: 10_000, availablePoints: 20_000 };
    const message = 'jifen invariant: quote amounts are non-negative safe integers';
    expect(() => quoteRedemption({ ...base, cartAmount: -1 })).toThrow(message);
    expect(() => quoteRedemption({ ...base, availablePoints: 0.5 })).toThrow(message);
    expect(() => quoteRedemption({ ...base, couponDiscount: -1 })).toThrow(message);
    expect(() => quoteRedemption({ ...base, items: [{ amount: 100 }, { amount: -1 }] })).toThrow(message);
    expect(quoteRedemption({ ...base, availablePoints: 0 })).toMatchObject({ ok: false, error: { code: 'BELOW_MINIMUM', available: 0 } });
    expect(() => quoteRedemption({ ...base, unitValue: { numerator: -1n, denominator: 1n } })).toThrow('jifen invariant: a point value is a non-negative ratio');
    expect(() => quoteRedemption({ ...base, unitValue: { numerator: 1n, denominator: 0n } })).toThrow('jifen invariant: a point value is a non-negative ratio');
  });

  it('refuses a negative or fractional choice of points at checkout', () => {
    const quote = quoteRedemption({ program, cartAmount: 10_000, availablePoints: 20_000 });
    if (!quote.ok) throw new Error('expected a quote');
    expect(() => splitFor(quote.value, -100)).toThrow('jifen invariant: chosen points are a non-negative safe integer');
    expect(() => splitFor(quote.value, 100.5)).toThrow('jifen invariant: chosen points are a non-negative safe integer');
  });

  it('refuses to allocate negative points or from a lot with a negative remainder', () => {
    const lot: Lot = { id: 'a', remaining: 100 as Lot['remaining'], expiresAt: null, earnedAt: NOW };
    expect(() => allocateLots([lot], -1)).toThrow('jifen invariant: points to allocate must be a non-negative safe integer');
    expect(() => allocateLots([lot, { ...lot, id: 'b', remaining: -5 as Lot['remaining'] }], 1)).toThrow('jifen invariant: a lot remainder is a non-negative safe integer');
  });

  it('refuses negative points and refund amounts, and a history refunded past its order', () => {
    const progress = { orderAmount: 1_000, refundedBefore: 0, refundAmount: 400 };
    expect(() => clawback({ ...progress, earnedPoints: -1, spendable: 0 })).toThrow('jifen invariant: points are non-negative safe integers');
    expect(() => clawback({ ...progress, earnedPoints: 100, spendable: -1 })).toThrow('jifen invariant: points are non-negative safe integers');
    expect(() => clawback({ ...progress, refundAmount: -1, earnedPoints: 100, spendable: 0 })).toThrow('jifen invariant: refund amounts are non-negative safe integers');
    expect(() => clawback({ ...progress, refundedBefore: 1_001, refundAmount: 0, earnedPoints: 100, spendable: 0 })).toThrow('jifen invariant: an order was never refunded beyond its amount');
    // Fully refunded before, nothing more now: allowed, and takes nothing.
    expect(clawback({ ...progress, refundedBefore: 1_000, refundAmount: 0, earnedPoints: 100, spendable: 0 })).toMatchObject({ ok: true, value: { points: 0, clawedTotal: 100 } });
    const restore = { ...progress, now: NOW, restoreGraceDays: 0, timeZone: 'Asia/Shanghai' };
    expect(() => restoreSpent({ ...restore, portions: [{ lotId: 'a', points: 10, expiresAt: null }, { lotId: 'b', points: -10, expiresAt: null }] })).toThrow('jifen invariant: points are non-negative safe integers');
  });

  it('refuses a negative or fractional grace period, and counts 0 as the end of today', () => {
    const input = { originalExpiresAt: new Date('2026-06-01T16:00:00Z'), now: NOW, timeZone: 'Asia/Shanghai' };
    expect(() => restoreExpiry({ ...input, restoreGraceDays: -1 })).toThrow('jifen invariant: restoreGraceDays is a whole number of days');
    expect(() => restoreExpiry({ ...input, restoreGraceDays: 0.5 })).toThrow('jifen invariant: restoreGraceDays is a whole number of days');
    // 12:00 in Shanghai on 15 June: through the end of that local day, 16:00 UTC.
    expect(restoreExpiry({ ...input, restoreGraceDays: 0 })).toEqual(new Date('2026-06-15T16:00:00Z'));
  });

  it('refuses negative points when netting earnings against debt', () => {
    expect(() => netAgainstDebt(-1, 0)).toThrow('jifen invariant: points are non-negative safe integers');
    expect(() => netAgainstDebt(10, -1)).toThrow('jifen invariant: points are non-negative safe integers');
    expect(netAgainstDebt(0, 0)).toEqual({ credited: 0, settled: 0, debtLeft: 0 });
    expect(netAgainstDebt(30, 50)).toEqual({ credited: 0, settled: 30, debtLeft: 20 });
  });

  it('refuses negative or fractional order amounts when working out what earns', () => {
    expect(() => eligibleAmount(program, { amount: -1 })).toThrow('jifen invariant: order amounts must be safe integers ≥ 0');
    expect(() => eligibleAmount(program, { amount: 1_000, shipping: 0.5 })).toThrow('jifen invariant: order amounts must be safe integers ≥ 0');
    expect(() => eligibleAmount(program, { amount: 1_000, pointsPaidValue: -1 })).toThrow('jifen invariant: order amounts must be safe integers ≥ 0');
    expect(() => eligibleAmount(program, { amount: 1_000, items: [{ amount: 500 }, { amount: -1 }] })).toThrow('jifen invariant: item amounts must be safe integers ≥ 0');
  });

  it('refuses caps on points worth nothing or on negative figures', () => {
    const input = { points: 100, unitValue: ratio(1), eligible: 100, earnedTodayPoints: 0, paidThisMonth: 0, issuedThisMonth: 0 };
    expect(() => capEarning(program, { ...input, unitValue: ratio(0) })).toThrow('jifen invariant: a point unit must be worth something');
    expect(() => capEarning(program, { ...input, issuedThisMonth: -1 })).toThrow('jifen invariant: earning cap inputs must be safe integers ≥ 0');
    expect(() => capEarning(program, { ...input, points: 0.5 })).toThrow('jifen invariant: earning cap inputs must be safe integers ≥ 0');
  });
});

describe('coupon guards', () => {
  const parsed = parseCouponTemplate({ id: 'ten-off', name: { 'zh-CN': '满100减10', en: '¥10 off ¥100' }, discount: { kind: 'fixed', amountOff: 1_000 }, pointsCost: 1_000 });
  if (!parsed.ok) throw new Error('expected a template');
  const template = parsed.value;

  it('refuses negative cart amounts or shipping', () => {
    expect(() => couponDiscount(template, { amount: -1 })).toThrow('jifen invariant: cart amounts are non-negative safe integers');
    expect(() => couponDiscount(template, { amount: 100, shipping: -1 })).toThrow('jifen invariant: cart amounts are non-negative safe integers');
    expect(couponDiscount(template, { amount: 0 })).toBe(0);
  });

  it('refuses negative counts or points on an exchange', () => {
    const check = { template, now: NOW, issuedCount: 0, shopperIssuedCount: 0, availablePoints: 1_000 };
    expect(exchangeEligibility(check)).toEqual({ ok: true, value: { pointsCost: 1_000 } });
    expect(() => exchangeEligibility({ ...check, issuedCount: -1 })).toThrow('jifen invariant: counts and points are non-negative safe integers');
    expect(() => exchangeEligibility({ ...check, availablePoints: 0.5 })).toThrow('jifen invariant: counts and points are non-negative safe integers');
  });

  it('refuses a validity under one day', () => {
    expect(() => couponExpiry(NOW, 0, 'Asia/Shanghai')).toThrow('jifen invariant: validityDays is at least one day');
    expect(() => couponExpiry(NOW, 1.5, 'Asia/Shanghai')).toThrow('jifen invariant: validityDays is at least one day');
    expect(couponExpiry(NOW, 1, 'Asia/Shanghai')).toEqual(new Date('2026-06-15T16:00:00Z'));
  });
});

describe('day-count guards', () => {
  it('refuses reminder offsets that are not whole days, and accepts 0 (the expiry day itself)', () => {
    const check = { expiresAt: new Date('2026-06-30T16:00:00Z'), timeZone: 'Asia/Shanghai', now: new Date('2026-06-30T04:00:00Z'), alreadySent: [] };
    expect(() => remindersDue({ ...check, reminderDays: [7, -1] })).toThrow('jifen invariant: reminder offsets are whole days');
    expect(() => remindersDue({ ...check, reminderDays: [1.5] })).toThrow('jifen invariant: reminder offsets are whole days');
    expect(remindersDue({ ...check, reminderDays: [0] })).toEqual([0]);
  });

  it('refuses a negative or fractional check-in streak', () => {
    expect(() => checkIn(program, { lastCheckinDate: null, streak: -1, now: NOW })).toThrow('jifen invariant: a check-in streak is a whole number of days');
    expect(() => checkIn(program, { lastCheckinDate: null, streak: 0.5, now: NOW })).toThrow('jifen invariant: a check-in streak is a whole number of days');
    expect(checkIn(program, { lastCheckinDate: null, streak: 0, now: NOW })).toMatchObject({ ok: true, value: { streak: 1, scheduleDay: 1 } });
  });
});
