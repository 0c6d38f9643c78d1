import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, describe, expect, test } from 'vitest';
import { createDb } from '../src';
import { SQLITE_CACHE_KIB_DEFAULT, openSqlite } from '../src/sqlite-dialect';

describe('page cache and temporary storage (sqlite)', () => {
  const folder = mkdtempSync(join(tmpdir(), 'jifen-cache-'));
  afterAll(() => rmSync(folder, { recursive: true, force: true }));

  test('every open gets a 64 MiB page cache, keeps temporary b-trees in memory and caps a reused WAL at 64 MiB', async () => {
    const opened = createDb({ url: join(folder, 'default.db') });
    try {
      const { rows: cache } = await sql<{ cache_size: number }>`pragma cache_size`.execute(opened.db);
      expect(cache[0]?.cache_size).toBe(-65_536);
      expect(SQLITE_CACHE_KIB_DEFAULT).toBe(65_536);
      const { rows: temp } = await sql<{ temp_store: number }>`pragma temp_store`.execute(opened.db);
      expect(temp[0]?.temp_store).toBe(2);
      const { rows: limit } = await sql<{ journal_size_limit: number }>`pragma journal_size_limit`.execute(opened.db);
      expect(limit[0]?.journal_size_limit).toBe(67_108_864);
    } finally {
      await opened.close();
    }
  });

  test('the cache size can be chosen, and a size that is not a whole number of KiB is refused', () => {
    const database = openSqlite({ path: join(folder, 'small.db'), synchronous: 'FULL', busyTimeoutMs: 5_000, cacheSizeKib: 8_192 });
    try {
      expect(database.pragma('cache_size', { simple: true })).toBe(-8_192);
    } finally {
      database.close();
    }
    expect(() => openSqlite({ path: join(folder, 'odd.db'), synchronous: 'FULL', busyTimeoutMs: 5_000, cacheSizeKib: 1.5 })).toThrow('cacheSizeKib must be a whole number');
  });
});
