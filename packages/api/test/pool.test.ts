import { describeEachDialect } from '@jifen/db/testing';
import { ratio } from '@jifen/rules';
import { beforeEach, describe, expect, it } from 'vitest';
import { getProgram } from '../src/merchants';
import { getShopper } from '../src/shoppers';
import { orderCompleted, orderPaid } from '../src/orders';
import { poolHistory } from '../src/pool-ledger';
import { simulateOrders } from '../src/simulate-orders';
import { companionLotId, reviewReleaseScheduleInTx, runReleases } from '../src/release-job';
import { approveRedemption, assertRedemptionApprovedInTx, listPendingApprovals } from '../src/risk-approvals';
import { assertLedgerInvariants } from '../src/verify';
import {
  DAY_MS,
  aPoolClock,
  aPoolMerchant,
  aPoolProgram,
  completeOrder,
  expectRefusal,
  expireEverything,
  fundPoints,
  journalOfKind,
  placeHold,
  poolOf,
  refundPoints,
  shopperOf,
  spendPoints,
} from './support-pool';
import { useShop } from './support-shop';

describeEachDialect('pool ledger (消费增值)', (dialect) => {
  const shop = useShop(dialect, { clock: () => aPoolClock(), merchant: aPoolMerchant });

  describe('minting on completed orders (SPEC §3.2)', () => {
    it('follows the worked example: two ¥1,000 orders mint 112 then 78 points, leaving ¥320 backing 190 points', async () => {
      const first = await completeOrder(shop.ledger, shop.merchantId, { shopperId: 'alice', amount: 100_000, orderId: 'o1' });
      expect(first).toMatchObject({ contribution: 16_000, minted: 112 });
      const second = await completeOrder(shop.ledger, shop.merchantId, { shopperId: 'bob', amount: 100_000, orderId: 'o2' });
      expect(second).toMatchObject({ contribution: 16_000, minted: 78 });

      expect(await poolOf(shop.ledger.db, shop.merchantId)).toEqual({ amount: 32_000, supply: 190 });
      expect((await shopperOf(shop.ledger.db, shop.merchantId, 'alice')).available).toBe(112);
      expect((await shopperOf(shop.ledger.db, shop.merchantId, 'bob')).available).toBe(78);
      const history = await poolHistory(shop.ledger.db, shop.merchantId, { limit: 10 });
      expect(history.map((point) => point.price)).toEqual(['142.8571', '168.4211']);
    });

    it('runs the worked example end to end through orders.paid and orders.completed', async () => {
      // One tier, so a ¥1,000 order does not reach Silver's ×1.2 (which would scale the mint ratio).
      const member = { id: 'member', name: { 'zh-CN': '会员', en: 'Member' }, minSpend: 0, multiplier: 1 };
      shop.merchantId = await aPoolMerchant(shop.ledger, aPoolProgram({}, { earning: { tiers: [member] } }));
      for (const [orderId, shopperId] of [['o1', 'alice'], ['o2', 'bob']] as const) {
        await orderPaid(shop.ledger, { merchantId: shop.merchantId, orderId, shopperId, amount: 100_000, currency: 'CNY' });
        expect(await orderCompleted(shop.ledger, { merchantId: shop.merchantId, orderId })).toMatchObject({ status: 'completed', pool: { contribution: 16_000 } });
      }
      expect(await poolOf(shop.ledger.db, shop.merchantId)).toEqual({ amount: 32_000, supply: 190 });
      expect((await journalOfKind(shop.ledger.db, shop.merchantId, 'pool.mint')).map((entry) => entry.points)).toEqual([112, 78]);
    });

    it('journals the money on pool.contribute and the shopper’s points on pool.mint', async () => {
      const minted = await completeOrder(shop.ledger, shop.merchantId, { shopperId: 'alice', amount: 100_000, orderId: 'o1' });
      const [contribute] = await journalOfKind(shop.ledger.db, shop.merchantId, 'pool.contribute');
      const [mint] = await journalOfKind(shop.ledger.db, shop.merchantId, 'pool.mint');
      expect(contribute).toMatchObject({ shopper_id: 'alice', amount: 16_000, points: 0, ref: 'o1' });
      expect(mint).toMatchObject({ shopper_id: 'alice', amount: 0, points: 112, ref: 'o1', lot_id: minted.lotId });
    });

    it('contributes each line at its category’s pool share', async () => {
      shop.merchantId = await aPoolMerchant(shop.ledger, aPoolProgram({ poolShare: { default: 0.16, byCategory: { food: 0.08 } } }));
      const minted = await completeOrder(shop.ledger, shop.merchantId, {
        shopperId: 'alice',
        amount: 100_000,
        items: [
          { category: 'food', amount: 50_000 },
          { category: 'furniture', amount: 50_000 },
        ],
      });
      expect(minted.contribution).toBe(4_000 + 8_000);
    });

    it('lets the earning multiplier scale the mint ratio, but never beyond 1', async () => {
      const doubled = await completeOrder(shop.ledger, shop.merchantId, { shopperId: 'alice', amount: 100_000, multiplier: ratio(2) });
      expect(doubled.minted).toBe(160); // 0.7 × 2 = 1.4, capped at 1: the whole ¥160 at ¥1 a point
      const before = await poolOf(shop.ledger.db, shop.merchantId);
      await completeOrder(shop.ledger, shop.merchantId, { shopperId: 'bob', amount: 100_000, multiplier: ratio(3) });
      const after = await poolOf(shop.ledger.db, shop.merchantId);
      expect(after.amount * before.supply).toBeGreaterThanOrEqual(before.amount * after.supply);
    });

    it('applies the per-order cap to the minted value', async () => {
      shop.merchantId = await aPoolMerchant(shop.ledger, aPoolProgram({}, { earning: { perOrderCapRate: 0.1 } }));
      const minted = await completeOrder(shop.ledger, shop.merchantId, { shopperId: 'alice', amount: 100_000 });
      expect(minted.minted).toBe(100); // worth ¥100 = 10% of the order, not the uncapped 112
      expect(minted.withheld).toBe(12);
      expect(await poolOf(shop.ledger.db, shop.merchantId)).toEqual({ amount: 16_000, supply: 100 });
    });

    it('pauses minting at the monthly budget, records the shortfall and alerts the merchant once', async () => {
      shop.merchantId = await aPoolMerchant(shop.ledger, aPoolProgram({}, { earning: { monthlyBudgetRate: 0.05 } }));
      // The month's paid GMV, as orders.paid records it.
      await shop.ledger.db.insertInto('budget_months').values({ merchant_id: shop.merchantId, month: '2025-03', gmv: 200_000, issued_value: 0, shortfall_value: 0 }).execute();
      const first = await completeOrder(shop.ledger, shop.merchantId, { shopperId: 'alice', amount: 100_000 });
      expect(first.minted).toBe(100); // the budget is ¥100 (5% of ¥2,000): 100 points at ¥1
      const second = await completeOrder(shop.ledger, shop.merchantId, { shopperId: 'bob', amount: 100_000 });
      expect(second.minted).toBe(0);
      const budget = await shop.ledger.db.selectFrom('budget_months').selectAll().where('merchant_id', '=', shop.merchantId).executeTakeFirstOrThrow();
      expect(budget.issued_value).toBe(10_000);
      expect(budget.shortfall_value).toBeGreaterThan(0);
      const alerts = await shop.ledger.db.selectFrom('outbox').select('kind').where('merchant_id', '=', shop.merchantId).where('kind', '=', 'alert.budget').execute();
      expect(alerts).toHaveLength(1);
    });

    it('settles a refund debt with newly minted points first, burning them from the supply', async () => {
      await completeOrder(shop.ledger, shop.merchantId, { shopperId: 'alice', amount: 100_000, orderId: 'o1' });
      await spendPoints(shop.ledger, shop.merchantId, 'alice', 100);
      const refund = await refundPoints(shop.ledger, shop.merchantId, 'alice', 'o1', 112);
      expect(refund).toEqual({ burned: 12, debt: 100 });

      const small = await completeOrder(shop.ledger, shop.merchantId, { shopperId: 'alice', amount: 50_000, orderId: 'o2' });
      expect(small).toMatchObject({ minted: 56, debtSettled: 56, lotId: null }); // minted at the initial price again: the supply was 0
      expect(await shopperOf(shop.ledger.db, shop.merchantId, 'alice')).toMatchObject({ debt: 44, available: 0 });
      expect((await poolOf(shop.ledger.db, shop.merchantId)).supply).toBe(0);

      const next = await completeOrder(shop.ledger, shop.merchantId, { shopperId: 'alice', amount: 100_000, orderId: 'o3' });
      expect(next.debtSettled).toBe(44);
      expect(await shopperOf(shop.ledger.db, shop.merchantId, 'alice')).toMatchObject({ debt: 0, available: next.minted - 44 });
      expect((await poolOf(shop.ledger.db, shop.merchantId)).supply).toBe(next.minted - 44);
      const settlements = await journalOfKind(shop.ledger.db, shop.merchantId, 'debt.settle');
      expect(settlements.map((entry) => entry.points)).toEqual([-56, -44]);
    });
  });

  describe('a campaign limited to some categories', () => {
    it('mints each line at its own capped ratio through orders.paid and completed, as simulate replays it (docs/rules.md: 150 points)', async () => {
      const member = { id: 'member', name: { 'zh-CN': '会员', en: 'Member' }, minSpend: 0, multiplier: 1 };
      const program = aPoolProgram({ poolShare: { default: 0.1 }, mintRatio: 0.5 }, { earning: { tiers: [member], campaigns: [{ id: 'food-double', multiplier: 2, categories: ['food'] }] } });
      shop.merchantId = await aPoolMerchant(shop.ledger, program);
      const items = [
        { category: 'food', amount: 100_000 },
        { category: 'toys', amount: 100_000 },
      ];
      await orderPaid(shop.ledger, { merchantId: shop.merchantId, orderId: 'o1', shopperId: 'alice', amount: 200_000, currency: 'CNY', items });
      const completed = await orderCompleted(shop.ledger, { merchantId: shop.merchantId, orderId: 'o1' });
      // Food at min(0.5 × 2, 1) = 1, toys at 0.5: 0.75 of the ¥200 contribution at ¥1.
      expect(completed).toMatchObject({ pool: { contribution: 20_000, minted: 150 } });
      const replay = await simulateOrders(shop.ledger.db, { merchantId: shop.merchantId, program, days: 30, now: shop.clock.now });
      expect(replay.totals.issued).toBe(150);
    });
  });

  describe('burns and payouts', () => {
    it('pays floor(points × price × (1 − retention)) out of the pool when points are used', async () => {
      shop.merchantId = await aPoolMerchant(shop.ledger, aPoolProgram({ retention: { checkout: 0, coupon: 0.1, capOut: 0.2 } }));
      await completeOrder(shop.ledger, shop.merchantId, { shopperId: 'alice', amount: 100_000 });
      await completeOrder(shop.ledger, shop.merchantId, { shopperId: 'bob', amount: 100_000 });
      const checkout = await spendPoints(shop.ledger, shop.merchantId, 'alice', 10, 'checkout');
      expect(checkout.payout).toBe(Math.floor((10 * 32_000) / 190)); // 1684, nothing retained at checkout
      const pool = await poolOf(shop.ledger.db, shop.merchantId);
      const coupon = await spendPoints(shop.ledger, shop.merchantId, 'bob', 10, 'coupon');
      expect(coupon.payout).toBe(Math.floor((10 * pool.amount * 9) / (pool.supply * 10)));
      const [payout] = await journalOfKind(shop.ledger.db, shop.merchantId, 'pool.payout');
      expect(payout).toMatchObject({ shopper_id: 'alice', amount: -checkout.payout, points: 0 });
    });

    it('burns expired points with nothing paid out, so the price rises', async () => {
      await completeOrder(shop.ledger, shop.merchantId, { shopperId: 'alice', amount: 100_000 });
      await completeOrder(shop.ledger, shop.merchantId, { shopperId: 'bob', amount: 100_000 });
      await spendPoints(shop.ledger, shop.merchantId, 'bob', 78);
      const before = await poolOf(shop.ledger.db, shop.merchantId);
      const expired = await expireEverything(shop.ledger, shop.merchantId);
      expect(expired).toBe(112);
      expect(await poolOf(shop.ledger.db, shop.merchantId)).toEqual({ amount: before.amount, supply: 0 });
      const [burn] = await journalOfKind(shop.ledger.db, shop.merchantId, 'pool.burn');
      expect(burn).toMatchObject({ shopper_id: null, points: 0, amount: 0 });
    });

    it('keeps a refunded order’s contribution in the pool and takes its points out of the supply', async () => {
      await completeOrder(shop.ledger, shop.merchantId, { shopperId: 'alice', amount: 100_000, orderId: 'o1' });
      await completeOrder(shop.ledger, shop.merchantId, { shopperId: 'bob', amount: 100_000, orderId: 'o2' });
      const refund = await refundPoints(shop.ledger, shop.merchantId, 'bob', 'o2', 39, 50_000);
      expect(refund.burned).toBe(39);
      expect(await poolOf(shop.ledger.db, shop.merchantId)).toEqual({ amount: 32_000, supply: 151 });
      expect((await shopperOf(shop.ledger.db, shop.merchantId, 'bob')).capout_basis).toBe(50_000);
    });

    it('funds behaviour points at the current price, rounded up', async () => {
      await completeOrder(shop.ledger, shop.merchantId, { shopperId: 'alice', amount: 100_000 });
      await completeOrder(shop.ledger, shop.merchantId, { shopperId: 'bob', amount: 100_000 });
      const funded = await fundPoints(shop.ledger, shop.merchantId, 'carol', 10);
      expect(funded.funded).toBe(Math.ceil((10 * 32_000) / 190)); // 1685
      expect(await poolOf(shop.ledger.db, shop.merchantId)).toEqual({ amount: 32_000 + funded.funded, supply: 200 });
      const [, , fund] = await journalOfKind(shop.ledger.db, shop.merchantId, 'pool.contribute');
      expect(fund).toMatchObject({ shopper_id: 'carol', amount: funded.funded, points: 0 });
    });
  });

  describe('staged release', () => {
    beforeEach(async () => {
      shop.merchantId = await aPoolMerchant(shop.ledger, aPoolProgram({ release: { periods: 4, periodDays: 2, referralBoost: { invitees: 2, factor: 2 } } }));
    });

    it('mints into a vesting lot counted as pending, and releases a quarter each period', async () => {
      const minted = await completeOrder(shop.ledger, shop.merchantId, { shopperId: 'alice', amount: 100_000 });
      expect(minted.minted).toBe(112);
      expect(await shopperOf(shop.ledger.db, shop.merchantId, 'alice')).toMatchObject({ pending: 112, available: 0 });

      shop.clock.advance(DAY_MS);
      expect(await runReleases(shop.ledger, { merchantId: shop.merchantId })).toMatchObject({ released: 0 });

      shop.clock.advance(DAY_MS);
      expect(await runReleases(shop.ledger, { merchantId: shop.merchantId })).toMatchObject({ lots: 1, released: 28 });
      expect(await shopperOf(shop.ledger.db, shop.merchantId, 'alice')).toMatchObject({ pending: 84, available: 28 });
      await assertLedgerInvariants(shop.ledger.db, shop.merchantId);

      shop.clock.advance(6 * DAY_MS);
      expect(await runReleases(shop.ledger, { merchantId: shop.merchantId })).toMatchObject({ released: 84 });
      expect(await shopperOf(shop.ledger.db, shop.merchantId, 'alice')).toMatchObject({ pending: 0, available: 112 });
      const companion = await shop.ledger.db.selectFrom('lots').selectAll().where('id', '=', companionLotId(minted.lotId!)).executeTakeFirstOrThrow();
      expect(companion).toMatchObject({ status: 'available', points: 112, remaining: 112 });
      expect(await runReleases(shop.ledger, { merchantId: shop.merchantId })).toMatchObject({ lots: 0, released: 0 });
      expect(await journalOfKind(shop.ledger.db, shop.merchantId, 'pool.release')).toHaveLength(2);
    });

    it('releases a shopper with enough completed referrals faster, catching up at once', async () => {
      await completeOrder(shop.ledger, shop.merchantId, { shopperId: 'alice', amount: 100_000 });
      shop.clock.advance(2 * DAY_MS);
      await runReleases(shop.ledger, { merchantId: shop.merchantId });
      await shop.ledger.db.updateTable('shoppers').set({ completed_referrals: 2 }).where('merchant_id', '=', shop.merchantId).where('shopper_id', '=', 'alice').execute();
      await shop.ledger.write((tx) => reviewReleaseScheduleInTx(tx, { merchantId: shop.merchantId, shopperId: 'alice' }));
      // Two days at double speed are two periods: half is released.
      expect(await runReleases(shop.ledger, { merchantId: shop.merchantId })).toMatchObject({ released: 28 });
      expect(await shopperOf(shop.ledger.db, shop.merchantId, 'alice')).toMatchObject({ pending: 56, available: 56 });
    });

    it('never lets a vesting lot’s points be spent before they are released', async () => {
      await completeOrder(shop.ledger, shop.merchantId, { shopperId: 'alice', amount: 100_000 });
      await expectRefusal(spendPoints(shop.ledger, shop.merchantId, 'alice', 1), 'INSUFFICIENT_POINTS');
    });
  });

  describe('risk controls', () => {
    it('throttles minting once supply grew more than maxSupplyGrowth over the window, and alerts once a day', async () => {
      shop.merchantId = await aPoolMerchant(shop.ledger, aPoolProgram({ risk: { maxSupplyGrowth: 0.12, growthWindowDays: 30 } }));
      await completeOrder(shop.ledger, shop.merchantId, { shopperId: 'alice', amount: 100_000 });
      shop.clock.advance(31 * DAY_MS);
      // The window starts with 112 outstanding: at most floor(112 × 1.12) = 125 may be.
      const throttled = await completeOrder(shop.ledger, shop.merchantId, { shopperId: 'bob', amount: 100_000 });
      expect(throttled.minted).toBe(13);
      expect(throttled.withheld).toBe(78 - 13);
      const paused = await completeOrder(shop.ledger, shop.merchantId, { shopperId: 'carol', amount: 100_000 });
      expect(paused.minted).toBe(0);
      expect(paused.contribution).toBe(16_000);
      const alerts = await shop.ledger.db.selectFrom('outbox').selectAll().where('merchant_id', '=', shop.merchantId).where('kind', '=', 'alert.supplyGrowth').execute();
      expect(alerts).toHaveLength(1);
      shop.clock.advance(DAY_MS);
      await completeOrder(shop.ledger, shop.merchantId, { shopperId: 'carol', amount: 100_000 });
      expect(await shop.ledger.db.selectFrom('outbox').select('id').where('merchant_id', '=', shop.merchantId).where('kind', '=', 'alert.supplyGrowth').execute()).toHaveLength(2);
    });

    it('flags a shopper holding more than concentrationReview of the supply; their capture waits for the merchant’s approval', async () => {
      shop.merchantId = await aPoolMerchant(shop.ledger, aPoolProgram({ risk: { concentrationReview: 0.5 } }));
      await completeOrder(shop.ledger, shop.merchantId, { shopperId: 'alice', amount: 100_000 });
      expect((await shopperOf(shop.ledger.db, shop.merchantId, 'alice')).flagged).toBe(1);
      await completeOrder(shop.ledger, shop.merchantId, { shopperId: 'bob', amount: 10_000 });
      expect((await shopperOf(shop.ledger.db, shop.merchantId, 'bob')).flagged).toBe(0);

      const holdId = await placeHold(shop.ledger, shop.merchantId, 'alice', 20);
      const bobHold = await placeHold(shop.ledger, shop.merchantId, 'bob', 2);
      const { program } = await getProgram(shop.ledger.db, shop.merchantId);
      expect((await listPendingApprovals(shop.ledger.db, shop.merchantId)).map((approval) => approval.holdId)).toEqual([holdId]);
      await expectRefusal(
        shop.ledger.write((tx) => assertRedemptionApprovedInTx(tx, { merchantId: shop.merchantId, shopperId: 'alice', holdId, program })),
        'REDEMPTION_AWAITING_APPROVAL',
      );
      await shop.ledger.write((tx) => assertRedemptionApprovedInTx(tx, { merchantId: shop.merchantId, shopperId: 'bob', holdId: bobHold, program }));

      const approved = await approveRedemption(shop.ledger, { merchantId: shop.merchantId, holdId });
      expect(approved).toMatchObject({ holdId, shopperId: 'alice', points: 20 });
      expect(await approveRedemption(shop.ledger, { merchantId: shop.merchantId, holdId })).toEqual(approved);
      await shop.ledger.write((tx) => assertRedemptionApprovedInTx(tx, { merchantId: shop.merchantId, shopperId: 'alice', holdId, program }));
      expect(await listPendingApprovals(shop.ledger.db, shop.merchantId)).toEqual([]);
      expect(await journalOfKind(shop.ledger.db, shop.merchantId, 'hold.approve')).toHaveLength(1);
      await expectRefusal(approveRedemption(shop.ledger, { merchantId: shop.merchantId, holdId: 'nope' }), 'NOT_FOUND');
    });

    it('asks the share at each redemption: others spending can put a shopper over the line, and their hold then waits and is listed', async () => {
      shop.merchantId = await aPoolMerchant(shop.ledger, aPoolProgram({ risk: { concentrationReview: 0.5 } }));
      await completeOrder(shop.ledger, shop.merchantId, { shopperId: 'bob', amount: 1_000_000 });
      await completeOrder(shop.ledger, shop.merchantId, { shopperId: 'alice', amount: 100_000 });
      expect((await shopperOf(shop.ledger.db, shop.merchantId, 'alice')).flagged).toBe(0);
      const holdId = await placeHold(shop.ledger, shop.merchantId, 'alice', 20);
      expect(await listPendingApprovals(shop.ledger.db, shop.merchantId)).toEqual([]);

      // Bob spends nearly all of his: nothing of alice's changes, but she now holds most of the supply.
      const bob = await shopperOf(shop.ledger.db, shop.merchantId, 'bob');
      await spendPoints(shop.ledger, shop.merchantId, 'bob', bob.available - 1);
      expect((await getShopper(shop.ledger.db, shop.merchantId, 'alice', shop.clock.now)).flagged).toBe(true);
      expect((await listPendingApprovals(shop.ledger.db, shop.merchantId)).map((approval) => approval.holdId)).toEqual([holdId]);
      const { program } = await getProgram(shop.ledger.db, shop.merchantId);
      await expectRefusal(
        shop.ledger.write((tx) => assertRedemptionApprovedInTx(tx, { merchantId: shop.merchantId, shopperId: 'alice', holdId, program })),
        'REDEMPTION_AWAITING_APPROVAL',
      );
      await approveRedemption(shop.ledger, { merchantId: shop.merchantId, holdId });
      await shop.ledger.write((tx) => assertRedemptionApprovedInTx(tx, { merchantId: shop.merchantId, shopperId: 'alice', holdId, program }));
      expect(await listPendingApprovals(shop.ledger.db, shop.merchantId)).toEqual([]);
    });

    it('clears the flag once the shopper no longer holds that share', async () => {
      shop.merchantId = await aPoolMerchant(shop.ledger, aPoolProgram({ risk: { concentrationReview: 0.5 } }));
      await completeOrder(shop.ledger, shop.merchantId, { shopperId: 'alice', amount: 100_000 });
      await completeOrder(shop.ledger, shop.merchantId, { shopperId: 'bob', amount: 50_000 });
      const flagged = async () => ({
        stored: (await shopperOf(shop.ledger.db, shop.merchantId, 'alice')).flagged,
        now: (await getShopper(shop.ledger.db, shop.merchantId, 'alice', shop.clock.now)).flagged,
      });
      expect(await flagged()).toEqual({ stored: 1, now: true });
      await spendPoints(shop.ledger, shop.merchantId, 'alice', 80);
      expect(await flagged()).toEqual({ stored: 0, now: false });
    });
  });

  it('gives the widgets the price history, oldest first', async () => {
    await completeOrder(shop.ledger, shop.merchantId, { shopperId: 'alice', amount: 100_000 });
    shop.clock.advance(DAY_MS);
    await completeOrder(shop.ledger, shop.merchantId, { shopperId: 'bob', amount: 100_000 });
    const history = await poolHistory(shop.ledger.db, shop.merchantId, { limit: 1 });
    expect(history).toEqual([{ at: shop.clock.now.getTime(), seq: expect.any(Number), amount: 32_000, supply: 190, price: '168.4211' }]);
    const { program } = await getProgram(shop.ledger.db, shop.merchantId);
    expect(program.valuation.kind).toBe('pool');
  });
});
