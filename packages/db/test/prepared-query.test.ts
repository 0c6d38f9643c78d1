import { type Kysely, sql } from 'kysely';
import { expect, test } from 'vitest';
import { createDb, insertMany, prepareLockingRead, prepareQuery } from '../src';
import { statementName } from '../src/pg-statements';
import type { Database } from '../src/schema';
import { describeEachDialect, describePostgres, useTestDb } from '../src/testing';
import { aLot, aMerchant, renameMerchant } from './builders';

const merchantsNamed = prepareQuery((db, key: { prefix: string; limit: number }) =>
  db.selectFrom('merchants').select(['id', 'name']).where('id', 'like', key.prefix).orderBy('id').limit(key.limit),
);


const lotsOf = prepareLockingRead((db, key: { merchantId: string; shopperId: string }) =>
  db.selectFrom('lots').select(['id', 'remaining']).where('merchant_id', '=', key.merchantId).where('shopper_id', '=', key.shopperId).where('status', '=', 'available'),
);

describeEachDialect('prepared queries', (dialect) => {
  const testDb = useTestDb(dialect);

  test('a prepared select answers for the values of each call, not those it was compiled with', async () => {
    const { db } = testDb();
    await db.insertInto('merchants').values([aMerchant({ id: 'pq_a1', name: 'A1' }), aMerchant({ id: 'pq_a2', name: 'A2' }), aMerchant({ id: 'pq_b1', name: 'B1' })]).execute();
    expect(await merchantsNamed.execute(db, { prefix: 'pq_a%', limit: 10 })).toEqual([
      { id: 'pq_a1', name: 'A1' },
      { id: 'pq_a2', name: 'A2' },
    ]);
    expect(await merchantsNamed.execute(db, { prefix: 'pq_b%', limit: 10 })).toEqual([{ id: 'pq_b1', name: 'B1' }]);
    expect(await merchantsNamed.executeTakeFirst(db, { prefix: 'pq_a%', limit: 1 })).toEqual({ id: 'pq_a1', name: 'A1' });
    expect(await merchantsNamed.executeTakeFirst(db, { prefix: 'pq_none%', limit: 1 })).toBeUndefined();
  });

  test('a prepared write reports the rows it changed and runs inside the transaction it is given', async () => {
    const { db } = testDb();
    await db.insertInto('merchants').values(aMerchant({ id: 'pq_w1', name: 'before' })).execute();
    await expect(
      db.transaction().execute(async (trx) => {
        expect(await renameMerchant.executeWrite(trx, { id: 'pq_w1', name: 'inside' })).toBe(1);
        expect(await renameMerchant.executeWrite(trx, { id: 'pq_missing', name: 'x' })).toBe(0);
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect(await merchantsNamed.executeTakeFirst(db, { prefix: 'pq_w1', limit: 1 })).toEqual({ id: 'pq_w1', name: 'before' });
  });

  test('a locking read returns the rows as a plain read does', async () => {
    const { db } = testDb();
    await db.insertInto('lots').values([aLot({ id: 'pq_lot_1', merchant_id: 'pq_m', shopper_id: 'pq_s' }), aLot({ id: 'pq_lot_2', merchant_id: 'pq_m', shopper_id: 'pq_other' })]).execute();
    const rows = await db.transaction().execute((trx) => lotsOf.execute(trx, { merchantId: 'pq_m', shopperId: 'pq_s' }));
    expect(rows).toEqual([{ id: 'pq_lot_1', remaining: 100 }]);
  });

  test('a builder that writes a parameter into the SQL text instead of binding it is refused', async () => {
    const unbound = prepareQuery((db, key: { column: string }) => db.selectFrom('merchants').select(sql.ref(key.column).as('value')));
    await expect(unbound.execute(testDb().db, { column: 'name' })).rejects.toThrow('instead of binding it');
  });

  test('insertMany stores every row, in pieces of at most a hundred, with nulls and constants intact', async () => {
    const { db } = testDb();
    const lots = Array.from({ length: 237 }, (_, index) =>
      aLot({ id: `pq_many_${String(index).padStart(3, '0')}`, merchant_id: 'pq_many', remaining: index, expires_at: index % 2 === 0 ? null : index }),
    );
    await insertMany(db, 'lots', lots);
    const stored = await db.selectFrom('lots').select(['id', 'remaining', 'expires_at']).where('merchant_id', '=', 'pq_many').orderBy('id').execute();
    expect(stored).toEqual(lots.map((lot) => ({ id: lot.id, remaining: lot.remaining, expires_at: lot.expires_at })));
  });

  test('insertMany refuses rows whose columns differ', async () => {
    const rows = [aMerchant({ id: 'pq_mixed_1' }), { ...aMerchant({ id: 'pq_mixed_2' }), webhook_url: 'https://shop.example/hook' }];
    await expect(insertMany(testDb().db, 'merchants', rows)).rejects.toThrow('same columns');
  });
});

describeEachDialect('prepared reads on the root instance, while a transaction is open', (dialect) => {
  const testDb = useTestDb(dialect);

  // On SQLite a prepared read outside any transaction skips Kysely's queue (sqlite-dialect.ts
  // `readDirectly`). The one connection may meanwhile hold another caller's open transaction: the read
  // must then wait its turn, never read that transaction's rows, committed or not.
  test('sees neither the rows of a transaction that rolls back nor those of one still open', async () => {
    const { db } = testDb();
    await db.insertInto('merchants').values(aMerchant({ id: 'pq_open_1', name: 'committed' })).execute();
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let inserted!: () => void;
    const didInsert = new Promise<void>((resolve) => (inserted = resolve));
    const rolledBack = db
      .transaction()
      .execute(async (trx) => {
        await trx.insertInto('merchants').values(aMerchant({ id: 'pq_open_2', name: 'uncommitted' })).execute();
        await renameMerchant.executeWrite(trx, { id: 'pq_open_1', name: 'renamed inside' });
        inserted();
        await held;
        throw new Error('roll back');
      })
      .catch((error: unknown) => error);
    await didInsert;
    const read = merchantsNamed.execute(db, { prefix: 'pq_open_%', limit: 10 });
    release();
    expect(await read).toEqual([{ id: 'pq_open_1', name: 'committed' }]);
    expect(await rolledBack).toEqual(new Error('roll back'));
  });

  test('a prepared write with returning answers its rows and writes them, outside a transaction too', async () => {
    const { db } = testDb();
    await db.insertInto('merchants').values(aMerchant({ id: 'pq_ret_1', name: 'before' })).execute();
    const renameReturning = prepareQuery((kdb, change: { id: string; name: string }) =>
      kdb.updateTable('merchants').set({ name: change.name }).where('id', '=', change.id).returning(['id', 'name']),
    );
    expect(await renameReturning.execute(db, { id: 'pq_ret_1', name: 'after' })).toEqual([{ id: 'pq_ret_1', name: 'after' }]);
    expect(await merchantsNamed.executeTakeFirst(db, { prefix: 'pq_ret_1', limit: 1 })).toEqual({ id: 'pq_ret_1', name: 'after' });
  });
});

describePostgres('prepared queries as named statements', () => {
  const testDb = useTestDb('postgres');

  const merchantById = prepareQuery((db, key: { id: string }) => db.selectFrom('merchants').select(['id', 'name']).where('id', '=', key.id));
  const wholeMerchant = prepareQuery((db, key: { id: string }) => db.selectFrom('merchants').selectAll().where('id', '=', key.id));

  /** The statements this connection has prepared, by name. */
  const preparedOn = async (db: Kysely<Database>) =>
    new Map((await sql<{ name: string; statement: string }>`select name, statement from pg_prepared_statements`.execute(db)).rows.map((row) => [row.name, row.statement]));

  test('runs as one named statement per connection, parsed once and run with each call’s values', async () => {
    const { db } = testDb();
    await db.insertInto('merchants').values([aMerchant({ id: 'pn_1', name: 'One' }), aMerchant({ id: 'pn_2', name: 'Two' })]).execute();
    const [statements, answers] = await db.connection().execute(async (connection) => {
      const found = [await merchantById.executeTakeFirst(connection, { id: 'pn_1' }), await merchantById.executeTakeFirst(connection, { id: 'pn_2' })];
      return [await preparedOn(connection), found] as const;
    });
    expect(answers).toEqual([
      { id: 'pn_1', name: 'One' },
      { id: 'pn_2', name: 'Two' },
    ]);
    const named = [...statements].filter(([, text]) => text.includes('from "merchants"') && text.includes('"id" = $1'));
    expect(named).toHaveLength(1);
    const [name, text] = named[0]!;
    expect(name).toMatch(/^jifen_\d+$/);
    expect(statementName(text)).toBe(name);
  });

  test('with preparedStatements: false nothing is prepared on the server, and the answers are the same', async () => {
    const store = createDb({ url: testDb().url, preparedStatements: false, maxConnections: 1 });
    try {
      await store.db.insertInto('merchants').values(aMerchant({ id: 'pn_off', name: 'Off' })).execute();
      const [statements, answer] = await store.db.connection().execute(async (connection) => {
        const found = await merchantById.executeTakeFirst(connection, { id: 'pn_off' });
        return [await preparedOn(connection), found] as const;
      });
      expect(answer).toEqual({ id: 'pn_off', name: 'Off' });
      expect(statements.size).toBe(0);
    } finally {
      await store.close();
    }
  });

  test('a select of * is not named, so a column a migration adds does not break a running server', async () => {
    const { db } = testDb();
    await db.insertInto('merchants').values(aMerchant({ id: 'pn_star', name: 'Star' })).execute();
    await db.connection().execute(async (connection) => {
      expect(await wholeMerchant.executeTakeFirst(connection, { id: 'pn_star' })).toMatchObject({ id: 'pn_star', name: 'Star' });
      expect([...(await preparedOn(connection)).values()].filter((text) => text.includes('select *'))).toEqual([]);
      // The same text named, as a control: Postgres refuses it once the table has a new column.
      await sql`prepare pn_control as select * from merchants where id = $1`.execute(connection);
      try {
        await sql`alter table merchants add column pn_added integer`.execute(connection);
        expect(await wholeMerchant.executeTakeFirst(connection, { id: 'pn_star' })).toMatchObject({ id: 'pn_star', pn_added: null });
        await expect(sql`execute pn_control('pn_star')`.execute(connection)).rejects.toThrow('cached plan must not change result type');
      } finally {
        await sql`deallocate pn_control`.execute(connection);
      }
    });
  });
});
