import { type Database, prepareQuery, readSnapshot } from '@jifen/db';
import {
  EMPTY_POOL,
  type PoolState,
  type Program,
  type TierSpend,
  type TierStatus,
  formatRatio,
  pointUnits,
  pointValuePerPoint,
  soonestExpiry,
  tierStatus,
  tierWindowStart,
} from '@jifen/rules';
import { type Kysely, sql } from 'kysely';
import { type ShopperAccount, lockShopper, toShopperAccount } from './accounts';
import { lowestTierId } from './behaviours';
import { pointValueOf } from './checkout';
import { notFound } from './errors';
import { unreservedExpiringLots } from './expiry-schedule';
import { fromJournalRow } from './journal';
import type { Ledger } from './ledger';
import { getProgram } from './merchants';
import { readPool } from './pool-state';
import { isConcentrated } from './risk-approvals';

/**
 * What a shopper (and the merchant, about a shopper) reads: balances, tier, point value, the next
 * expiry, and the journal entries with their hashes (SPEC §4: "a shopper can fetch their entries
 * with proofs"). Reads never create rows: an unknown shopper reads as an empty account.
 */

export interface Balance {
  available: number;
  pending: number;
  held: number;
  debt: number;
}

export interface ShopperTier {
  id: string;
  /** The tier's multiplier as configured (1.2). */
  multiplier: number;
  name: { 'zh-CN': string; en: string };
  /** Qualifying spend over the trailing window (minor units). */
  qualifyingSpend: number;
  next: { id: string; minSpend: number; spendToNext: number } | null;
  /** When a downgrade can next happen (epoch ms), null on the lowest tier. */
  reviewAt: number | null;
}

export interface ShopperMe {
  shopperId: string;
  balance: Balance;
  tier: { id: string; multiplier: number };
  tierProgress: ShopperTier;
  /** `minor` minor units buy `perPoints` point units, exactly. */
  pointValue: { minor: number; perPoints: number };
  /** Minor units per whole displayed point, 4 places. */
  pointPrice: string;
  pointDecimals: number;
  /** The merchant's currency (ISO 4217), time zone (IANA) and valuation kind, so widgets need no configuration. */
  currency: string;
  timeZone: string;
  valuation: Program['valuation']['kind'];
  /** The soonest expiry of available points: its last usable local day and the points. */
  expiring: { date: string; expiresAt: number; points: number } | null;
}

type AccountKey = Pick<ShopperAccount, 'merchantId' | 'shopperId' | 'tierId' | 'tierConfirmedAt'>;

type SpendWindow = { merchantId: string; shopperId: string; from: number; until: number };

// Every paid order reads its shopper's spends: prepared once (two shapes, with and without an order left out).
const spendsQuery = (db: Kysely<Database>, window: SpendWindow) =>
  db
    .selectFrom('orders')
    .select(['paid_at', 'amount', 'refunded_amount'])
    .where('merchant_id', '=', window.merchantId)
    .where('shopper_id', '=', window.shopperId)
    .where('paid_at', '>=', window.from)
    .where('paid_at', '<=', window.until)
    .where('status', '!=', 'cancelled');
const readSpends = prepareQuery((db, window: SpendWindow) => spendsQuery(db, window));
const readSpendsExcept = prepareQuery((db, window: SpendWindow & { excludeOrderId: string }) => spendsQuery(db, window).where('order_id', '!=', window.excludeOrderId));

/**
 * Qualifying spends for tiers: the shopper's orders not cancelled, at what they kept after refunds,
 * paid from `from` to `until`. `excludeOrderId` leaves out the order being priced.
 */
export async function tierSpends(
  db: Kysely<Database>,
  account: Pick<ShopperAccount, 'merchantId' | 'shopperId'>,
  range: { from: Date; until: Date; excludeOrderId?: string },
): Promise<TierSpend[]> {
  const window = { merchantId: account.merchantId, shopperId: account.shopperId, from: range.from.getTime(), until: range.until.getTime() };
  const rows =
    range.excludeOrderId === undefined
      ? await readSpends.execute(db, window)
      : await readSpendsExcept.execute(db, { ...window, excludeOrderId: range.excludeOrderId });
  return rows.map((row) => ({ at: new Date(Number(row.paid_at)), amount: Number(row.amount) - Number(row.refunded_amount) }));
}

/**
 * The shopper's tier at `at` from the recorded tier and the spend history (SPEC §3.1: upgrade at
 * once, downgrade only at the window's end), with `extraSpends` counted too (the order being paid).
 */
export async function shopperTierStatus(
  db: Kysely<Database>,
  program: Program,
  account: AccountKey,
  at: Date,
  options: { excludeOrderId?: string; extraSpends?: TierSpend[] } = {},
): Promise<TierStatus> {
  const confirmedAt = new Date(account.tierConfirmedAt);
  const from = tierWindowStart(program, confirmedAt.getTime() < at.getTime() ? confirmedAt : at);
  const spends = await tierSpends(db, account, { from, until: at, ...(options.excludeOrderId !== undefined ? { excludeOrderId: options.excludeOrderId } : {}) });
  return tierStatus(program, { record: { tierId: account.tierId, confirmedAt }, spends: [...spends, ...(options.extraSpends ?? [])], now: at });
}

export function toShopperTier(status: TierStatus): ShopperTier {
  const next = status.progress.next;
  return {
    id: status.tier.id,
    multiplier: status.tier.multiplier,
    name: status.tier.name,
    qualifyingSpend: status.qualifyingSpend,
    next: next === null ? null : { id: next.id, minSpend: next.minSpend, spendToNext: status.progress.spendToNext ?? 0 },
    reviewAt: status.reviewAt?.getTime() ?? null,
  };
}

async function readAccount(db: Kysely<Database>, merchantId: string, shopperId: string): Promise<ShopperAccount | null> {
  const row = await db.selectFrom('shoppers').selectAll().where('merchant_id', '=', merchantId).where('shopper_id', '=', shopperId).executeTakeFirst();
  return row ? toShopperAccount(row) : null;
}

function emptyAccount(merchantId: string, shopperId: string, program: Program, now: Date): ShopperAccount {
  return {
    merchantId,
    shopperId,
    createdAt: now.getTime(),
    isVip: false,
    referredBy: null,
    referralRewarded: false,
    firstPaidAt: null,
    available: 0,
    pending: 0,
    held: 0,
    debt: 0,
    tierId: lowestTierId(program),
    tierConfirmedAt: now.getTime(),
    checkinDate: null,
    checkinStreak: 0,
    capoutBasis: 0,
    completedReferrals: 0,
    flagged: false,
  };
}

/** Distinct expiry instants `soonestExpiring` reads: the soonest local day's, with room for a day whose lots differ in their instant. */
const SOONEST_INSTANTS_READ = 32;

/**
 * The soonest expiry among the shopper's available, unreserved points — the first group of
 * `shopper.expiry.upcoming`, read the same way: summed per expiry instant in SQL, however many lots
 * share it (under a calendar expiry a year's lots all do).
 */
async function soonestExpiring(db: Kysely<Database>, program: Program, merchantId: string, shopperId: string, now: Date): Promise<ShopperMe['expiring']> {
  // The soonest instants are enough: lots expiring on one local day share one instant, or very few.
  const rows = await unreservedExpiringLots(db, merchantId, shopperId)
    .select(['expires_at', sql<number | string>`sum(remaining - held)`.as('points')])
    .where('expires_at', '>', now.getTime())
    .groupBy('expires_at')
    .orderBy('expires_at')
    .limit(SOONEST_INSTANTS_READ)
    .execute();
  const lots = rows.map((row) => ({ remaining: pointUnits(Number(row.points)), expiresAt: new Date(Number(row.expires_at)) }));
  const soonest = soonestExpiry(lots, program.timeZone, now);
  return soonest === null ? null : { date: soonest.date, expiresAt: soonest.expiresAt.getTime(), points: soonest.points };
}

/**
 * Available points already past their expiry that the sweep has not expired yet (it runs every
 * `JOB_INTERVAL_SECONDS`). The quote, holds and exchanges already refuse them, so `shopper.me` does
 * not count them as available either; the stored balance drops when the sweep journals the expiry.
 */
async function expiredNotSwept(db: Kysely<Database>, merchantId: string, shopperId: string, now: Date): Promise<number> {
  const row = await unreservedExpiringLots(db, merchantId, shopperId)
    .select(sql<number | string>`coalesce(sum(remaining - held), 0)`.as('points'))
    .where('expires_at', '<=', now.getTime())
    .executeTakeFirstOrThrow();
  return Number(row.points);
}

/** `shopper.me` (SPEC Appendix A). */
export async function shopperMe(db: Kysely<Database>, merchantId: string, shopperId: string, now: Date): Promise<ShopperMe> {
  return (await shopperView(db, merchantId, shopperId, now)).me;
}

interface ShopperView {
  me: ShopperMe;
  account: ShopperAccount | null;
  program: Program;
  pool: PoolState;
}

/**
 * The shopper as `shopper.me` shows them, with what it read: their stored account (null before their
 * first event), program and pool — on one snapshot (`readSnapshot`), so the balance, the expiring
 * points and the pool are of one moment: a hold placed between two reads once showed more points
 * expiring than the whole available balance.
 */
function shopperView(db: Kysely<Database>, merchantId: string, shopperId: string, now: Date): Promise<ShopperView> {
  return readSnapshot(db, (snapshot) => readShopperView(snapshot, merchantId, shopperId, now));
}

async function readShopperView(db: Kysely<Database>, merchantId: string, shopperId: string, now: Date): Promise<ShopperView> {
  const { program } = await getProgram(db, merchantId);
  const stored = await readAccount(db, merchantId, shopperId);
  const account = stored ?? emptyAccount(merchantId, shopperId, program, now);
  const tier = toShopperTier(await shopperTierStatus(db, program, account, now));
  // A fixed-value program's value ignores the pool: no read.
  const pool = program.valuation.kind === 'pool' ? await readPool(db, merchantId) : EMPTY_POOL;
  const expired = stored === null || account.available === 0 ? 0 : await expiredNotSwept(db, merchantId, shopperId, now);
  const me: ShopperMe = {
    shopperId,
    balance: { available: account.available - expired, pending: account.pending, held: account.held, debt: account.debt },
    tier: { id: tier.id, multiplier: tier.multiplier },
    tierProgress: tier,
    pointValue: pointValueOf(program, pool),
    pointPrice: formatRatio(pointValuePerPoint(program, pool), 4),
    pointDecimals: program.pointDecimals,
    currency: program.currency,
    timeZone: program.timeZone,
    valuation: program.valuation.kind,
    expiring: await soonestExpiring(db, program, merchantId, shopperId, now),
  };
  return { me, account: stored, program, pool };
}

export interface ActivityEntry {
  seq: number;
  kind: string;
  points: number;
  amount: number;
  ref: string;
  lotId: string | null;
  compensates: number | null;
  programVersion: number;
  detail: Record<string, unknown>;
  createdAt: number;
  /** The hash of the merchant's previous entry; with `hash` it proves the entry's place in the chain. */
  prevHash: string;
  hash: string;
}

/**
 * The shopper's journal entries, newest first, a page at a time (`before` = the last page's
 * `nextBefore`). Each entry carries every hashed field, its hash and its predecessor's, so the
 * shopper can recompute `entryHash` for any of them.
 */
export async function shopperActivity(
  db: Kysely<Database>,
  merchantId: string,
  shopperId: string,
  options: { limit: number; before?: number },
): Promise<{ entries: ActivityEntry[]; nextBefore: number | null }> {
  const limit = Math.max(1, Math.min(options.limit, 200));
  let query = db
    .selectFrom('journal')
    .selectAll()
    .where('merchant_id', '=', merchantId)
    .where('shopper_id', '=', shopperId)
    .orderBy('seq', 'desc')
    .limit(limit);
  if (options.before !== undefined) query = query.where('seq', '<', options.before);
  const rows = await query.execute();
  const entries = rows.map((row) => {
    const { merchantId: _merchant, shopperId: _shopper, ...entry } = fromJournalRow(row);
    return entry;
  });
  const last = entries[entries.length - 1];
  return { entries, nextBefore: entries.length === limit && last !== undefined ? last.seq : null };
}

export interface ShopperDetail extends ShopperMe {
  isVip: boolean;
  referredBy: string | null;
  completedReferrals: number;
  checkin: { date: string | null; streak: number };
  firstPaidAt: number | null;
  createdAt: number;
  flagged: boolean;
}

/** `merchant.shoppers.get`: the shopper as the merchant sees them; an unknown shopper is NOT_FOUND. */
export async function getShopper(db: Kysely<Database>, merchantId: string, shopperId: string, now: Date): Promise<ShopperDetail> {
  const { me, account, program, pool } = await shopperView(db, merchantId, shopperId, now);
  if (account === null) throw notFound('shopperId', 'shopper');
  return {
    ...me,
    isVip: account.isVip,
    referredBy: account.referredBy,
    completedReferrals: account.completedReferrals,
    checkin: { date: account.checkinDate, streak: account.checkinStreak },
    firstPaidAt: account.firstPaidAt,
    createdAt: account.createdAt,
    // Their share of the supply as it stands, as a redemption would ask it (risk-approvals.ts).
    flagged: isConcentrated(program, pool.supply, account.available + account.held + account.pending),
  };
}

/** The merchant flags (or unflags) a shopper as VIP: their segment for earning (SPEC §3.1). */
export async function setVip(ledger: Ledger, input: { merchantId: string; shopperId: string; isVip: boolean }): Promise<{ shopperId: string; isVip: boolean }> {
  return ledger.write(async (tx) => {
    const { program } = await getProgram(tx.db, input.merchantId);
    await lockShopper(tx, input.merchantId, input.shopperId, lowestTierId(program));
    await tx.db
      .updateTable('shoppers')
      .set({ is_vip: input.isVip ? 1 : 0 })
      .where('merchant_id', '=', input.merchantId)
      .where('shopper_id', '=', input.shopperId)
      .execute();
    return { shopperId: input.shopperId, isVip: input.isVip };
  });
}
