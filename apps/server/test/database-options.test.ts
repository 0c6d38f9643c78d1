import { prepareQuery } from '@jifen/db';
import { describePostgres, useTestDb } from '@jifen/db/testing';
import { sql } from 'kysely';
import { expect, it } from 'vitest';
import { createLogger } from '../src/logger';
import { serve } from '../src/serve';

const merchantName = prepareQuery((db, key: { id: string }) => db.selectFrom('merchants').select('name').where('id', '=', key.id));

describePostgres('PG_PREPARED_STATEMENTS, as jifen serve opens the database', () => {
  const testDb = useTestDb('postgres');

  /** How many statements the connection that ran a prepared query holds on the server. */
  async function preparedAfterOneQuery(preparedStatements: boolean | undefined): Promise<number> {
    const serving = await serve({
      database: { url: testDb().url, ...(preparedStatements === undefined ? {} : { preparedStatements }) },
      port: 0,
      host: '127.0.0.1',
      logger: createLogger('silent'),
      jobIntervalMs: 0,
    });
    try {
      return await serving.ledger.db.connection().execute(async (connection) => {
        await merchantName.execute(connection, { id: 'nobody' });
        const { rows } = await sql<{ count: string }>`select count(*)::text as count from pg_prepared_statements`.execute(connection);
        return Number(rows[0]!.count);
      });
    } finally {
      await serving.stop();
    }
  }

  it('prepares named statements by default', async () => {
    expect(await preparedAfterOneQuery(undefined)).toBeGreaterThan(0);
  });

  it('prepares none when turned off', async () => {
    expect(await preparedAfterOneQuery(false)).toBe(0);
  });
});
