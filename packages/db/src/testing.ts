import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Kysely, sql } from 'kysely';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, vi } from 'vitest';
import { type CreateDbOptions, type JifenDialect, type JifenDb, createDb } from './create-db';
import { migrateToLatest } from './migrate';

/**
 * Real engines for tests (STYLE.md "Tests beside what they test"): every database suite runs once
 * per dialect with the dialect in its name, as Kysely's own test setup loops over `DIALECTS`.
 * Test code reads the environment here, and only here: `JIFEN_TEST_PG_URL` names the Postgres
 * server, `CI=true` makes the Postgres suites mandatory.
 */
export const DIALECTS = ['sqlite', 'postgres'] as const satisfies readonly JifenDialect[];

export const TEST_PG_URL = process.env.JIFEN_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const isCi = process.env.CI === 'true' || process.env.CI === '1';

/** A migrated database of its own; `close()` also deletes it (the temp file, or the Postgres database). */
export interface TestDb extends JifenDb {
  /** Opens this same database from another connection or process: `createDb({ url })`. */
  readonly url: string;
  /** The SQLite file, for tests that open it from other processes; null on Postgres. */
  readonly sqlitePath: string | null;
}

export interface TestDbOptions {
  /** Default true; false leaves the database empty, for migration tests. */
  migrate?: boolean;
  synchronous?: CreateDbOptions['synchronous'];
}

export async function createTestDb(dialect: JifenDialect, options: TestDbOptions = {}): Promise<TestDb> {
  const testDb = dialect === 'sqlite' ? createSqliteTestDb(options) : await createPostgresTestDb(options);
  if (options.migrate ?? true) {
    try {
      await migrateToLatest(testDb.db);
    } catch (error) {
      await testDb.close();
      throw error;
    }
  }
  return testDb;
}

function createSqliteTestDb(options: TestDbOptions): TestDb {
  const folder = mkdtempSync(join(tmpdir(), 'jifen-test-'));
  const sqlitePath = join(folder, 'jifen.db');
  const url = `sqlite:${sqlitePath}`;
  const opened = createDb({ url, ...pick(options) });
  return {
    ...opened,
    url,
    sqlitePath,
    close: async () => {
      await opened.close();
      rmSync(folder, { recursive: true, force: true });
    },
  };
}

async function createPostgresTestDb(options: TestDbOptions): Promise<TestDb> {
  const name = `jifen_test_${process.pid}_${randomBytes(6).toString('hex')}`;
  await onServer(`create database "${name}"`);
  const server = new URL(TEST_PG_URL);
  server.pathname = `/${name}`;
  const url = server.toString();
  const opened = createDb({ url, ...pick(options) });
  let closing: Promise<void> | undefined;
  return {
    ...opened,
    url,
    sqlitePath: null,
    close: () =>
      (closing ??= (async () => {
        await opened.close();
        // FORCE ends connections a test left open (a child process killed mid-transaction).
        await onServer(`drop database if exists "${name}" with (force)`);
      })()),
  };
}

function pick({ synchronous }: TestDbOptions): Pick<CreateDbOptions, 'synchronous'> {
  return synchronous === undefined ? {} : { synchronous };
}

/** Runs one statement on the test server's maintenance database. */
async function onServer(statement: string): Promise<void> {
  const client = new Client({ connectionString: TEST_PG_URL, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
  } catch (error) {
    throw new Error(`${postgresUnreachableMessage(error)}; start it or point JIFEN_TEST_PG_URL at one`, { cause: error });
  }
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

/** Names the server without its password. */
function serverLabel(): string {
  const server = new URL(TEST_PG_URL);
  server.password = '';
  return server.toString();
}

function postgresUnreachableMessage(error: unknown): string {
  const reason = error instanceof Error ? error.message || error.name : String(error);
  return `the Postgres test server ${serverLabel()} is unreachable (${reason})`;
}

/**
 * Why the Postgres suites are skipped in this run, or null when they run. Probed once per test
 * file. Unreachable under CI: they run and fail, naming the server. Unreachable elsewhere: they are
 * skipped, and the skip is announced, never silent.
 */
const postgresSkipReason: string | null = await (async () => {
  const client = new Client({ connectionString: TEST_PG_URL, connectionTimeoutMillis: 3_000 });
  try {
    await client.connect();
    await client.end();
    return null;
  } catch (error) {
    await client.end().catch(() => undefined);
    const message = postgresUnreachableMessage(error);
    if (isCi) return null;
    console.warn(`[@jifen/db/testing] skipping the Postgres suites: ${message}. Set CI=true to make them fail instead.`);
    return message;
  }
})();

/** Declares `suite` once per dialect, named `${name} (${dialect})`. */
export function describeEachDialect(name: string, suite: (dialect: JifenDialect) => void): void {
  for (const dialect of DIALECTS) describeDialect(dialect, name, () => suite(dialect));
}

/** Declares a suite about Postgres alone (its pool, its server), skipped and announced as the Postgres half of `describeEachDialect` is. */
export function describePostgres(name: string, suite: () => void): void {
  describeDialect('postgres', name, suite);
}

/** `${name} (${dialect})`, skipped when it is Postgres's and the server cannot be reached. */
function describeDialect(dialect: JifenDialect, name: string, suite: () => void): void {
  describe.skipIf(dialect === 'postgres' && postgresSkipReason !== null)(`${name} (${dialect})`, suite);
}

/**
 * A migrated test database for the enclosing suite: created before its first test, deleted after
 * its last. Call inside `describeEachDialect`; read the database inside tests.
 */
export function useTestDb(dialect: JifenDialect, options: TestDbOptions = {}): () => TestDb {
  let testDb: TestDb | undefined;
  beforeAll(async () => {
    testDb = await createTestDb(dialect, options);
  });
  afterAll(async () => {
    await testDb?.close();
  });
  return () => {
    if (testDb === undefined) throw new Error('useTestDb: the database exists only inside tests');
    return testDb;
  };
}

/**
 * Postgres: waits until at least `count` sessions on this database wait for a lock (a row another
 * transaction holds, a locked table), so a race test knows its contenders have reached the point
 * it is holding them at. Throws after `timeoutMs`.
 */
export async function waitForLockWaiters<DB>(db: Kysely<DB>, count: number, timeoutMs = 10_000): Promise<void> {
  await vi.waitUntil(
    async () => {
      const { rows } = await sql<{ waiting: number }>`select count(*)::int as waiting from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`.execute(db);
      return rows[0]!.waiting >= count;
    },
    { timeout: timeoutMs, interval: 10 },
  );
}
