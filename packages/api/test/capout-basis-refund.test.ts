import { describeEachDialect } from '@jifen/db/testing';
import { expect, it } from 'vitest';
import { runCapOuts } from '../src/capout';
import { orderCompleted, orderPaid, orderRefunded } from '../src/orders';
import { aPoolClock, aPoolMerchant, aPoolProgram, shopperOf, spendPoints } from './support-pool';
import { useShop } from './support-shop';

/**
 * SPEC §3.2 "each shopper has a basis = completed spend since their last cap-out" (docs/rules.md:
 * "less refunds"). A refund of an order completed *before* the last cap-out leaves the basis built
 * by orders completed after it alone: Alice caps out on order A, buys order B (¥500, basis ¥500),
 * then A is refunded in full. It once took A's amount out of B's basis, clearing her trigger, so B's
 * points could not cap out until she bought again.
 */
describeEachDialect('a refund of an order from before the last cap-out', (dialect) => {
  const shop = useShop(dialect, {
    clock: () => aPoolClock(),
    merchant: (ledger) => aPoolMerchant(ledger, aPoolProgram({ capMultiple: 1.2, retention: { checkout: 0, coupon: 1, capOut: 0.2 } })),
  });

  it('the basis after the cap-out counts only the orders completed since it', async () => {
    const m = shop.merchantId;
    const pay = (orderId: string, shopperId: string, amount: number) => orderPaid(shop.ledger, { merchantId: m, orderId, shopperId, amount, currency: 'CNY' });
    await pay('A', 'alice', 100_000);
    await orderCompleted(shop.ledger, { merchantId: m, orderId: 'A' });
    // Bob's large order, spent on a coupon the pool keeps in full, lifts the price past Alice's trigger.
    await pay('bob-1', 'bob', 1_000_000);
    await orderCompleted(shop.ledger, { merchantId: m, orderId: 'bob-1' });
    await spendPoints(shop.ledger, m, 'bob', (await shopperOf(shop.ledger.db, m, 'bob')).available, 'coupon');
    const run = await runCapOuts(shop.ledger, { merchantId: m });
    expect(run.capOuts.map((capOut) => capOut.shopperId)).toEqual(['alice']);
    expect(await shopperOf(shop.ledger.db, m, 'alice')).toMatchObject({ capout_basis: 0, available: 0 });

    await pay('B', 'alice', 50_000);
    await orderCompleted(shop.ledger, { merchantId: m, orderId: 'B' });
    expect(await shopperOf(shop.ledger.db, m, 'alice')).toMatchObject({ capout_basis: 50_000 });

    await orderRefunded(shop.ledger, { merchantId: m, orderId: 'A', refundId: 'refund-A', amount: 100_000 });
    const alice = await shopperOf(shop.ledger.db, m, 'alice');
    // B is still completed spend since the last cap-out.
    expect(alice.capout_basis).toBe(50_000);
  });
});
