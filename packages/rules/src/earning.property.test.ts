import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Ratio, multiplyFloor, multiplyRatios, ratio, ratioFromDecimal } from './arithmetic';
import { type EarningOrder, earnForOrder, eligibleAmount } from './earning';
import { type Program, defaultProgram } from './program';
import { pointUnitValue } from './valuation';

const CATEGORIES = ['food', 'books', 'tobacco'] as const;

/** A config decimal with at most four places, as the schema admits. */
const decimal = (max: number) => fc.integer({ min: 0, max: max * 10_000 }).map((scaled) => scaled / 10_000);
const money = (max: number) => fc.integer({ min: 0, max });
const category = fc.option(fc.constantFrom(...CATEGORIES), { nil: undefined });

const campaigns = fc.array(
  fc.record({ multiplier: decimal(5), categories: fc.option(fc.subarray([...CATEGORIES], { minLength: 1 }), { nil: undefined }) }),
  { maxLength: 3 },
);

const caps = fc.record({
  perOrderCapRate: fc.option(decimal(1), { nil: null }),
  dailyCapPoints: fc.option(money(200_000), { nil: null }),
  monthlyBudgetRate: fc.option(decimal(1), { nil: null }),
});

function programArbitrary(withCaps: boolean) {
  return fc
    .record({
      baseRate: decimal(1),
      tierMultiplier: decimal(5),
      segments: fc.record({ new: decimal(3), regular: decimal(3), vip: decimal(3) }),
      campaigns,
      excludedCategories: fc.subarray([...CATEGORIES]),
      earnOnPointsPaid: fc.boolean(),
      redemptionExcluded: fc.subarray([...CATEGORIES]),
      currency: fc.constantFrom('CNY', 'JPY'),
      pointsPerCurrencyUnit: fc.integer({ min: 1, max: 1_000 }),
      pointDecimals: fc.integer({ min: 0, max: 2 }),
      caps: withCaps ? caps : fc.constant({ perOrderCapRate: null, dailyCapPoints: null, monthlyBudgetRate: null }),
    })
    .map((draw) =>
      defaultProgram({
        currency: draw.currency,
        pointDecimals: draw.pointDecimals,
        valuation: { kind: 'fixed', pointsPerCurrencyUnit: draw.pointsPerCurrencyUnit },
        redemption: { excludedCategories: draw.redemptionExcluded },
        earning: {
          baseRate: draw.baseRate,
          excludedCategories: draw.excludedCategories,
          earnOnPointsPaid: draw.earnOnPointsPaid,
          ...draw.caps,
          tiers: [{ id: 'member', name: { 'zh-CN': '会员', en: 'Member' }, minSpend: 0, multiplier: draw.tierMultiplier }],
          segments: draw.segments,
          campaigns: draw.campaigns.map((campaign, index) => ({ id: `campaign-${index}`, ...campaign })),
        },
      }),
    );
}

const order: fc.Arbitrary<EarningOrder> = fc
  .record({
    items: fc.array(fc.record({ category, amount: money(1_000_000) }), { maxLength: 5 }),
    shipping: money(10_000),
    tax: money(10_000),
    mismatch: fc.integer({ min: -50_000, max: 50_000 }),
    couponDiscount: money(200_000),
    pointsPaidValue: money(200_000),
  })
  .map(({ items, shipping, tax, mismatch, couponDiscount, pointsPaidValue }) => {
    const goods = items.length > 0 ? items.reduce((sum, item) => sum + item.amount, 0) : 500_000;
    return {
      amount: Math.max(0, goods + shipping + tax + mismatch),
      ...(items.length > 0 ? { items: items.map((item) => (item.category === undefined ? { amount: item.amount } : item)) } : {}),
      shipping,
      tax,
      couponDiscount,
      pointsPaidValue,
    };
  });

const segment = fc.constantFrom('new' as const, 'regular' as const, 'vip' as const);

/** Small month figures, so that the budget often binds or is already spent. */
const ledgerState = fc.record({
  earnedTodayPoints: money(300_000),
  paidThisMonth: money(2_000_000),
  issuedThisMonth: money(200_000),
});

/** The exact points, computed here line by line: the highest covering campaign multiplies each line. */
function exactPoints(program: Program, segmentName: 'new' | 'regular' | 'vip', draft: EarningOrder): Ratio {
  const tier = program.earning.tiers[0];
  if (tier === undefined) throw new Error('a program has a tier');
  const unitValue = pointUnitValue(program);
  const common = multiplyRatios(
    ratioFromDecimal(program.earning.baseRate),
    ratioFromDecimal(tier.multiplier),
    ratioFromDecimal(program.earning.segments[segmentName]),
    ratio(unitValue.denominator, unitValue.numerator),
  );
  let total = ratio(0);
  for (const line of eligibleAmount(program, draft).lines) {
    const covering = program.earning.campaigns.filter((campaign) => campaign.categories === undefined || (line.category !== undefined && campaign.categories.includes(line.category)));
    const campaignMultiplier = covering.length === 0 ? ratio(1) : ratioFromDecimal(Math.max(...covering.map((campaign) => campaign.multiplier)));
    const points = multiplyRatios(ratio(line.eligible), campaignMultiplier, common);
    total = ratio(total.numerator * points.denominator + points.numerator * total.denominator, total.denominator * points.denominator);
  }
  return total;
}

const AT = new Date('2026-06-10T06:00:00Z');

describe('earning properties', () => {
  it('never grants more than the exact figure and, with no cap, loses less than one point unit', () => {
    fc.assert(
      fc.property(programArbitrary(false), segment, order, (program, segmentName, draft) => {
        const tier = program.earning.tiers[0]!;
        const earning = earnForOrder(program, { order: draft, tier, segment: segmentName, at: AT, earnedTodayPoints: 0, paidThisMonth: 0, issuedThisMonth: 0 });
        const exact = exactPoints(program, segmentName, draft);
        const points = BigInt(earning.points);
        expect(points * exact.denominator <= exact.numerator).toBe(true);
        expect((points + 1n) * exact.denominator > exact.numerator).toBe(true);
        expect(earning.breakdown.exactPoints).toEqual(exact);
      }),
    );
  });

  it('never exceeds the per-order cap, the daily cap or the monthly budget', () => {
    fc.assert(
      fc.property(programArbitrary(true), segment, order, ledgerState, (program, segmentName, draft, ledger) => {
        const tier = program.earning.tiers[0]!;
        const earning = earnForOrder(program, { order: draft, tier, segment: segmentName, at: AT, ...ledger });
        const { perOrderCapRate, dailyCapPoints, monthlyBudgetRate } = program.earning;
        const unitValue = pointUnitValue(program);
        const points = BigInt(earning.points);
        const exact = exactPoints(program, segmentName, draft);
        expect(points * exact.denominator <= exact.numerator).toBe(true);
        expect(earning.points + earning.shortfall.points).toBeLessThanOrEqual(earning.breakdown.uncappedPoints);

        if (perOrderCapRate !== null) {
          const cap = ratioFromDecimal(perOrderCapRate);
          const left = points * unitValue.numerator * cap.denominator;
          const right = BigInt(earning.eligible.amount) * cap.numerator * unitValue.denominator;
          expect(left <= right).toBe(true);
        }
        if (dailyCapPoints !== null) expect(earning.points).toBeLessThanOrEqual(Math.max(0, dailyCapPoints - ledger.earnedTodayPoints));
        if (monthlyBudgetRate !== null) {
          const budget = Number(multiplyFloor(ledger.paidThisMonth, ratioFromDecimal(monthlyBudgetRate)));
          if (ledger.issuedThisMonth >= budget) expect(earning.points).toBe(0);
          else expect(ledger.issuedThisMonth + earning.budgetCharge).toBeLessThanOrEqual(budget);
          expect(earning.budgetReached).toBe(earning.shortfall.points > 0);
        } else {
          expect(earning.shortfall.points).toBe(0);
        }
        expect(earning.value).toBeLessThanOrEqual(earning.budgetCharge);
        expect(BigInt(earning.value) * unitValue.denominator <= points * unitValue.numerator).toBe(true);
      }),
    );
  });

  it('spreads discounts over the lines without losing or inventing a fen', () => {
    fc.assert(
      fc.property(programArbitrary(false), order, (program, draft) => {
        const eligible = eligibleAmount(program, draft);
        const sum = (values: number[]) => values.reduce((total, value) => total + value, 0);
        const goodsOfAmount = Math.max(0, draft.amount - (draft.shipping ?? 0) - (draft.tax ?? 0));
        const unitemized = draft.items !== undefined ? Math.max(0, eligible.goods - goodsOfAmount) : 0;
        const discount = Math.min(eligible.goods, (draft.couponDiscount ?? 0) + unitemized);
        expect(sum(eligible.lines.map((line) => line.discount))).toBe(discount);
        expect(sum(eligible.lines.map((line) => line.pointsPaid))).toBe(Math.min(draft.pointsPaidValue ?? 0, eligible.goods - discount));
        for (const line of eligible.lines) expect(line.discount + line.pointsPaid).toBeLessThanOrEqual(line.amount);
        expect(eligible.amount + eligible.excluded).toBe(eligible.goods - discount - eligible.pointsPaidDeducted);
      }),
    );
  });

  it('never counts more than the shopper paid in cash for goods', () => {
    fc.assert(
      fc.property(programArbitrary(false), order, (program, draft) => {
        const goodsOfAmount = Math.max(0, draft.amount - (draft.shipping ?? 0) - (draft.tax ?? 0));
        const pointsPaid = program.earning.earnOnPointsPaid ? 0 : (draft.pointsPaidValue ?? 0);
        const cashForGoods = Math.max(0, goodsOfAmount - (draft.couponDiscount ?? 0) - pointsPaid);
        expect(eligibleAmount(program, draft).amount).toBeLessThanOrEqual(cashForGoods);
      }),
    );
  });
});
