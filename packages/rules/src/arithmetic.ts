import { memoised } from './memo';
import { OutOfRangeError, assert } from './result';

/**
 * Units and exact arithmetic (SPEC §2). Money is an integer count of the currency's minor unit,
 * points an integer count of point units; both are branded so adding fen to points does not
 * compile. Ratios are exact fractions of bigints; every product is taken in bigint and rounded once,
 * in the direction that protects the books.
 */

declare const minorBrand: unique symbol;
declare const pointUnitsBrand: unique symbol;

/** Money in the currency's minor unit (fen, cents). A safe integer; may be negative only as a delta. */
export type Minor = number & { readonly [minorBrand]: true };
/** Points in point units (`pointDecimals` places below a displayed point). A safe integer. */
export type PointUnits = number & { readonly [pointUnitsBrand]: true };

export const MINOR_MAX = Number.MAX_SAFE_INTEGER;

export function minor(value: number | bigint): Minor {
  const number = Number(value);
  assert(Number.isSafeInteger(number), 'minor amount must be a safe integer');
  return number as Minor;
}

export function pointUnits(value: number | bigint): PointUnits {
  const number = Number(value);
  assert(Number.isSafeInteger(number), 'point units must be a safe integer');
  return number as PointUnits;
}

/** Is this a valid external money or point amount: a safe integer ≥ 0? */
export function isAmount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** An exact non-negative fraction `numerator / denominator`, denominator > 0, kept reduced. */
export interface Ratio {
  readonly numerator: bigint;
  readonly denominator: bigint;
}

export const RATIO_ZERO: Ratio = { numerator: 0n, denominator: 1n };
export const RATIO_ONE: Ratio = { numerator: 1n, denominator: 1n };

/** Config rates and multipliers carry at most this many decimal places (SPEC Appendix A). */
export const RATE_DECIMALS_MAX = 4;
const RATE_SCALE = 10 ** RATE_DECIMALS_MAX;

/** Does this number have at most four decimal places (0.57 yes, 0.12345 no)? */
export function hasRateDecimals(value: number): boolean {
  if (!Number.isFinite(value)) return false;
  const scaled = Math.round(value * RATE_SCALE);
  return Number.isSafeInteger(scaled) && Math.abs(scaled / RATE_SCALE - value) <= Number.EPSILON * Math.max(1, Math.abs(value)) * 4;
}

/**
 * A decimal config value as an exact ratio: 0.57 becomes 57/100, so 0.57 × 100 fen is exactly 57.
 * The decimal is read at four places, which is what the program schema admits. A program has a
 * few such rates and every earning, quote and mint converts them again, so each value's ratio is
 * remembered (reduced by a bigint gcd once); the ratio is shared, and no caller changes a ratio.
 */
export function ratioFromDecimal(value: number): Ratio {
  return memoised(decimalRatios, value, () => {
    assert(hasRateDecimals(value) && value >= 0, 'a config rate must be a non-negative decimal with at most 4 places');
    return ratio(BigInt(Math.round(value * RATE_SCALE)), BigInt(RATE_SCALE));
  });
}

const decimalRatios = new Map<number, Ratio>();

export function ratio(numerator: bigint | number, denominator: bigint | number = 1n): Ratio {
  let top = BigInt(numerator);
  let bottom = BigInt(denominator);
  assert(bottom !== 0n, 'ratio denominator must not be zero');
  if (bottom < 0n) {
    top = -top;
    bottom = -bottom;
  }
  const divisor = gcd(top, bottom); // gcd is taken of absolute values
  return { numerator: top / divisor, denominator: bottom / divisor };
}

export function multiplyRatios(...factors: Ratio[]): Ratio {
  let numerator = 1n;
  let denominator = 1n;
  for (const factor of factors) {
    numerator *= factor.numerator;
    denominator *= factor.denominator;
  }
  return ratio(numerator, denominator);
}

/** The exact sum of the terms (zero for none), reduced. */
export function addRatios(...terms: Ratio[]): Ratio {
  let numerator = 0n;
  let denominator = 1n;
  for (const term of terms) {
    numerator = numerator * term.denominator + term.numerator * denominator;
    denominator *= term.denominator;
  }
  return ratio(numerator, denominator);
}

export function minRatio(a: Ratio, b: Ratio): Ratio {
  return compareRatios(a, b) <= 0 ? a : b;
}

/** -1, 0 or 1 as a is below, equal to or above b. */
export function compareRatios(a: Ratio, b: Ratio): -1 | 0 | 1 {
  const left = a.numerator * b.denominator;
  const right = b.numerator * a.denominator;
  return left < right ? -1 : left > right ? 1 : 0;
}

export function gcd(a: bigint, b: bigint): bigint {
  let x = a < 0n ? -a : a;
  let y = b < 0n ? -b : b;
  while (y !== 0n) [x, y] = [y, x % y];
  return x === 0n ? 1n : x;
}

/** floor(a / b) for bigints of any sign, b ≠ 0 (BigInt division truncates toward zero). */
export function divideFloor(a: bigint, b: bigint): bigint {
  assert(b !== 0n, 'division by zero');
  const quotient = a / b;
  return (a % b !== 0n && (a < 0n) !== (b < 0n)) ? quotient - 1n : quotient;
}

/** ceil(a / b) for bigints of any sign, b ≠ 0. */
export function divideCeil(a: bigint, b: bigint): bigint {
  return -divideFloor(-a, b);
}

/** floor(value × ratio): points granted and money paid out round down (SPEC §2). */
export function multiplyFloor(value: number | bigint, factor: Ratio): bigint {
  return divideFloor(BigInt(value) * factor.numerator, factor.denominator);
}

/** ceil(value × ratio): points required to cover an amount round up (SPEC §2). */
export function multiplyCeil(value: number | bigint, factor: Ratio): bigint {
  return divideCeil(BigInt(value) * factor.numerator, factor.denominator);
}

/** A bigint result back to a safe JavaScript number; beyond 2^53 is a bug, not a rounding. */
export function toSafeNumber(value: bigint): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) throw new OutOfRangeError();
  return Number(value);
}

/** 10^pointDecimals: how many point units make one displayed point. */
export function unitsPerPoint(pointDecimals: number): bigint {
  assert(Number.isInteger(pointDecimals) && pointDecimals >= 0 && pointDecimals <= 6, 'pointDecimals must be 0..6');
  return 10n ** BigInt(pointDecimals);
}

/** Point units as the decimal string a person reads: 12345 units at 2 decimals is "123.45". */
export function formatPointUnits(units: number, pointDecimals: number): string {
  if (pointDecimals === 0) return String(units);
  const sign = units < 0 ? '-' : '';
  const digits = String(Math.abs(units)).padStart(pointDecimals + 1, '0');
  return `${sign}${digits.slice(0, -pointDecimals)}.${digits.slice(-pointDecimals)}`;
}

/** A ratio as a decimal string rounded half-up to `places` (pool prices show 4 places, SPEC §2). */
export function formatRatio(value: Ratio, places = 4): string {
  const scale = 10n ** BigInt(places);
  const scaled = divideFloor(value.numerator * scale * 2n + value.denominator, value.denominator * 2n);
  const sign = scaled < 0n ? '-' : '';
  const digits = (scaled < 0n ? -scaled : scaled).toString().padStart(places + 1, '0');
  return places === 0 ? `${sign}${digits}` : `${sign}${digits.slice(0, -places)}.${digits.slice(-places)}`;
}

/**
 * Splits `total` over `weights` in proportion, to the unit, by largest remainder: the parts sum to
 * exactly `total`, each is within one unit of its exact share, and ties go to the earlier weight.
 * Used to spread a points discount over an order's lines (SPEC §3.1).
 */
export function allocateProportionally(total: number, weights: readonly number[]): number[] {
  assert(Number.isSafeInteger(total) && total >= 0, 'allocation total must be a non-negative safe integer');
  assert(weights.every((weight) => Number.isSafeInteger(weight) && weight >= 0), 'weights must be non-negative safe integers');
  const weightSum = weights.reduce((sum, weight) => sum + BigInt(weight), 0n);
  if (weightSum === 0n) {
    assert(total === 0, 'cannot allocate a non-zero total over zero weights');
    return weights.map(() => 0);
  }
  const shares = weights.map((weight, index) => {
    const exact = BigInt(total) * BigInt(weight);
    return { index, floor: exact / weightSum, remainder: exact % weightSum };
  });
  let leftover = BigInt(total) - shares.reduce((sum, share) => sum + share.floor, 0n);
  const order = [...shares].sort((a, b) => (a.remainder === b.remainder ? a.index - b.index : a.remainder > b.remainder ? -1 : 1));
  for (const share of order) {
    if (leftover === 0n) break;
    share.floor += 1n;
    leftover -= 1n;
  }
  return shares.map((share) => Number(share.floor));
}
