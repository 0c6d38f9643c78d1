import { describeEachDialect } from '@jifen/db/testing';
import { beforeEach, describe, expect, it } from 'vitest';
import { adjustPoints } from '../src/adjustments';
import { checkIn, recordBehaviour, setReferrer } from '../src/behaviours';
import { orderCompleted, orderPaid, orderRefunded } from '../src/orders';
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
  theWorkedExampleProgram,
} from './support-orders';
import { useShop } from './support-shop';

describeEachDialect('behaviour points, check-in, referrals and adjustments', (dialect) => {
  const shop = useShop(dialect, { clock: () => aClock(), merchant: (ledger) => aShop(ledger, theWorkedExampleProgram()) });

  describe('merchant-reported behaviours', () => {
    it('a review, a photo review and a share earn the program amounts, available at once', async () => {
      expect(await recordBehaviour(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', kind: 'review', ref: 'rv-1' })).toEqual({
        shopperId: 'alice',
        kind: 'review',
        ref: 'rv-1',
        points: 50,
        debtSettled: 0,
      });
      expect((await recordBehaviour(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', kind: 'photoReview', ref: 'rv-2' })).points).toBe(100);
      expect((await recordBehaviour(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', kind: 'share', ref: 'sh-1' })).points).toBe(0);
      expect(await balanceOf(shop.ledger.db, shop.merchantId, 'alice')).toEqual({ available: 150, pending: 0, held: 0, debt: 0 });
      const lots = (await lotsOf(shop.ledger.db, shop.merchantId, 'alice')).sort((a, b) => a.sourceRef.localeCompare(b.sourceRef));
      expect(lots.map((lot) => [lot.source, lot.sourceRef, lot.points, lot.status])).toEqual([
        ['review', 'rv-1', 50, 'available'],
        ['review', 'rv-2', 100, 'available'],
      ]);
      expect((await entriesOf(shop.ledger.db, shop.merchantId, { kind: 'behaviour' })).map((entry) => entry.points)).toEqual([50, 100]);
    });

    it('the review id is the idempotency key: a replay writes nothing, another kind is a conflict', async () => {
      const first = await recordBehaviour(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', kind: 'review', ref: 'rv-9' });
      const before = await footprint(shop.ledger.db, shop.merchantId);
      expect(await recordBehaviour(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', kind: 'review', ref: 'rv-9' })).toEqual(first);
      await expectRefusal(recordBehaviour(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', kind: 'photoReview', ref: 'rv-9' }), 'IDEMPOTENCY_CONFLICT', 'kind');
      expect(await footprint(shop.ledger.db, shop.merchantId)).toEqual(before);
    });

    it('behaviour points pay off a recorded debt first', async () => {
      await orderPaid(shop.ledger, aPaidOrder(shop.merchantId, { orderId: 'o' }));
      await orderCompleted(shop.ledger, { merchantId: shop.merchantId, orderId: 'o' });
      await adjustPoints(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', points: -8_000, reason: 'spent', idempotencyKey: 'spent' });
      await orderRefunded(shop.ledger, { merchantId: shop.merchantId, orderId: 'o', refundId: 'r', amount: 100_000 });
      const review = await recordBehaviour(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', kind: 'review', ref: 'rv' });
      expect(review).toMatchObject({ points: 50, debtSettled: 50 });
      expect(await balanceOf(shop.ledger.db, shop.merchantId, 'alice')).toEqual({ available: 0, pending: 0, held: 0, debt: 7_950 });
    });
  });

  describe('daily check-in', () => {
    it('follows the streak schedule day by day, refuses a second check-in, and restarts after a missed day', async () => {
      const day = async () => {
        const checkin = await checkIn(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice' });
        return [checkin.date, checkin.streak, checkin.points];
      };
      expect(await day()).toEqual(['2025-03-03', 1, 5]);
      await expectRefusal(checkIn(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice' }), 'ALREADY_CHECKED_IN');
      shop.clock.advance(DAY_MS);
      expect(await day()).toEqual(['2025-03-04', 2, 5]);
      // 23:59 and 00:00 in Shanghai are two local days.
      shop.clock.set('2025-03-05T15:59:00Z');
      expect(await day()).toEqual(['2025-03-05', 3, 10]);
      shop.clock.set('2025-03-05T16:00:00Z');
      expect(await day()).toEqual(['2025-03-06', 4, 10]);
      shop.clock.set('2025-03-08T02:00:00Z');
      expect(await day()).toEqual(['2025-03-08', 1, 5]);
      expect(await balanceOf(shop.ledger.db, shop.merchantId, 'alice')).toMatchObject({ available: 35 });
      expect((await entriesOf(shop.ledger.db, shop.merchantId, { kind: 'checkin' })).map((entry) => entry.ref)).toEqual([
        'checkin:2025-03-03',
        'checkin:2025-03-04',
        'checkin:2025-03-05',
        'checkin:2025-03-06',
        'checkin:2025-03-08',
      ]);
    });

    it('completes the seven-day schedule with the 50-point day', async () => {
      const points: number[] = [];
      for (let day = 0; day < 8; day += 1) {
        points.push((await checkIn(shop.ledger, { merchantId: shop.merchantId, shopperId: 'bob' })).points);
        shop.clock.advance(DAY_MS);
      }
      expect(points).toEqual([5, 5, 10, 10, 15, 15, 50, 5]);
    });
  });

  describe('referrals', () => {
    async function completeFirstOrder(shopperId: string, orderId: string) {
      await orderPaid(shop.ledger, aPaidOrder(shop.merchantId, { orderId, shopperId, amount: 1_000 }));
      return orderCompleted(shop.ledger, { merchantId: shop.merchantId, orderId });
    }

    it('rewards inviter and invitee once, when the invitee’s first order completes, one level only', async () => {
      await setReferrer(shop.ledger, { merchantId: shop.merchantId, shopperId: 'bea', referredBy: 'ann' });
      await setReferrer(shop.ledger, { merchantId: shop.merchantId, shopperId: 'cid', referredBy: 'bea' });

      await orderPaid(shop.ledger, aPaidOrder(shop.merchantId, { orderId: 'cid-1', shopperId: 'cid', amount: 1_000 }));
      expect(await entriesOf(shop.ledger.db, shop.merchantId, { kind: 'referral' })).toHaveLength(0);
      const completed = await orderCompleted(shop.ledger, { merchantId: shop.merchantId, orderId: 'cid-1' });
      expect(completed).toMatchObject({ referral: { inviterId: 'bea', inviteeId: 'cid', inviterPoints: 500, inviteePoints: 200 } });
      expect(await balanceOf(shop.ledger.db, shop.merchantId, 'bea')).toMatchObject({ available: 500 });
      expect(await balanceOf(shop.ledger.db, shop.merchantId, 'ann')).toMatchObject({ available: 0 });

      expect(await completeFirstOrder('cid', 'cid-2')).toMatchObject({ status: 'completed', referral: null });
      expect(await completeFirstOrder('bea', 'bea-1')).toMatchObject({ referral: { inviterId: 'ann', inviteeId: 'bea' } });
      const rewards = (await entriesOf(shop.ledger.db, shop.merchantId, { kind: 'referral' })).map((entry) => [entry.shopperId, entry.points]);
      expect(rewards).toEqual([
        ['bea', 500],
        ['cid', 200],
        ['ann', 500],
        ['bea', 200],
      ]);
      const counts = await shop.ledger.db.selectFrom('shoppers').select(['shopper_id', 'completed_referrals']).where('merchant_id', '=', shop.merchantId).orderBy('shopper_id').execute();
      expect(counts.map((row) => [row.shopper_id, Number(row.completed_referrals)])).toEqual([
        ['ann', 1],
        ['bea', 1],
        ['cid', 0],
      ]);
    });

    it('rewards a referral when a completion that arrived first is applied by paid', async () => {
      await setReferrer(shop.ledger, { merchantId: shop.merchantId, shopperId: 'dan', referredBy: 'ann' });
      expect(await orderCompleted(shop.ledger, { merchantId: shop.merchantId, orderId: 'dan-1' })).toMatchObject({ status: 'waiting' });
      await orderPaid(shop.ledger, aPaidOrder(shop.merchantId, { orderId: 'dan-1', shopperId: 'dan', amount: 1_000 }));
      expect(await balanceOf(shop.ledger.db, shop.merchantId, 'ann')).toMatchObject({ available: 500 });
      expect(await balanceOf(shop.ledger.db, shop.merchantId, 'dan')).toMatchObject({ available: 280 });
    });

    it('pays nothing for an order refunded in full before it completed, and pays on the next order that completes', async () => {
      await setReferrer(shop.ledger, { merchantId: shop.merchantId, shopperId: 'gil', referredBy: 'ann' });
      await orderPaid(shop.ledger, aPaidOrder(shop.merchantId, { orderId: 'gil-1', shopperId: 'gil', amount: 1_000 }));
      await orderRefunded(shop.ledger, { merchantId: shop.merchantId, orderId: 'gil-1', refundId: 'gil-r', amount: 1_000 });
      expect(await orderCompleted(shop.ledger, { merchantId: shop.merchantId, orderId: 'gil-1' })).toMatchObject({ status: 'completed', referral: null });
      expect(await entriesOf(shop.ledger.db, shop.merchantId, { kind: 'referral' })).toHaveLength(0);
      // A first order refunded in part still counts, and the reward is paid once.
      await orderPaid(shop.ledger, aPaidOrder(shop.merchantId, { orderId: 'gil-2', shopperId: 'gil', amount: 1_000 }));
      await orderRefunded(shop.ledger, { merchantId: shop.merchantId, orderId: 'gil-2', refundId: 'gil-r2', amount: 400 });
      expect(await orderCompleted(shop.ledger, { merchantId: shop.merchantId, orderId: 'gil-2' })).toMatchObject({ referral: { inviterId: 'ann', inviteeId: 'gil' } });
      expect(await completeFirstOrder('gil', 'gil-3')).toMatchObject({ referral: null });
      expect(await entriesOf(shop.ledger.db, shop.merchantId, { kind: 'referral' })).toHaveLength(2);
    });

    it('a referrer is set once, never oneself, and only before the first paid order', async () => {
      await expectRefusal(setReferrer(shop.ledger, { merchantId: shop.merchantId, shopperId: 'eve', referredBy: 'eve' }), 'SELF_REFERRAL', 'referredBy');
      expect(await setReferrer(shop.ledger, { merchantId: shop.merchantId, shopperId: 'eve', referredBy: 'ann' })).toEqual({ shopperId: 'eve', referredBy: 'ann' });
      expect(await setReferrer(shop.ledger, { merchantId: shop.merchantId, shopperId: 'eve', referredBy: 'ann' })).toEqual({ shopperId: 'eve', referredBy: 'ann' });
      await expectRefusal(setReferrer(shop.ledger, { merchantId: shop.merchantId, shopperId: 'eve', referredBy: 'bea' }), 'REFERRER_ALREADY_SET', 'referredBy');
      await orderPaid(shop.ledger, aPaidOrder(shop.merchantId, { shopperId: 'fay' }));
      await expectRefusal(setReferrer(shop.ledger, { merchantId: shop.merchantId, shopperId: 'fay', referredBy: 'ann' }), 'REFERRAL_AFTER_FIRST_ORDER', 'referredBy');
    });
  });

  describe('manual adjustments', () => {
    it('credits a lot, debits spendable points, and never goes below zero', async () => {
      const credit = await adjustPoints(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', points: 1_000, reason: 'apology', idempotencyKey: 'adj-1' });
      expect(credit).toMatchObject({ shopperId: 'alice', points: 1_000, available: 1_000 });
      expect(credit.lotId).not.toBeNull();
      expect(await adjustPoints(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', points: -300, reason: 'correction', idempotencyKey: 'adj-2' })).toMatchObject({ available: 700, lotId: null });

      const before = await footprint(shop.ledger.db, shop.merchantId);
      const refusal = await expectRefusal(
        adjustPoints(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', points: -5_000, reason: 'too much', idempotencyKey: 'adj-3' }),
        'INSUFFICIENT_POINTS',
        'points',
      );
      expect(refusal.facts).toMatchObject({ available: 700, requested: 5_000 });
      expect(await adjustPoints(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', points: 1_000, reason: 'apology', idempotencyKey: 'adj-1' })).toEqual(credit);
      await expectRefusal(adjustPoints(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', points: 2_000, reason: 'apology', idempotencyKey: 'adj-1' }), 'IDEMPOTENCY_CONFLICT', 'points');
      await expectRefusal(adjustPoints(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', points: 0, reason: 'nothing', idempotencyKey: 'adj-4' }), 'INVALID_INPUT', 'points');
      await expectRefusal(adjustPoints(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', points: 5, reason: ' ', idempotencyKey: 'adj-5' }), 'INVALID_INPUT', 'reason');
      expect(await footprint(shop.ledger.db, shop.merchantId)).toEqual(before);
      const entries = await entriesOf(shop.ledger.db, shop.merchantId, { kind: 'adjust' });
      expect(entries.map((entry) => [entry.points, entry.detail.reason])).toEqual([
        [1_000, 'apology'],
        [-300, 'correction'],
      ]);
    });
  });

  describe('pool mode', () => {
    beforeEach(async () => {
      shop.merchantId = await aShop(shop.ledger, aPoolShopProgram());
    });

    it('behaviour points, check-ins and adjustments are funded by the merchant at the current price', async () => {
      await recordBehaviour(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', kind: 'review', ref: 'rv' });
      await checkIn(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice' });
      await adjustPoints(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', points: 1_000, reason: 'gift', idempotencyKey: 'g' });
      await adjustPoints(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', points: -55, reason: 'fix', idempotencyKey: 'f' });
      const pool = await shop.ledger.db.selectFrom('pool_state').selectAll().where('merchant_id', '=', shop.merchantId).executeTakeFirstOrThrow();
      // At ¥0.01 a point unit the merchant pays 1 fen per unit funded; burning pays nothing out.
      expect(pool).toMatchObject({ amount: 1_055, supply: 1_000 });
      expect(await balanceOf(shop.ledger.db, shop.merchantId, 'alice')).toMatchObject({ available: 1_000 });
    });
  });
});
