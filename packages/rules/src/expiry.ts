import { type PointUnits, pointUnits } from './arithmetic';
import type { Lot } from './lots';
import type { Expiry } from './program';
import { assert } from './result';
import { type LocalDate, addDays, addMonths, daysInMonth, endOfLocalDay, localDate, splitLocalDate, startOfLocalDay } from './time';

/**
 * When points expire and when shoppers are reminded (SPEC §3.1 "Expiry"). An expiry instant is
 * always the exclusive end of a local day in the merchant's time zone: points are usable at every
 * instant before it, so "expires on 31 March" means usable all of 31 March, wherever DST falls.
 */

/**
 * The instant a lot earned at `earnedAt` expires under the program's expiry policy, or null when
 * points never expire. A policy change applies only to lots earned after it (SPEC §3.1), which holds
 * because the instant is fixed once, at earning.
 */
export function expiryFor(expiry: Expiry, earnedAt: Date, timeZone: string): Date | null {
  const earnedOn = localDate(earnedAt, timeZone);
  switch (expiry.kind) {
    case 'none':
      return null;
    case 'rolling':
      return endOfLocalDay(addMonths(earnedOn, expiry.months), timeZone);
    case 'calendar': {
      const [earnYear] = splitLocalDate(earnedOn);
      let expiresOn = calendarDate(earnYear + expiry.yearsAfter, expiry.month, expiry.day);
      // With yearsAfter 0 a lot earned after this year's date would be born expired; it gets next year's.
      if (expiry.yearsAfter === 0 && expiresOn < earnedOn) expiresOn = calendarDate(earnYear + 1, expiry.month, expiry.day);
      return endOfLocalDay(expiresOn, timeZone);
    }
  }
}

/** Has a lot with this expiry instant expired at `now`? Never, for a lot without expiry. */
export function isExpired(expiresAt: Date | null, now: Date): boolean {
  return expiresAt !== null && now.getTime() >= expiresAt.getTime();
}

/** The last local day on which points expiring at `expiresAt` are still usable. */
export function expiryLocalDate(expiresAt: Date, timeZone: string): LocalDate {
  return localDate(new Date(expiresAt.getTime() - 1), timeZone);
}

/** The instant the reminder `daysBefore` days ahead of the expiry day becomes due: that local day's start. */
export function reminderDueAt(expiresAt: Date, daysBefore: number, timeZone: string): Date {
  return startOfLocalDay(addDays(expiryLocalDate(expiresAt, timeZone), -daysBefore), timeZone);
}

export interface ReminderCheck {
  expiresAt: Date;
  /** The program's reminder offsets in days before the expiry day (default 30, 7, 3, 1). */
  reminderDays: readonly number[];
  timeZone: string;
  now: Date;
  /** Offsets already produced for this lot. */
  alreadySent: readonly number[];
}

/**
 * The reminder offsets due now for one lot: at most one, the most urgent whose day has begun, if it
 * has not been sent. A reminder missed because the sweep did not run is still sent, late, until the
 * lot expires; but older offsets overtaken by a nearer one are skipped, so a shopper never receives
 * "30 days left" and "3 days left" together, and a late lot never floods the outbox.
 */
export function remindersDue(check: ReminderCheck): number[] {
  assert(check.reminderDays.every((days) => Number.isInteger(days) && days >= 0), 'reminder offsets are whole days');
  if (isExpired(check.expiresAt, check.now)) return [];
  const begun = check.reminderDays.filter((days) => check.now >= reminderDueAt(check.expiresAt, days, check.timeZone));
  if (begun.length === 0) return [];
  const mostUrgent = Math.min(...begun);
  return check.alreadySent.includes(mostUrgent) ? [] : [mostUrgent];
}

export interface ExpiryGroup {
  /** The last local day the points are usable. */
  date: LocalDate;
  /** The exclusive instant they expire (the earliest, if lots on the same day differ). */
  expiresAt: Date;
  points: PointUnits;
}

type ExpiringLot = Pick<Lot, 'remaining' | 'expiresAt'>;

/**
 * Upcoming expiries grouped by local date, soonest first: what the expiry banner unfolds
 * (SPEC §3.1). Lots without expiry or without points are left out; with `now`, so are lots
 * already expired at that instant.
 */
export function expirySchedule(lots: readonly ExpiringLot[], timeZone: string, now?: Date): ExpiryGroup[] {
  const groups = new Map<LocalDate, ExpiryGroup>();
  for (const lot of lots) {
    if (lot.expiresAt === null || lot.remaining <= 0) continue;
    if (now !== undefined && isExpired(lot.expiresAt, now)) continue;
    const date = expiryLocalDate(lot.expiresAt, timeZone);
    const group = groups.get(date);
    if (group === undefined) {
      groups.set(date, { date, expiresAt: lot.expiresAt, points: pointUnits(lot.remaining) });
    } else {
      group.points = pointUnits(group.points + lot.remaining);
      if (lot.expiresAt < group.expiresAt) group.expiresAt = lot.expiresAt;
    }
  }
  return [...groups.values()].sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0));
}

/** The soonest upcoming expiry and its points (the banner's headline), or null when nothing expires. */
export function soonestExpiry(lots: readonly ExpiringLot[], timeZone: string, now?: Date): ExpiryGroup | null {
  return expirySchedule(lots, timeZone, now)[0] ?? null;
}

function calendarDate(year: number, month: number, day: number): LocalDate {
  const clampedDay = Math.min(day, daysInMonth(year, month));
  return `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(clampedDay).padStart(2, '0')}`;
}
