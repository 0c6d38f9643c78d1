import { existsSync } from 'node:fs';
import { Client } from 'pg';
import { expect, test } from 'vitest';
import { createDb } from '../src';
import { TEST_PG_URL, createTestDb, describeEachDialect } from '../src/testing';
import { aMerchant } from './builders';

async function databaseExists(name: string): Promise<boolean> {
  const client = new Client({ connectionString: TEST_PG_URL });
  await client.connect();
  try {
    const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [name]);
    return rowCount === 1;
  } finally {
    await client.end();
  }
}

describeEachDialect('test databases', (dialect) => {
  test('another connection opened from the url sees what the first committed', async () => {
    const testDb = await createTestDb(dialect);
    try {
      await testDb.db.insertInto('merchants').values(aMerchant({ id: 'm_shared' })).execute();
      const second = createDb({ url: testDb.url });
      try {
        expect(await second.db.selectFrom('merchants').select('name').where('id', '=', 'm_shared').execute()).toEqual([
          { name: 'Demo shop' },
        ]);
      } finally {
        await second.close();
      }
    } finally {
      await testDb.close();
    }
  });

  test('each test database is its own, and close() deletes it', async () => {
    const [first, second] = [await createTestDb(dialect), await createTestDb(dialect)];
    expect(first.url).not.toBe(second.url);
    await first.db.insertInto('merchants').values(aMerchant()).execute();
    expect(await second.db.selectFrom('merchants').selectAll().execute()).toEqual([]);
    await Promise.all([first.close(), second.close()]);
    for (const closed of [first, second]) {
      if (dialect === 'sqlite') {
        expect(closed.sqlitePath).toMatch(/jifen\.db$/);
        expect(existsSync(closed.sqlitePath ?? '')).toBe(false);
      } else {
        expect(closed.sqlitePath).toBeNull();
        const name = new URL(closed.url).pathname.slice(1);
        expect(name).toMatch(/^jifen_test_\d+_[0-9a-f]+$/);
        expect(await databaseExists(name)).toBe(false);
      }
    }
  });
});
