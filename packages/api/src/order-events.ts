import { type Database, type NewOrderEventRow, prepareLockingRead, prepareQuery } from '@jifen/db';
import type { QueryCreator } from 'kysely';
import { canonicalJson, firstDifferentField, sha256Hex } from './canonical';
import { JifenError } from './errors';
import type { WriteContext } from './ledger';
import { type VersionedProgram, currentProgramOf, getProgram } from './merchants';

/**
 * Order events that arrive before their order (issue 3: shop platforms retry for hours, so
 * `completed`, `refunded` or `cancelled` can reach jifen before `paid`). Such an event is stored in
 * `order_events`, its caller is told it waits, and `paid` applies the waiting events in arrival
 * order inside its own transaction. Each event has one row, keyed by the caller's id
 * (`completed:<orderId>`, `refunded:<refundId>`, `cancelled:<orderId>`), so a replay of a waiting
 * event stores nothing new, and the same id with a different payload is a CONFLICT.
 */

export type OrderEventKind = 'completed' | 'refunded' | 'cancelled';

/** What the caller of an event that waits for its order is told. */
export interface OrderEventWaiting {
  orderId: string;
  status: 'waiting';
  /** The refund id, for a refund. */
  refundId?: string;
}

export interface WaitingEvent {
  eventId: string;
  kind: OrderEventKind;
  payload: Record<string, unknown>;
}

/** The outcome of one waiting event, reported in the `paid` answer that applied it. */
export interface AppliedEvent {
  kind: OrderEventKind;
  /** The order id (completed, cancelled) or the refund id. */
  ref: string;
  outcome: 'applied' | 'refused';
  /** The refusal's reason, e.g. REFUND_EXCEEDS_ORDER; a replay of the event is then refused the same way. */
  reason?: string;
}

const KEY_ROW_KIND = 'order';

/**
 * Serialises every event of one order, even before the order exists. Postgres cannot lock a row
 * that is not there, so without this a `completed` could find no order and store itself as waiting
 * while a concurrent `paid`, not yet committed, has already read the waiting events and missed it.
 * Both take the lock of one key row per order first. SQLite needs nothing: `BEGIN IMMEDIATE` already
 * makes each write the only writer. `isFirstEvent`: this write created the key, so no event of the
 * order came before it (always false on SQLite, which keeps no key).
 */
export async function lockOrderKey(tx: WriteContext, merchantId: string, orderId: string): Promise<{ isFirstEvent: boolean }> {
  if (tx.dialect !== 'postgres') return { isFirstEvent: false };
  const key = keyRowOf(tx, merchantId, orderId);
  return keyTaken(tx, key, await insertKeyRow.executeWrite(tx.db, key));
}

type KeyRow = { merchantId: string; eventId: string; orderId: string; at: number };

function keyRowOf(tx: WriteContext, merchantId: string, orderId: string): KeyRow {
  return { merchantId, eventId: `${KEY_ROW_KIND}:${orderId}`, orderId, at: tx.now.getTime() };
}

/** The key row's insert, which does nothing when the row exists: alone, or in a statement with the program's read. */
function insertKeyRowInto(creator: QueryCreator<Database>, key: KeyRow) {
  return creator
    .insertInto('order_events')
    .values({ merchant_id: key.merchantId, event_id: key.eventId, order_id: key.orderId, kind: KEY_ROW_KIND, payload: '{}', payload_hash: '', received_at: key.at, applied_at: key.at })
    .onConflict((conflict) => conflict.columns(['merchant_id', 'event_id']).doNothing());
}

/** After the key row's insert: a row this transaction inserted is already its own until commit; only an existing one needs the lock. */
async function keyTaken(tx: WriteContext, key: KeyRow, inserted: number): Promise<{ isFirstEvent: boolean }> {
  if (inserted > 0) return { isFirstEvent: true };
  await lockKeyRow.execute(tx.db, key);
  return { isFirstEvent: false };
}

/**
 * `lockOrderKey` and the merchant's current program, for a paid order: on Postgres the key row's
 * insert and the program's read go to the server as one statement (a data-modifying CTE), one round
 * trip where they were two; on SQLite the program's read alone, as `getProgram`.
 */
export async function lockOrderKeyWithProgram(
  tx: WriteContext,
  merchantId: string,
  orderId: string,
): Promise<VersionedProgram & { key: { isFirstEvent: boolean } }> {
  if (tx.dialect !== 'postgres') return { ...(await getProgram(tx.db, merchantId)), key: { isFirstEvent: false } };
  const key = keyRowOf(tx, merchantId, orderId);
  const row = await insertKeyRowReadProgram.executeTakeFirst(tx.db, key);
  // No merchant: NOT_FOUND (`currentProgramOf` throws first), and the key row's insert is rolled back with the refusal.
  return { ...currentProgramOf(row), key: await keyTaken(tx, key, Number(row?.inserted ?? 0)) };
}

/** Postgres only (SQLite has no data-modifying CTE): the key row's insert, and the current program read in the same statement. */
const insertKeyRowReadProgram = prepareQuery((db, key: KeyRow) =>
  db
    .with('inserted_key', (cte) => insertKeyRowInto(cte, key).returning('event_id'))
    .selectFrom('merchants')
    .leftJoin('program_versions', (join) => join.onRef('program_versions.merchant_id', '=', 'merchants.id').onRef('program_versions.version', '=', 'merchants.program_version'))
    .select((eb) => ['merchants.program_version as version', 'program_versions.config', eb.selectFrom('inserted_key').select(eb.fn.countAll().as('count')).as('inserted')])
    .where('merchants.id', '=', key.merchantId),
);

const insertKeyRow = prepareQuery((db, key: KeyRow) => insertKeyRowInto(db, key));

const lockKeyRow = prepareLockingRead((db, key: { merchantId: string; eventId: string }) =>
  db.selectFrom('order_events').select('event_id').where('merchant_id', '=', key.merchantId).where('event_id', '=', key.eventId),
);

/**
 * Stores an event for an order not yet paid. A replay with the same payload stores nothing; a
 * different payload under the same id is an IDEMPOTENCY_CONFLICT naming the first differing field.
 */
export async function storeWaitingEvent(
  tx: WriteContext,
  event: { merchantId: string; orderId: string; kind: OrderEventKind; key: string; payload: Record<string, unknown> },
): Promise<void> {
  const eventId = `${event.kind}:${event.key}`;
  const payload = canonicalJson(event.payload);
  const payloadHash = sha256Hex(payload);
  // Arrival order must survive two events in one millisecond: each is stamped after the order's last.
  const last = await tx.db
    .selectFrom('order_events')
    .select((eb) => eb.fn.max('received_at').as('at'))
    .where('merchant_id', '=', event.merchantId)
    .where('order_id', '=', event.orderId)
    .executeTakeFirst();
  const receivedAt = Math.max(tx.now.getTime(), last?.at === null || last?.at === undefined ? 0 : Number(last.at) + 1);
  const existing = await insertEventOnce(tx, {
    merchant_id: event.merchantId,
    event_id: eventId,
    order_id: event.orderId,
    kind: event.kind,
    payload,
    payload_hash: payloadHash,
    received_at: receivedAt,
    applied_at: null,
  });
  if (existing === null) return;
  if (existing.payloadHash !== payloadHash) {
    const field = firstDifferentField(JSON.parse(existing.payload) as Record<string, unknown>, event.payload) ?? 'payload';
    throw new JifenError('IDEMPOTENCY_CONFLICT', { scope: `orders.${event.kind}`, key: event.key, field }, field);
  }
}

/**
 * A refund id is the merchant's, one namespace whether its order was paid yet or not: a refund of a
 * known order leaves the row a waiting one would have (`refunded:<refundId>`, already applied), so
 * the same id sent later for an order not yet paid finds it — and one stored as waiting is found
 * here — and either is an IDEMPOTENCY_CONFLICT naming `orderId` when it names another order. On
 * Postgres the row's key is also what two concurrent uses of one id queue on. The same order is a
 * replay, answered by the refund's idempotency record.
 */
export async function claimRefundId(tx: WriteContext, refund: { merchantId: string; orderId: string; refundId: string; payload: Record<string, unknown> }): Promise<void> {
  const eventId = `refunded:${refund.refundId}`;
  const payload = canonicalJson(refund.payload);
  const at = tx.now.getTime();
  const existing = await insertEventOnce(tx, {
    merchant_id: refund.merchantId,
    event_id: eventId,
    order_id: refund.orderId,
    kind: 'refunded',
    payload,
    payload_hash: sha256Hex(payload),
    received_at: at,
    applied_at: at,
  });
  if (existing === null) return;
  if (existing.orderId !== refund.orderId) {
    throw new JifenError('IDEMPOTENCY_CONFLICT', { scope: 'orders.refunded', key: refund.refundId, field: 'orderId' }, 'orderId');
  }
}

/** Inserts an event row unless its id is taken; null when it was inserted, else the row already there. */
async function insertEventOnce(tx: WriteContext, row: NewOrderEventRow): Promise<{ orderId: string; payload: string; payloadHash: string } | null> {
  const inserted = await tx.db
    .insertInto('order_events')
    .values(row)
    .onConflict((conflict) => conflict.columns(['merchant_id', 'event_id']).doNothing())
    .executeTakeFirst();
  if (Number(inserted.numInsertedOrUpdatedRows ?? 0n) > 0) return null;
  const existing = await tx.db
    .selectFrom('order_events')
    .select(['order_id', 'payload', 'payload_hash'])
    .where('merchant_id', '=', row.merchant_id)
    .where('event_id', '=', row.event_id)
    .executeTakeFirstOrThrow();
  return { orderId: existing.order_id, payload: existing.payload, payloadHash: existing.payload_hash };
}

const readWaitingEvents = prepareQuery((db, key: { merchantId: string; orderId: string }) =>
  db
    .selectFrom('order_events')
    .select(['event_id', 'kind', 'payload'])
    .where('merchant_id', '=', key.merchantId)
    .where('order_id', '=', key.orderId)
    .where('applied_at', 'is', null)
    .orderBy('received_at')
    .orderBy('event_id'),
);

/** The order's events still waiting, in arrival order (ties by id, so the order is stable). */
export async function waitingEvents(tx: WriteContext, merchantId: string, orderId: string): Promise<WaitingEvent[]> {
  const rows = await readWaitingEvents.execute(tx.db, { merchantId, orderId });
  return rows
    .filter((row) => row.kind !== KEY_ROW_KIND)
    .map((row) => ({ eventId: row.event_id, kind: row.kind as OrderEventKind, payload: JSON.parse(row.payload) as Record<string, unknown> }));
}

export async function markEventApplied(tx: WriteContext, merchantId: string, eventId: string): Promise<void> {
  await tx.db.updateTable('order_events').set({ applied_at: tx.now.getTime() }).where('merchant_id', '=', merchantId).where('event_id', '=', eventId).execute();
}
