import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { afterEach, expect, test } from 'vitest';
import { migrations } from '../src/migrations';
import { type TestDb, createTestDb, describeEachDialect } from '../src/testing';

/**
 * Two processes starting on one fresh database (a server and a CLI, two servers, two replicas): each
 * runs `migrateToLatest`. On SQLite the Migrator runs in one BEGIN IMMEDIATE transaction
 * (sqlite-dialect.ts, `TransactionalDdlSqliteAdapter`), so the second waits on the busy timeout and
 * finds the work done; inside one process better-sqlite3's busy wait blocks the very thread holding
 * the lock, so this takes two processes. On Postgres Kysely's Migrator takes a transaction-scoped
 * advisory lock, and the second waits for it.
 */

const source = join(fileURLToPath(new URL('.', import.meta.url)), '..', 'src', 'index.ts');

// Each child opens the file, then waits for the same instant to migrate, so the two really overlap.
const CHILD = `
import { createDb, migrateToLatest } from ${JSON.stringify(source)};
const db = createDb({ url: process.argv[1] });
await new Promise((resolve) => setTimeout(resolve, Math.max(0, Number(process.argv[2]) - Date.now())));
try { process.stdout.write(JSON.stringify(await migrateToLatest(db.db))); }
finally { await db.close(); }
`;

function migrateInAnotherProcess(url: string, startAt: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', CHILD, url, String(startAt)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describeEachDialect('migrations started by two processes at once on a fresh database', (dialect) => {
  let testDb: TestDb | undefined;
  afterEach(async () => {
    await testDb?.close();
    testDb = undefined;
  });

  test('both succeed, and each migration runs once', async () => {
    testDb = await createTestDb(dialect, { migrate: false });
    const startAt = Date.now() + 4_000;
    const runs = await Promise.all([migrateInAnotherProcess(testDb.url, startAt), migrateInAnotherProcess(testDb.url, startAt)]);
    expect(runs.map((run) => [run.code, run.stderr])).toEqual([
      [0, ''],
      [0, ''],
    ]);
    const applied = runs.flatMap((run) => JSON.parse(run.stdout) as string[]).sort();
    expect(applied).toEqual(Object.keys(migrations).sort());
    const { rows } = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(testDb.db);
    expect(rows.map((row) => row.name)).toEqual(Object.keys(migrations));
  });
});
