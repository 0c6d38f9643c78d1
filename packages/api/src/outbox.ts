import { type Database, type OutboxRow, type OutboxTable, prepareQuery } from '@jifen/db';
import { type Insertable, type Kysely, sql } from 'kysely';
import { canonicalJson, randomId } from './canonical';
import type { Ledger, WriteContext } from './ledger';

/**
 * The notification outbox (SPEC §3.1 "Expiry", §4): a row is written in the same transaction as the
 * change it announces, so a notification exists exactly when its change committed. A deliverer
 * (the webhook worker) claims due rows, and marks each delivered or failed; a failed row comes back
 * after an exponential backoff. `dedupe_key` makes producing a notification idempotent: the same
 * key is queued once per merchant, whoever produces it and however often.
 */

export interface OutboxMessage {
  merchantId: string;
  kind: string;
  /** Unique per merchant: a second enqueue with the same key is ignored. */
  dedupeKey: string;
  payload: Record<string, unknown>;
}

/** Delivery lease: a claimed row is not handed out again for this long, unless marked. */
export const OUTBOX_LEASE_MS_DEFAULT = 60_000;
/** Backoff after failure n (1-based): min(base × 2^(n−1), max). */
export const OUTBOX_BACKOFF_MS_BASE = 10_000;
export const OUTBOX_BACKOFF_MS_MAX = 6 * 60 * 60_000;

// Each row binds 10 values; 1000 rows a statement stays far below SQLite's 32766 variables.
const ROWS_PER_INSERT = 1000;

/** Queues one message; false when its dedupe key was already queued. */
export async function enqueue(tx: WriteContext, message: OutboxMessage): Promise<boolean> {
  return (await insertOne.executeWrite(tx.db, outboxRow(message, tx.now.getTime()))) === 1;
}

/** Queues messages in chunked inserts, ignoring keys already queued; returns how many were new. */
export async function enqueueMany(tx: WriteContext, messages: readonly OutboxMessage[]): Promise<number> {
  const at = tx.now.getTime();
  let inserted = 0;
  for (let start = 0; start < messages.length; start += ROWS_PER_INSERT) {
    const rows = messages.slice(start, start + ROWS_PER_INSERT).map((message) => outboxRow(message, at));
    const result = await tx.db
      .insertInto('outbox')
      .values(rows)
      .onConflict((conflict) => conflict.columns(['merchant_id', 'dedupe_key']).doNothing())
      .executeTakeFirst();
    inserted += Number(result.numInsertedOrUpdatedRows ?? 0n);
  }
  return inserted;
}

/** A new message's row: due at once, never attempted. */
function outboxRow(message: OutboxMessage, at: number): Insertable<OutboxTable> {
  return {
    id: `o_${randomId(12)}`,
    merchant_id: message.merchantId,
    kind: message.kind,
    dedupe_key: message.dedupeKey,
    payload: canonicalJson(message.payload),
    created_at: at,
    next_attempt_at: at,
    attempts: 0,
    delivered_at: null,
    last_error: null,
  };
}

// A paid order past its month's budget queues an alert (almost always a replay of the month's key):
// one row, so one prepared statement rather than a multi-row insert built afresh per call.
const insertOne = prepareQuery((db, row: Insertable<OutboxTable>) =>
  db
    .insertInto('outbox')
    .values({
      id: row.id,
      merchant_id: row.merchant_id,
      kind: row.kind,
      dedupe_key: row.dedupe_key,
      payload: row.payload,
      created_at: row.created_at,
      next_attempt_at: row.next_attempt_at,
      attempts: row.attempts,
      delivered_at: row.delivered_at,
      last_error: row.last_error,
    })
    .onConflict((conflict) => conflict.columns(['merchant_id', 'dedupe_key']).doNothing()),
);

export interface ClaimedMessage extends OutboxMessage {
  id: string;
  /** Delivery attempts including this one. */
  attempts: number;
  createdAt: number;
}

/**
 * Claims up to `limit` due messages for delivery, oldest due first. A claim is a lease: the row's
 * next attempt moves `leaseMs` ahead, so a deliverer that dies mid-delivery loses nothing — the row
 * comes back when the lease runs out. Delivery is therefore at least once; receivers dedupe by key.
 */
export async function claimDue(ledger: Ledger, options: { limit: number; leaseMs?: number; merchantId?: string }): Promise<ClaimedMessage[]> {
  const leaseMs = options.leaseMs ?? OUTBOX_LEASE_MS_DEFAULT;
  return ledger.write(async (tx) => {
    const now = tx.now.getTime();
    let query = tx.db
      .selectFrom('outbox')
      .selectAll()
      .where('delivered_at', 'is', null)
      .where('next_attempt_at', '<=', now)
      .orderBy('next_attempt_at')
      .limit(options.limit);
    if (options.merchantId !== undefined) query = query.where('merchant_id', '=', options.merchantId);
    // Postgres: concurrent deliverers skip each other's claimed rows instead of queueing behind them.
    // SQLite has no row locks; its BEGIN IMMEDIATE already makes this claim the only writer.
    if (tx.dialect === 'postgres') query = query.forUpdate().skipLocked();
    const rows = await query.execute();
    if (rows.length === 0) return [];
    await tx.db
      .updateTable('outbox')
      .set({ next_attempt_at: now + leaseMs, attempts: sql<number>`attempts + 1` })
      .where('id', 'in', rows.map((row) => row.id))
      .execute();
    return rows.map((row) => ({ ...claimedMessageOf(row), attempts: Number(row.attempts) + 1 }));
  });
}

/** Marks a claimed message delivered; it is never handed out again. */
export async function markDelivered(ledger: Ledger, id: string): Promise<void> {
  await ledger.write(async (tx) => {
    await tx.db.updateTable('outbox').set({ delivered_at: tx.now.getTime(), last_error: null }).where('id', '=', id).where('delivered_at', 'is', null).execute();
  });
}

/**
 * A claim as `claimDue` handed it out: the message and the attempt the claim made. A deliverer whose
 * lease ran out may still report on its claim after another (a replica) claimed the message again;
 * the attempt tells the two apart, and only the current claim moves the message.
 */
export type Claim = Pick<ClaimedMessage, 'id' | 'attempts'>;

/** Records a failed delivery; the message is due again after the backoff for its attempt count. Nothing if the claim is no longer current. */
export async function markFailed(ledger: Ledger, claim: Claim, error: string): Promise<void> {
  await ledger.write(async (tx) => {
    const row = await tx
      .forUpdate(tx.db.selectFrom('outbox').select(['attempts']).where('id', '=', claim.id).where('delivered_at', 'is', null).where('attempts', '=', claim.attempts))
      .executeTakeFirst();
    if (!row) return;
    await tx.db
      .updateTable('outbox')
      .set({ next_attempt_at: tx.now.getTime() + outboxBackoffMs(Number(row.attempts)), last_error: error.slice(0, 1000) })
      .where('id', '=', claim.id)
      .execute();
  });
}

/**
 * Gives a claimed message back untried (a deliverer skipping a failing endpoint for the rest of its
 * run): its claim's attempt is taken back and it is due again after `delayMs`. Nothing if the claim
 * is no longer current (another deliverer's attempt is not taken back).
 */
export async function releaseClaim(ledger: Ledger, claim: Claim, delayMs: number): Promise<void> {
  await ledger.write(async (tx) => {
    await tx.db
      .updateTable('outbox')
      .set({ next_attempt_at: tx.now.getTime() + delayMs, attempts: sql<number>`case when attempts > 0 then attempts - 1 else 0 end` })
      .where('id', '=', claim.id)
      .where('delivered_at', 'is', null)
      .where('attempts', '=', claim.attempts)
      .execute();
  });
}

/** How long to wait after the `attempts`-th failed delivery. */
export function outboxBackoffMs(attempts: number): number {
  const exponent = Math.min(Math.max(attempts, 1) - 1, 30);
  return Math.min(OUTBOX_BACKOFF_MS_BASE * 2 ** exponent, OUTBOX_BACKOFF_MS_MAX);
}

/** Messages of a merchant, newest first (for the console and tests). */
export async function listOutbox(db: Kysely<Database>, merchantId: string, options: { kind?: string; limit?: number } = {}): Promise<ClaimedMessage[]> {
  let query = db.selectFrom('outbox').selectAll().where('merchant_id', '=', merchantId).orderBy('created_at', 'desc').orderBy('id').limit(options.limit ?? 100);
  if (options.kind !== undefined) query = query.where('kind', '=', options.kind);
  return (await query.execute()).map((row) => claimedMessageOf(row));
}

/** An outbox row as the message a deliverer sends (its payload parsed). */
export function claimedMessageOf(row: OutboxRow): ClaimedMessage {
  return {
    id: row.id,
    merchantId: row.merchant_id,
    kind: row.kind,
    dedupeKey: row.dedupe_key,
    payload: JSON.parse(row.payload) as Record<string, unknown>,
    attempts: Number(row.attempts),
    createdAt: Number(row.created_at),
  };
}
