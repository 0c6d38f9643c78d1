import { assertLedgerInvariants } from '@jifen/api';
import { describeEachDialect } from '@jifen/db/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type HttpAnswer, post } from './support/http';
import { ledgerSnapshot } from './support/snapshot';
import { type TestMerchant, type TestServer, aMerchant, startTestServer } from './support/test-server';
import { honestClaims, signHmac } from './support/tokens';

/**
 * Replays of every write path over HTTP (SPEC §5, issue 4): the same call with the same id answers
 * with the first result — the same bytes, even after the clock moved and other writes happened —
 * and writes nothing; the same id with a different payload is 409 CONFLICT naming the field.
 *
 * Writes without a caller's id are not replays and answer as documented: `shopper.checkin` is once
 * per local day (409 ALREADY_CHECKED_IN), `merchant.program.update` and `merchant.keys.rotate`
 * create a new version or key each call, `merchant.shoppers.setVip` and
 * `merchant.coupons.templates.upsert` set state (the same call twice answers the same).
 */

interface WritePath {
  name: string;
  call: () => Promise<HttpAnswer>;
}

describeEachDialect('replays of every write path', (dialect) => {
  let app: TestServer;
  let shop: TestMerchant;
  /** Every write made so far, to replay them all again at the end. */
  const made: { path: WritePath; first: string }[] = [];

  beforeAll(async () => {
    app = await startTestServer(dialect, { shopperRate: null });
    shop = await aMerchant(app.ledger, { merchantId: 'replays' });
  });
  afterAll(async () => {
    await assertLedgerInvariants(app.ledger, shop.merchantId);
    await app.close();
  });

  const merchant = (procedure: string, input?: unknown, apiKey?: string) => () => post(app.url, procedure, input, { token: apiKey ?? shop.apiKey });
  const shopper = (procedure: string, input?: unknown, shopperId = '42') => async () =>
    post(app.url, procedure, input, { token: await signHmac(honestClaims(shop.merchantId, shopperId, app.clock.now), shop.widgetSecret) });
  const tick = () => {
    app.clock.now = new Date(app.clock.now.getTime() + 10_000);
  };

  /** Makes the write, replays it after the clock moved, and checks the replay is the first answer, byte for byte, writing nothing. */
  async function firstAndReplay(name: string, call: () => Promise<HttpAnswer>, options: { setsState?: boolean } = {}): Promise<Record<string, unknown> & { [key: string]: unknown }> {
    const first = await call();
    expect(first.status, first.text.slice(0, 400)).toBe(200);
    tick();
    const before = await ledgerSnapshot(app.ledger);
    const replay = await call();
    expect(replay.text, `${name}: the replay's answer`).toBe(first.text);
    expect(await ledgerSnapshot(app.ledger)).toEqual(before);
    // An upsert answers with the template as it is now (its stock moves), so only the immediate repeat is compared.
    if (!options.setsState) made.push({ path: { name, call }, first: first.text });
    return first.body.result.data;
  }

  /** The same id with one field changed: 409 IDEMPOTENCY_CONFLICT naming that field, nothing written. */
  async function conflicts(call: () => Promise<HttpAnswer>, field: string): Promise<void> {
    const before = await ledgerSnapshot(app.ledger);
    const answer = await call();
    expect(answer.status, answer.text.slice(0, 400)).toBe(409);
    expect(answer.body.error.data).toMatchObject({ code: 'CONFLICT', reason: 'IDEMPOTENCY_CONFLICT', param: field });
    expect(answer.body.error.message.startsWith(`${field}: `)).toBe(true);
    expect(await ledgerSnapshot(app.ledger)).toEqual(before);
  }

  const template = { id: 'five-off', name: { 'zh-CN': '减 5 元', en: '¥5 off' }, discount: { kind: 'fixed', amountOff: 500 }, pointsCost: 500, stock: 10, isCancellable: true };
  const paid = { orderId: '1001', shopperId: '42', amount: 100_000, currency: 'CNY', items: [{ sku: 'tea', category: 'food', amount: 100_000 }], paidAt: '2026-11-11T12:00:00+08:00' };

  it('merchant.coupons.templates.upsert: the same template twice answers the same', async () => {
    await firstAndReplay('templates.upsert', merchant('merchant.coupons.templates.upsert', { template }), { setsState: true });
    await firstAndReplay('templates.upsert ten-off', merchant('merchant.coupons.templates.upsert', { template: { ...template, id: 'ten-off', pointsCost: 1000 } }), { setsState: true });
  });

  it('merchant.shoppers.adjust on its idempotency key', async () => {
    await firstAndReplay('shoppers.adjust', merchant('merchant.shoppers.adjust', { shopperId: '42', points: 50_000, reason: 'welcome', idempotencyKey: 'adj-1' }));
    await conflicts(merchant('merchant.shoppers.adjust', { shopperId: '42', points: 40_000, reason: 'welcome', idempotencyKey: 'adj-1' }), 'points');
    await conflicts(merchant('merchant.shoppers.adjust', { shopperId: '43', points: 50_000, reason: 'welcome', idempotencyKey: 'adj-1' }), 'shopperId');
  });

  it('merchant.orders.paid on its order id', async () => {
    await firstAndReplay('orders.paid', merchant('merchant.orders.paid', paid));
    await conflicts(merchant('merchant.orders.paid', { ...paid, amount: 99_999, items: [{ sku: 'tea', category: 'food', amount: 99_999 }] }), 'amount');
    await conflicts(merchant('merchant.orders.paid', { ...paid, shopperId: '43' }), 'shopperId');
  });

  it('merchant.behaviour.record on the review id', async () => {
    await firstAndReplay('behaviour.record review', merchant('merchant.behaviour.record', { kind: 'review', shopperId: '42', ref: 'review-1' }));
    await conflicts(merchant('merchant.behaviour.record', { kind: 'review', shopperId: '43', ref: 'review-1' }), 'shopperId');
  });

  it('merchant.behaviour.record on the referred shopper', async () => {
    await firstAndReplay('behaviour.record referral', merchant('merchant.behaviour.record', { kind: 'referral', shopperId: 'newbie', referredBy: '42' }));
    const before = await ledgerSnapshot(app.ledger);
    // The invitee is the id: another referrer is a conflict with the one recorded (its own reason, 409).
    const other = await merchant('merchant.behaviour.record', { kind: 'referral', shopperId: 'newbie', referredBy: '7' })();
    expect(other.status).toBe(409);
    expect(other.body.error.data).toMatchObject({ code: 'CONFLICT', reason: 'REFERRER_ALREADY_SET', param: 'referredBy' });
    expect(await ledgerSnapshot(app.ledger)).toEqual(before);
  });

  it('merchant.shoppers.setVip sets a flag: the same call twice answers the same', async () => {
    await firstAndReplay('shoppers.setVip', merchant('merchant.shoppers.setVip', { shopperId: '42', isVip: true }));
  });

  it('shopper.checkout.reserve on the checkout id, and shopper.checkout.release on the hold id', async () => {
    const hold = await firstAndReplay('checkout.reserve', shopper('shopper.checkout.reserve', { checkoutId: 'c-1', points: 1000, cartAmount: 20_000 }));
    await conflicts(shopper('shopper.checkout.reserve', { checkoutId: 'c-1', points: 2000, cartAmount: 20_000 }), 'points');
    await conflicts(shopper('shopper.checkout.reserve', { checkoutId: 'c-1', points: 1000, cartAmount: 30_000 }), 'cartAmount');
    await firstAndReplay('checkout.release', shopper('shopper.checkout.release', { holdId: hold.holdId }));
  });

  it('merchant.approvals.approve on the hold id, and merchant.orders.paid capturing a hold', async () => {
    const hold = await firstAndReplay('checkout.reserve c-2', shopper('shopper.checkout.reserve', { checkoutId: 'c-2', points: 1000, cartAmount: 20_000 }));
    await firstAndReplay('approvals.approve', merchant('merchant.approvals.approve', { holdId: hold.holdId }));
    const order = await firstAndReplay('orders.paid with a hold', merchant('merchant.orders.paid', { orderId: '1002', shopperId: '42', amount: 20_000, currency: 'CNY', holdId: hold.holdId }));
    expect(order.captured).toMatchObject({ holdId: hold.holdId, points: 1000 });
    await conflicts(merchant('merchant.orders.paid', { orderId: '1002', shopperId: '42', amount: 20_000, currency: 'CNY' }), 'holdId');
  });

  it('shopper.coupons.exchange on its idempotency key, shopper.coupons.cancel on the code', async () => {
    const coupon = await firstAndReplay('coupons.exchange', shopper('shopper.coupons.exchange', { templateId: 'five-off', idempotencyKey: 'x-1' }));
    await conflicts(shopper('shopper.coupons.exchange', { templateId: 'ten-off', idempotencyKey: 'x-1' }), 'templateId');
    await firstAndReplay('coupons.cancel', shopper('shopper.coupons.cancel', { code: coupon.code }));
  });

  it('merchant.coupons.redeem on the code and order id', async () => {
    const coupon = await firstAndReplay('coupons.exchange x-2', shopper('shopper.coupons.exchange', { templateId: 'five-off', idempotencyKey: 'x-2' }));
    await firstAndReplay('coupons.redeem', merchant('merchant.coupons.redeem', { code: coupon.code, orderId: '3001', orderAmount: 10_000 }));
    await conflicts(merchant('merchant.coupons.redeem', { code: coupon.code, orderId: '3001', orderAmount: 12_000 }), 'orderAmount');
  });

  it('merchant.orders.refunded on the refund id', async () => {
    await firstAndReplay('orders.refunded', merchant('merchant.orders.refunded', { orderId: '1001', refundId: 'r-1', amount: 10_000 }));
    await conflicts(merchant('merchant.orders.refunded', { orderId: '1001', refundId: 'r-1', amount: 20_000 }), 'amount');
    await conflicts(merchant('merchant.orders.refunded', { orderId: '1002', refundId: 'r-1', amount: 10_000 }), 'orderId');
  });

  it('merchant.orders.completed and merchant.orders.cancelled on the order id', async () => {
    await firstAndReplay('orders.completed', merchant('merchant.orders.completed', { orderId: '1001', completedAt: '2026-11-12T12:00:00+08:00' }));
    await conflicts(merchant('merchant.orders.completed', { orderId: '1001', completedAt: '2026-11-13T12:00:00+08:00' }), 'completedAt');
    await firstAndReplay('orders.paid 1003', merchant('merchant.orders.paid', { orderId: '1003', shopperId: '43', amount: 5_000, currency: 'CNY' }));
    await firstAndReplay('orders.cancelled', merchant('merchant.orders.cancelled', { orderId: '1003' }));
    // A waiting event (its order not seen yet) is replayed as well.
    await firstAndReplay('orders.completed waiting', merchant('merchant.orders.completed', { orderId: '1004' }));
  });

  it('merchant.keys.revoke on the key id', async () => {
    const oldKey = await app.ledger.db.selectFrom('api_keys').select('id').where('merchant_id', '=', shop.merchantId).executeTakeFirstOrThrow();
    const rotated = await merchant('merchant.keys.rotate')();
    expect(rotated.status).toBe(200);
    shop = { ...shop, apiKey: rotated.body.result.data.apiKey };
    await firstAndReplay('keys.revoke', merchant('merchant.keys.revoke', { keyId: oldKey.id }, rotated.body.result.data.apiKey));
  });

  it('writes without a caller id answer as documented: a second check-in the same day is ALREADY_CHECKED_IN', async () => {
    const first = await shopper('shopper.checkin')();
    expect(first.status).toBe(200);
    const before = await ledgerSnapshot(app.ledger);
    const again = await shopper('shopper.checkin')();
    expect(again.status).toBe(409);
    expect(again.body.error.data.reason).toBe('ALREADY_CHECKED_IN');
    expect(await ledgerSnapshot(app.ledger)).toEqual(before);
  });

  it('replays every write again at the end, after everything else: the first answers, byte for byte, nothing written', async () => {
    expect(made.length).toBeGreaterThanOrEqual(18);
    tick();
    const before = await ledgerSnapshot(app.ledger);
    for (const { path, first } of made) {
      // The revoke was made with the key that is now the merchant's only one; every other call uses it too.
      const replay = await path.call();
      expect(replay.text, path.name).toBe(first);
    }
    expect(await ledgerSnapshot(app.ledger)).toEqual(before);
  });
});
