import { type Kysely, sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { createDb, insertMany, prepareQuery } from '../src';
import { assertDeferrable, combine } from '../src/pg-deferred-writes';
import { statementName } from '../src/pg-statements';
import type { Database } from '../src/schema';
import { describePostgres, useTestDb } from '../src/testing';
import { aLot, aMerchant, aPoolState, renameMerchant, spendLot } from './builders';

const merchantName = prepareQuery((db, key: { id: string }) => db.selectFrom('merchants').select('name').where('id', '=', key.id));

describe('combining deferred writes', () => {
  test('moves each write’s placeholders past the values of the writes before it', () => {
    const combined = combine([
      { sql: 'insert into "a" ("x", "y") values ($1, $2)', values: [1, 2], table: 'a' },
      { sql: 'update "b" set "z" = $1 where "id" = $2', values: ['z', 'b1'], table: 'b' },
      { sql: 'delete from "c" where "id" = $1', values: ['c1'], table: 'c' },
    ]);
    expect(combined.sql).toBe('with w0 as (insert into "a" ("x", "y") values ($1, $2)), w1 as (update "b" set "z" = $3 where "id" = $4) delete from "c" where "id" = $5');
    expect(combined.values).toEqual([1, 2, 'z', 'b1', 'c1']);
  });

  test('only a write without returning or string literals may wait', () => {
    expect(() => assertDeferrable('select 1')).toThrow('only an insert, update or delete');
    expect(() => assertDeferrable('insert into "a" ("x") values ($1) returning "x"')).toThrow('returning');
    expect(() => assertDeferrable('update "a" set "x" = \'$1\' where "id" = $1')).toThrow('string literal');
    expect(() => assertDeferrable('update "a" set "x" = $1 where "id" = $2')).not.toThrow();
  });
});

describePostgres('deferred writes on Postgres', () => {
  const testDb = useTestDb('postgres');
  /** The statements of each round trip, and all of them in order. */
  let trips: string[][];
  let sent: string[];
  let db: Kysely<Database>;
  let close: () => Promise<void>;

  // The test's database opened again, recording each statement as it goes to the server.
  beforeEach(() => {
    trips = [];
    sent = [];
    const store = createDb({
      url: testDb().url,
      maxConnections: 2,
      onRoundTrip: (statements) => {
        trips.push([...statements]);
        sent.push(...statements);
      },
    });
    db = store.db;
    close = store.close;
  });
  afterEach(async () => {
    await close();
  });

  // The suite's tests share one database: each seeds rows of its own.
  let seeded = 0;
  const seed = async () => {
    seeded += 1;
    const ids = { m1: `dw${seeded}_m1`, m2: `dw${seeded}_m2`, lot: `dw${seeded}_lot`, newLot: `dw${seeded}_lot_new` };
    await testDb().db.insertInto('merchants').values([aMerchant({ id: ids.m1, name: 'one' }), aMerchant({ id: ids.m2, name: 'two' })]).execute();
    await testDb().db.insertInto('lots').values(aLot({ id: ids.lot, merchant_id: ids.m1 })).execute();
    return ids;
  };
  const nameOf = async (id: string) => (await merchantName.executeTakeFirst(testDb().db, { id }))?.name;
  const remaining = async (id: string) => (await testDb().db.selectFrom('lots').select('remaining').where('id', '=', id).executeTakeFirstOrThrow()).remaining;
  const statementsAfter = (marker: string) => sent.slice(sent.indexOf(marker) + 1);
  /** Two deferred writes: the first merchant renamed, a point of its lot spent. */
  const renameAndSpend = async (trx: Kysely<Database>, ids: { m1: string; lot: string }, name: string) => {
    await renameMerchant.executeDeferred(trx, { id: ids.m1, name });
    await spendLot.executeDeferred(trx, { id: ids.lot, points: 1 });
  };

  test('wait for the next statement, go to the server with it as one statement, and the read sees them', async () => {
    const ids = await seed();
    const read = await db.transaction().execute(async (trx) => {
      await renameMerchant.executeDeferred(trx, { id: ids.m1, name: 'renamed' });
      await spendLot.executeDeferred(trx, { id: ids.lot, points: 30 });
      await insertMany(trx, 'pool_state', [aPoolState({ merchant_id: ids.m2, amount: 7 })], { deferred: true });
      // Not even the `begin` has gone: it waits for the transaction's first statement.
      expect(sent).toEqual([]);
      // One statement reading all three rows.
      return (
        await sql<{ name: string; remaining: number; amount: number }>`select
          (select name from merchants where id = ${ids.m1}) as name,
          (select remaining from lots where id = ${ids.lot}) as remaining,
          (select amount from pool_state where merchant_id = ${ids.m2}) as amount`.execute(trx)
      ).rows;
    });
    expect(read).toEqual([{ name: 'renamed', remaining: 70, amount: 7 }]);
    expect(await remaining(ids.lot)).toBe(70);
    expect(sent).toHaveLength(4);
    expect(sent[1]).toMatch(/^with w0 as \(update "merchants" .*\), w1 as \(update "lots" .*\) insert into "pool_state"/);
    expect(sent[1]).not.toContain('jifen:deferred');
    expect(sent.slice(2)).toEqual([expect.stringContaining('from pool_state'), 'commit']);
    expect(await nameOf(ids.m1)).toBe('renamed');
  });

  test('go in one round trip with the held begin and the next statement, once the connection has parsed their named statement', async () => {
    const ids = await seed();
    const write = (name: string) =>
      db.transaction().execute(async (trx) => {
        await renameAndSpend(trx, ids, name);
        return merchantName.executeTakeFirst(trx, { id: ids.m1 });
      });
    // One connection, so the second transaction finds the statements the first one parsed.
    expect(await write('first')).toEqual({ name: 'first' });
    expect(trips.map((trip) => trip.length)).toEqual([1, 1, 1, 1]);
    trips.length = 0;
    expect(await write('second')).toEqual({ name: 'second' });
    expect(trips).toEqual([['begin', expect.stringMatching(/^with w0 as \(update "merchants"/), expect.stringMatching(/^select "name" from "merchants"/)], ['commit']]);
    expect(await remaining(ids.lot)).toBe(98);
  });

  test('a transaction that sends nothing never reaches the server', async () => {
    await db.transaction().execute(async () => undefined);
    await expect(
      db.transaction().execute(async () => {
        throw new Error('refused before a statement');
      }),
    ).rejects.toThrow('refused before a statement');
    expect(trips).toEqual([]);
  });

  test('the commit sends what waits first; the combined statement is named, so the next transaction only binds values', async () => {
    const ids = await seed();
    const write = (name: string) => db.transaction().execute((trx) => renameAndSpend(trx, ids, name));
    await write('first');
    expect(sent).toEqual(['begin', expect.stringMatching(/^with w0 as \(update "merchants"/), 'commit']);
    expect(statementName(sent[1]!)).toMatch(/^jifen_\d+$/);
    trips.length = 0;
    await write('second');
    // Parsed now: the begin, the writes and the commit in one round trip.
    expect(trips).toEqual([['begin', expect.stringMatching(/^with w0 as \(update "merchants"/), 'commit']]);
    expect(await nameOf(ids.m1)).toBe('second');
    expect(await remaining(ids.lot)).toBe(98);
  });

  test('a second write to a table with a write waiting goes as a statement after it, so both changes to one row apply', async () => {
    const ids = await seed();
    const spendTwice = () =>
      db.transaction().execute(async (trx) => {
        await spendLot.executeDeferred(trx, { id: ids.lot, points: 10 });
        await spendLot.executeDeferred(trx, { id: ids.lot, points: 5 });
      });
    await spendTwice();
    expect(sent).toEqual(['begin', expect.stringMatching(/^update "lots"/), expect.stringMatching(/^update "lots"/), 'commit']);
    trips.length = 0;
    await spendTwice();
    // The statement parsed, both writes go with the commit, in order.
    expect(trips).toEqual([['begin', expect.stringMatching(/^update "lots"/), expect.stringMatching(/^update "lots"/), 'commit']]);
    expect(await remaining(ids.lot)).toBe(70);
  });

  test('after a statement that failed, even one that never reached the server, nothing but a rollback runs', async () => {
    const ids = await seed();
    // A read whose value cannot be sent (a circular object fails before anything leaves the client).
    const tagged = prepareQuery((qb, key: { id: string; tag: unknown }) => qb.selectFrom('merchants').select('name').where('id', '=', key.id).where(sql<boolean>`${key.tag}::jsonb is not null`));
    for (const parsed of [false, true]) {
      // A connection of its own each time: the statements parsed on it or not, as the case asks.
      const store = createDb({ url: testDb().url, maxConnections: 1 });
      try {
        if (parsed) {
          // Parse both named statements on the connection first, so the failing read goes pipelined with the held writes.
          await store.db.transaction().execute(async (trx) => {
            await renameMerchant.executeWrite(trx, { id: ids.m1, name: 'one' });
            await tagged.execute(trx, { id: ids.m1, tag: { ok: 1 } });
          });
        }
        const circular: Record<string, unknown> = {};
        circular.self = circular;
        const attempt = store.db.transaction().execute(async (trx) => {
          await renameMerchant.executeDeferred(trx, { id: ids.m1, name: 'changed' });
          // The caller catches the read's error and would commit without the write that went with it.
          await tagged.execute(trx, { id: ids.m1, tag: circular }).catch(() => undefined);
          await renameMerchant.executeDeferred(trx, { id: ids.m2, name: 'changed' });
        });
        await expect(attempt).rejects.toThrow('only a rollback may follow');
        expect([await nameOf(ids.m1), await nameOf(ids.m2)]).toEqual(['one', 'two']);
      } finally {
        await store.close();
      }
    }
  });

  test('a rollback drops what waits, unsent', async () => {
    const ids = await seed();
    await expect(
      db.transaction().execute(async (trx) => {
        await renameMerchant.executeDeferred(trx, { id: ids.m1, name: 'never' });
        throw new Error('refused');
      }),
    ).rejects.toThrow('refused');
    // Nothing was sent, the begin included, so there is nothing to roll back.
    expect(sent).toEqual([]);
    expect(await nameOf(ids.m1)).toBe('one');
  });

  test('a rollback to a savepoint drops only the writes made after it', async () => {
    const ids = await seed();
    const trx = await db.startTransaction().execute();
    await renameMerchant.executeDeferred(trx, { id: ids.m1, name: 'kept' });
    const inner = await trx.savepoint('inner').execute();
    await renameMerchant.executeDeferred(inner, { id: ids.m2, name: 'undone' });
    await spendLot.executeDeferred(inner, { id: ids.lot, points: 50 });
    await inner.rollbackToSavepoint('inner').execute();
    await trx.commit().execute();
    expect(statementsAfter('begin')).toEqual([expect.stringMatching(/^update "merchants"/), 'savepoint "inner"', 'rollback to "inner"', 'commit']);
    expect(trips.slice(-3).map((trip) => trip.at(-1))).toEqual(['savepoint "inner"', 'rollback to "inner"', 'commit']);
    expect(await nameOf(ids.m1)).toBe('kept');
    expect(await nameOf(ids.m2)).toBe('two');
    expect(await remaining(ids.lot)).toBe(100);
  });

  test.each([
    ['sent one by one', false],
    ['pipelined with the begin and the commit', true],
  ])('a write that fails fails the commit, and nothing of the transaction is written (%s)', async (_case, parsedBefore) => {
    const ids = await seed();
    const write = (name: string, lotId: string) =>
      db.transaction().execute(async (trx) => {
        await renameMerchant.executeDeferred(trx, { id: ids.m1, name });
        await insertMany(trx, 'lots', [aLot({ id: lotId, merchant_id: ids.m1 })], { deferred: true });
      });
    if (parsedBefore) await write('parsed', ids.newLot);
    trips.length = 0;
    // The lot exists: its primary key refuses a second one.
    await expect(write('half', ids.lot)).rejects.toThrow(/duplicate key value violates unique constraint "lots_pkey"/);
    const writes = expect.stringMatching(/^with w0 as \(update "merchants"/);
    // Pipelined, the commit after the failing statement never runs; one by one, it is never sent.
    expect(trips).toEqual(parsedBefore ? [['begin', writes, 'commit'], ['rollback']] : [['begin'], [writes], ['rollback']]);
    expect(await nameOf(ids.m1)).toBe(parsedBefore ? 'parsed' : 'one');
  });

  test('outside a transaction nothing waits', async () => {
    const ids = await seed();
    await renameMerchant.executeDeferred(db, { id: ids.m1, name: 'at once' });
    expect(sent).toEqual([expect.stringMatching(/^update "merchants" set "name" = \$1 where "id" = \$2$/)]);
    expect(await nameOf(ids.m1)).toBe('at once');
  });

  test('a write that wants its count is sent in order, after the writes waiting before it', async () => {
    const ids = await seed();
    const count = await db.transaction().execute(async (trx) => {
      await spendLot.executeDeferred(trx, { id: ids.lot, points: 1 });
      return renameMerchant.executeWrite(trx, { id: ids.m2, name: 'counted' });
    });
    expect(count).toBe(1);
    expect(statementsAfter('begin')).toEqual([expect.stringMatching(/^update "lots"/), expect.stringMatching(/^update "merchants"/), 'commit']);
  });
});
