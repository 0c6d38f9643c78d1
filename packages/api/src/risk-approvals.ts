import { type Database, readSnapshot } from '@jifen/db';
import {
  type PoolState,
  type Program,
  type SupplyThrottle,
  growthWindowStart,
  isHoldingConcentrated,
  localDate,
  poolValuationOf,
  supplyThrottle,
} from '@jifen/rules';
import { type Kysely, sql } from 'kysely';
import { JifenError, notFound } from './errors';
import type { Ledger, WriteContext } from './ledger';
import { getProgram } from './merchants';
import { enqueue } from './outbox';
import { lockPool, readPool } from './pool-state';

/**
 * Risk controls of pool programs (SPEC §3.2 `risk`), figures from rules `risk.ts`:
 * - supply growth over the trailing window beyond `maxSupplyGrowth` throttles minting (the ceiling
 *   is an allowance in point units) and alerts the merchant once a local day through the outbox;
 * - a shopper holding more than `concentrationReview` of the supply is flagged, and a checkout hold
 *   of a flagged shopper is captured only after the merchant approved it (`approveRedemption`).
 *   The share is asked at each redemption, of the supply as it stands then: other shoppers' buying
 *   and spending move the supply without touching this shopper's row, so a flag stored when their
 *   own holdings last changed may be stale (`shoppers.flagged` follows it where it is asked).
 */

/** The supply-growth allowance now: the supply when the trailing window started comes from `pool_history`. */
export async function supplyThrottleInTx(tx: WriteContext, input: { merchantId: string; program: Program; pool: PoolState }): Promise<SupplyThrottle> {
  const { risk } = poolValuationOf(input.program);
  const windowStart = growthWindowStart(tx.now, risk);
  const atStart = await tx.db
    .selectFrom('pool_history')
    .select('supply')
    .where('merchant_id', '=', input.merchantId)
    .where('at', '<=', windowStart.getTime())
    .orderBy('at', 'desc')
    .orderBy('journal_seq', 'desc')
    .limit(1)
    .executeTakeFirst();
  // No history before the window: the pool is younger than the window and started empty.
  return supplyThrottle({ supplyAtWindowStart: atStart?.supply ?? 0, supply: input.pool.supply, maxSupplyGrowth: risk.maxSupplyGrowth });
}

/** Queues 'alert.supplyGrowth' for the merchant, at most once per local day (the outbox dedupes). */
export async function alertSupplyGrowthInTx(
  tx: WriteContext,
  input: { merchantId: string; program: Program; pool: PoolState; throttle: SupplyThrottle; withheld: number; orderId: string },
): Promise<void> {
  const day = localDate(tx.now, input.program.timeZone);
  const { risk } = poolValuationOf(input.program);
  await enqueue(tx, {
    merchantId: input.merchantId,
    kind: 'alert.supplyGrowth',
    dedupeKey: `alert.supplyGrowth:${day}`,
    payload: {
      day,
      supply: input.pool.supply,
      // Decimals are not canonical JSON: the limit is sent as the string the program states.
      maxSupplyGrowth: String(risk.maxSupplyGrowth),
      growthWindowDays: risk.growthWindowDays,
      withheldPoints: input.withheld,
      orderId: input.orderId,
    },
  });
}

/**
 * Flags the shopper while they hold more than `concentrationReview` of the supply, and clears the
 * flag once they no longer do. Re-evaluated whenever the pool changes the shopper's holdings
 * (mint, funding, payout, refund, cap-out); the shopper row is already locked by the caller.
 */
export async function refreshConcentrationFlagInTx(
  tx: WriteContext,
  input: { merchantId: string; shopperId: string; program: Program; supply: number },
): Promise<boolean> {
  const row = await tx.db
    .selectFrom('shoppers')
    .select(['available', 'held', 'pending', 'flagged'])
    .where('merchant_id', '=', input.merchantId)
    .where('shopper_id', '=', input.shopperId)
    .executeTakeFirst();
  if (!row) return false;
  const holdings = row.available + row.held + row.pending;
  const isFlagged = isConcentrated(input.program, input.supply, holdings);
  if (isFlagged !== (row.flagged === 1)) {
    await tx.db
      .updateTable('shoppers')
      .set({ flagged: isFlagged ? 1 : 0 })
      .where('merchant_id', '=', input.merchantId)
      .where('shopper_id', '=', input.shopperId)
      .execute();
  }
  return isFlagged;
}

/**
 * Does the shopper hold more than `concentrationReview` of the supply now? Asked when they redeem
 * (a capture, an exchange), with the pool locked as the redemption's payout locks it next (shopper,
 * then pool); the stored flag is brought in step. The shopper row is locked by the caller.
 */
export async function isConcentratedInTx(tx: WriteContext, input: { merchantId: string; shopperId: string; program: Program }): Promise<boolean> {
  const pool = await lockPool(tx, input.merchantId);
  return refreshConcentrationFlagInTx(tx, { ...input, supply: pool.supply });
}

/**
 * For the holds engineer's capture: the hold of a shopper who holds more than `concentrationReview`
 * of the supply now is captured only once the merchant approved it. Refuses
 * REDEMPTION_AWAITING_APPROVAL otherwise. Other shoppers pass.
 */
export async function assertRedemptionApprovedInTx(tx: WriteContext, input: { merchantId: string; shopperId: string; holdId: string; program: Program }): Promise<void> {
  if (!(await isConcentratedInTx(tx, input))) return;
  const hold = await tx.db
    .selectFrom('holds')
    .select('approved_at')
    .where('merchant_id', '=', input.merchantId)
    .where('hold_id', '=', input.holdId)
    .executeTakeFirst();
  if (hold?.approved_at == null) {
    throw new JifenError('REDEMPTION_AWAITING_APPROVAL', { holdId: input.holdId, shopperId: input.shopperId }, 'holdId');
  }
}

export interface ApprovedRedemption {
  holdId: string;
  shopperId: string;
  points: number;
  /** Epoch ms of the first approval; a replay returns it unchanged. */
  approvedAt: number;
}

/** The merchant approves a flagged shopper's open hold (idempotent on the hold id). */
export async function approveRedemption(ledger: Ledger, input: { merchantId: string; holdId: string }): Promise<ApprovedRedemption> {
  return ledger.write(async (tx) => {
    const hold = await tx
      .forUpdate(
        tx.db
          .selectFrom('holds')
          .select(['hold_id', 'shopper_id', 'points', 'status', 'approved_at'])
          .where('merchant_id', '=', input.merchantId)
          .where('hold_id', '=', input.holdId),
      )
      .executeTakeFirst();
    if (!hold) throw notFound('holdId', 'hold');
    if (hold.approved_at !== null) return { holdId: hold.hold_id, shopperId: hold.shopper_id, points: hold.points, approvedAt: hold.approved_at };
    if (hold.status !== 'held') throw new JifenError('HOLD_NOT_ACTIVE', { status: hold.status }, 'holdId');
    const approvedAt = tx.now.getTime();
    await tx.db
      .updateTable('holds')
      .set({ approved_at: approvedAt })
      .where('merchant_id', '=', input.merchantId)
      .where('hold_id', '=', input.holdId)
      .execute();
    const program = await tx.db.selectFrom('merchants').select('program_version').where('id', '=', input.merchantId).executeTakeFirstOrThrow();
    await tx.journal.append(input.merchantId, {
      shopperId: hold.shopper_id,
      kind: 'hold.approve',
      points: 0,
      ref: hold.hold_id,
      programVersion: program.program_version,
      detail: { points: hold.points },
    });
    return { holdId: hold.hold_id, shopperId: hold.shopper_id, points: hold.points, approvedAt };
  });
}

export interface PendingApproval {
  holdId: string;
  shopperId: string;
  points: number;
  value: number;
  cartAmount: number;
  createdAt: number;
  expiresAt: number;
  /** The shopper's pool points (available + held + pending) against the supply, for the merchant's review. */
  holdings: number;
  supply: number;
}

/**
 * Open holds not yet approved of shoppers who hold more than `concentrationReview` of the supply now
 * — the holds a capture would refuse — oldest first. Every open hold of the shop is read (holds live
 * for `holdTtlSeconds`, so they are the checkouts in progress) and their shoppers' shares asked
 * against the supply as it stands.
 */
export async function listPendingApprovals(db: Kysely<Database>, merchantId: string, options: { limit?: number } = {}): Promise<PendingApproval[]> {
  // One snapshot: the supply and the holdings it is compared with are of one moment (an order minted between two reads once paired them wrongly).
  return readSnapshot(db, (snapshot) => pendingApprovalsOf(snapshot, merchantId, options));
}

async function pendingApprovalsOf(db: Kysely<Database>, merchantId: string, options: { limit?: number }): Promise<PendingApproval[]> {
  const { program } = await getProgram(db, merchantId);
  if (program.valuation.kind !== 'pool') return [];
  const { supply } = await readPool(db, merchantId);
  // Driven from the open holds (few: the checkouts in progress), never from the shop's shoppers.
  const rows = await db
    .selectFrom('holds')
    .innerJoin('shoppers', (join) => join.onRef('shoppers.merchant_id', '=', 'holds.merchant_id').onRef('shoppers.shopper_id', '=', 'holds.shopper_id'))
    .select([
      'holds.hold_id',
      'holds.shopper_id',
      'holds.points',
      'holds.value',
      'holds.cart_amount',
      'holds.created_at',
      'holds.expires_at',
      sql<number>`shoppers.available + shoppers.held + shoppers.pending`.as('holdings'),
    ])
    .where('holds.merchant_id', '=', merchantId)
    // A literal, so the statement visibly matches the partial index of open holds (`where status = 'held'`).
    .where('holds.status', '=', sql.lit('held'))
    .where('holds.approved_at', 'is', null)
    .orderBy('holds.created_at')
    .orderBy('holds.hold_id')
    .execute();
  const pending = rows.filter((row) => isConcentrated(program, supply, Number(row.holdings)));
  return pending.slice(0, options.limit ?? 100).map((row) => ({
    holdId: row.hold_id,
    shopperId: row.shopper_id,
    points: row.points,
    value: row.value,
    cartAmount: row.cart_amount,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    holdings: Number(row.holdings),
    supply,
  }));
}

/** Whether `holdings` are more than the program's `concentrationReview` of `supply`; never in a classic program. */
export function isConcentrated(program: Program, supply: number, holdings: number): boolean {
  if (program.valuation.kind !== 'pool') return false;
  return isHoldingConcentrated({ holdings, supply, concentrationReview: poolValuationOf(program).risk.concentrationReview });
}
