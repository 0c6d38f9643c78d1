import type { Database } from '@jifen/db';
import { type PoolUse, type ProgramInput, type Ratio, expiryFor, ratio } from '@jifen/rules';
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import { expect } from 'vitest';
import { allocateSpendable, changeBalances, consumeLots, createLot, lockShopper } from '../src/accounts';
import { randomId } from '../src/canonical';
import { JifenError } from '../src/errors';
import type { Ledger } from '../src/ledger';
import { createMerchant, getProgram } from '../src/merchants';
import { type PoolMintResult, poolBurnExpiredInTx, poolFundInTx, poolOnOrderCompletedInTx, poolOnRefundInTx, poolPayoutInTx } from '../src/pool-ledger';

/**
 * Small named builders for the pool suites. They drive the pool services the way the order, hold,
 * coupon and sweep services do — lots, balances and the shopper's journal entry first, then the
 * pool call inside the same write — so each suite exercises exactly the pool ledger.
 */

export const DAY_MS = 86_400_000;

/** A clock tests move by hand: `new Ledger(db, { clock: clock.read })`. */
export interface PoolClock {
  now: Date;
  read: () => Date;
  advance: (ms: number) => void;
}

export function aPoolClock(start = '2025-03-03T02:00:00Z'): PoolClock {
  const clock: PoolClock = {
    now: new Date(start),
    read: () => clock.now,
    advance: (ms) => {
      clock.now = new Date(clock.now.getTime() + ms);
    },
  };
  return clock;
}

type PoolValuationInput = Extract<NonNullable<ProgramInput['valuation']>, { kind: 'pool' }>;

/**
 * The SPEC §3.2 worked example's program: initial price ¥1 per whole point, pool share 16%, mint
 * ratio 0.7, whole points; earning caps and the monthly budget off, every multiplier 1, nobody
 * flagged and no throttle, unless a test says otherwise.
 */
export function aPoolProgram(valuation: Partial<Omit<PoolValuationInput, 'kind'>> = {}, program: Omit<ProgramInput, 'valuation'> = {}): ProgramInput {
  return {
    pointDecimals: 0,
    ...program,
    earning: {
      perOrderCapRate: null,
      monthlyBudgetRate: null,
      segments: { new: 1, regular: 1, vip: 1 },
      ...program.earning,
    },
    expiry: program.expiry ?? { kind: 'none' },
    valuation: {
      kind: 'pool',
      initialPrice: 100,
      poolShare: { default: 0.16 },
      mintRatio: 0.7,
      retention: { checkout: 0, coupon: 0, capOut: 0.2 },
      capMultiple: 2,
      ...valuation,
      risk: { maxSupplyGrowth: 100, growthWindowDays: 30, concentrationReview: 1, ...valuation.risk },
    },
  };
}

export async function aPoolMerchant(ledger: Ledger, program: ProgramInput = aPoolProgram()): Promise<string> {
  const { merchantId } = await createMerchant(ledger, { name: 'Pool shop', program });
  return merchantId;
}

export interface CompletedOrder {
  shopperId: string;
  amount: number;
  orderId?: string;
  items?: Array<{ category?: string; amount: number }>;
  multiplier?: Ratio;
  eligibleAmount?: number;
  /** When the order was paid (its day's cap and month's budget apply); the completion's instant by default. */
  paidAt?: Date;
}

/** An order completed in pool mode, as orders.ts calls the pool ledger on `completed`. */
export async function completeOrder(ledger: Ledger, merchantId: string, order: CompletedOrder): Promise<PoolMintResult> {
  return ledger.write(async (tx) => {
    const { program, version } = await getProgram(tx.db, merchantId);
    return poolOnOrderCompletedInTx(tx, {
      merchantId,
      shopperId: order.shopperId,
      orderId: order.orderId ?? `o_${randomId(6)}`,
      amount: order.amount,
      items: order.items ?? null,
      program,
      programVersion: version,
      multiplier: order.multiplier ?? ratio(1),
      eligibleAmount: order.eligibleAmount ?? order.amount,
      paidAt: order.paidAt ?? tx.now,
    });
  });
}

/**
 * Spends a shopper's points the way a checkout capture or a coupon exchange does: takes them from
 * the lots (earliest expiry first), journals the shopper's −points, and pays out of the pool.
 */
export async function spendPoints(ledger: Ledger, merchantId: string, shopperId: string, points: number, use: Exclude<PoolUse, 'capOut'> = 'checkout'): Promise<{ payout: number }> {
  return ledger.write(async (tx) => {
    const { program, version } = await getProgram(tx.db, merchantId);
    await lockShopper(tx, merchantId, shopperId);
    const portions = await allocateSpendable(tx, merchantId, shopperId, points);
    await consumeLots(tx, merchantId, shopperId, portions);
    const ref = `spend_${randomId(6)}`;
    const result = await poolPayoutInTx(tx, { merchantId, shopperId, points, use, ref, program, programVersion: version });
    await tx.journal.append(merchantId, { shopperId, kind: use === 'checkout' ? 'hold.capture' : 'coupon.exchange', points: -points, ref, programVersion: version });
    return result;
  });
}

/**
 * Expires every unheld lot of the merchant (or of one shopper) that still holds points, as the sweep
 * does, and burns them from the pool.
 */
export async function expireEverything(ledger: Ledger, merchantId: string, shopperId?: string): Promise<number> {
  return ledger.write(async (tx) => {
    const { version } = await getProgram(tx.db, merchantId);
    let query = tx.db
      .selectFrom('lots')
      .select(['id', 'shopper_id', 'remaining', 'held', 'status'])
      .where('merchant_id', '=', merchantId)
      .where('remaining', '>', 0)
      .where('held', '=', 0)
      .orderBy('id');
    if (shopperId !== undefined) query = query.where('shopper_id', '=', shopperId);
    const lots = await query.execute();
    let total = 0;
    for (const lot of lots) {
      await lockShopper(tx, merchantId, lot.shopper_id);
      await tx.db.updateTable('lots').set({ remaining: 0, status: 'expired', release_next_at: null }).where('id', '=', lot.id).execute();
      await changeBalances(tx, merchantId, lot.shopper_id, lot.status === 'pending' ? { pending: -lot.remaining } : { available: -lot.remaining });
      await tx.journal.append(merchantId, { shopperId: lot.shopper_id, kind: 'expire', points: -lot.remaining, ref: lot.id, lotId: lot.id, programVersion: version });
      total += lot.remaining;
    }
    await poolBurnExpiredInTx(tx, { merchantId, points: total, ref: 'expire-all', programVersion: version });
    return total;
  });
}

/**
 * A refund after completion: takes `points` from the shopper's spendable lots (what they cannot
 * cover becomes debt), journals the clawback, and burns the taken points from the pool.
 */
export async function refundPoints(ledger: Ledger, merchantId: string, shopperId: string, orderId: string, points: number, refundAmount?: number): Promise<{ burned: number; debt: number }> {
  return ledger.write(async (tx) => {
    const { program, version } = await getProgram(tx.db, merchantId);
    const shopper = await lockShopper(tx, merchantId, shopperId);
    const taken = Math.min(points, shopper.available);
    if (taken > 0) await consumeLots(tx, merchantId, shopperId, await allocateSpendable(tx, merchantId, shopperId, taken));
    const debt = points - taken;
    if (debt > 0) await changeBalances(tx, merchantId, shopperId, { debt });
    const { burned } = await poolOnRefundInTx(tx, { merchantId, shopperId, orderId, program, programVersion: version, burnPoints: taken, refundAmount });
    await tx.journal.append(merchantId, { shopperId, kind: 'refund.clawback', points: -taken, ref: `r_${orderId}`, programVersion: version, detail: { debt } });
    return { burned, debt };
  });
}

/** Behaviour points in pool mode: a lot the merchant funds at the current price. */
export async function fundPoints(ledger: Ledger, merchantId: string, shopperId: string, points: number): Promise<{ funded: number }> {
  return ledger.write(async (tx) => {
    const { program, version } = await getProgram(tx.db, merchantId);
    await lockShopper(tx, merchantId, shopperId);
    const ref = `review_${randomId(6)}`;
    const lotId = await createLot(tx, {
      merchantId,
      shopperId,
      source: 'review',
      sourceRef: ref,
      programVersion: version,
      points,
      status: 'available',
      earnedAt: tx.now,
      availableAt: tx.now,
      expiresAt: expiryFor(program.expiry, tx.now, program.timeZone),
    });
    const result = await poolFundInTx(tx, { merchantId, shopperId, points, ref, program, programVersion: version });
    await tx.journal.append(merchantId, { shopperId, kind: 'behaviour', points, ref, lotId, programVersion: version });
    return result;
  });
}

/** Places an open hold on some of the shopper's available points (as holds.ts reserve does). */
export async function placeHold(ledger: Ledger, merchantId: string, shopperId: string, points: number): Promise<string> {
  return ledger.write(async (tx) => {
    const { version } = await getProgram(tx.db, merchantId);
    await lockShopper(tx, merchantId, shopperId);
    const portions = await allocateSpendable(tx, merchantId, shopperId, points);
    const holdId = `h_${randomId(6)}`;
    await tx.db
      .insertInto('holds')
      .values({
        merchant_id: merchantId,
        hold_id: holdId,
        shopper_id: shopperId,
        checkout_id: holdId,
        points,
        value: 0,
        cart_amount: 0,
        status: 'held',
        created_at: tx.now.getTime(),
        expires_at: tx.now.getTime() + 900_000,
        resolved_at: null,
        order_id: null,
        payload_hash: '',
      })
      .execute();
    for (const portion of portions) {
      await tx.db.insertInto('hold_lots').values({ merchant_id: merchantId, hold_id: holdId, lot_id: portion.lotId, points: portion.points }).execute();
      await tx.db.updateTable('lots').set({ held: sql<number>`held + ${portion.points}` }).where('id', '=', portion.lotId).execute();
    }
    await changeBalances(tx, merchantId, shopperId, { available: -points, held: points });
    await tx.journal.append(merchantId, { shopperId, kind: 'hold.place', points: 0, ref: holdId, programVersion: version });
    return holdId;
  });
}

export interface PoolFigures {
  amount: number;
  supply: number;
}

export async function poolOf(db: Kysely<Database>, merchantId: string): Promise<PoolFigures> {
  const row = await db.selectFrom('pool_state').select(['amount', 'supply']).where('merchant_id', '=', merchantId).executeTakeFirstOrThrow();
  return { amount: row.amount, supply: row.supply };
}

export async function shopperOf(db: Kysely<Database>, merchantId: string, shopperId: string) {
  return db.selectFrom('shoppers').selectAll().where('merchant_id', '=', merchantId).where('shopper_id', '=', shopperId).executeTakeFirstOrThrow();
}

export async function journalHead(db: Kysely<Database>, merchantId: string): Promise<{ seq: number; hash: string }> {
  return db.selectFrom('journal_heads').select(['seq', 'hash']).where('merchant_id', '=', merchantId).executeTakeFirstOrThrow();
}

export async function journalOfKind(db: Kysely<Database>, merchantId: string, kind: string) {
  return db.selectFrom('journal').selectAll().where('merchant_id', '=', merchantId).where('kind', '=', kind).orderBy('seq').execute();
}

/** Asserts that `work` is refused with `reason` (a JifenError), and returns the error for its facts. */
export async function expectRefusal(work: Promise<unknown>, reason: string): Promise<JifenError> {
  const error = await work.then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(JifenError);
  expect((error as JifenError).reason).toBe(reason);
  return error as JifenError;
}

export interface StoredOrder {
  orderId: string;
  shopperId: string;
  amount: number;
  paidAt: Date;
  completedAt?: Date | null;
  cancelledAt?: Date | null;
  items?: Array<{ sku?: string; category?: string; amount: number }>;
  pointsPaid?: number;
  pointsPaidValue?: number;
  refundedAmount?: number;
}

/** An order row as orders.ts stores it, for the read-only replays (simulate). */
export async function storeOrder(db: Kysely<Database>, merchantId: string, order: StoredOrder): Promise<void> {
  const status = order.cancelledAt ? 'cancelled' : order.completedAt ? 'completed' : 'paid';
  await db
    .insertInto('orders')
    .values({
      merchant_id: merchantId,
      order_id: order.orderId,
      shopper_id: order.shopperId,
      status,
      amount: order.amount,
      currency: 'CNY',
      items: JSON.stringify(order.items ?? []),
      shipping: 0,
      tax: 0,
      coupon_codes: '[]',
      hold_id: null,
      paid_at: order.paidAt.getTime(),
      completed_at: order.completedAt?.getTime() ?? null,
      cancelled_at: order.cancelledAt?.getTime() ?? null,
      eligible_amount: order.amount,
      earned_points: 0,
      earned_status: 'none',
      points_paid: order.pointsPaid ?? 0,
      points_paid_value: order.pointsPaidValue ?? 0,
      refunded_amount: order.refundedAmount ?? 0,
      clawed_back: 0,
      restored_points: 0,
      pool_contribution: 0,
      minted: 0,
      program_version: 1,
      payload_hash: '',
    })
    .execute();
}

export async function storeRefund(db: Kysely<Database>, merchantId: string, refund: { refundId: string; orderId: string; amount: number; at: Date }): Promise<void> {
  await db
    .insertInto('refunds')
    .values({
      merchant_id: merchantId,
      refund_id: refund.refundId,
      order_id: refund.orderId,
      amount: refund.amount,
      points_clawed: 0,
      points_restored: 0,
      debt_added: 0,
      created_at: refund.at.getTime(),
      payload_hash: '',
    })
    .execute();
}

/** Rows in every ledger table, to prove a read wrote nothing. */
export async function rowCounts(db: Kysely<Database>): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of ['journal', 'lots', 'orders', 'refunds', 'shoppers', 'idempotency', 'outbox', 'pool_history', 'coupons'] as const) {
    const row = await db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('count')).executeTakeFirstOrThrow();
    counts[table] = Number(row.count);
  }
  return counts;
}
