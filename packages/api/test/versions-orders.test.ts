import { describeEachDialect } from '@jifen/db/testing';
import { expect, it } from 'vitest';
import { reserveHold } from '../src/holds';
import { updateProgram } from '../src/merchants';
import { orderCancelled, orderCompleted, orderPaid, orderRefunded } from '../src/orders';
import { assertLedgerInvariants } from '../src/verify';
import { aClock, balanceOf, orderOf } from './support-orders';
import { givePoints } from './support-holds';
import { aPoolMerchant, aPoolProgram, poolOf } from './support-pool';
import { aShop } from './support-orders';
import { useShop } from './support-shop';

const DAY = 86_400_000;

/** One order's life across three program versions (fixed-value): refunds take back what it earned, never today's rules. */
describeEachDialect('an order across program versions (fixed)', (dialect) => {
  const shop = useShop(dialect, { clock: () => aClock(), merchant: (ledger) => aShop(ledger, { earning: { monthlyBudgetRate: null, segments: { new: 1, regular: 1, vip: 1 } } }) });

  it('paid v1 with a hold, completed v2, refunded in three parts under v3: clawback and restore follow the order', async () => {
    const m = shop.merchantId;
    await givePoints(shop.ledger, { merchantId: m, shopperId: 'alice', points: 20_000 });
    const hold = await reserveHold(shop.ledger, { merchantId: m, shopperId: 'alice', checkoutId: 'c1', points: 10_000, cartAmount: 100_000 });
    const paid = await orderPaid(shop.ledger, { merchantId: m, orderId: 'o1', shopperId: 'alice', amount: 100_000, currency: 'CNY', holdId: hold.holdId });
    // eligible 90,000 × 5% = 4,500 points
    expect(paid.earned).toMatchObject({ points: 4_500, status: 'pending' });
    await updateProgram(shop.ledger, m, { earning: { baseRate: 0.2, pendingDays: 0, perOrderCapRate: 0.5, monthlyBudgetRate: null }, expiry: { kind: 'none' }, redemption: { maxShare: 0.1, restoreGraceDays: 0 } });
    shop.clock.advance(DAY);
    const done = await orderCompleted(shop.ledger, { merchantId: m, orderId: 'o1' });
    expect(done).toMatchObject({ available: 4_500 });
    await updateProgram(shop.ledger, m, { earning: { baseRate: 0.01, monthlyBudgetRate: null }, valuation: { kind: 'fixed', pointsPerCurrencyUnit: 1000 } });
    shop.clock.advance(DAY);
    const r1 = await orderRefunded(shop.ledger, { merchantId: m, orderId: 'o1', refundId: 'r1', amount: 33_333 });
    const r2 = await orderRefunded(shop.ledger, { merchantId: m, orderId: 'o1', refundId: 'r2', amount: 33_333 });
    const r3 = await orderRefunded(shop.ledger, { merchantId: m, orderId: 'o1', refundId: 'r3', amount: 33_334 });
    expect([r1, r2, r3].map((r) => 'clawedBack' in r ? r.clawedBack : -1).reduce((a, b) => a + b, 0)).toBe(4_500);
    expect([r1, r2, r3].map((r) => 'restored' in r ? r.restored : -1).reduce((a, b) => a + b, 0)).toBe(10_000);
    const again = await orderRefunded(shop.ledger, { merchantId: m, orderId: 'o1', refundId: 'r2', amount: 33_333 });
    expect(again).toEqual(r2);
    expect(await balanceOf(shop.ledger.db, m, 'alice')).toMatchObject({ available: 20_000, pending: 0, held: 0, debt: 0 });
    await assertLedgerInvariants(shop.ledger.db, m);
  });

  it('cancelled under a later version: pending points cancelled, paid points restored', async () => {
    const m = shop.merchantId;
    await givePoints(shop.ledger, { merchantId: m, shopperId: 'alice', points: 20_000 });
    const hold = await reserveHold(shop.ledger, { merchantId: m, shopperId: 'alice', checkoutId: 'c1', points: 10_000, cartAmount: 100_000 });
    await orderPaid(shop.ledger, { merchantId: m, orderId: 'o1', shopperId: 'alice', amount: 100_000, currency: 'CNY', holdId: hold.holdId });
    await orderRefunded(shop.ledger, { merchantId: m, orderId: 'o1', refundId: 'r1', amount: 10_000 });
    await updateProgram(shop.ledger, m, { earning: { baseRate: 0.2, pendingDays: 1, monthlyBudgetRate: null }, expiry: { kind: 'rolling', months: 1 } });
    const cancelled = await orderCancelled(shop.ledger, { merchantId: m, orderId: 'o1' });
    expect(cancelled).toMatchObject({ status: 'cancelled' });
    expect(await balanceOf(shop.ledger.db, m, 'alice')).toMatchObject({ available: 20_000, pending: 0, held: 0, debt: 0 });
    expect((await orderOf(shop.ledger.db, m, 'o1')).earned_status).toBe('cancelled');
  });
});

describeEachDialect('a pool order across program versions', (dialect) => {
  const shop = useShop(dialect, { clock: () => aClock(), merchant: (ledger) => aPoolMerchant(ledger, aPoolProgram({}, { earning: { tiers: [{ id: 'member', name: { 'zh-CN': '会员', en: 'Member' }, minSpend: 0, multiplier: 1 }] } })) });

  it('paid v1, completed after poolShare/mintRatio/release changed, refunded in parts after more changes', async () => {
    const m = shop.merchantId;
    const flat = { earning: { tiers: [{ id: 'member', name: { 'zh-CN': '会员', en: 'Member' }, minSpend: 0, multiplier: 1 }] } };
    await orderPaid(shop.ledger, { merchantId: m, orderId: 'seed', shopperId: 'bob', amount: 100_000, currency: 'CNY' });
    await orderCompleted(shop.ledger, { merchantId: m, orderId: 'seed' });
    const bobHold = await reserveHold(shop.ledger, { merchantId: m, shopperId: 'bob', checkoutId: 'c', points: 100, cartAmount: 100_000 });
    await orderPaid(shop.ledger, { merchantId: m, orderId: 'o1', shopperId: 'bob', amount: 100_000, currency: 'CNY', holdId: bobHold.holdId });
    await orderRefunded(shop.ledger, { merchantId: m, orderId: 'o1', refundId: 'r0', amount: 10_000 });
    await updateProgram(shop.ledger, m, aPoolProgram({ poolShare: { default: 0.3 }, mintRatio: 0.2, release: { periods: 5, periodDays: 1 }, retention: { checkout: 0.5, coupon: 0.5, capOut: 0.5 } }, flat));
    const done = await orderCompleted(shop.ledger, { merchantId: m, orderId: 'o1' });
    expect(done).toMatchObject({ status: 'completed' });
    await updateProgram(shop.ledger, m, aPoolProgram({ poolShare: { default: 0.05 }, mintRatio: 0.9, retention: { checkout: 1, coupon: 1, capOut: 1 } }, flat));
    const o = await orderOf(shop.ledger.db, m, 'o1');
    const r1 = await orderRefunded(shop.ledger, { merchantId: m, orderId: 'o1', refundId: 'r1', amount: 30_000 });
    const r2 = await orderRefunded(shop.ledger, { merchantId: m, orderId: 'o1', refundId: 'r2', amount: 60_000 });
    const claws = [r1, r2].map((r) => ('clawedBack' in r ? r.clawedBack : 0));
    expect(claws.reduce((a, b) => a + b, 0)).toBe(Number(o.minted));
    const restored = [r1, r2].map((r) => ('restored' in r ? r.restored : 0));
    const r0 = await orderRefunded(shop.ledger, { merchantId: m, orderId: 'o1', refundId: 'r0', amount: 10_000 });
    expect(restored.reduce((a, b) => a + b, 0) + ('restored' in r0 ? r0.restored : 0)).toBe(100);
    await assertLedgerInvariants(shop.ledger.db, m);
    void (await poolOf(shop.ledger.db, m));
  });
});
