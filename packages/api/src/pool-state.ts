import { type Database, prepareQuery } from '@jifen/db';
import { type PoolState, type PoolUse, type Program, burnForUse, minor, pointUnits, poolValuationOf } from '@jifen/rules';
import type { Kysely } from 'kysely';
import type { JournalEntryInput } from './journal';
import type { WriteContext } from './ledger';

/**
 * The merchant's value pool as stored (SPEC §3.2, §4): `pool_state` holds the pool and the supply
 * with running counters (contributions, payouts, minted, burned) so `verify` can check
 * `pool = contributions − payouts` and `supply = minted − burned`, and `pool_history` keeps one row
 * per change, keyed by the journal entry that made it, for the price chart and the supply-growth
 * window. Every pool write locks the row first, so two writes never compute from the same pool.
 */

export interface PoolCounters {
  contributions?: number;
  payouts?: number;
  minted?: number;
  burned?: number;
}

// Read on every quote (a fixed-value program's pool is empty, but the point value takes it): prepared once.
const readPoolState = prepareQuery((db, key: { merchantId: string }) => db.selectFrom('pool_state').select(['amount', 'supply']).where('merchant_id', '=', key.merchantId));

/** The merchant's pool as it stands, unlocked (all zero for fixed-value programs, whose value ignores it). */
export async function readPool(db: Kysely<Database>, merchantId: string): Promise<PoolState> {
  const row = await readPoolState.executeTakeFirst(db, { merchantId });
  return { amount: minor(Number(row?.amount ?? 0)), supply: pointUnits(Number(row?.supply ?? 0)) };
}

/** The pool, locked for the rest of the transaction (Postgres `FOR UPDATE`; SQLite already serialises writers). */
export async function lockPool(tx: WriteContext, merchantId: string): Promise<PoolState> {
  const row = await tx
    .forUpdate(tx.db.selectFrom('pool_state').select(['amount', 'supply']).where('merchant_id', '=', merchantId))
    .executeTakeFirst();
  if (!row) throw new Error('jifen invariant: every merchant has a pool_state row');
  return { amount: minor(row.amount), supply: pointUnits(row.supply) };
}

/**
 * Stores the pool a rule computed, moves the counters by the same change, journals the entries that
 * explain it (journal last: it locks the merchant's chain head) and records the new pool in the
 * history under the last entry's seq.
 */
export async function savePool(
  tx: WriteContext,
  merchantId: string,
  pool: PoolState,
  counters: PoolCounters,
  entries: readonly JournalEntryInput[],
): Promise<void> {
  await tx.db
    .updateTable('pool_state')
    .set((eb) => ({
      amount: pool.amount,
      supply: pool.supply,
      contributions: eb('contributions', '+', counters.contributions ?? 0),
      payouts: eb('payouts', '+', counters.payouts ?? 0),
      minted: eb('minted', '+', counters.minted ?? 0),
      burned: eb('burned', '+', counters.burned ?? 0),
      updated_at: tx.now.getTime(),
    }))
    .where('merchant_id', '=', merchantId)
    .execute();
  const journaled = await tx.journal.appendMany(merchantId, entries);
  const last = journaled.at(-1);
  if (!last) throw new Error('jifen invariant: every pool change is journaled');
  await tx.db
    .insertInto('pool_history')
    .values({ merchant_id: merchantId, journal_seq: last.seq, at: tx.now.getTime(), amount: pool.amount, supply: pool.supply })
    .execute();
}

export interface PoolPayoutInput {
  merchantId: string;
  shopperId: string;
  points: number;
  use: PoolUse;
  /** The hold, coupon code or cap-out the points paid for. */
  ref: string;
  program: Program;
  programVersion: number;
}

/**
 * Burns used points and pays `floor(points × price × (1 − retention[use]))` out of the pool
 * (SPEC §3.2), journaled as 'pool.payout' with the money (points 0: the caller journals the
 * shopper's points). Pool arithmetic only; `poolPayoutInTx` adds the shopper's cap-out trigger and
 * concentration flag.
 */
export async function payOutOfPool(tx: WriteContext, input: PoolPayoutInput): Promise<{ payout: number; pool: PoolState }> {
  const { merchantId } = input;
  const before = await lockPool(tx, merchantId);
  const burn = burnForUse(before, input.points, input.use, poolValuationOf(input.program).retention);
  if (burn.burned === 0) return { payout: 0, pool: before };
  await savePool(tx, merchantId, burn.pool, { payouts: burn.payout, burned: burn.burned }, [
    {
      shopperId: input.shopperId,
      kind: 'pool.payout',
      points: 0,
      amount: -burn.payout,
      ref: input.ref,
      programVersion: input.programVersion,
      detail: { use: input.use, burned: burn.burned, payout: burn.payout, poolAfter: burn.pool.amount, supplyAfter: burn.pool.supply },
    },
  ]);
  return { payout: burn.payout, pool: burn.pool };
}
