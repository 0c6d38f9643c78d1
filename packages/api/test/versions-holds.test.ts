import { describeEachDialect } from '@jifen/db/testing';
import { expect, it } from 'vitest';
import { reserveHold } from '../src/holds';
import { updateProgram } from '../src/merchants';
import { orderPaid } from '../src/orders';
import { aClock, aMerchant, balanceOf, givePoints } from './support-holds';
import { useShop } from './support-shop';

/**
 * A hold placed under program v1 and captured by an order paid (same cart) after the merchant changed
 * `redemption`. The hold was quoted and placed under the rules then in force, the widget told the shop
 * the cash due, and the shopper paid that cash: the capture checks the hold against the order under
 * the rules it was placed under (its `hold.place` entry's version). HOLD_EXCEEDS_ORDER guards against
 * a hold placed for one cart paying for a smaller order, not against a rule change mid-checkout — it
 * once refused the whole paid order here.
 */
describeEachDialect('a hold placed under v1, captured under v2', (dialect) => {
  const shop = useShop(dialect, { clock: () => aClock('2025-03-01T02:00:00Z'), merchant: (ledger) => aMerchant(ledger, { earning: { monthlyBudgetRate: null } }) });

  it('captures a hold on the very cart it was reserved for after maxShare was lowered', async () => {
    await givePoints(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', points: 10_000 });
    // v1: maxShare 50% — 5,000 points pay ¥50 of a ¥100 cart; the shopper is told to pay ¥50 cash.
    const hold = await reserveHold(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', checkoutId: 'c1', points: 5_000, cartAmount: 10_000 });
    expect(hold).toMatchObject({ points: 5_000, value: 5_000, cashDue: 5_000 });

    // A minute later the merchant lowers maxShare to 20% for future checkouts.
    await updateProgram(shop.ledger, shop.merchantId, { earning: { monthlyBudgetRate: null }, redemption: { maxShare: 0.2 } });
    shop.clock.advance(60_000);

    // The shop's backend reports the order the shopper just paid (¥50 cash + the held points).
    const paid = await orderPaid(shop.ledger, { merchantId: shop.merchantId, orderId: 'o1', shopperId: 'alice', amount: 10_000, currency: 'CNY', holdId: hold.holdId });
    expect(paid.captured).toEqual({ holdId: hold.holdId, points: 5_000, value: 5_000 });
    expect(await balanceOf(shop.ledger.db, shop.merchantId, 'alice')).toMatchObject({ available: 5_000, held: 0 });
  });

  it('captures a hold on the very cart it was reserved for after a category was excluded from redemption', async () => {
    await givePoints(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', points: 10_000 });
    const items = [{ category: 'gift', amount: 10_000 }];
    const hold = await reserveHold(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', checkoutId: 'c1', points: 5_000, cartAmount: 10_000, items });
    await updateProgram(shop.ledger, shop.merchantId, { earning: { monthlyBudgetRate: null }, redemption: { excludedCategories: ['gift'] } });
    shop.clock.advance(60_000);
    const paid = await orderPaid(shop.ledger, { merchantId: shop.merchantId, orderId: 'o1', shopperId: 'alice', amount: 10_000, currency: 'CNY', items, holdId: hold.holdId });
    expect(paid.captured).toEqual({ holdId: hold.holdId, points: 5_000, value: 5_000 });
  });
});
