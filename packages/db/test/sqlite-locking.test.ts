import { spawn, spawnSync } from 'node:child_process';
import Database from 'better-sqlite3';
import { describe, expect, test } from 'vitest';
import { isRetryableTransactionError } from '../src';
import { useTestDb } from '../src/testing';

/**
 * SPEC §4: SQLite writes in BEGIN IMMEDIATE transactions with a busy timeout. Kysely serialises
 * queries on its one connection, so a lock is only observable from another connection or process.
 */

/** Another connection's attempt to take the write lock without waiting: what it got. */
function tryWriteLock(path: string): string {
  const other = new Database(path, { timeout: 0 });
  try {
    other.exec('begin immediate');
    other.exec('rollback');
    return 'acquired';
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  } finally {
    other.close();
  }
}

const CHILD_TRIES_WRITE_LOCK = `
const Database = require('better-sqlite3');
const other = new Database(process.argv[1], { timeout: 0 });
try { other.exec('begin immediate'); other.exec('rollback'); process.stdout.write('acquired'); }
catch (error) { process.stdout.write(String(error.code)); }
`;

const CHILD_HOLDS_WRITE_LOCK = `
const Database = require('better-sqlite3');
const other = new Database(process.argv[1], { timeout: 0 });
other.exec('begin immediate');
process.stdout.write('locked');
setTimeout(() => { other.exec('commit'); process.stdout.write(' released'); }, Number(process.argv[2]));
`;

describe('write transactions take the lock at BEGIN (sqlite)', () => {
  const testDb = useTestDb('sqlite');
  const path = () => testDb().sqlitePath ?? '';

  test('a Kysely transaction that has only read already keeps other writers out', async () => {
    const { db } = testDb();
    await db.transaction().execute(async (trx) => {
      await trx.selectFrom('shoppers').selectAll().execute();
      expect(tryWriteLock(path())).toBe('SQLITE_BUSY');
    });
    expect(tryWriteLock(path())).toBe('acquired');
  });

  test('so does a controlled transaction, through its savepoints, until it commits', async () => {
    const { db } = testDb();
    const transaction = await db.startTransaction().execute();
    expect(tryWriteLock(path())).toBe('SQLITE_BUSY');
    const savepoint = await transaction.savepoint('event_1').execute();
    const released = await savepoint.releaseSavepoint('event_1').execute();
    expect(tryWriteLock(path())).toBe('SQLITE_BUSY');
    await released.commit().execute();
    expect(tryWriteLock(path())).toBe('acquired');
  });

  test('the lock holds against another OS process on the same file', async () => {
    const { db } = testDb();
    await db.transaction().execute(async () => {
      const child = spawnSync(process.execPath, ['-e', CHILD_TRIES_WRITE_LOCK, path()], { encoding: 'utf8' });
      expect(child.stderr).toBe('');
      expect(child.stdout).toBe('SQLITE_BUSY');
    });
  });

  test("a plain deferred BEGIN would not take the lock (the difference these tests rely on)", () => {
    const deferred = new Database(path());
    try {
      deferred.exec('begin');
      deferred.prepare('select count(*) from shoppers').get();
      expect(tryWriteLock(path())).toBe('acquired');
    } finally {
      deferred.exec('rollback');
      deferred.close();
    }
  });

  test('the busy error another writer gets is recognised as retryable', async () => {
    const { db } = testDb();
    await db.transaction().execute(async () => {
      const other = new Database(path(), { timeout: 0 });
      try {
        const failure = (() => {
          try {
            other.exec('begin immediate');
          } catch (error) {
            return error;
          }
        })();
        expect((failure as { code?: string }).code).toBe('SQLITE_BUSY');
        expect(isRetryableTransactionError(failure)).toBe(true);
      } finally {
        other.close();
      }
    });
  });

  test('a writer waits out another process holding the lock instead of failing (busy timeout)', async () => {
    const { db } = testDb();
    const holdMs = 400;
    const child = spawn(process.execPath, ['-e', CHILD_HOLDS_WRITE_LOCK, path(), String(holdMs)]);
    let output = '';
    child.stdout.setEncoding('utf8');
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: string) => {
        output += chunk;
        if (output.includes('locked')) resolve();
      });
      child.on('error', reject);
    });
    const startedAt = performance.now();
    await db.transaction().execute(async (trx) => {
      await trx.insertInto('journal_heads').values({ merchant_id: 'm_waiting', seq: 0, hash: 'genesis' }).execute();
    });
    const waitedMs = performance.now() - startedAt;
    await new Promise((resolve) => child.on('close', resolve));
    expect(output).toBe('locked released');
    expect(waitedMs).toBeGreaterThan(holdMs / 2);
    expect(await db.selectFrom('journal_heads').select('seq').where('merchant_id', '=', 'm_waiting').execute()).toEqual([
      { seq: 0 },
    ]);
  });
});
