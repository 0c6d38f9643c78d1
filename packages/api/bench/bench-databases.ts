import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUSY_TIMEOUT_MS_MIN, type JifenDb, type SqliteSynchronous, createDb, migrateToLatest, openSqlite } from '@jifen/db';
import type Database from 'better-sqlite3';
import pg from 'pg';

/**
 * Fresh, migrated databases for the benchmark, deleted afterwards: a SQLite file in a temp folder,
 * or a uniquely named Postgres database on the test server (`JIFEN_TEST_PG_URL`, as the suites
 * use). The raw baselines write into the same migrated schema, indexes included, so the only
 * difference they measure is the code path.
 */

export const PG_SERVER_URL = process.env.JIFEN_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface BenchDb extends JifenDb {
  readonly url: string;
  /** The SQLite file; null on Postgres. */
  readonly sqlitePath: string | null;
}

export async function freshSqlite(synchronous: SqliteSynchronous): Promise<BenchDb> {
  const folder = mkdtempSync(join(tmpdir(), 'jifen-bench-'));
  const sqlitePath = join(folder, 'jifen.db');
  const url = `sqlite:${sqlitePath}`;
  const store = createDb({ url, synchronous });
  await migrateToLatest(store.db);
  return {
    ...store,
    url,
    sqlitePath,
    close: async () => {
      await store.close();
      rmSync(folder, { recursive: true, force: true });
    },
  };
}

/** The same file through better-sqlite3 alone, opened as `createDb` opens it (the same pragmas, page cache included). */
export function openRawSqlite(path: string, synchronous: SqliteSynchronous): Database.Database {
  return openSqlite({ path, synchronous, busyTimeoutMs: BUSY_TIMEOUT_MS_MIN });
}

export async function freshPostgres(options: { maxConnections?: number } = {}): Promise<BenchDb> {
  const name = `jifen_bench_${process.pid}_${randomBytes(4).toString('hex')}`;
  await onServer(`create database "${name}"`);
  const server = new URL(PG_SERVER_URL);
  server.pathname = `/${name}`;
  const url = server.toString();
  const store = createDb({ url, ...(options.maxConnections === undefined ? {} : { maxConnections: options.maxConnections }) });
  try {
    await migrateToLatest(store.db);
  } catch (error) {
    await store.close();
    await onServer(`drop database if exists "${name}" with (force)`);
    throw error;
  }
  return {
    ...store,
    url,
    sqlitePath: null,
    close: async () => {
      await store.close();
      await onServer(`drop database if exists "${name}" with (force)`);
    },
  };
}

/** Why Postgres figures cannot be measured in this run, or null when the server answers. */
export async function postgresUnavailable(): Promise<string | null> {
  const client = new pg.Client({ connectionString: PG_SERVER_URL, connectionTimeoutMillis: 3_000 });
  try {
    await client.connect();
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function rawPostgresClient(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return client;
}

async function onServer(statement: string): Promise<void> {
  const client = await rawPostgresClient(PG_SERVER_URL);
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}
