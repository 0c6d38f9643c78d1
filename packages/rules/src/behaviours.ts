import { type PointUnits, pointUnits } from './arithmetic';
import type { Program } from './program';
import { type Result, assert, ok, refuse } from './result';
import { type LocalDate, addDays, localDate } from './time';

/**
 * Behaviour points (SPEC §3.1 "Behaviour points"): reviews, shares, the daily check-in streak and
 * one-level referral rewards. Amounts are point units, like every point amount in a program.
 * In a pool program the ledger has the merchant fund these points at the current price
 * (`fundingFor` in pool.ts), so they enter the supply with their money and the price cannot fall.
 */

export type RewardedBehaviour = 'review' | 'photoReview' | 'share';

/** Points for a merchant-reported behaviour; 0 when the merchant rewards it with nothing. */
export function behaviourPoints(program: Program, behaviour: RewardedBehaviour): PointUnits {
  return pointUnits(program.behaviours[behaviour]);
}

export interface Checkin {
  /** The merchant-local day checked in. */
  date: LocalDate;
  /** Consecutive days including this one. */
  streak: number;
  /** Position in the `checkinStreak` schedule, 1-based ("day 3 of 7"). */
  scheduleDay: number;
  points: PointUnits;
}

export interface AlreadyCheckedIn {
  code: 'ALREADY_CHECKED_IN';
  date: LocalDate;
  /** The shopper's last check-in (after `date` only if the merchant's zone moved). */
  lastCheckinDate: LocalDate;
}

/**
 * A shopper's daily check-in (SPEC §3.1), by the merchant's local day. Checking in on the day after
 * the last one continues the streak; any missed day restarts it at day 1. After the schedule's last
 * day the schedule starts over (day 8 of a 7-day schedule pays day 1's amount) while the streak
 * keeps counting, as Chinese shops usually do. A second check-in on the same local day is refused.
 */
export function checkIn(
  program: Program,
  { lastCheckinDate, streak, now }: { lastCheckinDate: LocalDate | null; streak: number; now: Date },
): Result<Checkin, AlreadyCheckedIn> {
  assert(Number.isSafeInteger(streak) && streak >= 0, 'a check-in streak is a whole number of days');
  const date = localDate(now, program.timeZone);
  if (lastCheckinDate !== null && lastCheckinDate >= date) return refuse({ code: 'ALREADY_CHECKED_IN', date, lastCheckinDate });
  const continues = lastCheckinDate !== null && addDays(lastCheckinDate, 1) === date && streak > 0;
  const nextStreak = continues ? streak + 1 : 1;
  const schedule = program.behaviours.checkinStreak;
  const scheduleDay = ((nextStreak - 1) % schedule.length) + 1;
  const points = schedule[scheduleDay - 1];
  assert(points !== undefined, 'schedule day within the check-in schedule');
  return ok({ date, streak: nextStreak, scheduleDay, points: pointUnits(points) });
}

export interface ReferralRewards {
  inviter: PointUnits;
  invitee: PointUnits;
}

export type ReferralRefusal =
  | { code: 'SELF_REFERRAL'; shopperId: string }
  | { code: 'FIRST_ORDER_NOT_COMPLETED'; inviteeId: string }
  | { code: 'REFERRAL_ALREADY_REWARDED'; inviteeId: string };

/**
 * Referral rewards (SPEC §3.1): when the invitee's first order completes, the inviter and the
 * invitee each earn the program's amount, once per invitee. One level only, by construction: the
 * reward names exactly two shoppers, so whoever invited the inviter earns nothing from it.
 */
export function referralRewards(
  program: Program,
  {
    inviterId,
    inviteeId,
    inviteeFirstOrderCompleted,
    alreadyRewarded,
  }: { inviterId: string; inviteeId: string; inviteeFirstOrderCompleted: boolean; alreadyRewarded: boolean },
): Result<ReferralRewards, ReferralRefusal> {
  if (inviterId === inviteeId) return refuse({ code: 'SELF_REFERRAL', shopperId: inviterId });
  if (alreadyRewarded) return refuse({ code: 'REFERRAL_ALREADY_REWARDED', inviteeId });
  if (!inviteeFirstOrderCompleted) return refuse({ code: 'FIRST_ORDER_NOT_COMPLETED', inviteeId });
  const { inviter, invitee } = program.behaviours.referral;
  return ok({ inviter: pointUnits(inviter), invitee: pointUnits(invitee) });
}
