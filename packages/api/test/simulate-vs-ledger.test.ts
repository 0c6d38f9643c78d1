import { describeEachDialect, useTestDb } from '@jifen/db/testing';
import type { ProgramInput } from '@jifen/rules';
import { expect, it } from 'vitest';
import { Ledger } from '../src/ledger';
import { cancelCoupon, exchangeCoupon, upsertTemplate } from '../src/coupons';
import { orderCompleted, orderPaid, orderRefunded } from '../src/orders';
import { reportsSummary } from '../src/reports';
import { simulateOrders } from '../src/simulate-orders';
import { aTemplate } from './support-holds';
import { DAY_MS, aClock, aPaidOrder, aPoolShopProgram, aShop, entriesOf, orderOf } from './support-orders';

/**
 * `simulateOrders` run with the merchant's *current* program over a history the ledger itself
 * processed reports what the ledger did, beyond the differences docs/rules.md states. Each case here
 * once differed: a pool mint's per-order cap on the whole order after a refund before completion, an
 * order's jifen coupon discount left out, a cancelled exchange replayed as points redeemed.
 */
describeEachDialect('simulate with the current program reproduces the ledger', (dialect) => {
  const database = useTestDb(dialect);

  it('pool: an order partly refunded before completion mints what the ledger minted (per-order cap on the kept amount)', async () => {
    const clock = aClock('2025-03-03T02:00:00Z');
    const ledger = new Ledger(database(), { clock: clock.read });
    // Default per-order cap (10% of the eligible amount) stays on; no budget in the way.
    const program: ProgramInput = aPoolShopProgram();
    const merchantId = await aShop(ledger, program);
    await orderPaid(ledger, aPaidOrder(merchantId, { orderId: 'p1', amount: 100_000 }));
    clock.advance(DAY_MS);
    await orderRefunded(ledger, { merchantId, orderId: 'p1', refundId: 'r1', amount: 50_000 });
    clock.advance(DAY_MS);
    await orderCompleted(ledger, { merchantId, orderId: 'p1' });
    const minted = Number((await orderOf(ledger.db, merchantId, 'p1')).minted);

    const replay = await simulateOrders(ledger.db, { merchantId, program, days: 30, now: clock.now });
    expect(replay.orders).toBe(1);
    expect(replay.totals.issued).toBe(minted);
  });

  /** A classic shop (no monthly budget) where alice's first ¥1,000 order was paid and completed on 3 March. */
  async function aClassicShopWithOneOrder() {
    const clock = aClock('2025-03-03T02:00:00Z');
    const ledger = new Ledger(database(), { clock: clock.read });
    const program: ProgramInput = { earning: { monthlyBudgetRate: null } };
    const merchantId = await aShop(ledger, program);
    await orderPaid(ledger, aPaidOrder(merchantId, { orderId: 'first' }));
    await orderCompleted(ledger, { merchantId, orderId: 'first' });
    return { clock, ledger, program, merchantId };
  }

  /** Alice exchanges points for a coupon of `template`, and the clock moves on a day. */
  async function aliceExchanges(shop: Awaited<ReturnType<typeof aClassicShopWithOneOrder>>, template: NonNullable<Parameters<typeof aTemplate>[0]> & { id: string }) {
    await upsertTemplate(shop.ledger, { merchantId: shop.merchantId, template: aTemplate(template) });
    const coupon = await exchangeCoupon(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', templateId: template.id, idempotencyKey: 'k1' });
    shop.clock.advance(DAY_MS);
    return coupon;
  }

  /** Points earned as the ledger journaled them, and as the replay under the shop's program issues them. */
  async function earnedByLedgerAndReplay(shop: Awaited<ReturnType<typeof aClassicShopWithOneOrder>>) {
    const ledger = (await entriesOf(shop.ledger.db, shop.merchantId, { kind: 'earn' })).reduce((sum, entry) => sum + entry.points, 0);
    const replay = await simulateOrders(shop.ledger.db, { merchantId: shop.merchantId, program: shop.program, days: 30, now: shop.clock.now });
    return { ledger, replay: replay.totals.issued };
  }

  it('classic: an order paid with a jifen coupon earns in the replay what it earned in the ledger (on the goods less the coupon)', async () => {
    const shop = await aClassicShopWithOneOrder();
    const coupon = await aliceExchanges(shop, { id: 'big', discount: { kind: 'fixed', amountOff: 20_000 }, pointsCost: 500 });
    const paid = await orderPaid(shop.ledger, aPaidOrder(shop.merchantId, { orderId: 'with-coupon', couponCodes: [coupon.code] }));
    expect(paid.coupons?.discount).toBe(20_000);
    // 8,000 (new, ¥1,000) + 4,800 (silver ×1.2 on ¥800 paid in cash).
    expect(await earnedByLedgerAndReplay(shop)).toEqual({ ledger: 12_800, replay: 12_800 });
  });

  it('classic: an order paid with a free-shipping coupon earns on its full goods, in the ledger and in the replay', async () => {
    const shop = await aClassicShopWithOneOrder();
    const coupon = await aliceExchanges(shop, { id: 'ship', discount: { kind: 'freeShipping' }, pointsCost: 500 });
    await orderPaid(shop.ledger, aPaidOrder(shop.merchantId, { orderId: 'shipped', amount: 102_000, shipping: 2_000, couponCodes: [coupon.code] }));
    // 8,000 (new, ¥1,000) + 6,000 (silver ×1.2 on the ¥1,000 of goods; the ¥20 shipping earns nothing).
    expect(await earnedByLedgerAndReplay(shop)).toEqual({ ledger: 14_000, replay: 14_000 });
  });

  it('classic: a coupon exchange the shopper cancelled (points given back) is not replayed as points redeemed', async () => {
    const shop = await aClassicShopWithOneOrder();
    const { clock, ledger, program, merchantId } = shop;
    const coupon = await aliceExchanges(shop, { id: 'undo', pointsCost: 500, isCancellable: true });
    await cancelCoupon(ledger, { merchantId, shopperId: 'alice', code: coupon.code });
    const report = await reportsSummary(ledger.db, merchantId, clock.now);

    const replay = await simulateOrders(ledger.db, { merchantId, program, days: 30, now: clock.now });
    expect(report.redeemedThisMonth).toBe(0);
    expect(report.liability.points).toBe(8_000);
    expect(replay.totals.redeemed).toBe(report.redeemedThisMonth);
    expect(replay.days.at(-1)?.liability.points).toBe(report.liability.points);
  });
});
