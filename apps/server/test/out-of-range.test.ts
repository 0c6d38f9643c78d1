import { describeEachDialect } from '@jifen/db/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { post } from './support/http';
import { ledgerSnapshot } from './support/snapshot';
import { type TestMerchant, type TestServer, aMerchant, startTestServer } from './support/test-server';

/**
 * A program can make a legal amount reach figures no number holds exactly: a point unit worth a
 * ten-thousandth of a fen (6 point decimals, a million points to the yuan) with no per-order cap.
 * Such a request is refused (422 AMOUNT_OUT_OF_RANGE), not answered with an internal error, and
 * writes nothing.
 */
describeEachDialect('figures past 2^53', (dialect) => {
  let app: TestServer;
  let shop: TestMerchant;

  beforeAll(async () => {
    app = await startTestServer(dialect);
    shop = await aMerchant(app.ledger, {
      program: { pointDecimals: 6, valuation: { kind: 'fixed', pointsPerCurrencyUnit: 1_000_000 }, earning: { perOrderCapRate: null, monthlyBudgetRate: null } },
    });
  });
  afterAll(async () => {
    await app.close();
  });

  it('refuses an order whose earning would pass 2^53 point units, writing nothing', async () => {
    const before = await ledgerSnapshot(app.ledger);
    // ¥100,000,000 at 5% × 1.6: 8 × 10^17 point units.
    const answer = await post(app.url, 'merchant.orders.paid', { orderId: 'huge', shopperId: 'whale', amount: 10_000_000_000, currency: 'CNY' }, { token: shop.apiKey });
    expect(answer.status).toBe(422);
    expect(answer.body.error.data).toMatchObject({ reason: 'AMOUNT_OUT_OF_RANGE', param: null });
    expect(answer.body.error.message).toMatch(/2\^53/);
    expect(await ledgerSnapshot(app.ledger)).toEqual(before);
    // An ordinary order of the same shop is earned as usual.
    const small = await post(app.url, 'merchant.orders.paid', { orderId: 'small', shopperId: 'whale', amount: 1_000, currency: 'CNY' }, { token: shop.apiKey });
    expect(small.status).toBe(200);
  });
});
