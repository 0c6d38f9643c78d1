import { createHmac } from 'node:crypto';
import { type IncomingHttpHeaders, type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Ledger, createMerchant, enqueue } from '@jifen/api';
import { describeEachDialect, useTestDb } from '@jifen/db/testing';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { deliverDueWebhooks, replayWebhooks } from '../src/webhooks';

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

/** A merchant's webhook endpoint that records what it gets and answers with `status`. */
async function aReceiver(): Promise<{ url: string; received: Received[]; answer: { status: number }; close: () => Promise<void> }> {
  const received: Received[] = [];
  const answer = { status: 200 };
  const server: Server = createServer((request, response) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (body += chunk));
    request.on('end', () => {
      received.push({ headers: request.headers, body });
      response.writeHead(answer.status, answer.status === 302 ? { location: 'http://127.0.0.1:1/elsewhere' } : {}).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hooks`, received, answer, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describeEachDialect('webhook delivery', (dialect) => {
  const testDb = useTestDb(dialect);
  const clock = { now: new Date('2026-11-11T04:00:00Z') };
  let ledger: Ledger;
  let receiver: Awaited<ReturnType<typeof aReceiver>>;
  let merchantId: string;
  let messages = 0;

  beforeAll(async () => {
    ledger = new Ledger(testDb(), { clock: () => clock.now });
    receiver = await aReceiver();
    ({ merchantId } = await createMerchant(ledger, { name: 'Hooked', webhookUrl: receiver.url }));
  });
  afterAll(() => receiver.close());
  beforeEach(() => {
    receiver.received.length = 0;
    receiver.answer.status = 200;
  });

  const aMessage = async (forMerchant = merchantId) => {
    messages += 1;
    const dedupeKey = `points.earned:${messages}`;
    await ledger.write((tx) => enqueue(tx, { merchantId: forMerchant, kind: 'points.earned', dedupeKey, payload: { shopperId: '42', points: 100 * messages } }));
    return dedupeKey;
  };
  const row = (dedupeKey: string) => testDb().db.selectFrom('outbox').selectAll().where('dedupe_key', '=', dedupeKey).executeTakeFirstOrThrow();

  it('POSTs a due message with a signature the merchant can check, and marks it delivered', async () => {
    const dedupeKey = await aMessage();
    const report = await deliverDueWebhooks(ledger);
    expect(report).toEqual({ delivered: 1, failed: 0, undeliverable: 0 });
    expect(receiver.received).toHaveLength(1);
    const [{ headers, body }] = receiver.received as [Received];
    const parsed = JSON.parse(body);
    expect(parsed).toMatchObject({ kind: 'points.earned', merchantId, dedupeKey, payload: { shopperId: '42' } });
    expect(headers['jifen-event']).toBe('points.earned');
    expect(headers['jifen-delivery']).toBe(parsed.id);

    const { webhook_secret: secret } = await testDb().db.selectFrom('merchants').select('webhook_secret').where('id', '=', merchantId).executeTakeFirstOrThrow();
    const [, timestamp, signature] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(headers['jifen-signature'])) ?? [];
    expect(Number(timestamp)).toBe(Math.floor(clock.now.getTime() / 1000));
    expect(signature).toBe(createHmac('sha256', secret!).update(`${timestamp}.${body}`).digest('hex'));
    expect((await row(dedupeKey)).delivered_at).not.toBeNull();
    expect((await deliverDueWebhooks(ledger)).delivered).toBe(0);
  });

  it('keeps a message the endpoint refused and retries it after the backoff', async () => {
    const dedupeKey = await aMessage();
    receiver.answer.status = 500;
    expect(await deliverDueWebhooks(ledger)).toEqual({ delivered: 0, failed: 1, undeliverable: 0 });
    const failed = await row(dedupeKey);
    expect(failed.delivered_at).toBeNull();
    expect(failed.last_error).toContain('500');
    expect(Number(failed.next_attempt_at)).toBeGreaterThan(clock.now.getTime());

    receiver.answer.status = 200;
    expect((await deliverDueWebhooks(ledger)).delivered).toBe(0);
    clock.now = new Date(Number(failed.next_attempt_at));
    expect((await deliverDueWebhooks(ledger)).delivered).toBe(1);
    expect((await row(dedupeKey)).delivered_at).not.toBeNull();
  });

  it('does not follow a redirect with the signed body', async () => {
    await aMessage();
    receiver.answer.status = 302;
    expect(await deliverDueWebhooks(ledger)).toEqual({ delivered: 0, failed: 1, undeliverable: 0 });
    expect(receiver.received).toHaveLength(1);
    clock.now = new Date(clock.now.getTime() + 86_400_000);
    receiver.answer.status = 200;
    await deliverDueWebhooks(ledger);
  });

  it('keeps the messages of a merchant without a webhook URL, undelivered', async () => {
    const { merchantId: quiet } = await createMerchant(ledger, { name: 'Quiet' });
    const dedupeKey = await aMessage(quiet);
    expect(await deliverDueWebhooks(ledger)).toEqual({ delivered: 0, failed: 0, undeliverable: 1 });
    expect((await row(dedupeKey)).delivered_at).toBeNull();
  });

  it('replays the messages of a time range, delivered or not, without changing their delivery state', async () => {
    const from = new Date(clock.now.getTime() + 1000);
    clock.now = from;
    const first = await aMessage();
    const second = await aMessage();
    await deliverDueWebhooks(ledger);
    clock.now = new Date(from.getTime() + 60_000);
    await aMessage();
    receiver.received.length = 0;
    const before = [await row(first), await row(second)];

    const report = await replayWebhooks(ledger, { from, to: new Date(from.getTime() + 1000) });
    expect(report).toEqual({ delivered: 2, failed: 0, undeliverable: 0, total: 2 });
    expect(receiver.received.map((received) => JSON.parse(received.body).dedupeKey).sort()).toEqual([first, second].sort());
    expect([await row(first), await row(second)]).toEqual(before);
  });
});
