import {
  type Minor,
  type PointUnits,
  type Ratio,
  RATIO_ONE,
  RATIO_ZERO,
  addRatios,
  compareRatios,
  divideCeil,
  divideFloor,
  formatRatio,
  minRatio,
  minor,
  multiplyRatios,
  pointUnits,
  ratio,
  ratioFromDecimal,
  toSafeNumber,
  unitsPerPoint,
} from './arithmetic';
import { type PoolUse, type PoolValuation, type Program, currencyMinorDigits } from './program';
import { assert } from './result';
import { type PoolState, pointUnitValue } from './valuation';

/**
 * Pool-backed points (消费增值, SPEC §3.2). A share of each completed order goes into the merchant's
 * value pool; part of it is minted as points at the current price `pool / supply`. Every rounding
 * leaves the pool holding at least the exact figure, so the price never falls while points are
 * outstanding and paying out the whole supply never exceeds the pool.
 */

/** The pool valuation of a pool-mode program; asking for it on a fixed program is a bug. */
export function poolValuationOf(program: Program): PoolValuation {
  assert(program.valuation.kind === 'pool', 'the program is not a pool program');
  return program.valuation;
}

/**
 * Price of one point unit in minor units: `pool / supply`, or `initialPrice` per whole point while
 * nothing is outstanding (SPEC §3.2 step 2). Money left in an emptied pool backs no one, so a new
 * first mint starts again at the initial price and the leftover raises the price it lands at.
 */
export function poolPrice(program: Program, pool: PoolState): Ratio {
  poolValuationOf(program);
  return pointUnitValue(program, pool);
}

/** Price of one whole displayed point (what the widgets and `merchant.reports.summary` show). */
export function poolPricePerPoint(program: Program, pool: PoolState): Ratio {
  const perUnit = poolPrice(program, pool);
  return ratio(perUnit.numerator * unitsPerPoint(program.pointDecimals), perUnit.denominator);
}

/**
 * The pool price as a decimal string per whole point, rounded to 4 places (SPEC §2). `minor` (the
 * API's unit: `pool.price` in minor units per point) or `major` (¥1.4286, as a shopper reads it).
 */
export function formatPoolPrice(program: Program, pool: PoolState, unit: 'minor' | 'major' = 'minor'): string {
  const perPoint = poolPricePerPoint(program, pool);
  if (unit === 'minor') return formatRatio(perPoint, 4);
  const minorPerMajor = 10n ** BigInt(currencyMinorDigits(program.currency));
  return formatRatio(ratio(perPoint.numerator, perPoint.denominator * minorPerMajor), 4);
}

/** One line of an order as the pool sees it: its category decides its pool share. */
export interface PoolOrderLine {
  category: string;
  amount: number;
}

export interface PoolOrder {
  /** What the shopper paid for the completed order (minor units). */
  amount: number;
  items?: readonly PoolOrderLine[];
}

/** A part of an order's exact contribution: one line, or the amount no line covers (no category). */
export interface ContributionPart {
  category: string | undefined;
  exact: Ratio;
}

/**
 * The order's contribution, exactly, part by part. Each line counts at its category's share
 * (unlisted categories at `default`); the part of `amount` no line covers (shipping, tax) counts at
 * `default`, and when the lines add up to more than was paid (a coupon or points discount) they are
 * scaled down to `amount`, so the contribution is always a share of money the merchant received.
 */
export function contributionParts(order: PoolOrder, valuation: PoolValuation): ContributionPart[] {
  assertAmount(order.amount);
  const items = order.items ?? [];
  items.forEach((item) => assertAmount(item.amount));
  const shareOf = (category: string | undefined) => {
    const listed = category === undefined ? undefined : valuation.poolShare.byCategory[category];
    return ratioFromDecimal(listed ?? valuation.poolShare.default);
  };
  const amount = BigInt(order.amount);
  const linesTotal = items.reduce((sum, item) => sum + BigInt(item.amount), 0n);
  const scale = linesTotal > amount ? ratio(amount, linesTotal) : RATIO_ONE;
  const parts: ContributionPart[] = items.map((item) => ({
    category: item.category,
    exact: multiplyRatios(ratio(item.amount), shareOf(item.category), scale),
  }));
  if (linesTotal < amount) parts.push({ category: undefined, exact: multiplyRatios(ratio(amount - linesTotal), shareOf(undefined)) });
  return parts;
}

/** The exact contribution before rounding: the sum of its parts. */
export function exactContribution(order: PoolOrder, valuation: PoolValuation): Ratio {
  return contributionParts(order, valuation).reduce((total, part) => addRatios(total, part.exact), RATIO_ZERO);
}

/** `contribution = floor(A × poolShare)` (SPEC §3.2 step 1), summed exactly over lines and floored once. */
export function contributionFor(order: PoolOrder, valuation: PoolValuation): Minor {
  const exact = exactContribution(order, valuation);
  return minor(toSafeNumber(divideFloor(exact.numerator, exact.denominator)));
}

export interface MintRequest {
  pool: PoolState;
  /** Minor units entering the pool. */
  contribution: number;
  /** Tier × segment × campaign (SPEC §3.2: the earning multipliers scale `mintRatio`); default 1. */
  multiplier?: Ratio;
  /** Caps and the monthly budget, as money: the minted points are worth at most this (minor units). */
  maxMintedValue?: number;
  /** The supply-growth throttle's allowance (see `risk.ts`), in point units. */
  maxMintedUnits?: number;
}

export interface Mint {
  /** The pool after the contribution and the mint. */
  pool: PoolState;
  contribution: Minor;
  minted: PointUnits;
  /** Points the order would have minted but a cap, the budget or the throttle held back. */
  withheld: PointUnits;
  /** The price (minor per point unit) the points were minted at. */
  price: Ratio;
  /** `min(mintRatio × multiplier, 1)`: the share of the contribution minted as points. */
  mintRatio: Ratio;
}

/**
 * Mints at the current price: `minted = floor(contribution × mintRatio / price)` (SPEC §3.2 step 3),
 * then `pool += contribution; supply += minted`. The effective ratio is capped at 1, so the minted
 * points are never worth more than the contribution and the price cannot fall. Withheld points
 * leave their contribution in the pool, which only raises the price.
 */
export function mintForContribution(program: Program, request: MintRequest): Mint {
  const { multiplier, ...rest } = request;
  return mintAtRatio(program, rest, effectiveMintRatio(poolValuationOf(program), multiplier ?? RATIO_ONE));
}

function mintAtRatio(program: Program, request: Omit<MintRequest, 'multiplier'>, mintRatio: Ratio): Mint {
  assertPool(request.pool);
  assertAmount(request.contribution);
  const price = poolPrice(program, request.pool);
  const uncapped = divideFloor(
    BigInt(request.contribution) * mintRatio.numerator * price.denominator,
    mintRatio.denominator * price.numerator,
  );
  let minted = uncapped;
  if (request.maxMintedValue !== undefined) {
    assertAmount(request.maxMintedValue);
    minted = minBigint(minted, divideFloor(BigInt(request.maxMintedValue) * price.denominator, price.numerator));
  }
  if (request.maxMintedUnits !== undefined) {
    assertAmount(request.maxMintedUnits);
    minted = minBigint(minted, BigInt(request.maxMintedUnits));
  }
  return {
    pool: {
      amount: minor(toSafeNumber(BigInt(request.pool.amount) + BigInt(request.contribution))),
      supply: pointUnits(toSafeNumber(BigInt(request.pool.supply) + minted)),
    },
    contribution: minor(request.contribution),
    minted: pointUnits(toSafeNumber(minted)),
    withheld: pointUnits(toSafeNumber(uncapped - minted)),
    price,
    mintRatio,
  };
}

export interface OrderMintRequest extends Omit<MintRequest, 'contribution' | 'multiplier'> {
  order: PoolOrder;
  /**
   * The earning multiplier for the whole order, or per line category (earning.ts
   * `poolEarningMultiplier`, whose campaigns may cover some categories only). Default 1.
   */
  multiplier?: Ratio | ((category: string | undefined) => Ratio);
}

/**
 * A completed order end to end: its contribution by category, then the mint. With a multiplier per
 * category, each part of the exact contribution counts at its own capped ratio and the order mints
 * at their weighted blend, which is at most 1; it applies to the rounded contribution and is floored
 * once, so the points still never outweigh the money that entered the pool.
 */
export function mintForOrder(program: Program, request: OrderMintRequest): Mint {
  const { order, multiplier, ...rest } = request;
  const valuation = poolValuationOf(program);
  const contribution = contributionFor(order, valuation);
  if (typeof multiplier !== 'function') return mintForContribution(program, { ...rest, contribution, ...(multiplier === undefined ? {} : { multiplier }) });
  return mintAtRatio(program, { ...rest, contribution }, blendedMintRatio(contributionParts(order, valuation), valuation, multiplier));
}

/** Σ part × min(mintRatio × multiplier(category), 1) ÷ Σ part; each term is at most 1, so the blend is too. */
function blendedMintRatio(parts: readonly ContributionPart[], valuation: PoolValuation, multiplierFor: (category: string | undefined) => Ratio): Ratio {
  let total = RATIO_ZERO;
  let weighted = RATIO_ZERO;
  for (const part of parts) {
    total = addRatios(total, part.exact);
    weighted = addRatios(weighted, multiplyRatios(part.exact, effectiveMintRatio(valuation, multiplierFor(part.category))));
  }
  if (total.numerator === 0n) return effectiveMintRatio(valuation, multiplierFor(undefined));
  return multiplyRatios(weighted, ratio(total.denominator, total.numerator));
}

/** `min(mintRatio × multiplier, 1)` (SPEC §3.2: capped at 1, so no order can lower the price). */
export function effectiveMintRatio(valuation: PoolValuation, multiplier: Ratio): Ratio {
  return minRatio(multiplyRatios(ratioFromDecimal(valuation.mintRatio), multiplier), RATIO_ONE);
}

export interface Funding {
  /** The pool after the funding. */
  pool: PoolState;
  /** Money the merchant puts into the pool: `ceil(points × price)`, rounded up so the price never falls. */
  contribution: Minor;
}

/**
 * Points not minted from an order (behaviour points, manual adjustments, restored points) are funded
 * by the merchant at the current price: `pool += ceil(points × price)`, `supply += points`. Rounding
 * up keeps every outstanding point backed and the price from falling.
 */
export function fundForPoints(program: Program, pool: PoolState, points: number): Funding {
  assertPool(pool);
  assertAmount(points);
  const price = poolPrice(program, pool);
  const contribution = divideCeil(BigInt(points) * price.numerator, price.denominator);
  return {
    pool: {
      amount: minor(toSafeNumber(BigInt(pool.amount) + contribution)),
      supply: pointUnits(toSafeNumber(BigInt(pool.supply) + BigInt(points))),
    },
    contribution: minor(toSafeNumber(contribution)),
  };
}

export interface Burn {
  /** The pool after the burn and the payout. */
  pool: PoolState;
  burned: PointUnits;
  /** Money paid out of the pool (minor units), rounded down. */
  payout: Minor;
}

/**
 * Using points burns them and pays `floor(points × price × (1 − retention))` out of the pool
 * (SPEC §3.2); the retained share and the rounding stay in the pool, so the price cannot fall.
 */
export function burnForUse(pool: PoolState, points: number, use: PoolUse, retention: PoolValuation['retention']): Burn {
  return burnAtPayoutShare(pool, points, complement(ratioFromDecimal(retention[use])));
}

/** Expired points are burned with nothing paid out (SPEC §3.2); the price rises. */
export function expireBurn(pool: PoolState, points: number): Burn {
  return burnAtPayoutShare(pool, points, RATIO_ZERO);
}

/**
 * A refund after completion burns the order's minted points in proportion; the contribution stays
 * in the pool (SPEC §3.2). `points` is what is actually taken from the shopper's holdings: the
 * `fromBalance` of refunds.ts `clawback`, with the order's minted points as `earnedPoints`; the part
 * already spent becomes a debt in the ledger, not a burn here.
 */
export function refundBurn(pool: PoolState, points: number): Burn {
  return burnAtPayoutShare(pool, points, RATIO_ZERO);
}

function burnAtPayoutShare(pool: PoolState, points: number, payoutShare: Ratio): Burn {
  assertPool(pool);
  assertAmount(points);
  assert(points <= pool.supply, 'cannot burn more points than are outstanding');
  if (points === 0) return { pool, burned: pointUnits(0), payout: minor(0) };
  const payout = divideFloor(
    BigInt(points) * BigInt(pool.amount) * payoutShare.numerator,
    BigInt(pool.supply) * payoutShare.denominator,
  );
  return {
    pool: { amount: minor(toSafeNumber(BigInt(pool.amount) - payout)), supply: pointUnits(pool.supply - points) },
    burned: pointUnits(points),
    payout: minor(toSafeNumber(payout)),
  };
}

/**
 * Cap-out (出局, SPEC §3.2): a shopper whose holdings are worth `capMultiple` × their basis (completed
 * spend since the last cap-out) is converted to a store-credit coupon. A shopper with no holdings or
 * no basis never caps out: the cap is a multiple of spend, and without spend there is nothing to
 * multiply (points from behaviours alone do not force a conversion).
 */
export interface CapOutPosition {
  /** The shopper's pool points (point units). */
  holdings: number;
  /** Completed spend since the last cap-out (minor units). */
  basis: number;
  /** The program's `capMultiple` (1.2–2.0). */
  capMultiple: number;
}

export interface CapOutTrigger {
  /** The price (minor per point unit) at or above which the shopper caps out. */
  price: Ratio;
  /** `poolPriceKey(price)`: index this, and select holders with `trigger_key <= poolPriceKey(current)`. */
  key: bigint;
}

/** Significant bits a price key keeps: two prices closer than 2^-44 (≈ 6 × 10^-14) of themselves may share a key. */
const POOL_PRICE_KEY_MANTISSA_BITS = 44n;
/** Binary exponents a key spans; prices beyond share the smallest or the largest key. */
const POOL_PRICE_KEY_EXPONENT_MIN = -64;
const POOL_PRICE_KEY_EXPONENT_MAX = 63;
/** The largest key, 2^51: keys are stored as JavaScript numbers, so they stay within 2^53 − 1. */
export const POOL_PRICE_KEY_MAX = BigInt(POOL_PRICE_KEY_EXPONENT_MAX - POOL_PRICE_KEY_EXPONENT_MIN + 1) << POOL_PRICE_KEY_MANTISSA_BITS;

/**
 * An integer stand-in for a price, for an index: the price rounded UP to 45 significant bits, encoded
 * as (binary exponent, mantissa) so that keys sort as prices do, whatever their scale (a fixed
 * decimal scale would either overflow a safe integer for dear points or blur cheap ones). The map is
 * monotone (never decreasing in the price), so `trigger ≤ current` implies
 * `key(trigger) ≤ key(current)`: a query on `trigger_key <= key(current)` never misses a due holder.
 * It may return a few holders whose trigger lies within one part in 2^44 above the price (or both
 * beyond the key's range); `isCapOutDue` confirms each one exactly. Zero keys as 0, every other
 * price as 1 … `POOL_PRICE_KEY_MAX`.
 */
export function poolPriceKey(price: Ratio): bigint {
  const { numerator, denominator } = price;
  if (numerator === 0n) return 0n;
  // The binary exponent: 2^exponent ≤ price < 2^(exponent + 1).
  let exponent = bitLength(numerator) - bitLength(denominator);
  if (exponent >= 0 ? numerator < denominator << BigInt(exponent) : numerator << BigInt(-exponent) < denominator) exponent -= 1;
  if (exponent < POOL_PRICE_KEY_EXPONENT_MIN) return 1n;
  const shift = POOL_PRICE_KEY_MANTISSA_BITS - BigInt(exponent);
  let mantissa = shift >= 0n ? divideCeil(numerator << shift, denominator) : divideCeil(numerator, denominator << -shift);
  // Rounding up can carry into the next power of two.
  if (mantissa === 1n << (POOL_PRICE_KEY_MANTISSA_BITS + 1n)) {
    exponent += 1;
    mantissa = 1n << POOL_PRICE_KEY_MANTISSA_BITS;
  }
  if (exponent > POOL_PRICE_KEY_EXPONENT_MAX) return POOL_PRICE_KEY_MAX;
  const fraction = mantissa - (1n << POOL_PRICE_KEY_MANTISSA_BITS);
  return (BigInt(exponent - POOL_PRICE_KEY_EXPONENT_MIN) << POOL_PRICE_KEY_MANTISSA_BITS) + fraction + 1n;
}

function bitLength(value: bigint): number {
  return value.toString(2).length;
}

/** `capMultiple × basis / holdings`: the price at which `holdings × price ≥ capMultiple × basis`. */
export function capOutTriggerPrice(position: CapOutPosition): CapOutTrigger | null {
  assertAmount(position.holdings);
  assertAmount(position.basis);
  if (position.holdings === 0 || position.basis === 0) return null;
  const multiple = ratioFromDecimal(position.capMultiple);
  const price = ratio(multiple.numerator * BigInt(position.basis), multiple.denominator * BigInt(position.holdings));
  return { price, key: poolPriceKey(price) };
}

/** The exact check: `holdings × price ≥ capMultiple × basis`, with holdings and basis above zero. */
export function isCapOutDue(position: CapOutPosition & { price: Ratio }): boolean {
  const trigger = capOutTriggerPrice(position);
  return trigger !== null && compareRatios(position.price, trigger.price) >= 0;
}

export interface CapOutConversion extends Burn {
  /** The store-credit coupon's value: `floor(holdings × price × (1 − retention.capOut))`. */
  couponValue: Minor;
  /** The shopper's basis after the cap-out: spend counts again from zero. */
  basis: Minor;
}

/** Converts a shopper's holdings into a coupon: the points burn, the coupon is the payout. */
export function convertCapOut(pool: PoolState, holdings: number, retention: PoolValuation['retention']): CapOutConversion {
  const burn = burnForUse(pool, holdings, 'capOut', retention);
  return { ...burn, couponValue: burn.payout, basis: minor(0) };
}

function complement(share: Ratio): Ratio {
  return ratio(share.denominator - share.numerator, share.denominator);
}

function minBigint(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}

function assertAmount(value: number): void {
  assert(Number.isSafeInteger(value) && value >= 0, 'pool amounts and points must be safe integers ≥ 0');
}

function assertPool(pool: PoolState): void {
  assertAmount(pool.amount);
  assertAmount(pool.supply);
  // Every outstanding point is backed (SPEC §3.2), so points without money are a corrupted pool.
  assert(pool.supply === 0 || pool.amount > 0, 'a pool with points outstanding holds money');
}
