import { type Database, readSnapshot } from '@jifen/db';
import {
  endOfLocalMonth,
  formatPoolPrice,
  localMonth,
  minor,
  multiplyFloor,
  pointUnitValue,
  pointUnits,
  ratioFromDecimal,
  startOfLocalMonth,
  toSafeNumber,
  valueOfPoints,
} from '@jifen/rules';
import { type Kysely, sql } from 'kysely';
import type { JournalKind } from './journal';
import { getProgram } from './merchants';

/**
 * `merchant.reports.summary` (SPEC Appendix A): what the merchant owes in points and money, and this
 * local month's issuance, redemptions, expiries and budget — all from the ledger with set-based SQL.
 *
 * The month's figures sum the journal by kind over the month's entries (merchant's time zone):
 * - issued: points granted — 'earn' (less 'earn.cancel' for pending points cancelled), 'behaviour',
 *   'checkin', 'referral', 'pool.mint', and positive 'adjust' entries;
 * - redeemed: points used — 'hold.capture', 'coupon.exchange', 'capout', less the points given back
 *   by 'coupon.cancel' and 'refund.restore';
 * - expired: points burned by 'expire'.
 * Refund clawbacks and debt settlements are corrections, not issuance or redemption, and are not counted.
 */

const ISSUED_KINDS: JournalKind[] = ['earn', 'earn.cancel', 'behaviour', 'checkin', 'referral', 'pool.mint'];
const REDEEMED_KINDS: JournalKind[] = ['hold.capture', 'coupon.exchange', 'capout', 'coupon.cancel', 'refund.restore'];
/**
 * Journal instants come from each write's clock, and on Postgres two concurrent writes may append in
 * the other order of their instants; the month's seq range is widened by this much, then filtered exactly.
 */
const CLOCK_SKEW_MS = 60_000;

export interface ReportsSummary {
  /** The merchant's local month the figures cover, 'YYYY-MM'. */
  month: string;
  /** Outstanding points (available + held + pending) and what they are worth now (rounded down). */
  liability: { points: number; minor: number };
  issuedThisMonth: number;
  redeemedThisMonth: number;
  expiredThisMonth: number;
  /** `limitMinor` is null when the program has no monthly budget. */
  budget: { limitMinor: number | null; usedMinor: number };
  /** Pool programs: the pool, the supply and the price in minor units per whole point (4 places). */
  pool: { amount: number; supply: number; price: string } | null;
}

/**
 * Read on one snapshot (`readSnapshot`), so the figures are of one moment: a write committed while the
 * report reads is in all of them or in none — the liability's points and the pool's supply never
 * disagree, nor the month's issuance and its budget.
 */
export async function reportsSummary(db: Kysely<Database>, merchantId: string, now: Date): Promise<ReportsSummary> {
  return readSnapshot(db, (snapshot) => summaryOf(snapshot, merchantId, now));
}

async function summaryOf(db: Kysely<Database>, merchantId: string, now: Date): Promise<ReportsSummary> {
  const { program } = await getProgram(db, merchantId);
  const month = localMonth(now, program.timeZone);

  const outstanding = await db
    .selectFrom('shoppers')
    .select(sql<number>`coalesce(sum(available + held + pending), 0)`.as('points'))
    .where('merchant_id', '=', merchantId)
    .executeTakeFirstOrThrow();
  const poolRow = await db.selectFrom('pool_state').select(['amount', 'supply']).where('merchant_id', '=', merchantId).executeTakeFirst();
  const pool = { amount: minor(poolRow?.amount ?? 0), supply: pointUnits(poolRow?.supply ?? 0) };
  const points = Number(outstanding.points);
  const liability = { points, minor: valueOfPoints(points, pointUnitValue(program, pool)) };

  const figures = await monthFigures(db, merchantId, startOfLocalMonth(month, program.timeZone), endOfLocalMonth(month, program.timeZone));

  const budgetRow = await db
    .selectFrom('budget_months')
    .select(['gmv', 'issued_value'])
    .where('merchant_id', '=', merchantId)
    .where('month', '=', month)
    .executeTakeFirst();
  const { monthlyBudgetRate } = program.earning;
  // SPEC §3.1: the month's budget is `monthlyBudgetRate` of its paid GMV, as rules capEarning applies it.
  const limitMinor = monthlyBudgetRate === null ? null : toSafeNumber(multiplyFloor(budgetRow?.gmv ?? 0, ratioFromDecimal(monthlyBudgetRate)));

  return {
    month,
    liability,
    ...figures,
    budget: { limitMinor, usedMinor: budgetRow?.issued_value ?? 0 },
    pool: program.valuation.kind === 'pool' ? { amount: pool.amount, supply: pool.supply, price: formatPoolPrice(program, pool) } : null,
  };
}

async function monthFigures(
  db: Kysely<Database>,
  merchantId: string,
  start: Date,
  end: Date,
): Promise<{ issuedThisMonth: number; redeemedThisMonth: number; expiredThisMonth: number }> {
  const head = await db.selectFrom('journal_heads').select('seq').where('merchant_id', '=', merchantId).executeTakeFirst();
  const lastSeq = head?.seq ?? 0;
  const fromSeq = await firstSeqAtOrAfter(db, merchantId, start.getTime() - CLOCK_SKEW_MS, lastSeq);
  const toSeq = await firstSeqAtOrAfter(db, merchantId, end.getTime() + CLOCK_SKEW_MS, lastSeq);
  const row = await db
    .selectFrom('journal')
    .select([
      sql<number>`coalesce(sum(case when kind in (${sql.join(ISSUED_KINDS)}) then points when kind = 'adjust' and points > 0 then points else 0 end), 0)`.as('issued'),
      sql<number>`coalesce(sum(case when kind in (${sql.join(REDEEMED_KINDS)}) then -points else 0 end), 0)`.as('redeemed'),
      sql<number>`coalesce(sum(case when kind = 'expire' then -points else 0 end), 0)`.as('expired'),
    ])
    .where('merchant_id', '=', merchantId)
    .where('seq', '>=', fromSeq)
    .where('seq', '<', toSeq)
    .where('created_at', '>=', start.getTime())
    .where('created_at', '<', end.getTime())
    .executeTakeFirstOrThrow();
  return { issuedThisMonth: Number(row.issued), redeemedThisMonth: Number(row.redeemed), expiredThisMonth: Number(row.expired) };
}

/**
 * The first seq whose entry was made at or after `instant` (lastSeq + 1 if none), by binary search
 * over the journal's primary key — a few dozen index probes instead of a scan of the merchant's history.
 */
async function firstSeqAtOrAfter(db: Kysely<Database>, merchantId: string, instant: number, lastSeq: number): Promise<number> {
  let low = 1;
  let high = lastSeq + 1;
  while (low < high) {
    const middle = Math.floor((low + high) / 2);
    const entry = await db.selectFrom('journal').select('created_at').where('merchant_id', '=', merchantId).where('seq', '=', middle).executeTakeFirst();
    if (entry === undefined || entry.created_at >= instant) high = middle;
    else low = middle + 1;
  }
  return low;
}
