/**
 * Deferred writes on Postgres: the writes of a transaction whose results nobody reads are held back
 * and sent together, as one statement, when the transaction next talks to the server.
 *
 * On Postgres every statement is a round trip, and a paid order writes eight rows in eight
 * statements (its lot, the shopper's day, the month's budget, the order, the shopper's sums, the
 * journal entry, the idempotency result, the chain head) while holding the shop's budget row and
 * chain head locked. A service marks such writes with `PreparedQuery.executeDeferred` (or
 * `insertMany(…, { deferred: true })`); this buffer keeps them and sends them all as one
 * statement of data-modifying CTEs ahead of the next statement of any other kind — a read, a write
 * that wants its count, a savepoint, the commit — in the same round trip (pg-pipeline.ts):
 *
 *     with w0 as (insert into "lots" …), w1 as (update "budget_months" …) update "shoppers" …
 *
 * Why this cannot change an answer:
 * - Every read sees every earlier write: any statement that is not itself deferred has the
 *   buffer run first, in the same transaction.
 * - No row is written twice in one statement (Postgres would apply only one of two changes to the
 *   same row): a deferred write to a table that already has one waiting closes the waiting ones
 *   into a statement of their own, which runs first. Writes in one statement therefore touch
 *   different tables, and none reads another's effect; foreign keys are checked at the end of the
 *   statement, when every row is in.
 * - A failing write fails the statement that carries it, inside the same transaction, which then
 *   rolls back whole: the error reaches the service at its next statement or at commit instead of
 *   at the call. Only writes whose failure no service handles by itself are deferred (never an
 *   insert whose unique violation is expected, nor one whose affected-row count is read).
 * - `rollback` and `rollback to savepoint` drop what is waiting: those writes are exactly what the
 *   rollback undoes, as a savepoint is itself a statement that sent everything before it.
 * - Outside a transaction nothing waits: the connection could go back to the pool first.
 *
 * SQLite runs deferred writes at once (prepared-query.ts): each statement there is a function call,
 * not a round trip.
 */

/** Ends the text of a write that may wait; stripped before it is sent. */
const DEFERRED_MARK = ' /* jifen:deferred */';

/** The text a deferred run of `sql` carries to the connection. */
export function deferredText(sql: string): string {
  return `${sql}${DEFERRED_MARK}`;
}

/** The table a write statement changes: `insert into "t"`, `update "t"`, `delete from "t"`. */
const WRITE_TARGET = /^\s*(?:insert\s+into|update|delete\s+from)\s+"([^"]+)"/i;

/** Checks once, when a query is prepared, that its SQL can be deferred; throws why not. */
export function assertDeferrable(sql: string): void {
  if (WRITE_TARGET.exec(sql) === null) throw new Error(`only an insert, update or delete can be deferred: ${sql}`);
  if (/\breturning\b/i.test(sql)) throw new Error(`a deferred write returns nothing, so it cannot have a returning clause: ${sql}`);
  // Combining renumbers every `$n` in the text: with no string literal in it, each one is a placeholder.
  if (sql.includes("'")) throw new Error(`a deferred write binds its values; it cannot carry a string literal: ${sql}`);
}

interface WaitingWrite {
  sql: string;
  values: readonly unknown[];
  table: string;
}

export interface SentStatement {
  sql: string;
  values: unknown[];
}

/** What a statement held back answers at once: no rows, no count (Kysely reads a count only for INSERT, UPDATE, DELETE and MERGE). */
function heldResult(command: string): { command: string; rowCount: null; rows: unknown[] } {
  return { command, rowCount: null, rows: [] };
}

/**
 * One connection's waiting writes. `send` runs statements on the connection in one round trip
 * (pg-pipeline.ts) and answers the last one's result; the buffer decides, for each statement the
 * connection is asked to run, whether it waits and what goes with it.
 *
 * A transaction's `begin` waits too, for the transaction's first statement: the two go in one round
 * trip, and a transaction that sends nothing (it only rolled back, or committed having written
 * nothing) never reaches the server at all.
 */
export class WriteBuffer {
  private waiting: WaitingWrite[] = [];
  /** Writes already combined (a second write to a table closes the group before it), in order. */
  private combined: SentStatement[] = [];
  /** The transaction's `begin`, not sent yet. */
  private begin: SentStatement | undefined;
  private inTransaction = false;
  /**
   * A statement of the open transaction failed. Postgres refuses everything but a rollback after an
   * error it saw; an error raised before anything was sent (a value that cannot be serialised) leaves
   * the server's transaction healthy but the writes sent with it gone from the buffer. Either way
   * nothing more of the transaction may run, so a caller that caught the error cannot commit
   * without the writes it believes are there.
   */
  private failure: unknown = undefined;

  constructor(
    private readonly send: (statements: SentStatement[]) => Promise<unknown>,
    /** Told the text of each combined statement before it is sent (to name it: pg-statements.ts). */
    private readonly onCombined: (sql: string) => void = () => undefined,
  ) {}

  /** Runs a statement through the buffer: a deferred write waits; anything else goes with what waits. */
  async run(sql: string, values: readonly unknown[]): Promise<unknown> {
    if (sql.endsWith(DEFERRED_MARK)) {
      const text = sql.slice(0, -DEFERRED_MARK.length);
      if (!this.inTransaction) return this.send([{ sql: text, values: [...values] }]);
      this.refuseAfterFailure();
      const table = WRITE_TARGET.exec(text)![1]!;
      if (this.waiting.some((write) => write.table === table)) this.closeGroup();
      this.waiting.push({ sql: text, values, table });
      return heldResult('DEFERRED');
    }
    const kind = statementKind(sql);
    if (kind === 'rollback' || kind === 'rollbackTo') {
      // `rollback` ends the transaction; `rollback to …` undoes to a savepoint. Either undoes what waits.
      this.waiting = [];
      this.combined = [];
      this.failure = undefined;
    } else {
      this.refuseAfterFailure();
    }
    const ends = kind === 'commit' || kind === 'rollback';
    if (kind === 'begin' && !this.inTransaction) {
      this.begin = { sql, values: [...values] };
      this.inTransaction = true;
      return heldResult('BEGIN');
    }
    if (ends && this.begin !== undefined && !this.hasWrites) {
      // Nothing of the transaction reached the server: there is nothing to end.
      this.begin = undefined;
      this.inTransaction = false;
      return heldResult(kind === 'commit' ? 'COMMIT' : 'ROLLBACK');
    }
    try {
      return await this.sendNotingFailure(this.withWaiting({ sql, values: [...values] }), ends);
    } finally {
      if (ends) this.inTransaction = false;
    }
  }

  /** Whether writes wait (a streamed query cannot go with them, nor be sent after them unseen). */
  get hasWrites(): boolean {
    return this.waiting.length > 0 || this.combined.length > 0;
  }

  /** The connection goes back to the pool: whatever it held is over (Kysely commits or rolls back before). */
  reset(): void {
    this.waiting = [];
    this.combined = [];
    this.begin = undefined;
    this.inTransaction = false;
    this.failure = undefined;
  }

  /** Sends whatever waits, in one round trip of its own (the connection's next query goes after it). */
  async sendWaiting(): Promise<void> {
    this.refuseAfterFailure();
    const statements = this.withWaiting(undefined);
    if (statements.length === 0) return;
    await this.sendNotingFailure(statements, false);
  }

  /** Sends; a failure inside the transaction, short of the statement ending it, leaves only a rollback possible. */
  private async sendNotingFailure(statements: SentStatement[], ends: boolean): Promise<unknown> {
    try {
      return await this.send(statements);
    } catch (error) {
      if (this.inTransaction && !ends) this.failure = error;
      throw error;
    }
  }

  private refuseAfterFailure(): void {
    if (this.failure !== undefined && this.inTransaction) {
      throw new Error('jifen: an earlier statement of this transaction failed; only a rollback may follow', { cause: this.failure });
    }
  }

  /** The held `begin`, the waiting writes (one statement per group) and then `statement`; nothing waits after. */
  private withWaiting(statement: SentStatement | undefined): SentStatement[] {
    this.closeGroup();
    const statements = this.begin === undefined ? this.combined : [this.begin, ...this.combined];
    if (statement !== undefined) statements.push(statement);
    this.begin = undefined;
    this.combined = [];
    return statements;
  }

  /** Combines the waiting writes into one statement, to be sent with the next. */
  private closeGroup(): void {
    if (this.waiting.length === 0) return;
    const statement = combine(this.waiting);
    if (this.waiting.length > 1) this.onCombined(statement.sql);
    this.combined.push(statement);
    this.waiting = [];
  }
}

/** What a statement does to the transaction, read from its first words. */
function statementKind(sql: string): 'begin' | 'commit' | 'rollback' | 'rollbackTo' | 'other' {
  const start = sql.trimStart().slice(0, 20).toLowerCase();
  if (start.startsWith('begin') || start.startsWith('start transaction')) return 'begin';
  if (start.startsWith('commit') || start.startsWith('end')) return 'commit';
  if (start.startsWith('rollback to')) return 'rollbackTo';
  if (start.startsWith('rollback')) return 'rollback';
  return 'other';
}

/**
 * The writes as one statement: all but the last as data-modifying CTEs, the last as the main
 * statement, each one's `$n` placeholders moved past the values of those before it.
 */
export function combine(writes: readonly WaitingWrite[]): SentStatement {
  if (writes.length === 1) return { sql: writes[0]!.sql, values: [...writes[0]!.values] };
  const values: unknown[] = [];
  const parts = writes.map((write) => {
    const offset = values.length;
    values.push(...write.values);
    return write.sql.replace(/\$(\d+)/g, (_match, index: string) => `$${Number(index) + offset}`);
  });
  const main = parts.pop()!;
  return { sql: `with ${parts.map((part, index) => `w${index} as (${part})`).join(', ')} ${main}`, values };
}
