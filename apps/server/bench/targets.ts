import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ledger, adjustPoints, createMerchant, mintShopperToken, schemas } from '@jifen/api';
import { RAW_ORDER_SQL } from '@jifen/api/testing';
import { type SqliteSynchronous, createDb, migrateToLatest } from '@jifen/db';
import { initTRPC } from '@trpc/server';
import { createHTTPServer } from '@trpc/server/adapters/standalone';
import Database from 'better-sqlite3';
import { z } from 'zod';
import { createServer as createJifenServer } from '../src/http/server';
import { createLogger } from '../src/logger';
import { createTrpcHandler } from '../src/http/trpc-handler';
import type { TargetInfo } from './load';

/**
 * The servers the HTTP benchmark compares, each started in its own process (`tsx targets.ts <name>`)
 * so the load generator never shares their event loop:
 *
 * - `plain`, `standalone`, `lean`: the same zod-validated toy procedure behind plain node:http,
 *   tRPC's standalone adapter and jifen's lean handler — the adapter calibration;
 * - `quote-plain` / `quote-server`: `shopper.checkout.quote`'s own zod schema behind plain node:http,
 *   and the real quote through jifen's server (token check, database reads, the rules);
 * - `ingest-raw <sync>` / `ingest-server <sync> <group>`: `merchant.orders.paid` as a plain node:http
 *   endpoint that validates with the same schema and writes the order, its lot and two hash-chained
 *   journal rows with raw better-sqlite3 in one transaction per request, and through jifen's server
 *   and ledger, on the same migrated schema at the same `synchronous` setting.
 */

const quoteInput = z.strictObject({
  cartAmount: z.number().refine((value) => Number.isSafeInteger(value) && value >= 0),
  items: z.array(z.strictObject({ sku: z.string().max(128).optional(), amount: z.number().int().min(0) })).max(200).optional(),
});

function answer(input: z.output<typeof quoteInput>) {
  return { cartAmount: input.cartAmount, maxPoints: Math.floor(input.cartAmount / 2), step: 1 };
}

const t = initTRPC.create();
const router = t.router({ quote: t.procedure.input(quoteInput).mutation(({ input }) => answer(input)) });

/** A node:http server that hands each request's whole body to `respond`. */
function bodyServer(respond: (body: string, request: IncomingMessage, response: ServerResponse) => void): Server {
  return createServer((request, response) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (body += chunk));
    request.on('end', () => respond(body, request, response));
  });
}

function json(response: ServerResponse, status: number, value: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
}

/** The body parsed as JSON and checked by `schema`; null once a 400 has been answered. */
function validBody<Schema extends z.ZodType>(body: string, schema: Schema, response: ServerResponse): z.output<Schema> | null {
  let input: unknown;
  try {
    input = JSON.parse(body);
  } catch {
    json(response, 400, { error: 'body: is not valid JSON' });
    return null;
  }
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    json(response, 400, { error: parsed.error.issues[0]?.message ?? 'invalid' });
    return null;
  }
  return parsed.data;
}

function plain() {
  return bodyServer((body, _request, response) => {
    const parsed = quoteInput.safeParse(JSON.parse(body));
    json(response, parsed.success ? 200 : 400, parsed.success ? { result: { data: answer(parsed.data) } } : { error: 'bad' });
  });
}

function lean() {
  const handle = createTrpcHandler({ router });
  return bodyServer((body, _request, response) => {
    void handle({ method: 'POST', path: 'quote', query: new URLSearchParams(), body }, {}).then((result) => {
      response.writeHead(result.status, { 'content-type': 'application/json' }).end(result.body);
    });
  });
}

function standalone() {
  return createHTTPServer({ router, basePath: '/trpc/' });
}

/** The quote's own input schema and nothing else: what any HTTP endpoint must at least do. */
function quotePlain() {
  return bodyServer((body, _request, response) => {
    const input = validBody(body, schemas.checkoutQuoteInput, response);
    if (input === null) return;
    const { cartAmount } = input;
    json(response, 200, { result: { data: { cartAmount, availablePoints: 50_000, redeemable: { minPoints: 100, maxPoints: Math.floor(cartAmount / 2), step: 1 } } } });
  });
}

/** A migrated SQLite file in a temp folder, removed when the process ends. */
async function freshSqlite(synchronous: SqliteSynchronous) {
  const folder = mkdtempSync(join(tmpdir(), 'jifen-http-bench-'));
  const path = join(folder, 'jifen.db');
  const store = createDb({ url: `sqlite:${path}`, synchronous });
  await migrateToLatest(store.db);
  process.once('exit', () => rmSync(folder, { recursive: true, force: true }));
  return { store, path };
}

function jifenServer(ledger: Ledger): Server {
  return createJifenServer({ ledger, logger: createLogger('silent'), shopperRate: null });
}

/** The real server answering quotes for a shopper who has points to spend. */
async function quoteServer(): Promise<{ server: Server; authorization: string }> {
  const { store } = await freshSqlite('FULL');
  const ledger = new Ledger(store);
  const shop = await createMerchant(ledger, { name: 'Quote bench shop' });
  for (let index = 0; index < 5; index++) {
    await adjustPoints(ledger, { merchantId: shop.merchantId, shopperId: '42', points: 10_000, reason: 'bench', idempotencyKey: `bench-${index}` });
  }
  const { token } = await mintShopperToken({ merchantId: shop.merchantId, shopperId: '42', widgetSecret: shop.widgetSecret, now: new Date(), ttlSeconds: 3600 });
  return { server: jifenServer(ledger), authorization: `Bearer ${token}` };
}

/** The real server ingesting paid orders, group commit on or off. */
async function ingestServer(synchronous: SqliteSynchronous, groupCommit: boolean): Promise<{ server: Server; authorization: string }> {
  const { store } = await freshSqlite(synchronous);
  const ledger = new Ledger(store, { groupCommit });
  const shop = await createMerchant(ledger, { name: 'Ingest bench shop' });
  return { server: jifenServer(ledger), authorization: `Bearer ${shop.apiKey}` };
}

/** node:http + the same zod schema + one raw better-sqlite3 transaction per order. */
async function ingestRaw(synchronous: SqliteSynchronous): Promise<{ server: Server; authorization: string }> {
  const { store, path } = await freshSqlite(synchronous);
  await store.close();
  const database = new Database(path, { timeout: 5_000 });
  database.pragma('journal_mode = WAL');
  database.pragma(`synchronous = ${synchronous}`);
  const begin = database.prepare('begin immediate');
  const commit = database.prepare('commit');
  const rollback = database.prepare('rollback');
  const insertOrder = database.prepare(RAW_ORDER_SQL.order);
  const insertLot = database.prepare(RAW_ORDER_SQL.lot);
  const insertJournal = database.prepare(RAW_ORDER_SQL.journal);
  const merchantId = 'raw-shop';
  let seq = 0;
  let prevHash = '0'.repeat(64);
  const server = bodyServer((body, _request, response) => {
    const order = validBody(body, schemas.ordersPaidInput, response);
    if (order === null) return;
    const at = Date.now();
    const points = Math.floor(order.amount * 0.05);
    const lotId = `lot-${order.orderId}`;
    try {
      begin.run();
      insertOrder.run(merchantId, order.orderId, order.shopperId, order.amount, JSON.stringify(order.items ?? []), at, order.amount, points, createHash('sha256').update(body).digest('hex'));
      insertLot.run(lotId, merchantId, order.shopperId, order.orderId, points, points, at, at + 7 * 86_400_000, at + 365 * 86_400_000, points);
      for (const entry of [0, 1]) {
        seq += 1;
        const detail = JSON.stringify({ eligible: order.amount, entry });
        const hash = createHash('sha256').update(`${prevHash}\n${seq}|${order.orderId}|${points}|${detail}|${at}`).digest('hex');
        insertJournal.run(merchantId, seq, order.shopperId, entry === 0 ? 'earn' : 'earn.note', entry === 0 ? points : 0, 0, order.orderId, lotId, null, 1, detail, at, prevHash, hash);
        prevHash = hash;
      }
      commit.run();
    } catch (error) {
      if (database.inTransaction) rollback.run();
      json(response, 500, { error: String(error) });
      return;
    }
    json(response, 200, { result: { data: { orderId: order.orderId, earned: { points, status: 'pending' } } } });
  });
  return { server, authorization: 'Bearer raw' };
}

// `stop()` sends SIGTERM: exit normally so the temp folders are removed.
process.once('SIGTERM', () => process.exit(0));

const [name = '', ...args] = process.argv.slice(2);
const synchronous = (args[0] === 'NORMAL' ? 'NORMAL' : 'FULL') satisfies SqliteSynchronous;

async function start(): Promise<{ server: Server; authorization?: string }> {
  switch (name) {
    case 'plain':
      return { server: plain() };
    case 'lean':
      return { server: lean() };
    case 'standalone':
      return { server: standalone() };
    case 'quote-plain':
      return { server: quotePlain() };
    case 'quote-server':
      return quoteServer();
    case 'ingest-raw':
      return ingestRaw(synchronous);
    case 'ingest-server':
      return ingestServer(synchronous, args[1] !== 'no-group-commit');
    default:
      throw new Error(`no bench target "${name}"`);
  }
}

const { server, authorization } = await start();
server.listen(0, '127.0.0.1', () => {
  const info: TargetInfo = { port: (server.address() as AddressInfo).port, ...(authorization === undefined ? {} : { authorization }) };
  process.send?.(info);
});
