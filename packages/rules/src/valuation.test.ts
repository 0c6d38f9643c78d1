import { describe, expect, it } from 'vitest';
import { minor, pointUnits } from './arithmetic';
import { defaultProgram } from './program';
import { pointUnitValue, pointValuePerPoint, pointsForValue, pointsToCover, valueOfPoints } from './valuation';

describe('point valuation', () => {
  it('values a classic point at one fen when 100 points buy ¥1', () => {
    const unitValue = pointUnitValue(defaultProgram());
    expect(unitValue).toEqual({ numerator: 1n, denominator: 1n });
    expect(valueOfPoints(5_000, unitValue)).toBe(5_000);
  });

  it('rounds payouts down and points required up when a point is worth a fraction of a fen', () => {
    const unitValue = pointUnitValue(defaultProgram({ valuation: { kind: 'fixed', pointsPerCurrencyUnit: 300 } }));
    expect(valueOfPoints(100, unitValue)).toBe(33); // 33.33… fen
    expect(pointsToCover(34, unitValue)).toBe(102); // 101.99… → 102
    expect(pointsForValue(34, unitValue)).toBe(102);
    expect(pointsForValue(1, unitValue)).toBe(3);
  });

  it('prices a pool point at pool / supply, or the initial price per whole point while supply is zero', () => {
    const program = defaultProgram({ valuation: { kind: 'pool', initialPrice: 100 } });
    expect(pointUnitValue(program)).toEqual({ numerator: 1n, denominator: 1n }); // 100 fen per 100 units
    const pool = { amount: minor(16_000), supply: pointUnits(11_200) };
    expect(pointValuePerPoint(program, pool)).toEqual({ numerator: 1000n, denominator: 7n });
  });

  it('uses the currency minor unit from Intl (JPY has none)', () => {
    const unitValue = pointUnitValue(defaultProgram({ currency: 'JPY', valuation: { kind: 'fixed', pointsPerCurrencyUnit: 1 } }));
    expect(valueOfPoints(250, unitValue)).toBe(250);
  });
});
