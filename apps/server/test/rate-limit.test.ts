import { describeEachDialect } from '@jifen/db/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { post, request } from './support/http';
import { type TestMerchant, type TestServer, aMerchant, startTestServer } from './support/test-server';
import { honestClaims, signHmac } from './support/tokens';

describeEachDialect('shopper rate limits', (dialect) => {
  let app: TestServer;
  let shopA: TestMerchant;
  let shopB: TestMerchant;
  const token = (merchant: TestMerchant, shopperId: string) => signHmac(honestClaims(merchant.merchantId, shopperId, app.clock.now), merchant.widgetSecret);

  beforeAll(async () => {
    // One request every 100 seconds after a burst of 3: nothing refills during the test.
    app = await startTestServer(dialect, { shopperRate: { ratePerSecond: 0.01, burst: 3 } });
    shopA = await aMerchant(app.ledger);
    shopB = await aMerchant(app.ledger);
  });
  afterAll(() => app.close());

  it('answers 429 with Retry-After once a shopper has used the burst, and counts each call of a batch', async () => {
    const tokenA = await token(shopA, 'busy');
    expect((await post(app.url, 'shopper.me', undefined, { token: tokenA })).status).toBe(200);
    const batch = await request(`${app.url}/trpc/shopper.me,shopper.me?batch=1`, { headers: { authorization: `Bearer ${tokenA}` } });
    expect(batch.status).toBe(200);
    const limited = await post(app.url, 'shopper.me', undefined, { token: tokenA });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('100');
    expect(limited.body.error.data).toMatchObject({ code: 'TOO_MANY_REQUESTS', httpStatus: 429, reason: 'RATE_LIMITED', facts: { retryAfterSeconds: 100 } });
    expect(limited.body.error.message).toBe('too many requests; retry after 100 s');
  });

  it('keeps each shopper, and the same shopper id at another merchant, on their own allowance', async () => {
    expect((await post(app.url, 'shopper.me', undefined, { token: await token(shopA, 'calm') })).status).toBe(200);
    expect((await post(app.url, 'shopper.me', undefined, { token: await token(shopB, 'busy') })).status).toBe(200);
  });

  it('does not limit merchant procedures', async () => {
    for (let call = 0; call < 5; call += 1) {
      expect((await post(app.url, 'merchant.program.get', undefined, { token: shopA.apiKey })).status).toBe(200);
    }
  });
});
