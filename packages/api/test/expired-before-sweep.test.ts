import { describeEachDialect } from '@jifen/db/testing';
import { expect, it } from 'vitest';
import { quoteCheckout } from '../src/checkout';
import { catalog, upsertTemplate } from '../src/coupons';
import { shopperMe } from '../src/shoppers';
import { runSweep } from '../src/sweep';
import { MINUTE_MS, aClock, aMerchant, aTemplate, balanceOf, givePoints } from './support-holds';
import { useShop } from './support-shop';

/**
 * Between a lot's expiry instant and the next sweep (every `JOB_INTERVAL_SECONDS`, or a cron job),
 * every place the points would be used — the checkout quote, the coupon catalog and exchange, holds —
 * already refuses them, and `shopper.me`'s `expiring` no longer lists them. `shopper.me` must not
 * show them as available either (it once did: a balance the shopper could not spend).
 */
describeEachDialect('shopper.me after an expiry, before the sweep', (dialect) => {
  const shop = useShop(dialect, { clock: () => aClock('2025-03-01T02:00:00Z'), merchant: aMerchant });

  it('does not show expired points as available', async () => {
    const expiresAt = new Date('2025-03-01T16:00:00Z'); // end of 1 March in Shanghai
    await givePoints(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', points: 1_000, expiresAt });
    await upsertTemplate(shop.ledger, { merchantId: shop.merchantId, template: aTemplate({ pointsCost: 500 }) });

    const before = await shopperMe(shop.ledger.db, shop.merchantId, 'alice', shop.clock.now);
    expect(before.balance.available).toBe(1_000);
    expect(before.expiring).toMatchObject({ date: '2025-03-01', points: 1_000 });

    // Five minutes into 2 March (Shanghai); the sweep has not run yet.
    shop.clock.now = new Date(expiresAt.getTime() + 5 * MINUTE_MS);
    const quote = await quoteCheckout(shop.ledger.db, { merchantId: shop.merchantId, shopperId: 'alice', cartAmount: 100_000 }, shop.clock.now);
    const offers = await catalog(shop.ledger.db, { merchantId: shop.merchantId, shopperId: 'alice' }, shop.clock.now);
    const me = await shopperMe(shop.ledger.db, shop.merchantId, 'alice', shop.clock.now);
    expect(quote.availablePoints).toBe(0);
    expect(offers[0]?.reason).toMatchObject({ code: 'INSUFFICIENT_POINTS', available: 0 });
    expect(me.expiring).toBeNull();
    // shopper.me shows what the shopper can use.
    expect(me.balance.available).toBe(quote.availablePoints);

    // The sweep then expires the lot: the stored balance agrees, and nothing changes on screen.
    await runSweep(shop.ledger);
    expect(await balanceOf(shop.ledger.db, shop.merchantId, 'alice')).toMatchObject({ available: 0 });
    expect((await shopperMe(shop.ledger.db, shop.merchantId, 'alice', shop.clock.now)).balance.available).toBe(0);
  });
});
