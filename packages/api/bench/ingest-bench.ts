import { createHash } from 'node:crypto';
import type { SqliteSynchronous } from '@jifen/db';
import type Database from 'better-sqlite3';
import type pg from 'pg';
import { Ledger } from '../src/ledger';
import { createMerchant } from '../src/merchants';
import { type OrderPaidInput, orderPaid } from '../src/orders';
import { RAW_ORDER_SQL } from '../src/testing';
import { type BenchDb, freshPostgres, freshSqlite, openRawSqlite, rawPostgresClient } from './bench-databases';
import { log, median, scaled, timeMs } from './measure';

/**
 * Order ingestion (issue 3 "Benchmarks"): `orderPaid` through the services, one event per
 * transaction, against the raw driver writing the rows an order event leaves behind — the order,
 * its lot and two journal entries — one event per transaction, in the same schema. The services
 * do more than that (idempotency record, shopper, tier, daily and monthly budget rows, the chain
 * head, hashes of a canonical encoding); the ratio says what that costs.
 */

const ROUNDS = 5;
/** Distinct shoppers the orders cycle through: most shoppers have a few orders, as in a shop. */
const SHOPPERS = 2_000;

export interface IngestFigure {
  /** Events per second through the services (median of the rounds). */
  services: number;
  /** Events per second through the raw driver (median of the rounds). */
  raw: number;
  events: number;
  rounds: number;
}

let orderCounter = 0;

/** A paid order of ¥50–¥600 in two lines, as a shop platform sends it. */
export function aPaidOrder(merchantId: string): OrderPaidInput {
  orderCounter += 1;
  const amount = 5_000 + ((orderCounter * 7_919) % 55_000);
  const first = Math.floor(amount * 0.6);
  return {
    merchantId,
    orderId: `order-${orderCounter}`,
    shopperId: `shopper-${orderCounter % SHOPPERS}`,
    amount,
    currency: 'CNY',
    items: [
      { sku: 'tea-250g', category: 'tea', amount: first },
      { sku: 'cup', category: 'home', amount: amount - first },
    ],
  };
}

/** The rows of one order event, as a hand-written ingestion would store them. */
class RawOrderRows {
  private seq = 0;
  private prevHash = '0'.repeat(64);

  constructor(readonly merchantId: string) {}

  next(): { order: unknown[]; lot: unknown[]; journal: unknown[][] } {
    const input = aPaidOrder(this.merchantId);
    const at = Date.now();
    const points = Math.floor(input.amount * 0.05);
    const lotId = `lot-${input.orderId}`;
    const journal = [0, 1].map((entry) => {
      this.seq += 1;
      const detail = JSON.stringify({ eligible: input.amount, entry });
      const hash = createHash('sha256').update(`${this.prevHash}\n${this.seq}|${input.orderId}|${points}|${detail}|${at}`).digest('hex');
      const row = [this.merchantId, this.seq, input.shopperId, entry === 0 ? 'earn' : 'earn.note', entry === 0 ? points : 0, 0, input.orderId, lotId, null, 1, detail, at, this.prevHash, hash];
      this.prevHash = hash;
      return row;
    });
    return {
      order: [this.merchantId, input.orderId, input.shopperId, input.amount, JSON.stringify(input.items), at, input.amount, points, 'h'.repeat(64)],
      lot: [lotId, this.merchantId, input.shopperId, input.orderId, points, points, at, at + 7 * 86_400_000, at + 365 * 86_400_000, points],
      journal,
    };
  }
}

/** The raw better-sqlite3 ingestion: prepared statements, one `BEGIN IMMEDIATE … COMMIT` per event. */
function rawSqliteWriter(database: Database.Database): (events: number) => void {
  const rows = new RawOrderRows('raw-shop');
  const begin = database.prepare('begin immediate');
  const commit = database.prepare('commit');
  const insertOrder = database.prepare(RAW_ORDER_SQL.order);
  const insertLot = database.prepare(RAW_ORDER_SQL.lot);
  const insertJournal = database.prepare(RAW_ORDER_SQL.journal);
  return (events) => {
    for (let event = 0; event < events; event++) {
      const { order, lot, journal } = rows.next();
      begin.run();
      insertOrder.run(order);
      insertLot.run(lot);
      for (const entry of journal) insertJournal.run(entry);
      commit.run();
    }
  };
}

async function servicesShop(store: BenchDb, options: { groupCommit?: boolean } = {}): Promise<{ ledger: Ledger; merchantId: string }> {
  const ledger = new Ledger(store, { groupCommit: options.groupCommit ?? false });
  const { merchantId } = await createMerchant(ledger, { name: 'Benchmark tea shop' });
  return { ledger, merchantId };
}

/**
 * `events` orders from `callers` concurrent callers, each waiting for its answer before sending the
 * next; caller k sends orders of shop k mod the number of shops.
 */
async function ingestConcurrently(ledger: Ledger, merchantIds: string | readonly string[], events: number, callers: number): Promise<void> {
  const shops = typeof merchantIds === 'string' ? [merchantIds] : merchantIds;
  let left = events;
  await Promise.all(
    Array.from({ length: callers }, async (_, caller) => {
      const merchantId = shops[caller % shops.length]!;
      while (left > 0) {
        left -= 1;
        await orderPaid(ledger, aPaidOrder(merchantId));
      }
    }),
  );
}

async function rounds(events: number, subject: () => Promise<unknown>, baseline: () => Promise<unknown>): Promise<{ subject: number; baseline: number }> {
  const subjectRates: number[] = [];
  const baselineRates: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    subjectRates.push((events / (await timeMs(subject))) * 1000);
    baselineRates.push((events / (await timeMs(baseline))) * 1000);
  }
  return { subject: median(subjectRates), baseline: median(baselineRates) };
}

/** SQLite, one caller, one event per transaction, at `synchronous` for both sides. */
export async function sqliteIngest(synchronous: SqliteSynchronous): Promise<IngestFigure> {
  const events = scaled(2_000, 200);
  const services = await freshSqlite(synchronous);
  const rawStore = await freshSqlite(synchronous);
  const rawPath = rawStore.sqlitePath!;
  await rawStore.db.destroy();
  const raw = openRawSqlite(rawPath, synchronous);
  try {
    const { ledger, merchantId } = await servicesShop(services);
    const writeRaw = rawSqliteWriter(raw);
    await ingestConcurrently(ledger, merchantId, 300, 1);
    writeRaw(300);
    const rates = await rounds(
      events,
      () => ingestConcurrently(ledger, merchantId, events, 1),
      async () => writeRaw(events),
    );
    log(`sqlite ${synchronous}: services ${rates.subject.toFixed(0)}/s, raw ${rates.baseline.toFixed(0)}/s`);
    return { services: rates.subject, raw: rates.baseline, events, rounds: ROUNDS };
  } finally {
    raw.close();
    await rawStore.close();
    await services.close();
  }
}

/** SQLite at FULL: 16 concurrent callers through group commit against the raw driver one event per transaction. */
export async function sqliteGroupCommitIngest(callers: number): Promise<IngestFigure> {
  const events = scaled(4_000, 400);
  const services = await freshSqlite('FULL');
  const rawStore = await freshSqlite('FULL');
  const rawPath = rawStore.sqlitePath!;
  await rawStore.db.destroy();
  const raw = openRawSqlite(rawPath, 'FULL');
  try {
    const { ledger, merchantId } = await servicesShop(services, { groupCommit: true });
    const writeRaw = rawSqliteWriter(raw);
    await ingestConcurrently(ledger, merchantId, 300, callers);
    writeRaw(300);
    const rates = await rounds(
      events,
      () => ingestConcurrently(ledger, merchantId, events, callers),
      async () => writeRaw(events),
    );
    log(`sqlite group commit ×${callers}: services ${rates.subject.toFixed(0)}/s, raw FULL ${rates.baseline.toFixed(0)}/s`);
    return { services: rates.subject, raw: rates.baseline, events, rounds: ROUNDS };
  } finally {
    raw.close();
    await rawStore.close();
    await services.close();
  }
}

const PG_INSERT_ORDER = numbered(RAW_ORDER_SQL.order);
const PG_INSERT_LOT = numbered(RAW_ORDER_SQL.lot);
const PG_INSERT_JOURNAL = numbered(RAW_ORDER_SQL.journal);

/** `?` placeholders as Postgres' `$1, $2, …`. */
function numbered(statement: string): string {
  let index = 0;
  return statement.replace(/\?/g, () => `$${++index}`);
}

/** Raw `pg`: each client writes its events one transaction each, as the services' writers do. */
async function writeRawPostgres(clients: readonly pg.Client[], rows: RawOrderRows, events: number): Promise<void> {
  let left = events;
  await Promise.all(
    clients.map(async (client) => {
      while (left > 0) {
        left -= 1;
        const { order, lot, journal } = rows.next();
        await client.query('begin');
        await client.query(PG_INSERT_ORDER, order);
        await client.query(PG_INSERT_LOT, lot);
        for (const entry of journal) await client.query(PG_INSERT_JOURNAL, entry);
        await client.query('commit');
      }
    }),
  );
}

/**
 * Postgres, `writers` concurrent writers through the services against raw `pg` with as many
 * clients. With one shop every order of every writer serialises on that shop's monthly budget row
 * and journal chain head (issue 3: exact budgets, a gapless chain); with a shop per writer they do not.
 */
export async function postgresIngest(writers: number, shops: number): Promise<IngestFigure> {
  const events = scaled(1_600, 160);
  const services = await freshPostgres({ maxConnections: writers });
  const rawStore = await freshPostgres();
  const clients: pg.Client[] = [];
  try {
    const ledger = new Ledger(services);
    const merchantIds: string[] = [];
    for (let shop = 0; shop < shops; shop++) merchantIds.push((await createMerchant(ledger, { name: `Benchmark tea shop ${shop + 1}` })).merchantId);
    for (let client = 0; client < writers; client++) clients.push(await rawPostgresClient(rawStore.url));
    const rows = new RawOrderRows('raw-shop');
    await ingestConcurrently(ledger, merchantIds, 200, writers);
    await writeRawPostgres(clients, rows, 200);
    const rates = await rounds(
      events,
      () => ingestConcurrently(ledger, merchantIds, events, writers),
      () => writeRawPostgres(clients, rows, events),
    );
    log(`postgres ×${writers}, ${shops} shop(s): services ${rates.subject.toFixed(0)}/s, raw ${rates.baseline.toFixed(0)}/s`);
    return { services: rates.subject, raw: rates.baseline, events, rounds: ROUNDS };
  } finally {
    await Promise.all(clients.map((client) => client.end()));
    await rawStore.close();
    await services.close();
  }
}
