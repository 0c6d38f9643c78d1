import { createHmac } from 'node:crypto';
import { type ClaimedMessage, type Ledger, OUTBOX_BACKOFF_MS_BASE, claimDue, claimedMessageOf, getMerchant, markDelivered, markFailed, releaseClaim } from '@jifen/api';

/**
 * Webhook delivery (issue 4 "Webhooks"): the outbox rows the ledger wrote in the same transaction as
 * their change are POSTed to the merchant's `webhook_url`, signed, and marked delivered on a 2xx;
 * anything else is a failure the outbox retries with exponential backoff. Delivery is at least once
 * (a claim is a lease); receivers dedupe by `id` or `dedupeKey`.
 *
 * Signature (Stripe's scheme): header `jifen-signature: t=<unix seconds>,v1=<hex>` where `v1` is
 * HMAC-SHA256 with the merchant's webhook secret over `<t>.<raw body>`. A receiver recomputes it,
 * compares in constant time, and refuses a `t` more than a few minutes old (replayed captures).
 */

export const WEBHOOK_SIGNATURE_HEADER = 'jifen-signature';
const TIMEOUT_MS_DEFAULT = 10_000;
const BATCH_DEFAULT = 50;
const BATCHES_PER_RUN_MAX = 20;
const PARALLEL_DELIVERIES = 8;
/** A merchant whose endpoint failed this many times in a row is skipped for the rest of the run. */
const FAILURES_BEFORE_SKIPPING = 3;
/** Beyond the timeouts a claimed batch may take: the claim's own write, each answer's mark. */
const LEASE_MARGIN_MS = 30_000;

export interface WebhookBody {
  id: string;
  kind: string;
  merchantId: string;
  dedupeKey: string;
  /** ISO 8601: when the change the message announces committed. */
  createdAt: string;
  payload: Record<string, unknown>;
}

export function signWebhook(secret: string, timestampSeconds: number, body: string): string {
  const digest = createHmac('sha256', secret).update(`${timestampSeconds}.${body}`).digest('hex');
  return `t=${timestampSeconds},v1=${digest}`;
}

export interface DeliveryOptions {
  fetch?: typeof fetch;
  timeoutMs?: number;
}

/**
 * How long a claimed batch is leased: every round of parallel sends may run to the timeout, so the
 * lease covers them all and a margin. A shorter one (the outbox's default minute against seven
 * rounds of 10 s) let a second deliverer claim the last messages of a batch still being sent.
 */
export function batchLeaseMs(batchSize: number, timeoutMs: number): number {
  return Math.ceil(batchSize / PARALLEL_DELIVERIES) * (timeoutMs + 5_000) + LEASE_MARGIN_MS;
}

type Outcome = { ok: true } | { ok: false; error: string };

interface Destination {
  url: string | null;
  secret: string | null;
}

/** POSTs one message; a 2xx is delivered, anything else (status, timeout, refused connection) is not. */
export async function sendWebhook(message: ClaimedMessage, destination: Destination, now: Date, options: DeliveryOptions = {}): Promise<Outcome> {
  if (destination.url === null || destination.secret === null) return { ok: false, error: 'the merchant has no webhook URL configured' };
  const body = JSON.stringify({
    id: message.id,
    kind: message.kind,
    merchantId: message.merchantId,
    dedupeKey: message.dedupeKey,
    createdAt: new Date(message.createdAt).toISOString(),
    payload: message.payload,
  } satisfies WebhookBody);
  try {
    const response = await (options.fetch ?? fetch)(destination.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'jifen-webhooks/1',
        'jifen-event': message.kind,
        'jifen-delivery': message.id,
        [WEBHOOK_SIGNATURE_HEADER]: signWebhook(destination.secret, Math.floor(now.getTime() / 1000), body),
      },
      body,
      // A redirect could send the signed body somewhere the merchant did not configure.
      redirect: 'manual',
      signal: AbortSignal.timeout(options.timeoutMs ?? TIMEOUT_MS_DEFAULT),
    });
    await response.body?.cancel();
    return response.status >= 200 && response.status < 300 ? { ok: true } : { ok: false, error: `the webhook URL answered ${response.status}` };
  } catch (error) {
    return { ok: false, error: `the webhook URL could not be reached: ${error instanceof Error ? error.message : String(error)}` };
  }
}

export interface DeliveryReport {
  delivered: number;
  failed: number;
  /** Messages of merchants without a webhook URL: kept, and retried with backoff once one is set. */
  undeliverable: number;
  /** Messages of a merchant whose endpoint kept failing this run: given back untried, due again shortly. */
  skipped: number;
}

/**
 * The `webhooks` job: claims due messages batch by batch and delivers them. One merchant's failing
 * endpoint costs a run a few timeouts, not one per message: after `FAILURES_BEFORE_SKIPPING`
 * failures in a row its messages are given back untried for the rest of the run, so the other
 * merchants' messages (and the jobs after this one) are not held up behind its timeouts.
 */
export async function deliverDueWebhooks(
  ledger: Ledger,
  options: DeliveryOptions & { batchSize?: number; failuresBeforeSkipping?: number } = {},
): Promise<DeliveryReport> {
  const report: DeliveryReport = { delivered: 0, failed: 0, undeliverable: 0, skipped: 0 };
  const destinations = destinationCache(ledger);
  const batchSize = options.batchSize ?? BATCH_DEFAULT;
  const leaseMs = batchLeaseMs(batchSize, options.timeoutMs ?? TIMEOUT_MS_DEFAULT);
  const failuresInARow = new Map<string, number>();
  const failuresBeforeSkipping = options.failuresBeforeSkipping ?? FAILURES_BEFORE_SKIPPING;
  for (let batch = 0; batch < BATCHES_PER_RUN_MAX; batch += 1) {
    const claimed = await claimDue(ledger, { limit: batchSize, leaseMs });
    if (claimed.length === 0) break;
    await forEachLimited(claimed, PARALLEL_DELIVERIES, async (message) => {
      if ((failuresInARow.get(message.merchantId) ?? 0) >= failuresBeforeSkipping) {
        await releaseClaim(ledger, message, OUTBOX_BACKOFF_MS_BASE);
        report.skipped += 1;
        return;
      }
      const destination = await destinations(message.merchantId);
      const outcome = await sendWebhook(message, destination, ledger.now(), options);
      if (outcome.ok) {
        failuresInARow.set(message.merchantId, 0);
        await markDelivered(ledger, message.id);
        report.delivered += 1;
      } else {
        await markFailed(ledger, message, outcome.error);
        if (destination.url === null) report.undeliverable += 1;
        else {
          failuresInARow.set(message.merchantId, (failuresInARow.get(message.merchantId) ?? 0) + 1);
          report.failed += 1;
        }
      }
    });
  }
  return report;
}

export interface ReplayOptions extends DeliveryOptions {
  from: Date;
  to: Date;
  merchantId?: string;
  onProgress?: (done: number, total: number) => void;
}

/**
 * `jifen webhooks replay`: sends again every message created in [from, to), delivered or not, in
 * the order they were created — for a merchant whose endpoint lost events. It only sends: the
 * outbox's own delivery state is left as it is.
 */
export async function replayWebhooks(ledger: Ledger, options: ReplayOptions): Promise<Omit<DeliveryReport, 'skipped'> & { total: number }> {
  let query = ledger.db
    .selectFrom('outbox')
    .selectAll()
    .where('created_at', '>=', options.from.getTime())
    .where('created_at', '<', options.to.getTime())
    .orderBy('created_at')
    .orderBy('id');
  if (options.merchantId !== undefined) query = query.where('merchant_id', '=', options.merchantId);
  const rows = await query.execute();
  const destinations = destinationCache(ledger);
  const report = { delivered: 0, failed: 0, undeliverable: 0, total: rows.length };
  let done = 0;
  await forEachLimited(rows, PARALLEL_DELIVERIES, async (row) => {
    const message = claimedMessageOf(row);
    const destination = await destinations(row.merchant_id);
    const outcome = await sendWebhook(message, destination, ledger.now(), options);
    if (outcome.ok) report.delivered += 1;
    else if (destination.url === null) report.undeliverable += 1;
    else report.failed += 1;
    done += 1;
    options.onProgress?.(done, rows.length);
  });
  return report;
}

function destinationCache(ledger: Ledger): (merchantId: string) => Promise<Destination> {
  const cache = new Map<string, Promise<Destination>>();
  return (merchantId) => {
    let destination = cache.get(merchantId);
    if (!destination) {
      destination = getMerchant(ledger.db, merchantId).then((merchant) => ({ url: merchant?.webhookUrl ?? null, secret: merchant?.webhookSecret ?? null }));
      cache.set(merchantId, destination);
    }
    return destination;
  };
}

async function forEachLimited<T>(items: readonly T[], parallel: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next]!;
      next += 1;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, items.length) }, worker));
}
