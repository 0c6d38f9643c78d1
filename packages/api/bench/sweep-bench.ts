import { copyFileSync, rmSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { type JifenDialect, createDb } from '@jifen/db';
import { sql } from 'kysely';
import { changeBalances } from '../src/accounts';
import { Ledger, type WriteContext } from '../src/ledger';
import { createMerchant } from '../src/merchants';
import { sweepExpiredLots } from '../src/sweep';
import { type BenchDb, freshPostgres, freshSqlite, openRawSqlite, rawPostgresClient } from './bench-databases';
import { log, scaled } from './measure';

/**
 * The expiry sweep (issue 3 "Benchmarks"): 1,000,000 lots over 100,000 shoppers, 30% of them past
 * their expiry, seeded with raw multi-row inserts (shopper sums equal to their lots, as the ledger
 * keeps them). Lots are seeded in the order a ledger accumulates them — earned one after another,
 * each expiring a fixed time after it was earned, so the oldest 30% are due — with scattered ids
 * and shoppers. The sweep expires the due ones batch by batch, journal entries and hashes included,
 * and is compared with a row-by-row loop of the same work (select the next due lot, update it,
 * update the shopper, journal it) in transactions as large as the sweep's on average — both hold the
 * write lock for as many lots a turn — run on an identical twin of the database (a copy of the SQLite
 * file; the same seed on Postgres) for a sample of the due lots, per lot, so both meet the same
 * million-lot file, not one a small sample would keep in cache.
 */

const DAY_MS = 86_400_000;
const LOTS_PER_SHOPPER = 10;
const DUE_SHARE = 0.3;

function dueCount(lots: number): number {
  return Math.floor(lots * DUE_SHARE);
}

export interface SweepFigure {
  lots: number;
  due: number;
  seconds: number;
  batches: number;
  longestTransactionMs: number;
  /** Due lots expired per second by the sweep. */
  sweepRate: number;
  /** Due lots expired per second by the row-by-row loop, over its sample. */
  loopRate: number;
  /** Due lots the row-by-row loop expired (the first ones, in expiry order). */
  loopSampleDue: number;
  /** Lots the loop took per transaction: the sweep's average batch. */
  loopBatch: number;
  seedSeconds: number;
}

interface SeedLot {
  id: string;
  shopperId: string;
  points: number;
  earnedAt: number;
  expiresAt: number;
}

/** Expiry instants one `step` apart, the first `dueCount(lots)` before `now`, the rest after it, over a year. */
function expiryStep(lots: number): number {
  return Math.max(1, Math.floor((365 * DAY_MS) / Math.max(1, lots - dueCount(lots))));
}

/** Lot k of the seed: a scattered id (the ledger's lot ids are random) and shopper, 100…9,999 point units. */
function seedLot(k: number, lots: number, now: number): SeedLot {
  const due = dueCount(lots);
  const expiresAt = now + (k < due ? -(due - k) : k - due + 1) * expiryStep(lots);
  return {
    id: `l_${((k * 2_654_435_761) >>> 0).toString(36).padStart(7, '0')}${k.toString(36)}`,
    shopperId: `shopper-${(k * 7_919) % shopperCount(lots)}`,
    points: 100 + ((k * 37) % 9_900),
    earnedAt: expiresAt - 365 * DAY_MS,
    expiresAt,
  };
}

function shopperCount(lots: number): number {
  return Math.max(1, Math.floor(lots / LOTS_PER_SHOPPER));
}

const LOT_COLUMNS =
  'id, merchant_id, shopper_id, source, source_ref, program_version, points, remaining, held, status, earned_at, available_at, expires_at, release_periods, release_period_days, released';
const SHOPPER_COLUMNS =
  'merchant_id, shopper_id, created_at, is_vip, referred_by, referral_rewarded, first_paid_at, available, pending, held, debt, tier_id, tier_confirmed_at, checkin_date, checkin_streak, capout_basis, capout_trigger, completed_referrals, flagged';
const ROWS_PER_INSERT = 500;

/** Seeds `lots` lots on SQLite through better-sqlite3, 500 rows a statement, in one transaction. */
function seedSqlite(path: string, merchantId: string, lots: number, now: number): void {
  const database = openRawSqlite(path, 'NORMAL');
  // Seeding only: a large page cache keeps the lots' six indexes in memory while a million rows go in.
  database.pragma('cache_size = -262144');
  const lotRow = `(?, ?, ?, 'order', ?, 1, ?, ?, 0, 'available', ?, ?, ?, 0, 0, ?)`;
  const insertLots = (count: number) => database.prepare(`insert into lots (${LOT_COLUMNS}) values ${Array(count).fill(lotRow).join(', ')}`);
  const fullInsert = insertLots(ROWS_PER_INSERT);
  const balances = new Map<string, number>();
  database.transaction(() => {
    for (let start = 0; start < lots; start += ROWS_PER_INSERT) {
      const count = Math.min(ROWS_PER_INSERT, lots - start);
      const values: unknown[] = [];
      for (let k = start; k < start + count; k++) {
        const lot = seedLot(k, lots, now);
        values.push(lot.id, merchantId, lot.shopperId, `order-${k}`, lot.points, lot.points, lot.earnedAt, lot.earnedAt, lot.expiresAt, lot.points);
        balances.set(lot.shopperId, (balances.get(lot.shopperId) ?? 0) + lot.points);
      }
      (count === ROWS_PER_INSERT ? fullInsert : insertLots(count)).run(values);
    }
    const shopperRow = `(?, ?, ?, 0, null, 0, null, ?, 0, 0, 0, 'member', ?, null, 0, 0, null, 0, 0)`;
    const entries = [...balances];
    for (let start = 0; start < entries.length; start += ROWS_PER_INSERT) {
      const chunk = entries.slice(start, start + ROWS_PER_INSERT);
      const values = chunk.flatMap(([shopperId, available]) => [merchantId, shopperId, now, available, now]);
      database.prepare(`insert into shoppers (${SHOPPER_COLUMNS}) values ${Array(chunk.length).fill(shopperRow).join(', ')}`).run(values);
    }
  })();
  database.pragma('wal_checkpoint(TRUNCATE)');
  database.close();
}

/** Seeds the same lots on Postgres, generated by the server (`generate_series`), then the shopper sums. */
async function seedPostgres(url: string, merchantId: string, lots: number, now: number): Promise<void> {
  const client = await rawPostgresClient(url);
  try {
    // The same lots as `seedLot`, computed by the server; ids need only be unique and scattered.
    await client.query(
      `insert into lots (${LOT_COLUMNS})
       select 'l_' || md5(k::text) || k, $1, 'shopper-' || ((k * 7919) % $2), 'order', 'order-' || k, 1, 100 + (k * 37) % 9900, 100 + (k * 37) % 9900, 0,
              'available', e - $4::bigint, e - $4::bigint, e, 0, 0, 100 + (k * 37) % 9900
       from (select k, $3::bigint + (case when k < $5 then k - $5 else k - $5 + 1 end) * $6::bigint as e
             from generate_series(0, $7::bigint - 1) as k) as seed`,
      [merchantId, shopperCount(lots), now, 365 * DAY_MS, dueCount(lots), expiryStep(lots), lots],
    );
    await client.query(
      `insert into shoppers (${SHOPPER_COLUMNS})
       select $1, shopper_id, $2, 0, null, 0, null, sum(remaining), 0, 0, 0, 'member', $2, null, 0, 0, null, 0, 0
       from lots where merchant_id = $1 group by shopper_id`,
      [merchantId, now],
    );
    await client.query('vacuum analyze lots');
    await client.query('vacuum analyze shoppers');
  } finally {
    await client.end();
  }
}

interface SeededShop {
  store: BenchDb;
  ledger: Ledger;
  merchantId: string;
  seedSeconds: number;
}

async function seededShop(dialect: JifenDialect, lots: number, now: number): Promise<SeededShop> {
  const store = dialect === 'sqlite' ? await freshSqlite('FULL') : await freshPostgres();
  const ledger = new Ledger(store, { clock: () => new Date(now) });
  const { merchantId } = await createMerchant(ledger, { name: 'Benchmark shop with a backlog' });
  const started = performance.now();
  if (dialect === 'sqlite') seedSqlite(store.sqlitePath!, merchantId, lots, now);
  else await seedPostgres(store.url, merchantId, lots, now);
  return { store, ledger, merchantId, seedSeconds: (performance.now() - started) / 1000 };
}

/** The same shop again: a copy of the SQLite file (checkpointed, nothing in its WAL), or the same seed on Postgres. */
async function twinOf(dialect: JifenDialect, shop: SeededShop, lots: number, now: number): Promise<SeededShop> {
  if (dialect === 'postgres') return seededShop(dialect, lots, now);
  const twin = await freshSqlite('FULL');
  await twin.db.destroy();
  rmSync(`${twin.sqlitePath!}-wal`, { force: true });
  rmSync(`${twin.sqlitePath!}-shm`, { force: true });
  copyFileSync(shop.store.sqlitePath!, twin.sqlitePath!);
  const store = createDb({ url: twin.url, synchronous: 'FULL' });
  return {
    store: { ...store, url: twin.url, sqlitePath: twin.sqlitePath, close: async () => (await store.close(), await twin.close()) },
    ledger: new Ledger(store, { clock: () => new Date(now) }),
    merchantId: shop.merchantId,
    seedSeconds: 0,
  };
}

/**
 * The row-by-row way: each due lot selected by the expiry index on its own, updated, its shopper
 * updated, its entry journaled — in transactions of `batchSize` lots, until `limit` lots.
 */
async function expireRowByRow(ledger: Ledger, merchantId: string, batchSize: number, limit: number): Promise<number> {
  let expired = 0;
  while (expired < limit) {
    const wanted = Math.min(batchSize, limit - expired);
    const inBatch = await ledger.write(async (tx) => {
      let count = 0;
      while (count < wanted) {
        if (!(await expireNextLot(tx, merchantId))) break;
        count += 1;
      }
      return count;
    });
    expired += inBatch;
    if (inBatch < wanted) break;
  }
  return expired;
}

async function expireNextLot(tx: WriteContext, merchantId: string): Promise<boolean> {
  const lot = await tx.db
    .selectFrom('lots')
    .select(['id', 'shopper_id', 'remaining', 'held', 'status', 'program_version', 'expires_at'])
    .where('merchant_id', '=', merchantId)
    .where('remaining', '>', 0)
    .where('expires_at', 'is not', null)
    .where('expires_at', '<=', tx.now.getTime())
    .whereRef('remaining', '>', 'held')
    .where('status', 'in', ['available', 'pending'])
    .orderBy('expires_at')
    .limit(1)
    .executeTakeFirst();
  if (!lot) return false;
  const points = Number(lot.remaining) - Number(lot.held);
  await tx.db
    .updateTable('lots')
    .set({ remaining: sql<number>`held`, status: Number(lot.held) === 0 ? 'expired' : lot.status })
    .where('id', '=', lot.id)
    .execute();
  await changeBalances(tx, merchantId, lot.shopper_id, lot.status === 'pending' ? { pending: -points } : { available: -points });
  await tx.journal.append(merchantId, {
    shopperId: lot.shopper_id,
    kind: 'expire',
    points: -points,
    ref: lot.id,
    lotId: lot.id,
    programVersion: Number(lot.program_version),
    detail: { expiresAt: Number(lot.expires_at), keptHeld: Number(lot.held) },
  });
  return true;
}

export async function sweepBench(dialect: JifenDialect): Promise<SweepFigure> {
  const lots = scaled(1_000_000, 10_000);
  const due = dueCount(lots);
  const loopSampleDue = Math.min(due, scaled(6_000, 600));
  const now = Date.now();

  const shop = await seededShop(dialect, lots, now);
  try {
    log(`${dialect}: seeded ${lots} lots in ${shop.seedSeconds.toFixed(1)} s`);
    const twin = await twinOf(dialect, shop, lots, now);
    try {
      const started = performance.now();
      const report = await sweepExpiredLots(shop.ledger, { merchantId: shop.merchantId });
      const seconds = (performance.now() - started) / 1000;
      if (report.expiredLots !== due) throw new Error(`the sweep expired ${report.expiredLots} lots, not ${due}`);
      const averageBatch = Math.max(1, Math.round(report.expiredLots / report.batches));
      log(`${dialect} sweep: ${due} of ${lots} lots in ${seconds.toFixed(2)} s, ${report.batches} batches (${averageBatch} lots on average), longest ${report.longestBatchMs.toFixed(0)} ms`);

      // The loop commits as often as the sweep did: both keep the write lock for as many lots a turn.
      const loopStarted = performance.now();
      const expired = await expireRowByRow(twin.ledger, twin.merchantId, averageBatch, loopSampleDue);
      const loopSeconds = (performance.now() - loopStarted) / 1000;
      if (expired !== loopSampleDue) throw new Error(`the row-by-row loop expired ${expired} lots, not ${loopSampleDue}`);
      const loopRate = expired / loopSeconds;
      log(`${dialect} row-by-row loop: ${expired} lots in ${loopSeconds.toFixed(2)} s (${loopRate.toFixed(0)}/s)`);
      return {
        lots,
        due,
        seconds,
        batches: report.batches,
        longestTransactionMs: report.longestBatchMs,
        sweepRate: due / seconds,
        loopRate,
        loopSampleDue,
        loopBatch: averageBatch,
        seedSeconds: shop.seedSeconds,
      };
    } finally {
      await twin.store.close();
    }
  } finally {
    await shop.store.close();
  }
}
