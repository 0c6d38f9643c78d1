import {
  type Minor,
  type PointUnits,
  type Ratio,
  minor,
  multiplyCeil,
  multiplyFloor,
  pointUnits,
  ratio,
  toSafeNumber,
  unitsPerPoint,
} from './arithmetic';
import { type Program, currencyMinorDigits } from './program';

/**
 * What a point unit is worth, in minor currency units per point unit, as an exact ratio.
 * Fixed programs: `pointsPerCurrencyUnit` displayed points buy one major unit (100 points = ¥1).
 * Pool programs: `pool / supply` (SPEC §3.2), or `initialPrice` per whole point while supply is 0.
 */

/** The merchant's value pool: money backing every outstanding pool point, exactly. */
export interface PoolState {
  /** Money in the pool (minor units). */
  amount: Minor;
  /** Outstanding point units. */
  supply: PointUnits;
}

export const EMPTY_POOL: PoolState = { amount: minor(0), supply: pointUnits(0) };

/** Minor units per point unit under a program (and, in pool mode, the pool as it stands). */
export function pointUnitValue(program: Program, pool: PoolState = EMPTY_POOL): Ratio {
  const units = unitsPerPoint(program.pointDecimals);
  if (program.valuation.kind === 'fixed') {
    const minorPerMajor = 10n ** BigInt(currencyMinorDigits(program.currency));
    return ratio(minorPerMajor, BigInt(program.valuation.pointsPerCurrencyUnit) * units);
  }
  if (pool.supply === 0) return ratio(BigInt(program.valuation.initialPrice), units);
  return ratio(BigInt(pool.amount), BigInt(pool.supply));
}

/** Minor units per whole displayed point (what widgets print as "1 point = ¥0.01"). */
export function pointValuePerPoint(program: Program, pool: PoolState = EMPTY_POOL): Ratio {
  const perUnit = pointUnitValue(program, pool);
  return ratio(perUnit.numerator * unitsPerPoint(program.pointDecimals), perUnit.denominator);
}

/** Money that `units` points pay out: rounds down (SPEC §2). */
export function valueOfPoints(units: number, unitValue: Ratio): Minor {
  return minor(toSafeNumber(multiplyFloor(units, unitValue)));
}

/** Points needed to cover `amount`: rounds up (SPEC §2). */
export function pointsToCover(amount: number, unitValue: Ratio): PointUnits {
  return pointUnits(toSafeNumber(multiplyCeil(amount, invert(unitValue))));
}

/** Points granted for a money value: rounds down (SPEC §2). */
export function pointsForValue(amount: number, unitValue: Ratio): PointUnits {
  return pointUnits(toSafeNumber(multiplyFloor(amount, invert(unitValue))));
}

function invert(value: Ratio): Ratio {
  return ratio(value.denominator, value.numerator);
}
