import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type JifenDb, createDb } from '../src';

/**
 * The SQLite dialect builds row objects itself from raw rows (sqlite-dialect.ts `ExactStatement`):
 * they must be what better-sqlite3 would have built — own properties in column order, the later of
 * two same-named columns winning, values untouched — with every integer still checked, and a column
 * named `__proto__` kept as a property rather than made the row's prototype.
 */
describe('rows read through the SQLite dialect', () => {
  const folder = mkdtempSync(join(tmpdir(), 'jifen-rows-'));
  let store: JifenDb;
  beforeAll(() => {
    store = createDb({ url: join(folder, 'rows.db') });
  });
  afterAll(async () => {
    await store.close();
    rmSync(folder, { recursive: true, force: true });
  });

  test('have their columns as own properties, in order, with their values as stored', async () => {
    const { rows } = await sql<Record<string, unknown>>`select 1 as one, 'two' as two, null as three, 4.5 as four, x'ff' as five`.execute(store.db);
    expect(rows).toHaveLength(1);
    expect(Object.keys(rows[0]!)).toEqual(['one', 'two', 'three', 'four', 'five']);
    expect(rows[0]).toEqual({ one: 1, two: 'two', three: null, four: 4.5, five: Buffer.from([0xff]) });
    expect(Object.getPrototypeOf(rows[0])).toBe(Object.prototype);
  });

  test('take the later of two columns with one name, and never let a column set the prototype', async () => {
    const { rows: twice } = await sql<Record<string, unknown>>`select 1 as a, 2 as a`.execute(store.db);
    expect(twice).toEqual([{ a: 2 }]);
    const { rows: proto } = await sql<Record<string, unknown>>`select x'ff' as "__proto__", 3 as b`.execute(store.db);
    expect(Object.getPrototypeOf(proto[0])).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(proto[0], '__proto__')?.value).toEqual(Buffer.from([0xff]));
    expect(proto[0]!.b).toBe(3);
  });

  test('refuse an integer beyond 2^53 − 1 in any column, naming it', async () => {
    await expect(sql`select 1 as fine, 9007199254740993 as big`.execute(store.db)).rejects.toThrow('SQLite returned big = 9007199254740992, beyond ±(2^53 − 1)');
    await expect(sql`select -9007199254740993 as low`.execute(store.db)).rejects.toThrow(/low = -9007199254740992/);
    const { rows } = await sql<{ edge: number }>`select 9007199254740991 as edge`.execute(store.db);
    expect(rows[0]!.edge).toBe(Number.MAX_SAFE_INTEGER);
  });

  test('round-trip any row of safe integers, text and nulls as written', async () => {
    await sql`create table if not exists samples (id integer primary key, amount integer, label text, note text)`.execute(store.db);
    const sample = fc.record({
      amount: fc.maxSafeInteger(),
      label: fc.string(),
      note: fc.option(fc.string(), { nil: null }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(sample, { maxLength: 8 }), async (samples) => {
        await sql`delete from samples`.execute(store.db);
        for (const [id, row] of samples.entries()) {
          await sql`insert into samples (id, amount, label, note) values (${id}, ${row.amount}, ${row.label}, ${row.note})`.execute(store.db);
        }
        const { rows } = await sql<{ amount: number; label: string; note: string | null }>`select amount, label, note from samples order by id`.execute(store.db);
        expect(rows).toEqual(samples);
      }),
      { numRuns: 50 },
    );
  });
});
