import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite from 'better-sqlite3';
import { type Kysely, sql } from 'kysely';
import { afterAll, describe, expect, test } from 'vitest';
import { type Database, createDb } from '../src';
import { useTestDb } from '../src/testing';

async function pragma(db: Kysely<Database>, name: string): Promise<unknown> {
  const { rows } = await sql<Record<string, unknown>>`pragma ${sql.raw(name)}`.execute(db);
  // The result column is not always named after the pragma (busy_timeout answers as "timeout").
  return Object.values(rows[0] ?? {})[0];
}

function leaveWal(path: string): unknown {
  const other = new BetterSqlite(path, { timeout: 0 });
  try {
    return other.pragma('journal_mode = DELETE', { simple: true });
  } finally {
    other.close();
  }
}

describe('pragmas set on every open (sqlite)', () => {
  const testDb = useTestDb('sqlite');
  const folder = mkdtempSync(join(tmpdir(), 'jifen-pragmas-'));
  afterAll(() => rmSync(folder, { recursive: true, force: true }));

  test('WAL, synchronous FULL, a busy timeout of at least 5 s and enforced foreign keys', async () => {
    const { db } = testDb();
    expect(await pragma(db, 'journal_mode')).toBe('wal');
    expect(await pragma(db, 'synchronous')).toBe(2);
    expect(await pragma(db, 'busy_timeout')).toBeGreaterThanOrEqual(5_000);
    expect(await pragma(db, 'foreign_keys')).toBe(1);
  });

  test('synchronous NORMAL is available for benchmarks, and set again on the next open', async () => {
    const path = join(folder, 'normal.db');
    const normal = createDb({ url: `sqlite:${path}`, synchronous: 'NORMAL' });
    expect(await pragma(normal.db, 'synchronous')).toBe(1);
    await normal.close();
    const reopened = createDb({ url: path });
    expect(await pragma(reopened.db, 'synchronous')).toBe(2);
    expect(await pragma(reopened.db, 'journal_mode')).toBe('wal');
    await reopened.close();
  });

  test('the folder of a new database file is created', async () => {
    const path = join(folder, 'nested', 'deeper', 'jifen.db');
    const opened = createDb({ url: path });
    await sql`select 1`.execute(opened.db);
    await opened.close();
    expect(existsSync(path)).toBe(true);
  });

  test('a busy timeout under 5 s is refused', () => {
    expect(() => createDb({ url: join(folder, 'impatient.db'), busyTimeoutMs: 100 })).toThrow(
      'busyTimeoutMs must be a whole number of milliseconds ≥ 5000',
    );
  });

  test('closing a database no query has touched releases the file, and closing twice is harmless', async () => {
    const path = join(folder, 'untouched.db');
    const seed = new BetterSqlite(path);
    seed.pragma('journal_mode = WAL');
    seed.exec('create table shelf (item text)');
    seed.close();
    const opened = createDb({ url: path });
    // Leaving WAL mode needs every other connection to the file gone: a probe for an open handle.
    expect(() => leaveWal(path)).toThrow(expect.objectContaining({ code: 'SQLITE_BUSY' }));
    await opened.close();
    await opened.close();
    expect(leaveWal(path)).toBe('delete');
  });
});
