import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Kysely, sql } from 'kysely';
import { afterEach, expect, test } from 'vitest';
import { type Database, type JifenDialect, type TableName, migrateToLatest } from '../src';
import { migrations } from '../src/migrations';
import { type TestDb, createTestDb, describeEachDialect } from '../src/testing';
import { aCouponTemplate, aLot, aPoolState } from './builders';

const TABLES: TableName[] = [
  'merchants', 'api_keys', 'program_versions', 'journal_heads', 'journal', 'shoppers', 'orders', 'order_events',
  'refunds', 'lots', 'holds', 'hold_lots', 'coupon_templates', 'coupons', 'pool_state', 'pool_history',
  'budget_months', 'shopper_days', 'outbox', 'idempotency',
];

const INDEXES = [
  'api_keys_key_hash_key', 'journal_shopper_idx', 'shoppers_capout_trigger_idx', 'orders_shopper_idx',
  'order_events_waiting_idx', 'lots_expiry_due_idx', 'lots_shopper_expiry_idx', 'lots_pending_idx', 'lots_source_idx',
  'holds_checkout_key', 'holds_expiry_idx', 'coupons_idempotency_key', 'coupons_shopper_template_idx',
  'outbox_dedupe_key', 'outbox_due_idx',
];

async function indexNames(db: Kysely<Database>, dialect: JifenDialect): Promise<string[]> {
  const query =
    dialect === 'sqlite'
      ? sql<{ name: string }>`select name from sqlite_master where type = 'index' and name not like 'sqlite_%'`
      : sql<{ name: string }>`select indexname as name from pg_indexes where schemaname = 'public' and indexname not like '%_pkey'`;
  const { rows } = await query.execute(db);
  return rows.map((row) => row.name).filter((name) => !name.startsWith('kysely_'));
}

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

describeEachDialect('migrations', (dialect) => {
  let testDb: TestDb | undefined;
  afterEach(async () => {
    await testDb?.close();
    testDb = undefined;
  });

  test('migrating an empty database runs every migration in order and creates every table of the contract', async () => {
    testDb = await createTestDb(dialect, { migrate: false });
    const ran = await migrateToLatest(testDb.db);
    expect(ran).toEqual(Object.keys(migrations));
    expect(ran[0]).toBe('0001-ledger');
    const tables = await testDb.db.introspection.getTables();
    expect(tables.map((table) => table.name).sort()).toEqual([...TABLES].sort());
  });

  test('migrating an up-to-date database runs nothing and changes nothing', async () => {
    testDb = await createTestDb(dialect);
    const before = await testDb.db.introspection.getTables();
    expect(await migrateToLatest(testDb.db)).toEqual([]);
    expect(await testDb.db.introspection.getTables()).toEqual(before);
  });

  test('every index of the contract exists under its documented name', async () => {
    testDb = await createTestDb(dialect);
    expect(await indexNames(testDb.db, dialect)).toEqual(expect.arrayContaining(INDEXES));
  });

  test('0003 replaces the partial open-lots index by one the expiry sweep never writes, and its down restores it', async () => {
    testDb = await createTestDb(dialect, { migrate: false });
    await migrateToLatest(testDb.db);
    const names = await indexNames(testDb.db, dialect);
    expect(names).toContain('lots_shopper_expiry_idx');
    expect(names).not.toContain('lots_shopper_open_idx');
    await migrations['0003-lots-shopper-expiry']!.down!(testDb.db);
    const restored = await indexNames(testDb.db, dialect);
    expect(restored).toContain('lots_shopper_open_idx');
    expect(restored).not.toContain('lots_shopper_expiry_idx');
  });

  test('0004 gives orders a column for the paid answer, empty on orders paid before it, and its down removes it', async () => {
    testDb = await createTestDb(dialect, { migrate: false });
    await migrateToLatest(testDb.db);
    const columnsOfOrders = async () => (await testDb!.db.introspection.getTables()).find((table) => table.name === 'orders')!.columns.map((column) => column.name);
    expect(await columnsOfOrders()).toContain('paid_response');
    await migrations['0004-orders-paid-response']!.down!(testDb.db);
    expect(await columnsOfOrders()).not.toContain('paid_response');
    expect(await columnsOfOrders()).toContain('payload_hash');
  });

  test('0005 gives coupons the columns of their redemption, and its down removes them', async () => {
    testDb = await createTestDb(dialect, { migrate: false });
    await migrateToLatest(testDb.db);
    const columnsOfCoupons = async () => (await testDb!.db.introspection.getTables()).find((table) => table.name === 'coupons')!.columns.map((column) => column.name);
    expect(await columnsOfCoupons()).toEqual(expect.arrayContaining(['redeemed_amount', 'redeemed_shipping', 'redeemed_discount']));
    await migrations['0005-coupons-redeemed']!.down!(testDb.db);
    const after = await columnsOfCoupons();
    expect(after.filter((name) => name.startsWith('redeemed_'))).toEqual(['redeemed_at']);
    expect(after).toContain('order_id');
  });

  test('a failing migration throws an error naming the migration, with the driver error as cause', async () => {
    testDb = await createTestDb(dialect, { migrate: false });
    await sql`create table merchants (id text)`.execute(testDb.db);
    const failure = await migrateToLatest(testDb.db).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(Error);
    expect((failure as Error).message).toMatch(/^database migration failed at 0001-ledger: .*merchants/);
    expect((failure as Error).cause).toBeInstanceOf(Error);
  });

  test('a fractional amount is refused by the engine rather than stored', async () => {
    testDb = await createTestDb(dialect);
    await expect(testDb.db.insertInto('pool_state').values(aPoolState({ amount: 12.5 })).execute()).rejects.toThrow();
    expect(await testDb.db.selectFrom('pool_state').selectAll().execute()).toEqual([]);
  });

  test('a lot remainder below zero is refused (SPEC §4 invariant)', async () => {
    testDb = await createTestDb(dialect);
    await expect(testDb.db.insertInto('lots').values(aLot({ remaining: -1 })).execute()).rejects.toThrow(/lots_remaining_check|CHECK/i);
    await testDb.db.insertInto('lots').values(aLot({ remaining: 0 })).execute();
  });

  test('issuing coupons beyond a template stock is refused; unlimited stock is not limited', async () => {
    testDb = await createTestDb(dialect);
    await testDb.db.insertInto('coupon_templates').values(aCouponTemplate({ stock_total: 10, issued: 10 })).execute();
    await expect(
      testDb.db.updateTable('coupon_templates').set({ issued: 11 }).where('template_id', '=', 'tpl_10_off').execute(),
    ).rejects.toThrow(/coupon_templates_stock_check|CHECK/i);
    await testDb.db
      .insertInto('coupon_templates')
      .values(aCouponTemplate({ template_id: 'tpl_free', stock_total: null, issued: 1_000_000 }))
      .execute();
  });

  test('a status outside the contract is refused', async () => {
    testDb = await createTestDb(dialect);
    const lot = { ...aLot(), status: 'spent' } as unknown as ReturnType<typeof aLot>;
    await expect(testDb.db.insertInto('lots').values(lot).execute()).rejects.toThrow(/lots_status_check|CHECK/i);
  });

  test('two processes migrating the fresh database at once both succeed, and each migration runs once', async () => {
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
