import { type Minor, type PointUnits, isAmount, minor, multiplyCeil, multiplyFloor, pointUnits, ratio, toSafeNumber } from './arithmetic';
import { isExpired } from './expiry';
import { type Result, assert, ok, refuse } from './result';
import { addDays, endOfLocalDay, localDate } from './time';

/**
 * Refunds, full or partial (SPEC §3.1 "Refunds"). Earned points are clawed back, and points used to
 * pay are restored, in proportion to the refunded amount, always from what the order actually
 * earned or spent, never by re-running today's rules.
 *
 * Each refund takes a cumulative figure minus the same figure before it, so partial refunds never sum
 * to more than the order's points, a refund of the rest settles exactly the remainder, and the result
 * does not depend on how the refund was split. Rounding protects the books (SPEC §2): the points the
 * shopper keeps for what they kept are points granted, rounded down, so the earned points taken back
 * are ceil(earned × refundedTotal / orderAmount) — a ¥1,000 order's 8,000 points refunded but for
 * 1 fen leave the shopper 0, not 1; the points used to pay that come back are granted too,
 * floor(spent × refundedTotal / orderAmount).
 */

export interface RefundProgress {
  /** The order's amount as reported when it was paid (minor units); refunds are parts of it. */
  orderAmount: number;
  /** Refunded before this refund, cumulatively (minor units). */
  refundedBefore: number;
  refundAmount: number;
}

export interface RefundExceedsOrder {
  code: 'REFUND_EXCEEDS_ORDER';
  orderAmount: Minor;
  refundedBefore: Minor;
  refundAmount: Minor;
  /** What may still be refunded. */
  refundable: Minor;
}

export interface ClawbackInput extends RefundProgress {
  /** What the order earned (point units), pending or available; in pool mode, what it minted. */
  earnedPoints: number;
  /** Points the shopper has to give back now; the rest becomes debt. */
  spendable: number;
}

export interface Clawback {
  /** Points this refund takes back. */
  points: PointUnits;
  /** The part taken from the shopper's points. */
  fromBalance: PointUnits;
  /** The part the shopper no longer has: recorded as debt, netted against future earnings. */
  debt: PointUnits;
  refundedTotal: Minor;
  /** Points clawed back over all refunds of the order so far, this one included. */
  clawedTotal: PointUnits;
}

/** The earned points a refund takes back, with the shortfall as debt (never a negative balance). */
export function clawback(input: ClawbackInput): Result<Clawback, RefundExceedsOrder> {
  assert(isAmount(input.earnedPoints) && isAmount(input.spendable), 'points are non-negative safe integers');
  const share = refundShare(input);
  if (!share.ok) return share;
  const { before, after } = cumulativeShares(input.earnedPoints, input, share.value, multiplyCeil);
  const points = after - before;
  const fromBalance = Math.min(points, input.spendable);
  return ok({
    points: pointUnits(points),
    fromBalance: pointUnits(fromBalance),
    debt: pointUnits(points - fromBalance),
    refundedTotal: share.value,
    clawedTotal: pointUnits(after),
  });
}

/** A part of a lot spent to pay for the order (a captured hold's portion). */
export interface SpentPortion {
  lotId: string;
  points: number;
  /** The lot's original expiry. */
  expiresAt: Date | null;
}

export interface RestoreInput extends RefundProgress {
  portions: readonly SpentPortion[];
  now: Date;
  restoreGraceDays: number;
  timeZone: string;
}

export interface RestoredPortion {
  lotId: string;
  points: PointUnits;
  /** When the restored points expire: the lot's own expiry, or the grace period's end. */
  expiresAt: Date | null;
  expiry: 'original' | 'grace';
}

export interface Restore {
  points: PointUnits;
  /** One entry per spent portion that gets points back. */
  portions: RestoredPortion[];
  refundedTotal: Minor;
}

/**
 * The points used to pay that a refund gives back, portion by portion. Each portion is restored by
 * its own cumulative share, so every portion's total only grows and a full refund restores each
 * exactly (a split of one rounded total by largest remainder could take a point back from a
 * portion as the refunded total grows).
 */
export function restoreSpent(input: RestoreInput): Result<Restore, RefundExceedsOrder> {
  assert(input.portions.every((portion) => isAmount(portion.points)), 'points are non-negative safe integers');
  const share = refundShare(input);
  if (!share.ok) return share;
  const portions: RestoredPortion[] = [];
  for (const portion of input.portions) {
    const { before, after } = cumulativeShares(portion.points, input, share.value, multiplyFloor);
    if (after === before) continue;
    const expiresAt = restoreExpiry({ originalExpiresAt: portion.expiresAt, now: input.now, restoreGraceDays: input.restoreGraceDays, timeZone: input.timeZone });
    portions.push({
      lotId: portion.lotId,
      points: pointUnits(after - before),
      expiresAt,
      expiry: expiresAt === portion.expiresAt ? 'original' : 'grace',
    });
  }
  return ok({ points: pointUnits(portions.reduce((sum, portion) => sum + portion.points, 0)), portions, refundedTotal: share.value });
}

export interface RestoreExpiryInput {
  originalExpiresAt: Date | null;
  now: Date;
  restoreGraceDays: number;
  timeZone: string;
}

/**
 * A restored portion keeps its original expiry; if that has passed, it is usable through the end of
 * the local day `restoreGraceDays` days after today (0 = through the end of today), so a refund
 * never hands back points that are already dead (SPEC §3.1).
 */
export function restoreExpiry(input: RestoreExpiryInput): Date | null {
  assert(Number.isInteger(input.restoreGraceDays) && input.restoreGraceDays >= 0, 'restoreGraceDays is a whole number of days');
  if (!isExpired(input.originalExpiresAt, input.now)) return input.originalExpiresAt;
  return endOfLocalDay(addDays(localDate(input.now, input.timeZone), input.restoreGraceDays), input.timeZone);
}

export interface DebtNetting {
  /** Points that reach the shopper's balance. */
  credited: PointUnits;
  /** Points that paid off debt. */
  settled: PointUnits;
  debtLeft: PointUnits;
}

/** New earnings pay off a recorded debt first (SPEC §3.1), then the rest is credited. */
export function netAgainstDebt(earned: number, debt: number): DebtNetting {
  assert(isAmount(earned) && isAmount(debt), 'points are non-negative safe integers');
  const settled = Math.min(earned, debt);
  return { credited: pointUnits(earned - settled), settled: pointUnits(settled), debtLeft: pointUnits(debt - settled) };
}

/** The cumulative refunded amount after this refund, or a refusal when it would pass the order amount. */
function refundShare(progress: RefundProgress): Result<Minor, RefundExceedsOrder> {
  assert([progress.orderAmount, progress.refundedBefore, progress.refundAmount].every(isAmount), 'refund amounts are non-negative safe integers');
  assert(progress.refundedBefore <= progress.orderAmount, 'an order was never refunded beyond its amount');
  const refundable = progress.orderAmount - progress.refundedBefore;
  if (progress.refundAmount > refundable) {
    return refuse({
      code: 'REFUND_EXCEEDS_ORDER',
      orderAmount: minor(progress.orderAmount),
      refundedBefore: minor(progress.refundedBefore),
      refundAmount: minor(progress.refundAmount),
      refundable: minor(refundable),
    });
  }
  return ok(minor(progress.refundedBefore + progress.refundAmount));
}

/** `points × refunded / orderAmount` before and after this refund, rounded by `round` (up for what is taken back, down for what is given). */
function cumulativeShares(
  points: number,
  progress: RefundProgress,
  refundedTotal: Minor,
  round: typeof multiplyFloor | typeof multiplyCeil,
): { before: number; after: number } {
  // A free order (amount 0) can only be "refunded" by 0, which takes nothing.
  if (progress.orderAmount === 0) return { before: 0, after: 0 };
  const shareOf = (refunded: number) => toSafeNumber(round(points, ratio(refunded, progress.orderAmount)));
  return { before: shareOf(progress.refundedBefore), after: shareOf(refundedTotal) };
}
