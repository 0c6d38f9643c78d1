import { verifyMerchant } from '@jifen/api';
import { describeEachDialect } from '@jifen/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_MERCHANT_ID, DEMO_SHOPPERS, seedDemo } from '../src/cli/seed';
import { type DemoOptions, createDemoRoutes } from '../src/demo-routes';
import type { RouteHandler } from '../src/http/server';
import { type HttpAnswer, post, request } from './support/http';
import { type TestServer, startTestServer } from './support/test-server';

/**
 * The demo merchant's backend under `jifen start` (src/demo-routes.ts): sign-in as a seeded shopper,
 * the token endpoint, and paying an order with the hold through `merchant.orders.paid` with the
 * API key the server keeps. The browser suite (test/browser/) drives the same routes from the pages.
 */
describeEachDialect('the demo backend', (dialect) => {
  let app: TestServer;
  let demo: DemoOptions;
  // The routes need the demo's API key, which exists once the server's ledger is seeded.
  let routes: RouteHandler = () => Promise.resolve(null);

  beforeAll(async () => {
    app = await startTestServer(dialect, { routes: [(request, response, context) => routes(request, response, context)] });
    const seeded = await seedDemo(app.ledger);
    demo = { merchantId: DEMO_MERCHANT_ID, apiKey: seeded!.credentials.apiKey, shoppers: DEMO_SHOPPERS };
    routes = createDemoRoutes(demo);
  });
  afterAll(() => app.close());

  const json = (path: string, body: unknown, cookie?: string): Promise<HttpAnswer> =>
    request(`${app.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...(cookie ? { cookie } : {}) }, body: JSON.stringify(body) });
  const sessionOf = (answer: HttpAnswer) => answer.headers.get('set-cookie')!.split(';')[0]!;

  it('signs in as a seeded shopper with a session cookie and answers a token the shopper procedures accept', async () => {
    const signIn = await json('/demo/token', { shopperId: 'alice' });
    expect(signIn.status).toBe(200);
    expect(signIn.headers.get('set-cookie')).toMatch(/^jifen_demo_shopper=alice; Path=\/; HttpOnly; SameSite=Lax/);
    expect(signIn.headers.get('cache-control')).toBe('no-store');
    const me = await post(app.url, 'shopper.me', undefined, { token: signIn.body.token });
    expect(me.body.result.data.shopperId).toBe('alice');

    const endpoint = await request(`${app.url}/demo/token`, { headers: { cookie: sessionOf(signIn) } });
    expect(endpoint.status).toBe(200);
    expect(Object.keys(endpoint.body).sort()).toEqual(['expiresAt', 'token']);
    const session = await request(`${app.url}/demo/session`, { headers: { cookie: sessionOf(signIn) } });
    expect(session.body).toMatchObject({ merchantId: DEMO_MERCHANT_ID, shopperId: 'alice', canPay: true });
    expect(session.body.shoppers.map((shopper: { shopperId: string }) => shopper.shopperId)).toEqual(DEMO_SHOPPERS.map((shopper) => shopper.shopperId));
  });

  it('refuses a shopper outside the demo, a token request without a session, and a body that is not JSON', async () => {
    expect((await json('/demo/token', { shopperId: 'mallory' })).status).toBe(404);
    expect((await json('/demo/token', { shopperId: 42 })).body.error.message).toContain('shopperId');
    expect((await request(`${app.url}/demo/token`)).status).toBe(401);
    expect((await request(`${app.url}/demo/token`, { headers: { cookie: 'jifen_demo_shopper=mallory' } })).status).toBe(401);
    const form = await request(`${app.url}/demo/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'shopperId=alice' });
    expect(form.status).toBe(415);
    expect(form.headers.get('set-cookie')).toBeNull();
  });

  it('pays the order with merchant.orders.paid, capturing the hold, so the points are spent and the new ones pending', async () => {
    const signIn = await json('/demo/token', { shopperId: 'bob' });
    const cookie = sessionOf(signIn);
    const items = [{ sku: 'tea-longjing-100g', category: 'food', amount: 9_800, quantity: 1 }];
    const hold = await post(app.url, 'shopper.checkout.reserve', { checkoutId: 'cart-1', points: 1_000, cartAmount: 9_800, items }, { token: signIn.body.token });
    expect(hold.status).toBe(200);
    const holdId: string = hold.body.result.data.holdId;

    const paid = await json('/demo/pay', { shopperId: 'bob', cartAmount: 9_800, items, holdId }, cookie);
    expect(paid.status).toBe(200);
    expect(paid.body).toMatchObject({ amount: 9_800, cashPaid: 8_800, captured: { holdId, points: 1_000, value: 1_000 }, earned: { status: 'pending' } });
    expect(paid.body.orderId).toMatch(/^shop-/);
    const me = (await post(app.url, 'shopper.me', undefined, { token: signIn.body.token })).body.result.data;
    expect(me.balance).toMatchObject({ held: 0, pending: paid.body.earned.points });
    const report = await verifyMerchant(app.ledger.db, DEMO_MERCHANT_ID);
    expect([report.chain, report.violations]).toEqual([null, []]);
  });

  it("pays only for the signed-in shopper, and answers the procedure's own refusal for a bad order", async () => {
    const cookie = sessionOf(await json('/demo/token', { shopperId: 'carol' }));
    expect((await json('/demo/pay', { shopperId: 'bob', cartAmount: 1_000, holdId: null }, cookie)).status).toBe(403);
    expect((await json('/demo/pay', { shopperId: 'carol', cartAmount: 1_000, holdId: null })).status).toBe(403);
    const negative = await json('/demo/pay', { shopperId: 'carol', cartAmount: -1, holdId: null }, cookie);
    expect(negative.status).toBe(400);
    expect(negative.body.error.message).toContain('cartAmount');
    const unknownHold = await json('/demo/pay', { shopperId: 'carol', cartAmount: 1_000, holdId: 'h_nope' }, cookie);
    expect(unknownHold.status).toBe(404);
    expect(unknownHold.body.error.data).toMatchObject({ reason: 'NOT_FOUND', path: 'merchant.orders.paid' });
  });

  it('signs out by clearing the cookie, and leaves every other path to the server', async () => {
    const out = await request(`${app.url}/demo/sign-out`, { method: 'POST' });
    expect(out.headers.get('set-cookie')).toMatch(/^jifen_demo_shopper=; .*Max-Age=0/);
    expect((await request(`${app.url}/demo/elsewhere`)).status).toBe(404);
    expect((await request(`${app.url}/demo/pay`)).status).toBe(404);
  });

  describe('without the demo API key', () => {
    beforeAll(() => {
      routes = createDemoRoutes({ ...demo, apiKey: null });
    });
    afterAll(() => {
      routes = createDemoRoutes(demo);
    });

    it('refuses to pay, saying why', async () => {
      const cookie = sessionOf(await json('/demo/token', { shopperId: 'bob' }));
      const paid = await json('/demo/pay', { shopperId: 'bob', cartAmount: 1_000, holdId: null }, cookie);
      expect(paid.status).toBe(503);
      expect(paid.body.error.message).toContain('API key');
      expect((await request(`${app.url}/demo/session`)).body.canPay).toBe(false);
    });
  });
});
