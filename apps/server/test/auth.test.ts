import { revokeApiKey, rotateApiKey } from '@jifen/api';
import { describeEachDialect } from '@jifen/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { post } from './support/http';
import { ledgerSnapshot } from './support/snapshot';
import { type TestMerchant, type TestServer, aMerchant, startTestServer } from './support/test-server';
import { base64url, honestClaims, signAsymmetric, signHmac, signRawHs256, unsigned, withPayload } from './support/tokens';

describeEachDialect('authentication', (dialect) => {
  let app: TestServer;
  let shopA: TestMerchant;
  let shopB: TestMerchant;

  beforeAll(async () => {
    app = await startTestServer(dialect, { shopperRate: null });
    shopA = await aMerchant(app.ledger, { merchantId: 'shop-a' });
    shopB = await aMerchant(app.ledger, { merchantId: 'shop-b', program: { currency: 'USD', timeZone: 'America/New_York' } });
  });
  afterAll(() => app.close());

  const now = () => app.clock.now;

  describe('shopper tokens', () => {
    it('accepts an honest token and answers for the shopper it names', async () => {
      const token = await signHmac(honestClaims(shopA.merchantId, '42', now()), shopA.widgetSecret);
      const answer = await post(app.url, 'shopper.me', undefined, { token });
      expect(answer.status).toBe(200);
      expect(answer.body.result.data.shopperId).toBe('42');
    });

    it('accepts a token minted by merchant.shoppers.token', async () => {
      const minted = await post(app.url, 'merchant.shoppers.token', { shopperId: '42' }, { token: shopA.apiKey });
      const answer = await post(app.url, 'shopper.me', undefined, { token: minted.body.result.data.token });
      expect(answer.status).toBe(200);
      expect(answer.body.result.data.shopperId).toBe('42');
    });

    it('finds the merchant from the token: the same shopper id at another merchant is another shopper', async () => {
      const tokenB = await signHmac(honestClaims(shopB.merchantId, '42', now()), shopB.widgetSecret);
      const answer = await post(app.url, 'shopper.me', undefined, { token: tokenB });
      expect(answer.status).toBe(200);
      // Shop B counts in USD cents with its own point value: the answer is B's, not A's.
      expect(answer.body.result.data.shopperId).toBe('42');
    });

    const attacks: Array<[string, () => Promise<string> | string]> = [
      ['alg none with an empty signature', () => unsigned(honestClaims(shopA.merchantId, '42', now()))],
      ['alg none with a made-up signature', () => unsigned(honestClaims(shopA.merchantId, '42', now()), 'c2lnbmF0dXJl')],
      ['HS384 with the right secret', () => signHmac(honestClaims(shopA.merchantId, '42', now()), shopA.widgetSecret, 'HS384')],
      ['HS512 with the right secret', () => signHmac(honestClaims(shopA.merchantId, '42', now()), shopA.widgetSecret, 'HS512')],
      ['RS256 with some RSA key', () => signAsymmetric(honestClaims(shopA.merchantId, '42', now()), 'RS256')],
      ['ES256 with some EC key', () => signAsymmetric(honestClaims(shopA.merchantId, '42', now()), 'ES256')],
      ['a wrong secret', () => signHmac(honestClaims(shopA.merchantId, '42', now()), 'not-the-widget-secret')],
      ["another merchant's secret", () => signHmac(honestClaims(shopA.merchantId, '42', now()), shopB.widgetSecret)],
      ['the API key as the secret', () => signHmac(honestClaims(shopA.merchantId, '42', now()), shopA.apiKey)],
      ['an edited subject', async () => withPayload(await signHmac(honestClaims(shopA.merchantId, '42', now()), shopA.widgetSecret), honestClaims(shopA.merchantId, '43', now()))],
      ['an edited issuer', async () => withPayload(await signHmac(honestClaims(shopB.merchantId, '42', now()), shopB.widgetSecret), honestClaims(shopA.merchantId, '42', now()))],
      ['an edited expiry', async () => {
        const claims = honestClaims(shopA.merchantId, '42', now());
        return withPayload(await signHmac(claims, shopA.widgetSecret), { ...claims, exp: (claims.exp as number) + 600 });
      }],
      ['an expired token', () => signHmac(honestClaims(shopA.merchantId, '42', new Date(now().getTime() - 16 * 60_000)), shopA.widgetSecret)],
      ['an iat in the future', () => signHmac(honestClaims(shopA.merchantId, '42', new Date(now().getTime() + 10 * 60_000)), shopA.widgetSecret)],
      ['no exp', () => signHmac(omit(honestClaims(shopA.merchantId, '42', now()), 'exp'), shopA.widgetSecret)],
      ['no iat', () => signHmac(omit(honestClaims(shopA.merchantId, '42', now()), 'iat'), shopA.widgetSecret)],
      ['no sub', () => signHmac(omit(honestClaims(shopA.merchantId, '42', now()), 'sub'), shopA.widgetSecret)],
      ['no aud', () => signHmac(omit(honestClaims(shopA.merchantId, '42', now()), 'aud'), shopA.widgetSecret)],
      ['no iss', () => signHmac(omit(honestClaims(shopA.merchantId, '42', now()), 'iss'), shopA.widgetSecret)],
      ['a wrong aud', () => signHmac({ ...honestClaims(shopA.merchantId, '42', now()), aud: 'jifen:merchant' }, shopA.widgetSecret)],
      ['a lifetime over 60 minutes', () => signHmac(honestClaims(shopA.merchantId, '42', now(), 61 * 60), shopA.widgetSecret)],
      ['an iat over 60 minutes ago', () => {
        const claims = honestClaims(shopA.merchantId, '42', new Date(now().getTime() - 61 * 60_000), 120 * 60);
        return signHmac(claims, shopA.widgetSecret);
      }],
      ['an exp that is a string', () => signHmac({ ...honestClaims(shopA.merchantId, '42', now()), exp: 'tomorrow' }, shopA.widgetSecret)],
      ['an nbf in the future', () => signHmac({ ...honestClaims(shopA.merchantId, '42', now()), nbf: Math.floor(now().getTime() / 1000) + 600 }, shopA.widgetSecret)],
      ['a numeric sub', () => signHmac({ ...honestClaims(shopA.merchantId, '42', now()), sub: 42 }, shopA.widgetSecret)],
      ['a sub with spaces', () => signHmac({ ...honestClaims(shopA.merchantId, '42', now()), sub: 'shopper 42' }, shopA.widgetSecret)],
      ['an unknown merchant', () => signHmac(honestClaims('shop-z', '42', now()), shopA.widgetSecret)],
      ['a critical header jifen does not understand', () => signRawHs256({ crit: ['x-jifen'], 'x-jifen': 1 }, honestClaims(shopA.merchantId, '42', now()), shopA.widgetSecret)],
      ['an unencoded payload (b64: false)', () => signRawHs256({ b64: false, crit: ['b64'] }, honestClaims(shopA.merchantId, '42', now()), shopA.widgetSecret)],
      ['one part', () => 'eyJhbGciOiJIUzI1NiJ9'],
      ['garbage in every part', () => 'a.b.c'],
      ['a payload that is not JSON', () => `${base64url('{"alg":"HS256"}')}.${base64url('not json')}.c2ln`],
      ['a header that is not JSON', () => `${base64url('{alg:HS256')}.${base64url('{}')}.c2ln`],
      ['an oversized token', async () => {
        const padded = { ...honestClaims(shopA.merchantId, '42', now()), padding: 'x'.repeat(10_000) };
        return signHmac(padded, shopA.widgetSecret);
      }],
      ['the API key', () => shopA.apiKey],
    ];

    for (const [attack, build] of attacks) {
      it(`refuses a token with ${attack}: 401, nothing written`, async () => {
        const before = await ledgerSnapshot(app.ledger);
        const answer = await post(app.url, 'shopper.me', undefined, { token: await build() });
        expect(answer.status).toBe(401);
        expect(answer.body.error.data).toMatchObject({ code: 'UNAUTHORIZED', httpStatus: 401, reason: 'UNAUTHORIZED', param: 'authorization' });
        expect(answer.body.error.message).toMatch(/^authorization: /);
        expect(await ledgerSnapshot(app.ledger)).toEqual(before);
      });
    }

    it('refuses a call without a token, naming the header to send', async () => {
      const answer = await post(app.url, 'shopper.me', undefined);
      expect(answer.status).toBe(401);
      expect(answer.body.error.message).toBe('authorization: send the shopper token as "Authorization: Bearer <shopper token>"');
    });

    it('refuses a non-Bearer scheme', async () => {
      const token = await signHmac(honestClaims(shopA.merchantId, '42', now()), shopA.widgetSecret);
      const answer = await post(app.url, 'shopper.me', undefined, { headers: { authorization: `Basic ${token}` } });
      expect(answer.status).toBe(401);
    });

    it('says why a token is refused', async () => {
      const expired = await signHmac(honestClaims(shopA.merchantId, '42', new Date(now().getTime() - 16 * 60_000)), shopA.widgetSecret);
      expect((await post(app.url, 'shopper.me', undefined, { token: expired })).body.error.message).toBe('authorization: the shopper token has expired');
      const wrongAudience = await signHmac({ ...honestClaims(shopA.merchantId, '42', now()), aud: 'x' }, shopA.widgetSecret);
      expect((await post(app.url, 'shopper.me', undefined, { token: wrongAudience })).body.error.message).toBe(
        'authorization: the shopper token\'s "aud" claim must be "jifen:shopper"',
      );
    });

    it('tolerates 30 seconds of clock skew on exp and iat', async () => {
      const skewed = await signHmac(honestClaims(shopA.merchantId, '42', new Date(now().getTime() + 20_000)), shopA.widgetSecret);
      expect((await post(app.url, 'shopper.me', undefined, { token: skewed })).status).toBe(200);
      const justExpired = await signHmac(honestClaims(shopA.merchantId, '42', new Date(now().getTime() - 900_000 + -20_000)), shopA.widgetSecret);
      expect((await post(app.url, 'shopper.me', undefined, { token: justExpired })).status).toBe(200);
    });

    it('refuses a shopper token on a merchant procedure', async () => {
      const token = await signHmac(honestClaims(shopA.merchantId, '42', now()), shopA.widgetSecret);
      const answer = await post(app.url, 'merchant.program.get', undefined, { token });
      expect(answer.status).toBe(401);
    });
  });

  describe('merchant API keys', () => {
    it('refuses a missing, unknown or malformed key: 401, nothing written', async () => {
      for (const key of [undefined, 'jf_unknown', 'not-even-prefixed', `jf_${'x'.repeat(500)}`]) {
        const before = await ledgerSnapshot(app.ledger);
        const answer = await post(app.url, 'merchant.program.update', { program: { earning: { baseRate: 0.07 } } }, key === undefined ? {} : { token: key });
        expect(answer.status, String(key)).toBe(401);
        expect(answer.body.error.data.reason).toBe('UNAUTHORIZED');
        expect(await ledgerSnapshot(app.ledger)).toEqual(before);
      }
    });

    it('keeps an old key working after rotation until it is revoked, then refuses it', async () => {
      const merchant = await aMerchant(app.ledger);
      const firstKey = await app.ledger.db.selectFrom('api_keys').select('id').where('merchant_id', '=', merchant.merchantId).executeTakeFirstOrThrow();
      const rotated = await rotateApiKey(app.ledger, merchant.merchantId);
      expect((await post(app.url, 'merchant.program.get', undefined, { token: merchant.apiKey })).status).toBe(200);
      expect((await post(app.url, 'merchant.program.get', undefined, { token: rotated.apiKey })).status).toBe(200);
      await revokeApiKey(app.ledger, merchant.merchantId, firstKey.id);
      const before = await ledgerSnapshot(app.ledger);
      const revoked = await post(app.url, 'merchant.program.update', { program: {} }, { token: merchant.apiKey });
      expect(revoked.status).toBe(401);
      expect(revoked.body.error.message).toBe('authorization: the API key is unknown or revoked');
      expect(await ledgerSnapshot(app.ledger)).toEqual(before);
      expect((await post(app.url, 'merchant.program.get', undefined, { token: rotated.apiKey })).status).toBe(200);
    });

    it("never lets one merchant's key read or change another merchant's program", async () => {
      const before = (await post(app.url, 'merchant.program.get', undefined, { token: shopA.apiKey })).body.result.data;
      await post(app.url, 'merchant.program.update', { program: { currency: 'USD', timeZone: 'America/New_York', earning: { baseRate: 0.02 } } }, { token: shopB.apiKey });
      const after = (await post(app.url, 'merchant.program.get', undefined, { token: shopA.apiKey })).body.result.data;
      expect(after).toEqual(before);
      expect(after.program.currency).toBe('CNY');
    });

    it("refuses a merchant's widget secret as an API key", async () => {
      expect((await post(app.url, 'merchant.program.get', undefined, { token: shopA.widgetSecret })).status).toBe(401);
    });
  });
});

function omit<T extends Record<string, unknown>>(value: T, key: keyof T): T {
  const copy = { ...value };
  delete copy[key];
  return copy;
}
