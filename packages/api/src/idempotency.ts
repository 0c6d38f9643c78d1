import { prepareQuery } from '@jifen/db';
import { JifenError } from './errors';
import { canonicalJson, firstDifferentField, sha256Hex } from './canonical';
import type { WriteContext } from './ledger';

/**
 * Every write is idempotent on the caller's id (SPEC §4): a replay returns the first result and
 * writes nothing; the same id with a different payload is a CONFLICT naming the first field that
 * differs. The record is claimed before the work (on Postgres an insert, which makes a concurrent
 * claimant wait for this transaction; on SQLite a read, as `BEGIN IMMEDIATE` already excludes every
 * other writer, and the record is inserted once with its result), so twelve concurrent replays
 * produce one effect. A refused write is rolled back with its claim: replaying it is evaluated
 * afresh, as a new attempt.
 */
export async function idempotent<Result>(
  tx: WriteContext,
  claim: { merchantId: string; scope: string; key: string; request: Record<string, unknown> },
  /** Runs when the claim is new; receives the request's hash (`sha256Hex(canonicalJson(request))`), already computed for the claim. */
  work: (requestHash: string) => Promise<Result>,
): Promise<Result> {
  const requestJson = canonicalJson(claim.request);
  const requestHash = sha256Hex(requestJson);
  const record = { merchantId: claim.merchantId, scope: claim.scope, key: claim.key };
  const createdAt = tx.now.getTime();
  // SQLite: the transaction is the only writer, so a read is claim enough, and the record is written
  // once, with its result. Postgres: the insert is the claim a concurrent replay waits on.
  const existing = tx.isOnlyWriter
    ? await readRecord.executeTakeFirst(tx.db, record)
    : await claimOrRead(tx, { ...record, requestHash, response: storedResponse(requestJson, 'null'), createdAt });
  if (existing !== undefined) return replayed<Result>(existing, claim, requestHash);
  const { response, answer } = firstAnswer(requestJson, await work(requestHash));
  if (!tx.isOnlyWriter) await storeResult.executeDeferred(tx.db, { ...record, response });
  else if ((await claimRecord.executeWrite(tx.db, { ...record, requestHash, response, createdAt })) !== 1) {
    throw new Error('jifen invariant: an idempotency record appeared while its only writer was working');
  }
  return answer;
}

/** A stored first answer: the request's hash and the `{"request":…,"result":…}` text `firstAnswer` made. */
export interface StoredAnswer {
  request_hash: string;
  response: string;
}

/**
 * The answer to a replay: the stored first result when the request's hash is the stored one, else
 * an IDEMPOTENCY_CONFLICT naming the first field that differs (`payload` when none can be named).
 */
export function replayed<Result>(stored: StoredAnswer, claim: { scope: string; key: string; request: Record<string, unknown> }, requestHash: string): Result {
  const first = JSON.parse(stored.response) as { request: Record<string, unknown>; result: Result };
  if (stored.request_hash !== requestHash) {
    const field = firstDifferentField(first.request, claim.request) ?? 'payload';
    throw new JifenError('IDEMPOTENCY_CONFLICT', { scope: claim.scope, key: claim.key, field }, field);
  }
  return first.result;
}

/**
 * The text to store for a first answer, and the answer to give: the stored one (canonical key
 * order), so the first caller and every replay get the same bytes.
 */
export function firstAnswer<Result>(requestJson: string, result: Result): { response: string; answer: Result } {
  const resultJson = result === undefined ? undefined : canonicalJson(result);
  return { response: storedResponse(requestJson, resultJson), answer: resultJson === undefined ? result : (JSON.parse(resultJson) as Result) };
}

/** Postgres: inserts the claim; when the id was already claimed, the record that holds it. */
async function claimOrRead(
  tx: WriteContext,
  claim: { merchantId: string; scope: string; key: string; requestHash: string; response: string; createdAt: number },
): Promise<StoredAnswer | undefined> {
  if ((await claimRecord.executeWrite(tx.db, claim)) === 1) return undefined;
  const existing = await readRecord.executeTakeFirst(tx.db, claim);
  if (!existing) throw new Error('jifen invariant: a claim that did not insert found its record');
  return existing;
}

/**
 * `canonicalJson({ request, result })` from the parts already encoded: "request" sorts before
 * "result", so the concatenation is the canonical encoding itself, byte for byte (an undefined
 * result is left out, as canonicalJson leaves out undefined fields).
 */
function storedResponse(requestJson: string, resultJson: string | undefined): string {
  return resultJson === undefined ? `{"request":${requestJson}}` : `{"request":${requestJson},"result":${resultJson}}`;
}

const claimRecord = prepareQuery(
  (db, claim: { merchantId: string; scope: string; key: string; requestHash: string; response: string; createdAt: number }) =>
    db
      .insertInto('idempotency')
      .values({ merchant_id: claim.merchantId, scope: claim.scope, key: claim.key, request_hash: claim.requestHash, response: claim.response, created_at: claim.createdAt })
      .onConflict((conflict) => conflict.columns(['merchant_id', 'scope', 'key']).doNothing()),
);

/** The record of a write, if there is one (`orders.paid` reads those of orders paid before migration 0004). */
export const readRecord = prepareQuery((db, record: { merchantId: string; scope: string; key: string }) =>
  db.selectFrom('idempotency').select(['request_hash', 'response']).where('merchant_id', '=', record.merchantId).where('scope', '=', record.scope).where('key', '=', record.key),
);

const storeResult = prepareQuery((db, record: { merchantId: string; scope: string; key: string; response: string }) =>
  db.updateTable('idempotency').set({ response: record.response }).where('merchant_id', '=', record.merchantId).where('scope', '=', record.scope).where('key', '=', record.key),
);
