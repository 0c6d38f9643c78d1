import { describeEachDialect } from '@jifen/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { post, request } from './support/http';
import { ledgerSnapshot } from './support/snapshot';
import { type TestMerchant, type TestServer, aMerchant, startTestServer } from './support/test-server';
import { honestClaims, signHmac } from './support/tokens';

describeEachDialect('CORS', (dialect) => {
  let app: TestServer;
  let shopA: TestMerchant;
  let tokenA: string;

  beforeAll(async () => {
    app = await startTestServer(dialect, { consoleOrigins: ['https://console.example'] });
    // Configured loosely on purpose: a trailing slash, capitals and the default port still mean the origin.
    shopA = await aMerchant(app.ledger, { origins: ['https://Shop-A.example:443/'] });
    await aMerchant(app.ledger, { origins: ['https://shop-b.example'] });
    tokenA = await signHmac(honestClaims(shopA.merchantId, '42', app.clock.now), shopA.widgetSecret);
  });
  afterAll(() => app.close());

  const preflight = (procedure: string, origin: string) =>
    request(`${app.url}/trpc/${procedure}`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
    });

  describe('preflight', () => {
    it("allows a storefront origin some merchant lists to send shopper calls with a token", async () => {
      const answer = await preflight('shopper.me', 'https://shop-a.example');
      expect(answer.status).toBe(204);
      expect(answer.headers.get('access-control-allow-origin')).toBe('https://shop-a.example');
      expect(answer.headers.get('access-control-allow-headers')).toContain('authorization');
      expect(answer.headers.get('access-control-allow-methods')).toContain('POST');
      expect(answer.headers.get('vary')).toContain('Origin');
    });

    it('gives an unknown origin, Origin: null and a storefront asking for merchant procedures no allow header', async () => {
      for (const [procedure, origin] of [
        ['shopper.me', 'https://evil.example'],
        ['shopper.me', 'null'],
        ['merchant.program.get', 'https://shop-a.example'],
        ['shopper.me,merchant.program.get', 'https://shop-a.example'],
      ] as const) {
        const answer = await preflight(procedure, origin);
        expect(answer.status).toBe(204);
        expect(answer.headers.get('access-control-allow-origin'), `${procedure} from ${origin}`).toBeNull();
      }
    });

    it('allows the configured console origin to send merchant calls', async () => {
      const answer = await preflight('merchant.program.get', 'https://console.example');
      expect(answer.headers.get('access-control-allow-origin')).toBe('https://console.example');
    });
  });

  describe('calls', () => {
    it("echoes the token's merchant's storefront origin and exposes the request id", async () => {
      const answer = await post(app.url, 'shopper.me', undefined, { token: tokenA, headers: { origin: 'https://shop-a.example' } });
      expect(answer.status).toBe(200);
      expect(answer.headers.get('access-control-allow-origin')).toBe('https://shop-a.example');
      expect(answer.headers.get('access-control-expose-headers')).toContain('x-request-id');
      // The widgets read jifen's clock off the answer's Date header, so it is exposed too.
      expect(answer.headers.get('access-control-expose-headers')).toContain('date');
      expect(Date.parse(answer.headers.get('date') ?? '')).not.toBeNaN();
      expect(answer.headers.get('vary')).toContain('Origin');
    });

    it("refuses a shopper call from another merchant's storefront, an unknown origin or Origin: null — 403, no allow header, nothing written", async () => {
      for (const origin of ['https://shop-b.example', 'https://evil.example', 'null', 'https://shop-a.example.evil.example']) {
        const before = await ledgerSnapshot(app.ledger);
        const answer = await post(app.url, 'shopper.me', undefined, { token: tokenA, headers: { origin } });
        expect(answer.status, origin).toBe(403);
        expect(answer.body.error.data).toMatchObject({ code: 'FORBIDDEN', reason: 'FORBIDDEN', param: 'origin' });
        expect(answer.headers.get('access-control-allow-origin')).toBeNull();
        expect(await ledgerSnapshot(app.ledger)).toEqual(before);
      }
    });

    it('serves a call without an Origin (a server) and sends no allow header', async () => {
      const answer = await post(app.url, 'shopper.me', undefined, { token: tokenA });
      expect(answer.status).toBe(200);
      expect(answer.headers.get('access-control-allow-origin')).toBeNull();
    });

    it('lets a browser read merchant calls only from the console origin', async () => {
      const fromConsole = await post(app.url, 'merchant.program.get', undefined, { token: shopA.apiKey, headers: { origin: 'https://console.example' } });
      expect(fromConsole.headers.get('access-control-allow-origin')).toBe('https://console.example');
      const fromStorefront = await post(app.url, 'merchant.program.get', undefined, { token: shopA.apiKey, headers: { origin: 'https://shop-a.example' } });
      expect(fromStorefront.headers.get('access-control-allow-origin')).toBeNull();
    });
  });
});
