import { type Compilable, CompiledQuery, type Insertable, type Kysely, PostgresAdapter, type QueryResult, type RawBuilder, type SelectQueryBuilder } from 'kysely';
import type { Database } from './schema';
import { assertDeferrable, deferredText } from './pg-deferred-writes';
import { nameStatement } from './pg-statements';
import { readDirectly, runInTransaction } from './sqlite-dialect';

/**
 * Queries built and compiled by Kysely once, then run many times with new values.
 *
 * Kysely builds an immutable query tree and compiles it to SQL on every call: measured on the order
 * path, that costs more than SQLite takes to run the statement (~10 µs against ~3 µs for a keyed
 * update), and a paid order runs about twenty statements. A prepared query keeps the SQL text
 * Kysely produced and binds fresh values into it, so the query is still written — and type-checked
 * — as a Kysely builder in the service that owns it, and the engine's own prepared statement is
 * reused (the SQLite dialect caches statements by their text).
 *
 * The builder is called once per dialect with placeholders standing for the parameters, so it must
 * produce the same SQL whatever the values: use each parameter only as a value (`where`, `values`,
 * `set`, `limit`, inside `sql` as `${value}`), never in JavaScript logic, `sql.raw`, `sql.lit` or
 * `sql.ref`, and never as a list for `in` (its length would be fixed). Preparing refuses a builder
 * that turns a placeholder into anything but a bound value.
 */

export interface PreparedQuery<Params, Row> {
  execute(db: Kysely<Database>, params: Params): Promise<Row[]>;
  executeTakeFirst(db: Kysely<Database>, params: Params): Promise<Row | undefined>;
  /** Runs a write; resolves to the rows it inserted, updated or deleted. */
  executeWrite(db: Kysely<Database>, params: Params): Promise<number>;
  /**
   * Runs a write whose count nobody reads and whose failure no caller handles by itself. On
   * Postgres, inside a transaction, it may be sent later, with the transaction's other such writes,
   * as one statement — before the transaction's next statement of any other kind, commit included
   * (pg-deferred-writes.ts); a failure then surfaces there. On SQLite it runs at once.
   */
  executeDeferred(db: Kysely<Database>, params: Params): Promise<void>;
}

const MARK = '\u0000jifen-parameter:';

/** Where each bound value of the compiled SQL comes from: a parameter, or a constant of the builder. */
type Slot = { parameter: string } | { constant: unknown };

/** A compiled statement's text, for the engine it was compiled for. */
interface CompiledText {
  sql: string;
  /** Compiled for Postgres: named, and deferrable (pg-deferred-writes.ts). */
  postgres: boolean;
  /** Postgres: the text a deferred run sends, made (and checked deferrable) when first asked for. */
  deferredSql?: string;
}

interface Prepared extends CompiledText {
  slots: Slot[];
}

/** The text to send: on Postgres a deferred run sends the marked text; elsewhere a deferred write runs at once. */
function textToSend(compiled: CompiledText, deferred: boolean): string {
  if (!deferred || !compiled.postgres) return compiled.sql;
  if (compiled.deferredSql === undefined) {
    assertDeferrable(compiled.sql);
    compiled.deferredSql = deferredText(compiled.sql);
  }
  return compiled.deferredSql;
}

export function prepareQuery<Params extends Record<string, unknown>, Row = unknown>(
  build: (db: Kysely<Database>, params: Params) => Compilable<Row> | RawBuilder<Row>,
): PreparedQuery<Params, Row> {
  return prepared((db, params) => {
    const query = build(db, params);
    // A `sql` template compiles against the database it is given; a builder already knows its own.
    return 'isRawBuilder' in query ? { compile: () => query.compile(db) } : query;
  });
}

/**
 * A prepared read that locks the rows it returns for the rest of the transaction: `FOR UPDATE` on
 * Postgres; on SQLite a plain select, as `BEGIN IMMEDIATE` already made the transaction the only
 * writer (the same rule as the ledger's `tx.forUpdate`).
 */
export function prepareLockingRead<Params extends Record<string, unknown>, Tables extends keyof Database, Row>(
  build: (db: Kysely<Database>, params: Params) => SelectQueryBuilder<Database, Tables, Row>,
): PreparedQuery<Params, Row> {
  return prepared((db, params) => {
    const query = build(db, params);
    return isPostgres(db) ? query.forUpdate() : query;
  });
}

/** Whether `db` speaks to Postgres (its adapter says so; a transaction's is its root's). */
export function isPostgres<DB>(db: Kysely<DB>): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter;
}

function prepared<Params extends Record<string, unknown>, Row>(build: (db: Kysely<Database>, params: Params) => Compilable<Row>): PreparedQuery<Params, Row> {
  // One compilation per dialect: the adapter decides placeholders ($1 or ?) and quoting.
  const byAdapter = new Map<unknown, Prepared>();
  const compiled = (db: Kysely<Database>): Prepared => {
    const adapter = db.getExecutor().adapter.constructor;
    let found = byAdapter.get(adapter);
    if (found === undefined) {
      const placeholders = new Proxy({} as Params, { get: (_target, name) => (typeof name === 'string' ? `${MARK}${name}` : undefined) });
      found = { ...compileWithPlaceholders(build(db, placeholders)), postgres: isPostgres(db) };
      if (found.postgres) nameStatement(found.sql);
      byAdapter.set(adapter, found);
    }
    return found;
  };
  const run = (db: Kysely<Database>, params: Params, deferred = false): Promise<QueryResult<Row>> => {
    const prepared = compiled(db);
    const { slots } = prepared;
    const sql = textToSend(prepared, deferred);
    return runText<Row>(db, sql, slots.map((slot) => ('parameter' in slot ? params[slot.parameter] : slot.constant)));
  };
  return {
    execute: async (db, params) => (await run(db, params)).rows,
    executeTakeFirst: async (db, params) => (await run(db, params)).rows[0],
    executeWrite: async (db, params) => Number((await run(db, params)).numAffectedRows ?? 0n),
    executeDeferred: async (db, params) => {
      await run(db, params, true);
    },
  };
}

/**
 * Runs a compiled text on `db`. On SQLite a statement of a transaction the Ledger owns, or a read
 * outside any transaction, runs at once on the connection (sqlite-dialect.ts `runInTransaction`,
 * `readDirectly`); anything else goes through Kysely.
 */
function runText<Row>(db: Kysely<Database>, sql: string, values: unknown[]): Promise<QueryResult<Row>> {
  try {
    const result = runInTransaction(db, sql, values);
    if (result !== undefined) return Promise.resolve(result as QueryResult<Row>);
    const rows = readDirectly(db, sql, values);
    if (rows !== undefined) return Promise.resolve({ rows: rows as Row[] });
  } catch (error) {
    return Promise.reject(error as Error);
  }
  return db.executeQuery<Row>(CompiledQuery.raw(sql, values) as CompiledQuery<Row>);
}

function compileWithPlaceholders(query: Compilable<unknown>): { sql: string; slots: Slot[] } {
  const { sql, parameters } = query.compile();
  if (sql.includes(MARK)) throw new Error(`a prepared query put a parameter into its SQL text instead of binding it: ${sql}`);
  const slots = parameters.map((value): Slot => {
    if (typeof value === 'string' && value.startsWith(MARK)) return { parameter: value.slice(MARK.length) };
    if (typeof value === 'string' && value.includes(MARK)) throw new Error(`a prepared query transformed a parameter (${JSON.stringify(value)}) instead of binding it`);
    return { constant: value };
  });
  return { sql, slots };
}

/** Rows a multi-row insert takes at most: 100 rows of 20 columns bind 2,000 values, within every engine's limit. */
const ROWS_PER_INSERT_MAX = 100;

/** A multi-row insert's SQL, and for each bound value the row it comes from (its column repeats in order) or a constant. */
interface InsertShape extends CompiledText {
  cells: Array<number | { constant: unknown }>;
}

const insertShapes = new Map<unknown, Map<string, InsertShape>>();

/**
 * Inserts rows of one table with multi-row inserts of at most 100 rows, each shape compiled once
 * (a remainder goes in power-of-two pieces, so a table has a handful of shapes, not a hundred).
 * Every row must have the same columns. For the journal's and the sweep's bulk writes.
 */
export async function insertMany<Table extends keyof Database & string>(
  db: Kysely<Database>,
  table: Table,
  rows: ReadonlyArray<Insertable<Database[Table]>>,
  /** `deferred`: as `PreparedQuery.executeDeferred` — on Postgres in a transaction, sent with the next statement. */
  options: { deferred?: boolean } = {},
): Promise<void> {
  if (rows.length === 0) return;
  const columns = Object.keys(rows[0]!);
  for (const row of rows) {
    if (Object.keys(row).length !== columns.length || !columns.every((column) => column in row)) throw new Error(`insertMany(${table}): every row must have the same columns`);
  }
  let start = 0;
  while (start < rows.length) {
    const left = rows.length - start;
    const count = left >= ROWS_PER_INSERT_MAX ? ROWS_PER_INSERT_MAX : 2 ** Math.floor(Math.log2(left));
    const shape = insertShape(db, table, columns, count);
    const { cells } = shape;
    const sql = textToSend(shape, options.deferred ?? false);
    const values = new Array<unknown>(cells.length);
    for (let index = 0; index < cells.length; index++) {
      const cell = cells[index]!;
      values[index] = typeof cell === 'number' ? (rows[start + cell] as Record<string, unknown>)[columns[index % columns.length]!] : cell.constant;
    }
    await runText(db, sql, values);
    start += count;
  }
}

function insertShape<Table extends keyof Database & string>(db: Kysely<Database>, table: Table, columns: readonly string[], count: number): InsertShape {
  const adapter = db.getExecutor().adapter.constructor;
  let shapes = insertShapes.get(adapter);
  if (shapes === undefined) insertShapes.set(adapter, (shapes = new Map()));
  const key = `${table}|${columns.join(',')}|${count}`;
  let shape = shapes.get(key);
  if (shape === undefined) {
    const rows = Array.from({ length: count }, (_, rowIndex) => Object.fromEntries(columns.map((column) => [column, `${MARK}${rowIndex}:${column}`])));
    const { sql, slots } = compileWithPlaceholders(db.insertInto(table).values(rows as unknown as Array<Insertable<Database[Table]>>));
    // The fast path reads row-major values with the columns in order; anything else is refused here, once.
    const cells = slots.map((slot, index) => {
      if (!('parameter' in slot)) return slot;
      const [rowIndex, column] = slot.parameter.split(':') as [string, string];
      if (column !== columns[index % columns.length]) throw new Error(`insertMany(${table}): the compiled insert binds its values out of column order`);
      return Number(rowIndex);
    });
    shape = { sql, cells, postgres: isPostgres(db) };
    if (shape.postgres) nameStatement(sql);
    shapes.set(key, shape);
  }
  return shape;
}
