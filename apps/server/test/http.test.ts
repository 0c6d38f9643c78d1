import type { AppRouter } from '@jifen/api';
import { describeEachDialect } from '@jifen/db/testing';
import { TRPCClientError, createTRPCClient, httpBatchLink, httpLink } from '@trpc/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { get, post, request } from './support/http';
import { type TestMerchant, type TestServer, aMerchant, startTestServer } from './support/test-server';

describeEachDialect('the HTTP server', (dialect) => {
  let app: TestServer;
  let merchant: TestMerchant;

  beforeAll(async () => {
    app = await startTestServer(dialect, { bodyLimitBytes: 4096 });
    merchant = await aMerchant(app.ledger);
  });
  afterAll(() => app.close());

  describe('health and metrics', () => {
    it('answers /healthz with ok once the database answers', async () => {
      const answer = await request(`${app.url}/healthz`);
      expect(answer.status).toBe(200);
      expect(answer.body).toEqual({ status: 'ok', database: dialect });
    });

    it('exports request counts by procedure and code on /metrics in Prometheus text', async () => {
      await post(app.url, 'merchant.program.get', undefined, { token: merchant.apiKey });
      await post(app.url, 'merchant.program.get', undefined, { token: 'jf_not-a-key' });
      const answer = await request(`${app.url}/metrics`);
      expect(answer.status).toBe(200);
      expect(answer.headers.get('content-type')).toContain('text/plain');
      expect(answer.text).toMatch(/jifen_requests_total\{procedure="merchant\.program\.get",code="OK"\} [1-9]/);
      expect(answer.text).toMatch(/jifen_requests_total\{procedure="merchant\.program\.get",code="UNAUTHORIZED"\} [1-9]/);
      expect(answer.text).toContain('jifen_request_duration_seconds_bucket');
      expect(answer.text).toContain('# TYPE jifen_points_issued_total counter');
      expect(answer.text).toContain('# TYPE jifen_job_runs_total counter');
    });

    it('describes the merchant procedures as OpenAPI 3.1 from the same zod schemas', async () => {
      const answer = await request(`${app.url}/openapi.json`);
      expect(answer.status).toBe(200);
      expect(answer.body.openapi).toBe('3.1.0');
      const paths = Object.keys(answer.body.paths);
      expect(paths).toContain('/trpc/merchant.orders.paid');
      expect(paths.every((path) => path.startsWith('/trpc/merchant.'))).toBe(true);
      const paid = answer.body.paths['/trpc/merchant.orders.paid'].post.requestBody.content['application/json'].schema;
      expect(paid.required).toEqual(expect.arrayContaining(['orderId', 'shopperId', 'amount', 'currency']));
      expect(paid.additionalProperties).toBe(false);
      expect(paid.properties.amount).toMatchObject({ type: 'integer', minimum: 0, maximum: 10_000_000_000_000 });
      expect(answer.body.paths['/trpc/merchant.program.get'].post.requestBody.required).toBe(false);
    });

    it('answers an unknown route with a 404', async () => {
      const answer = await request(`${app.url}/nowhere`);
      expect(answer.status).toBe(404);
    });

    it('serves a page at / that links to the API documentation', async () => {
      const answer = await request(`${app.url}/`);
      expect(answer.status).toBe(200);
      expect(answer.text).toContain('/healthz');
      expect(answer.text).toContain('api');
    });
  });

  describe('request ids', () => {
    it('echoes a well-formed x-request-id and makes one up otherwise', async () => {
      const given = await request(`${app.url}/healthz`, { headers: { 'x-request-id': 'req-abc.123' } });
      expect(given.headers.get('x-request-id')).toBe('req-abc.123');
      const hostile = await request(`${app.url}/healthz`, { headers: { 'x-request-id': 'a b<script>' } });
      expect(hostile.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    });
  });

  describe('the tRPC envelope', () => {
    it('answers POST with { result: { data } } and GET ?input= for queries', async () => {
      const viaPost = await post(app.url, 'merchant.program.get', {}, { token: merchant.apiKey });
      expect(viaPost.status).toBe(200);
      expect(viaPost.body.result.data.version).toBe(1);
      expect(viaPost.body.result.data.program.currency).toBe('CNY');
      const viaGet = await get(app.url, 'merchant.program.get', { version: 1 }, { token: merchant.apiKey });
      expect(viaGet.status).toBe(200);
      expect(viaGet.body).toEqual(viaPost.body);
    });

    it('refuses a GET to a mutation with 405 and Allow: POST, writing nothing', async () => {
      const answer = await get(app.url, 'merchant.program.update', { program: { earning: { baseRate: 0.06 } } }, { token: merchant.apiKey });
      expect(answer.status).toBe(405);
      expect(answer.headers.get('allow')).toBe('POST');
      expect(answer.body.error.data.code).toBe('METHOD_NOT_SUPPORTED');
      const program = await post(app.url, 'merchant.program.get', undefined, { token: merchant.apiKey });
      expect(program.body.result.data.version).toBe(1);
    });

    it('answers an unknown procedure with NOT_FOUND, including names on Object.prototype', async () => {
      for (const path of ['merchant.nothing', 'constructor', '__proto__', 'merchant']) {
        const answer = await post(app.url, path, {}, { token: merchant.apiKey });
        expect(answer.status, path).toBe(404);
        expect(answer.body.error.data.code).toBe('NOT_FOUND');
      }
    });

    it('answers a batch with an array in call order and 207 when the calls end differently', async () => {
      const answer = await request(`${app.url}/trpc/merchant.program.get,merchant.nothing?batch=1`, {
        method: 'POST',
        headers: { authorization: `Bearer ${merchant.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ 0: { version: 1 } }),
      });
      expect(answer.status).toBe(207);
      expect(answer.body).toHaveLength(2);
      expect(answer.body[0].result.data.version).toBe(1);
      expect(answer.body[1].error.data.httpStatus).toBe(404);
    });

    it('answers a batch of one GET with an array', async () => {
      const input = encodeURIComponent(JSON.stringify({ 0: { version: 1 } }));
      const answer = await request(`${app.url}/trpc/merchant.program.get?batch=1&input=${input}`, { headers: { authorization: `Bearer ${merchant.apiKey}` } });
      expect(answer.status).toBe(200);
      expect(answer.body[0].result.data.version).toBe(1);
    });

    it('refuses a batch that is not keyed by call index', async () => {
      const answer = await request(`${app.url}/trpc/merchant.program.get?batch=1`, {
        method: 'POST',
        headers: { authorization: `Bearer ${merchant.apiKey}` },
        body: '[1,2]',
      });
      expect(answer.status).toBe(400);
      expect(answer.body.error.data.param).toBe('input');
    });

    it('refuses a batch of more calls than allowed', async () => {
      const paths = Array.from({ length: 21 }, () => 'merchant.program.get').join(',');
      const answer = await request(`${app.url}/trpc/${paths}?batch=1`, { headers: { authorization: `Bearer ${merchant.apiKey}` } });
      expect(answer.status).toBe(400);
      expect(answer.body.error.message).toContain('at most 20 calls');
    });
  });

  describe('bad requests', () => {
    it('refuses malformed JSON with a 400 that names the body and quotes nothing back', async () => {
      const answer = await request(`${app.url}/trpc/merchant.program.update`, {
        method: 'POST',
        headers: { authorization: `Bearer ${merchant.apiKey}`, 'content-type': 'application/json' },
        body: '{"program": {"secret-looking": tru',
      });
      expect(answer.status).toBe(400);
      expect(answer.body.error.data).toMatchObject({ code: 'BAD_REQUEST', httpStatus: 400, reason: 'INVALID_INPUT', param: 'body' });
      expect(answer.body.error.message).toBe('body: is not valid JSON');
    });

    it('refuses malformed JSON in ?input= with a 400 naming input', async () => {
      const answer = await request(`${app.url}/trpc/merchant.program.get?input=%7Bnope`, { headers: { authorization: `Bearer ${merchant.apiKey}` } });
      expect(answer.status).toBe(400);
      expect(answer.body.error.data.param).toBe('input');
    });

    it('refuses a declared body over the limit with 413 before reading it', async () => {
      const answer = await post(app.url, 'merchant.program.update', { program: { padding: 'x'.repeat(5000) } }, { token: merchant.apiKey });
      expect(answer.status).toBe(413);
      expect(answer.body.error.data).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', httpStatus: 413, reason: 'PAYLOAD_TOO_LARGE', facts: { limit: 4096 } });
      expect(answer.body.error.message).toBe('the request body is larger than 4,096 bytes');
    });

    it('refuses a streamed body over the limit with 413', async () => {
      const chunks = [new TextEncoder().encode('{"program":{"padding":"'), new TextEncoder().encode('x'.repeat(6000)), new TextEncoder().encode('"}}')];
      const body = new ReadableStream({
        pull(controller) {
          const chunk = chunks.shift();
          if (chunk) controller.enqueue(chunk);
          else controller.close();
        },
      });
      const answer = await request(`${app.url}/trpc/merchant.program.update`, {
        method: 'POST',
        headers: { authorization: `Bearer ${merchant.apiKey}` },
        body,
        duplex: 'half',
      } as RequestInit);
      expect(answer.status).toBe(413);
    });

    it('refuses an invalid input with a 400 whose message names the field and the limit', async () => {
      const answer = await post(app.url, 'merchant.shoppers.token', { shopperId: '42', ttlSeconds: 7200 }, { token: merchant.apiKey });
      expect(answer.status).toBe(400);
      expect(answer.body.error.data).toMatchObject({ code: 'BAD_REQUEST', httpStatus: 400, reason: 'INVALID_INPUT', param: 'ttlSeconds' });
      expect(answer.body.error.message).toBe('ttlSeconds: must be a whole number of seconds between 1 and 3600');
      expect(answer.body.error.data.stack).toBeUndefined();
    });

    it('names an unknown field rather than ignoring it', async () => {
      const answer = await post(app.url, 'merchant.shoppers.token', { shopperId: '42', merchantId: 'someone-else' }, { token: merchant.apiKey });
      expect(answer.status).toBe(400);
      expect(answer.body.error.data.param).toBe('merchantId');
      expect(answer.body.error.message).toBe('merchantId: is not a field of this input');
    });

    it('renders messages in zh-CN when the caller prefers Chinese', async () => {
      const answer = await post(app.url, 'merchant.shoppers.token', { shopperId: '' }, { token: merchant.apiKey, headers: { 'accept-language': 'zh-CN,zh;q=0.9,en;q=0.5' } });
      expect(answer.status).toBe(400);
      expect(answer.body.error.message).toBe('shopperId: 必须是 1 到 128 个可见 ASCII 字符（不含空格）');
    });

    it('refuses methods other than GET and POST with 405', async () => {
      const answer = await request(`${app.url}/trpc/merchant.program.get`, { method: 'PUT', headers: { authorization: `Bearer ${merchant.apiKey}` } });
      expect(answer.status).toBe(405);
      expect(answer.body.error.data.code).toBe('METHOD_NOT_SUPPORTED');
    });

    it('answers a business refusal with its category, reason, param and facts', async () => {
      const answer = await post(app.url, 'merchant.program.update', { program: { earning: { baseRate: 0.123456 } } }, { token: merchant.apiKey });
      expect(answer.status).toBe(400);
      expect(answer.body.error.data).toMatchObject({ code: 'BAD_REQUEST', reason: 'INVALID_PROGRAM', param: 'program.earning.baseRate' });
      expect(answer.body.error.message).toMatch(/^program\.earning\.baseRate: /);
    });
  });

  describe('the stock @trpc/client', () => {
    const clients = () => {
      const headers = { authorization: `Bearer ${merchant.apiKey}` };
      return {
        batched: createTRPCClient<AppRouter>({ links: [httpBatchLink({ url: `${app.url}/trpc`, headers })] }),
        single: createTRPCClient<AppRouter>({ links: [httpLink({ url: `${app.url}/trpc`, headers })] }),
        overridden: createTRPCClient<AppRouter>({ links: [httpLink({ url: `${app.url}/trpc`, headers, methodOverride: 'POST' })] }),
      };
    };

    it('reads queries through httpLink, httpBatchLink and a POST method override', async () => {
      const { batched, single, overridden } = clients();
      const [first, second] = await Promise.all([batched.merchant.program.get.query({ version: 1 }), batched.merchant.program.get.query()]);
      expect(first.version).toBe(1);
      expect(second.program.currency).toBe('CNY');
      expect((await single.merchant.program.get.query()).program.timeZone).toBe('Asia/Shanghai');
      expect((await overridden.merchant.program.get.query({ version: 1 })).version).toBe(1);
    });

    it('runs mutations and mints shopper tokens through both links', async () => {
      const { batched, single } = clients();
      const minted = await batched.merchant.shoppers.token.mutate({ shopperId: '42' });
      expect(minted.token.split('.')).toHaveLength(3);
      expect(Date.parse(minted.expiresAt) - app.clock.now.getTime()).toBe(15 * 60 * 1000);
      const short = await single.merchant.shoppers.token.mutate({ shopperId: '42', ttlSeconds: 60 });
      expect(Date.parse(short.expiresAt) - app.clock.now.getTime()).toBe(60 * 1000);
    });

    it('surfaces errors as TRPCClientError with code, httpStatus, reason and param', async () => {
      const { batched, single } = clients();
      for (const client of [batched, single]) {
        const error = await client.merchant.shoppers.token.mutate({ shopperId: 'has space' }).catch((caught: unknown) => caught);
        expect(error).toBeInstanceOf(TRPCClientError);
        const { data, message } = error as TRPCClientError<AppRouter>;
        expect(data).toMatchObject({ code: 'BAD_REQUEST', httpStatus: 400, reason: 'INVALID_INPUT', param: 'shopperId' });
        expect(message).toMatch(/^shopperId: /);
      }
    });

    it('gives each call of a batch its own outcome', async () => {
      const { batched } = clients();
      const [good, bad] = await Promise.allSettled([
        batched.merchant.shoppers.token.mutate({ shopperId: '7' }),
        batched.merchant.shoppers.token.mutate({ shopperId: '7', ttlSeconds: 0 }),
      ]);
      expect(good.status).toBe('fulfilled');
      expect(bad.status).toBe('rejected');
      expect(((bad as PromiseRejectedResult).reason as TRPCClientError<AppRouter>).data?.param).toBe('ttlSeconds');
    });
  });
});
