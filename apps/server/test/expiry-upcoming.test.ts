import { describeEachDialect } from '@jifen/db/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { get, post } from './support/http';
import { type TestMerchant, type TestServer, aMerchant, startTestServer } from './support/test-server';
import { honestClaims, signHmac } from './support/tokens';

/**
 * `shopper.expiry.upcoming` and what `shopper.me` tells the widgets about the merchant (SPEC §5,
 * §6), over HTTP: the schedule grouped by local date, its window, and its refusals.
 */
describeEachDialect('shopper.expiry.upcoming and shopper.me over HTTP', (dialect) => {
  let app: TestServer;
  let shop: TestMerchant;
  let token: string;

  beforeAll(async () => {
    app = await startTestServer(dialect, { shopperRate: null });
    shop = await aMerchant(app.ledger, { program: { currency: 'USD', timeZone: 'America/New_York' } });
    token = await signHmac(honestClaims(shop.merchantId, '42', app.clock.now, 3600), shop.widgetSecret);
    for (const [points, key] of [
      [700, 'a'],
      [300, 'b'],
    ] as const) {
      const credit = await post(app.url, 'merchant.shoppers.adjust', { shopperId: '42', points, reason: 'welcome', idempotencyKey: key }, { token: shop.apiKey });
      expect(credit.status, credit.text).toBe(200);
    }
  });
  afterAll(() => app.close());

  it('answers the schedule grouped by the merchant-zone date, as plain JSON', async () => {
    const answer = await post(app.url, 'shopper.expiry.upcoming', undefined, { token });
    expect(answer.status, answer.text).toBe(200);
    // Credited on 10 Nov 2026, 23:00 in New York (04:00 UTC on the 11th): usable to the end of 10 Nov 2027 there.
    expect(answer.body.result.data).toEqual([{ date: '2027-11-10', expiresAt: '2027-11-11T05:00:00.000Z', points: 1000 }]);
    const viaGet = await get(app.url, 'shopper.expiry.upcoming', { days: 30 }, { token });
    expect(viaGet.body.result.data).toEqual([]);
  });

  it('refuses a window outside 1–3660 days, naming days', async () => {
    for (const days of [0, 3661, 1.5, '30']) {
      const answer = await post(app.url, 'shopper.expiry.upcoming', { days }, { token });
      expect(answer.status).toBe(400);
      expect(answer.body.error.data.param).toBe('days');
      expect(answer.body.error.message).toBe('days: must be a whole number of days between 1 and 3660');
    }
  });

  it("tells shopper.me's readers the merchant's currency, time zone, valuation and point decimals", async () => {
    const me = await post(app.url, 'shopper.me', undefined, { token });
    expect(me.body.result.data).toMatchObject({ currency: 'USD', timeZone: 'America/New_York', valuation: 'fixed', pointDecimals: 0 });
    expect(me.body.result.data.expiring).toEqual({ date: '2027-11-10', expiresAt: Date.parse('2027-11-11T05:00:00.000Z'), points: 1000 });
  });
});
