import { JifenError } from './errors';
import { canonicalJson, firstDifferentField, sha256Hex } from './canonical';
import type { WriteContext } from './ledger';

/**
 * Every write is idempotent on the caller's id (SPEC §4): a replay returns the first result and
 * writes nothing; the same id with a different payload is a CONFLICT naming the first field that
 * differs. The record is claimed first (insert, or wait on Postgres for a concurrent claimant to
 * commit), so twelve concurrent replays produce one effect. A refused write is rolled back with its
 * claim: replaying it is evaluated afresh, as a new attempt.
 */
export async function idempotent<Result>(
  tx: WriteContext,
  claim: { merchantId: string; scope: string; key: string; request: Record<string, unknown> },
  work: () => Promise<Result>,
): Promise<Result> {
  const requestJson = canonicalJson(claim.request);
  const requestHash = sha256Hex(requestJson);
  const inserted = await tx.db
    .insertInto('idempotency')
    .values({
      merchant_id: claim.merchantId,
      scope: claim.scope,
      key: claim.key,
      request_hash: requestHash,
      response: canonicalJson({ request: claim.request, result: null }),
      created_at: tx.now.getTime(),
    })
    .onConflict((conflict) => conflict.columns(['merchant_id', 'scope', 'key']).doNothing())
    .executeTakeFirst();
  if (Number(inserted.numInsertedOrUpdatedRows ?? 0n) === 0) {
    const existing = await tx.db
      .selectFrom('idempotency')
      .select(['request_hash', 'response'])
      .where('merchant_id', '=', claim.merchantId)
      .where('scope', '=', claim.scope)
      .where('key', '=', claim.key)
      .executeTakeFirstOrThrow();
    const stored = JSON.parse(existing.response) as { request: Record<string, unknown>; result: Result };
    if (existing.request_hash !== requestHash) {
      const field = firstDifferentField(stored.request, claim.request) ?? 'payload';
      throw new JifenError('IDEMPOTENCY_CONFLICT', { scope: claim.scope, key: claim.key, field }, field);
    }
    return stored.result;
  }
  const result = await work();
  await tx.db
    .updateTable('idempotency')
    .set({ response: canonicalJson({ request: claim.request, result }) })
    .where('merchant_id', '=', claim.merchantId)
    .where('scope', '=', claim.scope)
    .where('key', '=', claim.key)
    .execute();
  return result;
}
