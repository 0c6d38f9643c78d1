import { describeEachDialect, useTestDb } from '@jifen/db/testing';
import { sql } from 'kysely';
import { beforeEach, expect, it } from 'vitest';
import { canonicalJson, sha256Hex } from '../src/canonical';
import { GENESIS_HASH, entryHash, verifyChain } from '../src/journal';
import { Ledger } from '../src/ledger';
import { createMerchant } from '../src/merchants';

describeEachDialect('the hash-chained journal', (dialect) => {
  const store = useTestDb(dialect);
  let ledger: Ledger;
  let merchantId: string;

  beforeEach(async () => {
    ledger = new Ledger(store(), { clock: () => new Date('2026-11-23T08:00:00Z') });
    ({ merchantId } = await createMerchant(ledger, { name: 'Tea House' }));
    await ledger.write(async (tx) => {
      for (let index = 1; index <= 5; index += 1) {
        await tx.journal.append(merchantId, { shopperId: 's1', kind: 'adjust', points: index * 10, ref: `a${index}`, programVersion: 1, detail: { reason: 'test' } });
      }
    });
  });

  it('numbers entries 1..n without gaps and links each to the hash of the one before', async () => {
    const rows = await store().db.selectFrom('journal').select(['seq', 'prev_hash', 'hash']).where('merchant_id', '=', merchantId).orderBy('seq').execute();
    expect(rows.map((row) => row.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(rows[0]!.prev_hash).toBe(GENESIS_HASH);
    rows.slice(1).forEach((row, index) => expect(row.prev_hash).toBe(rows[index]!.hash));
    expect(await verifyChain(store().db, merchantId)).toBeNull();
  });

  it("hashes each entry as SHA-256 of the previous hash and the canonical JSON of the entry's fields", async () => {
    await ledger.write((tx) =>
      tx.journal.append(merchantId, { shopperId: null, kind: 'pool.burn', points: 0, amount: -25, ref: 'é"\\ref', lotId: 'l_1', compensates: 3, programVersion: 2, detail: { b: [1, null], a: 'x' } }),
    );
    const row = await store().db.selectFrom('journal').selectAll().where('merchant_id', '=', merchantId).where('seq', '=', 6).executeTakeFirstOrThrow();
    const fields = {
      merchantId,
      seq: 6,
      shopperId: null,
      kind: 'pool.burn',
      points: 0,
      amount: -25,
      ref: 'é"\\ref',
      lotId: 'l_1',
      compensates: 3,
      programVersion: 2,
      detail: { a: 'x', b: [1, null] },
      createdAt: Date.parse('2026-11-23T08:00:00Z'),
    };
    expect(row.detail).toBe(canonicalJson(fields.detail));
    expect(row.hash).toBe(sha256Hex(`${row.prev_hash}\n${canonicalJson(fields)}`));
  });

  it('keeps numbering across transactions and leaves no gap when a write rolls back', async () => {
    await expect(
      ledger.write(async (tx) => {
        await tx.journal.append(merchantId, { shopperId: 's1', kind: 'adjust', points: 1, ref: 'doomed', programVersion: 1 });
        throw new Error('refused after journaling');
      }),
    ).rejects.toThrow('refused after journaling');
    await ledger.write((tx) => tx.journal.append(merchantId, { shopperId: 's1', kind: 'adjust', points: 2, ref: 'kept', programVersion: 1 }));
    const seqs = await store().db.selectFrom('journal').select('seq').where('merchant_id', '=', merchantId).orderBy('seq').execute();
    expect(seqs.map((row) => row.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(await verifyChain(store().db, merchantId)).toBeNull();
  });

  it('names an edited entry', async () => {
    await store().db.updateTable('journal').set({ points: 999 }).where('merchant_id', '=', merchantId).where('seq', '=', 3).execute();
    expect(await verifyChain(store().db, merchantId)).toMatchObject({ seq: 3, problem: 'hash' });
  });

  it('names an entry whose detail was edited into text that is not JSON, or not canonical', async () => {
    await store().db.updateTable('journal').set({ detail: '{"reason":1.5}' }).where('merchant_id', '=', merchantId).where('seq', '=', 4).execute();
    expect(await verifyChain(store().db, merchantId)).toMatchObject({ seq: 4, problem: 'hash', detail: 'entry 4 was altered' });
    await store().db.updateTable('journal').set({ detail: 'not json' }).where('merchant_id', '=', merchantId).where('seq', '=', 2).execute();
    expect(await verifyChain(store().db, merchantId)).toMatchObject({ seq: 2, problem: 'hash' });
  });

  it('names a deleted entry', async () => {
    await store().db.deleteFrom('journal').where('merchant_id', '=', merchantId).where('seq', '=', 2).execute();
    expect(await verifyChain(store().db, merchantId)).toMatchObject({ seq: 2, problem: 'gap' });
  });

  it('names the newest entry when it is deleted', async () => {
    await store().db.deleteFrom('journal').where('merchant_id', '=', merchantId).where('seq', '=', 5).execute();
    expect(await verifyChain(store().db, merchantId)).toMatchObject({ seq: 5, problem: 'gap' });
  });

  it('names an entry inserted into the middle of the chain, even with a recomputed hash', async () => {
    // Shift entries 3..5 up by one to make room, then forge a well-hashed entry 3 after entry 2.
    await sql`update journal set seq = seq + 100 where merchant_id = ${merchantId} and seq >= 3`.execute(store().db);
    await sql`update journal set seq = seq - 99 where merchant_id = ${merchantId} and seq >= 100`.execute(store().db);
    const second = await store().db.selectFrom('journal').select('hash').where('merchant_id', '=', merchantId).where('seq', '=', 2).executeTakeFirstOrThrow();
    const forged = { merchantId, seq: 3, shopperId: 's1', kind: 'adjust' as const, points: 5000, amount: 0, ref: 'forged', lotId: null, compensates: null, programVersion: 1, detail: {}, createdAt: 0 };
    await store()
      .db.insertInto('journal')
      .values({ merchant_id: merchantId, seq: 3, shopper_id: 's1', kind: 'adjust', points: 5000, amount: 0, ref: 'forged', lot_id: null, compensates: null, program_version: 1, detail: '{}', created_at: 0, prev_hash: second.hash, hash: entryHash(second.hash, forged) })
      .execute();
    expect(await verifyChain(store().db, merchantId)).toMatchObject({ seq: 4, problem: 'link' });
  });

  it('names an entry appended behind the head', async () => {
    const last = await store().db.selectFrom('journal').select('hash').where('merchant_id', '=', merchantId).where('seq', '=', 5).executeTakeFirstOrThrow();
    const appended = { merchantId, seq: 6, shopperId: 's1', kind: 'adjust' as const, points: 1, amount: 0, ref: 'x', lotId: null, compensates: null, programVersion: 1, detail: {}, createdAt: 0 };
    await store()
      .db.insertInto('journal')
      .values({ merchant_id: merchantId, seq: 6, shopper_id: 's1', kind: 'adjust', points: 1, amount: 0, ref: 'x', lot_id: null, compensates: null, program_version: 1, detail: '{}', created_at: 0, prev_hash: last.hash, hash: entryHash(last.hash, appended) })
      .execute();
    expect(await verifyChain(store().db, merchantId)).toMatchObject({ seq: 6, problem: 'head' });
  });

  it('names an entry inserted before the first, at seq 0 or below, where the walk from 1 would not look', async () => {
    for (const seq of [0, -7]) {
      const forged = { merchantId, seq, shopperId: 's1', kind: 'adjust' as const, points: 1_000_000, amount: 0, ref: `forged${seq}`, lotId: null, compensates: null, programVersion: 1, detail: {}, createdAt: 0 };
      await store()
        .db.insertInto('journal')
        .values({ merchant_id: merchantId, seq, shopper_id: 's1', kind: 'adjust', points: 1_000_000, amount: 0, ref: `forged${seq}`, lot_id: null, compensates: null, program_version: 1, detail: '{}', created_at: 0, prev_hash: GENESIS_HASH, hash: entryHash(GENESIS_HASH, forged) })
        .execute();
      expect(await verifyChain(store().db, merchantId)).toMatchObject({ seq, problem: 'link', detail: `entry ${seq} lies before the chain's first entry (1)` });
    }
  });

  it('keeps each merchant on a chain of its own', async () => {
    const other = await createMerchant(ledger, { name: 'Noodle Bar' });
    await ledger.write((tx) => tx.journal.append(other.merchantId, { shopperId: 's1', kind: 'adjust', points: 1, ref: 'first', programVersion: 1 }));
    const row = await store().db.selectFrom('journal').select(['seq', 'prev_hash']).where('merchant_id', '=', other.merchantId).executeTakeFirstOrThrow();
    expect(row).toEqual({ seq: 1, prev_hash: GENESIS_HASH });
    expect(await verifyChain(store().db, merchantId)).toBeNull();
    expect(await verifyChain(store().db, other.merchantId)).toBeNull();
  });
});
