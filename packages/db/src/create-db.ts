import { Kysely, PostgresDialect } from 'kysely';
import { Pool } from 'pg';
import { parseDatabaseUrl } from './database-url';
import { ledgerPool } from './pg-statements';
import { exactIntegerTypes } from './postgres-types';
import type { Database } from './schema';
import { ImmediateSqliteDialect, type SqliteSynchronous, openSqlite } from './sqlite-dialect';

export type JifenDialect = 'sqlite' | 'postgres';

/** An open database: the Kysely handle, which engine is behind it, and how to let it go. */
export interface JifenDb {
  readonly db: Kysely<Database>;
  readonly dialect: JifenDialect;
  /** Waits for running queries, closes every connection; calling it again does nothing. */
  close(): Promise<void>;
}

export interface CreateDbOptions {
  /** `postgres://…` / `postgresql://…`, `sqlite:PATH`, or a file path (see `parseDatabaseUrl`). */
  url: string;
  /** SQLite only. `FULL` (default) survives power loss; `NORMAL` is for benchmarks. */
  synchronous?: SqliteSynchronous;
  /** SQLite only. How long a writer waits for the lock before SQLITE_BUSY; default and minimum 5000. */
  busyTimeoutMs?: number;
  /** Postgres only. Pool size; default 10. */
  maxConnections?: number;
  /**
   * Postgres only. Told when an idle pooled connection fails (the server restarted, a failover, an
   * administrator ended it): the pool drops it and opens a new one on next use, so this is for the
   * log. Default: a process warning. Without a listener node-postgres would throw it as an
   * uncaught error and end the process.
   */
  onIdleConnectionError?: (error: Error) => void;
  /**
   * Postgres only. Run prepared queries as named server-side statements (pg-statements.ts); default
   * true. Turn off behind a pooler that cannot keep a connection's statements (PgBouncer in
   * transaction mode without `max_prepared_statements`).
   */
  preparedStatements?: boolean;
  /**
   * Postgres only. Told the texts of the statements each round trip carries, in order, as they go
   * to the server — after deferred writes were combined and pipelined (pg-deferred-writes.ts,
   * pg-pipeline.ts) — for tests and diagnostics that count round trips.
   */
  onRoundTrip?: (statements: readonly string[]) => void;
}

export const BUSY_TIMEOUT_MS_MIN = 5_000;

/**
 * Opens the database `url` names. Does not migrate (see `migrateToLatest`) and does not choose a
 * default location: that is the application's decision (SPEC §8: `./data/jifen.db`).
 */
export function createDb(options: CreateDbOptions): JifenDb {
  const location = parseDatabaseUrl(options.url);
  if (location.dialect === 'postgres') {
    const pool = new Pool({
      connectionString: location.url,
      max: options.maxConnections ?? 10,
      types: exactIntegerTypes(),
    });
    pool.on('error', options.onIdleConnectionError ?? warnIdleConnectionError);
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: ledgerPool(pool, { nameStatements: options.preparedStatements !== false, onRoundTrip: options.onRoundTrip }) }) });
    return { db, dialect: 'postgres', close: once(() => db.destroy()) };
  }

  const busyTimeoutMs = options.busyTimeoutMs ?? BUSY_TIMEOUT_MS_MIN;
  if (!Number.isSafeInteger(busyTimeoutMs) || busyTimeoutMs < BUSY_TIMEOUT_MS_MIN) {
    throw new Error(`busyTimeoutMs must be a whole number of milliseconds ≥ ${BUSY_TIMEOUT_MS_MIN}`);
  }
  const database = openSqlite({ path: location.path, synchronous: options.synchronous ?? 'FULL', busyTimeoutMs });
  const dialect = new ImmediateSqliteDialect(database);
  const db = new Kysely<Database>({ dialect });
  // Prepared reads outside a transaction run without Kysely's queue (prepared-query.ts).
  dialect.enableDirectReads(db);
  return {
    db,
    dialect: 'sqlite',
    close: once(async () => {
      await db.destroy();
      // Kysely closes the file only if a query ever ran; the file was opened here, so close it here.
      if (database.open) database.close();
    }),
  };
}

function warnIdleConnectionError(error: Error): void {
  process.emitWarning(`an idle Postgres connection failed and was dropped from the pool (${error.message})`, { code: 'JIFEN_PG_IDLE_ERROR' });
}

function once(action: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  return () => (running ??= action());
}
