import { type Kysely, sql } from 'kysely';
import { expect, test } from 'vitest';
import { createDb, readSnapshot } from '../src';
import { describeEachDialect, useTestDb } from '../src/testing';
import type { Database } from '../src/schema';
import { aMerchant } from './builders';

describeEachDialect('readSnapshot', (dialect) => {
  const testDb = useTestDb(dialect);

  const merchantCount = async (db: Kysely<Database>) =>
    Number((await sql<{ count: number }>`select count(*) as count from merchants`.execute(db)).rows[0]!.count);

  test('reads one moment while another connection commits, and takes no lock that writer waits for', async () => {
    const { db } = testDb();
    // Another process's connection: on SQLite its insert would wait out the busy timeout if the snapshot held the write lock.
    const writer = createDb({ url: testDb().url, busyTimeoutMs: 5_000 });
    try {
      const before = await merchantCount(db);
      const seen = await readSnapshot(db, async (snapshot) => {
        const first = await merchantCount(snapshot);
        const startedAt = Date.now();
        await writer.db.insertInto('merchants').values(aMerchant({ id: 'rs_during' })).execute();
        const writeMs = Date.now() - startedAt;
        return { first, second: await merchantCount(snapshot), writeMs };
      });
      expect(seen.first).toBe(before);
      expect(seen.second, 'the snapshot does not see a commit made after its first read').toBe(before);
      expect(seen.writeMs, 'the writer did not wait for the reader').toBeLessThan(1_000);
      expect(await merchantCount(db)).toBe(before + 1);
    } finally {
      await writer.close();
    }
  });

  test('keeps nothing written inside it, and leaves nothing open after an error', async () => {
    const { db } = testDb();
    await expect(readSnapshot(db, async (snapshot) => {
      await merchantCount(snapshot);
      throw new Error('the reader failed');
    })).rejects.toThrow('the reader failed');
    // The connection is usable and outside any transaction: a write commits and is seen.
    await db.insertInto('merchants').values(aMerchant({ id: 'rs_after' })).execute();
    expect(await db.selectFrom('merchants').select('id').where('id', '=', 'rs_after').execute()).toEqual([{ id: 'rs_after' }]);
    const write = readSnapshot(db, (snapshot) => snapshot.insertInto('merchants').values(aMerchant({ id: 'rs_refused' })).execute());
    // Postgres refuses the write; SQLite lets it run and rolls it back with the snapshot.
    if (dialect === 'postgres') await expect(write).rejects.toThrow(/read-only/);
    else await write;
    expect(await db.selectFrom('merchants').select('id').where('id', '=', 'rs_refused').execute()).toEqual([]);
  });

  test('inside a transaction runs in it', async () => {
    const { db } = testDb();
    const count = await db.transaction().execute(async (trx) => {
      await trx.insertInto('merchants').values(aMerchant({ id: 'rs_in_trx' })).execute();
      return readSnapshot<Database, Array<{ id: string }>>(trx, (snapshot) => snapshot.selectFrom('merchants').select('id').where('id', '=', 'rs_in_trx').execute());
    });
    expect(count).toEqual([{ id: 'rs_in_trx' }]);
  });
});
