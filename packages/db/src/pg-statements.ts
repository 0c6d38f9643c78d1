import type { PostgresPool, PostgresPoolClient } from 'kysely';
import type { Pool, PoolClient } from 'pg';
import { type SentStatement, WriteBuffer } from './pg-deferred-writes';
import { type PipelinedStatement, sendPipelined } from './pg-pipeline';

/**
 * Server-side prepared statements on Postgres for the queries jifen prepares (prepared-query.ts).
 *
 * Kysely's Postgres driver sends every statement unnamed, so the server parses, analyses and plans
 * it again on each run. A prepared query's SQL text never changes, so it gets a name here; the pool
 * below sends a named statement for it, and node-postgres parses it once per connection and from
 * then on sends only its values. Every other statement (built afresh, migrations, `sql` templates
 * run directly) goes as before.
 *
 * The names live as long as the connection. A pooler that hands one server connection to many
 * clients by transaction (PgBouncer's transaction mode before 1.21, or without
 * `max_prepared_statements`) cannot keep them: `createDb({ preparedStatements: false })`, or the
 * server's `PG_PREPARED_STATEMENTS=false`, turns names off.
 */

const names = new Map<string, string>();

/**
 * A select list with `*` in it. Postgres fixes a named statement's result columns when it is
 * parsed: after a migration adds a column to the table, the statement's next run on a connection
 * that parsed it fails ("cached plan must not change result type"). Such a text stays unnamed;
 * list the columns instead (schema.ts `SHOPPER_COLUMNS`).
 */
const SELECTS_STAR = /(?:\bselect(?:\s+distinct)?|\breturning|,)\s*(?:"[^"]+"\.)?\*/i;

/** Gives a prepared query's Postgres SQL a statement name (the same text always the same name). */
export function nameStatement(sql: string): void {
  if (!names.has(sql) && !SELECTS_STAR.test(sql)) names.set(sql, `jifen_${names.size + 1}`);
}

/**
 * Combined deferred writes (pg-deferred-writes.ts) are named too: their texts are a handful per
 * service (which writes an order makes). A bound keeps a pathological mix from growing the map
 * without end; past it they go unnamed, as any other statement.
 */
const COMBINED_NAMES_MAX = 256;
let combinedNamed = 0;

function nameCombinedStatement(sql: string): void {
  if (names.has(sql) || combinedNamed >= COMBINED_NAMES_MAX) return;
  combinedNamed += 1;
  nameStatement(sql);
}

/** The name `nameStatement` gave this text, if it gave one. */
export function statementName(sql: string): string | undefined {
  return names.get(sql);
}

/**
 * The pool jifen's Postgres dialect uses: each client holds back deferred writes and a
 * transaction's `begin` (pg-deferred-writes.ts), sends them in one round trip with the statement
 * after them (pg-pipeline.ts) and, unless `nameStatements` is false, runs the texts `nameStatement`
 * named as named statements.
 */
export function ledgerPool(pool: Pool, options: { nameStatements: boolean; onRoundTrip?: ((statements: readonly string[]) => void) | undefined }): PostgresPool {
  // Kysely keeps its connection object per client, so each pooled client keeps one wrapper.
  const wrappers = new WeakMap<PoolClient, PostgresPoolClient>();
  return {
    connect: async () => {
      const client = await pool.connect();
      let wrapper = wrappers.get(client);
      if (wrapper === undefined) {
        wrapper = ledgerClient(client, options);
        wrappers.set(client, wrapper);
      }
      return wrapper;
    },
    end: () => pool.end(),
  };
}

function ledgerClient(client: PoolClient, { nameStatements, onRoundTrip }: Parameters<typeof ledgerPool>[1]): PostgresPoolClient {
  // The named statements this connection has run, so has parsed: only those can be pipelined by name.
  const parsed = new Set<string>();
  const named = ({ sql, values }: SentStatement): PipelinedStatement => ({ sql, values, name: nameStatements ? names.get(sql) : undefined });
  const sendAlone = async ({ sql, values, name }: PipelinedStatement): Promise<unknown> => {
    onRoundTrip?.([sql]);
    if (name === undefined) return client.query(sql, values as unknown[]);
    const result = await client.query({ name, text: sql, values: values as unknown[] });
    parsed.add(name);
    return result;
  };
  const send = async (statements: SentStatement[]): Promise<unknown> => {
    if (statements.length === 1) return sendAlone(named(statements[0]!));
    const pipeline = statements.map(named);
    if (pipeline.every(({ name }) => name === undefined || parsed.has(name))) {
      onRoundTrip?.(pipeline.map(({ sql }) => sql));
      return sendPipelined(client, pipeline);
    }
    // A name the connection has yet to parse: one at a time, so node-postgres tracks that parse.
    let result: unknown;
    for (const statement of pipeline) result = await sendAlone(statement);
    return result;
  };
  const buffer = new WriteBuffer(send, nameStatements ? nameCombinedStatement : undefined);
  const query = (first: unknown, parameters?: ReadonlyArray<unknown>): unknown => {
    if (typeof first === 'string') return buffer.run(first, parameters ?? []);
    // A cursor (Kysely's streaming) is submitted at once and cannot wait for the buffer to be sent.
    if (buffer.hasWrites) throw new Error('jifen invariant: a streamed query while deferred writes wait; run a plain statement first');
    // A held `begin` goes first (node-postgres runs a connection's queries in the order they came);
    // if it failed, the cursor fails after it.
    void buffer.sendWaiting().catch(() => undefined);
    onRoundTrip?.([(first as { text: string }).text]);
    return client.query(first as never);
  };
  return {
    query: query as PostgresPoolClient['query'],
    release: () => {
      buffer.reset();
      client.release();
    },
  };
}
