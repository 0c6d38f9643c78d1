import { type PointUnits, type Ratio, RATIO_ONE, divideCeil, divideFloor, pointUnits, ratioFromDecimal, toSafeNumber } from './arithmetic';
import type { PoolValuation } from './program';
import { assert } from './result';

/**
 * Staged release of pool points (SPEC §3.2): minted points vest over `release.periods` periods of
 * `release.periodDays` days, an equal share at the end of each period, so a buyer cannot mint and
 * use a large batch at once. `periods = 0` releases everything at once.
 *
 * Periods are measured from the mint instant in whole 24-hour days, not local calendar days: a
 * period is a duration, and a DST change must not make one period an hour shorter than the next.
 * The referral boost makes the clock run `factor` times faster for every lot of a shopper who has
 * qualified, including lots minted before, so qualifying releases a catch-up at once.
 */

const DAY_MS = 86_400_000n;

export interface ReleaseSchedule {
  /** Point units the lot minted. */
  minted: number;
  mintedAt: Date;
  periods: number;
  periodDays: number;
  /** Does the shopper have enough completed referrals for the boost (`isReleaseBoosted`)? */
  boosted: boolean;
  /** `release.referralBoost.factor` (≥ 1); used only when boosted. */
  boostFactor: number;
}

/** Units of the lot released by `now`: `floor(minted × periods elapsed / periods)`, all of it at the end. */
export function releasedAt(schedule: ReleaseSchedule & { now: Date }): PointUnits {
  assertSchedule(schedule);
  if (schedule.periods === 0) return pointUnits(schedule.minted);
  const elapsed = Math.min(periodsElapsed(schedule, schedule.now), schedule.periods);
  return pointUnits(toSafeNumber(divideFloor(BigInt(schedule.minted) * BigInt(elapsed), BigInt(schedule.periods))));
}

/** Units still locked at `now`. */
export function lockedAt(schedule: ReleaseSchedule & { now: Date }): PointUnits {
  return pointUnits(schedule.minted - releasedAt(schedule));
}

/** The instant the next portion releases, or null once everything has been released. */
export function nextReleaseAt(schedule: ReleaseSchedule & { now: Date }): Date | null {
  assertSchedule(schedule);
  const elapsed = periodsElapsed(schedule, schedule.now);
  if (elapsed >= schedule.periods) return null;
  const speed = speedOf(schedule);
  const periodMs = BigInt(schedule.periodDays) * DAY_MS;
  // The first instant at which `elapsed + 1` whole (sped-up) periods have passed.
  const offsetMs = divideCeil(BigInt(elapsed + 1) * periodMs * speed.denominator, speed.numerator);
  return new Date(schedule.mintedAt.getTime() + Number(offsetMs));
}

/** SPEC §3.2: a shopper with at least `referralBoost.invitees` completed referrals releases faster. */
export function isReleaseBoosted(completedReferrals: number, release: PoolValuation['release']): boolean {
  return completedReferrals >= release.referralBoost.invitees;
}

/** The schedule a pool program gives one minted lot. */
export function releaseScheduleFor(
  release: PoolValuation['release'],
  lot: { minted: number; mintedAt: Date },
  completedReferrals: number,
): ReleaseSchedule {
  return {
    minted: lot.minted,
    mintedAt: lot.mintedAt,
    periods: release.periods,
    periodDays: release.periodDays,
    boosted: isReleaseBoosted(completedReferrals, release),
    boostFactor: release.referralBoost.factor,
  };
}

function periodsElapsed(schedule: ReleaseSchedule, now: Date): number {
  const elapsedMs = BigInt(now.getTime() - schedule.mintedAt.getTime());
  if (elapsedMs <= 0n) return 0;
  const speed = speedOf(schedule);
  return Number(divideFloor(elapsedMs * speed.numerator, BigInt(schedule.periodDays) * DAY_MS * speed.denominator));
}

function speedOf(schedule: ReleaseSchedule): Ratio {
  return schedule.boosted ? ratioFromDecimal(schedule.boostFactor) : RATIO_ONE;
}

function assertSchedule(schedule: ReleaseSchedule & { now: Date }): void {
  assert(Number.isSafeInteger(schedule.minted) && schedule.minted >= 0, 'minted must be a safe integer ≥ 0');
  assert(Number.isInteger(schedule.periods) && schedule.periods >= 0, 'periods must be an integer ≥ 0');
  assert(Number.isInteger(schedule.periodDays) && schedule.periodDays >= 1, 'periodDays must be an integer ≥ 1');
  assert(!schedule.boosted || schedule.boostFactor >= 1, 'the referral boost factor must be at least 1');
  assert(Number.isFinite(schedule.mintedAt.getTime()) && Number.isFinite(schedule.now.getTime()), 'release instants must be valid dates');
}
