import { sql } from 'kysely';
import { lockShoppers } from './accounts';
import type { JournalEntryInput } from './journal';
import type { Ledger, WriteContext } from './ledger';

/**
 * Pending → available (SPEC §3.1 "Pending points"): an order's points are pending until the
 * merchant sends `completed` or the pending window ends, whichever first. `orderCompleted` handles
 * the first; this job the second. It takes the due lots by the `lots(merchant_id, available_at)
 * where status = 'pending'` index in bounded batches, one write each, set-based within it, so a
 * backlog drains without one long transaction. Pool lots that vest (`release_periods` > 0) are the
 * release job's (release-job.ts), never this one's.
 */

const BATCH_DEFAULT = 500;

export interface ReleaseDuePendingReport {
  /** Lots that became available. */
  releasedLots: number;
  /** Their points. */
  releasedPoints: number;
  /** Orders whose `earned_status` moved from 'pending' to 'available'. */
  orders: number;
  batches: number;
}

/** Releases every pending lot due now, `limit` lots a write (default 500), merchant by merchant. */
export async function releaseDuePending(ledger: Ledger, options: { limit?: number; merchantId?: string } = {}): Promise<ReleaseDuePendingReport> {
  const batchSize = Math.max(1, options.limit ?? BATCH_DEFAULT);
  const report: ReleaseDuePendingReport = { releasedLots: 0, releasedPoints: 0, orders: 0, batches: 0 };
  for (const merchantId of await merchantsWithDuePending(ledger, options.merchantId)) {
    for (;;) {
      const batch = await ledger.write((tx) => releaseBatch(tx, merchantId, batchSize));
      report.batches += 1;
      report.releasedLots += batch.lots;
      report.releasedPoints += batch.points;
      report.orders += batch.orders;
      if (batch.candidates < batchSize) break;
    }
  }
  return report;
}

async function merchantsWithDuePending(ledger: Ledger, merchantId: string | undefined): Promise<string[]> {
  if (merchantId !== undefined) return [merchantId];
  const rows = await ledger.db
    .selectFrom('lots')
    .select('merchant_id')
    .distinct()
    .where('status', '=', 'pending')
    .where('available_at', '<=', ledger.now().getTime())
    .orderBy('merchant_id')
    .execute();
  return rows.map((row) => row.merchant_id);
}

async function releaseBatch(tx: WriteContext, merchantId: string, size: number): Promise<{ candidates: number; lots: number; points: number; orders: number }> {
  const now = tx.now.getTime();
  const candidates = await tx.db
    .selectFrom('lots')
    .select(['id', 'shopper_id'])
    .where('merchant_id', '=', merchantId)
    .where('status', '=', 'pending')
    .where('available_at', '<=', now)
    .where('release_periods', '=', 0)
    .orderBy('available_at')
    .orderBy('id')
    .limit(size)
    .execute();
  if (candidates.length === 0) return { candidates: 0, lots: 0, points: 0, orders: 0 };

  // Services lock a shopper before their lots; the job does too, in one order (by id), so neither
  // waits on the other in a cycle. A concurrent sweeper then finds these lots no longer pending.
  await lockShoppers(tx, merchantId, candidates.map((row) => row.shopper_id));
  const released = await tx.db
    .updateTable('lots')
    .set({ status: 'available' })
    .where('merchant_id', '=', merchantId)
    .where('id', 'in', candidates.map((row) => row.id))
    .where('status', '=', 'pending')
    .returning(['id', 'shopper_id', 'source', 'source_ref', 'remaining', 'program_version'])
    .execute();
  if (released.length === 0) return { candidates: candidates.length, lots: 0, points: 0, orders: 0 };

  const releasedIds = sql.join(released.map((row) => row.id));
  const moved = sql<number>`(select coalesce(sum(l.remaining), 0) from lots l where l.merchant_id = shoppers.merchant_id and l.shopper_id = shoppers.shopper_id and l.id in (${releasedIds}))`;
  await tx.db
    .updateTable('shoppers')
    .set({ pending: sql<number>`pending - ${moved}`, available: sql<number>`available + ${moved}` })
    .where('merchant_id', '=', merchantId)
    .where('shopper_id', 'in', [...new Set(released.map((row) => row.shopper_id))])
    .execute();
  const orderIds = [...new Set(released.filter((row) => row.source === 'order').map((row) => row.source_ref))];
  const orders =
    orderIds.length === 0
      ? 0
      : Number(
          (
            await tx.db
              .updateTable('orders')
              .set({ earned_status: 'available' })
              .where('merchant_id', '=', merchantId)
              .where('order_id', 'in', orderIds)
              .where('earned_status', '=', 'pending')
              .executeTakeFirst()
          ).numUpdatedRows,
        );

  const entries: JournalEntryInput[] = released.map((row) => ({
    shopperId: row.shopper_id,
    kind: 'earn.available',
    points: 0,
    ref: row.source_ref,
    lotId: row.id,
    programVersion: Number(row.program_version),
    detail: { points: Number(row.remaining), cause: 'pendingWindow' },
  }));
  await tx.journal.appendMany(merchantId, entries);
  return { candidates: candidates.length, lots: released.length, points: released.reduce((sum, row) => sum + Number(row.remaining), 0), orders };
}
