import { type PointUnits, type Ratio, divideFloor, pointUnits, ratio, ratioFromDecimal, toSafeNumber } from './arithmetic';
import type { PoolValuation } from './program';
import { assert } from './result';

/**
 * Risk controls for pool programs (SPEC §3.2 `risk`).
 *
 * Supply growth: the supply may grow at most `maxSupplyGrowth` over the trailing `growthWindowDays`,
 * measured against the supply at the window's start. The throttle is a ceiling, not a slowdown:
 * minting continues until the supply reaches `floor(start × (1 + maxSupplyGrowth))`, and beyond it
 * orders still contribute to the pool but mint nothing (their points are reported as withheld, like
 * a monthly-budget shortfall), which raises the price; minting resumes as the window moves on or as
 * points are burned. Reaching the ceiling is what alerts the merchant. A pool whose supply was zero
 * at the window's start has nothing to dilute and is not throttled.
 *
 * Concentration: a shopper holding more than `concentrationReview` of the supply is flagged, and
 * their redemptions wait for the merchant's approval.
 */

const DAY_MS = 86_400_000;

/** The instant the trailing growth window starts: `growthWindowDays` × 24 h before `now`. */
export function growthWindowStart(now: Date, risk: PoolValuation['risk']): Date {
  return new Date(now.getTime() - risk.growthWindowDays * DAY_MS);
}

export interface SupplyGrowth {
  /** Outstanding point units when the trailing window started. */
  supplyAtWindowStart: number;
  /** Outstanding point units now. */
  supply: number;
  maxSupplyGrowth: number;
}

export interface SupplyThrottle {
  /** `(supply − start) / start` (0 when the supply shrank), or null when the window started from an empty pool. */
  growth: Ratio | null;
  /** Point units that may still be minted in this window; null when unlimited. */
  allowance: PointUnits | null;
  /** Has the supply reached its ceiling, so minting is paused and the merchant alerted? */
  isThrottled: boolean;
}

/** How much more may be minted before the supply-growth ceiling, and whether it has been reached. */
export function supplyThrottle(input: SupplyGrowth): SupplyThrottle {
  const { supplyAtWindowStart: start, supply } = input;
  assert(Number.isSafeInteger(start) && start >= 0 && Number.isSafeInteger(supply) && supply >= 0, 'supplies must be safe integers ≥ 0');
  if (start === 0) return { growth: null, allowance: null, isThrottled: false };
  const limit = ratioFromDecimal(input.maxSupplyGrowth);
  const ceiling = divideFloor(BigInt(start) * (limit.denominator + limit.numerator), limit.denominator);
  const room = ceiling - BigInt(supply);
  const allowance = room > 0n ? room : 0n;
  return {
    growth: ratio(Math.max(supply - start, 0), start),
    allowance: pointUnits(toSafeNumber(allowance)),
    isThrottled: allowance === 0n,
  };
}

export interface Concentration {
  /** The shopper's pool points. */
  holdings: number;
  /** All outstanding pool points. */
  supply: number;
  concentrationReview: number;
}

/** Holdings above which a shopper is flagged: `floor(supply × concentrationReview)` (for `holdings > threshold` in SQL). */
export function concentrationThreshold(supply: number, concentrationReview: number): PointUnits {
  assert(Number.isSafeInteger(supply) && supply >= 0, 'supply must be a safe integer ≥ 0');
  const share = ratioFromDecimal(concentrationReview);
  return pointUnits(toSafeNumber(divideFloor(BigInt(supply) * share.numerator, share.denominator)));
}

/**
 * Does the shopper hold more than `concentrationReview` of the supply? For whole point units,
 * `holdings > supply × share` exactly when `holdings > floor(supply × share)`.
 */
export function isHoldingConcentrated(input: Concentration): boolean {
  assert(Number.isSafeInteger(input.holdings) && input.holdings >= 0, 'holdings must be a safe integer ≥ 0');
  if (input.supply === 0) return false;
  return input.holdings > concentrationThreshold(input.supply, input.concentrationReview);
}
