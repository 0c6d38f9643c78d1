import { describeEachDialect } from '@jifen/db/testing';
import { assertLedgerInvariants } from '@jifen/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HttpAnswer, get, post } from './support/http';
import { ledgerSnapshot } from './support/snapshot';
import { type TestMerchant, type TestServer, aMerchant, startTestServer } from './support/test-server';
import { honestClaims, signHmac } from './support/tokens';

/**
 * Every wired procedure over HTTP (SPEC §5): its happy path, the errors it documents, and that a
 * refused call writes nothing. Figures are checked against each other (what an order earned is what
 * the shopper holds), never against numbers copied from the rules.
 */
describeEachDialect('the procedures over HTTP', (dialect) => {
  let app: TestServer;
  let shop: TestMerchant;
  let other: TestMerchant;

  beforeAll(async () => {
    app = await startTestServer(dialect, { shopperRate: null });
    shop = await aMerchant(app.ledger, { merchantId: 'shop' });
    other = await aMerchant(app.ledger, { merchantId: 'other' });
  });
  afterAll(async () => {
    await assertLedgerInvariants(app.ledger, shop.merchantId);
    await assertLedgerInvariants(app.ledger, other.merchantId);
    await app.close();
  });

  const merchant = (procedure: string, input?: unknown, as: TestMerchant = shop) => post(app.url, procedure, input, { token: as.apiKey });
  const shopperToken = (shopperId: string, as: TestMerchant = shop) => signHmac(honestClaims(as.merchantId, shopperId, app.clock.now), as.widgetSecret);
  const shopper = async (shopperId: string, procedure: string, input?: unknown, as: TestMerchant = shop) =>
    post(app.url, procedure, input, { token: await shopperToken(shopperId, as) });
  const ok = (answer: HttpAnswer) => {
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    return answer.body.result.data;
  };
  const refused = (answer: HttpAnswer, status: number, reason: string, param?: string) => {
    expect(answer.status, JSON.stringify(answer.body)).toBe(status);
    expect(answer.body.error.data.reason).toBe(reason);
    if (param !== undefined) expect(answer.body.error.data.param).toBe(param);
    expect(answer.body.error.message.length).toBeGreaterThan(0);
    return answer.body.error;
  };
  /** Runs `call` and checks it changed nothing in the ledger. */
  const writesNothing = async (call: () => Promise<HttpAnswer>) => {
    const before = await ledgerSnapshot(app.ledger);
    const answer = await call();
    expect(await ledgerSnapshot(app.ledger)).toEqual(before);
    return answer;
  };

  describe('orders', () => {
    const paid = { orderId: '1001', shopperId: '42', amount: 100_000, currency: 'CNY', items: [{ sku: 'tea', category: 'food', amount: 100_000 }] };

    it('merchant.orders.paid earns pending points the shopper then sees', async () => {
      const result = ok(await merchant('merchant.orders.paid', paid));
      expect(result.orderId).toBe('1001');
      expect(result.earned.points).toBeGreaterThan(0);
      expect(result.earned.status).toBe('pending');
      expect(result.captured).toBeNull();
      const me = ok(await shopper('42', 'shopper.me'));
      expect(me.balance.pending).toBe(result.earned.points);
      expect(me.balance.available).toBe(0);
    });

    it('returns the first result for a replay, and CONFLICT naming the field for a changed payload', async () => {
      const first = ok(await merchant('merchant.orders.paid', paid));
      const replay = await writesNothing(() => merchant('merchant.orders.paid', paid));
      expect(ok(replay)).toEqual(first);
      const changed = await writesNothing(() => merchant('merchant.orders.paid', { ...paid, amount: 90_000 }));
      refused(changed, 409, 'IDEMPOTENCY_CONFLICT', 'amount');
    });

    it('refuses bad amounts, an unknown currency and another currency than the merchant’s, writing nothing', async () => {
      for (const amount of [-1, 1.5, 2 ** 53, '100', null, 1e308]) {
        const answer = await writesNothing(() => merchant('merchant.orders.paid', { ...paid, orderId: 'bad', amount }));
        refused(answer, 400, 'INVALID_INPUT', 'amount');
        expect(answer.body.error.message).toBe('amount: must be a whole number of fen between 0 and 10000000000000 (minor currency units)');
      }
      refused(await writesNothing(() => merchant('merchant.orders.paid', { ...paid, orderId: 'bad', currency: 'XYZ' })), 400, 'INVALID_INPUT', 'currency');
      refused(await writesNothing(() => merchant('merchant.orders.paid', { ...paid, orderId: 'bad', items: [{ amount: -5 }] })), 400, 'INVALID_INPUT', 'items.0.amount');
      refused(await writesNothing(() => merchant('merchant.orders.paid', { ...paid, orderId: 'bad', currency: 'USD' })), 400, 'CURRENCY_MISMATCH', 'currency');
    });

    it('merchant.orders.completed makes the pending points available', async () => {
      const result = ok(await merchant('merchant.orders.completed', { orderId: '1001' }));
      expect(result.status).toBe('completed');
      const me = ok(await shopper('42', 'shopper.me'));
      expect(me.balance.pending).toBe(0);
      expect(me.balance.available).toBe(result.available);
    });

    it('merchant.orders.refunded claws back in proportion and is idempotent on the refund id', async () => {
      const before = ok(await shopper('42', 'shopper.me')).balance.available;
      const result = ok(await merchant('merchant.orders.refunded', { orderId: '1001', refundId: 'r-1', amount: 50_000 }));
      expect(result.clawedBack).toBeGreaterThan(0);
      expect(ok(await shopper('42', 'shopper.me')).balance.available).toBe(before - result.clawedBack);
      expect(ok(await writesNothing(() => merchant('merchant.orders.refunded', { orderId: '1001', refundId: 'r-1', amount: 50_000 })))).toEqual(result);
      refused(await writesNothing(() => merchant('merchant.orders.refunded', { orderId: '1001', refundId: 'r-1', amount: 10_000 })), 409, 'IDEMPOTENCY_CONFLICT', 'amount');
    });

    it('merchant.orders.cancelled takes back what a paid order earned', async () => {
      ok(await merchant('merchant.orders.paid', { ...paid, orderId: '1002', shopperId: '43' }));
      const result = ok(await merchant('merchant.orders.cancelled', { orderId: '1002' }));
      expect(result.status).toBe('cancelled');
      expect(ok(await shopper('43', 'shopper.me')).balance).toMatchObject({ pending: 0, available: 0 });
      refused(await writesNothing(() => merchant('merchant.orders.completed', { orderId: '1002' })), 409, 'ORDER_CANCELLED');
    });

    it("cannot see or change another merchant's order with the same id", async () => {
      const answer = ok(await merchant('merchant.orders.paid', { ...paid, currency: 'CNY' }, other));
      expect(answer.orderId).toBe('1001');
      // The other merchant's 1001 is a new order of its own; ours keeps its refund.
      const ours = await app.ledger.db.selectFrom('orders').select(['merchant_id', 'refunded_amount']).where('order_id', '=', '1001').orderBy('merchant_id').execute();
      expect(ours.map((row) => [row.merchant_id, Number(row.refunded_amount)])).toEqual([
        ['other', 0],
        ['shop', 50_000],
      ]);
    });
  });

  describe('shoppers', () => {
    it('merchant.shoppers.get shows a known shopper and NOT_FOUND for an unknown one', async () => {
      const detail = ok(await merchant('merchant.shoppers.get', { shopperId: '42' }));
      expect(detail.shopperId).toBe('42');
      expect(detail.balance).toEqual(ok(await shopper('42', 'shopper.me')).balance);
      refused(await merchant('merchant.shoppers.get', { shopperId: 'nobody' }), 404, 'NOT_FOUND', 'shopperId');
      // Shopper 43 exists at this merchant only: the other merchant's key finds nothing.
      refused(await merchant('merchant.shoppers.get', { shopperId: '43' }, other), 404, 'NOT_FOUND', 'shopperId');
    });

    it('merchant.shoppers.adjust credits and debits, idempotent on its key', async () => {
      const before = ok(await shopper('7', 'shopper.me')).balance.available;
      const credit = ok(await merchant('merchant.shoppers.adjust', { shopperId: '7', points: 5000, reason: 'goodwill', idempotencyKey: 'adj-1' }));
      expect(credit.available).toBe(before + 5000);
      expect(ok(await merchant('merchant.shoppers.adjust', { shopperId: '7', points: 5000, reason: 'goodwill', idempotencyKey: 'adj-1' }))).toEqual(credit);
      refused(await merchant('merchant.shoppers.adjust', { shopperId: '7', points: 0, reason: 'nothing', idempotencyKey: 'adj-0' }), 400, 'INVALID_INPUT', 'points');
      refused(await merchant('merchant.shoppers.adjust', { shopperId: '7', points: 5, reason: '\u0000', idempotencyKey: 'adj-2' }), 400, 'INVALID_INPUT', 'reason');
    });

    it('merchant.shoppers.setVip flags a shopper', async () => {
      expect(ok(await merchant('merchant.shoppers.setVip', { shopperId: '7', isVip: true }))).toEqual({ shopperId: '7', isVip: true });
      expect(ok(await merchant('merchant.shoppers.get', { shopperId: '7' })).isVip).toBe(true);
      refused(await merchant('merchant.shoppers.setVip', { shopperId: '7', isVip: 'yes' }), 400, 'INVALID_INPUT', 'isVip');
    });

    it('shopper.activity lists the shopper’s own journal entries, newest first, page by page', async () => {
      const page = ok(await shopper('7', 'shopper.activity', { limit: 1 }));
      expect(page.entries).toHaveLength(1);
      expect(page.entries[0].kind).toBe('adjust');
      expect(page.entries[0].hash).toMatch(/^[0-9a-f]{64}$/);
      const viaGet = ok(await get(app.url, 'shopper.activity', { limit: 1 }, { token: await shopperToken('7') }));
      expect(viaGet).toEqual(page);
      expect(ok(await shopper('nobody', 'shopper.activity')).entries).toEqual([]);
      refused(await shopper('7', 'shopper.activity', { limit: 1000 }), 400, 'INVALID_INPUT', 'limit');
    });
  });

  describe('behaviours', () => {
    it('merchant.behaviour.record credits a review once per review id', async () => {
      const review = ok(await merchant('merchant.behaviour.record', { kind: 'review', shopperId: '42', ref: 'review-1' }));
      expect(review.points).toBeGreaterThan(0);
      expect(ok(await writesNothing(() => merchant('merchant.behaviour.record', { kind: 'review', shopperId: '42', ref: 'review-1' })))).toEqual(review);
      refused(await merchant('merchant.behaviour.record', { kind: 'selfie', shopperId: '42', ref: 'x' }), 400, 'INVALID_INPUT', 'kind');
    });

    it('records who referred a new shopper, and refuses a self-referral', async () => {
      expect(ok(await merchant('merchant.behaviour.record', { kind: 'referral', shopperId: 'newbie', referredBy: '42' }))).toMatchObject({ shopperId: 'newbie', referredBy: '42' });
      refused(await merchant('merchant.behaviour.record', { kind: 'referral', shopperId: 'loner', referredBy: 'loner' }), 422, 'SELF_REFERRAL');
    });

    it('shopper.checkin credits once a day', async () => {
      const first = ok(await shopper('42', 'shopper.checkin'));
      expect(first.streak).toBe(1);
      expect(first.points).toBeGreaterThan(0);
      refused(await writesNothing(() => shopper('42', 'shopper.checkin')), 409, 'ALREADY_CHECKED_IN');
    });
  });

  describe('checkout', () => {
    it('shopper.checkout.quote gives the usable range without writing', async () => {
      const quote = ok(await writesNothing(() => shopper('7', 'shopper.checkout.quote', { cartAmount: 20_000 })));
      expect(quote.availablePoints).toBeGreaterThan(0);
      expect(quote.redeemable.maxPoints).toBeGreaterThanOrEqual(quote.redeemable.minPoints);
      // A cart points cannot pay is a quote that says why, not an error: the widget shows it.
      const unusable = ok(await shopper('7', 'shopper.checkout.quote', { cartAmount: 100, items: [{ amount: 200 }] }));
      expect(unusable.redeemable).toBeNull();
      expect(unusable.refusal).toMatchObject({ code: 'ITEMS_EXCEED_CART' });
      refused(await shopper('7', 'shopper.checkout.quote', {}), 400, 'INVALID_INPUT', 'cartAmount');
    });

    it('reserve holds points, a replay returns the same hold, release returns them, and the order captures a new hold', async () => {
      const available = ok(await shopper('7', 'shopper.me')).balance.available;
      const hold = ok(await shopper('7', 'shopper.checkout.reserve', { checkoutId: 'c-1', points: 1000, cartAmount: 20_000 }));
      expect(hold).toMatchObject({ checkoutId: 'c-1', points: 1000, status: 'held' });
      expect(ok(await shopper('7', 'shopper.checkout.reserve', { checkoutId: 'c-1', points: 1000, cartAmount: 20_000 }))).toEqual(hold);
      refused(await shopper('7', 'shopper.checkout.reserve', { checkoutId: 'c-1', points: 2000, cartAmount: 20_000 }), 409, 'IDEMPOTENCY_CONFLICT', 'points');
      expect(ok(await shopper('7', 'shopper.me')).balance).toMatchObject({ available: available - 1000, held: 1000 });
      // Another shopper, and another merchant's shopper 7, cannot release it.
      refused(await shopper('8', 'shopper.checkout.release', { holdId: hold.holdId }), 404, 'NOT_FOUND', 'holdId');
      refused(await shopper('7', 'shopper.checkout.release', { holdId: hold.holdId }, other), 404, 'NOT_FOUND', 'holdId');
      const released = ok(await shopper('7', 'shopper.checkout.release', { holdId: hold.holdId }));
      expect(released.status).toBe('released');
      expect(ok(await writesNothing(() => shopper('7', 'shopper.checkout.release', { holdId: hold.holdId })))).toEqual(released);

      const second = ok(await shopper('7', 'shopper.checkout.reserve', { checkoutId: 'c-2', points: 1000, cartAmount: 20_000 }));
      const order = ok(await merchant('merchant.orders.paid', { orderId: '2001', shopperId: '7', amount: 20_000, currency: 'CNY', holdId: second.holdId }));
      expect(order.captured).toMatchObject({ holdId: second.holdId, points: 1000 });
      expect(ok(await shopper('7', 'shopper.me')).balance).toMatchObject({ available: available - 1000, held: 0 });
    });

    it('refuses to reserve more points than the shopper has', async () => {
      const answer = await writesNothing(() => shopper('7', 'shopper.checkout.reserve', { checkoutId: 'c-big', points: 10_000_000, cartAmount: 1_000_000_000 }));
      expect(answer.status).toBe(422);
    });
  });

  describe('coupons', () => {
    const template = {
      id: 'five-off',
      name: { 'zh-CN': '减 5 元', en: '¥5 off' },
      discount: { kind: 'fixed', amountOff: 500 },
      pointsCost: 500,
      stock: 10,
      isCancellable: true,
    };

    it('merchant.coupons.templates.upsert validates and lists templates', async () => {
      const saved = ok(await merchant('merchant.coupons.templates.upsert', { template }));
      expect(saved).toMatchObject({ stockLeft: 10, issued: 0 });
      expect(ok(await merchant('merchant.coupons.templates.list')).map((entry: { templateId?: string; id?: string }) => entry.templateId ?? entry.id)).toContain('five-off');
      refused(await writesNothing(() => merchant('merchant.coupons.templates.upsert', { template: { ...template, pointsCost: -1 } })), 400, 'INVALID_TEMPLATE', 'template.pointsCost');
      expect(ok(await merchant('merchant.coupons.templates.list', undefined, other))).toEqual([]);
    });

    it('a shopper exchanges points for a coupon once per key, sees it, and the merchant validates and redeems it', async () => {
      expect(ok(await shopper('7', 'shopper.coupons.catalog')).length).toBeGreaterThan(0);
      const available = ok(await shopper('7', 'shopper.me')).balance.available;
      const coupon = ok(await shopper('7', 'shopper.coupons.exchange', { templateId: 'five-off', idempotencyKey: 'x-1' }));
      expect(coupon).toMatchObject({ templateId: 'five-off', pointsCost: 500, status: 'issued' });
      expect(ok(await shopper('7', 'shopper.coupons.exchange', { templateId: 'five-off', idempotencyKey: 'x-1' }))).toEqual(coupon);
      expect(ok(await shopper('7', 'shopper.me')).balance.available).toBe(available - 500);
      expect(ok(await shopper('7', 'shopper.coupons.mine')).map((mine: { code: string }) => mine.code)).toContain(coupon.code);
      expect(ok(await shopper('8', 'shopper.coupons.mine'))).toEqual([]);

      const validation = ok(await get(app.url, 'merchant.coupons.validate', { code: coupon.code, orderAmount: 10_000 }, { token: shop.apiKey }));
      expect(validation.valid).toBe(true);
      expect(ok(await merchant('merchant.coupons.validate', { code: coupon.code, orderAmount: 10_000 }, other)).valid).toBe(false);
      const redeemed = ok(await merchant('merchant.coupons.redeem', { code: coupon.code, orderId: '3001', orderAmount: 10_000 }));
      expect(redeemed).toMatchObject({ code: coupon.code, orderId: '3001', discount: 500, status: 'redeemed' });
      refused(await merchant('merchant.coupons.redeem', { code: coupon.code, orderId: '3001', orderAmount: 10_000 }, other), 404, 'NOT_FOUND', 'code');
    });

    it('a shopper cancels an unused coupon for the points back; an unknown template is NOT_FOUND', async () => {
      const coupon = ok(await shopper('7', 'shopper.coupons.exchange', { templateId: 'five-off', idempotencyKey: 'x-2' }));
      const available = ok(await shopper('7', 'shopper.me')).balance.available;
      ok(await shopper('7', 'shopper.coupons.cancel', { code: coupon.code }));
      expect(ok(await shopper('7', 'shopper.me')).balance.available).toBe(available + 500);
      refused(await shopper('8', 'shopper.coupons.cancel', { code: coupon.code }), 404, 'NOT_FOUND');
      refused(await writesNothing(() => shopper('7', 'shopper.coupons.exchange', { templateId: 'nope', idempotencyKey: 'x-3' })), 404, 'NOT_FOUND', 'templateId');
    });
  });

  describe('program, reports, simulation and keys', () => {
    it('merchant.program.update creates a new version; get reads any version', async () => {
      const updated = ok(await merchant('merchant.program.update', { program: { earning: { baseRate: 0.06 } } }));
      expect(updated.version).toBe(2);
      expect(ok(await merchant('merchant.program.get', { version: 1 })).program.earning.baseRate).toBe(0.05);
      expect(ok(await merchant('merchant.program.get')).program.earning.baseRate).toBe(0.06);
      refused(await merchant('merchant.program.get', { version: 99 }), 404, 'NOT_FOUND', 'version');
      refused(await merchant('merchant.program.update', { program: 'generous' }), 400, 'INVALID_INPUT', 'program');
    });

    it('merchant.reports.summary reports the liability the shoppers hold', async () => {
      const summary = ok(await get(app.url, 'merchant.reports.summary', undefined, { token: shop.apiKey }));
      const holdings = await app.ledger.db
        .selectFrom('shoppers')
        .select(['available', 'held', 'pending'])
        .where('merchant_id', '=', 'shop')
        .execute();
      expect(summary.liability.points).toBe(holdings.reduce((sum, row) => sum + Number(row.available) + Number(row.held) + Number(row.pending), 0));
      expect(summary.pool).toBeNull();
    });

    it('merchant.simulate replays history under a candidate program, writing nothing', async () => {
      const result = ok(await writesNothing(() => merchant('merchant.simulate', { program: { earning: { baseRate: 0.1 } }, days: 30 })));
      expect(result.merchantId).toBe('shop');
      expect(result.orders).toBeGreaterThan(0);
      refused(await merchant('merchant.simulate', { program: { earning: { baseRate: 7 } } }), 400, 'INVALID_PROGRAM');
      refused(await merchant('merchant.simulate', { program: {}, days: 400 }), 400, 'INVALID_INPUT', 'days');
    });

    it('shopper.pool.history is empty for a fixed-value program; approvals list none', async () => {
      expect(ok(await shopper('7', 'shopper.pool.history'))).toEqual([]);
      expect(ok(await merchant('merchant.approvals.list'))).toEqual([]);
      refused(await merchant('merchant.approvals.approve', { holdId: 'nope' }), 404, 'NOT_FOUND');
    });

    it('merchant.keys.rotate issues a working key; list names every key; revoke retires the old one', async () => {
      const fresh = await aMerchant(app.ledger);
      const rotated = ok(await merchant('merchant.keys.rotate', undefined, fresh));
      expect(rotated.apiKey).toMatch(/^jf_/);
      // Both keys are listed, by id and first characters (this test's clock stands still: the order is the ids').
      const listed = ok(await post(app.url, 'merchant.keys.list', undefined, { token: rotated.apiKey }));
      expect(listed).toHaveLength(2);
      expect(listed).toEqual(
        expect.arrayContaining([
          { keyId: fresh.keyId, prefix: fresh.apiKey.slice(0, 8), createdAt: expect.any(Number), revokedAt: null },
          { keyId: rotated.keyId, prefix: rotated.apiKey.slice(0, 8), createdAt: expect.any(Number), revokedAt: null },
        ]),
      );
      expect(ok(await post(app.url, 'merchant.keys.revoke', { keyId: fresh.keyId }, { token: rotated.apiKey }))).toEqual({ keyId: fresh.keyId, revoked: true });
      refused(await merchant('merchant.program.get', undefined, fresh), 401, 'UNAUTHORIZED');
      const afterRevoke = ok(await post(app.url, 'merchant.keys.list', undefined, { token: rotated.apiKey })) as Array<{ keyId: string; revokedAt: number | null }>;
      expect(afterRevoke.find((key) => key.keyId === fresh.keyId)).toMatchObject({ revokedAt: expect.any(Number) });
      refused(await post(app.url, 'merchant.keys.revoke', { keyId: fresh.keyId }, { token: shop.apiKey }), 404, 'NOT_FOUND', 'keyId');
      // Another merchant's keys are not in its list.
      expect(ok(await merchant('merchant.keys.list')).map((key: { keyId: string }) => key.keyId)).not.toContain(fresh.keyId);
    });
  });
});
