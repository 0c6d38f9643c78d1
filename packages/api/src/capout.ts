import type { Database, ShopperRow } from '@jifen/db';
import { type Program, capOutTriggerPrice, convertCapOut, isCapOutDue, poolPrice, poolPriceKey, poolValuationOf } from '@jifen/rules';
import { type ExpressionBuilder, sql } from 'kysely';
import { changeBalances } from './accounts';
import { randomId } from './canonical';
import type { Ledger, WriteContext } from './ledger';
import { getProgram } from './merchants';
import { lockPool, payOutOfPool } from './pool-state';
import { refreshConcentrationFlagInTx } from './risk-approvals';

/**
 * Cap-out (出局, SPEC §3.2): when a shopper's holdings × price reach `capMultiple` × their basis
 * (completed spend since their last cap-out), the points are converted into a store-credit coupon
 * worth `floor(points × price × (1 − retention.capOut))`, burned, and the basis starts again at 0.
 *
 * Finding who is due never scans the holders: each holder's trigger price (`capMultiple × basis /
 * holdings`, the price at which they cap out) is stored as an integer key in
 * `shoppers.capout_trigger`, indexed by `(merchant_id, capout_trigger)`. As the price only rises, a
 * holder is due once `trigger ≤ price`, found with `capout_trigger <= key(price)`; the key rounds up,
 * so the index never misses a due holder, and `isCapOutDue` confirms each one exactly.
 *
 * What is converted: every point of the shopper that is not reserved by an open hold — available
 * points and points still vesting — except points already past their expiry (the sweep burns those
 * with nothing paid out). Held points stay with their holds: capturing them pays out at checkout,
 * releasing them returns them to the shopper, whose basis is then 0 until they buy again.
 */

const CAPOUT_BATCH_DEFAULT = 200;

/**
 * Recomputes and stores the shopper's trigger key from their holdings (available + held + pending)
 * and basis. Call after anything that changes either; the caller has locked the shopper. A stale key
 * is only ever too low (holdings fell, or `capMultiple` rose), which the exact check at cap-out time
 * catches and repairs. So the key is always computed under the merchant's *current* program, whatever
 * version the caller works under (a refund or a completion works under its order's): a `capMultiple`
 * since lowered would otherwise store a key too high, and the index would hide a due holder. A program
 * update that lowers `capMultiple` lowers every stored key (`updateProgram`).
 */
export async function refreshCapOutTriggerInTx(tx: WriteContext, input: { merchantId: string; shopperId: string; program: Program }): Promise<{ trigger: number | null }> {
  if (input.program.valuation.kind !== 'pool') return { trigger: null };
  const { program } = await getProgram(tx.db, input.merchantId);
  const row = await tx.db
    .selectFrom('shoppers')
    .select(['available', 'held', 'pending', 'capout_basis', 'capout_trigger'])
    .where('merchant_id', '=', input.merchantId)
    .where('shopper_id', '=', input.shopperId)
    .executeTakeFirst();
  if (!row) return { trigger: null };
  const trigger = triggerKey(program, row.available + row.held + row.pending, row.capout_basis);
  if (trigger !== row.capout_trigger) {
    await tx.db
      .updateTable('shoppers')
      .set({ capout_trigger: trigger })
      .where('merchant_id', '=', input.merchantId)
      .where('shopper_id', '=', input.shopperId)
      .execute();
  }
  return { trigger };
}

function triggerKey(program: Program, holdings: number, basis: number): number | null {
  const trigger = capOutTriggerPrice({ holdings, basis, capMultiple: poolValuationOf(program).capMultiple });
  return trigger === null ? null : Number(trigger.key);
}

export interface CapOut {
  shopperId: string;
  /** Point units converted and burned. */
  points: number;
  couponCode: string;
  /** The store-credit coupon's value (minor units) = the payout from the pool. */
  couponValue: number;
}

/**
 * Converts the holders due at the current price, at most `limit` of them, lowest trigger first.
 * On Postgres a holder whose row another write has locked is skipped, not waited for: this write
 * holds the pool, and that one (an order or a checkout of theirs) locks the shopper before the pool,
 * so waiting could deadlock. The job or the next order picks them up.
 */
export async function runCapOutsInTx(
  tx: WriteContext,
  input: { merchantId: string; program: Program; programVersion: number; limit?: number },
): Promise<{ capOuts: CapOut[]; examined: number }> {
  const { merchantId, program } = input;
  if (program.valuation.kind !== 'pool') return { capOuts: [], examined: 0 };
  const pool = await lockPool(tx, merchantId);
  if (pool.supply === 0) return { capOuts: [], examined: 0 };
  const currentKey = Number(poolPriceKey(poolPrice(program, pool)));
  let query = tx.db
    .selectFrom('shoppers')
    .selectAll()
    .where('merchant_id', '=', merchantId)
    .where('capout_trigger', 'is not', null)
    .where('capout_trigger', '<=', currentKey)
    // All held: nothing to convert until the hold resolves (and its capture or release refreshes the shopper).
    .where(sql<boolean>`available + pending > 0`)
    .orderBy('capout_trigger')
    .limit(input.limit ?? CAPOUT_BATCH_DEFAULT);
  if (tx.dialect === 'postgres') query = query.forUpdate().skipLocked();
  const due = await query.execute();
  const capOuts: CapOut[] = [];
  for (const shopper of due) {
    const capOut = await capOutShopperInTx(tx, { ...input, shopper });
    if (capOut) capOuts.push(capOut);
  }
  return { capOuts, examined: due.length };
}

/** Converts one locked holder if the exact check says they are due; otherwise repairs their stale key. */
async function capOutShopperInTx(
  tx: WriteContext,
  input: { merchantId: string; program: Program; programVersion: number; shopper: ShopperRow },
): Promise<CapOut | null> {
  const { merchantId, program, shopper } = input;
  const shopperId = shopper.shopper_id;
  const pool = await lockPool(tx, merchantId);
  const holdings = shopper.available + shopper.held + shopper.pending;
  const position = { holdings, basis: shopper.capout_basis, capMultiple: poolValuationOf(program).capMultiple };
  if (!isCapOutDue({ ...position, price: poolPrice(program, pool) })) {
    await refreshCapOutTriggerInTx(tx, { merchantId, shopperId, program });
    return null;
  }

  const open = (eb: ExpressionBuilder<Database, 'lots'>) =>
    eb.and([
      eb('merchant_id', '=', merchantId),
      eb('shopper_id', '=', shopperId),
      eb('remaining', '>', sql.lit(0)),
      eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', tx.now.getTime())]),
    ]);
  const sums = await tx.db
    .selectFrom('lots')
    .select([
      sql<number>`coalesce(sum(case when status = 'available' then remaining - held else 0 end), 0)`.as('available'),
      sql<number>`coalesce(sum(case when status = 'pending' then remaining else 0 end), 0)`.as('pending'),
    ])
    .where(open)
    .where('status', 'in', ['available', 'pending'])
    .executeTakeFirstOrThrow();
  const fromAvailable = Number(sums.available);
  const fromPending = Number(sums.pending);
  const points = fromAvailable + fromPending;
  if (points === 0) return null;

  await tx.db
    .updateTable('lots')
    .set({ remaining: sql<number>`held` })
    .where(open)
    .where('status', '=', 'available')
    .where(sql<boolean>`remaining > held`)
    .execute();
  // A vesting lot converted whole: nothing is left to release.
  await tx.db.updateTable('lots').set({ remaining: 0, status: 'available', release_next_at: null }).where(open).where('status', '=', 'pending').execute();
  await changeBalances(tx, merchantId, shopperId, { available: -fromAvailable, pending: -fromPending });

  const couponCode = `CAP-${randomId(12)}`;
  const conversion = convertCapOut(pool, points, poolValuationOf(program).retention);
  await tx.db
    .insertInto('coupons')
    .values({
      merchant_id: merchantId,
      code: couponCode,
      template_id: null,
      shopper_id: shopperId,
      source: 'capout',
      status: 'issued',
      points_cost: points,
      value: conversion.couponValue,
      idempotency_key: null,
      issued_at: tx.now.getTime(),
      expires_at: null,
      redeemed_at: null,
      order_id: null,
    })
    .execute();
  await tx.db
    .updateTable('shoppers')
    .set({ capout_basis: conversion.basis, capout_trigger: null })
    .where('merchant_id', '=', merchantId)
    .where('shopper_id', '=', shopperId)
    .execute();
  await tx.journal.append(merchantId, {
    shopperId,
    kind: 'capout',
    points: -points,
    ref: couponCode,
    programVersion: input.programVersion,
    detail: { basis: shopper.capout_basis, holdings, fromAvailable, fromPending, couponValue: conversion.couponValue },
  });
  const { payout, pool: after } = await payOutOfPool(tx, { merchantId, shopperId, points, use: 'capOut', ref: couponCode, program, programVersion: input.programVersion });
  if (payout !== conversion.couponValue) throw new Error('jifen invariant: the cap-out coupon is exactly the pool payout');
  await refreshConcentrationFlagInTx(tx, { merchantId, shopperId, program, supply: after.supply });
  return { shopperId, points, couponCode, couponValue: conversion.couponValue };
}

export interface CapOutRun {
  /** Holders converted in this run. */
  converted: number;
  /** True when some merchant's batch was full: run again to drain the rest. */
  hasMore: boolean;
  capOuts: Array<CapOut & { merchantId: string }>;
}

/**
 * The cap-out job (part of `jifen sweep`): one bounded write per pool merchant, each converting at
 * most `limit` due holders found through the trigger index.
 */
export async function runCapOuts(ledger: Ledger, input: { merchantId?: string; limit?: number } = {}): Promise<CapOutRun> {
  const limit = input.limit ?? CAPOUT_BATCH_DEFAULT;
  let merchantQuery = ledger.db.selectFrom('merchants').select('id').orderBy('id');
  if (input.merchantId !== undefined) merchantQuery = merchantQuery.where('id', '=', input.merchantId);
  const merchants = await merchantQuery.execute();
  const run: CapOutRun = { converted: 0, hasMore: false, capOuts: [] };
  for (const { id: merchantId } of merchants) {
    const { version, program } = await getProgram(ledger.db, merchantId);
    if (program.valuation.kind !== 'pool') continue;
    const { capOuts, examined } = await ledger.write((tx) => runCapOutsInTx(tx, { merchantId, program, programVersion: version, limit }));
    run.converted += capOuts.length;
    run.hasMore ||= examined >= limit;
    run.capOuts.push(...capOuts.map((capOut) => ({ ...capOut, merchantId })));
  }
  return run;
}
