import { type PointUnits, isAmount, pointUnits } from './arithmetic';
import { type Result, assert, ok, refuse } from './result';

/**
 * Points are held as lots, one per earning (SPEC §3.1 "Expiry"). Spending and holds consume the
 * earliest-expiring lots first, so what is about to expire is used before it is lost and a sweep
 * never expires points a hold has taken (SPEC §3.1 "Holds").
 */

export interface Lot {
  id: string;
  /** Point units still in the lot. */
  remaining: PointUnits;
  /** The exclusive instant the lot expires (end of its local expiry day), or null for never. */
  expiresAt: Date | null;
  earnedAt: Date;
}

/** A part of one lot taken by a hold or a spend. */
export interface LotPortion {
  lotId: string;
  points: PointUnits;
}

export interface InsufficientPoints {
  code: 'INSUFFICIENT_POINTS';
  available: PointUnits;
  requested: PointUnits;
}

/**
 * The order lots are spent in: earliest expiry first, lots that never expire last; equal expiries
 * by earliest earning, then by id, so the same lots always give the same allocation.
 */
export function compareLotsForSpending(a: Lot, b: Lot): number {
  const expiryA = a.expiresAt?.getTime() ?? Number.POSITIVE_INFINITY;
  const expiryB = b.expiresAt?.getTime() ?? Number.POSITIVE_INFINITY;
  if (expiryA !== expiryB) return expiryA < expiryB ? -1 : 1;
  const earnedA = a.earnedAt.getTime();
  const earnedB = b.earnedAt.getTime();
  if (earnedA !== earnedB) return earnedA < earnedB ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** Is the lot usable at `now`: something left and not yet expired? */
export function isLotSpendable(lot: Lot, now?: Date): boolean {
  return lot.remaining > 0 && (now === undefined || lot.expiresAt === null || now < lot.expiresAt);
}

/** Sum of the remainders of the lots usable at `now` (all lots with points when `now` is omitted). */
export function spendablePoints(lots: readonly Lot[], now?: Date): PointUnits {
  return pointUnits(lots.reduce((sum, lot) => (isLotSpendable(lot, now) ? sum + lot.remaining : sum), 0));
}

/**
 * Takes `points` from the lots, earliest expiry first, never more than a lot holds. With `now`,
 * lots already expired at that instant are skipped even if no sweep has burned them yet.
 */
export function allocateLots(lots: readonly Lot[], points: number, now?: Date): Result<LotPortion[], InsufficientPoints> {
  assert(isAmount(points), 'points to allocate must be a non-negative safe integer');
  assert(lots.every((lot) => isAmount(lot.remaining)), 'a lot remainder is a non-negative safe integer');
  const usable = lots.filter((lot) => isLotSpendable(lot, now)).sort(compareLotsForSpending);
  const available = spendablePoints(usable);
  if (available < points) return refuse({ code: 'INSUFFICIENT_POINTS', available, requested: pointUnits(points) });
  const portions: LotPortion[] = [];
  let left = points;
  for (const lot of usable) {
    if (left === 0) break;
    const taken = Math.min(left, lot.remaining);
    portions.push({ lotId: lot.id, points: pointUnits(taken) });
    left -= taken;
  }
  return ok(portions);
}
