import { Client } from 'pg';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { sendPipelined } from '../src/pg-pipeline';
import { describePostgres, useTestDb } from '../src/testing';

describePostgres('statements pipelined in one round trip', () => {
  const testDb = useTestDb('postgres', { migrate: false });
  let client: Client;
  let table: string;
  let tables = 0;

  beforeEach(async () => {
    client = new Client({ connectionString: testDb().url });
    await client.connect();
    tables += 1;
    table = `pipeline_${tables}`;
    await client.query(`create table ${table} (id int primary key, note text)`);
  });
  afterEach(async () => {
    await client.end();
  });

  const ids = async () => (await client.query<{ id: number }>(`select id from ${table} order by id`)).rows.map((row) => row.id);

  test('run in order and answer the last statement’s result', async () => {
    const result = (await sendPipelined(client, [
      { sql: 'begin', values: [] },
      { sql: `insert into ${table} (id, note) values ($1, $2)`, values: [1, 'one'] },
      { sql: `insert into ${table} (id, note) values ($1, $2)`, values: [2, null] },
      { sql: `select id, note from ${table} order by id`, values: [] },
    ])) as { rows: unknown[]; command: string };
    expect(result.command).toBe('SELECT');
    expect(result.rows).toEqual([
      { id: 1, note: 'one' },
      { id: 2, note: null },
    ]);
    await client.query('commit');
    expect(await ids()).toEqual([1, 2]);
  });

  test('send each value as the same statement sent alone would', async () => {
    const values = [new Date(Date.UTC(2026, 11, 6, 8, 30)), { tier: 'gold', points: [1, 2] }, 12_345_678_901n, true, null, 'text with \'quotes\''];
    const text = 'select $1::timestamptz as at, $2::jsonb as detail, $3::bigint::text as amount, $4::boolean as flag, $5::text as missing, $6::text as note';
    const alone = await client.query(text, values);
    const pipelined = (await sendPipelined(client, [
      { sql: 'begin', values: [] },
      { sql: text, values },
    ])) as { rows: unknown[] };
    await client.query('rollback');
    expect(pipelined.rows).toEqual(alone.rows);
    expect(alone.rows[0]).toMatchObject({ amount: '12345678901', flag: true, missing: null, note: "text with 'quotes'" });
  });

  test('stop at the first error: the statements after it never run, and the transaction is aborted', async () => {
    await expect(
      sendPipelined(client, [
        { sql: 'begin', values: [] },
        { sql: `insert into ${table} (id) values ($1)`, values: [1] },
        { sql: 'select 1 / $1::int', values: [0] },
        { sql: `insert into ${table} (id) values ($1)`, values: [2] },
      ]),
    ).rejects.toThrow('division by zero');
    await expect(client.query(`select count(*) from ${table}`)).rejects.toThrow('current transaction is aborted');
    await client.query('rollback');
    expect(await ids()).toEqual([]);
    // The connection goes on as before.
    expect((await client.query('select 1 as one')).rows).toEqual([{ one: 1 }]);
  });

  test('a commit after a failing write never runs', async () => {
    await client.query('begin');
    await client.query(`insert into ${table} (id) values (1)`);
    await expect(
      sendPipelined(client, [
        { sql: `insert into ${table} (id) values ($1)`, values: [1] },
        { sql: 'commit', values: [] },
      ]),
    ).rejects.toThrow(/duplicate key value violates unique constraint/);
    await client.query('rollback');
    expect(await ids()).toEqual([]);
  });

  test('run a statement the connection has parsed by its name', async () => {
    const text = `insert into ${table} (id, note) values ($1, $2)`;
    await client.query({ name: `${table}_insert`, text, values: [1, 'parsed'] });
    await sendPipelined(client, [
      { sql: 'begin', values: [] },
      { sql: text, values: [2, 'by name'], name: `${table}_insert` },
      { sql: 'commit', values: [] },
    ]);
    expect(await ids()).toEqual([1, 2]);
  });

  test('a value that cannot be sent fails the call before anything is sent', async () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    await expect(
      sendPipelined(client, [
        { sql: 'begin', values: [] },
        { sql: `insert into ${table} (id, note) values ($1, $2)`, values: [1, circular] },
      ]),
    ).rejects.toThrow(/circular/i);
    // Not even the `begin` went: the connection is outside any transaction.
    expect((await client.query('select now() = statement_timestamp() as outside')).rows).toEqual([{ outside: true }]);
    expect(await ids()).toEqual([]);
    expect((await client.query('select 1 as one')).rows).toEqual([{ one: 1 }]);
  });
});
