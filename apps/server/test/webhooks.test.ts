import { createHmac } from 'node:crypto';
import { type IncomingHttpHeaders, type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Ledger, createMerchant, enqueue, enqueueMany } from '@jifen/api';
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
    expect(report).toEqual({ delivered: 1, failed: 0, undeliverable: 0, skipped: 0 });
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
    expect(await deliverDueWebhooks(ledger)).toEqual({ delivered: 0, failed: 1, undeliverable: 0, skipped: 0 });
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
    expect(await deliverDueWebhooks(ledger)).toEqual({ delivered: 0, failed: 1, undeliverable: 0, skipped: 0 });
    expect(receiver.received).toHaveLength(1);
    clock.now = new Date(clock.now.getTime() + 86_400_000);
    receiver.answer.status = 200;
    await deliverDueWebhooks(ledger);
  });

  it('keeps the messages of a merchant without a webhook URL, undelivered', async () => {
    const { merchantId: quiet } = await createMerchant(ledger, { name: 'Quiet' });
    const dedupeKey = await aMessage(quiet);
    expect(await deliverDueWebhooks(ledger)).toEqual({ delivered: 0, failed: 0, undeliverable: 1, skipped: 0 });
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

describeEachDialect('webhook delivery under a slow or failing endpoint', (dialect) => {
  const testDb = useTestDb(dialect);
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const deliveryIdOf = (init: RequestInit | undefined) => String((init?.headers as Record<string, string>)['jifen-delivery']);
  const timeoutError = () => Object.assign(new Error('The operation was aborted due to timeout'), { name: 'TimeoutError' });

  it('never hands a message to a second deliverer while the first still sends it: the lease covers every round of a batch', async () => {
    const clock = { now: new Date('2026-11-11T04:00:00Z') };
    const workerA = new Ledger(testDb(), { clock: () => clock.now });
    const workerB = new Ledger(testDb(), { clock: () => clock.now });
    const { merchantId } = await createMerchant(workerA, { name: 'Slow receiver', webhookUrl: 'http://hooks.invalid/in' });
    await workerA.write((tx) => enqueueMany(tx, Array.from({ length: 50 }, (_, index) => ({ merchantId, kind: 'points.earned', dedupeKey: `lease:${index}`, payload: { index } }))));

    // A's receiver hangs: every POST ends at the 10 s timeout, kept on the test clock. A skips no one here.
    const inFlightA = new Map<string, (error: Error) => void>();
    const fetchA = ((_url: string, init?: RequestInit) => new Promise<Response>((_resolve, reject) => inFlightA.set(deliveryIdOf(init), reject))) as unknown as typeof fetch;
    const runA = deliverDueWebhooks(workerA, { fetch: fetchA, failuresBeforeSkipping: Number.POSITIVE_INFINITY });
    const overlaps: string[] = [];
    const fetchB = (async (_url: string, init?: RequestInit) => {
      if (inFlightA.has(deliveryIdOf(init))) overlaps.push(deliveryIdOf(init));
      return new Response(null, { status: 200 });
    }) as unknown as typeof fetch;

    // Seven rounds of 8 parallel POSTs (the last of 2), each running to the timeout; replica B's job
    // runs as A starts its last round, more than a minute after A's claim.
    const rounds = [8, 8, 8, 8, 8, 8, 2];
    for (const [round, size] of rounds.entries()) {
      for (let waited = 0; inFlightA.size < size; waited += 1) {
        if (waited > 2_000) throw new Error(`round ${round}: ${inFlightA.size} in flight`);
        await sleep(5);
      }
      if (round === rounds.length - 1) await deliverDueWebhooks(workerB, { fetch: fetchB });
      clock.now = new Date(clock.now.getTime() + 10_001);
      const pending = [...inFlightA.values()];
      inFlightA.clear();
      for (const reject of pending) reject(timeoutError());
    }
    let done = false;
    void runA.finally(() => (done = true));
    while (!done) {
      for (const reject of inFlightA.values()) reject(timeoutError());
      inFlightA.clear();
      await sleep(5);
    }
    await runA;
    expect(overlaps).toEqual([]);
  });

  it("spends a few attempts on a failing endpoint, not one per message, and still delivers another merchant's message", async () => {
    const clock = { now: new Date('2026-11-12T04:00:00Z') };
    const ledger = new Ledger(testDb(), { clock: () => clock.now });
    const { merchantId: broken } = await createMerchant(ledger, { name: 'Broken endpoint', webhookUrl: 'http://broken.invalid/in' });
    const { merchantId: healthy } = await createMerchant(ledger, { name: 'Healthy endpoint', webhookUrl: 'http://healthy.invalid/in' });
    // A reminder burst of the broken merchant (one row per lot), then one message of the healthy merchant.
    await ledger.write((tx) => enqueueMany(tx, Array.from({ length: 200 }, (_, index) => ({ merchantId: broken, kind: 'points.expiring', dedupeKey: `burst:${index}`, payload: { index } }))));
    clock.now = new Date(clock.now.getTime() + 1);
    await ledger.write((tx) => enqueue(tx, { merchantId: healthy, kind: 'points.earned', dedupeKey: 'healthy:1', payload: {} }));
    let brokenAttempts = 0;
    let healthyDeliveries = 0;
    const fakeFetch = (async (url: string) => {
      if (String(url).includes('broken')) {
        brokenAttempts += 1;
        // In production each of these costs the 10 s timeout.
        throw timeoutError();
      }
      if (String(url).includes('healthy')) healthyDeliveries += 1;
      return new Response(null, { status: 200 });
    }) as unknown as typeof fetch;

    await deliverDueWebhooks(ledger, { fetch: fakeFetch });
    expect(healthyDeliveries).toBe(1);
    // A few rounds' parallel sends at most (the failures are counted as they come back), where all 200
    // used to be tried, at 10 s each.
    expect(brokenAttempts).toBeLessThanOrEqual(16);
    const rows = await ledger.db.selectFrom('outbox').select(['attempts', 'next_attempt_at', 'last_error']).where('merchant_id', '=', broken).execute();
    expect(rows.filter((row) => row.last_error !== null)).toHaveLength(brokenAttempts);
    // The others were given back untried: due again shortly, their attempt counts unchanged.
    const skipped = rows.filter((row) => row.last_error === null);
    expect(skipped).toHaveLength(200 - brokenAttempts);
    expect(skipped.every((row) => Number(row.attempts) === 0 && Number(row.next_attempt_at) > clock.now.getTime())).toBe(true);
  });
});
