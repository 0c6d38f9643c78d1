import { describeEachDialect } from '@jifen/db/testing';
import { expect, it } from 'vitest';
import { runCapOuts } from '../src/capout';
import type { Ledger } from '../src/ledger';
import { updateProgram } from '../src/merchants';
import { orderCompleted, orderPaid } from '../src/orders';
import { aPoolClock, aPoolMerchant, aPoolProgram, poolOf, shopperOf, spendPoints } from './support-pool';
import { useShop } from './support-shop';

/**
 * A pool order paid under an older program version completes after the merchant changed the cap-out
 * settings. The completion mints under its order's version (docs/rules.md), but the shop-wide cap-out
 * check it runs for every holder is the current program's: holders are judged due by the current
 * `capMultiple` and paid with the current `retention.capOut` — as the sweep's check judges them. (It
 * once ran under the order's version.)
 */

const retention1 = { checkout: 0, coupon: 1, capOut: 0.2 };
/** One tier, so a tier upgrade does not scale the mint. */
const flat = { earning: { tiers: [{ id: 'member', name: { 'zh-CN': '会员', en: 'Member' }, minSpend: 0, multiplier: 1 }] } };
const program = (valuation: Parameters<typeof aPoolProgram>[0]) => aPoolProgram(valuation, flat);

async function paidAndCompleted(ledger: Ledger, merchantId: string, shopperId: string, orderId: string, amount: number): Promise<void> {
  await orderPaid(ledger, { merchantId, orderId, shopperId, amount, currency: 'CNY' });
  await orderCompleted(ledger, { merchantId, orderId });
}

/** Alice ¥1,000 → 112 points, basis ¥1,000; Bob ¥10,000 → 784 points spent on a coupon the pool keeps whole: price ¥15.71, Alice's 1.2× trigger ¥10.71, 2× trigger ¥17.86. */
async function aliceDueUnderOneTwoOnly(ledger: Ledger, merchantId: string): Promise<void> {
  await paidAndCompleted(ledger, merchantId, 'alice', 'a1', 100_000);
  await paidAndCompleted(ledger, merchantId, 'bob', 'b1', 1_000_000);
  const bob = await shopperOf(ledger.db, merchantId, 'bob');
  await spendPoints(ledger, merchantId, 'bob', bob.available, 'coupon');
}

describeEachDialect('cap-outs run by the completion of an order paid under an older version', (dialect) => {
  const shop = useShop(dialect, {
    clock: () => aPoolClock(),
    merchant: (ledger) => aPoolMerchant(ledger, program({ capMultiple: 1.2, retention: retention1 })),
  });

  it('does not convert a holder who is not due under the current (raised) capMultiple', async () => {
    // Carol's small order is paid under v1 (capMultiple 1.2) and still waits for delivery.
    await orderPaid(shop.ledger, { merchantId: shop.merchantId, orderId: 'c1', shopperId: 'carol', amount: 10_000, currency: 'CNY' });
    await aliceDueUnderOneTwoOnly(shop.ledger, shop.merchantId);
    // The merchant raises capMultiple to 2: at ¥15.71 Alice (trigger ¥17.86) is no longer due.
    await updateProgram(shop.ledger, shop.merchantId, program({ capMultiple: 2, retention: retention1 }));

    // Even with Carol's ¥16 contribution added, the price stays below Alice's 2× trigger (2 × ¥1,000 / 112).
    const pool = await poolOf(shop.ledger.db, shop.merchantId);
    expect(pool).toEqual({ amount: 176_000, supply: 112 });
    expect((176_000n + 1_600n) * 112n < 2n * 100_000n * 112n).toBe(true);

    // Carol's v1 order completes; its cap-out check should judge holders by today's 2×.
    const completed = await orderCompleted(shop.ledger, { merchantId: shop.merchantId, orderId: 'c1' });
    expect(completed).toMatchObject({ status: 'completed' });
    const alice = await shopperOf(shop.ledger.db, shop.merchantId, 'alice');
    expect(alice.available).toBe(112);
    expect(alice.capout_basis).toBe(100_000);
  });

  it('pays a cap-out with the current retention.capOut, whichever order’s completion triggers it', async () => {
    await orderPaid(shop.ledger, { merchantId: shop.merchantId, orderId: 'c1', shopperId: 'carol', amount: 10_000, currency: 'CNY' });
    await aliceDueUnderOneTwoOnly(shop.ledger, shop.merchantId);
    // The merchant keeps 50% of a cap-out in the pool from now on (capMultiple unchanged: Alice is due).
    await updateProgram(shop.ledger, shop.merchantId, program({ capMultiple: 1.2, retention: { checkout: 0, coupon: 1, capOut: 0.5 } }));

    await orderCompleted(shop.ledger, { merchantId: shop.merchantId, orderId: 'c1' });
    const coupon = await shop.ledger.db.selectFrom('coupons').selectAll().where('merchant_id', '=', shop.merchantId).where('shopper_id', '=', 'alice').where('source', '=', 'capout').executeTakeFirstOrThrow();
    expect(Number(coupon.points_cost)).toBe(112);
    // The pool just before the conversion: what it holds now plus what it paid; the supply plus the 112 burned.
    const after = await poolOf(shop.ledger.db, shop.merchantId);
    const poolBefore = BigInt(after.amount) + BigInt(coupon.value);
    const supplyBefore = BigInt(after.supply) + 112n;
    const worth = (poolBefore * 112n) / supplyBefore;
    // floor(points × price × (1 − 0.5)), the retention the merchant set before this cap-out happened.
    expect(Number(coupon.value)).toBe(Number((poolBefore * 112n) / (supplyBefore * 2n)));
    expect(Number(coupon.value)).toBeLessThan(Number(worth));
  });

  it('the sweep’s cap-out job (current program) leaves the same holder alone', async () => {
    await aliceDueUnderOneTwoOnly(shop.ledger, shop.merchantId);
    await updateProgram(shop.ledger, shop.merchantId, program({ capMultiple: 2, retention: retention1 }));
    expect((await runCapOuts(shop.ledger, { merchantId: shop.merchantId })).converted).toBe(0);
    expect((await shopperOf(shop.ledger.db, shop.merchantId, 'alice')).available).toBe(112);
  });
});
