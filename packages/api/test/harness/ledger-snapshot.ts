import type { Database } from '@jifen/db';
import type { Kysely } from 'kysely';

/**
 * A merchant's ledger state in terms two databases can be compared in: the ledger's own ids (lots,
 * holds, coupon codes) are random, so everything is keyed by the caller's ids — shopper, order,
 * checkout — and lots are summed by what decides their fate: shopper, source, pending or not, and
 * expiry. Not the instant they were earned: a refund that arrived before its order was paid waits,
 * and its restored points are credited when `paid` applies it. Not their status beyond pending: an
 * emptied lot reads 'cancelled' (emptied while pending by a full refund) or 'available' (drained
 * after `completed`) depending on the order events arrived in. Two ledgers that saw the same history
 * agree on every figure here.
 */

export interface LedgerSnapshot {
  shoppers: Record<string, { available: number; pending: number; held: number; debt: number }>;
  /** `shopper source pending|settled expiresAt` → how many lots and their sums. */
  lots: Record<string, { lots: number; points: number; remaining: number; held: number }>;
  orders: Record<string, { shopperId: string; status: string; amount: number; refunded: number; earnedPoints: number; clawedBack: number; restoredPoints: number; pointsPaid: number }>;
  refunds: Record<string, { orderId: string; amount: number; pointsClawed: number; pointsRestored: number; debtAdded: number }>;
  holds: Record<string, { status: string; points: number; value: number }>;
  /** `shopper kind` → entries and their sums. */
  journal: Record<string, { entries: number; points: number; amount: number }>;
}

/**
 * Kinds whose number of entries depends on how a history was delivered, not on what it did:
 * `earn.available` (a pending lot emptied by a full refund before `completed` is cancelled, so its
 * completion moves nothing and writes no entry; after it, the move is journaled). Their sums still count.
 */
const DELIVERY_DEPENDENT_COUNTS = new Set(['earn.available']);

export async function ledgerSnapshot(db: Kysely<Database>, merchantId: string): Promise<LedgerSnapshot> {
  const shoppers = await db.selectFrom('shoppers').select(['shopper_id', 'available', 'pending', 'held', 'debt']).where('merchant_id', '=', merchantId).execute();
  const lots = await db
    .selectFrom('lots')
    .select(['shopper_id', 'source', 'status', 'points', 'remaining', 'held', 'expires_at'])
    .where('merchant_id', '=', merchantId)
    .execute();
  const orders = await db.selectFrom('orders').selectAll().where('merchant_id', '=', merchantId).execute();
  const refunds = await db.selectFrom('refunds').selectAll().where('merchant_id', '=', merchantId).execute();
  const holds = await db.selectFrom('holds').select(['shopper_id', 'checkout_id', 'status', 'points', 'value']).where('merchant_id', '=', merchantId).execute();
  const journal = await db
    .selectFrom('journal')
    .select((eb) => ['shopper_id', 'kind', eb.fn.countAll<number>().as('entries'), eb.fn.sum<number>('points').as('points'), eb.fn.sum<number>('amount').as('amount')])
    .where('merchant_id', '=', merchantId)
    .groupBy(['shopper_id', 'kind'])
    .execute();

  const snapshot: LedgerSnapshot = { shoppers: {}, lots: {}, orders: {}, refunds: {}, holds: {}, journal: {} };
  for (const row of shoppers) {
    snapshot.shoppers[row.shopper_id] = { available: Number(row.available), pending: Number(row.pending), held: Number(row.held), debt: Number(row.debt) };
  }
  for (const row of lots) {
    const status = row.status === 'pending' ? 'pending' : 'settled';
    const key = [row.shopper_id, row.source, status, row.expires_at === null ? 'never' : String(Number(row.expires_at))].join(' ');
    const sums = (snapshot.lots[key] ??= { lots: 0, points: 0, remaining: 0, held: 0 });
    sums.lots += 1;
    sums.points += Number(row.points);
    sums.remaining += Number(row.remaining);
    sums.held += Number(row.held);
  }
  for (const row of orders) {
    snapshot.orders[row.order_id] = {
      shopperId: row.shopper_id,
      status: row.status,
      amount: Number(row.amount),
      refunded: Number(row.refunded_amount),
      earnedPoints: Number(row.earned_points),
      clawedBack: Number(row.clawed_back),
      restoredPoints: Number(row.restored_points),
      pointsPaid: Number(row.points_paid),
    };
  }
  for (const row of refunds) {
    snapshot.refunds[row.refund_id] = {
      orderId: row.order_id,
      amount: Number(row.amount),
      pointsClawed: Number(row.points_clawed),
      pointsRestored: Number(row.points_restored),
      debtAdded: Number(row.debt_added),
    };
  }
  for (const row of holds) snapshot.holds[`${row.shopper_id}/${row.checkout_id}`] = { status: row.status, points: Number(row.points), value: Number(row.value) };
  for (const row of journal) {
    snapshot.journal[`${row.shopper_id ?? '(merchant)'} ${row.kind}`] = {
      entries: DELIVERY_DEPENDENT_COUNTS.has(row.kind) ? -1 : Number(row.entries),
      points: Number(row.points),
      amount: Number(row.amount),
    };
  }
  return snapshot;
}
