import { describe, expect, it } from 'vitest';
import { aShopper } from '../test/builders';
import { API_BASE, Refusal, fakeJifen } from '../test/fake-jifen';
import { createJifenClient, describeFailure } from './client';
import { MissingTokenError, createTokenSource } from './token-source';

const TOKEN_ENDPOINT = 'https://shop.test/api/jifen-token';

function tokenEndpoint(tokens: string[], expiresInMs = 600_000) {
  let served = 0;
  return {
    get served() {
      return served;
    },
    answer: () => {
      const token = tokens[Math.min(served, tokens.length - 1)]!;
      served += 1;
      return Response.json({ token, expiresAt: new Date(Date.now() + expiresInMs).toISOString() });
    },
  };
}

describe('createJifenClient', () => {
  it('sends calls made in the same tick as one batched request under /trpc, with the bearer token', async () => {
    const shop = fakeJifen().on('shopper.me', aShopper()).on('shopper.coupons.mine', []);
    const client = createJifenClient({ apiBase: `${API_BASE}/`, token: 'shopper-token', fetch: shop.fetch });
    const [me, mine] = await Promise.all([client.shopper.me.query(), client.shopper.coupons.mine.query()]);
    expect(me.shopperId).toBe('shopper-1');
    expect(mine).toEqual([]);
    expect(shop.requests).toHaveLength(1);
    expect(shop.requests[0]?.url.startsWith(`${API_BASE}/trpc/shopper.me,shopper.coupons.mine?batch=1`)).toBe(true);
    expect(shop.requests[0]?.headers.get('authorization')).toBe('Bearer shopper-token');
  });

  it("fetches a token from the merchant's endpoint once and reuses it", async () => {
    const endpoint = tokenEndpoint(['t1']);
    const shop = fakeJifen().on('shopper.me', aShopper()).route(TOKEN_ENDPOINT, endpoint.answer);
    const client = createJifenClient({ apiBase: API_BASE, tokenEndpoint: TOKEN_ENDPOINT, fetch: shop.fetch });
    await client.shopper.me.query();
    await client.shopper.me.query();
    expect(endpoint.served).toBe(1);
    expect(shop.requests.map((request) => request.headers.get('authorization'))).toEqual(['Bearer t1', 'Bearer t1']);
  });

  it('asks the endpoint again once when jifen refuses its token, and retries the call', async () => {
    const endpoint = tokenEndpoint(['revoked', 'fresh']);
    const shop = fakeJifen()
      .route(TOKEN_ENDPOINT, endpoint.answer)
      .on('shopper.me', (_input: unknown, call: { headers: Headers }) => {
        if (call.headers.get('authorization') !== 'Bearer fresh') throw new Refusal('UNAUTHORIZED', 'shopper token: revoked', {}, 'UNAUTHORIZED');
        return aShopper();
      });
    const client = createJifenClient({ apiBase: API_BASE, tokenEndpoint: TOKEN_ENDPOINT, fetch: shop.fetch });
    expect((await client.shopper.me.query()).shopperId).toBe('shopper-1');
    expect(endpoint.served).toBe(2);
  });

  it('does not retry a refused token the page handed over, since no fresh one can be had', async () => {
    const shop = fakeJifen().on('shopper.me', () => {
      throw new Refusal('UNAUTHORIZED', 'shopper token: expired', {}, 'UNAUTHORIZED');
    });
    const client = createJifenClient({ apiBase: API_BASE, token: 'expired', fetch: shop.fetch });
    const failure = await client.shopper.me.query().then(() => null, describeFailure);
    expect(failure).toMatchObject({ message: 'shopper token: expired', reason: 'UNAUTHORIZED' });
    expect(shop.requests).toHaveLength(1);
  });

  it("describes jifen's refusals by their reason and facts, and anything else as unreached", async () => {
    const shop = fakeJifen().on('shopper.checkout.reserve', () => {
      throw new Refusal('BELOW_MINIMUM', 'points: at least 100 points', { minPoints: 100, available: 50 });
    });
    const client = createJifenClient({ apiBase: API_BASE, token: 't', fetch: shop.fetch });
    const refusal = await client.shopper.checkout.reserve.mutate({ checkoutId: 'c', points: 50, cartAmount: 1_000 }).then(() => null, describeFailure);
    expect(refusal).toMatchObject({ message: 'points: at least 100 points', reason: 'BELOW_MINIMUM', facts: { minPoints: 100, available: 50 } });

    const offline = createJifenClient({ apiBase: API_BASE, token: 't', fetch: () => Promise.reject(new TypeError('Failed to fetch')) });
    expect(await offline.shopper.me.query().then(() => null, describeFailure)).toMatchObject({ message: null, reason: null });
  });

  it('fails without calling jifen when there is neither a token nor an endpoint', async () => {
    const shop = fakeJifen().on('shopper.me', aShopper());
    const client = createJifenClient({ apiBase: API_BASE, fetch: shop.fetch });
    const failure = await client.shopper.me.query().then(() => null, describeFailure);
    expect(failure?.reason).toBeNull();
    expect(shop.requests).toEqual([]);
  });
});

describe('createTokenSource', () => {
  it('renews an endpoint token shortly before it expires, with one request for concurrent askers', async () => {
    let clock = Date.parse('2026-11-23T08:00:00Z');
    let requests = 0;
    const fetcher: typeof fetch = async () => {
      requests += 1;
      return Response.json({ token: `t${requests}`, expiresAt: new Date(clock + 120_000).toISOString() });
    };
    const source = createTokenSource({ tokenEndpoint: TOKEN_ENDPOINT, fetch: fetcher, now: () => clock });
    expect(await Promise.all([source.get(), source.get(), source.get()])).toEqual(['t1', 't1', 't1']);
    clock += 89_000;
    expect(await source.get()).toBe('t1');
    clock += 2_000;
    expect(await source.get()).toBe('t2');
    expect(source.isRenewable).toBe(true);
  });

  it('prefers the token the page set, read afresh each time', async () => {
    let token: string | null = 'first';
    const source = createTokenSource({ token: () => token, tokenEndpoint: TOKEN_ENDPOINT, fetch: () => Promise.reject(new Error('not called')) });
    expect(await source.get()).toBe('first');
    token = 'second';
    expect(await source.get()).toBe('second');
    expect(source.isRenewable).toBe(false);
    token = null;
    await expect(source.get()).rejects.toThrow('not called');
  });

  it('says what is missing when there is no token and no endpoint', async () => {
    await expect(createTokenSource({}).get()).rejects.toBeInstanceOf(MissingTokenError);
  });

  it('refuses an endpoint answer without a token', async () => {
    const source = createTokenSource({ tokenEndpoint: TOKEN_ENDPOINT, fetch: async () => Response.json({ error: 'signed out' }) });
    await expect(source.get()).rejects.toThrow('without a `token`');
    const failing = createTokenSource({ tokenEndpoint: TOKEN_ENDPOINT, fetch: async () => new Response('no', { status: 401 }) });
    await expect(failing.get()).rejects.toThrow('answered 401');
  });
});
