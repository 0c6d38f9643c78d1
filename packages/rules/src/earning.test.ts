import { describe, expect, it } from 'vitest';
import { multiplyRatios, ratio } from './arithmetic';
import {
  type EarningInput,
  type EarningOrder,
  type Segment,
  activeCampaigns,
  capEarning,
  earnForOrder,
  earningMultiplier,
  eligibleAmount,
  isPendingReleasable,
  pendingUntil,
  poolEarningMultiplier,
  segmentOf,
} from './earning';
import { type Program, type ProgramInput, type Tier, defaultProgram } from './program';

type EarningOverrides = NonNullable<ProgramInput['earning']>;

function aProgram(earning: EarningOverrides = {}, rest: Omit<ProgramInput, 'earning'> = {}): Program {
  return defaultProgram({ ...rest, earning });
}

function tierOf(program: Program, id: string): Tier {
  const tier = program.earning.tiers.find((candidate) => candidate.id === id);
  if (tier === undefined) throw new Error(`no tier ${id}`);
  return tier;
}

/** Wednesday 10 June 2026, 14:00 in Shanghai: no weekday campaign of these tests runs. */
const WEDNESDAY = new Date('2026-06-10T06:00:00Z');
/** Friday 12 June 2026, 00:30 in Shanghai, still Thursday in UTC. */
const FRIDAY_JUST_AFTER_MIDNIGHT = new Date('2026-06-11T16:30:00Z');

function earn(program: Program, order: EarningOrder, overrides: Partial<Omit<EarningInput, 'order'>> & { tierId?: string } = {}) {
  const { tierId = 'member', ...rest } = overrides;
  return earnForOrder(program, {
    order,
    tier: tierOf(program, tierId),
    segment: 'regular',
    at: WEDNESDAY,
    earnedTodayPoints: 0,
    paidThisMonth: 100_000_000,
    issuedThisMonth: 0,
    ...rest,
  });
}

const THOUSAND_YUAN = 100_000;

describe('earning on a paid order — SPEC §3.1 worked example (base 5%, 100 points per ¥1, ¥1,000, cap 10%)', () => {
  const program = aProgram();

  it.each<[Segment, number]>([
    ['regular', 5_000],
    ['new', 8_000],
    ['vip', 3_000],
  ])('a %s shopper earns %i points worth as many fen', (segment, points) => {
    const earning = earn(program, { amount: THOUSAND_YUAN }, { segment });
    expect(earning.points).toBe(points);
    expect(earning.value).toBe(points);
    expect(earning.capsApplied).toEqual([]);
  });

  it('caps a diamond new shopper (0.05 × 2 × 1.6 = 16%) at 10,000 points, 10% of the order', () => {
    const earning = earn(program, { amount: THOUSAND_YUAN }, { segment: 'new', tierId: 'diamond' });
    expect(earning.breakdown.uncappedPoints).toBe(16_000);
    expect(earning.points).toBe(10_000);
    expect(earning.capsApplied).toEqual([{ cap: 'perOrder', limitPoints: 10_000, withheldPoints: 6_000 }]);
    expect(earning.shortfall).toEqual({ points: 0, value: 0 });
    expect(earning.budgetReached).toBe(false);
  });

  it('explains the multiplier factor by factor, and the factors multiply to it exactly', () => {
    const earning = earn(program, { amount: THOUSAND_YUAN }, { segment: 'new', tierId: 'silver' });
    expect(earning.breakdown.factors.map((factor) => [factor.kind, factor.id, factor.decimal])).toEqual([
      ['base', 'base', '0.05'],
      ['tier', 'silver', '1.2'],
      ['segment', 'new', '1.6'],
    ]);
    expect(earning.breakdown.factors[1]?.name).toEqual({ 'zh-CN': '银卡会员', en: 'Silver' });
    expect(earning.multiplier).toEqual(ratio(96, 1000));
    expect(earning.multiplierDecimal).toBe('0.096');
    expect(multiplyRatios(...earning.breakdown.factors.map((factor) => factor.ratio))).toEqual(earning.multiplier);
    expect(earning.points).toBe(9_600);
  });
});

describe('the eligible amount', () => {
  it('leaves shipping and tax out of an order without items', () => {
    const eligible = eligibleAmount(aProgram(), { amount: 11_500, shipping: 1_000, tax: 500 });
    expect(eligible.goods).toBe(10_000);
    expect(eligible.amount).toBe(10_000);
  });

  it('spreads a coupon over the lines in proportion, to the fen, so the lines add up', () => {
    const eligible = eligibleAmount(aProgram(), {
      amount: 10_000,
      items: [{ amount: 3_333 }, { amount: 3_333 }, { amount: 3_334 }],
      couponDiscount: 1_000,
    });
    expect(eligible.lines.map((line) => line.discount)).toEqual([333, 333, 334]);
    expect(eligible.amount).toBe(9_000);
  });

  it('removes an excluded category exactly, after its share of the coupon', () => {
    const program = aProgram({ excludedCategories: ['tobacco'] });
    const eligible = eligibleAmount(program, {
      amount: 10_000,
      items: [{ sku: 'tea', category: 'food', amount: 7_500 }, { sku: 'cigars', category: 'tobacco', amount: 2_500 }],
      couponDiscount: 1_000,
    });
    expect(eligible.lines.map((line) => [line.sku, line.discount, line.isExcluded, line.eligible])).toEqual([
      ['tea', 750, false, 6_750],
      ['cigars', 250, true, 0],
    ]);
    expect(eligible.excluded).toBe(2_250);
    expect(eligible.amount).toBe(6_750);
    expect(earn(program, { amount: 10_000, items: eligible.lines, couponDiscount: 1_000 }).points).toBe(337);
  });

  it('deducts the part paid with points unless the program earns on points paid', () => {
    const order = { amount: 10_000, pointsPaidValue: 4_000 };
    expect(eligibleAmount(aProgram(), order)).toMatchObject({ amount: 6_000, pointsPaidDeducted: 4_000 });
    expect(eligibleAmount(aProgram({ earnOnPointsPaid: true }), order)).toMatchObject({ amount: 10_000, pointsPaidDeducted: 0 });
  });

  it('takes coupons first and points from the rest, as checkout does', () => {
    const eligible = eligibleAmount(aProgram(), { amount: 10_000, couponDiscount: 2_000, pointsPaidValue: 3_000 });
    expect(eligible.amount).toBe(5_000);
  });

  it('puts the points paid only on lines points could pay for', () => {
    const program = defaultProgram({ redemption: { excludedCategories: ['gift-cards'] } });
    const eligible = eligibleAmount(program, {
      amount: 10_000,
      items: [{ category: 'food', amount: 6_000 }, { category: 'gift-cards', amount: 4_000 }],
      pointsPaidValue: 3_000,
    });
    expect(eligible.lines.map((line) => line.pointsPaid)).toEqual([3_000, 0]);
    expect(eligible.amount).toBe(7_000);
  });

  it('treats items worth more than the order as a discount the merchant did not itemise', () => {
    const eligible = eligibleAmount(aProgram(), {
      amount: 9_000 + 800,
      shipping: 800,
      items: [{ amount: 6_000 }, { amount: 4_000 }],
    });
    expect(eligible.discount).toBe(1_000);
    expect(eligible.lines.map((line) => line.eligible)).toEqual([5_400, 3_600]);
  });

  it('never goes below zero when discounts exceed the goods', () => {
    const eligible = eligibleAmount(aProgram(), { amount: 3_000, couponDiscount: 2_000, pointsPaidValue: 2_000 });
    expect(eligible.amount).toBe(0);
    expect(earn(aProgram(), { amount: 3_000, couponDiscount: 2_000, pointsPaidValue: 2_000 }).points).toBe(0);
  });

  it('earns nothing below the minimum order, and earns from the minimum on', () => {
    const program = aProgram({ minOrderAmount: 5_000 });
    const below = earn(program, { amount: 5_500, shipping: 600 });
    expect(below.eligible.isBelowMinimum).toBe(true);
    expect(below.points).toBe(0);
    expect(earn(program, { amount: 5_600, shipping: 600 }).points).toBe(250);
  });
});

describe('campaigns', () => {
  const fridayDouble = { id: 'friday-double', multiplier: 2, weekdays: [5] };

  it('doubles points on a Friday in the merchant zone even while it is Thursday in UTC', () => {
    const program = aProgram({ campaigns: [fridayDouble] });
    const earning = earn(program, { amount: 10_000 }, { at: FRIDAY_JUST_AFTER_MIDNIGHT });
    expect(earning.points).toBe(1_000);
    expect(earning.breakdown.factors.at(-1)).toMatchObject({ kind: 'campaign', id: 'friday-double', decimal: '2' });
    expect(earn(program, { amount: 10_000 }, { at: new Date('2026-06-11T15:59:59Z') }).points).toBe(500);
  });

  it('reads weekdays in the program zone, so a New York Friday campaign misses the same instant', () => {
    const program = aProgram({ campaigns: [fridayDouble] }, { timeZone: 'America/New_York', currency: 'USD' });
    expect(activeCampaigns(program, FRIDAY_JUST_AFTER_MIDNIGHT)).toEqual([]);
  });

  it('runs from the first to the last local date inclusive', () => {
    const program = aProgram({ campaigns: [{ id: 'double-eleven', multiplier: 3, from: '2026-11-11', to: '2026-11-11' }] });
    const at = (iso: string) => activeCampaigns(program, new Date(iso)).map((campaign) => campaign.id);
    expect(at('2026-11-10T15:59:59Z')).toEqual([]);
    expect(at('2026-11-10T16:00:00Z')).toEqual(['double-eleven']);
    expect(at('2026-11-11T15:59:59Z')).toEqual(['double-eleven']);
    expect(at('2026-11-11T16:00:00Z')).toEqual([]);
  });

  it('multiplies only the listed categories and floors the order once, not line by line', () => {
    const program = aProgram({ campaigns: [{ id: 'fruit-week', multiplier: 1.5, categories: ['fruit'] }] });
    const earning = earn(program, {
      amount: 2_020,
      items: [{ category: 'fruit', amount: 1_010 }, { category: 'books', amount: 1_010 }],
    });
    // fruit 1,010 × 0.05 × 1.5 = 75.75 and books 1,010 × 0.05 = 50.5: 126.25 in all (line by line: 75 + 50).
    expect(earning.breakdown.exactPoints).toEqual(ratio(12_625, 100));
    expect(earning.points).toBe(126);
    expect(earning.breakdown.campaigns).toEqual([
      { campaignId: 'fruit-week', ratio: ratio(3, 2), decimal: '1.5', eligible: 1_010 },
      { campaignId: null, ratio: ratio(1), decimal: '1', eligible: 1_010 },
    ]);
    const campaignFactor = earning.breakdown.factors.at(-1);
    expect(campaignFactor).toMatchObject({ kind: 'campaign', id: 'blended', ratio: ratio(5, 4), decimal: '1.25' });
  });

  it('takes the highest multiplier for a line when campaigns overlap, never their product', () => {
    const program = aProgram({
      perOrderCapRate: null,
      campaigns: [
        { id: 'friday-double', multiplier: 2, weekdays: [5] },
        { id: 'fruit-triple', multiplier: 3, categories: ['fruit'] },
        { id: 'june', multiplier: 1.2, from: '2026-06-01', to: '2026-06-30' },
      ],
    });
    const earning = earn(program, { amount: 20_000, items: [{ category: 'fruit', amount: 10_000 }, { category: 'books', amount: 10_000 }] }, { at: FRIDAY_JUST_AFTER_MIDNIGHT });
    expect(earning.breakdown.campaigns.map((share) => [share.campaignId, share.eligible])).toEqual([
      ['fruit-triple', 10_000],
      ['friday-double', 10_000],
    ]);
    expect(earning.points).toBe(1_500 + 1_000);
  });

  it('previews the multiplier for one category with its factors', () => {
    const program = aProgram({ campaigns: [{ id: 'fruit-week', multiplier: 1.5, categories: ['fruit'] }] });
    const context = { tier: tierOf(program, 'gold'), segment: 'regular' as const, at: WEDNESDAY };
    expect(earningMultiplier(program, { ...context, category: 'fruit' }).multiplier).toEqual(ratio(1125, 10_000));
    expect(earningMultiplier(program, { ...context, category: 'books' }).factors.map((factor) => factor.kind)).toEqual(['base', 'tier', 'segment']);
  });
});

describe('caps and the monthly budget', () => {
  it('stops at the daily cap given what the shopper already earned today', () => {
    const program = aProgram({ dailyCapPoints: 6_000 });
    const earning = earn(program, { amount: THOUSAND_YUAN }, { earnedTodayPoints: 2_500 });
    expect(earning.points).toBe(3_500);
    expect(earning.capsApplied).toEqual([{ cap: 'daily', limitPoints: 3_500, withheldPoints: 1_500 }]);
    expect(earn(program, { amount: THOUSAND_YUAN }, { earnedTodayPoints: 7_000 }).points).toBe(0);
  });

  it('issues only what is left of the month budget and reports the shortfall for an alert', () => {
    // Budget 5% of ¥2,000 paid this month = ¥100; ¥97 already issued leaves 300 points.
    const earning = earn(aProgram(), { amount: THOUSAND_YUAN }, { paidThisMonth: 200_000, issuedThisMonth: 9_700 });
    expect(earning.points).toBe(300);
    expect(earning.budgetCharge).toBe(300);
    expect(earning.shortfall).toEqual({ points: 4_700, value: 4_700 });
    expect(earning.budgetReached).toBe(true);
    expect(earning.capsApplied).toEqual([{ cap: 'monthlyBudget', limitPoints: 300, withheldPoints: 4_700 }]);
  });

  it('counts only the budget in the shortfall when the per-order cap bit first', () => {
    const earning = earn(aProgram(), { amount: THOUSAND_YUAN }, { segment: 'new', tierId: 'diamond', paidThisMonth: 100_000, issuedThisMonth: 0 });
    expect(earning.capsApplied.map((cap) => cap.cap)).toEqual(['perOrder', 'monthlyBudget']);
    expect(earning.points).toBe(5_000);
    expect(earning.shortfall.points).toBe(5_000);
  });

  it('applies no cap that the program switches off', () => {
    const program = aProgram({ perOrderCapRate: null, monthlyBudgetRate: null, dailyCapPoints: null });
    const earning = earn(program, { amount: THOUSAND_YUAN }, { segment: 'new', tierId: 'diamond', paidThisMonth: 0, issuedThisMonth: 1_000_000 });
    expect(earning.points).toBe(16_000);
    expect(earning.capsApplied).toEqual([]);
  });

  it('rounds points and their value down but charges the budget rounded up when a point is a fraction of a fen', () => {
    const program = aProgram({}, { valuation: { kind: 'fixed', pointsPerCurrencyUnit: 300 } });
    const earning = earn(program, { amount: 1_001 });
    // 1,001 × 0.05 × 3 points per fen = 150.15 points; 150 points are worth 50 fen exactly.
    expect(earning.points).toBe(150);
    expect(earning.value).toBe(50);
    const odd = earn(program, { amount: 1_021 });
    expect(odd.points).toBe(153);
    expect(odd.value).toBe(51);
    expect(odd.budgetCharge).toBe(51);
    const capped = capEarning(program, { points: 151, unitValue: ratio(1, 3), eligible: 1_000_000, earnedTodayPoints: 0, paidThisMonth: 1_000_000, issuedThisMonth: 0 });
    expect([capped.value, capped.budgetCharge]).toEqual([50, 51]);
  });

  it('caps a pool mint in value terms at the mint price', () => {
    const program = defaultProgram({ valuation: { kind: 'pool' } });
    // Price 160/112 fen per unit: 11,200 units are worth ¥160, the cap at 10% of ¥1,000 allows 7,000.
    const capped = capEarning(program, { points: 11_200, unitValue: ratio(160, 112), eligible: THOUSAND_YUAN, earnedTodayPoints: 0, paidThisMonth: 10_000_000, issuedThisMonth: 0 });
    expect(capped.points).toBe(7_000);
    expect(capped.value).toBe(10_000);
  });

  it('is only for fixed-value programs', () => {
    expect(() => earn(defaultProgram({ valuation: { kind: 'pool' } }), { amount: 100 })).toThrow(/fixed-value/);
  });
});

describe('pool mode hooks', () => {
  it('gives the pool the multiplier without the base rate: tier × segment × campaign', () => {
    const program = defaultProgram({ valuation: { kind: 'pool' }, earning: { campaigns: [{ id: 'fruit-week', multiplier: 1.5, categories: ['fruit'] }] } });
    const context = { tier: tierOf(program, 'gold'), segment: 'new' as const, at: WEDNESDAY };
    expect(poolEarningMultiplier(program, context)).toEqual(ratio(12, 5));
    expect(poolEarningMultiplier(program, { ...context, category: 'fruit' })).toEqual(ratio(18, 5));
    expect(poolEarningMultiplier(program, { ...context, tier: tierOf(program, 'member'), segment: 'vip' })).toEqual(ratio(3, 5));
  });
});

describe('segments', () => {
  it('calls a shopper new until a paid order, and lets the merchant VIP flag win', () => {
    expect(segmentOf({ hasEarlierPaidOrder: false, isVip: false })).toBe('new');
    expect(segmentOf({ hasEarlierPaidOrder: true, isVip: false })).toBe('regular');
    expect(segmentOf({ hasEarlierPaidOrder: false, isVip: true })).toBe('vip');
  });
});

describe('pending points', () => {
  it('stay pending until the end of the local day pendingDays after payment', () => {
    // Paid 23:30 on 1 June in Shanghai (15:30 UTC): available from 00:00 on 9 June, Shanghai time.
    const until = pendingUntil(aProgram({ pendingDays: 7 }), new Date('2026-06-01T15:30:00Z'));
    expect(until.toISOString()).toBe('2026-06-08T16:00:00.000Z');
  });

  it('are available at once when pendingDays is 0', () => {
    const paidAt = new Date('2026-06-01T15:30:00Z');
    expect(pendingUntil(aProgram({ pendingDays: 0 }), paidAt)).toEqual(paidAt);
  });

  it('are released by completion or by the window, whichever comes first', () => {
    const program = aProgram({ pendingDays: 7 });
    const paidAt = new Date('2026-06-01T04:00:00Z');
    const now = new Date('2026-06-03T04:00:00Z');
    expect(isPendingReleasable(program, { paidAt, completedAt: null, now })).toBe(false);
    expect(isPendingReleasable(program, { paidAt, completedAt: new Date('2026-06-02T04:00:00Z'), now })).toBe(true);
    expect(isPendingReleasable(program, { paidAt, completedAt: new Date('2026-06-04T04:00:00Z'), now })).toBe(false);
    expect(isPendingReleasable(program, { paidAt, completedAt: null, now: new Date('2026-06-08T15:59:59Z') })).toBe(false);
    expect(isPendingReleasable(program, { paidAt, completedAt: null, now: new Date('2026-06-08T16:00:00Z') })).toBe(true);
  });
});

describe('what the breakdown tells the shopper', () => {
  it('names the base rate and a campaign in both languages', () => {
    const program = aProgram({ campaigns: [{ id: 'friday-double', multiplier: 2, weekdays: [5] }] });
    const earning = earn(program, { amount: THOUSAND_YUAN }, { at: FRIDAY_JUST_AFTER_MIDNIGHT });
    expect(earning.breakdown.factors.map((factor) => [factor.kind, factor.id, factor.name, factor.decimal])).toEqual([
      ['base', 'base', { en: 'Base rate', 'zh-CN': '基础返点' }, '0.05'],
      ['tier', 'member', tierOf(program, 'member').name, '1'],
      ['segment', 'regular', { en: 'Regular customer', 'zh-CN': '老客' }, '1'],
      ['campaign', 'friday-double', { en: 'Campaign friday-double', 'zh-CN': '活动 friday-double' }, '2'],
    ]);
    expect(earning.points).toBe(10_000);
  });

  it('names every campaign of a blend, in line order, in both languages', () => {
    const program = aProgram({
      perOrderCapRate: null,
      campaigns: [
        { id: 'friday-double', multiplier: 2, weekdays: [5] },
        { id: 'fruit-triple', multiplier: 3, categories: ['fruit'] },
      ],
    });
    const earning = earn(program, { amount: 20_000, items: [{ category: 'fruit', amount: 10_000 }, { category: 'books', amount: 10_000 }] }, { at: FRIDAY_JUST_AFTER_MIDNIGHT });
    // (10,000 × 3 + 10,000 × 2) / 20,000 = 2.5
    expect(earning.breakdown.factors.at(-1)).toEqual({
      kind: 'campaign',
      id: 'blended',
      name: { en: 'Campaigns on some items (fruit-triple ×3, friday-double ×2)', 'zh-CN': '部分商品活动（fruit-triple ×3，friday-double ×2）' },
      ratio: ratio(5, 2),
      decimal: '2.5',
    });
  });

  it('gives a line covered by two equal campaigns the one listed first', () => {
    const program = aProgram({ campaigns: [{ id: 'spring', multiplier: 2 }, { id: 'anniversary', multiplier: 2 }] });
    const earning = earn(program, { amount: THOUSAND_YUAN });
    expect(earning.breakdown.campaigns.map((share) => share.campaignId)).toEqual(['spring']);
    expect(earning.breakdown.factors.at(-1)?.id).toBe('spring');
  });

  it('leaves lines in an excluded category out of the campaign split', () => {
    const program = aProgram({ excludedCategories: ['gift-card'], campaigns: [{ id: 'fruit-week', multiplier: 1.5, categories: ['fruit'] }] });
    const earning = earn(program, { amount: 2_000, items: [{ category: 'fruit', amount: 1_000 }, { category: 'gift-card', amount: 1_000 }] });
    expect(earning.breakdown.campaigns).toEqual([{ campaignId: 'fruit-week', ratio: ratio(3, 2), decimal: '1.5', eligible: 1_000 }]);
    expect(earning.breakdown.factors.at(-1)).toMatchObject({ kind: 'campaign', id: 'fruit-week', decimal: '1.5' });
    expect(earning.points).toBe(75); // 1,000 × 0.05 × 1.5
  });

  it('earns nothing on an order discounted to nothing, and still shows the first line’s campaign', () => {
    const program = aProgram({ campaigns: [{ id: 'fruit-week', multiplier: 1.5, categories: ['fruit'] }] });
    const earning = earn(program, { amount: 2_000, couponDiscount: 2_000, items: [{ category: 'fruit', amount: 1_000 }, { category: 'books', amount: 1_000 }] });
    expect(earning.eligible.amount).toBe(0);
    expect(earning.points).toBe(0);
    expect(earning.breakdown.factors.at(-1)).toMatchObject({ kind: 'campaign', id: 'blended', ratio: ratio(3, 2) });
  });

  it('treats an empty item list like an order without items, and lists only the fields sent', () => {
    const eligible = eligibleAmount(aProgram(), { amount: 11_500, shipping: 1_000, tax: 500, items: [] });
    expect(eligible.goods).toBe(10_000);
    expect(eligible.amount).toBe(10_000);
    expect(eligible.lines).toStrictEqual([{ amount: 10_000, discount: 0, pointsPaid: 0, isExcluded: false, eligible: 10_000 }]);
    const itemised = eligibleAmount(aProgram(), { amount: 300, items: [{ sku: 'tea', amount: 100 }, { category: 'fruit', amount: 200 }] });
    expect(itemised.lines).toStrictEqual([
      { sku: 'tea', amount: 100, discount: 0, pointsPaid: 0, isExcluded: false, eligible: 100 },
      { category: 'fruit', amount: 200, discount: 0, pointsPaid: 0, isExcluded: false, eligible: 200 },
    ]);
  });

  it('applies no cap that the points reach exactly', () => {
    const earning = earn(aProgram({ dailyCapPoints: 5_000 }), { amount: THOUSAND_YUAN });
    expect(earning.points).toBe(5_000);
    expect(earning.capsApplied).toEqual([]);
  });

  it('releases pending points at the instant the order completes', () => {
    const paidAt = new Date('2026-06-01T04:00:00Z');
    const now = new Date('2026-06-03T04:00:00Z');
    expect(isPendingReleasable(aProgram({ pendingDays: 7 }), { paidAt, completedAt: now, now })).toBe(true);
  });
});
