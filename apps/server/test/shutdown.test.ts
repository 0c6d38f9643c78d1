import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeEachDialect } from '@jifen/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/logger';
import { serve } from '../src/serve';
import { post } from './support/http';
import { type TestMerchant, type TestServer, aMerchant, startTestServer } from './support/test-server';

/** A POST whose body arrives in two parts: the server has the request in flight between them. */
function slowPost(url: string, path: string, apiKey: string, body: string): { sendRest: () => void; answer: Promise<{ status: number; connection: string | undefined; body: string }> } {
  const target = new URL(path, url);
  const half = Math.floor(body.length / 2);
  let sendRest = () => undefined as void;
  const answer = new Promise<{ status: number; connection: string | undefined; body: string }>((resolve, reject) => {
    const outgoing = httpRequest(target, { method: 'POST', headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, connection: response.headers.connection, body: text }));
    });
    outgoing.on('error', reject);
    outgoing.write(body.slice(0, half));
    sendRest = () => outgoing.end(body.slice(half));
  });
  return { sendRest, answer };
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describeEachDialect('graceful shutdown', (dialect) => {
  describe('the HTTP server', () => {
    let app: TestServer;
    let merchant: TestMerchant;

    beforeAll(async () => {
      app = await startTestServer(dialect);
      merchant = await aMerchant(app.ledger);
    });
    afterAll(() => app.testDb.close());

    it('forgets a request whose client hung up mid-body, writing nothing', async () => {
      const target = new URL('/trpc/merchant.program.update', app.url);
      const outgoing = httpRequest(target, { method: 'POST', headers: { authorization: `Bearer ${merchant.apiKey}`, 'content-length': 1000 } });
      outgoing.on('error', () => undefined);
      outgoing.write('{"program":');
      await pause(100);
      outgoing.destroy();
      await pause(100);
      const answer = await post(app.url, 'merchant.program.get', undefined, { token: merchant.apiKey });
      expect(answer.body.result.data.version).toBe(1);
    });

    it('finishes a request in flight, closing its connection, and then refuses new connections', async () => {
      const inFlight = slowPost(app.url, '/trpc/merchant.program.update', merchant.apiKey, JSON.stringify({ program: { earning: { baseRate: 0.06 } } }));
      await pause(100);
      const stopped = app.server.shutdown(5_000);
      await pause(100);
      inFlight.sendRest();
      const answer = await inFlight.answer;
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.body).result.data.version).toBe(2);
      expect(answer.connection).toBe('close');
      await stopped;
      await expect(post(app.url, 'merchant.program.get', undefined, { token: merchant.apiKey })).rejects.toThrow();
      const stored = await app.ledger.db.selectFrom('merchants').select('program_version').where('id', '=', merchant.merchantId).executeTakeFirstOrThrow();
      expect(Number(stored.program_version)).toBe(2);
    });
  });
});

describe('jifen serve', () => {
  const folder = mkdtempSync(join(tmpdir(), 'jifen-serve-'));
  afterAll(() => rmSync(folder, { recursive: true, force: true }));

  it('migrates, serves, and on stop finishes in-flight requests before closing the database', async () => {
    const serving = await serve({ database: { url: join(folder, 'jifen.db') }, port: 0, host: '127.0.0.1', logger: createLogger('silent'), jobIntervalMs: 0 });
    const health = await fetch(`${serving.url}/healthz`);
    expect(health.status).toBe(200);
    const { createMerchant } = await import('@jifen/api');
    const merchant = await createMerchant(serving.ledger, { name: 'Shop' });
    const inFlight = slowPost(serving.url, '/trpc/merchant.program.update', merchant.apiKey, JSON.stringify({ program: { earning: { baseRate: 0.07 } } }));
    await pause(100);
    const stopped = serving.stop();
    await pause(100);
    inFlight.sendRest();
    expect((await inFlight.answer).status).toBe(200);
    await stopped;
    // The database is closed: the ledger answers nothing more.
    await expect(serving.ledger.db.selectFrom('merchants').select('id').execute()).rejects.toThrow();
  });
});
