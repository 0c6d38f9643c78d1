import { verifyMerchant } from '@jifen/api';
import { describeEachDialect } from '@jifen/db/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { post, request } from './support/http';
import { ledgerSnapshot } from './support/snapshot';
import { type TestMerchant, type TestServer, aMerchant, startTestServer } from './support/test-server';
import { honestClaims, signHmac } from './support/tokens';

/**
 * Hostile input (SPEC §7, issue 4): each call is answered with a 4xx whose message names the field,
 * with no stack trace or SQL, and writes nothing. These are the hand-written calls; the generated
 * mutations of valid payloads are in `mutations.test.ts`.
 */

/** Merchant A's key, A's shopper 42's token, or merchant B's key. */
type Credential = 'merchant' | 'shopper' | 'otherMerchant';
interface HostileCall {
  name: string;
  procedure: string;
  /** The raw body; `{{name}}` is replaced by an id the suite created (another merchant's hold, …). */
  body: string;
  as: Credential;
  status: number;
  /** The field the message must name (its first words are `param:`), or a field inside it; null for a refusal of the body as a whole. */
  param: string | null;
}

const deepArray = '['.repeat(30_000) + ']'.repeat(30_000);
const deepObject = '{"a":'.repeat(10_000) + '1' + '}'.repeat(10_000);
const paid = (fields: string) => `{"orderId":"h-1","shopperId":"42","amount":1000,"currency":"CNY"${fields}}`;
const MAX = '9007199254740991';
const MONEY_MAX = '10000000000000';
const ids = (fields: string) => `{"orderId":"h-1","shopperId":"42",${fields}}`;

const calls: HostileCall[] = [
  { name: 'a __proto__ key', procedure: 'merchant.orders.paid', body: paid(',"__proto__":{"isAdmin":true}'), as: 'merchant', status: 400, param: '__proto__' },
  { name: 'a constructor key', procedure: 'merchant.orders.paid', body: paid(',"constructor":{"prototype":{}}'), as: 'merchant', status: 400, param: 'constructor' },
  { name: 'an array 30,000 deep', procedure: 'merchant.orders.paid', body: deepArray, as: 'merchant', status: 400, param: 'input' },
  { name: 'a program 10,000 deep', procedure: 'merchant.program.update', body: `{"program":${deepObject}}`, as: 'merchant', status: 400, param: 'program' },
  { name: 'a template 10,000 deep', procedure: 'merchant.coupons.templates.upsert', body: `{"template":${deepObject}}`, as: 'merchant', status: 400, param: 'template' },
  { name: 'an amount "NaN"', procedure: 'merchant.orders.paid', body: '{"orderId":"h-1","shopperId":"42","amount":"NaN","currency":"CNY"}', as: 'merchant', status: 400, param: 'amount' },
  { name: 'an amount of 1e400 (Infinity)', procedure: 'merchant.orders.paid', body: '{"orderId":"h-1","shopperId":"42","amount":1e400,"currency":"CNY"}', as: 'merchant', status: 400, param: 'amount' },
  { name: 'an amount of 2^64', procedure: 'merchant.orders.paid', body: '{"orderId":"h-1","shopperId":"42","amount":18446744073709551616,"currency":"CNY"}', as: 'merchant', status: 400, param: 'amount' },
  { name: 'an amount of 2^53', procedure: 'merchant.orders.paid', body: '{"orderId":"h-1","shopperId":"42","amount":9007199254740992,"currency":"CNY"}', as: 'merchant', status: 400, param: 'amount' },
  { name: 'a negative amount', procedure: 'merchant.orders.paid', body: '{"orderId":"h-1","shopperId":"42","amount":-1,"currency":"CNY"}', as: 'merchant', status: 400, param: 'amount' },
  { name: 'a fractional amount', procedure: 'merchant.orders.paid', body: '{"orderId":"h-1","shopperId":"42","amount":0.5,"currency":"CNY"}', as: 'merchant', status: 400, param: 'amount' },
  { name: 'an unknown currency', procedure: 'merchant.orders.paid', body: '{"orderId":"h-1","shopperId":"42","amount":1,"currency":"XXZ"}', as: 'merchant', status: 400, param: 'currency' },
  { name: 'a lowercase currency', procedure: 'merchant.orders.paid', body: '{"orderId":"h-1","shopperId":"42","amount":1,"currency":"cny"}', as: 'merchant', status: 400, param: 'currency' },
  { name: 'an empty order id', procedure: 'merchant.orders.paid', body: '{"orderId":"","shopperId":"42","amount":1,"currency":"CNY"}', as: 'merchant', status: 400, param: 'orderId' },
  { name: 'an order id of 129 characters', procedure: 'merchant.orders.paid', body: `{"orderId":"${'x'.repeat(129)}","shopperId":"42","amount":1,"currency":"CNY"}`, as: 'merchant', status: 400, param: 'orderId' },
  { name: 'a shopper id with a newline', procedure: 'merchant.orders.paid', body: '{"orderId":"h-1","shopperId":"4\\n2","amount":1,"currency":"CNY"}', as: 'merchant', status: 400, param: 'shopperId' },
  { name: 'an impossible paidAt', procedure: 'merchant.orders.paid', body: paid(',"paidAt":"2026-13-45T99:99:99Z"'), as: 'merchant', status: 400, param: 'paidAt' },
  { name: 'a paidAt without an offset', procedure: 'merchant.orders.paid', body: paid(',"paidAt":"2026-11-11T10:00:00"'), as: 'merchant', status: 400, param: 'paidAt' },
  { name: 'a paidAt far in the future', procedure: 'merchant.orders.paid', body: paid(',"paidAt":"9999-12-31T23:59:59+14:00"'), as: 'merchant', status: 400, param: 'paidAt' },
  { name: '201 order lines', procedure: 'merchant.orders.paid', body: paid(`,"items":[${Array.from({ length: 201 }, () => '{"amount":1}').join(',')}]`), as: 'merchant', status: 400, param: 'items' },
  { name: 'a line with an unknown field', procedure: 'merchant.orders.paid', body: paid(',"items":[{"amount":1,"price":1}]'), as: 'merchant', status: 400, param: 'items.0.price' },
  { name: 'lines adding up past the money limit', procedure: 'shopper.checkout.quote', body: `{"cartAmount":${MONEY_MAX},"items":[{"amount":${MONEY_MAX}},{"amount":${MONEY_MAX}}]}`, as: 'shopper', status: 400, param: 'items' },
  { name: '11 coupon codes', procedure: 'merchant.orders.paid', body: paid(`,"couponCodes":[${Array.from({ length: 11 }, (_, index) => `"c${index}"`).join(',')}]`), as: 'merchant', status: 400, param: 'couponCodes' },
  { name: 'a string as the input', procedure: 'merchant.orders.paid', body: '"an order"', as: 'merchant', status: 400, param: 'input' },
  { name: 'null as the input', procedure: 'merchant.orders.paid', body: 'null', as: 'merchant', status: 400, param: 'input' },
  { name: 'an array as the input', procedure: 'merchant.orders.paid', body: '[]', as: 'merchant', status: 400, param: 'input' },
  { name: 'truncated JSON', procedure: 'merchant.orders.paid', body: '{"orderId":"h-1",', as: 'merchant', status: 400, param: 'body' },
  { name: 'a JSON comment', procedure: 'merchant.orders.paid', body: '{/* hi */"orderId":"h-1"}', as: 'merchant', status: 400, param: 'body' },
  { name: 'a lone surrogate in an id', procedure: 'merchant.orders.paid', body: '{"orderId":"\\ud800","shopperId":"42","amount":1,"currency":"CNY"}', as: 'merchant', status: 400, param: 'orderId' },
  { name: 'a zero adjustment', procedure: 'merchant.shoppers.adjust', body: '{"shopperId":"42","points":0,"reason":"r","idempotencyKey":"k"}', as: 'merchant', status: 400, param: 'points' },
  { name: 'a token lifetime of a day', procedure: 'merchant.shoppers.token', body: '{"shopperId":"42","ttlSeconds":86400}', as: 'merchant', status: 400, param: 'ttlSeconds' },
  { name: 'a negative reservation', procedure: 'shopper.checkout.reserve', body: '{"checkoutId":"c","points":-100,"cartAmount":1000}', as: 'shopper', status: 400, param: 'points' },
  { name: 'a reservation of more points than exist', procedure: 'shopper.checkout.reserve', body: `{"checkoutId":"c","points":${MAX},"cartAmount":${MONEY_MAX}}`, as: 'shopper', status: 422, param: 'points' },
  { name: 'a merchant field in a shopper call', procedure: 'shopper.checkout.quote', body: '{"cartAmount":100,"merchantId":"other"}', as: 'shopper', status: 400, param: 'merchantId' },
  { name: 'a shopper field in a shopper call', procedure: 'shopper.coupons.exchange', body: '{"templateId":"t","idempotencyKey":"k","shopperId":"someone-else"}', as: 'shopper', status: 400, param: 'shopperId' },
  { name: 'an unknown behaviour', procedure: 'merchant.behaviour.record', body: '{"kind":"purchase","shopperId":"42","ref":"r"}', as: 'merchant', status: 400, param: 'kind' },
  { name: 'a simulation of 10 years', procedure: 'merchant.simulate', body: '{"program":{},"days":3650}', as: 'merchant', status: 400, param: 'days' },
  { name: 'a program that is a string', procedure: 'merchant.program.update', body: '{"program":"generous"}', as: 'merchant', status: 400, param: 'program' },

  // Amounts past 2^63, past the money limit, and numbers in disguise.
  { name: 'an amount of 2^63', procedure: 'merchant.orders.paid', body: ids('"amount":9223372036854775808,"currency":"CNY"'), as: 'merchant', status: 400, param: 'amount' },
  { name: 'an amount of −2^63', procedure: 'merchant.orders.paid', body: ids('"amount":-9223372036854775808,"currency":"CNY"'), as: 'merchant', status: 400, param: 'amount' },
  { name: 'an amount of 1e19', procedure: 'merchant.orders.paid', body: ids('"amount":1e19,"currency":"CNY"'), as: 'merchant', status: 400, param: 'amount' },
  { name: 'an amount one fen past 10^13', procedure: 'merchant.orders.paid', body: ids('"amount":10000000000001,"currency":"CNY"'), as: 'merchant', status: 400, param: 'amount' },
  { name: 'an amount of 2^53 − 1 (past the money limit)', procedure: 'merchant.orders.paid', body: ids(`"amount":${MAX},"currency":"CNY"`), as: 'merchant', status: 400, param: 'amount' },
  { name: 'an amount "Infinity"', procedure: 'merchant.orders.paid', body: ids('"amount":"Infinity","currency":"CNY"'), as: 'merchant', status: 400, param: 'amount' },
  { name: 'an amount "-Infinity"', procedure: 'merchant.orders.paid', body: ids('"amount":"-Infinity","currency":"CNY"'), as: 'merchant', status: 400, param: 'amount' },
  { name: 'an amount of 1e-7', procedure: 'merchant.orders.paid', body: ids('"amount":1e-7,"currency":"CNY"'), as: 'merchant', status: 400, param: 'amount' },
  { name: 'an amount nested 5,000 arrays deep', procedure: 'merchant.orders.paid', body: ids(`"amount":${'['.repeat(5000)}${']'.repeat(5000)},"currency":"CNY"`), as: 'merchant', status: 400, param: 'amount' },
  { name: 'a duplicate amount key whose last value is negative', procedure: 'merchant.orders.paid', body: ids('"amount":100,"amount":-100,"currency":"CNY"'), as: 'merchant', status: 400, param: 'amount' },
  { name: 'a shipping charge of 2^53 + 1', procedure: 'merchant.orders.paid', body: paid(',"shipping":9007199254740993'), as: 'merchant', status: 400, param: 'shipping' },
  { name: 'a negative fractional tax', procedure: 'merchant.orders.paid', body: paid(',"tax":-0.01'), as: 'merchant', status: 400, param: 'tax' },
  { name: 'a line quantity of 0', procedure: 'merchant.orders.paid', body: paid(',"items":[{"amount":1000,"quantity":0}]'), as: 'merchant', status: 400, param: 'items.0.quantity' },
  { name: 'a refund of 2^63', procedure: 'merchant.orders.refunded', body: '{"orderId":"h-replay","refundId":"r-2","amount":9223372036854775808}', as: 'merchant', status: 400, param: 'amount' },
  { name: 'a cart amount "NaN"', procedure: 'shopper.checkout.quote', body: '{"cartAmount":"NaN"}', as: 'shopper', status: 400, param: 'cartAmount' },
  { name: 'an order amount of 1e400', procedure: 'merchant.coupons.validate', body: '{"code":"c","orderAmount":1e400}', as: 'merchant', status: 400, param: 'orderAmount' },
  { name: 'a fractional reservation', procedure: 'shopper.checkout.reserve', body: '{"checkoutId":"c-frac","points":1.5,"cartAmount":1000}', as: 'shopper', status: 400, param: 'points' },
  { name: 'an adjustment of 2^53 points', procedure: 'merchant.shoppers.adjust', body: '{"shopperId":"42","points":9007199254740992,"reason":"r","idempotencyKey":"k-big"}', as: 'merchant', status: 400, param: 'points' },
  { name: 'an adjustment of −2^53 points', procedure: 'merchant.shoppers.adjust', body: '{"shopperId":"42","points":-9007199254740992,"reason":"r","idempotencyKey":"k-neg"}', as: 'merchant', status: 400, param: 'points' },
  { name: 'a credit carrying a balance past 2^53 − 1', procedure: 'merchant.shoppers.adjust', body: '{"shopperId":"rich","points":10,"reason":"one more","idempotencyKey":"k-rich-2"}', as: 'merchant', status: 422, param: 'points' },

  // Wrong types and strings.
  { name: 'isVip as the string "true"', procedure: 'merchant.shoppers.setVip', body: '{"shopperId":"42","isVip":"true"}', as: 'merchant', status: 400, param: 'isVip' },
  { name: 'an order id as a number', procedure: 'merchant.orders.paid', body: '{"orderId":1001,"shopperId":"42","amount":1,"currency":"CNY"}', as: 'merchant', status: 400, param: 'orderId' },
  { name: 'a null shopper id', procedure: 'merchant.orders.paid', body: '{"orderId":"h-1","shopperId":null,"amount":1,"currency":"CNY"}', as: 'merchant', status: 400, param: 'shopperId' },
  { name: 'items as an object', procedure: 'merchant.orders.paid', body: paid(',"items":{"0":{"amount":1}}'), as: 'merchant', status: 400, param: 'items' },
  { name: 'coupon codes as a string', procedure: 'merchant.orders.paid', body: paid(',"couponCodes":"SAVE5"'), as: 'merchant', status: 400, param: 'couponCodes' },
  { name: 'a numeric currency code', procedure: 'merchant.orders.paid', body: ids('"amount":1,"currency":156'), as: 'merchant', status: 400, param: 'currency' },
  { name: 'an empty currency', procedure: 'merchant.orders.paid', body: ids('"amount":1,"currency":""'), as: 'merchant', status: 400, param: 'currency' },
  { name: "a currency other than the merchant's", procedure: 'merchant.orders.paid', body: ids('"amount":1,"currency":"USD"'), as: 'merchant', status: 400, param: 'currency' },
  { name: 'a reason of 201 characters', procedure: 'merchant.shoppers.adjust', body: `{"shopperId":"42","points":5,"reason":"${'r'.repeat(201)}","idempotencyKey":"k-long"}`, as: 'merchant', status: 400, param: 'reason' },
  { name: 'a reason that is a lone surrogate', procedure: 'merchant.shoppers.adjust', body: '{"shopperId":"42","points":5,"reason":"\\udc00","idempotencyKey":"k-surrogate"}', as: 'merchant', status: 400, param: 'reason' },
  { name: 'a shopper id of 20,000 characters', procedure: 'merchant.shoppers.get', body: `{"shopperId":"${'4'.repeat(20_000)}"}`, as: 'merchant', status: 400, param: 'shopperId' },
  { name: 'an empty body', procedure: 'merchant.orders.paid', body: '', as: 'merchant', status: 400, param: 'input' },
  { name: 'a body of spaces', procedure: 'merchant.orders.paid', body: '   ', as: 'merchant', status: 400, param: 'body' },
  { name: 'a body with a byte-order mark', procedure: 'merchant.orders.paid', body: `\ufeff${paid('')}`, as: 'merchant', status: 400, param: 'body' },
  { name: 'a body of 70 KiB', procedure: 'merchant.orders.paid', body: paid(`,"padding":"${'x'.repeat(70 * 1024)}"`), as: 'merchant', status: 413, param: null },

  // Keys that reach for prototypes, and unknown keys at any depth of a config.
  { name: 'a __proto__ key in an order line', procedure: 'merchant.orders.paid', body: paid(',"items":[{"amount":1,"__proto__":{"amount":-1}}]'), as: 'merchant', status: 400, param: 'items.0.__proto__' },
  { name: 'a __proto__ key in a program', procedure: 'merchant.program.update', body: '{"program":{"__proto__":{"earning":{"baseRate":1}}}}', as: 'merchant', status: 400, param: 'program.__proto__' },
  { name: 'a __proto__ key inside a program section', procedure: 'merchant.program.update', body: '{"program":{"earning":{"__proto__":{"baseRate":1}}}}', as: 'merchant', status: 400, param: 'program.earning.__proto__' },
  { name: 'an unknown key inside a program section', procedure: 'merchant.program.update', body: '{"program":{"earning":{"a":1}}}', as: 'merchant', status: 400, param: 'program.earning.a' },
  { name: 'an unknown key inside a tier name', procedure: 'merchant.simulate', body: '{"program":{"earning":{"tiers":[{"id":"m","name":{"en":"M","zh-CN":"M","fr":"M"},"minSpend":0,"multiplier":1}]}}}', as: 'merchant', status: 400, param: 'program.earning.tiers.0.name.fr' },
  { name: 'an unknown top-level program key', procedure: 'merchant.program.update', body: '{"program":{"curency":"USD"}}', as: 'merchant', status: 400, param: 'program.curency' },
  { name: 'an unknown key inside a coupon discount', procedure: 'merchant.coupons.templates.upsert', body: '{"template":{"id":"t","name":{"en":"T","zh-CN":"T"},"discount":{"kind":"fixed","amountOff":5,"bonus":1},"pointsCost":5}}', as: 'merchant', status: 400, param: 'template.discount.bonus' },

  // Another merchant's key and ids: simply not found.
  { name: "another merchant's key asking for this merchant's shopper", procedure: 'merchant.shoppers.get', body: '{"shopperId":"only-a"}', as: 'otherMerchant', status: 404, param: 'shopperId' },
  { name: "another merchant's hold released by this merchant's shopper", procedure: 'shopper.checkout.release', body: '{"holdId":"{{otherHold}}"}', as: 'shopper', status: 404, param: 'holdId' },
  { name: "another merchant's coupon redeemed with this merchant's key", procedure: 'merchant.coupons.redeem', body: '{"code":"{{otherCoupon}}","orderId":"h-9","orderAmount":10000}', as: 'merchant', status: 404, param: 'code' },
  { name: "another merchant's coupon cancelled by this merchant's shopper", procedure: 'shopper.coupons.cancel', body: '{"code":"{{otherCoupon}}"}', as: 'shopper', status: 404, param: 'code' },
  { name: "another merchant's template exchanged by this merchant's shopper", procedure: 'shopper.coupons.exchange', body: '{"templateId":"b-only","idempotencyKey":"x-b"}', as: 'shopper', status: 404, param: 'templateId' },
  { name: "another merchant's API key revoked with this merchant's key", procedure: 'merchant.keys.revoke', body: '{"keyId":"{{otherKey}}"}', as: 'merchant', status: 404, param: 'keyId' },
  { name: "another merchant's hold approved with this merchant's key", procedure: 'merchant.approvals.approve', body: '{"holdId":"{{otherHold}}"}', as: 'merchant', status: 404, param: 'holdId' },

  // A replayed id with a different payload.
  { name: 'a replayed order id with another amount', procedure: 'merchant.orders.paid', body: '{"orderId":"h-replay","shopperId":"42","amount":20001,"currency":"CNY"}', as: 'merchant', status: 409, param: 'amount' },
  { name: 'a replayed order id with another shopper', procedure: 'merchant.orders.paid', body: '{"orderId":"h-replay","shopperId":"43","amount":20000,"currency":"CNY"}', as: 'merchant', status: 409, param: 'shopperId' },
  { name: 'a replayed refund id with another amount', procedure: 'merchant.orders.refunded', body: '{"orderId":"h-replay","refundId":"r-replay","amount":2000}', as: 'merchant', status: 409, param: 'amount' },
  { name: 'a replayed adjustment key with other points', procedure: 'merchant.shoppers.adjust', body: '{"shopperId":"42","points":999,"reason":"goodwill","idempotencyKey":"adj-replay"}', as: 'merchant', status: 409, param: 'points' },
  { name: 'a replayed checkout id with other points', procedure: 'shopper.checkout.reserve', body: '{"checkoutId":"c-replay","points":300,"cartAmount":20000}', as: 'shopper', status: 409, param: 'points' },
];

describeEachDialect('hostile input', (dialect) => {
  let app: TestServer;
  let shop: TestMerchant;
  let other: TestMerchant;
  let shopperToken: string;
  const placeholders: Record<string, string> = {};

  beforeAll(async () => {
    app = await startTestServer(dialect, { shopperRate: null });
    shop = await aMerchant(app.ledger);
    other = await aMerchant(app.ledger);
    shopperToken = await signHmac(honestClaims(shop.merchantId, '42', app.clock.now), shop.widgetSecret);
    const otherToken = await signHmac(honestClaims(other.merchantId, '42', app.clock.now), other.widgetSecret);
    const ok = async (answer: Promise<{ status: number; text: string; body: { result?: { data: Record<string, string> } } }>) => {
      const settled = await answer;
      expect(settled.status, settled.text).toBe(200);
      return settled.body.result!.data;
    };
    const asShop = (procedure: string, input: unknown) => ok(post(app.url, procedure, input, { token: shop.apiKey }));
    const asShopper = (procedure: string, input: unknown) => ok(post(app.url, procedure, input, { token: shopperToken }));
    const asOther = (procedure: string, input: unknown) => ok(post(app.url, procedure, input, { token: other.apiKey }));
    const asOtherShopper = (procedure: string, input: unknown) => ok(post(app.url, procedure, input, { token: otherToken }));
    // This merchant: ids to replay, a shopper only it has, and one at the edge of the balance range.
    await asShop('merchant.orders.paid', { orderId: 'h-replay', shopperId: '42', amount: 20_000, currency: 'CNY' });
    await asShop('merchant.orders.refunded', { orderId: 'h-replay', refundId: 'r-replay', amount: 1000 });
    await asShop('merchant.shoppers.adjust', { shopperId: '42', points: 5000, reason: 'goodwill', idempotencyKey: 'adj-replay' });
    await asShopper('shopper.checkout.reserve', { checkoutId: 'c-replay', points: 200, cartAmount: 20_000 });
    await asShop('merchant.shoppers.adjust', { shopperId: 'only-a', points: 10, reason: 'welcome', idempotencyKey: 'adj-only-a' });
    await asShop('merchant.shoppers.adjust', { shopperId: 'rich', points: Number(MAX) - 5, reason: 'the edge of the range', idempotencyKey: 'k-rich-1' });
    // The other merchant: a hold, a coupon, a template and an API key of its own.
    const template = { id: 'b-only', name: { en: 'B', 'zh-CN': 'B' }, discount: { kind: 'fixed', amountOff: 100 }, pointsCost: 100 };
    await asOther('merchant.coupons.templates.upsert', { template });
    await asOther('merchant.shoppers.adjust', { shopperId: '42', points: 5000, reason: 'welcome', idempotencyKey: 'adj-b' });
    placeholders.otherHold = (await asOtherShopper('shopper.checkout.reserve', { checkoutId: 'c-b', points: 200, cartAmount: 20_000 })).holdId!;
    placeholders.otherCoupon = (await asOtherShopper('shopper.coupons.exchange', { templateId: 'b-only', idempotencyKey: 'x-b' })).code!;
    const key = await app.ledger.db.selectFrom('api_keys').select('id').where('merchant_id', '=', other.merchantId).executeTakeFirstOrThrow();
    placeholders.otherKey = key.id;
  });
  afterAll(async () => {
    for (const merchantId of [shop.merchantId, other.merchantId]) {
      const report = await verifyMerchant(app.ledger.db, merchantId);
      expect(report.chain).toBeNull();
      expect(report.violations).toEqual([]);
    }
    await app.close();
  });

  it(`holds at least 60 hand-written calls (${calls.length})`, () => {
    expect(calls.length).toBeGreaterThanOrEqual(60);
  });

  const credentialOf = (as: Credential) => (as === 'merchant' ? shop.apiKey : as === 'otherMerchant' ? other.apiKey : shopperToken);

  for (const call of calls) {
    it(`answers ${call.name} with ${call.status} naming ${call.param ?? 'the body'}, writing nothing`, async () => {
      const before = await ledgerSnapshot(app.ledger);
      const headsBefore = await app.ledger.db.selectFrom('journal_heads').selectAll().orderBy('merchant_id').execute();
      const answer = await request(`${app.url}/trpc/${call.procedure}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${credentialOf(call.as)}`, 'content-type': 'application/json' },
        body: call.body.replace(/\{\{(\w+)\}\}/g, (_, name: string) => placeholders[name] ?? name),
      });
      expect(answer.status, answer.text.slice(0, 300)).toBe(call.status);
      const { param } = answer.body.error.data as { param: string | null };
      if (call.param === null) {
        expect(param).toBeNull();
        expect(answer.body.error.message).toMatch(/\bbody\b/);
      } else {
        expect(param !== null && (param === call.param || param.startsWith(`${call.param}.`)), String(param)).toBe(true);
        expect(answer.body.error.message.startsWith(`${param}: `)).toBe(true);
      }
      expect(answer.text).not.toMatch(/\bat .+\.(ts|js):\d+|select |insert |update .+ set|sqlite|postgres/i);
      expect(await ledgerSnapshot(app.ledger)).toEqual(before);
      expect(await app.ledger.db.selectFrom('journal_heads').selectAll().orderBy('merchant_id').execute()).toEqual(headsBefore);
    });
  }
});
