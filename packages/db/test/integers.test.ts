import { sql } from 'kysely';
import { types } from 'pg';
import { expect, test } from 'vitest';
import { describeEachDialect, useTestDb } from '../src/testing';
import { aPoolState } from './builders';

const LARGEST = Number.MAX_SAFE_INTEGER;

describeEachDialect('64-bit integers', (dialect) => {
  const testDb = useTestDb(dialect);

  test('2^53 − 1 and negative amounts come back as the same JS numbers', async () => {
    const { db } = testDb();
    await db
      .insertInto('pool_state')
      .values(aPoolState({ merchant_id: 'm_round_trip', amount: LARGEST, supply: -LARGEST, contributions: -1, payouts: 0 }))
      .execute();
    const row = await db.selectFrom('pool_state').selectAll().where('merchant_id', '=', 'm_round_trip').executeTakeFirstOrThrow();
    expect(row).toMatchObject({ amount: LARGEST, supply: -LARGEST, contributions: -1, payouts: 0 });
    expect(typeof row.amount).toBe('number');
  });

  test('counts and whole sums are numbers', async () => {
    const { db } = testDb();
    await db
      .insertInto('pool_state')
      .values([aPoolState({ merchant_id: 'm_sum_a', minted: 2 ** 52 }), aPoolState({ merchant_id: 'm_sum_b', minted: 5 })])
      .execute();
    const totals = await db
      .selectFrom('pool_state')
      .select((eb) => [eb.fn.countAll<number>().as('count'), eb.fn.sum<number>('minted').as('minted')])
      .where('merchant_id', 'in', ['m_sum_a', 'm_sum_b'])
      .executeTakeFirstOrThrow();
    expect(totals).toEqual({ count: 2, minted: 2 ** 52 + 5 });
  });

  test('a sum beyond 2^53 − 1 throws instead of arriving rounded, and the connection stays usable', async () => {
    const { db } = testDb();
    await db
      .insertInto('pool_state')
      .values([aPoolState({ merchant_id: 'm_big_a', burned: LARGEST }), aPoolState({ merchant_id: 'm_big_b', burned: 2 })])
      .execute();
    const total = db
      .selectFrom('pool_state')
      .select((eb) => eb.fn.sum<number>('burned').as('burned'))
      .where('merchant_id', 'in', ['m_big_a', 'm_big_b'])
      .executeTakeFirstOrThrow();
    await expect(total).rejects.toThrow(/beyond ±\(2\^53 − 1\)/);
    const { rows } = await sql<{ one: number }>`select 1 as one`.execute(db);
    expect(rows).toEqual([{ one: 1 }]);
  });

  if (dialect === 'postgres') {
    test("pg's global int8 parser is left as pg ships it (strings), so other pools are unaffected", () => {
      expect(types.getTypeParser(20)('9007199254740993')).toBe('9007199254740993');
    });
  }
});
