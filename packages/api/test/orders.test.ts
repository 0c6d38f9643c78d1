import { createDb } from '@jifen/db';
import { describeEachDialect, describePostgres, useTestDb } from '@jifen/db/testing';
import { beforeEach, describe, expect, it } from 'vitest';
import { adjustPoints } from '../src/adjustments';
import { exchangeCoupon, upsertTemplate } from '../src/coupons';
import { reserveHold } from '../src/holds';
import { orderCancelled, orderCompleted, orderPaid, orderRefunded } from '../src/orders';
import { listOutbox } from '../src/outbox';
import { releaseDuePending } from '../src/pending';
import { setVip } from '../src/shoppers';
import { Ledger } from '../src/ledger';
import { assertLedgerInvariants } from '../src/verify';
import {
  DAY_MS,
  aClock,
  aPaidOrder,
  aPoolShopProgram,
  aShop,
  balanceOf,
  entriesOf,
  expectRefusal,
  footprint,
  lotsOf,
  orderOf,
  theWorkedExampleProgram,
} from './support-orders';
import { useShop } from './support-shop';

describeEachDialect('orders: earning, pending points, refunds and cancellations', (dialect) => {
  // Each describe makes the merchant it needs.
  const shop = useShop(dialect, { clock: () => aClock() });

  describe('the SPEC worked example (base 5%, 100 points per ¥1, ¥1,000, cap 10%)', () => {
    beforeEach(async () => {
      shop.merchantId = await aShop(shop.ledger, theWorkedExampleProgram());
    });

    it('a new shopper earns 8,000 pending points', async () => {
      const paid = await orderPaid(shop.ledger, aPaidOrder(shop.merchantId, { orderId: 'new-1', shopperId: 'newcomer' }));
      expect(paid).toEqual({
        orderId: 'new-1',
        earned: { points: 8_000, status: 'pending', debtSettled: 0, availableAt: Date.parse('2025-03-10T16:00:00Z') },
        captured: null,
        coupons: null,
        events: [],
      });
      expect(await balanceOf(shop.ledger.db, shop.merchantId, 'newcomer')).toEqual({ available: 0, pending: 8_000, held: 0, debt: 0 });
      const [earn] = await entriesOf(shop.ledger.db, shop.merchantId, { kind: 'earn' });
      expect(earn).toMatchObject({ shopperId: 'newcomer', points: 8_000, ref: 'new-1', detail: { segment: 'new', tier: 'member', multiplier: '0.08', eligible: 100_000 } });
    });

    it('a regular shopper earns 5,000 points', async () => {
      await orderPaid(shop.ledger, aPaidOrder(shop.merchantId, { shopperId: 'regular', amount: 1_000 }));
      const paid = await orderPaid(shop.ledger, aPaidOrder(shop.merchantId, { shopperId: 'regular' }));
      expect(paid.earned).toMatchObject({ points: 5_000, status: 'pending' });
    });

    it('a VIP earns 3,000 points, even on their first order', async () => {
      await setVip(shop.ledger, { merchantId: shop.merchantId, shopperId: 'vip', isVip: true });
      const paid = await orderPaid(shop.ledger, aPaidOrder(shop.merchantId, { shopperId: 'vip' }));
      expect(paid.earned).toMatchObject({ points: 3_000, status: 'pending' });
    });
  });

  describe('pending points', () => {
    beforeEach(async () => {
      shop.merchantId = await aShop(shop.ledger, theWorkedExampleProgram());
    });

    it('pending points become available when the merchant sends completed', async () => {
      await orderPaid(shop.ledger, aPaidOrder(shop.merchantId, { orderId: 'o-done' }));
      const completed = await orderCompleted(shop.ledger, { merchantId: shop.merchantId, orderId: 'o-done' });
      expect(completed).toEqual({ orderId: 'o-done', status: 'completed', available: 8_000, pool: null, referral: null });
      expect(await balanceOf(shop.ledger.db, shop.merchantId, 'alice')).toEqual({ available: 8_000, pending: 0, held: 0, debt: 0 });
      expect(await orderOf(shop.ledger.db, shop.merchantId, 'o-done')).toMatchObject({ status: 'completed', earned_status: 'available' });
      const [moved] = await entriesOf(shop.ledger.db, shop.merchantId, { kind: 'earn.available' });
      expect(moved).toMatchObject({ points: 0, ref: 'o-done', detail: { points: 8_000, cause: 'completed' } });
    });

    it('the job releases pending points at the end of the pending window, in batches, once', async () => {
      for (const shopperId of ['s1', 's2', 's3']) await orderPaid(shop.ledger, aPaidOrder(shop.merchantId, { shopperId }));
      shop.clock.set('2025-03-10T15:59:59Z');
      expect(await releaseDuePending(shop.ledger, { merchantId: shop.merchantId })).toMatchObject({ releasedLots: 0, releasedPoints: 0 });

      shop.clock.set('2025-03-10T16:00:00Z');
      const report = await releaseDuePending(shop.ledger, { merchantId: shop.merchantId, limit: 2 });
      expect(report).toEqual({ releasedLots: 3, releasedPoints: 24_000, orders: 3, batches: 2 });
      for (const shopperId of ['s1', 's2', 's3']) expect(await balanceOf(shop.ledger.db, shop.merchantId, shopperId)).toMatchObject({ available: 8_000, pending: 0 });
      expect((await entriesOf(shop.ledger.db, shop.merchantId, { kind: 'earn.available' })).map((entry) => entry.points)).toEqual([0, 0, 0]);
      expect(await releaseDuePending(shop.ledger, { merchantId: shop.merchantId })).toMatchObject({ releasedLots: 0 });
    });

    it('a completed order whose points the job already released changes no balance', async () => {
      await orderPaid(shop.ledger, aPaidOrder(shop.merchantId, { orderId: 'late' }));
      shop.clock.advance(10 * DAY_MS);
      await releaseDuePending(shop.ledger, { merchantId: shop.merchantId });
      const completed = await orderCompleted(shop.ledger, { merchantId: shop.merchantId, orderId: 'late' });
      expect(completed).toMatchObject({ status: 'completed', available: 0 });
      expect(await balanceOf(shop.ledger.db, shop.merchantId, 'alice')).toMatchObject({ available: 8_000, pending: 0 });
    });
  });

  describe('refunds', () => {
    beforeEach(async () => {
      shop.merchantId = await aShop(shop.ledger, theWorkedExampleProgram());
    });

    it('a refund of all but 1 fen leaves the shopper none of the points: what they keep is granted rounded down', async () => {
      await orderPaid(shop.ledger, aPaidOrder(shop.merchantId, { orderId: 'almost' }));
      const refund = await orderRefunded(shop.ledger, { merchantId: shop.merchantId, orderId: 'almost', refundId: 'r', amount: 99_999 });
      // 8,000 points × 1 fen / ¥1,000 = 0.08 of a point kept: 0.
      expect(refund).toMatchObject({ clawedBack: 8_000 });
      expect(await balanceOf(shop.ledger.db, shop.merchantId, 'alice')).toEqual({ available: 0, pending: 0, held: 0, debt: 0 });
    });

    it('partial refunds claw back in proportion and sum exactly to the whole earning', async () => {
      await orderPaid(shop.ledger, aPaidOrder(shop.merchantId, { orderId: 'split' }));
      await orderCompleted(shop.ledger, { merchantId: shop.merchantId, orderId: 'split' });
      const first = await orderRefunded(shop.ledger, { merchantId: shop.merchantId, orderId: 'split', refundId: 'r1', amount: 33_333 });
      const second = await orderRefunded(shop.ledger, { merchantId: shop.merchantId, orderId: 'split', refundId: 'r2', amount: 33_333 });
      const third = await orderRefunded(shop.ledger, { merchantId: shop.merchantId, orderId: 'split', refundId: 'r3', amount: 33_334 });
      // Taken back rounds up (SPEC §2): ceil(8,000 × 33,333 / 100,000) = 2,667, ceil(5,333.28) = 5,334 in all, then the rest.
      expect([first, second, third].map((refund) => ('clawedBack' in refund ? refund.clawedBack : null))).toEqual([2_667, 2_667, 2_666]);
      expect(third).toMatchObject({ refundedTotal: 100_000, debt: 0 });
      expect(await balanceOf(shop.ledger.db, shop.merchantId, 'alice')).toEqual({ available: 0, pending: 0, held: 0, debt: 0 });
      const earn = (await entriesOf(shop.ledger.db, shop.merchantId, { kind: 'earn' }))[0]!;
      const clawbacks = await entriesOf(shop.ledger.db, shop.merchantId, { kind: 'refund.clawback' });
      expect(clawbacks.map((entry) => [entry.ref, entry.points, entry.compensates])).toEqual([
        ['r1', -2_667, earn.seq],
        ['r2', -2_667, earn.seq],
        ['r3', -2_666, earn.seq],
      ]);
      await expectRefusal(orderRefunded(shop.ledger, { merchantId: shop.merchantId, orderId: 'split', refundId: 'r4', amount: 1 }), 'REFUND_EXCEEDS_ORDER', 'amount');
    });

    it('a refund before completion reduces the pending points', async () => {
      await orderPaid(shop.ledger, aPaidOrder(shop.merchantId, { orderId: 'early' }));
      await orderRefunded(shop.ledger, { merchantId: shop.merchantId, orderId: 'early', refundId: 'half', amount: 50_000 });
      expect(await balanceOf(shop.ledger.db, shop.merchantId, 'alice')).toMatchObject({ available: 0, pending: 4_000 });
      expect(await orderCompleted(shop.ledger, { merchantId: shop.merchantId, orderId: 'early' })).toMatchObject({ available: 4_000 });
      expect(await balanceOf(shop.ledger.db, shop.merchantId, 'alice')).toMatchObject({ available: 4_000, pending: 0 });
    });

    it('a full refund before completion cancels the pending points cleanly', async () => {
      await orderPaid(shop.ledger, aPaidOrder(shop.merchantId, { orderId: 'gone' }));
      await orderRefunded(shop.ledger, { merchantId: shop.merchantId, orderId: 'gone', refundId: 'all', amount: 100_000 });
      expect(await orderOf(shop.ledger.db, shop.merchantId, 'gone')).toMatchObject({ earned_status: 'cancelled', refunded_amount: 100_000, clawed_back: 8_000 });
      expect((await lotsOf(shop.ledger.db, shop.merchantId, 'alice'))[0]).toMatchObject({ status: 'cancelled', remaining: 0 });
      expect(await balanceOf(shop.ledger.db, shop.merchantId, 'alice')).toEqual({ available: 0, pending: 0, held: 0, debt: 0 });
    });

    it('a refund after the points were spent records a debt, netted against the next earnings', async () => {
      await orderPaid(shop.ledger, aPaidOrder(shop.merchantId, { orderId: 'spent' }));
      await orderCompleted(shop.ledger, { merchantId: shop.merchantId, orderId: 'spent' });
      await adjustPoints(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', points: -7_000, reason: 'spent in store', idempotencyKey: 'spend-1' });

      const refund = await orderRefunded(shop.ledger, { merchantId: shop.merchantId, orderId: 'spent', refundId: 'back', amount: 100_000 });
      expect(refund).toMatchObject({ clawedBack: 8_000, debt: 7_000 });
      expect(await balanceOf(shop.ledger.db, shop.merchantId, 'alice')).toEqual({ available: 0, pending: 0, held: 0, debt: 7_000 });
      const [clawback] = await entriesOf(shop.ledger.db, shop.merchantId, { kind: 'refund.clawback' });
      expect(clawback).toMatchObject({ points: -1_000, detail: { clawed: 8_000, debt: 7_000 } });

      // The first ¥1,000 lifted alice to silver at once (×1.2); a refund does not downgrade before the window ends.
      const next = await orderPaid(shop.ledger, aPaidOrder(shop.merchantId, { orderId: 'next' }));
      expect(next.earned).toEqual({ points: 6_000, status: 'none', debtSettled: 6_000, availableAt: null });
      expect(await balanceOf(shop.ledger.db, shop.merchantId, 'alice')).toEqual({ available: 0, pending: 0, held: 0, debt: 1_000 });

      const after = await orderPaid(shop.ledger, aPaidOrder(shop.merchantId, { orderId: 'after' }));
      expect(after.earned).toMatchObject({ points: 6_000, status: 'pending', debtSettled: 1_000 });
      expect(await balanceOf(shop.ledger.db, shop.merchantId, 'alice')).toEqual({ available: 0, pending: 5_000, held: 0, debt: 0 });
      expect((await entriesOf(shop.ledger.db, shop.merchantId, { kind: 'debt.settle' })).map((entry) => entry.points)).toEqual([-6_000, -1_000]);
    });

    it('a refund takes from the order first, then from the other lots earliest expiry first', async () => {
      await orderPaid(shop.ledger, aPaidOrder(shop.merchantId, { orderId: 'mixed' }));
      await orderCompleted(shop.ledger, { merchantId: shop.merchantId, orderId: 'mixed' });
      shop.clock.advance(DAY_MS);
      await adjustPoints(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', points: 3_000, reason: 'sooner', idempotencyKey: 'a' });
      shop.clock.advance(DAY_MS);
      await adjustPoints(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', points: 3_000, reason: 'later', idempotencyKey: 'b' });
      // Spending takes the order's lot first (it expires first), leaving 500 in it.
      await adjustPoints(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', points: -7_500, reason: 'used', idempotencyKey: 'used' });

      const refund = await orderRefunded(shop.ledger, { merchantId: shop.merchantId, orderId: 'mixed', refundId: 'r', amount: 50_000 });
      expect(refund).toMatchObject({ clawedBack: 4_000, debt: 0 });
      const remaining = Object.fromEntries((await lotsOf(shop.ledger.db, shop.merchantId, 'alice')).map((lot) => [lot.sourceRef, lot.remaining]));
      expect(remaining).toEqual({ mixed: 0, a: 0, b: 2_500 });
      const [clawback] = await entriesOf(shop.ledger.db, shop.merchantId, { kind: 'refund.clawback' });
      expect(clawback).toMatchObject({ points: -4_000, detail: { fromOrderLots: [{ points: 500 }], debt: 0 } });
    });
  });

  describe('cancellations', () => {
    beforeEach(async () => {
      shop.merchantId = await aShop(shop.ledger, theWorkedExampleProgram());
    });

    it('cancelling before completion cancels the pending points with a compensating entry', async () => {
      await orderPaid(shop.ledger, aPaidOrder(shop.merchantId, { orderId: 'c1' }));
      const cancelled = await orderCancelled(shop.ledger, { merchantId: shop.merchantId, orderId: 'c1' });
      expect(cancelled).toEqual({ orderId: 'c1', status: 'cancelled', cancelledPoints: 8_000, debt: 0, restored: 0 });
      expect(await balanceOf(shop.ledger.db, shop.merchantId, 'alice')).toEqual({ available: 0, pending: 0, held: 0, debt: 0 });
      const [earn] = await entriesOf(shop.ledger.db, shop.merchantId, { kind: 'earn' });
      const [cancel] = await entriesOf(shop.ledger.db, shop.merchantId, { kind: 'earn.cancel' });
      expect(cancel).toMatchObject({ points: -8_000, ref: 'c1', compensates: earn!.seq });
      expect(await orderOf(shop.ledger.db, shop.merchantId, 'c1')).toMatchObject({ status: 'cancelled', earned_status: 'cancelled' });

      const before = await footprint(shop.ledger.db, shop.merchantId);
      expect(await orderCancelled(shop.ledger, { merchantId: shop.merchantId, orderId: 'c1' })).toEqual(cancelled);
      expect(await footprint(shop.ledger.db, shop.merchantId)).toEqual(before);
      await expectRefusal(orderRefunded(shop.ledger, { merchantId: shop.merchantId, orderId: 'c1', refundId: 'r', amount: 1 }), 'ORDER_CANCELLED', 'orderId');
      await expectRefusal(orderCompleted(shop.ledger, { merchantId: shop.merchantId, orderId: 'c1' }), 'ORDER_CANCELLED', 'orderId');
    });

    it('a completed order cannot be cancelled: it is refunded', async () => {
      await orderPaid(shop.ledger, aPaidOrder(shop.merchantId, { orderId: 'c2' }));
      await orderCompleted(shop.ledger, { merchantId: shop.merchantId, orderId: 'c2' });
      const before = await footprint(shop.ledger.db, shop.merchantId);
      await expectRefusal(orderCancelled(shop.ledger, { merchantId: shop.merchantId, orderId: 'c2' }), 'ORDER_ALREADY_COMPLETED', 'orderId');
      expect(await footprint(shop.ledger.db, shop.merchantId)).toEqual(before);
    });
  });

  describe('events out of order (issue 3)', () => {
    beforeEach(async () => {
      shop.merchantId = await aShop(shop.ledger, theWorkedExampleProgram());
    });

    it('completed before paid waits, and paid applies it', async () => {
      expect(await orderCompleted(shop.ledger, { merchantId: shop.merchantId, orderId: 'ooo' })).toEqual({ orderId: 'ooo', status: 'waiting' });
      expect(await orderCompleted(shop.ledger, { merchantId: shop.merchantId, orderId: 'ooo' })).toEqual({ orderId: 'ooo', status: 'waiting' });
      expect(await balanceOf(shop.ledger.db, shop.merchantId, 'alice')).toEqual({ available: 0, pending: 0, held: 0, debt: 0 });

      const paid = await orderPaid(shop.ledger, aPaidOrder(shop.merchantId, { orderId: 'ooo' }));
      expect(paid.earned).toEqual({ points: 8_000, status: 'available', debtSettled: 0, availableAt: null });
      expect(paid.events).toEqual([{ kind: 'completed', ref: 'ooo', outcome: 'applied' }]);
      expect(await balanceOf(shop.ledger.db, shop.merchantId, 'alice')).toMatchObject({ available: 8_000, pending: 0 });

      const before = await footprint(shop.ledger.db, shop.merchantId);
      expect(await orderCompleted(shop.ledger, { merchantId: shop.merchantId, orderId: 'ooo' })).toEqual({ orderId: 'ooo', status: 'completed', available: 8_000, pool: null, referral: null });
      expect(await footprint(shop.ledger.db, shop.merchantId)).toEqual(before);
    });

    it('a refund before completed before paid: all applied in arrival order, each once', async () => {
      await orderRefunded(shop.ledger, { merchantId: shop.merchantId, orderId: 'mix', refundId: 'r-mix', amount: 50_000 });
      await orderRefunded(shop.ledger, { merchantId: shop.merchantId, orderId: 'mix', refundId: 'r-mix', amount: 50_000 });
      await orderCompleted(shop.ledger, { merchantId: shop.merchantId, orderId: 'mix' });
      const paid = await orderPaid(shop.ledger, aPaidOrder(shop.merchantId, { orderId: 'mix' }));
      expect(paid.events).toEqual([
        { kind: 'refunded', ref: 'r-mix', outcome: 'applied' },
        { kind: 'completed', ref: 'mix', outcome: 'applied' },
      ]);
      expect(await balanceOf(shop.ledger.db, shop.merchantId, 'alice')).toMatchObject({ available: 4_000, pending: 0 });
      expect(await orderRefunded(shop.ledger, { merchantId: shop.merchantId, orderId: 'mix', refundId: 'r-mix', amount: 50_000 })).toMatchObject({ status: 'refunded', clawedBack: 4_000 });
      expect(await entriesOf(shop.ledger.db, shop.merchantId, { kind: 'refund.clawback' })).toHaveLength(1);
    });

    it('paid and completed racing each other end completed, each exactly once', async () => {
      const orderIds = Array.from({ length: 8 }, (_, index) => `race-${index}`);
      const outcomes = await Promise.all(
        orderIds.flatMap((orderId, index) => [
          orderPaid(shop.ledger, aPaidOrder(shop.merchantId, { orderId, shopperId: `racer-${index}` })),
          orderCompleted(shop.ledger, { merchantId: shop.merchantId, orderId }),
        ]),
      );
      expect(outcomes).toHaveLength(16);
      for (const [index, orderId] of orderIds.entries()) {
        expect(await orderOf(shop.ledger.db, shop.merchantId, orderId)).toMatchObject({ status: 'completed', earned_status: 'available' });
        expect(await balanceOf(shop.ledger.db, shop.merchantId, `racer-${index}`)).toEqual({ available: 8_000, pending: 0, held: 0, debt: 0 });
      }
      expect(await entriesOf(shop.ledger.db, shop.merchantId, { kind: 'earn.available' })).toHaveLength(8);
    });

    it('twelve concurrent replays of one order have one effect', async () => {
      const order = aPaidOrder(shop.merchantId, { orderId: 'twelve' });
      const results = await Promise.all(Array.from({ length: 12 }, () => orderPaid(shop.ledger, order)));
      for (const result of results) expect(result).toEqual(results[0]);
      expect(await entriesOf(shop.ledger.db, shop.merchantId, { kind: 'earn' })).toHaveLength(1);
      expect(await balanceOf(shop.ledger.db, shop.merchantId, 'alice')).toMatchObject({ pending: 8_000 });
    });

    it('a waiting event replayed with another payload is a conflict naming the field', async () => {
      await orderRefunded(shop.ledger, { merchantId: shop.merchantId, orderId: 'w', refundId: 'r-w', amount: 10_000 });
      const before = await footprint(shop.ledger.db, shop.merchantId);
      await expectRefusal(orderRefunded(shop.ledger, { merchantId: shop.merchantId, orderId: 'w', refundId: 'r-w', amount: 20_000 }), 'IDEMPOTENCY_CONFLICT', 'amount');
      expect(await footprint(shop.ledger.db, shop.merchantId)).toEqual(before);
    });

    it('a refund id is one id whether its order was paid yet or not: used on a paid order, it conflicts for an unpaid one', async () => {
      await orderPaid(shop.ledger, aPaidOrder(shop.merchantId, { orderId: 'paid-b', shopperId: 'bob' }));
      await orderRefunded(shop.ledger, { merchantId: shop.merchantId, orderId: 'paid-b', refundId: 'R1', amount: 50_000 });
      const before = await footprint(shop.ledger.db, shop.merchantId);
      await expectRefusal(orderRefunded(shop.ledger, { merchantId: shop.merchantId, orderId: 'unpaid-a', refundId: 'R1', amount: 50_000 }), 'IDEMPOTENCY_CONFLICT', 'orderId');
      expect(await footprint(shop.ledger.db, shop.merchantId)).toEqual(before);
      // Its replay on the paid order is still the first answer.
      expect(await orderRefunded(shop.ledger, { merchantId: shop.merchantId, orderId: 'paid-b', refundId: 'R1', amount: 50_000 })).toMatchObject({ refundId: 'R1', status: 'refunded' });
    });

    it('a refund id waiting for an unpaid order conflicts when it is sent for a paid one, which keeps its points', async () => {
      await orderPaid(shop.ledger, aPaidOrder(shop.merchantId, { orderId: 'paid-b', shopperId: 'bob' }));
      expect(await orderRefunded(shop.ledger, { merchantId: shop.merchantId, orderId: 'unpaid-a', refundId: 'R1', amount: 50_000 })).toMatchObject({ status: 'waiting' });
      const before = await footprint(shop.ledger.db, shop.merchantId);
      await expectRefusal(orderRefunded(shop.ledger, { merchantId: shop.merchantId, orderId: 'paid-b', refundId: 'R1', amount: 50_000 }), 'IDEMPOTENCY_CONFLICT', 'orderId');
      expect(await footprint(shop.ledger.db, shop.merchantId)).toEqual(before);
      expect(await balanceOf(shop.ledger.db, shop.merchantId, 'bob')).toMatchObject({ pending: 8_000 });
      // The order it waits for takes it when paid.
      const paid = await orderPaid(shop.ledger, aPaidOrder(shop.merchantId, { orderId: 'unpaid-a', shopperId: 'alice' }));
      expect(paid.events).toEqual([{ kind: 'refunded', ref: 'R1', outcome: 'applied' }]);
    });

    it('a waiting event the order refuses is reported, and its replay gets the refusal', async () => {
      await orderCancelled(shop.ledger, { merchantId: shop.merchantId, orderId: 'x' });
      await orderCompleted(shop.ledger, { merchantId: shop.merchantId, orderId: 'x' });
      await orderRefunded(shop.ledger, { merchantId: shop.merchantId, orderId: 'x', refundId: 'too-much', amount: 200_000 });
      const paid = await orderPaid(shop.ledger, aPaidOrder(shop.merchantId, { orderId: 'x' }));
      expect(paid.events).toEqual([
        { kind: 'cancelled', ref: 'x', outcome: 'applied' },
        { kind: 'completed', ref: 'x', outcome: 'refused', reason: 'ORDER_CANCELLED' },
        { kind: 'refunded', ref: 'too-much', outcome: 'refused', reason: 'ORDER_CANCELLED' },
      ]);
      expect(paid.earned.status).toBe('cancelled');
      expect(await balanceOf(shop.ledger.db, shop.merchantId, 'alice')).toEqual({ available: 0, pending: 0, held: 0, debt: 0 });
      await expectRefusal(orderCompleted(shop.ledger, { merchantId: shop.merchantId, orderId: 'x' }), 'ORDER_CANCELLED', 'orderId');
    });
  });

  describe('replays and conflicts', () => {
    beforeEach(async () => {
      shop.merchantId = await aShop(shop.ledger, theWorkedExampleProgram());
    });

    it('replays return the first result and write nothing', async () => {
      const order = aPaidOrder(shop.merchantId, { orderId: 'again', items: [{ sku: 'tea', category: 'food', amount: 100_000, quantity: 2 }] });
      const paid = await orderPaid(shop.ledger, order);
      const refund = await orderRefunded(shop.ledger, { merchantId: shop.merchantId, orderId: 'again', refundId: 'ra', amount: 10_000 });
      const completed = await orderCompleted(shop.ledger, { merchantId: shop.merchantId, orderId: 'again' });
      const before = await footprint(shop.ledger.db, shop.merchantId);

      shop.clock.advance(DAY_MS);
      expect(await orderPaid(shop.ledger, order)).toEqual(paid);
      expect(await orderRefunded(shop.ledger, { merchantId: shop.merchantId, orderId: 'again', refundId: 'ra', amount: 10_000 })).toEqual(refund);
      expect(await orderCompleted(shop.ledger, { merchantId: shop.merchantId, orderId: 'again' })).toEqual(completed);
      expect(await footprint(shop.ledger.db, shop.merchantId)).toEqual(before);
    });

    it('the same order id with a field changed is a conflict naming the field, and writes nothing', async () => {
      await orderPaid(shop.ledger, aPaidOrder(shop.merchantId, { orderId: 'same' }));
      const before = await footprint(shop.ledger.db, shop.merchantId);
      await expectRefusal(orderPaid(shop.ledger, aPaidOrder(shop.merchantId, { orderId: 'same', amount: 99_999 })), 'IDEMPOTENCY_CONFLICT', 'amount');
      await expectRefusal(orderPaid(shop.ledger, aPaidOrder(shop.merchantId, { orderId: 'same', shopperId: 'bob' })), 'IDEMPOTENCY_CONFLICT', 'shopperId');
      await orderRefunded(shop.ledger, { merchantId: shop.merchantId, orderId: 'same', refundId: 'rs', amount: 100 });
      const afterRefund = await footprint(shop.ledger.db, shop.merchantId);
      await expectRefusal(orderRefunded(shop.ledger, { merchantId: shop.merchantId, orderId: 'same', refundId: 'rs', amount: 200 }), 'IDEMPOTENCY_CONFLICT', 'amount');
      expect(await footprint(shop.ledger.db, shop.merchantId)).toEqual(afterRefund);
      expect(afterRefund.orders).toBe(before.orders);
    });

    const paidAnswerRow = (orderId: string) =>
      shop.ledger.db.selectFrom('orders').select(['payload_hash', 'paid_response']).where('merchant_id', '=', shop.merchantId).where('order_id', '=', orderId).executeTakeFirstOrThrow();

    it('the first answer is kept on the order’s row, not as an idempotency record', async () => {
      const order = aPaidOrder(shop.merchantId, { orderId: 'kept' });
      const paid = await orderPaid(shop.ledger, order);
      const row = await paidAnswerRow('kept');
      expect(JSON.parse(row.paid_response!)).toEqual({ request: expect.objectContaining({ shopperId: 'alice', amount: order.amount }), result: paid });
      const records = await shop.ledger.db.selectFrom('idempotency').select('key').where('merchant_id', '=', shop.merchantId).where('scope', '=', 'orders.paid').execute();
      expect(records).toEqual([]);
    });

    it('an order that applied waiting events answers its replays with that first answer, events included', async () => {
      await orderCompleted(shop.ledger, { merchantId: shop.merchantId, orderId: 'late' });
      const order = aPaidOrder(shop.merchantId, { orderId: 'late' });
      const paid = await orderPaid(shop.ledger, order);
      expect(paid.events).toEqual([{ kind: 'completed', ref: 'late', outcome: 'applied' }]);
      const before = await footprint(shop.ledger.db, shop.merchantId);
      expect(await orderPaid(shop.ledger, order)).toEqual(paid);
      await expectRefusal(orderPaid(shop.ledger, aPaidOrder(shop.merchantId, { orderId: 'late', amount: 1 })), 'IDEMPOTENCY_CONFLICT', 'amount');
      expect(await footprint(shop.ledger.db, shop.merchantId)).toEqual(before);
    });

    it('an order paid before migration 0004 answers replays and conflicts from its idempotency record', async () => {
      const order = aPaidOrder(shop.merchantId, { orderId: 'older' });
      const paid = await orderPaid(shop.ledger, order);
      // What the ledger stored before 0004: no answer on the row, the same text in a record.
      const row = await paidAnswerRow('older');
      await shop.ledger.db.updateTable('orders').set({ paid_response: null }).where('merchant_id', '=', shop.merchantId).where('order_id', '=', 'older').execute();
      await shop.ledger.db
        .insertInto('idempotency')
        .values({ merchant_id: shop.merchantId, scope: 'orders.paid', key: 'older', request_hash: row.payload_hash, response: row.paid_response!, created_at: 0 })
        .execute();
      const before = await footprint(shop.ledger.db, shop.merchantId);
      expect(await orderPaid(shop.ledger, order)).toEqual(paid);
      await expectRefusal(orderPaid(shop.ledger, aPaidOrder(shop.merchantId, { orderId: 'older', shopperId: 'bob' })), 'IDEMPOTENCY_CONFLICT', 'shopperId');
      expect(await footprint(shop.ledger.db, shop.merchantId)).toEqual(before);
    });

    it('an order for a merchant that does not exist is NOT_FOUND naming the merchant, and leaves no key row', async () => {
      await expectRefusal(orderPaid(shop.ledger, aPaidOrder('no-such-merchant', { orderId: 'ghost' })), 'NOT_FOUND', 'merchantId');
      expect(await shop.ledger.db.selectFrom('order_events').select('event_id').where('merchant_id', '=', 'no-such-merchant').execute()).toEqual([]);
    });

    it('an order in another currency is refused, naming the currency, and writes nothing', async () => {
      const before = await footprint(shop.ledger.db, shop.merchantId);
      const refusal = await expectRefusal(orderPaid(shop.ledger, aPaidOrder(shop.merchantId, { currency: 'USD' })), 'CURRENCY_MISMATCH', 'currency');
      expect(refusal.facts).toMatchObject({ expected: 'CNY', received: 'USD' });
      expect(await footprint(shop.ledger.db, shop.merchantId)).toEqual(before);
    });

    it('shipping and tax larger than the order they are part of are refused, naming the field, and write nothing', async () => {
      const before = await footprint(shop.ledger.db, shop.merchantId);
      await expectRefusal(orderPaid(shop.ledger, aPaidOrder(shop.merchantId, { amount: 100, shipping: 1_000_000 })), 'INVALID_INPUT', 'shipping');
      await expectRefusal(orderPaid(shop.ledger, aPaidOrder(shop.merchantId, { amount: 1_000, shipping: 600, tax: 401 })), 'INVALID_INPUT', 'tax');
      expect(await footprint(shop.ledger.db, shop.merchantId)).toEqual(before);
      // Exactly the amount: an order of shipping and tax alone, with no goods to earn on.
      expect(await orderPaid(shop.ledger, aPaidOrder(shop.merchantId, { amount: 1_000, shipping: 600, tax: 400 }))).toMatchObject({ earned: { points: 0 } });
    });
  });

  describe('caps', () => {
    it('the daily cap limits what a shopper earns in one local day', async () => {
      shop.merchantId = await aShop(shop.ledger, theWorkedExampleProgram({ earning: { dailyCapPoints: 1_000 } }));
      const first = await orderPaid(shop.ledger, aPaidOrder(shop.merchantId, { amount: 10_000 }));
      const second = await orderPaid(shop.ledger, aPaidOrder(shop.merchantId, { amount: 10_000 }));
      const third = await orderPaid(shop.ledger, aPaidOrder(shop.merchantId, { amount: 10_000 }));
      expect([first, second, third].map((paid) => paid.earned.points)).toEqual([800, 200, 0]);
      expect(third.earned.status).toBe('none');
      // 10:00 in Shanghai the next day is a new local day.
      shop.clock.advance(DAY_MS);
      expect((await orderPaid(shop.ledger, aPaidOrder(shop.merchantId, { amount: 10_000 }))).earned.points).toBe(500);
    });

    it('the monthly budget withholds what would over-issue, records the shortfall and alerts the merchant once a month', async () => {
      shop.merchantId = await aShop(shop.ledger);
      const first = await orderPaid(shop.ledger, aPaidOrder(shop.merchantId, { shopperId: 'n1' }));
      const second = await orderPaid(shop.ledger, aPaidOrder(shop.merchantId, { shopperId: 'n2' }));
      expect([first.earned.points, second.earned.points]).toEqual([5_000, 5_000]);
      const month = await shop.ledger.db.selectFrom('budget_months').selectAll().where('merchant_id', '=', shop.merchantId).executeTakeFirstOrThrow();
      expect(month).toMatchObject({ month: '2025-03', gmv: 200_000, issued_value: 10_000, shortfall_value: 6_000 });
      const alerts = await listOutbox(shop.ledger.db, shop.merchantId, { kind: 'alert.budget' });
      expect(alerts).toHaveLength(1);
      expect(alerts[0]).toMatchObject({ dedupeKey: 'alert.budget:2025-03', payload: { month: '2025-03', orderId: first.orderId, withheldPoints: 3_000, withheldValue: 3_000 } });
    });
  });

  describe('points paid and coupons', () => {
    beforeEach(async () => {
      shop.merchantId = await aShop(shop.ledger, theWorkedExampleProgram());
    });

    it('a captured hold pays part of the order; earning is on the cash, and a refund restores points in proportion', async () => {
      await adjustPoints(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', points: 20_000, reason: 'gift', idempotencyKey: 'gift' });
      const hold = await reserveHold(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', checkoutId: 'chk', points: 20_000, cartAmount: 100_000 });
      const paid = await orderPaid(shop.ledger, aPaidOrder(shop.merchantId, { orderId: 'with-points', holdId: hold.holdId }));
      expect(paid.captured).toEqual({ holdId: hold.holdId, points: 20_000, value: 20_000 });
      // 80,000 fen paid in cash × 5% × new 1.6 = 6,400 points.
      expect(paid.earned.points).toBe(6_400);
      const [gift] = await lotsOf(shop.ledger.db, shop.merchantId, 'alice');

      const refund = await orderRefunded(shop.ledger, { merchantId: shop.merchantId, orderId: 'with-points', refundId: 'half', amount: 50_000 });
      expect(refund).toMatchObject({ clawedBack: 3_200, restored: 10_000, debt: 0 });
      const restoreLot = (await lotsOf(shop.ledger.db, shop.merchantId, 'alice')).find((lot) => lot.source === 'restore');
      expect(restoreLot).toMatchObject({ points: 10_000, sourceRef: 'half', expiresAt: gift!.expiresAt });
      const [restore] = await entriesOf(shop.ledger.db, shop.merchantId, { kind: 'refund.restore' });
      const [capture] = await entriesOf(shop.ledger.db, shop.merchantId, { kind: 'hold.capture' });
      expect(restore).toMatchObject({ points: 10_000, compensates: capture!.seq, detail: { expiry: 'original' } });
    });

    it('points paid whose original expiry has passed come back with the grace period', async () => {
      await adjustPoints(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', points: 10_000, reason: 'gift', idempotencyKey: 'gift' });
      const hold = await reserveHold(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', checkoutId: 'chk', points: 10_000, cartAmount: 100_000 });
      await orderPaid(shop.ledger, aPaidOrder(shop.merchantId, { orderId: 'old', holdId: hold.holdId }));
      shop.clock.set('2026-05-01T02:00:00Z');
      await orderCancelled(shop.ledger, { merchantId: shop.merchantId, orderId: 'old' });
      const restoreLot = (await lotsOf(shop.ledger.db, shop.merchantId, 'alice')).find((lot) => lot.source === 'restore');
      // 30 days of grace from 1 May (Shanghai): usable through 31 May.
      expect(restoreLot).toMatchObject({ points: 10_000, expiresAt: Date.parse('2026-05-31T16:00:00Z') });
    });

    it('coupons are redeemed with the order and the earning is on what is left', async () => {
      await adjustPoints(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', points: 1_000, reason: 'gift', idempotencyKey: 'gift' });
      await upsertTemplate(shop.ledger, {
        merchantId: shop.merchantId,
        template: { id: 'ten-off', name: { 'zh-CN': '立减100元', en: '¥100 off' }, discount: { kind: 'fixed', amountOff: 10_000 }, pointsCost: 1_000, stock: 5 },
      });
      const coupon = await exchangeCoupon(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', templateId: 'ten-off', idempotencyKey: 'x1' });
      const paid = await orderPaid(shop.ledger, aPaidOrder(shop.merchantId, { orderId: 'couponed', couponCodes: [coupon.code] }));
      expect(paid.coupons).toEqual({ discount: 10_000, coupons: [{ code: coupon.code, discount: 10_000 }] });
      // 90,000 fen × 5% × new 1.6 = 7,200 points.
      expect(paid.earned.points).toBe(7_200);
    });

    it('a free-shipping coupon discounts the shipping, not the goods the order earns on', async () => {
      await adjustPoints(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', points: 1_000, reason: 'gift', idempotencyKey: 'gift' });
      await upsertTemplate(shop.ledger, {
        merchantId: shop.merchantId,
        template: { id: 'free-ship', name: { 'zh-CN': '免运费', en: 'Free shipping' }, discount: { kind: 'freeShipping' }, pointsCost: 500, stock: 5 },
      });
      const coupon = await exchangeCoupon(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', templateId: 'free-ship', idempotencyKey: 'x1' });
      // ¥1,000 of goods and ¥20 shipping; the coupon takes the ¥20 off the shipping.
      const paid = await orderPaid(shop.ledger, aPaidOrder(shop.merchantId, { orderId: 'free-ship', amount: 102_000, shipping: 2_000, couponCodes: [coupon.code] }));
      expect(paid.coupons).toEqual({ discount: 2_000, coupons: [{ code: coupon.code, discount: 2_000 }] });
      // The goods were paid in full: 100,000 fen × 5% × new 1.6 = 8,000 points.
      expect(paid.earned.points).toBe(8_000);
    });
  });

  describe('pool mode', () => {
    beforeEach(async () => {
      shop.merchantId = await aShop(shop.ledger, aPoolShopProgram());
    });

    it('earns nothing at payment, mints on completion and burns in proportion on a refund', async () => {
      const paid = await orderPaid(shop.ledger, aPaidOrder(shop.merchantId, { orderId: 'pool-1', shopperId: 'p' }));
      expect(paid.earned).toEqual({ points: 0, status: 'none', debtSettled: 0, availableAt: null });
      const completed = await orderCompleted(shop.ledger, { merchantId: shop.merchantId, orderId: 'pool-1' });
      // contribution 16% of ¥1,000; minting at ¥0.01 a unit is capped by the per-order cap, 10% of ¥1,000.
      expect(completed).toMatchObject({ status: 'completed', pool: { contribution: 16_000, minted: 10_000 } });
      const minted = 10_000;
      expect(await balanceOf(shop.ledger.db, shop.merchantId, 'p')).toMatchObject({ available: minted });

      const refund = await orderRefunded(shop.ledger, { merchantId: shop.merchantId, orderId: 'pool-1', refundId: 'pr', amount: 50_000 });
      expect(refund).toMatchObject({ clawedBack: Math.floor(minted / 2), debt: 0 });
      expect(await balanceOf(shop.ledger.db, shop.merchantId, 'p')).toMatchObject({ available: minted - Math.floor(minted / 2) });
      const pool = await shop.ledger.db.selectFrom('pool_state').selectAll().where('merchant_id', '=', shop.merchantId).executeTakeFirstOrThrow();
      expect(pool).toMatchObject({ amount: 16_000, supply: minted - Math.floor(minted / 2) });
    });

    it("mints under the daily cap and monthly budget of the day the order was paid, when it completes in the next month", async () => {
      const merchantId = await aShop(shop.ledger, aPoolShopProgram({ earning: { monthlyBudgetRate: 0.05 } }));
      // 23:00 on 31 March in Shanghai; completed at 01:00 on 1 April.
      shop.clock.advance(Date.parse('2025-03-31T15:00:00Z') - shop.clock.read().getTime());
      await orderPaid(shop.ledger, aPaidOrder(merchantId, { orderId: 'late-march', shopperId: 'm' }));
      shop.clock.advance(2 * 60 * 60 * 1000);
      const completed = await orderCompleted(shop.ledger, { merchantId, orderId: 'late-march' });
      // March's GMV holds the order: its 5% budget (¥50) lets 5,000 units at ¥0.01 be minted. April's holds nothing yet.
      expect(completed).toMatchObject({ pool: { minted: 5_000 } });
      const months = await shop.ledger.db.selectFrom('budget_months').select(['month', 'gmv', 'issued_value']).where('merchant_id', '=', merchantId).orderBy('month').execute();
      expect(months).toEqual([{ month: '2025-03', gmv: 100_000, issued_value: 5_000 }]);
      const days = await shop.ledger.db.selectFrom('shopper_days').select(['day', 'earned_points']).where('merchant_id', '=', merchantId).where('shopper_id', '=', 'm').execute();
      expect(days).toEqual([{ day: '2025-03-31', earned_points: 5_000 }]);
    });

    it('keeps the cap-out basis at the completed spend: a refund after completion takes its amount out, one before never entered it', async () => {
      const basis = async () =>
        Number((await shop.ledger.db.selectFrom('shoppers').select('capout_basis').where('merchant_id', '=', shop.merchantId).where('shopper_id', '=', 'b').executeTakeFirstOrThrow()).capout_basis);
      await orderPaid(shop.ledger, aPaidOrder(shop.merchantId, { orderId: 'basis-1', shopperId: 'b' }));
      await orderRefunded(shop.ledger, { merchantId: shop.merchantId, orderId: 'basis-1', refundId: 'before', amount: 20_000 });
      await orderCompleted(shop.ledger, { merchantId: shop.merchantId, orderId: 'basis-1' });
      expect(await basis()).toBe(80_000);
      await orderRefunded(shop.ledger, { merchantId: shop.merchantId, orderId: 'basis-1', refundId: 'after', amount: 30_000 });
      expect(await basis()).toBe(50_000);
      // The rest, after the shopper spent every point: nothing is left to burn (a debt instead), and the basis still falls.
      const { available } = await balanceOf(shop.ledger.db, shop.merchantId, 'b');
      await adjustPoints(shop.ledger, { merchantId: shop.merchantId, shopperId: 'b', points: -available, reason: 'spent', idempotencyKey: 'spent' });
      await orderRefunded(shop.ledger, { merchantId: shop.merchantId, orderId: 'basis-1', refundId: 'rest', amount: 50_000 });
      expect(await basis()).toBe(0);
      expect(await balanceOf(shop.ledger.db, shop.merchantId, 'b')).toMatchObject({ available: 0 });
    });

    it('a refund before completion lowers what the order contributes, and later refunds burn against that', async () => {
      await orderPaid(shop.ledger, aPaidOrder(shop.merchantId, { orderId: 'pool-2', shopperId: 'q' }));
      await orderRefunded(shop.ledger, { merchantId: shop.merchantId, orderId: 'pool-2', refundId: 'before', amount: 50_000 });
      const completed = await orderCompleted(shop.ledger, { merchantId: shop.merchantId, orderId: 'pool-2' });
      expect(completed).toMatchObject({ pool: { contribution: 8_000 } });
      const minted = 'pool' in completed && completed.pool !== null ? completed.pool.minted : 0;
      const rest = await orderRefunded(shop.ledger, { merchantId: shop.merchantId, orderId: 'pool-2', refundId: 'after', amount: 50_000 });
      expect(rest).toMatchObject({ clawedBack: minted, debt: 0 });
      expect(await balanceOf(shop.ledger.db, shop.merchantId, 'q')).toMatchObject({ available: 0, pending: 0 });
    });
  });
});

describePostgres('a paid order on Postgres', () => {
  const testDb = useTestDb('postgres');

  it.each([
    ['without a monthly budget', theWorkedExampleProgram(), false],
    // The default program's 5% budget is spent by the first order: the next ones withhold too, and
    // find the month's alert already queued.
    ['with the month’s budget spent', {}, true],
  ] as const)('holds the shop’s budget row and chain head for one round trip after locking them together (%s): every write as one statement, with the commit', async (_case, program, alerted) => {
    const trips: string[][] = [];
    const store = createDb({ url: testDb().url, maxConnections: 1, onRoundTrip: (statements) => trips.push([...statements]) });
    try {
      const ledger = new Ledger(store, { clock: aClock().read });
      const merchantId = await aShop(ledger, program);
      // The first orders parse the statements on the one connection (with the budget spent, the
      // second order's writes are of another shape than the first's); later ones send them by name, pipelined.
      await orderPaid(ledger, aPaidOrder(merchantId, { orderId: 'locks-0', shopperId: 'regular' }));
      await orderPaid(ledger, aPaidOrder(merchantId, { orderId: 'locks-1', shopperId: 'regular' }));
      trips.length = 0;
      const paid = await orderPaid(ledger, aPaidOrder(merchantId, { orderId: 'locks-2', shopperId: 'regular' }));
      expect(paid.earned.points).toBeGreaterThan(0);

      // The budget row and the head, locked in one statement, budget first; then one round trip to commit.
      const locked = trips.findIndex(([text]) => /from budget_months .* for update\) as budget\s+cross join lateral \(select seq, hash from journal_heads .* for update\)/s.test(text!));
      expect(locked).toBeGreaterThan(0);
      expect(trips.slice(locked + 1)).toEqual([[expect.stringMatching(/^with w0 as \(/), 'commit']]);
      const written = [...trips[locked + 1]![0]!.matchAll(/(?:insert into|update) "([a-z_]+)"/g)].map((match) => match[1]);
      // No idempotency record: the order's row keeps its answer.
      expect(written).toEqual(['lots', 'shopper_days', 'budget_months', 'orders', 'shoppers', 'journal', 'journal_heads']);
      // Five round trips: the begin with the order key (the claim: new, so there is no answer to
      // read) and the program, the shopper, the tier spends, the budget and head, the writes with the commit.
      expect(trips[0]).toEqual(['begin', expect.stringMatching(/^with "inserted_key" as \(insert into "order_events" .* from "merchants"/s)]);
      expect(trips.map((trip) => trip.length)).toEqual([2, 1, 1, 1, 2]);

      expect(await orderOf(store.db, merchantId, 'locks-2')).toMatchObject({ earned_points: paid.earned.points, status: 'paid' });
      expect(await orderPaid(ledger, aPaidOrder(merchantId, { orderId: 'locks-2', shopperId: 'regular' }))).toEqual(paid);
      const alerts = await listOutbox(store.db, merchantId, { kind: 'alert.budget' });
      expect(alerts.map((alert) => alert.payload)).toEqual(alerted ? [expect.objectContaining({ orderId: 'locks-0' })] : []);
      await assertLedgerInvariants(store.db, merchantId);
    } finally {
      await store.close();
    }
  });
});
