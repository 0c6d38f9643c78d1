import { createRequire } from 'node:module';
import { Query } from 'pg';

/**
 * Several statements in one round trip on Postgres (the extended query protocol's pipelining).
 *
 * node-postgres sends one statement and waits for its answer before the next. The protocol does not
 * need that: a client may send Bind/Execute for several statements and one Sync, and the server runs
 * them in order and answers them all at once. On the first error it skips every message up to the
 * Sync — the statements after the failing one never run — and a transaction it was in is left
 * aborted, exactly as if they had been sent one by one and the caller had stopped at the error.
 *
 * The pool's client uses it for what it holds back (pg-deferred-writes.ts, pg-statements.ts): a
 * transaction's `begin` goes with its first statement, and the combined writes with the statement
 * after them — `commit` included — so a paid order reaches the server in five round trips, and the
 * shop's locks are held for one.
 *
 * node-postgres has no public API for this, so the query below leans on three of its internals: a
 * `Query` subclass's `prepare(connection)` (called by `submit` with the socket corked), the
 * connection's `parse`/`bind`/`describe`/`execute`/`sync` writers, and `pg/lib/utils`'
 * `prepareValue`. The lockfile pins node-postgres; `test/pg-pipeline.test.ts` is what an upgrade
 * must pass.
 *
 * Every statement but the last must return no rows (a `begin`, a write without `returning`): only the
 * last is described, and only its result is answered. A named statement must already have been
 * parsed on the connection (pg-statements.ts sends it alone the first time, the ordinary way, so
 * node-postgres keeps track of it); the others are parsed unnamed in the same round trip.
 */

export interface PipelinedStatement {
  sql: string;
  values: readonly unknown[];
  /** The server-side statement the connection has already parsed for this text, if any. */
  name?: string | undefined;
}

// node-postgres turns each value into the text it sends (dates, arrays, JSON, buffers) with this
// function; the pipeline must send exactly what a statement sent alone would.
const { prepareValue } = createRequire(import.meta.url)('pg/lib/utils') as { prepareValue: (value: unknown) => unknown };

/** The part of node-postgres's connection a query writes its messages to. */
interface ProtocolWriter {
  parse(message: { text: string; name: string; types: unknown[] }): void;
  bind(message: { portal: string; statement: string; values: unknown[]; binary: boolean }): void;
  describe(message: { type: 'P'; name: string }): void;
  execute(message: { portal: string; rows?: number }): void;
  sync(): void;
}

/**
 * A node-postgres query (its `submit` corks the socket around `prepare`, so every message goes in one
 * write) whose messages are the whole pipeline. It answers the last statement's result.
 */
class PipelinedQuery extends Query {
  private readonly statements: Array<{ sql: string; name: string | undefined; values: unknown[] }>;

  constructor(statements: readonly PipelinedStatement[], answer: { resolve: (result: unknown) => void; reject: (error: Error) => void }) {
    // Unnamed for node-postgres: it must not record a parse of its own (the statements carry their names).
    // `queryMode: 'extended'` (not in the type definitions) makes `submit` call `prepare` below.
    // Each statement that completes adds a result; node-postgres answers them as a list.
    super({ text: statements[statements.length - 1]!.sql, queryMode: 'extended' } as ConstructorParameters<typeof Query>[0], (error, results: unknown) =>
      error ? answer.reject(error) : answer.resolve(Array.isArray(results) ? results[results.length - 1] : results),
    );
    // Mapped before anything is sent: a value that cannot be sent fails the call, not the connection.
    this.statements = statements.map((statement) => ({ sql: statement.sql, name: statement.name, values: statement.values.map((value) => prepareValue(value)) }));
  }

  prepare(connection: ProtocolWriter): void {
    const last = this.statements.length - 1;
    this.statements.forEach((statement, index) => {
      if (statement.name === undefined) connection.parse({ text: statement.sql, name: '', types: [] });
      connection.bind({ portal: '', statement: statement.name ?? '', values: statement.values, binary: false });
      if (index === last) connection.describe({ type: 'P', name: '' });
      connection.execute({ portal: '' });
    });
    connection.sync();
  }
}

/** Sends `statements` in one round trip; resolves to the last one's result, or rejects with the first error. */
export function sendPipelined(client: { query: (query: never) => unknown }, statements: readonly PipelinedStatement[]): Promise<unknown> {
  return new Promise((resolve, reject) => {
    client.query(new PipelinedQuery(statements, { resolve, reject }) as never);
  });
}
