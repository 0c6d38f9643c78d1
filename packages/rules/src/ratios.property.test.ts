import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RATIO_ZERO, addRatios, compareRatios, multiplyRatios, ratio } from './arithmetic';

const ratios = fc
  .tuple(fc.bigInt({ min: -(10n ** 12n), max: 10n ** 12n }), fc.bigInt({ min: 1n, max: 10n ** 9n }))
  .map(([numerator, denominator]) => ratio(numerator, denominator));

describe('addRatios', () => {
  it('sums nothing to zero and one term to itself', () => {
    expect(addRatios()).toEqual(RATIO_ZERO);
    expect(addRatios(ratio(6, 4))).toEqual(ratio(3, 2));
  });

  it('adds exactly: 1/3 + 1/6 = 1/2, 0.05 + 0.15 = 0.2', () => {
    expect(addRatios(ratio(1, 3), ratio(1, 6))).toEqual(ratio(1, 2));
    expect(addRatios(ratio(5, 100), ratio(15, 100))).toEqual(ratio(1, 5));
  });

  it('is the sum a + b: cross-multiplied, commutative, and (a + b) − b = a', () => {
    fc.assert(
      fc.property(ratios, ratios, ratios, (a, b, c) => {
        const sum = addRatios(a, b);
        expect(sum.numerator * a.denominator * b.denominator).toBe((a.numerator * b.denominator + b.numerator * a.denominator) * sum.denominator);
        expect(addRatios(b, a)).toEqual(sum);
        expect(addRatios(sum, multiplyRatios(b, ratio(-1)))).toEqual(a);
        expect(addRatios(a, b, c)).toEqual(addRatios(addRatios(a, b), c));
        expect(compareRatios(sum, a)).toBe(compareRatios(b, RATIO_ZERO));
      }),
    );
  });
});
