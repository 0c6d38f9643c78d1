import { expiryFor } from '@jifen/rules';
import { allocateSpendable, consumeLots, createLot, lockShopper } from './accounts';
import { lowestTierId } from './behaviours';
import { refreshCapOutTriggerInTx } from './capout';
import { JifenError, invalid } from './errors';
import { idempotent } from './idempotency';
import type { Ledger } from './ledger';
import { getProgram } from './merchants';
import { poolFundInTx, poolOnRefundInTx } from './pool-ledger';

/**
 * Manual adjustments by the merchant (`merchant.shoppers.adjust`), each with a reason and the
 * merchant's idempotency key. A credit is a new available lot under the program's expiry policy
 * (funded by the merchant at the current price in pool mode, like behaviour points); a debit takes
 * spendable points earliest expiry first and never goes below zero (INSUFFICIENT_POINTS) — an
 * adjustment is a deliberate act, so it never creates debt.
 */

export interface AdjustPointsInput {
  merchantId: string;
  shopperId: string;
  /** Signed point units: positive credits, negative debits. */
  points: number;
  reason: string;
  idempotencyKey: string;
}

export interface AdjustPointsResult {
  shopperId: string;
  points: number;
  reason: string;
  /** The credited lot, or null for a debit. */
  lotId: string | null;
  /** The shopper's available points after the adjustment. */
  available: number;
}

export async function adjustPoints(ledger: Ledger, input: AdjustPointsInput): Promise<AdjustPointsResult> {
  return ledger.write(async (tx) => {
    const { version, program } = await getProgram(tx.db, input.merchantId);
    const request = { shopperId: input.shopperId, points: input.points, reason: input.reason };
    return idempotent(tx, { merchantId: input.merchantId, scope: 'adjustments', key: input.idempotencyKey, request }, async () => {
      if (!Number.isSafeInteger(input.points) || input.points === 0) throw invalid('points', 'must be a whole number of point units other than 0');
      if (input.reason.trim() === '') throw invalid('reason', 'must say why the points are adjusted');
      const { merchantId, shopperId } = input;
      const shopper = await lockShopper(tx, merchantId, shopperId, lowestTierId(program));
      // Every balance figure must stay an exact safe integer (SPEC §2): a credit that would carry the
      // shopper's total past 2^53 − 1 is refused, not stored as a number no reader could trust.
      const total = shopper.available + shopper.pending + shopper.held;
      if (input.points > 0 && total > Number.MAX_SAFE_INTEGER - input.points) {
        throw new JifenError('BALANCE_LIMIT', { balance: total, requested: input.points, limit: Number.MAX_SAFE_INTEGER }, 'points');
      }
      const ref = `adjust:${input.idempotencyKey}`;
      let lotId: string | null = null;
      if (input.points > 0) {
        if (program.valuation.kind === 'pool') await poolFundInTx(tx, { merchantId, shopperId, points: input.points, ref, program, programVersion: version });
        lotId = await createLot(tx, {
          merchantId,
          shopperId,
          source: 'adjustment',
          sourceRef: input.idempotencyKey,
          programVersion: version,
          points: input.points,
          status: 'available',
          earnedAt: tx.now,
          availableAt: tx.now,
          expiresAt: expiryFor(program.expiry, tx.now, program.timeZone),
        });
      } else {
        const portions = await allocateSpendable(tx, merchantId, shopperId, -input.points, 'points');
        await consumeLots(tx, merchantId, shopperId, portions);
        // Pool mode: the points leave the supply with nothing paid out, as a refund's clawback does.
        if (program.valuation.kind === 'pool') {
          await poolOnRefundInTx(tx, { merchantId, shopperId, orderId: ref, program, programVersion: version, burnPoints: -input.points });
        }
      }
      if (program.valuation.kind === 'pool') await refreshCapOutTriggerInTx(tx, { merchantId, shopperId, program });
      await tx.journal.append(merchantId, {
        shopperId,
        kind: 'adjust',
        points: input.points,
        ref,
        lotId,
        programVersion: version,
        detail: { reason: input.reason },
      });
      return { shopperId, points: input.points, reason: input.reason, lotId, available: shopper.available + input.points };
    });
  });
}
