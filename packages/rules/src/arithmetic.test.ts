import { describe, expect, it } from 'vitest';
import {
  allocateProportionally,
  compareRatios,
  divideCeil,
  divideFloor,
  formatPointUnits,
  formatRatio,
  gcd,
  hasRateDecimals,
  isAmount,
  minRatio,
  minor,
  multiplyCeil,
  multiplyFloor,
  multiplyRatios,
  pointUnits,
  ratio,
  ratioFromDecimal,
  toSafeNumber,
  unitsPerPoint,
} from './arithmetic';
import { OutOfRangeError } from './result';

// SPEC §2: integer minor units and point units, exact ratios, one rounding in the direction that
// protects the books. Every figure below is worked by hand.

describe('units', () => {
  it('accepts safe integers as money and points, negative only as deltas', () => {
    expect(minor(-250)).toBe(-250);
    expect(minor(12n)).toBe(12);
    expect(pointUnits(Number.MAX_SAFE_INTEGER)).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('refuses fractions and amounts beyond 2^53 as a bug', () => {
    expect(() => minor(0.5)).toThrow('jifen invariant: minor amount must be a safe integer');
    expect(() => minor(2n ** 53n)).toThrow('jifen invariant: minor amount must be a safe integer');
    expect(() => pointUnits(1.5)).toThrow('jifen invariant: point units must be a safe integer');
  });

  it('knows a valid external amount: a safe integer of at least zero', () => {
    expect(isAmount(0)).toBe(true);
    expect(isAmount(Number.MAX_SAFE_INTEGER)).toBe(true);
    expect(isAmount(-1)).toBe(false);
    expect(isAmount(0.5)).toBe(false);
    expect(isAmount(2 ** 53)).toBe(false);
    expect(isAmount('5')).toBe(false);
  });

  it('converts a bigint back to a number only inside the safe range', () => {
    expect(toSafeNumber(BigInt(Number.MAX_SAFE_INTEGER))).toBe(Number.MAX_SAFE_INTEGER);
    expect(toSafeNumber(BigInt(Number.MIN_SAFE_INTEGER))).toBe(Number.MIN_SAFE_INTEGER);
    expect(() => toSafeNumber(BigInt(Number.MAX_SAFE_INTEGER) + 1n)).toThrow(OutOfRangeError);
    expect(() => toSafeNumber(BigInt(Number.MIN_SAFE_INTEGER) - 1n)).toThrow(OutOfRangeError);
  });

  it('has 10^pointDecimals point units per point, for 0 to 6 decimals', () => {
    expect(unitsPerPoint(0)).toBe(1n);
    expect(unitsPerPoint(2)).toBe(100n);
    expect(unitsPerPoint(6)).toBe(1_000_000n);
    for (const bad of [-1, 7, 1.5]) expect(() => unitsPerPoint(bad)).toThrow('jifen invariant: pointDecimals must be 0..6');
  });
});

describe('ratios', () => {
  it('keeps a ratio reduced with a positive denominator', () => {
    expect(ratio(6, 4)).toEqual({ numerator: 3n, denominator: 2n });
    expect(ratio(6, -4)).toEqual({ numerator: -3n, denominator: 2n });
    expect(ratio(-6, -4)).toEqual({ numerator: 3n, denominator: 2n });
    expect(ratio(-6, 4)).toEqual({ numerator: -3n, denominator: 2n });
    expect(ratio(0, 5)).toEqual({ numerator: 0n, denominator: 1n });
    expect(ratio(7)).toEqual({ numerator: 7n, denominator: 1n });
    expect(() => ratio(1, 0)).toThrow('jifen invariant: ratio denominator must not be zero');
  });

  it('reads a config decimal at four places exactly: 0.57 is 57/100', () => {
    expect(ratioFromDecimal(0.57)).toEqual({ numerator: 57n, denominator: 100n });
    expect(ratioFromDecimal(0.0001)).toEqual({ numerator: 1n, denominator: 10_000n });
    expect(ratioFromDecimal(0)).toEqual({ numerator: 0n, denominator: 1n });
    expect(ratioFromDecimal(2.5)).toEqual({ numerator: 5n, denominator: 2n });
    for (const bad of [-0.5, 0.12345, Number.NaN]) {
      expect(() => ratioFromDecimal(bad)).toThrow('jifen invariant: a config rate must be a non-negative decimal with at most 4 places');
    }
  });

  it('tells a rate with at most four decimal places', () => {
    expect(hasRateDecimals(0.57)).toBe(true);
    expect(hasRateDecimals(1.2345)).toBe(true);
    expect(hasRateDecimals(12_345.6789)).toBe(true);
    expect(hasRateDecimals(-0.25)).toBe(true);
    expect(hasRateDecimals(0.12345)).toBe(false);
    expect(hasRateDecimals(1.00001)).toBe(false);
    expect(hasRateDecimals(Number.POSITIVE_INFINITY)).toBe(false);
    expect(hasRateDecimals(Number.NaN)).toBe(false);
    expect(hasRateDecimals(1e20)).toBe(false);
  });

  it('still reads a rate that picked up float error on the way as four places', () => {
    // 1.1 + 2.2 is 3.3000000000000003 and 1.0001 − 1 is 0.00009999999999998899: a few ulps off.
    expect(hasRateDecimals(1.1 + 2.2)).toBe(true);
    expect(ratioFromDecimal(1.1 + 2.2)).toEqual({ numerator: 33n, denominator: 10n });
    expect(hasRateDecimals(1.0001 - 1)).toBe(true);
    expect(ratioFromDecimal(1.0001 - 1)).toEqual({ numerator: 1n, denominator: 10_000n });
  });

  it('multiplies ratios exactly and reduces the product', () => {
    expect(multiplyRatios(ratio(2, 3), ratio(3, 4))).toEqual({ numerator: 1n, denominator: 2n });
    expect(multiplyRatios(ratio(3, 2), ratio(5, 7), ratio(2))).toEqual({ numerator: 15n, denominator: 7n });
    expect(multiplyRatios()).toEqual({ numerator: 1n, denominator: 1n });
  });

  it('compares ratios by cross-multiplying, and takes the smaller', () => {
    expect(compareRatios(ratio(1, 3), ratio(1, 2))).toBe(-1);
    expect(compareRatios(ratio(1, 2), ratio(1, 3))).toBe(1);
    expect(compareRatios(ratio(1, 3), { numerator: 2n, denominator: 6n })).toBe(0);
    const half = ratio(1, 2);
    const third = ratio(1, 3);
    expect(minRatio(half, third)).toBe(third);
    expect(minRatio(third, half)).toBe(third);
    const sameHalf = ratio(2, 4);
    expect(minRatio(half, sameHalf)).toBe(half);
  });

  it('finds the greatest common divisor of any signs, 1 for two zeros', () => {
    expect(gcd(12n, 18n)).toBe(6n);
    expect(gcd(-12n, 18n)).toBe(6n);
    expect(gcd(12n, -18n)).toBe(6n);
    expect(gcd(-18n, 12n)).toBe(6n);
    expect(gcd(-18n, -12n)).toBe(6n);
    expect(gcd(0n, 5n)).toBe(5n);
    expect(gcd(5n, 0n)).toBe(5n);
    expect(gcd(0n, 0n)).toBe(1n);
  });
});

describe('rounding', () => {
  it('divides toward minus infinity with divideFloor, for every sign', () => {
    expect(divideFloor(7n, 2n)).toBe(3n);
    expect(divideFloor(-7n, 2n)).toBe(-4n);
    expect(divideFloor(7n, -2n)).toBe(-4n);
    expect(divideFloor(-7n, -2n)).toBe(3n);
    expect(divideFloor(-6n, 2n)).toBe(-3n);
    expect(divideFloor(6n, -3n)).toBe(-2n);
    expect(divideFloor(0n, -3n)).toBe(0n);
    expect(() => divideFloor(1n, 0n)).toThrow('jifen invariant: division by zero');
  });

  it('divides toward plus infinity with divideCeil', () => {
    expect(divideCeil(7n, 2n)).toBe(4n);
    expect(divideCeil(-7n, 2n)).toBe(-3n);
    expect(divideCeil(6n, 2n)).toBe(3n);
    expect(divideCeil(1n, 3n)).toBe(1n);
  });

  it('rounds a product once: down for points granted, up for points required', () => {
    expect(multiplyFloor(10, ratio(1, 3))).toBe(3n);
    expect(multiplyCeil(10, ratio(1, 3))).toBe(4n);
    expect(multiplyFloor(100, ratioFromDecimal(0.57))).toBe(57n);
    expect(multiplyCeil(100, ratioFromDecimal(0.57))).toBe(57n);
    expect(multiplyFloor(-10, ratio(1, 3))).toBe(-4n);
    expect(multiplyCeil(-10, ratio(1, 3))).toBe(-3n);
  });
});

describe('formatting', () => {
  it('shows point units as a decimal point count', () => {
    expect(formatPointUnits(12_345, 2)).toBe('123.45');
    expect(formatPointUnits(100, 2)).toBe('1.00');
    expect(formatPointUnits(5, 2)).toBe('0.05');
    expect(formatPointUnits(-5, 2)).toBe('-0.05');
    expect(formatPointUnits(-12_345, 0)).toBe('-12345');
    expect(formatPointUnits(7, 3)).toBe('0.007');
  });

  it('shows zero points without a sign', () => {
    expect(formatPointUnits(0, 2)).toBe('0.00');
    expect(formatPointUnits(0, 0)).toBe('0');
  });

  it('shows a ratio rounded half-up to four places by default', () => {
    expect(formatRatio(ratio(1, 3))).toBe('0.3333');
    expect(formatRatio(ratio(2, 3))).toBe('0.6667');
    expect(formatRatio(ratio(1, 20_000))).toBe('0.0001');
    expect(formatRatio(ratio(1, 20_001))).toBe('0.0000');
    expect(formatRatio(ratio(7))).toBe('7.0000');
    expect(formatRatio(ratio(0))).toBe('0.0000');
    expect(formatRatio(ratio(0), 0)).toBe('0');
    expect(formatRatio(ratio(-1, 3))).toBe('-0.3333');
    expect(formatRatio(ratio(-2, 3))).toBe('-0.6667');
    expect(formatRatio(ratio(5, 2), 0)).toBe('3');
    expect(formatRatio(ratio(-7, 2), 0)).toBe('-3');
    expect(formatRatio(ratio(1, 8), 2)).toBe('0.13');
  });
});

describe('allocating in proportion by largest remainder', () => {
  it('gives the leftover units to the largest remainders, ties to the earlier weight', () => {
    expect(allocateProportionally(10, [1, 1, 1])).toEqual([4, 3, 3]);
    expect(allocateProportionally(100, [1, 2])).toEqual([33, 67]);
    expect(allocateProportionally(100, [2, 1])).toEqual([67, 33]);
    expect(allocateProportionally(7, [2, 1, 1])).toEqual([3, 2, 2]);
    expect(allocateProportionally(7, [1, 1, 2])).toEqual([2, 2, 3]);
    expect(allocateProportionally(5, [0, 3, 0])).toEqual([0, 5, 0]);
  });

  it('splits nothing over anything, and nothing over no weight', () => {
    expect(allocateProportionally(0, [3, 4])).toEqual([0, 0]);
    expect(allocateProportionally(0, [0, 0])).toEqual([0, 0]);
    expect(allocateProportionally(0, [])).toEqual([]);
  });

  it('refuses negative or fractional totals and weights, and a total over zero weights', () => {
    expect(() => allocateProportionally(-1, [1])).toThrow('jifen invariant: allocation total must be a non-negative safe integer');
    expect(() => allocateProportionally(1.5, [1])).toThrow('jifen invariant: allocation total must be a non-negative safe integer');
    expect(() => allocateProportionally(1, [1, -1])).toThrow('jifen invariant: weights must be non-negative safe integers');
    expect(() => allocateProportionally(1, [0.5])).toThrow('jifen invariant: weights must be non-negative safe integers');
    expect(() => allocateProportionally(1, [0, 0])).toThrow('jifen invariant: cannot allocate a non-zero total over zero weights');
  });
});
