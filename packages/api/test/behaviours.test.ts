import { describeEachDialect, useTestDb } from '@jifen/db/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { adjustPoints } from '../src/adjustments';
import { checkIn, recordBehaviour, setReferrer } from '../src/behaviours';
import { Ledger } from '../src/ledger';
import { orderCompleted, orderPaid, orderRefunded } from '../src/orders';
import { assertLedgerInvariants } from '../src/verify';
import {
  DAY_MS,
  type OrdersClock,
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

describeEachDialect('behaviour points, check-in, referrals and adjustments', (dialect) => {
  const database = useTestDb(dialect);
  let clock: OrdersClock;
  let ledger: Ledger;
  let merchantId: string;

  beforeEach(async () => {
    clock = aClock();
    ledger = new Ledger(database(), { clock: clock.read });
    merchantId = await aShop(ledger, theWorkedExampleProgram());
  });

  afterEach(async () => {
    await assertLedgerInvariants(ledger.db, merchantId);
  });

  describe('merchant-reported behaviours', () => {
    it('a review, a photo review and a share earn the program amounts, available at once', async () => {
      expect(await recordBehaviour(ledger, { merchantId, shopperId: 'alice', kind: 'review', ref: 'rv-1' })).toEqual({
        shopperId: 'alice',
        kind: 'review',
        ref: 'rv-1',
        points: 50,
        debtSettled: 0,
      });
      expect((await recordBehaviour(ledger, { merchantId, shopperId: 'alice', kind: 'photoReview', ref: 'rv-2' })).points).toBe(100);
      expect((await recordBehaviour(ledger, { merchantId, shopperId: 'alice', kind: 'share', ref: 'sh-1' })).points).toBe(0);
      expect(await balanceOf(ledger.db, merchantId, 'alice')).toEqual({ available: 150, pending: 0, held: 0, debt: 0 });
      const lots = (await lotsOf(ledger.db, merchantId, 'alice')).sort((a, b) => a.sourceRef.localeCompare(b.sourceRef));
      expect(lots.map((lot) => [lot.source, lot.sourceRef, lot.points, lot.status])).toEqual([
        ['review', 'rv-1', 50, 'available'],
        ['review', 'rv-2', 100, 'available'],
      ]);
      expect((await entriesOf(ledger.db, merchantId, { kind: 'behaviour' })).map((entry) => entry.points)).toEqual([50, 100]);
    });

    it('the review id is the idempotency key: a replay writes nothing, another kind is a conflict', async () => {
      const first = await recordBehaviour(ledger, { merchantId, shopperId: 'alice', kind: 'review', ref: 'rv-9' });
      const before = await footprint(ledger.db, merchantId);
      expect(await recordBehaviour(ledger, { merchantId, shopperId: 'alice', kind: 'review', ref: 'rv-9' })).toEqual(first);
      await expectRefusal(recordBehaviour(ledger, { merchantId, shopperId: 'alice', kind: 'photoReview', ref: 'rv-9' }), 'IDEMPOTENCY_CONFLICT', 'kind');
      expect(await footprint(ledger.db, merchantId)).toEqual(before);
    });

    it('behaviour points pay off a recorded debt first', async () => {
      await orderPaid(ledger, aPaidOrder(merchantId, { orderId: 'o' }));
      await orderCompleted(ledger, { merchantId, orderId: 'o' });
      await adjustPoints(ledger, { merchantId, shopperId: 'alice', points: -8_000, reason: 'spent', idempotencyKey: 'spent' });
      await orderRefunded(ledger, { merchantId, orderId: 'o', refundId: 'r', amount: 100_000 });
      const review = await recordBehaviour(ledger, { merchantId, shopperId: 'alice', kind: 'review', ref: 'rv' });
      expect(review).toMatchObject({ points: 50, debtSettled: 50 });
      expect(await balanceOf(ledger.db, merchantId, 'alice')).toEqual({ available: 0, pending: 0, held: 0, debt: 7_950 });
    });
  });

  describe('daily check-in', () => {
    it('follows the streak schedule day by day, refuses a second check-in, and restarts after a missed day', async () => {
      const day = async () => {
        const checkin = await checkIn(ledger, { merchantId, shopperId: 'alice' });
        return [checkin.date, checkin.streak, checkin.points];
      };
      expect(await day()).toEqual(['2025-03-03', 1, 5]);
      await expectRefusal(checkIn(ledger, { merchantId, shopperId: 'alice' }), 'ALREADY_CHECKED_IN');
      clock.advance(DAY_MS);
      expect(await day()).toEqual(['2025-03-04', 2, 5]);
      // 23:59 and 00:00 in Shanghai are two local days.
      clock.set('2025-03-05T15:59:00Z');
      expect(await day()).toEqual(['2025-03-05', 3, 10]);
      clock.set('2025-03-05T16:00:00Z');
      expect(await day()).toEqual(['2025-03-06', 4, 10]);
      clock.set('2025-03-08T02:00:00Z');
      expect(await day()).toEqual(['2025-03-08', 1, 5]);
      expect(await balanceOf(ledger.db, merchantId, 'alice')).toMatchObject({ available: 35 });
      expect((await entriesOf(ledger.db, merchantId, { kind: 'checkin' })).map((entry) => entry.ref)).toEqual([
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
        points.push((await checkIn(ledger, { merchantId, shopperId: 'bob' })).points);
        clock.advance(DAY_MS);
      }
      expect(points).toEqual([5, 5, 10, 10, 15, 15, 50, 5]);
    });
  });

  describe('referrals', () => {
    async function completeFirstOrder(shopperId: string, orderId: string) {
      await orderPaid(ledger, aPaidOrder(merchantId, { orderId, shopperId, amount: 1_000 }));
      return orderCompleted(ledger, { merchantId, orderId });
    }

    it('rewards inviter and invitee once, when the invitee’s first order completes, one level only', async () => {
      await setReferrer(ledger, { merchantId, shopperId: 'bea', referredBy: 'ann' });
      await setReferrer(ledger, { merchantId, shopperId: 'cid', referredBy: 'bea' });

      await orderPaid(ledger, aPaidOrder(merchantId, { orderId: 'cid-1', shopperId: 'cid', amount: 1_000 }));
      expect(await entriesOf(ledger.db, merchantId, { kind: 'referral' })).toHaveLength(0);
      const completed = await orderCompleted(ledger, { merchantId, orderId: 'cid-1' });
      expect(completed).toMatchObject({ referral: { inviterId: 'bea', inviteeId: 'cid', inviterPoints: 500, inviteePoints: 200 } });
      expect(await balanceOf(ledger.db, merchantId, 'bea')).toMatchObject({ available: 500 });
      expect(await balanceOf(ledger.db, merchantId, 'ann')).toMatchObject({ available: 0 });

      expect(await completeFirstOrder('cid', 'cid-2')).toMatchObject({ status: 'completed', referral: null });
      expect(await completeFirstOrder('bea', 'bea-1')).toMatchObject({ referral: { inviterId: 'ann', inviteeId: 'bea' } });
      const rewards = (await entriesOf(ledger.db, merchantId, { kind: 'referral' })).map((entry) => [entry.shopperId, entry.points]);
      expect(rewards).toEqual([
        ['bea', 500],
        ['cid', 200],
        ['ann', 500],
        ['bea', 200],
      ]);
      const counts = await ledger.db.selectFrom('shoppers').select(['shopper_id', 'completed_referrals']).where('merchant_id', '=', merchantId).orderBy('shopper_id').execute();
      expect(counts.map((row) => [row.shopper_id, Number(row.completed_referrals)])).toEqual([
        ['ann', 1],
        ['bea', 1],
        ['cid', 0],
      ]);
    });

    it('rewards a referral when a completion that arrived first is applied by paid', async () => {
      await setReferrer(ledger, { merchantId, shopperId: 'dan', referredBy: 'ann' });
      expect(await orderCompleted(ledger, { merchantId, orderId: 'dan-1' })).toMatchObject({ status: 'waiting' });
      await orderPaid(ledger, aPaidOrder(merchantId, { orderId: 'dan-1', shopperId: 'dan', amount: 1_000 }));
      expect(await balanceOf(ledger.db, merchantId, 'ann')).toMatchObject({ available: 500 });
      expect(await balanceOf(ledger.db, merchantId, 'dan')).toMatchObject({ available: 280 });
    });

    it('a referrer is set once, never oneself, and only before the first paid order', async () => {
      await expectRefusal(setReferrer(ledger, { merchantId, shopperId: 'eve', referredBy: 'eve' }), 'SELF_REFERRAL', 'referredBy');
      expect(await setReferrer(ledger, { merchantId, shopperId: 'eve', referredBy: 'ann' })).toEqual({ shopperId: 'eve', referredBy: 'ann' });
      expect(await setReferrer(ledger, { merchantId, shopperId: 'eve', referredBy: 'ann' })).toEqual({ shopperId: 'eve', referredBy: 'ann' });
      await expectRefusal(setReferrer(ledger, { merchantId, shopperId: 'eve', referredBy: 'bea' }), 'REFERRER_ALREADY_SET', 'referredBy');
      await orderPaid(ledger, aPaidOrder(merchantId, { shopperId: 'fay' }));
      await expectRefusal(setReferrer(ledger, { merchantId, shopperId: 'fay', referredBy: 'ann' }), 'REFERRAL_AFTER_FIRST_ORDER', 'referredBy');
    });
  });

  describe('manual adjustments', () => {
    it('credits a lot, debits spendable points, and never goes below zero', async () => {
      const credit = await adjustPoints(ledger, { merchantId, shopperId: 'alice', points: 1_000, reason: 'apology', idempotencyKey: 'adj-1' });
      expect(credit).toMatchObject({ shopperId: 'alice', points: 1_000, available: 1_000 });
      expect(credit.lotId).not.toBeNull();
      expect(await adjustPoints(ledger, { merchantId, shopperId: 'alice', points: -300, reason: 'correction', idempotencyKey: 'adj-2' })).toMatchObject({ available: 700, lotId: null });

      const before = await footprint(ledger.db, merchantId);
      const refusal = await expectRefusal(
        adjustPoints(ledger, { merchantId, shopperId: 'alice', points: -5_000, reason: 'too much', idempotencyKey: 'adj-3' }),
        'INSUFFICIENT_POINTS',
        'points',
      );
      expect(refusal.facts).toMatchObject({ available: 700, requested: 5_000 });
      expect(await adjustPoints(ledger, { merchantId, shopperId: 'alice', points: 1_000, reason: 'apology', idempotencyKey: 'adj-1' })).toEqual(credit);
      await expectRefusal(adjustPoints(ledger, { merchantId, shopperId: 'alice', points: 2_000, reason: 'apology', idempotencyKey: 'adj-1' }), 'IDEMPOTENCY_CONFLICT', 'points');
      await expectRefusal(adjustPoints(ledger, { merchantId, shopperId: 'alice', points: 0, reason: 'nothing', idempotencyKey: 'adj-4' }), 'INVALID_INPUT', 'points');
      await expectRefusal(adjustPoints(ledger, { merchantId, shopperId: 'alice', points: 5, reason: ' ', idempotencyKey: 'adj-5' }), 'INVALID_INPUT', 'reason');
      expect(await footprint(ledger.db, merchantId)).toEqual(before);
      const entries = await entriesOf(ledger.db, merchantId, { kind: 'adjust' });
      expect(entries.map((entry) => [entry.points, entry.detail.reason])).toEqual([
        [1_000, 'apology'],
        [-300, 'correction'],
      ]);
    });
  });

  describe('pool mode', () => {
    beforeEach(async () => {
      merchantId = await aShop(ledger, aPoolShopProgram());
    });

    it('behaviour points, check-ins and adjustments are funded by the merchant at the current price', async () => {
      await recordBehaviour(ledger, { merchantId, shopperId: 'alice', kind: 'review', ref: 'rv' });
      await checkIn(ledger, { merchantId, shopperId: 'alice' });
      await adjustPoints(ledger, { merchantId, shopperId: 'alice', points: 1_000, reason: 'gift', idempotencyKey: 'g' });
      await adjustPoints(ledger, { merchantId, shopperId: 'alice', points: -55, reason: 'fix', idempotencyKey: 'f' });
      const pool = await ledger.db.selectFrom('pool_state').selectAll().where('merchant_id', '=', merchantId).executeTakeFirstOrThrow();
      // At ¥0.01 a point unit the merchant pays 1 fen per unit funded; burning pays nothing out.
      expect(pool).toMatchObject({ amount: 1_055, supply: 1_000 });
      expect(await balanceOf(ledger.db, merchantId, 'alice')).toMatchObject({ available: 1_000 });
    });
  });
});
