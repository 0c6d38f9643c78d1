import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { multiplyFloor, ratio, ratioFromDecimal } from './arithmetic';
import { defaultProgram } from './program';
import { distributePointsDiscount, quoteRedemption, redemptionValueCap, splitFor } from './redemption';
import { valueOfPoints } from './valuation';

const scenario = fc
  .record({
    minPoints: fc.integer({ min: 0, max: 5_000 }),
    step: fc.integer({ min: 1, max: 500 }),
    maxShareBasisPoints: fc.integer({ min: 0, max: 10_000 }),
    unitNumerator: fc.integer({ min: 1, max: 2_000 }),
    unitDenominator: fc.integer({ min: 1, max: 2_000 }),
    items: fc.array(fc.record({ category: fc.constantFrom('food', 'home', 'gift-card'), amount: fc.integer({ min: 0, max: 200_000 }) }), { maxLength: 6 }),
    unitemized: fc.integer({ min: 0, max: 5_000 }),
    couponDiscount: fc.integer({ min: 0, max: 50_000 }),
    couponShippingDiscount: fc.integer({ min: 0, max: 5_000 }),
    availablePoints: fc.integer({ min: 0, max: 2_000_000 }),
  })
  .map((drawn) => ({
    ...drawn,
    program: defaultProgram({
      redemption: { minPoints: drawn.minPoints, step: drawn.step, maxShare: drawn.maxShareBasisPoints / 10_000, excludedCategories: ['gift-card'] },
    }),
    unitValue: ratio(drawn.unitNumerator, drawn.unitDenominator),
    cartAmount: drawn.items.reduce((sum, item) => sum + item.amount, 0) + drawn.unitemized,
  }));

describe('a redemption quote, for any cart', () => {
  it("states the same value cap as redemptionValueCap, which a hold's capture checks, whatever the points are worth", () => {
    fc.assert(
      fc.property(scenario, (drawn) => {
        const cap = redemptionValueCap(drawn);
        const result = quoteRedemption(drawn);
        if (result.ok) expect(result.value.valueCap).toBe(cap);
        else if (result.error.code === 'NOTHING_TO_REDEEM') expect(result.error.valueCap).toBe(cap);
        // The cap never exceeds maxShare of what is payable after the coupons.
        const payable = Math.max(0, drawn.cartAmount - drawn.couponDiscount);
        expect(cap).toBeLessThanOrEqual(Number(multiplyFloor(payable, ratioFromDecimal(drawn.program.redemption.maxShare))));
      }),
    );
  });

  it('never exceeds maxShare of the payable amount, the eligible lines or the points available, and stays on the step grid', () => {
    fc.assert(
      fc.property(scenario, (drawn) => {
        const result = quoteRedemption(drawn);
        if (!result.ok) {
          if (result.error.code === 'BELOW_MINIMUM') expect(result.error.available).toBeLessThan(result.error.minPoints);
          return;
        }
        const quote = result.value;
        const shareCap = Number(multiplyFloor(quote.payable, ratioFromDecimal(drawn.program.redemption.maxShare)));
        expect(quote.payable).toBe(Math.max(0, drawn.cartAmount - drawn.couponDiscount));
        expect(quote.maxValue).toBeLessThanOrEqual(shareCap);
        expect(quote.maxValue).toBeLessThanOrEqual(quote.pointsEligibleAmount);
        // Points pay only the items left after the goods' coupon: never the unitemised rest (shipping).
        const itemsAmount = drawn.items.reduce((sum, item) => sum + item.amount, 0);
        const couponApplied = Math.min(drawn.couponDiscount, drawn.cartAmount);
        const onRest = Math.min(drawn.couponShippingDiscount, couponApplied, drawn.unitemized);
        expect(quote.pointsEligibleAmount).toBeLessThanOrEqual(itemsAmount - Math.min(couponApplied - onRest, itemsAmount));
        expect(quote.maxValue).toBe(valueOfPoints(quote.maxPoints, drawn.unitValue));
        expect(quote.maxPoints).toBeLessThanOrEqual(drawn.availablePoints);
        expect(quote.minPoints).toBeGreaterThanOrEqual(drawn.minPoints);
        expect(quote.minPoints).toBeLessThanOrEqual(quote.maxPoints);
        expect(quote.minPoints % drawn.step).toBe(0);
        expect(quote.maxPoints % drawn.step).toBe(0);
        // The next step would either pass the cap or the shopper's points, or add no value.
        const next = quote.maxPoints + drawn.step;
        const nextValue = valueOfPoints(next, drawn.unitValue);
        expect(next > drawn.availablePoints || nextValue > quote.valueCap || nextValue === quote.maxValue).toBe(true);
        // And the step below reaches less: maxPoints is the fewest points for maxValue.
        if (quote.maxPoints - drawn.step >= quote.minPoints) {
          expect(valueOfPoints(quote.maxPoints - drawn.step, drawn.unitValue)).toBeLessThan(quote.maxValue);
        }
      }),
    );
  });

  it('splits any allowed choice into a value within the cap and a cash amount that adds up to the payable amount', () => {
    fc.assert(
      fc.property(scenario, fc.double({ min: 0, max: 1, noNaN: true }), (drawn, position) => {
        const result = quoteRedemption(drawn);
        if (!result.ok) return;
        const quote = result.value;
        const steps = (quote.maxPoints - quote.minPoints) / quote.step;
        const points = quote.minPoints + Math.floor(position * steps) * quote.step;
        const split = splitFor(quote, points);
        expect(split.ok).toBe(true);
        if (!split.ok) return;
        expect(split.value.value).toBeLessThanOrEqual(quote.valueCap);
        expect(split.value.value + split.value.cashDue).toBe(quote.payable);
        const shares = distributePointsDiscount(quote, split.value.value);
        expect(shares.reduce((sum, share) => sum + share, 0)).toBe(split.value.value);
        shares.forEach((share, index) => expect(share).toBeLessThanOrEqual(quote.lines[index]!.pointsEligibleAmount));
      }),
    );
  });
});
