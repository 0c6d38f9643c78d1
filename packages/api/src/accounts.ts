import type { LotRow, LotSource, LotStatus, ShopperRow } from '@jifen/db';
import { type Lot, type LotPortion, allocateLots, pointUnits } from '@jifen/rules';
import { type RawBuilder, sql } from 'kysely';
import { randomId } from './canonical';
import { JifenError } from './errors';
import type { WriteContext } from './ledger';

/**
 * A shopper's account and lots — the primitives every points-moving service shares.
 *
 * Balances (SPEC §4): a lot's `remaining` counts every point still in it, its `held` the part of
 * that reserved by holds. For a shopper,
 *   pending   = Σ remaining of pending lots
 *   held      = Σ held of available lots
 *   available = Σ (remaining − held) of available lots
 * so available + held + pending = Σ lot remainders = Σ the shopper's journal points. The `shoppers`
 * row keeps the three sums (and `debt`) so a balance read is one row; every service changes them by
 * deltas in the same transaction as the lots, and `verify` recomputes them from the lots.
 */

export interface ShopperAccount {
  merchantId: string;
  shopperId: string;
  createdAt: number;
  isVip: boolean;
  referredBy: string | null;
  referralRewarded: boolean;
  firstPaidAt: number | null;
  available: number;
  pending: number;
  held: number;
  debt: number;
  tierId: string;
  tierConfirmedAt: number;
  checkinDate: string | null;
  checkinStreak: number;
  capoutBasis: number;
  completedReferrals: number;
  flagged: boolean;
}

/**
 * The shopper's account, created on first sight, locked for the rest of the transaction on
 * Postgres (`FOR UPDATE`; SQLite's `BEGIN IMMEDIATE` already serialises writers). Lock the shopper
 * before the rows you change for them, and journal last — one lock order for every service.
 */
export async function lockShopper(tx: WriteContext, merchantId: string, shopperId: string, firstTierId = 'member'): Promise<ShopperAccount> {
  await tx.db
    .insertInto('shoppers')
    .values({
      merchant_id: merchantId,
      shopper_id: shopperId,
      created_at: tx.now.getTime(),
      is_vip: 0,
      referred_by: null,
      referral_rewarded: 0,
      first_paid_at: null,
      available: 0,
      pending: 0,
      held: 0,
      debt: 0,
      tier_id: firstTierId,
      tier_confirmed_at: tx.now.getTime(),
      checkin_date: null,
      checkin_streak: 0,
      capout_basis: 0,
      capout_trigger: null,
      completed_referrals: 0,
      flagged: 0,
    })
    .onConflict((conflict) => conflict.columns(['merchant_id', 'shopper_id']).doNothing())
    .execute();
  const row = await tx
    .forUpdate(tx.db.selectFrom('shoppers').selectAll().where('merchant_id', '=', merchantId).where('shopper_id', '=', shopperId))
    .executeTakeFirstOrThrow();
  return toShopperAccount(row);
}

export function toShopperAccount(row: ShopperRow): ShopperAccount {
  return {
    merchantId: row.merchant_id,
    shopperId: row.shopper_id,
    createdAt: Number(row.created_at),
    isVip: row.is_vip === 1,
    referredBy: row.referred_by,
    referralRewarded: row.referral_rewarded === 1,
    firstPaidAt: row.first_paid_at === null ? null : Number(row.first_paid_at),
    available: Number(row.available),
    pending: Number(row.pending),
    held: Number(row.held),
    debt: Number(row.debt),
    tierId: row.tier_id,
    tierConfirmedAt: Number(row.tier_confirmed_at),
    checkinDate: row.checkin_date,
    checkinStreak: Number(row.checkin_streak),
    capoutBasis: Number(row.capout_basis),
    completedReferrals: Number(row.completed_referrals),
    flagged: row.flagged === 1,
  };
}

export interface BalanceDelta {
  available?: number;
  pending?: number;
  held?: number;
  debt?: number;
}

/** Moves the shopper's balance sums by deltas (never a read-modify-write of the figures). */
export async function changeBalances(tx: WriteContext, merchantId: string, shopperId: string, delta: BalanceDelta): Promise<void> {
  const available = delta.available ?? 0;
  const pending = delta.pending ?? 0;
  const held = delta.held ?? 0;
  const debt = delta.debt ?? 0;
  if (available === 0 && pending === 0 && held === 0 && debt === 0) return;
  await tx.db
    .updateTable('shoppers')
    .set({
      available: sql<number>`available + ${available}`,
      pending: sql<number>`pending + ${pending}`,
      held: sql<number>`held + ${held}`,
      debt: sql<number>`debt + ${debt}`,
    })
    .where('merchant_id', '=', merchantId)
    .where('shopper_id', '=', shopperId)
    .execute();
}

export interface NewLot {
  merchantId: string;
  shopperId: string;
  source: LotSource;
  sourceRef: string;
  programVersion: number;
  points: number;
  status: Extract<LotStatus, 'pending' | 'available'>;
  earnedAt: Date;
  /** When a pending lot becomes available (pending window end); `earnedAt` for available lots. */
  availableAt: Date;
  expiresAt: Date | null;
  releasePeriods?: number;
  releasePeriodDays?: number;
}

/** Creates a lot and moves its points into the shopper's pending or available sum. */
export async function createLot(tx: WriteContext, lot: NewLot): Promise<string> {
  const id = `l_${randomId(12)}`;
  await tx.db
    .insertInto('lots')
    .values({
      id,
      merchant_id: lot.merchantId,
      shopper_id: lot.shopperId,
      source: lot.source,
      source_ref: lot.sourceRef,
      program_version: lot.programVersion,
      points: lot.points,
      remaining: lot.points,
      held: 0,
      status: lot.status,
      earned_at: lot.earnedAt.getTime(),
      available_at: lot.availableAt.getTime(),
      expires_at: lot.expiresAt?.getTime() ?? null,
      release_periods: lot.releasePeriods ?? 0,
      release_period_days: lot.releasePeriodDays ?? 0,
      released: lot.points,
    })
    .execute();
  await changeBalances(tx, lot.merchantId, lot.shopperId, lot.status === 'pending' ? { pending: lot.points } : { available: lot.points });
  return id;
}

/** The shopper's available lots with unreserved points, as the rules see them (`remaining` = unheld part). */
export async function spendableLots(tx: Pick<WriteContext, 'db'>, merchantId: string, shopperId: string): Promise<Lot[]> {
  const rows = await tx.db
    .selectFrom('lots')
    .select(['id', 'remaining', 'held', 'expires_at', 'earned_at'])
    .where('merchant_id', '=', merchantId)
    .where('shopper_id', '=', shopperId)
    .where('status', '=', 'available')
    .where('remaining', '>', 0)
    .execute();
  return rows
    .filter((row) => Number(row.remaining) > Number(row.held))
    .map((row) => ({
      id: row.id,
      remaining: pointUnits(Number(row.remaining) - Number(row.held)),
      expiresAt: row.expires_at === null ? null : new Date(Number(row.expires_at)),
      earnedAt: new Date(Number(row.earned_at)),
    }));
}

/**
 * Picks `points` from the shopper's spendable lots, earliest expiry first (SPEC §3.1), skipping lots
 * already past their expiry that the sweep has not reached yet. Refuses with INSUFFICIENT_POINTS.
 */
export async function allocateSpendable(tx: WriteContext, merchantId: string, shopperId: string, points: number, param = 'points'): Promise<LotPortion[]> {
  const allocation = allocateLots(await spendableLots(tx, merchantId, shopperId), points, tx.now);
  if (!allocation.ok) throw new JifenError(allocation.error.code, { available: allocation.error.available, requested: allocation.error.requested }, param);
  return allocation.value;
}

/** Takes portions out of lots for good (a spend, an exchange, a clawback) and out of `available`. */
export async function consumeLots(tx: WriteContext, merchantId: string, shopperId: string, portions: readonly LotPortion[]): Promise<number> {
  let total = 0;
  for (const portion of portions) {
    await tx.db
      .updateTable('lots')
      .set({ remaining: sql<number>`remaining - ${portion.points}` })
      .where('id', '=', portion.lotId)
      .where('merchant_id', '=', merchantId)
      .execute();
    total += portion.points;
  }
  await changeBalances(tx, merchantId, shopperId, { available: -total });
  return total;
}

export function toLotRowView(row: LotRow) {
  return {
    lotId: row.id,
    source: row.source,
    points: Number(row.points),
    remaining: Number(row.remaining),
    held: Number(row.held),
    status: row.status,
    earnedAt: Number(row.earned_at),
    availableAt: Number(row.available_at),
    expiresAt: row.expires_at === null ? null : Number(row.expires_at),
  };
}

/**
 * Moves many shoppers' balance sums at once (the sweeps): one UPDATE per chunk with a CASE per
 * column, instead of a statement per shopper. Lock the shoppers first, in shopper-id order.
 */
export async function changeBalancesMany(tx: WriteContext, merchantId: string, deltas: ReadonlyMap<string, BalanceDelta>): Promise<void> {
  const columns = ['available', 'pending', 'held', 'debt'] as const;
  const changed = [...deltas].filter(([, delta]) => columns.some((column) => (delta[column] ?? 0) !== 0));
  // Four CASE arms of two values each per shopper: 500 shoppers bind ~4000 values, within every engine's limit.
  for (let start = 0; start < changed.length; start += 500) {
    const chunk = changed.slice(start, start + 500);
    const set: Partial<Record<(typeof columns)[number], RawBuilder<number>>> = {};
    for (const column of columns) {
      if (chunk.every(([, delta]) => (delta[column] ?? 0) === 0)) continue;
      const arms = chunk.map(([shopperId, delta]) => sql`when ${shopperId} then cast(${delta[column] ?? 0} as bigint)`);
      set[column] = sql<number>`${sql.ref(column)} + case shopper_id ${sql.join(arms, sql` `)} else cast(0 as bigint) end`;
    }
    await tx.db
      .updateTable('shoppers')
      .set(set)
      .where('merchant_id', '=', merchantId)
      .where('shopper_id', 'in', chunk.map(([shopperId]) => shopperId))
      .execute();
  }
}
