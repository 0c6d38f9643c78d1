import { describeEachDialect } from '@jifen/db/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { request } from './support/http';
import { ledgerSnapshot } from './support/snapshot';
import { type TestMerchant, type TestServer, aMerchant, startTestServer } from './support/test-server';
import { honestClaims, signHmac } from './support/tokens';

/**
 * Hostile input (SPEC §7, issue 4): each call is answered with a 4xx whose message names the field,
 * with no stack trace or SQL, and writes nothing. This is the hand-written start of the battery;
 * the generated mutations of valid payloads belong beside it (`hostile-mutations.test.ts`).
 */

type Credential = 'merchant' | 'shopper';
interface HostileCall {
  name: string;
  procedure: string;
  body: string;
  as: Credential;
  status: number;
  /** The field the message must name (its first words are `param:`), or a field inside it. */
  param: string;
}

const deepArray = '['.repeat(30_000) + ']'.repeat(30_000);
const deepObject = '{"a":'.repeat(10_000) + '1' + '}'.repeat(10_000);
const paid = (fields: string) => `{"orderId":"h-1","shopperId":"42","amount":1000,"currency":"CNY"${fields}}`;
const MAX = '9007199254740991';

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
  { name: 'lines adding up past 2^53', procedure: 'shopper.checkout.quote', body: `{"cartAmount":${MAX},"items":[{"amount":${MAX}},{"amount":${MAX}}]}`, as: 'shopper', status: 400, param: 'items' },
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
  { name: 'a reservation of more points than exist', procedure: 'shopper.checkout.reserve', body: `{"checkoutId":"c","points":${MAX},"cartAmount":${MAX}}`, as: 'shopper', status: 422, param: 'points' },
  { name: 'a merchant field in a shopper call', procedure: 'shopper.checkout.quote', body: '{"cartAmount":100,"merchantId":"other"}', as: 'shopper', status: 400, param: 'merchantId' },
  { name: 'a shopper field in a shopper call', procedure: 'shopper.coupons.exchange', body: '{"templateId":"t","idempotencyKey":"k","shopperId":"someone-else"}', as: 'shopper', status: 400, param: 'shopperId' },
  { name: 'an unknown behaviour', procedure: 'merchant.behaviour.record', body: '{"kind":"purchase","shopperId":"42","ref":"r"}', as: 'merchant', status: 400, param: 'kind' },
  { name: 'a simulation of 10 years', procedure: 'merchant.simulate', body: '{"program":{},"days":3650}', as: 'merchant', status: 400, param: 'days' },
  { name: 'a program that is a string', procedure: 'merchant.program.update', body: '{"program":"generous"}', as: 'merchant', status: 400, param: 'program' },
];

describeEachDialect('hostile input', (dialect) => {
  let app: TestServer;
  let shop: TestMerchant;
  let shopperToken: string;

  beforeAll(async () => {
    app = await startTestServer(dialect, { shopperRate: null });
    shop = await aMerchant(app.ledger);
    shopperToken = await signHmac(honestClaims(shop.merchantId, '42', app.clock.now), shop.widgetSecret);
  });
  afterAll(() => app.close());

  for (const call of calls) {
    it(`answers ${call.name} with ${call.status} naming ${call.param}, writing nothing`, async () => {
      const before = await ledgerSnapshot(app.ledger);
      const answer = await request(`${app.url}/trpc/${call.procedure}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${call.as === 'merchant' ? shop.apiKey : shopperToken}`, 'content-type': 'application/json' },
        body: call.body,
      });
      expect(answer.status, answer.text.slice(0, 300)).toBe(call.status);
      const { param } = answer.body.error.data as { param: string };
      expect(param === call.param || param.startsWith(`${call.param}.`), param).toBe(true);
      expect(answer.body.error.message.startsWith(`${param}: `)).toBe(true);
      expect(answer.text).not.toMatch(/\bat .+\.(ts|js):\d+|select |insert |update .+ set|sqlite|postgres/i);
      expect(await ledgerSnapshot(app.ledger)).toEqual(before);
    });
  }
});
