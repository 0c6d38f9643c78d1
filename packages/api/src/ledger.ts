import { type Database, type JifenDb, type JifenDialect, isRetryableTransactionError, ownTransaction, releaseTransaction } from '@jifen/db';
import { type ControlledTransaction, CompiledQuery, type Kysely, type SelectQueryBuilder } from 'kysely';
import { JournalHeads, JournalWriter } from './journal';

/**
 * The ledger's one way to write (SPEC §4 "Concurrency"). Every service runs inside `ledger.write`,
 * which gives it a transaction, the instant it runs at, and the journal writer.
 *
 * - SQLite: transactions begin with `BEGIN IMMEDIATE` (see @jifen/db), so the write lock is taken
 *   before the first read and a read-modify-write can never interleave, in this process or another.
 *   With group commit on, writes that arrive together share one transaction, each in its own
 *   savepoint: one bad write rolls back alone, and every caller is answered only after the commit
 *   that made its write durable — fewer fsyncs, same durability.
 * - Postgres: each write is its own transaction; services lock the rows they change
 *   (`tx.forUpdate`), and a serialization failure or deadlock is retried a bounded number of times.
 */

export interface WriteContext {
  readonly db: Kysely<Database>;
  readonly dialect: JifenDialect;
  /** The instant this write happens at; one value for the whole write. */
  readonly now: Date;
  readonly journal: JournalWriter;
  /** `SELECT … FOR UPDATE` on Postgres; a plain select on SQLite, which already holds the write lock. */
  forUpdate<QB extends SelectQueryBuilder<Database, keyof Database, object>>(query: QB): QB;
  /**
   * True on SQLite, whose `BEGIN IMMEDIATE` made this transaction the only writer: nothing it read
   * can change before it commits, so a statement that would only take row locks, or re-read rows
   * under them, can be skipped. False on Postgres, where other writers run alongside.
   */
  readonly isOnlyWriter: boolean;
}

export interface LedgerOptions {
  /** The clock; tests pass a fixed or stepping one. */
  clock?: () => Date;
  /** Batch concurrent SQLite writes into one transaction (savepoint each). Ignored on Postgres. */
  groupCommit?: boolean;
  /** Most writes one group-commit transaction takes. */
  groupCommitMax?: number;
  /** Postgres attempts for a write that hits a serialization failure or deadlock. */
  retryAttempts?: number;
}

// Each grouped write runs in one savepoint, always of this name: the statements are built once
// (Kysely's savepoint API builds and compiles them for every write).
const SAVEPOINT = CompiledQuery.raw('savepoint write');
const RELEASE_SAVEPOINT = CompiledQuery.raw('release savepoint write');
const ROLLBACK_TO_SAVEPOINT = CompiledQuery.raw('rollback to savepoint write');

interface QueuedWrite {
  work: (tx: WriteContext) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

export class Ledger {
  readonly db: Kysely<Database>;
  readonly dialect: JifenDialect;
  private readonly clock: () => Date;
  private readonly groupCommit: boolean;
  private readonly groupCommitMax: number;
  private readonly retryAttempts: number;
  private readonly queue: QueuedWrite[] = [];
  private draining = false;

  constructor(
    readonly store: JifenDb,
    options: LedgerOptions = {},
  ) {
    this.db = store.db;
    this.dialect = store.dialect;
    this.clock = options.clock ?? (() => new Date());
    this.groupCommit = (options.groupCommit ?? false) && store.dialect === 'sqlite';
    this.groupCommitMax = options.groupCommitMax ?? 64;
    this.retryAttempts = options.retryAttempts ?? 5;
  }

  now(): Date {
    return this.clock();
  }

  /** Runs `work` in a write transaction and resolves once it is committed. */
  write<T>(work: (tx: WriteContext) => Promise<T>): Promise<T> {
    if (!this.groupCommit) return this.writeAlone(work);
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
      if (!this.draining) {
        this.draining = true;
        // Let writes that arrive in the same tick join the first batch.
        setImmediate(() => void this.drain());
      }
    });
  }

  private async writeAlone<T>(work: (tx: WriteContext) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await this.db.transaction().execute(async (trx) => {
          // SQLite: the transaction's statements run straight on the connection it holds (@jifen/db `ownTransaction`).
          ownTransaction(trx, this.db);
          try {
            const tx = this.context(trx);
            const value = await work(tx);
            await tx.journal.finish();
            return value;
          } finally {
            releaseTransaction(trx);
          }
        });
      } catch (error) {
        if (attempt >= this.retryAttempts || !isRetryableTransactionError(error)) throw error;
        // Jitter decorrelates writers that collided; it need not be unpredictable.
        await sleep(Math.floor(5 * 2 ** attempt * (0.5 + Math.random())));
      }
    }
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.groupCommitMax);
        await this.commitBatch(batch);
      }
    } finally {
      this.draining = false;
    }
  }

  private async commitBatch(batch: QueuedWrite[]): Promise<void> {
    const outcomes: Array<{ ok: true; value: unknown } | { ok: false; error: unknown }> = [];
    let trx: ControlledTransaction<Database> | undefined;
    try {
      trx = await this.beginBatch();
      ownTransaction(trx, this.db);
      // The batch's writes share the chain heads: each write moves them in memory, a failed write
      // rewinds them, and they are written back once, before the commit.
      const heads = new JournalHeads();
      for (const item of batch) {
        await trx.executeQuery(SAVEPOINT);
        const mark = heads.mark();
        try {
          const value = await item.work(this.context(trx, heads));
          await trx.executeQuery(RELEASE_SAVEPOINT);
          outcomes.push({ ok: true, value });
        } catch (error) {
          heads.rewind(mark);
          await trx.executeQuery(ROLLBACK_TO_SAVEPOINT);
          await trx.executeQuery(RELEASE_SAVEPOINT);
          outcomes.push({ ok: false, error });
        }
      }
      await heads.write(trx);
      releaseTransaction(trx);
      await trx.commit().execute();
    } catch (error) {
      if (trx) {
        releaseTransaction(trx);
        await trx.rollback().execute().catch(() => undefined);
      }
      for (const item of batch) item.reject(error);
      return;
    }
    batch.forEach((item, index) => {
      const outcome = outcomes[index]!;
      if (outcome.ok) item.resolve(outcome.value);
      else item.reject(outcome.error);
    });
  }

  /**
   * The batch's `BEGIN IMMEDIATE`, retried as `writeAlone` retries a write: another process holding
   * the write lock past the busy timeout (a long migration, a second server) fails the attempt with
   * SQLITE_BUSY before any of the batch's work ran, and the batch waits again rather than failing
   * every write in it.
   */
  private async beginBatch(): Promise<ControlledTransaction<Database>> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await this.db.startTransaction().execute();
      } catch (error) {
        if (attempt >= this.retryAttempts || !isRetryableTransactionError(error)) throw error;
        await sleep(Math.floor(5 * 2 ** attempt * (0.5 + Math.random())));
      }
    }
  }

  private context(db: Kysely<Database>, heads?: JournalHeads): WriteContext {
    const now = this.clock();
    const dialect = this.dialect;
    return {
      db,
      dialect,
      now,
      journal: new JournalWriter(db, now, heads),
      forUpdate: (query) => (dialect === 'postgres' ? query.forUpdate() : query) as typeof query,
      isOnlyWriter: dialect === 'sqlite',
    };
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
