import { sql } from 'kysely';
import { Client } from 'pg';
import { expect, test } from 'vitest';
import { createDb } from '../src';
import { TEST_PG_URL, createTestDb, describePostgres } from '../src/testing';

// Postgres's pool only: SQLite keeps one connection, opened in-process, that no server can end.
describePostgres('an idle pooled connection that fails', () => {
  test('is reported to onIdleConnectionError, not thrown, and the pool carries on with a new one', async () => {
    const testDb = await createTestDb('postgres', { migrate: false });
    const failures: Error[] = [];
    const store = createDb({ url: testDb.url, onIdleConnectionError: (error) => failures.push(error) });
    try {
      const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(store.db);
      const pid = rows[0]!.pid;
      const admin = new Client({ connectionString: TEST_PG_URL });
      await admin.connect();
      try {
        await admin.query('select pg_terminate_backend($1)', [pid]);
      } finally {
        await admin.end();
      }
      await expect.poll(() => failures.length, { timeout: 5_000 }).toBe(1);
      expect(failures[0]!.message).toMatch(/terminat/i);
      const after = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(store.db);
      expect(after.rows[0]!.pid).not.toBe(pid);
    } finally {
      await store.close();
      await testDb.close();
    }
  });
});
