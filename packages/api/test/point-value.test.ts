import { describeEachDialect } from '@jifen/db/testing';
import { expect, it } from 'vitest';
import { quoteCheckout } from '../src/checkout';
import { getShopper, shopperMe } from '../src/shoppers';
import { aClock, aMerchant, aPoolProgram, givePoints } from './support-holds';
import { useShop } from './support-shop';

/**
 * SPEC Appendix A names one shape, `pointValue: { minor, perPoints }`, and jifen answers it from
 * `shopper.me`, `merchant.shoppers.get` and `shopper.checkout.quote`: for one shop at one moment
 * they state one value, in the API's points — point units, as every balance counts them — while
 * `pointPrice` is per whole displayed point. They once differed by 10^pointDecimals.
 */
describeEachDialect('pointValue across the API', (dialect) => {
  const shop = useShop(dialect, { clock: () => aClock('2025-03-01T02:00:00Z'), merchant: (ledger) => aMerchant(ledger, aPoolProgram()) });

  it('states one point value, per point unit, for one shop at one moment', async () => {
    await givePoints(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', points: 30_000 });
    const now = shop.clock.now;
    const me = await shopperMe(shop.ledger.db, shop.merchantId, 'alice', now);
    const detail = await getShopper(shop.ledger.db, shop.merchantId, 'alice', now);
    const quote = await quoteCheckout(shop.ledger.db, { merchantId: shop.merchantId, shopperId: 'alice', cartAmount: 100_000 }, now);
    // At the initial ¥1 a whole point and 2 point decimals: 1 fen a unit, 100 fen a whole point.
    expect(me.pointDecimals).toBe(2);
    expect(me.pointPrice).toBe('100.0000');
    expect(quote.pointValue).toEqual({ minor: 1, perPoints: 1 });
    expect(me.pointValue).toEqual(quote.pointValue);
    expect(detail.pointValue).toEqual(quote.pointValue);
    expect(quote.unitValue).toEqual({ numerator: '1', denominator: '1' });
    // The balance times the value is what the points pay: 30,000 units = 300 points = ¥300.
    expect((me.balance.available * me.pointValue.minor) / me.pointValue.perPoints).toBe(30_000);
  });
});
