import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { EXPIRY_REMINDER_KIND, Ledger, adjustPoints, createMerchant, orderPaid, reserveHold, runSweep, verifyMerchant } from '@jifen/api';
import { type JifenDialect, createDb } from '@jifen/db';
import { type TestDb, createTestDb, describeEachDialect, waitForLockWaiters } from '@jifen/db/testing';
import { sql } from 'kysely';
import { afterEach, expect, it } from 'vitest';

/**
 * Two sweepers on one database never expire or remind twice (issue 4 "Procedures and jobs"): two
 * `jifen sweep` processes, and two server job loops (each its own connection pool), run at once over
 * a backlog of due work — expired lots, pending points come due, lapsed holds, lots whose reminder
 * day has begun — in small batches so their transactions interleave. Every due thing happens
 * exactly once, and the ledger verifies.
 *
 * `jifen sweep` reads the real clock, so the backlog is written by a ledger whose clock is set back
 * from the real now: lots earned 400 days ago (expired), 360 days ago (expiring in about five days:
 * the 7-day reminder is due), orders paid 10 days ago (their 7 pending days are over), holds placed
 * an hour ago (15-minute holds).
 */

const SHOPPERS = 40;
const DAY = 86_400_000;
const BIN = fileURLToPath(new URL('../bin/jifen.js', import.meta.url));

interface Backlog {
  merchantId: string;
  expiredLots: number;
  remindedLots: number;
  pendingLots: number;
  lapsedHolds: number;
}

async function writeBacklog(testDb: TestDb, merchantId: string, realNow: number): Promise<Backlog> {
  let at = realNow;
  const ledger = new Ledger(testDb, { clock: () => new Date(at) });
  at = realNow - 400 * DAY;
  await createMerchant(ledger, { name: 'Sweep shop', merchantId });
  const backlog: Backlog = { merchantId, expiredLots: 0, remindedLots: 0, pendingLots: 0, lapsedHolds: 0 };
  for (let index = 0; index < SHOPPERS; index++) {
    const shopperId = `s-${index}`;
    at = realNow - 400 * DAY;
    await adjustPoints(ledger, { merchantId, shopperId, points: 500 + index, reason: 'old points', idempotencyKey: `old-${index}` });
    backlog.expiredLots += 1;
    at = realNow - 360 * DAY + index * 60_000;
    await adjustPoints(ledger, { merchantId, shopperId, points: 1_000, reason: 'expiring soon', idempotencyKey: `soon-${index}` });
    backlog.remindedLots += 1;
    at = realNow - 10 * DAY;
    await orderPaid(ledger, { merchantId, orderId: `o-${index}`, shopperId, amount: 20_000, currency: 'CNY' });
    backlog.pendingLots += 1;
    at = realNow - 60 * 60_000;
    await reserveHold(ledger, { merchantId, shopperId, checkoutId: `c-${index}`, points: 200, cartAmount: 20_000 });
    backlog.lapsedHolds += 1;
  }
  return backlog;
}

/** Runs `jifen sweep` in a process of its own; resolves to its exit code and output. */
function jifenSweep(databaseUrl: string, batchSize: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'sweep', '--batch-size', String(batchSize)], {
      env: { ...process.env, DATABASE_URL: databaseUrl, LOG_LEVEL: 'silent' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Everything the sweeps did, counted per thing it was done to. */
async function sweepEffects(testDb: TestDb, merchantId: string) {
  const perRef = (kind: string, column: 'lot_id' | 'ref') =>
    testDb.db
      .selectFrom('journal')
      .select([column, sql<number>`count(*)`.as('times')])
      .where('merchant_id', '=', merchantId)
      .where('kind', '=', kind)
      .groupBy(column)
      .execute();
  const reminders = await testDb.db
    .selectFrom('outbox')
    .select(['dedupe_key', 'payload'])
    .where('merchant_id', '=', merchantId)
    .where('kind', '=', EXPIRY_REMINDER_KIND)
    .execute();
  const times = (rows: { times: number | string }[]) => rows.map((row) => Number(row.times));
  return {
    expired: times(await perRef('expire', 'lot_id')),
    madeAvailable: times(await perRef('earn.available', 'lot_id')),
    holdsExpired: times(await perRef('hold.expire', 'ref')),
    reminderKeys: reminders.map((row) => row.dedupe_key),
    remindedLots: new Set(reminders.map((row) => (JSON.parse(row.payload) as { lotId: string }).lotId)).size,
  };
}

/**
 * Starts `sweeps` with the holds table locked, so on Postgres neither process can begin before the
 * other has started and is waiting too; then both go at once and race for the same rows. (SQLite
 * runs one write transaction at a time, reads included, so there two sweepers simply take turns.)
 */
async function startTogether<T>(testDb: TestDb, dialect: JifenDialect, sweeps: () => Promise<T>): Promise<T> {
  if (dialect !== 'postgres') return sweeps();
  let running: Promise<T> | undefined;
  await testDb.db.transaction().execute(async (trx) => {
    await sql`lock table holds in access exclusive mode`.execute(trx);
    running = sweeps();
    await waitForLockWaiters(testDb.db, 2, 60_000);
  });
  return running!;
}

async function expectEachDoneOnce(testDb: TestDb, backlog: Backlog): Promise<void> {
  const effects = await sweepEffects(testDb, backlog.merchantId);
  expect(effects.expired).toHaveLength(backlog.expiredLots);
  expect(effects.expired.every((times) => times === 1)).toBe(true);
  expect(effects.madeAvailable).toHaveLength(backlog.pendingLots);
  expect(effects.madeAvailable.every((times) => times === 1)).toBe(true);
  expect(effects.holdsExpired).toHaveLength(backlog.lapsedHolds);
  expect(effects.holdsExpired.every((times) => times === 1)).toBe(true);
  expect(effects.remindedLots).toBe(backlog.remindedLots);
  expect(new Set(effects.reminderKeys).size).toBe(effects.reminderKeys.length);
  expect(effects.reminderKeys).toHaveLength(backlog.remindedLots);
  const report = await verifyMerchant(testDb.db, backlog.merchantId);
  expect(report.chain).toBeNull();
  expect(report.violations).toEqual([]);
}

describeEachDialect('two sweepers on one database', (dialect: JifenDialect) => {
  let testDb: TestDb | undefined;
  afterEach(async () => {
    await testDb?.close();
    testDb = undefined;
  });

  it('two `jifen sweep` processes at once expire, release and remind each thing exactly once', async () => {
    testDb = await createTestDb(dialect);
    const backlog = await writeBacklog(testDb, 'sweep-cli', Date.now());
    const [first, second] = await startTogether(testDb, dialect, () => Promise.all([jifenSweep(testDb!.url, 7), jifenSweep(testDb!.url, 7)]));
    expect(first.code, first.stderr).toBe(0);
    expect(second.code, second.stderr).toBe(0);
    const reports = [first, second].map((run) => JSON.parse(run.stdout.trim().split('\n').pop()!) as { lots: { expiredLots: number }; holds: { expiredHolds: number } });
    // Between them, the two processes expired every due lot and hold once.
    expect(reports[0]!.lots.expiredLots + reports[1]!.lots.expiredLots).toBe(backlog.expiredLots);
    expect(reports[0]!.holds.expiredHolds + reports[1]!.holds.expiredHolds).toBe(backlog.lapsedHolds);
    await expectEachDoneOnce(testDb, backlog);
  }, 120_000);

  it('two server job loops, each with its own connection pool, running the sweep round after round, do each thing once', async () => {
    testDb = await createTestDb(dialect);
    const realNow = Date.now();
    const backlog = await writeBacklog(testDb, 'sweep-jobs', realNow);
    const pools = [createDb({ url: testDb.url }), createDb({ url: testDb.url })];
    try {
      const clock = () => new Date(realNow);
      await Promise.all(
        pools.map(async (pool) => {
          const ledger = new Ledger(pool, { clock });
          for (let round = 0; round < 3; round++) await runSweep(ledger, { batchSize: 5 });
        }),
      );
    } finally {
      await Promise.all(pools.map((pool) => pool.close()));
    }
    await expectEachDoneOnce(testDb, backlog);
  }, 120_000);
});
