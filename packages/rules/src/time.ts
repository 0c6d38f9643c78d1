import { TZDate } from '@date-fns/tz';
import { memoised } from './memo';
import { assert } from './result';

/**
 * Calendar arithmetic in the merchant's time zone. Rules never read the clock: every function takes
 * the instant (`Date`) and the IANA zone. A `LocalDate` is a wall-calendar day `YYYY-MM-DD` in that
 * zone; date arithmetic on it is pure calendar maths, and only the conversion to an instant looks at
 * the zone (which is where DST lives).
 */

/** A wall-calendar day `YYYY-MM-DD` in some time zone. */
export type LocalDate = string;
/** A calendar month `YYYY-MM` in some time zone. */
export type LocalMonth = string;

const DAY_MS = 86_400_000;
const LOCAL_DATE_SHAPE = /^\d{4}-\d{2}-\d{2}$/;

export function isLocalDate(value: string): value is LocalDate {
  if (!LOCAL_DATE_SHAPE.test(value)) return false;
  const [year, month, day] = splitLocalDate(value);
  return month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month);
}

/**
 * Zone conversions are the expensive part of calendar maths (a `TZDate` resolves the zone's offset
 * through `Intl`, tens of µs under load), and the ledger asks the same few over and over: every order
 * of a day falls on that day, and its pending and expiry days start at the same instants as the
 * previous order's. Both conversions below are pure functions of their arguments, so each is
 * remembered, as epoch ms — never as a shared `Date`.
 */
const dayStartMemo = new Map<string, number>();
/** Per zone, the last local day resolved and the instants it spans, `[start, end)`: one entry per zone in use. */
const lastDayMemo = new Map<string, { day: LocalDate; start: number; end: number }>();

/** The local calendar day of an instant in a zone. */
export function localDate(at: Date, timeZone: string): LocalDate {
  const ms = at.getTime();
  const last = lastDayMemo.get(timeZone);
  // A day is exactly the instants from its start to the next day's start.
  if (last !== undefined && ms >= last.start && ms < last.end) return last.day;
  const zoned = new TZDate(ms, timeZone);
  const day = formatLocalDate(zoned.getFullYear(), zoned.getMonth() + 1, zoned.getDate());
  // Only a plain `YYYY-MM-DD` day is remembered (not an invalid instant's, nor one outside years 0–9999).
  if (!LOCAL_DATE_SHAPE.test(day)) return day;
  const start = localDayStartMs(day, timeZone);
  const end = localDayStartMs(addDays(day, 1), timeZone);
  if (ms >= start && ms < end) lastDayMemo.set(timeZone, { day, start, end });
  return day;
}

/** The local calendar month `YYYY-MM` of an instant in a zone. */
export function localMonth(at: Date, timeZone: string): LocalMonth {
  return localDate(at, timeZone).slice(0, 7);
}

/** ISO weekday of the local day: 1 = Monday … 7 = Sunday. */
export function isoWeekday(at: Date, timeZone: string): number {
  return weekdayOfLocalDate(localDate(at, timeZone));
}

export function weekdayOfLocalDate(date: LocalDate): number {
  const [year, month, day] = splitLocalDate(date);
  const weekday = new Date(Date.UTC(year, month - 1, day)).getUTCDay();
  return weekday === 0 ? 7 : weekday;
}

/** The instant the local day starts (local midnight; on a DST gap day, the first instant that exists). */
export function startOfLocalDay(date: LocalDate, timeZone: string): Date {
  return new Date(localDayStartMs(date, timeZone));
}

function localDayStartMs(date: LocalDate, timeZone: string): number {
  return memoised(dayStartMemo, `${timeZone}|${date}`, () => {
    const [year, month, day] = splitLocalDate(date);
    return new TZDate(year, month - 1, day, timeZone).getTime();
  });
}

/**
 * The end of a local day, as the exclusive instant the next day starts. A lot "expires at the end
 * of that day" (SPEC §3.1): it is still usable at any instant before this one.
 */
export function endOfLocalDay(date: LocalDate, timeZone: string): Date {
  return startOfLocalDay(addDays(date, 1), timeZone);
}

/** The instant a local month starts. */
export function startOfLocalMonth(month: LocalMonth, timeZone: string): Date {
  return startOfLocalDay(`${month}-01`, timeZone);
}

/** The instant the next local month starts (exclusive end of `month`). */
export function endOfLocalMonth(month: LocalMonth, timeZone: string): Date {
  const [year, monthNumber] = month.split('-').map(Number) as [number, number];
  return startOfLocalMonth(monthNumber === 12 ? `${year + 1}-01` : `${year}-${pad(monthNumber + 1)}`, timeZone);
}

export function addDays(date: LocalDate, days: number): LocalDate {
  const [year, month, day] = splitLocalDate(date);
  const shifted = new Date(Date.UTC(year, month - 1, day) + days * DAY_MS);
  return formatLocalDate(shifted.getUTCFullYear(), shifted.getUTCMonth() + 1, shifted.getUTCDate());
}

/** Calendar months later, clamped to the month's last day: Jan 31 + 1 month is Feb 28 (or 29). */
export function addMonths(date: LocalDate, months: number): LocalDate {
  const [year, month, day] = splitLocalDate(date);
  const monthIndex = year * 12 + (month - 1) + months;
  const targetYear = Math.floor(monthIndex / 12);
  const targetMonth = (monthIndex % 12) + 1;
  return formatLocalDate(targetYear, targetMonth, Math.min(day, daysInMonth(targetYear, targetMonth)));
}

/** Whole calendar days from a to b (negative when b is earlier). */
export function daysBetween(a: LocalDate, b: LocalDate): number {
  const [ya, ma, da] = splitLocalDate(a);
  const [yb, mb, db] = splitLocalDate(b);
  return Math.round((Date.UTC(yb, mb - 1, db) - Date.UTC(ya, ma - 1, da)) / DAY_MS);
}

export function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

export function splitLocalDate(date: LocalDate): [number, number, number] {
  // Read between the two dashes rather than split and map: every calendar step parses its dates,
  // and the arrays `split` and `map` built were about a tenth of `tierStatus`'s time in a profile.
  const first = date.indexOf('-');
  const second = date.indexOf('-', first + 1);
  const parts: [number, number, number] = [Number(date.slice(0, first)), Number(date.slice(first + 1, second)), Number(date.slice(second + 1))];
  assert(first >= 0 && second > first && !date.includes('-', second + 1) && parts.every(Number.isInteger), 'a local date is YYYY-MM-DD');
  return parts;
}

function formatLocalDate(year: number, month: number, day: number): LocalDate {
  return `${String(year).padStart(4, '0')}-${pad(month)}-${pad(day)}`;
}

function pad(value: number): string {
  return String(value).padStart(2, '0');
}
