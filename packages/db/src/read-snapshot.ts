import { type Kysely, sql } from 'kysely';
import { isPostgres } from './prepared-query';

/**
 * Runs `work` against one moment of the database: every statement it runs reads the same committed
 * state, whatever other connections commit meanwhile. For readers that check rows against each
 * other across several statements — `verify` reads the chain head, then the journal, then the sums
 * — where a write committed between two of them would read as a broken ledger.
 *
 * - Postgres: a `repeatable read, read only` transaction. It takes no locks that writers wait for.
 * - SQLite: a deferred `BEGIN` on the connection. In WAL mode the first read fixes the snapshot
 *   until the end, and writers in other processes go on committing; this process's other
 *   statements wait until `work` is done (the connection is the process's one). A long reader also
 *   holds back the WAL checkpoint past its snapshot, so the WAL grows while it reads.
 *
 * Inside a transaction `work` simply runs in it: a transaction already reads one state of its own.
 */
export async function readSnapshot<DB, T>(db: Kysely<DB>, work: (db: Kysely<DB>) => Promise<T>): Promise<T> {
  if (db.isTransaction) return work(db);
  if (isPostgres(db)) {
    return db.transaction().setIsolationLevel('repeatable read').setAccessMode('read only').execute(work);
  }
  // Not `db.transaction()`: on SQLite jifen's driver begins every transaction IMMEDIATE, which would
  // take the write lock and stop every writer for as long as `work` reads.
  return db.connection().execute(async (connection) => {
    await sql`begin deferred`.execute(connection);
    let result: T;
    try {
      result = await work(connection);
    } catch (error) {
      // SQLite may have ended the transaction itself (an I/O error rolls back): the reader's error is what matters.
      await sql`rollback`.execute(connection).catch(() => undefined);
      throw error;
    }
    // Rolled back, not committed: anything `work` wrote by mistake is undone, as Postgres refuses it.
    await sql`rollback`.execute(connection);
    return result;
  });
}
