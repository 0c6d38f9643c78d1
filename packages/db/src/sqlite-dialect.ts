import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import {
  CompiledQuery,
  type DatabaseConnection,
  type DialectAdapter,
  type Driver,
  SqliteAdapter,
  SqliteDialect,
  type SqliteDatabase,
  SqliteDriver,
  type SqliteStatement,
} from 'kysely';

/** `FULL` syncs the WAL on every commit; `NORMAL` may lose the last commits on power loss (benchmarks only). */
export type SqliteSynchronous = 'FULL' | 'NORMAL';

export interface SqliteOptions {
  path: string;
  synchronous: SqliteSynchronous;
  busyTimeoutMs: number;
  /** The connection's page cache, in KiB; default `SQLITE_CACHE_KIB_DEFAULT` (64 MiB). */
  cacheSizeKib?: number;
}

/**
 * 64 MiB of page cache per connection. SQLite's own default is 2 MB, about 500 pages: a database of
 * hundreds of megabytes then re-reads the same index pages from the OS in every transaction, and a
 * large write transaction (the expiry sweep) spills dirty pages before it commits. 64 MiB holds the
 * hot indexes of a million-lot shop; it is an upper bound, taken only as pages are read.
 */
export const SQLITE_CACHE_KIB_DEFAULT = 65_536;

/** The size the WAL file is truncated back to after a checkpoint lets SQLite start it over: 64 MiB. */
export const SQLITE_WAL_SIZE_LIMIT_BYTES = 67_108_864;

const IN_MEMORY = ':memory:';

/**
 * Opens a SQLite file with jifen's pragmas, set explicitly on every open rather than trusted from
 * the file (SPEC §4): WAL so readers never block the writer; `synchronous=FULL` by default because
 * points are money and a commit the caller saw must survive power loss; a busy timeout so a writer
 * waits for the lock instead of failing at once; foreign keys enforced as Postgres enforces them;
 * a page cache sized for a production database, temporary b-trees (sorts, `IN` lists, CTEs) kept
 * in memory rather than in temporary files, and a WAL cut back to 64 MiB when it is started over.
 */
export function openSqlite({ path, synchronous, busyTimeoutMs, cacheSizeKib = SQLITE_CACHE_KIB_DEFAULT }: SqliteOptions): Database.Database {
  if (!Number.isSafeInteger(cacheSizeKib) || cacheSizeKib < 0) throw new Error(`cacheSizeKib must be a whole number of KiB ≥ 0, not ${cacheSizeKib}`);
  if (path !== IN_MEMORY) mkdirSync(dirname(path), { recursive: true });
  const database = new Database(path, { timeout: busyTimeoutMs });
  try {
    const journalMode = database.pragma('journal_mode = WAL', { simple: true });
    if (path !== IN_MEMORY && journalMode !== 'wal') {
      throw new Error(`SQLite refused WAL mode for ${path} (journal_mode is ${String(journalMode)})`);
    }
    database.pragma(`synchronous = ${synchronous}`);
    database.pragma(`busy_timeout = ${busyTimeoutMs}`);
    database.pragma('foreign_keys = ON');
    // Negative: a size in KiB rather than in pages.
    database.pragma(`cache_size = -${cacheSizeKib}`);
    database.pragma('temp_store = MEMORY');
    // A WAL that grew (a sweep checkpoints only every few batches) is cut back to this when reused.
    database.pragma(`journal_size_limit = ${SQLITE_WAL_SIZE_LIMIT_BYTES}`);
  } catch (error) {
    database.close();
    throw error;
  }
  return database;
}

/**
 * Kysely's SQLite dialect, with every transaction — `db.transaction()` and `db.startTransaction()`
 * alike — opened by `BEGIN IMMEDIATE`. A plain `BEGIN` is deferred: two processes can both read
 * inside their transactions and then both try to write, and one fails with SQLITE_BUSY at once, the
 * busy timeout notwithstanding. Taking the write lock at BEGIN makes writers queue on the timeout
 * instead, so a transaction never reads a balance another process is about to change (SPEC §4).
 */
export class ImmediateSqliteDialect extends SqliteDialect {
  readonly #database: StatementCache;

  constructor(database: Database.Database) {
    const statements = new StatementCache(database);
    super({ database: statements });
    this.#database = statements;
  }

  /**
   * Lets `readDirectly` run read-only statements of `db` — the Kysely instance made on this
   * dialect, and only that instance — straight on the connection.
   */
  enableDirectReads(db: object): void {
    directReaders.set(db, this.#database);
  }

  override createDriver(): Driver {
    return new ImmediateSqliteDriver({ database: this.#database });
  }

  override createAdapter(): DialectAdapter {
    return new TransactionalDdlSqliteAdapter();
  }
}

/**
 * SQLite runs DDL inside a transaction, but Kysely's adapter says it cannot, so its Migrator ran each
 * migration statement by statement, with no lock (the adapter's lock does nothing): two processes
 * starting on a fresh file both ran 0001 and the second failed, and a migration that failed halfway
 * left its first statements behind. Saying it can makes the Migrator run in one `db.transaction()` —
 * here `BEGIN IMMEDIATE` — so a second starter waits on the busy timeout and then finds every
 * migration applied, and a failed migration leaves nothing. Still a `SqliteAdapter` for every other
 * purpose (the migrations ask `instanceof SqliteAdapter` for the dialect).
 */
class TransactionalDdlSqliteAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true;
  }
}

class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

const directReaders = new WeakMap<object, StatementCache>();

/**
 * Runs a read-only statement on `db`'s connection at once, without Kysely's queue, when that is the
 * same as queueing it: `db` is a root instance that `enableDirectReads` registered (never a
 * transaction's), and its connection has no transaction open. Kysely runs every query of the one
 * SQLite connection through a mutex and several promise turns (measured: the quote's one read took
 * ~7 µs less this way, 31 → 24 µs for the whole `quoteCheckout`);
 * better-sqlite3 is synchronous, so a statement run here runs whole, in autocommit, and reads what
 * was committed — exactly what the queued read would have read. With a transaction open (another
 * request's write awaiting its next statement) the read would see that transaction's uncommitted
 * rows: it goes through the queue instead, as does anything that writes.
 *
 * Returns the rows, or undefined when the statement must take Kysely's way.
 */
export function readDirectly(db: object, sql: string, parameters: ReadonlyArray<unknown>): unknown[] | undefined {
  const statements = directReaders.get(db);
  if (statements === undefined || statements.inTransaction) return undefined;
  const statement = statements.prepare(sql);
  if (!statement.readonly) return undefined;
  return statement.all(parameters);
}

const ownedTransactions = new WeakMap<object, StatementCache>();

/**
 * Lets `runInTransaction` run every statement of `trx` — a transaction made on `root`'s SQLite
 * connection, held from `BEGIN IMMEDIATE` until `releaseTransaction` — straight on the connection.
 * The transaction's owner (the Ledger) calls it after the transaction begins and releases it
 * before the transaction ends. A no-op for anything but a root made by `createDb` on SQLite.
 */
export function ownTransaction(trx: object, root: object): void {
  const statements = directReaders.get(root);
  if (statements !== undefined) ownedTransactions.set(trx, statements);
}

/** Ends what `ownTransaction` allowed: from here on `trx`'s statements take Kysely's way (which refuses them once it has ended). */
export function releaseTransaction(trx: object): void {
  ownedTransactions.delete(trx);
}

/**
 * Runs a statement of an owned transaction (`ownTransaction`) at once on its connection, without
 * Kysely's per-transaction queue and its promise turns (~1.7 µs a statement, measured; an order
 * runs ~15). The same as queueing it: the transaction holds the one connection from its `BEGIN`
 * until its end, so nothing else can run on it, and better-sqlite3 runs a statement whole. Only the
 * order of statements one transaction issues *concurrently* (without awaiting the first) may differ
 * from Kysely's first-come order — an order nobody asked for; the services await each statement.
 *
 * Returns the result as Kysely's SQLite driver builds it, or undefined when `db` is not owned.
 */
export function runInTransaction(db: object, sql: string, parameters: ReadonlyArray<unknown>): { rows: unknown[]; numAffectedRows?: bigint; insertId?: bigint } | undefined {
  const statements = ownedTransactions.get(db);
  if (statements === undefined) return undefined;
  const statement = statements.prepare(sql);
  if (statement.reader) return { rows: statement.all(parameters) };
  const { changes, lastInsertRowid } = statement.run(parameters);
  return { rows: [], numAffectedRows: BigInt(changes), insertId: BigInt(lastInsertRowid) };
}

const STATEMENTS_CACHED_MAX = 500;

/**
 * Kysely prepares every query afresh; preparing costs about as much as running a small statement,
 * so statements are kept by their SQL text (measured: ~2× fewer microseconds per statement). A
 * statement still iterating is busy and cannot run twice, so a busy one is prepared anew.
 *
 * Rows are also checked on the way out: better-sqlite3 reads a 64-bit integer beyond 2^53 as a
 * rounded double, which the Postgres side refuses (`postgres-types.ts`); so does this side.
 */
class StatementCache implements SqliteDatabase {
  readonly #database: Database.Database;
  readonly #statements = new Map<string, ExactStatement>();

  constructor(database: Database.Database) {
    this.#database = database;
  }

  /** Whether the connection has a transaction open. */
  get inTransaction(): boolean {
    return this.#database.inTransaction;
  }

  prepare(sql: string): ExactStatement {
    const cached = this.#statements.get(sql);
    if (cached !== undefined && !cached.isBusy) return cached;
    const statement = new ExactStatement(this.#database.prepare(sql));
    if (cached === undefined) {
      if (this.#statements.size >= STATEMENTS_CACHED_MAX) {
        const oldest = this.#statements.keys().next().value;
        if (oldest !== undefined) this.#statements.delete(oldest);
      }
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  close(): void {
    this.#statements.clear();
    if (this.#database.open) this.#database.close();
  }
}

/**
 * A statement whose rows are checked on the way out (see StatementCache) and built here rather than
 * by better-sqlite3. A reader runs in raw mode, handing back each row as an array, and the row
 * object is made from the column names read once: better-sqlite3 builds an object by looking up
 * every column's name in V8's string table, for every row, which cost as much as stepping the
 * statement (measured: a nine-column, five-row read, 8.2 µs against 4.8 µs this way). The rows are
 * the same objects — own properties in column order, a later column of the same name winning — except
 * that a column named `__proto__` is an own property, where better-sqlite3 would set the prototype.
 */
class ExactStatement implements SqliteStatement {
  readonly #statement: Database.Statement;
  readonly reader: boolean;
  /** Whether the statement never writes (a read; not an insert … returning). */
  readonly readonly: boolean;
  /** The result columns' names for a reader, null for a writer. */
  readonly #columns: string[] | null;

  constructor(statement: Database.Statement) {
    this.#statement = statement;
    this.reader = statement.reader;
    this.readonly = statement.readonly;
    this.#columns = statement.reader ? statement.columns().map((column) => column.name) : null;
    if (this.#columns !== null) statement.raw(true);
  }

  get isBusy(): boolean {
    return this.#statement.busy;
  }

  all(parameters: ReadonlyArray<unknown>): unknown[] {
    const rows = this.#statement.all(parameters) as unknown[];
    const columns = this.#columns;
    if (columns === null) return rows;
    for (let index = 0; index < rows.length; index++) rows[index] = rowOf(columns, rows[index] as unknown[]);
    return rows;
  }

  run(parameters: ReadonlyArray<unknown>): { changes: number | bigint; lastInsertRowid: number | bigint } {
    return this.#statement.run(parameters);
  }

  *iterate(parameters: ReadonlyArray<unknown>): IterableIterator<unknown> {
    const columns = this.#columns;
    for (const row of this.#statement.iterate(parameters)) yield columns === null ? row : rowOf(columns, row as unknown[]);
  }
}

/** A raw row as the object better-sqlite3 would have made, its integers checked as they are copied. */
function rowOf(columns: readonly string[], values: readonly unknown[]): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  for (let index = 0; index < columns.length; index++) {
    const value = values[index];
    if (typeof value === 'number' && (value > Number.MAX_SAFE_INTEGER || value < Number.MIN_SAFE_INTEGER)) {
      throw new RangeError(`SQLite returned ${columns[index]!} = ${value}, beyond ±(2^53 − 1); jifen refuses to round it`);
    }
    const column = columns[index]!;
    if (column === '__proto__') Object.defineProperty(row, column, { value, enumerable: true, writable: true, configurable: true });
    else row[column] = value;
  }
  return row;
}
