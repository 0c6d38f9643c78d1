import { describeEachDialect } from '@jifen/db/testing';
import { expect, it } from 'vitest';
import type { Ledger } from '../src/ledger';
import { updateProgram } from '../src/merchants';
import { orderCompleted, orderPaid } from '../src/orders';
import { DAY_MS, aPoolClock, aPoolMerchant, aPoolProgram, poolOf } from './support-pool';
import { useShop } from './support-shop';

/**
 * The supply-growth throttle (SPEC §3.2 `risk`, docs/rules.md §6: "Minting continues up to
 * floor(start × (1 + maxSupplyGrowth)) and then pauses") is a shop-wide ceiling on the supply: a
 * completion meets the ceiling in force now, whatever version its order was paid under. (Orders paid
 * before the merchant tightened it once kept minting past it.)
 */
const flat = { earning: { tiers: [{ id: 'member', name: { 'zh-CN': '会员', en: 'Member' }, minSpend: 0, multiplier: 1 }] } };

async function paidAndCompleted(ledger: Ledger, merchantId: string, shopperId: string, orderId: string, amount: number) {
  await orderPaid(ledger, { merchantId, orderId, shopperId, amount, currency: 'CNY' });
  return orderCompleted(ledger, { merchantId, orderId });
}

describeEachDialect('the supply-growth throttle tightened while orders are in flight', (dialect) => {
  const shop = useShop(dialect, { clock: () => aPoolClock(), merchant: (ledger) => aPoolMerchant(ledger, aPoolProgram({}, flat)) });

  it('a completion never takes the supply past the ceiling of the throttle in force', async () => {
    const m = shop.merchantId;
    await paidAndCompleted(shop.ledger, m, 'alice', 'a1', 100_000); // 112 points
    shop.clock.advance(31 * DAY_MS);
    expect(await poolOf(shop.ledger.db, m)).toEqual({ amount: 16_000, supply: 112 });

    // Carol pays under v1 (throttle off); her order awaits delivery.
    await orderPaid(shop.ledger, { merchantId: m, orderId: 'c1', shopperId: 'carol', amount: 1_000_000, currency: 'CNY' });
    // The merchant turns the throttle on: at most 12% growth over 30 days → supply ≤ floor(112 × 1.12) = 125.
    await updateProgram(shop.ledger, m, aPoolProgram({ risk: { maxSupplyGrowth: 0.12, growthWindowDays: 30 } }, flat));

    // An order paid under v2 is throttled to the 13 units left…
    const dave = await paidAndCompleted(shop.ledger, m, 'dave', 'd1', 1_000_000);
    expect(dave).toMatchObject({ pool: { minted: 13 } });
    expect((await poolOf(shop.ledger.db, m)).supply).toBe(125);

    // …and Carol's, completing now, should mint nothing more: the ceiling is reached.
    const carol = await orderCompleted(shop.ledger, { merchantId: m, orderId: 'c1' });
    expect(carol).toMatchObject({ status: 'completed' });
    expect((await poolOf(shop.ledger.db, m)).supply).toBeLessThanOrEqual(125);
  });
});
