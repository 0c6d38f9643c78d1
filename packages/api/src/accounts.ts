import { type LotRow, type LotSource, type LotStatus, type PreparedQuery, SHOPPER_COLUMNS, type ShopperRow, prepareLockingRead, prepareQuery } from '@jifen/db';
import { type Lot, type LotPortion, allocateLots, pointUnits } from '@jifen/rules';
import { sql } from 'kysely';
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

const readShopper = prepareLockingRead((db, key: { merchantId: string; shopperId: string }) =>
  db.selectFrom('shoppers').select(SHOPPER_COLUMNS).where('merchant_id', '=', key.merchantId).where('shopper_id', '=', key.shopperId),
);

const insertShopper = prepareQuery((db, shopper: { merchantId: string; shopperId: string; at: number; tierId: string }) =>
  db
    .insertInto('shoppers')
    .values({
      merchant_id: shopper.merchantId,
      shopper_id: shopper.shopperId,
      created_at: shopper.at,
      is_vip: 0,
      referred_by: null,
      referral_rewarded: 0,
      first_paid_at: null,
      available: 0,
      pending: 0,
      held: 0,
      debt: 0,
      tier_id: shopper.tierId,
      tier_confirmed_at: shopper.at,
      checkin_date: null,
      checkin_streak: 0,
      capout_basis: 0,
      capout_trigger: null,
      completed_referrals: 0,
      flagged: 0,
    })
    .onConflict((conflict) => conflict.columns(['merchant_id', 'shopper_id']).doNothing())
    .returning(SHOPPER_COLUMNS),
);

/**
 * The shopper's account, created on first sight, locked for the rest of the transaction on
 * Postgres (`FOR UPDATE`; SQLite's `BEGIN IMMEDIATE` already serialises writers). Lock the shopper
 * before the rows you change for them, and journal last — one lock order for every service.
 * A known shopper (nearly every write) is one locking read; a new one is that read and an insert
 * that returns the row.
 */
export async function lockShopper(tx: WriteContext, merchantId: string, shopperId: string, firstTierId = 'member'): Promise<ShopperAccount> {
  const key = { merchantId, shopperId };
  const known = await readShopper.executeTakeFirst(tx.db, key);
  if (known) return toShopperAccount(known);
  // The row this transaction inserts is its own until it commits: no second read to lock it.
  const created = await insertShopper.executeTakeFirst(tx.db, { merchantId, shopperId, at: tx.now.getTime(), tierId: firstTierId });
  if (created) return toShopperAccount(created);
  // A concurrent first sight made the insert wait for it, then do nothing: read and lock its row.
  const raced = await readShopper.executeTakeFirst(tx.db, key);
  if (!raced) throw new Error('jifen invariant: a shopper exists once created');
  return toShopperAccount(raced);
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

const moveBalances = prepareQuery((db, move: { merchantId: string; shopperId: string; available: number; pending: number; held: number; debt: number }) =>
  db
    .updateTable('shoppers')
    .set({
      available: sql<number>`available + ${move.available}`,
      pending: sql<number>`pending + ${move.pending}`,
      held: sql<number>`held + ${move.held}`,
      debt: sql<number>`debt + ${move.debt}`,
    })
    .where('merchant_id', '=', move.merchantId)
    .where('shopper_id', '=', move.shopperId),
);

/** Moves the shopper's balance sums by deltas (never a read-modify-write of the figures). */
export async function changeBalances(tx: WriteContext, merchantId: string, shopperId: string, delta: BalanceDelta): Promise<void> {
  const available = delta.available ?? 0;
  const pending = delta.pending ?? 0;
  const held = delta.held ?? 0;
  const debt = delta.debt ?? 0;
  if (available === 0 && pending === 0 && held === 0 && debt === 0) return;
  await moveBalances.executeWrite(tx.db, { merchantId, shopperId, available, pending, held, debt });
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

const insertLotRow = prepareQuery(
  (
    db,
    lot: {
      id: string;
      merchantId: string;
      shopperId: string;
      source: LotSource;
      sourceRef: string;
      programVersion: number;
      points: number;
      status: LotStatus;
      earnedAt: number;
      availableAt: number;
      expiresAt: number | null;
      releasePeriods: number;
      releasePeriodDays: number;
    },
  ) =>
    db.insertInto('lots').values({
      id: lot.id,
      merchant_id: lot.merchantId,
      shopper_id: lot.shopperId,
      source: lot.source,
      source_ref: lot.sourceRef,
      program_version: lot.programVersion,
      points: lot.points,
      remaining: lot.points,
      held: 0,
      status: lot.status,
      earned_at: lot.earnedAt,
      available_at: lot.availableAt,
      expires_at: lot.expiresAt,
      release_periods: lot.releasePeriods,
      release_period_days: lot.releasePeriodDays,
      released: lot.points,
    }),
);

/**
 * Stores a new lot without touching the shopper's sums: for a service that moves them in a write of
 * its own to the shopper row (orders.paid), so the balance is one statement with the rest.
 */
export async function insertLot(tx: WriteContext, lot: NewLot): Promise<string> {
  const id = `l_${randomId(12)}`;
  await insertLotRow.executeDeferred(tx.db, {
    id,
    merchantId: lot.merchantId,
    shopperId: lot.shopperId,
    source: lot.source,
    sourceRef: lot.sourceRef,
    programVersion: lot.programVersion,
    points: lot.points,
    status: lot.status,
    earnedAt: lot.earnedAt.getTime(),
    availableAt: lot.availableAt.getTime(),
    expiresAt: lot.expiresAt?.getTime() ?? null,
    releasePeriods: lot.releasePeriods ?? 0,
    releasePeriodDays: lot.releasePeriodDays ?? 0,
  });
  return id;
}

/** Creates a lot and moves its points into the shopper's pending or available sum. */
export async function createLot(tx: WriteContext, lot: NewLot): Promise<string> {
  const id = await insertLot(tx, lot);
  await changeBalances(tx, lot.merchantId, lot.shopperId, lot.status === 'pending' ? { pending: lot.points } : { available: lot.points });
  return id;
}

// Every spend reads these: prepared once. By lots_shopper_expiry_idx on (merchant_id, shopper_id);
// the rules skip lots past their expiry. An expiry range here (`expires_at is null or expires_at > ?`)
// was measured: SQLite's planner still reads all of the shopper's entries, and the condition costs
// ~5 µs a read (docs/storage.md).
const readSpendableLots = prepareQuery((db, key: { merchantId: string; shopperId: string }) =>
  db
    .selectFrom('lots')
    .select(['id', 'remaining', 'held', 'expires_at', 'earned_at'])
    .where('merchant_id', '=', key.merchantId)
    .where('shopper_id', '=', key.shopperId)
    .where(sql<boolean>`${sql.ref('status')} = 'available' and ${sql.ref('remaining')} > 0`),
);

/**
 * Locks these shoppers' rows (each once, however often it is named) in id order (the batch jobs):
 * services lock a shopper before their lots and holds, and jobs taking many shoppers take them in one
 * order, so they queue instead of deadlocking.
 */
export async function lockShoppers(tx: WriteContext, merchantId: string, shopperIds: Iterable<string>): Promise<void> {
  await tx
    .forUpdate(tx.db.selectFrom('shoppers').select('shopper_id').where('merchant_id', '=', merchantId).where('shopper_id', 'in', [...new Set(shopperIds)]).orderBy('shopper_id'))
    .execute();
}

/** The shopper's available lots with unreserved points, as the rules see them (`remaining` = unheld part). */
export async function spendableLots(tx: Pick<WriteContext, 'db'>, merchantId: string, shopperId: string): Promise<Lot[]> {
  const lots: Lot[] = [];
  for (const row of await readSpendableLots.execute(tx.db, { merchantId, shopperId })) {
    const lot = spendableLot(row);
    if (lot !== null) lots.push(lot);
  }
  return lots;
}

/** A lot row as the rules see it (`remaining` = its unheld part), or null when all of it is held. */
export function spendableLot(row: { id: string; remaining: number; held: number; expires_at: number | null; earned_at: number }): Lot | null {
  const unheld = Number(row.remaining) - Number(row.held);
  if (unheld <= 0) return null;
  return {
    id: row.id,
    remaining: pointUnits(unheld),
    expiresAt: row.expires_at === null ? null : new Date(Number(row.expires_at)),
    earnedAt: new Date(Number(row.earned_at)),
  };
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

const takeFromLot = prepareQuery((db, take: { merchantId: string; lotId: string; points: number }) =>
  db
    .updateTable('lots')
    .set({ remaining: sql<number>`remaining - ${take.points}` })
    .where('id', '=', take.lotId)
    .where('merchant_id', '=', take.merchantId),
);

/** Takes portions out of lots for good (a spend, an exchange, a clawback) and out of `available`. */
export async function consumeLots(tx: WriteContext, merchantId: string, shopperId: string, portions: readonly LotPortion[]): Promise<number> {
  let total = 0;
  for (const portion of portions) {
    await takeFromLot.executeWrite(tx.db, { merchantId, lotId: portion.lotId, points: portion.points });
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
 * Moves many shoppers' balance sums at once (the sweeps): each statement joins up to 500 shoppers'
 * deltas, given as a `VALUES` list, to their rows by key — one indexed update per shopper inside
 * one statement, instead of a statement per shopper. Lock the shoppers first, in shopper-id order.
 */
export async function changeBalancesMany(tx: WriteContext, merchantId: string, deltas: ReadonlyMap<string, BalanceDelta>): Promise<void> {
  const changed = [...deltas].filter(([, delta]) => (delta.available ?? 0) !== 0 || (delta.pending ?? 0) !== 0 || (delta.held ?? 0) !== 0 || (delta.debt ?? 0) !== 0);
  let start = 0;
  while (start < changed.length) {
    const left = changed.length - start;
    // A remainder goes in power-of-two pieces, so few statement shapes are ever prepared.
    const count = left >= SHOPPERS_PER_MOVE_MAX ? SHOPPERS_PER_MOVE_MAX : 2 ** Math.floor(Math.log2(left));
    const params: Record<string, unknown> = { merchantId };
    changed.slice(start, start + count).forEach(([shopperId, delta], index) => {
      params[`shopper${index}`] = shopperId;
      params[`available${index}`] = delta.available ?? 0;
      params[`pending${index}`] = delta.pending ?? 0;
      params[`held${index}`] = delta.held ?? 0;
      params[`debt${index}`] = delta.debt ?? 0;
    });
    await moveBalancesOf(count).executeWrite(tx.db, params);
    start += count;
  }
}

/** Five values a shopper: 500 shoppers bind 2,501 values, within every engine's limit. */
const SHOPPERS_PER_MOVE_MAX = 500;
const moveBalancesByCount = new Map<number, PreparedQuery<Record<string, unknown>, unknown>>();

function moveBalancesOf(count: number): PreparedQuery<Record<string, unknown>, unknown> {
  let query = moveBalancesByCount.get(count);
  if (query === undefined) {
    query = prepareQuery((_db, move: Record<string, unknown>) => {
      const rows = Array.from(
        { length: count },
        (_, index) => sql`(${move[`shopper${index}`]}, ${move[`available${index}`]}, ${move[`pending${index}`]}, ${move[`held${index}`]}, ${move[`debt${index}`]})`,
      );
      // Values in a VALUES list are untyped text to Postgres: each delta is cast before it is added.
      return sql`with moves (shopper_id, available, pending, held, debt) as (values ${sql.join(rows)})
        update shoppers set
          available = shoppers.available + cast(moves.available as bigint),
          pending = shoppers.pending + cast(moves.pending as bigint),
          held = shoppers.held + cast(moves.held as bigint),
          debt = shoppers.debt + cast(moves.debt as bigint)
        from moves
        where shoppers.merchant_id = ${move.merchantId} and shoppers.shopper_id = moves.shopper_id`;
    });
    moveBalancesByCount.set(count, query);
  }
  return query;
}
