import type { Database } from '@jifen/db';
import { addDays, endOfLocalDay, expirySchedule, localDate, pointUnits } from '@jifen/rules';
import { type Kysely, sql } from 'kysely';
import { getProgram } from './merchants';

/**
 * `shopper.expiry.upcoming` (SPEC §3.1 "Expiry", §5): the whole schedule the expiry banner unfolds —
 * the shopper's available, unreserved points grouped by the last local day they are usable, soonest
 * first, over a window of local days starting today. The first group is `shopper.me`'s `expiring`.
 */

export const EXPIRY_WINDOW_DAYS_DEFAULT = 366;
/** Distinct expiry instants read at most: lots earned on one local day share one, so this is years of them. */
const EXPIRY_INSTANTS_MAX = 2000;

export interface UpcomingExpiry {
  /** The last local day (merchant's time zone) the points can be used, `YYYY-MM-DD`. */
  date: string;
  /** The instant they expire (exclusive), ISO 8601; the earliest when the day's lots differ. */
  expiresAt: string;
  points: number;
}

export interface UpcomingExpiriesInput {
  merchantId: string;
  shopperId: string;
  now: Date;
  /** Local days from today the schedule covers, today included in day 0. */
  days?: number;
}

export async function upcomingExpiries(db: Kysely<Database>, input: UpcomingExpiriesInput): Promise<UpcomingExpiry[]> {
  const { program } = await getProgram(db, input.merchantId);
  const days = input.days ?? EXPIRY_WINDOW_DAYS_DEFAULT;
  // Whole local days: a lot whose last usable day is today + `days` is in, whatever its hour.
  const until = endOfLocalDay(addDays(localDate(input.now, program.timeZone), days), program.timeZone);
  const rows = await unreservedExpiringLots(db, input.merchantId, input.shopperId)
    .select(['expires_at', sql<number | string>`sum(remaining - held)`.as('points')])
    .where('expires_at', '>', input.now.getTime())
    .where('expires_at', '<=', until.getTime())
    .groupBy('expires_at')
    .orderBy('expires_at')
    .limit(EXPIRY_INSTANTS_MAX)
    .execute();
  const lots = rows.map((row) => ({ expiresAt: new Date(Number(row.expires_at)), remaining: pointUnits(Number(row.points)) }));
  return expirySchedule(lots, program.timeZone, input.now).map((group) => ({
    date: group.date,
    expiresAt: group.expiresAt.toISOString(),
    points: group.points,
  }));
}

/**
 * A shopper's available lots that hold unreserved points and can expire: what the schedule, the
 * banner's headline and the expired-not-swept count read. Points a checkout hold has taken are never
 * expiring (the sweep never expires them).
 */
export function unreservedExpiringLots(db: Kysely<Database>, merchantId: string, shopperId: string) {
  return db
    .selectFrom('lots')
    .where('merchant_id', '=', merchantId)
    .where('shopper_id', '=', shopperId)
    .where('status', '=', 'available')
    .whereRef('remaining', '>', 'held')
    .where('expires_at', 'is not', null);
}
