import { describe, expect, it } from 'vitest';
import { type Ratio, compareRatios, minor, pointUnits, ratio } from './arithmetic';
import {
  POOL_PRICE_KEY_MAX,
  burnForUse,
  capOutTriggerPrice,
  contributionFor,
  contributionParts,
  convertCapOut,
  effectiveMintRatio,
  expireBurn,
  formatPoolPrice,
  fundForPoints,
  isCapOutDue,
  mintForContribution,
  mintForOrder,
  poolPrice,
  poolPriceKey,
  poolValuationOf,
  refundBurn,
} from './pool';
import { type ProgramInput, defaultProgram } from './program';
import { clawback } from './refunds';
import { EMPTY_POOL, type PoolState } from './valuation';

type PoolInput = Extract<NonNullable<ProgramInput['valuation']>, { kind: 'pool' }>;

function aPoolProgram(valuation: Omit<PoolInput, 'kind'> = {}, pointDecimals?: number) {
  return defaultProgram({ pointDecimals, valuation: { kind: 'pool', initialPrice: 100, ...valuation } });
}

function aPool(amount: number, supply: number): PoolState {
  return { amount: minor(amount), supply: pointUnits(supply) };
}

const noRetention = { checkout: 0, coupon: 0, capOut: 0 };

describe('pool minting (SPEC §3.2 worked example)', () => {
  it('mints 112 whole points for a ¥1,000 order at the initial price of ¥1, and the price becomes ¥1.4286', () => {
    const program = aPoolProgram({ poolShare: { default: 0.16 }, mintRatio: 0.7 }, 0);
    const first = mintForOrder(program, { pool: EMPTY_POOL, order: { amount: 100_000 } });
    expect(first.contribution).toBe(16_000);
    expect(first.minted).toBe(112);
    expect(first.pool).toEqual({ amount: 16_000, supply: 112 });
    expect(poolPrice(program, first.pool)).toEqual(ratio(16_000, 112));
    expect(formatPoolPrice(program, first.pool, 'major')).toBe('1.4286');
    expect(formatPoolPrice(program, first.pool)).toBe('142.8571');
  });

  it('mints 78 points for a second ¥1,000 order, leaving ¥320 in the pool, 190 points and a price of ¥1.6842', () => {
    const program = aPoolProgram({ poolShare: { default: 0.16 }, mintRatio: 0.7 }, 0);
    const first = mintForOrder(program, { pool: EMPTY_POOL, order: { amount: 100_000 } });
    const second = mintForOrder(program, { pool: first.pool, order: { amount: 100_000 } });
    expect(second.minted).toBe(78);
    expect(second.price).toEqual(ratio(16_000, 112));
    expect(second.pool).toEqual({ amount: 32_000, supply: 190 });
    expect(formatPoolPrice(program, second.pool, 'major')).toBe('1.6842');
  });

  it('mints in hundredths of a point with the pool default of two point decimals', () => {
    const program = aPoolProgram({ poolShare: { default: 0.16 }, mintRatio: 0.7 });
    expect(program.pointDecimals).toBe(2);
    const first = mintForOrder(program, { pool: EMPTY_POOL, order: { amount: 100_000 } });
    expect(first.minted).toBe(11_200);
    expect(formatPoolPrice(program, first.pool, 'major')).toBe('1.4286');
    const second = mintForOrder(program, { pool: first.pool, order: { amount: 100_000 } });
    expect(second.minted).toBe(7_840); // floor(11200 × 112 / 160) = 7840 exactly: no whole-point rounding lost
    expect(second.pool).toEqual({ amount: 32_000, supply: 19_040 });
    expect(formatPoolPrice(program, second.pool, 'major')).toBe('1.6807');
  });
});

describe('pool contribution by category', () => {
  const valuation = poolValuationOf(aPoolProgram({ poolShare: { default: 0.16, byCategory: { food: 0.08, furniture: 0.2 } } }));

  it('takes each line at its category share and unlisted categories at the default', () => {
    const order = {
      amount: 35_000,
      items: [
        { category: 'food', amount: 10_000 },
        { category: 'furniture', amount: 20_000 },
        { category: 'toys', amount: 5_000 },
      ],
    };
    expect(contributionFor(order, valuation)).toBe(800 + 4_000 + 800);
  });

  it('sums the lines exactly and floors once, so small lines are not each rounded away', () => {
    const halves = poolValuationOf(aPoolProgram({ poolShare: { default: 0.5 } }));
    const order = { amount: 3, items: [1, 1, 1].map((amount) => ({ category: 'x', amount })) };
    expect(contributionFor(order, halves)).toBe(1); // 1.5 → 1; line by line it would be 0
  });

  it('counts the part of the order no line covers (shipping) at the default share', () => {
    expect(contributionFor({ amount: 11_000, items: [{ category: 'food', amount: 10_000 }] }, valuation)).toBe(800 + 160);
  });

  it('scales the lines down to what was paid when a discount made them add up to more', () => {
    const order = { amount: 5_000, items: [{ category: 'food', amount: 5_000 }, { category: 'furniture', amount: 5_000 }] };
    expect(contributionFor(order, valuation)).toBe(700); // (400 + 1000) × 5000 / 10000
  });

  it('adds no uncovered part when the lines cover the amount exactly', () => {
    const order = { amount: 30_000, items: [{ category: 'food', amount: 10_000 }, { category: 'furniture', amount: 20_000 }] };
    expect(contributionParts(order, valuation)).toEqual([
      { category: 'food', exact: ratio(800) },
      { category: 'furniture', exact: ratio(4_000) },
    ]);
    expect(contributionParts({ amount: 11_000, items: [{ category: 'food', amount: 10_000 }] }, valuation)).toEqual([
      { category: 'food', exact: ratio(800) },
      { category: undefined, exact: ratio(160) },
    ]);
  });

  it('uses the default share for the whole amount when the order lists no lines', () => {
    expect(contributionFor({ amount: 12_345 }, valuation)).toBe(1_975); // 1975.2
  });
});

describe('pool mint ratio, caps and throttle', () => {
  const program = aPoolProgram({ mintRatio: 0.7 }, 0);

  it('scales the mint ratio by the earning multiplier', () => {
    const mint = mintForContribution(program, { pool: EMPTY_POOL, contribution: 10_000, multiplier: ratio(12, 10) });
    expect(mint.mintRatio).toEqual(ratio(84, 100));
    expect(mint.minted).toBe(84);
  });

  it('caps the scaled mint ratio at 1, so an order never mints more than its contribution is worth', () => {
    const valuation = poolValuationOf(program);
    expect(effectiveMintRatio(valuation, ratio(2))).toEqual(ratio(1));
    const mint = mintForContribution(program, { pool: aPool(16_000, 112), contribution: 16_000, multiplier: ratio(3) });
    expect(mint.minted).toBe(112);
    expect(poolPrice(program, mint.pool)).toEqual(poolPrice(program, aPool(16_000, 112)));
  });

  it('applies caps to the minted value and reports the points withheld, keeping the whole contribution', () => {
    const mint = mintForContribution(program, { pool: EMPTY_POOL, contribution: 16_000, maxMintedValue: 5_050 });
    expect(mint.minted).toBe(50);
    expect(mint.withheld).toBe(62);
    expect(mint.pool).toEqual({ amount: 16_000, supply: 50 });
  });

  it('mints nothing when the cap is used up, and the contribution raises the price', () => {
    const mint = mintForContribution(program, { pool: aPool(16_000, 112), contribution: 16_000, maxMintedValue: 0 });
    expect(mint.minted).toBe(0);
    expect(mint.withheld).toBe(78);
    expect(mint.pool).toEqual({ amount: 32_000, supply: 112 });
  });

  it('holds the mint to the throttle allowance in point units', () => {
    const mint = mintForContribution(program, { pool: EMPTY_POOL, contribution: 16_000, maxMintedUnits: 100 });
    expect(mint.minted).toBe(100);
    expect(mint.withheld).toBe(12);
  });

  it('mints each category at its own multiplier when a campaign covers some categories only', () => {
    const byCategory = aPoolProgram({ mintRatio: 0.5, poolShare: { default: 0.1 } }, 0);
    const order = { amount: 200_000, items: [{ category: 'food', amount: 100_000 }, { category: 'toys', amount: 100_000 }] };
    const doubleFood = (category: string | undefined) => (category === 'food' ? ratio(2) : ratio(1));
    const mint = mintForOrder(byCategory, { pool: EMPTY_POOL, order, multiplier: doubleFood });
    expect(mint.mintRatio).toEqual(ratio(3, 4)); // food at min(0.5 × 2, 1) = 1, toys at 0.5, equal contributions
    expect(mint.minted).toBe(150); // 20000 fen × 0.75 / 100 fen per point
  });

  it('mints a whole order at one multiplier exactly as the contribution-level mint does', () => {
    const order = { amount: 100_000 };
    const byOrder = mintForOrder(program, { pool: EMPTY_POOL, order, multiplier: ratio(12, 10) });
    const byFunction = mintForOrder(program, { pool: EMPTY_POOL, order, multiplier: () => ratio(12, 10) });
    expect(byFunction).toEqual(byOrder);
  });

  it('refuses to mint for a classic fixed-value program', () => {
    expect(() => mintForContribution(defaultProgram(), { pool: EMPTY_POOL, contribution: 100 })).toThrow(/not a pool program/);
  });
});

describe('pool burns and payouts', () => {
  const pool = aPool(32_000, 190);

  it('pays out the points at the current price, rounded down, when used at checkout', () => {
    const burn = burnForUse(pool, 100, 'checkout', noRetention);
    expect(burn.payout).toBe(16_842); // 100 × 32000 / 190 = 16842.1
    expect(burn.pool).toEqual({ amount: 32_000 - 16_842, supply: 90 });
  });

  it('keeps the retained share of a coupon exchange in the pool', () => {
    const burn = burnForUse(pool, 100, 'coupon', { ...noRetention, coupon: 0.1 });
    expect(burn.payout).toBe(15_157); // 16842.1 × 0.9 = 15157.89
    expect(burn.burned).toBe(100);
  });

  it('burns expired points with nothing paid out, so the price rises', () => {
    const burn = expireBurn(pool, 90);
    expect(burn.payout).toBe(0);
    expect(burn.pool).toEqual({ amount: 32_000, supply: 100 });
  });

  it('burns refunded points without touching the contribution', () => {
    expect(refundBurn(pool, 39).pool).toEqual({ amount: 32_000, supply: 151 });
  });

  it('returns the pool unchanged when no points are burned', () => {
    expect(burnForUse(pool, 0, 'checkout', noRetention)).toEqual({ pool, burned: 0, payout: 0 });
  });

  it('treats burning more points than are outstanding as a bug', () => {
    expect(() => burnForUse(pool, 191, 'checkout', noRetention)).toThrow(/more points than are outstanding/);
  });

  it('pays out the whole pool when the whole supply is used without retention', () => {
    expect(burnForUse(pool, 190, 'checkout', noRetention).pool).toEqual({ amount: 0, supply: 0 });
  });
});

describe('refund burns', () => {
  it('burns the part of the minted points the shopper still holds, in proportion, and keeps the contribution', () => {
    const program = aPoolProgram({ poolShare: { default: 0.16 }, mintRatio: 0.7 }, 0);
    const mint = mintForOrder(program, { pool: EMPTY_POOL, order: { amount: 100_000 } });
    const taken = clawback({ earnedPoints: mint.minted, spendable: 20, orderAmount: 100_000, refundedBefore: 0, refundAmount: 25_000 });
    expect(taken.ok && taken.value).toMatchObject({ points: 28, fromBalance: 20, debt: 8 });
    const burn = refundBurn(mint.pool, taken.ok ? taken.value.fromBalance : 0);
    expect(burn.pool).toEqual({ amount: 16_000, supply: 92 });
    expect(burn.payout).toBe(0);
  });
});

describe('cap-out (出局)', () => {
  const program = aPoolProgram({ capMultiple: 1.2, retention: { capOut: 0.2 } }, 0);

  it('puts the trigger at capMultiple × basis / holdings', () => {
    const trigger = capOutTriggerPrice({ holdings: 112, basis: 100_000, capMultiple: 1.2 });
    expect(trigger?.price).toEqual(ratio(120_000, 112));
    expect(trigger?.key).toBe(poolPriceKey(ratio(120_000, 112)));
  });

  it('is due exactly when holdings × price reaches capMultiple × basis', () => {
    const position = { holdings: 100, basis: 10_000, capMultiple: 1.2 };
    expect(isCapOutDue({ ...position, price: ratio(120) })).toBe(true);
    expect(isCapOutDue({ ...position, price: ratio(11_999, 100) })).toBe(false);
    expect(isCapOutDue({ ...position, price: ratio(121) })).toBe(true);
  });

  it('never triggers for a shopper with no holdings or no spend since the last cap-out', () => {
    expect(capOutTriggerPrice({ holdings: 0, basis: 10_000, capMultiple: 1.2 })).toBeNull();
    expect(capOutTriggerPrice({ holdings: 100, basis: 0, capMultiple: 1.2 })).toBeNull();
    expect(isCapOutDue({ holdings: 100, basis: 0, capMultiple: 1.2, price: ratio(1_000) })).toBe(false);
  });

  it('converts the holdings to a coupon worth their value less the cap-out retention and resets the basis', () => {
    const pool = aPool(32_000, 190);
    const conversion = convertCapOut(pool, 78, poolValuationOf(program).retention);
    expect(conversion.couponValue).toBe(10_509); // 78 × 32000 / 190 × 0.8 = 10509.47
    expect(conversion.payout).toBe(conversion.couponValue);
    expect(conversion.pool).toEqual({ amount: 32_000 - 10_509, supply: 112 });
    expect(conversion.basis).toBe(0);
  });

  it('keys a price so that a due trigger never sorts above the current price', () => {
    const trigger: Ratio = ratio(1_000_000_000_000_1n, 10n ** 13n); // 100.00000000000001…
    const current: Ratio = ratio(1_000_000_000_000_2n, 10n ** 13n);
    expect(poolPriceKey(trigger) <= poolPriceKey(current)).toBe(true);
    expect(poolPriceKey(ratio(10n ** 30n))).toBe(POOL_PRICE_KEY_MAX);
  });

  it('keeps every key a safe integer, so the ledger stores it as a number', () => {
    expect(POOL_PRICE_KEY_MAX <= BigInt(Number.MAX_SAFE_INTEGER)).toBe(true);
    expect(poolPriceKey(ratio(2n ** 54n * 2n))).toBeLessThanOrEqual(POOL_PRICE_KEY_MAX);
    expect(poolPriceKey(ratio(1n, 2n ** 60n))).toBeGreaterThan(0n);
    expect(poolPriceKey(ratio(0))).toBe(0n);
  });

  it('tells apart prices one part in 10^13 apart, at any scale', () => {
    for (const scale of [1n, 10n ** 6n, 10n ** 12n]) {
      const low = ratio(10n ** 13n * scale, 10n ** 13n);
      const high = ratio((10n ** 13n + 1n) * scale, 10n ** 13n);
      expect(poolPriceKey(low) < poolPriceKey(high)).toBe(true);
    }
    expect(poolPriceKey(ratio(10n ** 13n, 10n ** 19n)) < poolPriceKey(ratio(10n ** 13n + 1n, 10n ** 19n))).toBe(true);
  });

  it('keys an exact power of two and the price just above it apart', () => {
    expect(poolPriceKey(ratio(1024)) < poolPriceKey(ratio(1024n * 10n ** 13n + 1n, 10n ** 13n))).toBe(true);
    expect(poolPriceKey(ratio(1023)) < poolPriceKey(ratio(1024))).toBe(true);
  });
});

describe('pool price keys at the edges of their range', () => {
  it('gives every price below 2^-64 minor per unit the smallest non-zero key', () => {
    expect(poolPriceKey(ratio(1n, 2n ** 65n))).toBe(1n);
    expect(poolPriceKey(ratio(1n, 2n ** 64n))).toBe(1n);
    expect(poolPriceKey(ratio(3n, 2n ** 65n))).toBeGreaterThan(1n);
  });

  it('gives every price from 2^64 up the largest key', () => {
    expect(poolPriceKey(ratio(2n ** 64n))).toBe(POOL_PRICE_KEY_MAX);
    expect(poolPriceKey(ratio(2n ** 63n))).toBeLessThan(POOL_PRICE_KEY_MAX);
  });

  it('carries a price just below 2^64 onto the largest key, never beyond it', () => {
    // 2^64 × (1 − 2^-109): rounding to 45 bits carries it to 2^64, the top of the range.
    expect(poolPriceKey(ratio(2n ** 109n - 1n, 2n ** 45n))).toBe(POOL_PRICE_KEY_MAX);
  });

  it('carries a price that rounds up to the next power of two onto that power key', () => {
    const justBelow = ratio(2n ** 60n - 1n, 2n ** 50n); // 2^10 × (1 − 2^-60)
    expect(poolPriceKey(justBelow)).toBe(poolPriceKey(ratio(1024)));
    expect(poolPriceKey(ratio(2n ** 44n - 1n, 2n ** 34n))).toBeLessThan(poolPriceKey(ratio(1024))); // 2^10 × (1 − 2^-44): within 45 bits
  });

  it('orders prices whatever the size of the fraction they are written as', () => {
    // 4/7 and 3/5 lie in the same binary range [1/2, 1); their numerators and denominators do not.
    expect(poolPriceKey(ratio(4, 7)) < poolPriceKey(ratio(3, 5))).toBe(true);
    expect(poolPriceKey(ratio(9, 16)) < poolPriceKey(ratio(4, 7))).toBe(true);
  });

  it('rounds a dear price up, not down, when it has more digits than the key keeps', () => {
    expect(poolPriceKey(ratio(2n ** 50n + 1n)) > poolPriceKey(ratio(2n ** 50n))).toBe(true);
  });

  it('orders prices on either side of a power of two, above and below one', () => {
    for (const power of [ratio(1, 1024), ratio(1), ratio(1024)]) {
      const below = ratio(power.numerator * 1023n, power.denominator * 1024n);
      const above = ratio(power.numerator * 1025n, power.denominator * 1024n);
      expect(poolPriceKey(below) < poolPriceKey(power)).toBe(true);
      expect(poolPriceKey(power) < poolPriceKey(above)).toBe(true);
    }
  });
});

describe('pool preconditions', () => {
  const program = aPoolProgram({}, 0);

  it('treats negative or fractional amounts as bugs', () => {
    expect(() => mintForContribution(program, { pool: EMPTY_POOL, contribution: -1 })).toThrow(/safe integers ≥ 0/);
    expect(() => mintForContribution(program, { pool: EMPTY_POOL, contribution: 1.5 })).toThrow(/safe integers ≥ 0/);
    expect(() => contributionFor({ amount: 100, items: [{ category: 'food', amount: -5 }] }, poolValuationOf(program))).toThrow(/safe integers ≥ 0/);
    expect(() => burnForUse(aPool(100, 10), -1, 'checkout', noRetention)).toThrow(/safe integers ≥ 0/);
  });

  it('treats points outstanding in an empty pool as a corrupted pool', () => {
    expect(() => mintForContribution(program, { pool: aPool(0, 5), contribution: 100 })).toThrow(/holds money/);
    expect(() => burnForUse(aPool(0, 5), 1, 'checkout', noRetention)).toThrow(/holds money/);
  });

  it('caps the minted value at a price that is not a whole number of fen', () => {
    const mint = mintForContribution(program, { pool: aPool(16_000, 112), contribution: 16_000, maxMintedValue: 1_000 });
    expect(mint.minted).toBe(7); // ¥10 buys floor(1000 × 112 / 16000) = 7 points at ¥1.4286
    expect(mint.withheld).toBe(71);
  });
});

describe('funding points the merchant grants (behaviours, adjustments)', () => {
  it('puts ceil(points × price) into the pool and the points into the supply', () => {
    const program = aPoolProgram({}, 0);
    const funding = fundForPoints(program, aPool(32_000, 190), 10);
    expect(funding.contribution).toBe(1_685); // 10 × 32000 / 190 = 1684.2…, rounded up
    expect(funding.pool).toEqual({ amount: 33_685, supply: 200 });
  });

  it('funds at the initial price while nothing is outstanding', () => {
    const program = aPoolProgram({ initialPrice: 100 }, 2);
    expect(fundForPoints(program, aPool(0, 0), 250).contribution).toBe(250);
  });

  it('never lowers the price', () => {
    const program = aPoolProgram({}, 0);
    const before = aPool(1_000, 3);
    const after = fundForPoints(program, before, 7).pool;
    expect(compareRatios(poolPrice(program, after), poolPrice(program, before))).toBeGreaterThanOrEqual(0);
  });
});
