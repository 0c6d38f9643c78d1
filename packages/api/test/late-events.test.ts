import { describeEachDialect } from '@jifen/db/testing';
import { expect, it } from 'vitest';
import { adjustPoints } from '../src/adjustments';
import { exchangeCoupon, upsertTemplate } from '../src/coupons';
import { reserveHold } from '../src/holds';
import { orderPaid } from '../src/orders';
import { aTemplate, expectRefusal, givePoints } from './support-holds';
import { aClock, aPaidOrder, aShop, balanceOf, theWorkedExampleProgram } from './support-orders';
import { useShop } from './support-shop';

/**
 * Events whose own time differs from jifen's clock: shop platforms retry a webhook for hours, and a
 * shop's clock may run a little ahead. What an order was entitled to is decided at its `paidAt`.
 */

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;

describeEachDialect('paid events that arrive late or a little early', (dialect) => {
  // 00:10 on 1 April 2025 in Shanghai.
  const shop = useShop(dialect, { clock: () => aClock('2025-03-31T16:10:00Z') });

  it('captures a hold that was live when the order was paid, though the event comes after its expiry (before the sweep)', async () => {
    shop.merchantId = await aShop(shop.ledger, theWorkedExampleProgram());
    await adjustPoints(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', points: 20_000, reason: 'gift', idempotencyKey: 'gift' });
    const hold = await reserveHold(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', checkoutId: 'chk', points: 20_000, cartAmount: 100_000 });
    const paidAt = new Date(shop.clock.now.getTime() + 5 * MINUTE_MS); // paid 5 minutes after reserving (TTL 15 min)
    shop.clock.advance(2 * HOUR_MS); // the webhook arrives 2 hours later; no sweep has run
    const paid = await orderPaid(shop.ledger, aPaidOrder(shop.merchantId, { orderId: 'late-with-points', holdId: hold.holdId, paidAt }));
    expect(paid.captured).toEqual({ holdId: hold.holdId, points: 20_000, value: 20_000 });
  });

  it('refuses a hold that had expired when the order was paid', async () => {
    shop.merchantId = await aShop(shop.ledger, theWorkedExampleProgram());
    await adjustPoints(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', points: 20_000, reason: 'gift', idempotencyKey: 'gift' });
    const hold = await reserveHold(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', checkoutId: 'chk', points: 20_000, cartAmount: 100_000 });
    const paidAt = new Date(shop.clock.now.getTime() + 16 * MINUTE_MS); // a minute past the 15-minute hold
    shop.clock.advance(2 * HOUR_MS);
    await expectRefusal(orderPaid(shop.ledger, aPaidOrder(shop.merchantId, { orderId: 'too-late', holdId: hold.holdId, paidAt })), 'HOLD_NOT_ACTIVE');
  });

  it('applies a coupon used on its last valid day when the paid event arrives after local midnight', async () => {
    shop.merchantId = await aShop(shop.ledger, theWorkedExampleProgram());
    shop.clock.set('2025-03-31T12:00:00Z'); // 20:00 on 31 March in Shanghai: a one-day coupon is usable through the day
    await givePoints(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', points: 2_000 });
    await upsertTemplate(shop.ledger, { merchantId: shop.merchantId, template: aTemplate({ validityDays: 1 }) });
    const coupon = await exchangeCoupon(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', templateId: 'five-off', idempotencyKey: 'k1' });
    const paidAt = new Date('2025-03-31T15:50:00Z'); // paid with it at 23:50 …
    shop.clock.set('2025-03-31T16:10:00Z'); // … reported at 00:10 on 1 April
    const paid = await orderPaid(shop.ledger, aPaidOrder(shop.merchantId, { orderId: 'paid-with-coupon', amount: 10_000, couponCodes: [coupon.code], paidAt }));
    expect(paid.coupons).toEqual({ discount: 500, coupons: [{ code: coupon.code, discount: 500 }] });
  });

  it('prices the order paid first as the shopper’s `new` one, though a later-paid order arrived before it', async () => {
    shop.merchantId = await aShop(shop.ledger, theWorkedExampleProgram());
    const later = await orderPaid(shop.ledger, aPaidOrder(shop.merchantId, { orderId: 'paid-00h10', amount: 10_000 }));
    const earlier = await orderPaid(shop.ledger, aPaidOrder(shop.merchantId, { orderId: 'paid-22h10', amount: 10_000, paidAt: new Date(shop.clock.now.getTime() - 2 * HOUR_MS) }));
    // ¥100 × 5% × new 1.6 = 800 points; regular would be 500. Each was `new` when it arrived: no order is re-priced.
    expect([earlier.earned.points, later.earned.points]).toEqual([800, 800]);
  });

  it('with pendingDays 0 makes the points available at once, even from an order stamped 2 minutes ahead of jifen', async () => {
    shop.merchantId = await aShop(shop.ledger, theWorkedExampleProgram({ earning: { pendingDays: 0 } }));
    const paid = await orderPaid(shop.ledger, aPaidOrder(shop.merchantId, { paidAt: new Date(shop.clock.now.getTime() + 2 * MINUTE_MS) }));
    expect(paid.earned.status).toBe('available');
    expect(await balanceOf(shop.ledger.db, shop.merchantId, 'alice')).toMatchObject({ available: 8_000, pending: 0 });
  });
});
