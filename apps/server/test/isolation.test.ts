import { type Ledger, verifyMerchant } from '@jifen/api';
import type { Database } from '@jifen/db';
import { describeEachDialect } from '@jifen/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HttpAnswer, post } from './support/http';
import { type TestMerchant, type TestServer, aMerchant, startTestServer } from './support/test-server';
import { honestClaims, signHmac } from './support/tokens';

/**
 * Tenant isolation with colliding ids (issue 4 "Authentication and isolation"): merchants A and B
 * both have shopper "42", order "1001", template "five-off", checkout "c-1", adjustment key "adj-1",
 * coupon key "x-1" and review "review-1". Neither's writes change what the other reads; A's key or
 * A's shopper token given B's own ids (B's hold, coupon, API key, shopper, order, template, program
 * version) gets exactly the answer a truly unknown id gets; and B's rows come out of it byte for byte.
 */

type Role = { merchant: TestMerchant; token: (shopperId: string) => Promise<string> };

const TABLES = [
  'api_keys',
  'program_versions',
  'journal_heads',
  'journal',
  'shoppers',
  'orders',
  'order_events',
  'refunds',
  'lots',
  'holds',
  'hold_lots',
  'coupon_templates',
  'coupons',
  'pool_state',
  'pool_history',
  'budget_months',
  'shopper_days',
  'outbox',
  'idempotency',
] as const satisfies readonly (keyof Database)[];

/** Every row a merchant owns, table by table, in a stable order. */
async function rowsOf(ledger: Ledger, merchantId: string): Promise<Record<string, string[]>> {
  const rows: Record<string, string[]> = {};
  for (const table of TABLES) {
    const found = await ledger.db.selectFrom(table).selectAll().where('merchant_id', '=', merchantId).execute();
    rows[table] = found.map((row) => JSON.stringify(row, (_, value: unknown) => (typeof value === 'bigint' ? value.toString() : value))).sort();
  }
  return rows;
}

/** What the caller can tell from an answer: status and the whole body, with the ids it was asked about blanked. */
function visible(answer: HttpAnswer, ids: Record<string, string>): string {
  let text = answer.text;
  for (const [id, label] of Object.entries(ids)) text = text.split(id).join(label);
  return `${answer.status} ${text}`;
}

describeEachDialect('tenant isolation with colliding ids', (dialect) => {
  let app: TestServer;
  let a: Role;
  let b: Role;
  /** B's own generated ids. */
  const bIds = { holdId: '', couponCode: '', keyId: '' };

  const template = (pointsCost: number) => ({
    id: 'five-off',
    name: { 'zh-CN': '减 5 元', en: '¥5 off' },
    discount: { kind: 'fixed', amountOff: 500 },
    pointsCost,
    stock: 10,
    isCancellable: true,
  });

  const asMerchant = (role: Role, procedure: string, input?: unknown) => post(app.url, procedure, input, { token: role.merchant.apiKey });
  const asShopper = async (role: Role, shopperId: string, procedure: string, input?: unknown) => post(app.url, procedure, input, { token: await role.token(shopperId) });
  const ok = (answer: HttpAnswer) => {
    expect(answer.status, answer.text.slice(0, 400)).toBe(200);
    return answer.body.result.data;
  };

  /** The same story at both merchants with the same ids and different figures. */
  async function collidingStory(role: Role, scale: number): Promise<void> {
    ok(await asMerchant(role, 'merchant.coupons.templates.upsert', { template: template(500 * scale) }));
    ok(await asMerchant(role, 'merchant.shoppers.adjust', { shopperId: '42', points: 10_000 * scale, reason: 'welcome', idempotencyKey: 'adj-1' }));
    ok(await asMerchant(role, 'merchant.orders.paid', { orderId: '1001', shopperId: '42', amount: 100_000 * scale, currency: 'CNY' }));
    ok(await asMerchant(role, 'merchant.behaviour.record', { kind: 'review', shopperId: '42', ref: 'review-1' }));
  }

  /** Everything A (or B) can read about itself. */
  async function reads(role: Role): Promise<string[]> {
    const answers = [
      await asShopper(role, '42', 'shopper.me'),
      await asShopper(role, '42', 'shopper.activity', { limit: 100 }),
      await asShopper(role, '42', 'shopper.checkout.quote', { cartAmount: 20_000 }),
      await asShopper(role, '42', 'shopper.coupons.catalog'),
      await asShopper(role, '42', 'shopper.coupons.mine'),
      await asShopper(role, '42', 'shopper.expiry.upcoming'),
      await asShopper(role, '42', 'shopper.pool.history'),
      await asMerchant(role, 'merchant.shoppers.get', { shopperId: '42' }),
      await asMerchant(role, 'merchant.program.get'),
      await asMerchant(role, 'merchant.coupons.templates.list'),
      await asMerchant(role, 'merchant.reports.summary'),
      await asMerchant(role, 'merchant.approvals.list'),
    ];
    return answers.map((answer) => `${answer.status} ${answer.text}`);
  }

  beforeAll(async () => {
    app = await startTestServer(dialect, { shopperRate: null });
    const role = (merchant: TestMerchant): Role => ({
      merchant,
      token: (shopperId) => signHmac(honestClaims(merchant.merchantId, shopperId, app.clock.now, 3600), merchant.widgetSecret),
    });
    a = role(await aMerchant(app.ledger, { merchantId: 'iso-a' }));
    b = role(await aMerchant(app.ledger, { merchantId: 'iso-b' }));
  });
  afterAll(async () => {
    for (const merchantId of ['iso-a', 'iso-b']) {
      const report = await verifyMerchant(app.ledger.db, merchantId);
      expect(report.chain).toBeNull();
      expect(report.violations).toEqual([]);
    }
    await app.close();
  });

  it("B's writes under the same ids change nothing A reads", async () => {
    await collidingStory(a, 1);
    const before = await reads(a);
    await collidingStory(b, 2);
    // B's own things, and a hold and a coupon under ids A will use for itself later.
    bIds.holdId = ok(await asShopper(b, '42', 'shopper.checkout.reserve', { checkoutId: 'c-1', points: 1000, cartAmount: 20_000 })).holdId;
    bIds.couponCode = ok(await asShopper(b, '42', 'shopper.coupons.exchange', { templateId: 'five-off', idempotencyKey: 'x-1' })).code;
    ok(await asMerchant(b, 'merchant.shoppers.adjust', { shopperId: 'b-only', points: 300, reason: 'welcome', idempotencyKey: 'adj-b' }));
    ok(await asMerchant(b, 'merchant.orders.paid', { orderId: 'b-order', shopperId: 'b-only', amount: 5_000, currency: 'CNY' }));
    ok(await asMerchant(b, 'merchant.coupons.templates.upsert', { template: { ...template(100), id: 'b-template' } }));
    ok(await asMerchant(b, 'merchant.program.update', { program: { earning: { baseRate: 0.07 } } }));
    bIds.keyId = (await app.ledger.db.selectFrom('api_keys').select('id').where('merchant_id', '=', 'iso-b').executeTakeFirstOrThrow()).id;
    expect(await reads(a)).toEqual(before);
  });

  it("A's answers and B's answers about shopper 42 are each their own", async () => {
    const aMe = ok(await asShopper(a, '42', 'shopper.me'));
    const bMe = ok(await asShopper(b, '42', 'shopper.me'));
    expect(aMe.balance.available).toBe(10_000 + ok(await asMerchant(a, 'merchant.behaviour.record', { kind: 'review', shopperId: '42', ref: 'review-1' })).points);
    expect(bMe.balance.available).toBe(20_000 - 1000 - 1000 + ok(await asMerchant(b, 'merchant.behaviour.record', { kind: 'review', shopperId: '42', ref: 'review-1' })).points);
    expect(bMe.balance.held).toBe(1000);
    expect(aMe.balance.held).toBe(0);
    const aActivity = ok(await asShopper(a, '42', 'shopper.activity', { limit: 100 })).entries as { ref: string }[];
    expect(aActivity.map((entry) => entry.ref)).not.toContain(bIds.holdId);
  });

  describe("A's credentials with B's ids answer as for ids that do not exist", () => {
    let bRows: Record<string, string[]>;
    let bReads: string[];

    beforeAll(async () => {
      bRows = await rowsOf(app.ledger, 'iso-b');
      bReads = await reads(b);
    });
    afterAll(async () => {
      expect(await rowsOf(app.ledger, 'iso-b')).toEqual(bRows);
      expect(await reads(b)).toEqual(bReads);
    });

    let unknownCounter = 0;
    const unknown = (prefix: string) => `${prefix}${(unknownCounter += 1).toString().padStart(4, '0')}unknown`;

    /** A's call with B's id, and the same call with a truly unknown id: the caller cannot tell them apart. */
    async function sameAsUnknown(call: (id: string, fresh: string) => Promise<HttpAnswer>, bId: string, prefix = 'nope-'): Promise<void> {
      const [freshWithB, freshWithUnknown, unknownId] = [unknown('fresh-'), unknown('fresh-'), unknown(prefix)];
      const withB = await call(bId, freshWithB);
      const withUnknown = await call(unknownId, freshWithUnknown);
      expect(withB.status).toBeLessThan(500);
      expect(visible(withB, { [bId]: '<id>', [freshWithB]: '<fresh>' })).toBe(visible(withUnknown, { [unknownId]: '<id>', [freshWithUnknown]: '<fresh>' }));
    }

    const cases: [string, (id: string, fresh: string) => Promise<HttpAnswer>, () => string, string?][] = [
      ['shopper.checkout.release { holdId }', (id) => asShopper(a, '42', 'shopper.checkout.release', { holdId: id }), () => bIds.holdId, 'h_'],
      ['merchant.approvals.approve { holdId }', (id) => asMerchant(a, 'merchant.approvals.approve', { holdId: id }), () => bIds.holdId, 'h_'],
      ['merchant.orders.paid { holdId }', (id, fresh) => asMerchant(a, 'merchant.orders.paid', { orderId: fresh, shopperId: '42', amount: 10_000, currency: 'CNY', holdId: id }), () => bIds.holdId, 'h_'],
      ['merchant.orders.paid { couponCodes }', (id, fresh) => asMerchant(a, 'merchant.orders.paid', { orderId: fresh, shopperId: '42', amount: 10_000, currency: 'CNY', couponCodes: [id] }), () => bIds.couponCode],
      ['merchant.coupons.validate { code }', (id) => asMerchant(a, 'merchant.coupons.validate', { code: id, orderAmount: 10_000 }), () => bIds.couponCode],
      ['merchant.coupons.redeem { code }', (id, fresh) => asMerchant(a, 'merchant.coupons.redeem', { code: id, orderId: fresh, orderAmount: 10_000 }), () => bIds.couponCode],
      ['shopper.checkout.quote { couponCode }', (id) => asShopper(a, '42', 'shopper.checkout.quote', { cartAmount: 20_000, couponCode: id }), () => bIds.couponCode],
      ['shopper.checkout.reserve { couponCode }', (id, fresh) => asShopper(a, '42', 'shopper.checkout.reserve', { checkoutId: fresh, points: 100, cartAmount: 20_000, couponCode: id }), () => bIds.couponCode],
      ['shopper.coupons.cancel { code }', (id) => asShopper(a, '42', 'shopper.coupons.cancel', { code: id }), () => bIds.couponCode],
      ['merchant.keys.revoke { keyId }', (id) => asMerchant(a, 'merchant.keys.revoke', { keyId: id }), () => bIds.keyId, 'k_'],
      ['merchant.shoppers.get { shopperId }', (id) => asMerchant(a, 'merchant.shoppers.get', { shopperId: id }), () => 'b-only'],
      ['merchant.orders.completed { orderId }', (id) => asMerchant(a, 'merchant.orders.completed', { orderId: id }), () => 'b-order'],
      ['merchant.orders.refunded { orderId }', (id, fresh) => asMerchant(a, 'merchant.orders.refunded', { orderId: id, refundId: fresh, amount: 100 }), () => 'b-order'],
      ['merchant.orders.cancelled { orderId }', (id) => asMerchant(a, 'merchant.orders.cancelled', { orderId: id }), () => 'b-order'],
      ['shopper.coupons.exchange { templateId }', (id, fresh) => asShopper(a, '42', 'shopper.coupons.exchange', { templateId: id, idempotencyKey: fresh }), () => 'b-template'],
      ['merchant.behaviour.record { referredBy }', (id, fresh) => asMerchant(a, 'merchant.behaviour.record', { kind: 'referral', shopperId: fresh, referredBy: id }), () => 'b-only'],
      ['a shopper token whose sub is B’s shopper: shopper.me', (id) => asShopper(a, id, 'shopper.me'), () => 'b-only'],
      ['a shopper token whose sub is B’s shopper: shopper.coupons.mine', (id) => asShopper(a, id, 'shopper.coupons.mine'), () => 'b-only'],
      ['a shopper token whose sub is B’s shopper: shopper.expiry.upcoming', (id) => asShopper(a, id, 'shopper.expiry.upcoming'), () => 'b-only'],
    ];

    for (const [name, call, bId, prefix] of cases) {
      it(`${name}: B's id gets the answer an unknown id gets`, async () => {
        await sameAsUnknown(call, bId(), prefix);
      });
    }

    it("merchant.program.get { version }: B's version 2 is as unknown to A as version 99", async () => {
      const withB = await asMerchant(a, 'merchant.program.get', { version: 2 });
      const withUnknown = await asMerchant(a, 'merchant.program.get', { version: 99 });
      expect(withB.status).toBe(404);
      expect(visible(withB, {})).toBe(visible(withUnknown, {}));
    });

    it("merchant.shoppers.token { shopperId }: a token for B's shopper id is A's token for A's shopper of that id", async () => {
      const minted = ok(await asMerchant(a, 'merchant.shoppers.token', { shopperId: 'b-only' }));
      const claims = JSON.parse(Buffer.from(String(minted.token).split('.')[1]!, 'base64url').toString('utf8')) as { iss: string; sub: string };
      expect(claims).toMatchObject({ iss: 'iso-a', sub: 'b-only' });
      expect(ok(await post(app.url, 'shopper.me', undefined, { token: minted.token })).balance).toEqual({ available: 0, pending: 0, held: 0, debt: 0 });
    });

    it("A's writes under the colliding ids are A's own: replays return A's first results, new ids make A's records", async () => {
      const aAdjust = ok(await asMerchant(a, 'merchant.shoppers.adjust', { shopperId: '42', points: 10_000, reason: 'welcome', idempotencyKey: 'adj-1' }));
      expect(aAdjust.points).toBe(10_000);
      // B used "adj-1" with 20,000 points: for A it is a conflict on its own record, naming A's field.
      const conflict = await asMerchant(a, 'merchant.shoppers.adjust', { shopperId: '42', points: 20_000, reason: 'welcome', idempotencyKey: 'adj-1' });
      expect(conflict.status).toBe(409);
      expect(conflict.body.error.data.param).toBe('points');
      const hold = ok(await asShopper(a, '42', 'shopper.checkout.reserve', { checkoutId: 'c-1', points: 1000, cartAmount: 20_000 }));
      expect(hold.holdId).not.toBe(bIds.holdId);
      ok(await asShopper(a, '42', 'shopper.checkout.release', { holdId: hold.holdId }));
      const coupon = ok(await asShopper(a, '42', 'shopper.coupons.exchange', { templateId: 'five-off', idempotencyKey: 'x-1' }));
      expect(coupon.code).not.toBe(bIds.couponCode);
      expect(coupon.pointsCost).toBe(500);
      ok(await asShopper(a, '42', 'shopper.coupons.cancel', { code: coupon.code }));
      ok(await asMerchant(a, 'merchant.orders.refunded', { orderId: '1001', refundId: 'r-1', amount: 10_000 }));
      ok(await asMerchant(a, 'merchant.orders.completed', { orderId: '1001' }));
      ok(await asMerchant(a, 'merchant.shoppers.setVip', { shopperId: '42', isVip: true }));
      ok(await asMerchant(a, 'merchant.coupons.templates.upsert', { template: { ...template(500), stock: 5 } }));
      ok(await asMerchant(a, 'merchant.program.update', { program: { earning: { baseRate: 0.08 } } }));
      ok(await asMerchant(a, 'merchant.keys.rotate'));
      expect(ok(await asMerchant(a, 'merchant.program.get')).version).toBe(2);
    });
  });
});
