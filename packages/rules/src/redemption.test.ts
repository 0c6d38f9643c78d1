import { describe, expect, it } from 'vitest';
import { ratio } from './arithmetic';
import { type ProgramInput, defaultProgram } from './program';
import { type RedemptionQuote, type RedemptionQuoteInput, distributePointsDiscount, quoteRedemption, splitFor } from './redemption';

function aQuoteInput(overrides: Partial<Omit<RedemptionQuoteInput, 'program'>> & { redemption?: ProgramInput['redemption']; valuation?: ProgramInput['valuation'] } = {}): RedemptionQuoteInput {
  const { redemption, valuation, ...rest } = overrides;
  return {
    program: defaultProgram({ ...(redemption === undefined ? {} : { redemption }), ...(valuation === undefined ? {} : { valuation }) }),
    cartAmount: 10_000,
    availablePoints: 20_000,
    ...rest,
  };
}

function quoted(input: RedemptionQuoteInput): RedemptionQuote {
  const result = quoteRedemption(input);
  if (!result.ok) throw new Error(`expected a quote, got ${result.error.code}`);
  return result.value;
}

describe('quoting points + cash', () => {
  it('lets a shopper pay up to half of a ¥100 cart with points at 1 point = 1 fen, from 100 points', () => {
    const quote = quoted(aQuoteInput());
    expect(quote).toMatchObject({ minPoints: 100, maxPoints: 5_000, step: 1, payable: 10_000, pointsEligibleAmount: 10_000, valueCap: 5_000, maxValue: 5_000 });
    expect(splitFor(quote, 3_000)).toEqual({ ok: true, value: { points: 3_000, value: 3_000, cashDue: 7_000 } });
  });

  it('applies the coupon first, then points to half of what remains', () => {
    const quote = quoted(aQuoteInput({ couponDiscount: 2_000 }));
    expect(quote).toMatchObject({ payable: 8_000, valueCap: 4_000, maxPoints: 4_000 });
    expect(splitFor(quote, 4_000)).toEqual({ ok: true, value: { points: 4_000, value: 4_000, cashDue: 4_000 } });
  });

  it('limits the maximum to the points the shopper has', () => {
    expect(quoted(aQuoteInput({ availablePoints: 1_234 })).maxPoints).toBe(1_234);
  });

  it('refuses when the shopper has fewer points than the minimum', () => {
    expect(quoteRedemption(aQuoteInput({ availablePoints: 99 }))).toEqual({ ok: false, error: { code: 'BELOW_MINIMUM', minPoints: 100, available: 99 } });
  });

  it('refuses when the cart is too small for even the minimum points', () => {
    expect(quoteRedemption(aQuoteInput({ cartAmount: 150 }))).toEqual({ ok: false, error: { code: 'CAP_BELOW_MINIMUM', minPoints: 100, pointsCap: 75 } });
    expect(quoted(aQuoteInput({ cartAmount: 200 })).maxPoints).toBe(100);
  });

  it('keeps lines in excluded categories out of what points may pay', () => {
    const quote = quoted(aQuoteInput({
      redemption: { excludedCategories: ['gift-card'] },
      items: [{ sku: 'card-50', category: 'gift-card', amount: 6_000 }, { sku: 'tea', category: 'food', amount: 4_000 }],
    }));
    expect(quote).toMatchObject({ payable: 10_000, pointsEligibleAmount: 4_000, valueCap: 4_000, maxPoints: 4_000 });
    expect(quote.lines.map((line) => line.pointsEligibleAmount)).toEqual([0, 4_000]);
  });

  it('spreads the coupon over every line before deciding what points may pay on each', () => {
    const quote = quoted(aQuoteInput({
      redemption: { excludedCategories: ['gift-card'] },
      items: [{ category: 'gift-card', amount: 6_000 }, { category: 'food', amount: 4_000 }],
      couponDiscount: 1_000,
    }));
    expect(quote.lines.map((line) => line.couponDiscount)).toEqual([600, 400]);
    expect(quote).toMatchObject({ payable: 9_000, pointsEligibleAmount: 3_600, valueCap: 3_600 });
  });

  it('leaves the part of the cart not itemised (shipping) to cash, though it counts toward the payable amount', () => {
    // 10% off the goods: the coupon is the lamp's alone; the ¥8 of shipping stays cash.
    const quote = quoted(aQuoteInput({ cartAmount: 10_800, items: [{ sku: 'lamp', amount: 10_000 }], couponDiscount: 1_000 }));
    expect(quote.lines).toEqual([{ sku: 'lamp', amount: 10_000, couponDiscount: 1_000, pointsEligibleAmount: 9_000 }]);
    expect(quote).toMatchObject({ payable: 9_800, pointsEligibleAmount: 9_000, valueCap: 4_900 });
  });

  it('takes a goods coupon from the items alone and free shipping from the rest alone, so points never pay the shipping', () => {
    // A ¥10 coupon takes the whole ¥10 of goods: what is left to pay is the shipping, which is cash.
    expect(quoteRedemption(aQuoteInput({ cartAmount: 1_600, items: [{ amount: 1_000 }], couponDiscount: 1_000 }))).toEqual({
      ok: false,
      error: { code: 'NOTHING_TO_REDEEM', payable: 600, pointsEligibleAmount: 0, valueCap: 0 },
    });
    // Free shipping lowers what is payable and leaves the goods whole for points.
    const freeShipping = quoted(aQuoteInput({ cartAmount: 10_800, items: [{ sku: 'lamp', amount: 10_000 }], couponDiscount: 800, couponShippingDiscount: 800 }));
    expect(freeShipping.lines).toEqual([{ sku: 'lamp', amount: 10_000, couponDiscount: 0, pointsEligibleAmount: 10_000 }]);
    expect(freeShipping).toMatchObject({ payable: 10_000, pointsEligibleAmount: 10_000, valueCap: 5_000 });
  });

  it('treats a cart without items as one line that points may pay', () => {
    expect(quoted(aQuoteInput({ cartAmount: 999 })).lines).toEqual([{ amount: 999, couponDiscount: 0, pointsEligibleAmount: 999 }]);
  });

  it('refuses items that add up to more than the cart', () => {
    expect(quoteRedemption(aQuoteInput({ cartAmount: 1_000, items: [{ amount: 600 }, { amount: 500 }] }))).toEqual({
      ok: false,
      error: { code: 'ITEMS_EXCEED_CART', cartAmount: 1_000, itemsAmount: 1_100 },
    });
  });

  it('has nothing to redeem when every line is excluded or the coupon covers the cart', () => {
    expect(quoteRedemption(aQuoteInput({ redemption: { excludedCategories: ['gift-card'] }, items: [{ category: 'gift-card', amount: 10_000 }] }))).toEqual({
      ok: false,
      error: { code: 'NOTHING_TO_REDEEM', payable: 10_000, pointsEligibleAmount: 0, valueCap: 0 },
    });
    expect(quoteRedemption(aQuoteInput({ couponDiscount: 12_000 }))).toEqual({
      ok: false,
      error: { code: 'NOTHING_TO_REDEEM', payable: 0, pointsEligibleAmount: 0, valueCap: 0 },
    });
    expect(quoteRedemption(aQuoteInput({ redemption: { maxShare: 0 } })).ok).toBe(false);
  });

  it('stops at the fewest points that reach the cap when a point is worth a third of a fen', () => {
    const valuation = { kind: 'fixed' as const, pointsPerCurrencyUnit: 300 };
    const quote = quoted(aQuoteInput({ valuation }));
    // 15,000 points pay ¥50 exactly; 15,001 or 15,002 would pay the same ¥50 and waste points.
    expect(quote).toMatchObject({ maxPoints: 15_000, maxValue: 5_000 });
    expect(splitFor(quote, 15_001).ok).toBe(false);
    expect(splitFor(quote, 14_999)).toEqual({ ok: true, value: { points: 14_999, value: 4_999, cashDue: 5_001 } });
    // A 67-fen cart allows 33 fen of points; 100 points (33 fen) is both the minimum and the maximum.
    expect(quoted(aQuoteInput({ valuation, cartAmount: 67 }))).toMatchObject({ minPoints: 100, maxPoints: 100, maxValue: 33 });
  });

  it('never lets the points’ value pass the cap when a pool point unit is worth more than a fen', () => {
    // Pool price 10/7 fen per unit: covering 4,999 fen by rounding points up would take 3,500 units worth 5,000 fen.
    const quote = quoted(aQuoteInput({ unitValue: ratio(10, 7), cartAmount: 9_998 }));
    expect(quote).toMatchObject({ valueCap: 4_999, maxPoints: 3_499, maxValue: 4_998 });
    expect(quoted(aQuoteInput({ unitValue: ratio(10, 7) }))).toMatchObject({ valueCap: 5_000, maxPoints: 3_500, maxValue: 5_000 });
  });

  it('offers only multiples of the step from the minimum up (step 100, minimum 150 → 200, 300, …)', () => {
    const quote = quoted(aQuoteInput({ redemption: { minPoints: 150, step: 100 }, availablePoints: 1_299 }));
    expect(quote).toMatchObject({ minPoints: 200, maxPoints: 1_200, step: 100 });
    expect(splitFor(quote, 250)).toEqual({ ok: false, error: { code: 'POINTS_OFF_STEP', requested: 250, step: 100 } });
    expect(splitFor(quote, 100)).toEqual({ ok: false, error: { code: 'POINTS_OUT_OF_RANGE', requested: 100, minPoints: 200, maxPoints: 1_200 } });
    expect(splitFor(quote, 1_300)).toEqual({ ok: false, error: { code: 'POINTS_OUT_OF_RANGE', requested: 1_300, minPoints: 200, maxPoints: 1_200 } });
    expect(splitFor(quote, 700)).toEqual({ ok: true, value: { points: 700, value: 700, cashDue: 9_300 } });
  });

  it('with a zero minimum, the smallest choice is one step', () => {
    expect(quoted(aQuoteInput({ redemption: { minPoints: 0, step: 10 } })).minPoints).toBe(10);
  });

  it('always accepts zero points: the whole payable amount in cash', () => {
    const quote = quoted(aQuoteInput({ couponDiscount: 500 }));
    expect(splitFor(quote, 0)).toEqual({ ok: true, value: { points: 0, value: 0, cashDue: 9_500 } });
  });
});

describe('spreading a points discount over the lines', () => {
  it('splits by eligible amounts to the fen, the largest remainder taking the odd fen, excluded lines taking none', () => {
    const quote = quoted(aQuoteInput({
      redemption: { excludedCategories: ['gift-card'] },
      cartAmount: 6_000,
      items: [{ category: 'food', amount: 1_000 }, { category: 'home', amount: 2_000 }, { category: 'gift-card', amount: 3_000 }],
    }));
    expect(distributePointsDiscount(quote, 1_000)).toEqual([333, 667, 0]);
    expect(distributePointsDiscount(quote, 0)).toEqual([0, 0, 0]);
  });

  it('refuses, as a bug, a discount larger than what points may pay', () => {
    const quote = quoted(aQuoteInput({ cartAmount: 1_000 }));
    expect(() => distributePointsDiscount(quote, 1_001)).toThrow(/points discount/);
  });
});

describe('quoting at the edges', () => {
  it('has nothing to redeem when a point is worth nothing (an emptied pool priced at 0)', () => {
    expect(quoteRedemption(aQuoteInput({ unitValue: ratio(0) }))).toEqual({
      ok: false,
      error: { code: 'NOTHING_TO_REDEEM', payable: 10_000, pointsEligibleAmount: 10_000, valueCap: 5_000 },
    });
  });

  it('quotes a shopper holding exactly the minimum, which is then also the maximum', () => {
    expect(quoted(aQuoteInput({ availablePoints: 100 }))).toMatchObject({ minPoints: 100, maxPoints: 100, maxValue: 100 });
  });

  it('spreads a discount of the whole eligible amount, every line paid in full', () => {
    const quote = quoted(aQuoteInput({ redemption: { maxShare: 1 }, cartAmount: 3_000, items: [{ amount: 1_000 }, { amount: 2_000 }] }));
    expect(quote.pointsEligibleAmount).toBe(3_000);
    expect(distributePointsDiscount(quote, 3_000)).toEqual([1_000, 2_000]);
  });

  it('echoes a line’s sku and category only when the cart sent them', () => {
    const quote = quoted(aQuoteInput({ cartAmount: 3_000, items: [{ sku: 'tea', amount: 1_000 }, { category: 'food', amount: 1_000 }, { amount: 1_000 }] }));
    expect(quote.lines).toStrictEqual([
      { sku: 'tea', amount: 1_000, couponDiscount: 0, pointsEligibleAmount: 1_000 },
      { category: 'food', amount: 1_000, couponDiscount: 0, pointsEligibleAmount: 1_000 },
      { amount: 1_000, couponDiscount: 0, pointsEligibleAmount: 1_000 },
    ]);
  });
});
