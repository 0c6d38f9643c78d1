import { availableParallelism, loadavg } from 'node:os';
import { type BenchFigure, compared, recordBenchResults } from '@jifen/bench';
import { type LoadOptions, type LoadResult, load, startTarget } from './load';

/**
 * `npm run bench` (issue 4 "Benchmarks"): figures measured side by side in one run, on loopback, into
 * bench-results.json. Every target runs in a process of its own; the load generator keeps
 * CONNECTIONS keep-alive connections busy for SECONDS after a warm-up, and the subject and its
 * baseline alternate over ROUNDS rounds so a neighbour's burst of load falls on both; each figure
 * is the median of its rounds (as the ledger's benchmark reports), so one round that a burst hit
 * moves neither the rate nor the p99, which a mean of two rounds let it do.
 *
 * - `http.adapter.*`: the same zod-validated toy procedure behind plain node:http, tRPC's standalone
 *   adapter and jifen's lean handler (the calibration issue 4 starts from);
 * - `http.quote.*`: `shopper.checkout.quote` through the real server (token, database, rules) against
 *   plain node:http with the quote's own zod schema — targets ≥ 0.3× the rate, p99 ≤ 3× the p99;
 * - `http.ingest.sqlite.*`: `merchant.orders.paid` through the real server against plain node:http
 *   doing the same validation and one raw better-sqlite3 transaction per order (the order, its lot,
 *   two hash-chained journal rows), both at synchronous=FULL — target ≥ 0.5×; group commit is on, as
 *   `jifen serve` runs by default, and off for comparison.
 *
 * `JIFEN_BENCH_SCALE` (0 < s ≤ 1) shortens every measurement for a quick run; naming sections
 * (`tsx bench/http.bench.ts quote`; sections `adapter`, `quote`, `ingest`) runs only those.
 */
const scale = Number(process.env.JIFEN_BENCH_SCALE ?? 1);
const SECONDS = Math.max(1, 3 * scale);
const ROUNDS = 5;
const CONNECTIONS = 16;
const SECTIONS = ['adapter', 'quote', 'ingest'] as const;
const chosen = process.argv.slice(2);
const unknownSection = chosen.find((name) => !(SECTIONS as readonly string[]).includes(name));
if (unknownSection !== undefined) throw new Error(`no section "${unknownSection}"; sections: ${SECTIONS.join(', ')}`);
const runs = (section: (typeof SECTIONS)[number]) => chosen.length === 0 || chosen.includes(section);

const quoteBody = JSON.stringify({ cartAmount: 20_000, items: [{ sku: 'tea', amount: 20_000 }] });

let orderCounter = 0;
/** A paid order of ¥50–¥600 in two lines, a new order id every call, 2,000 shoppers. */
function paidOrderBody(): string {
  orderCounter += 1;
  const amount = 5_000 + ((orderCounter * 7_919) % 55_000);
  const first = Math.floor(amount * 0.6);
  return JSON.stringify({
    orderId: `order-${process.pid}-${orderCounter}`,
    shopperId: `shopper-${orderCounter % 2_000}`,
    amount,
    currency: 'CNY',
    items: [
      { sku: 'tea-250g', category: 'tea', amount: first },
      { sku: 'cup', category: 'home', amount: amount - first },
    ],
  });
}

interface Started {
  port: number;
  authorization?: string;
  stop: () => void;
}

async function withTarget<T>(name: string, args: readonly string[], work: (target: Started) => Promise<T>): Promise<T> {
  const target = await startTarget(name, args);
  try {
    return await work(target);
  } finally {
    target.stop();
  }
}

function loadOn(target: Started, options: Omit<LoadOptions, 'port' | 'connections' | 'seconds'>): Promise<LoadResult> {
  return load({
    port: target.port,
    connections: CONNECTIONS,
    seconds: SECONDS,
    ...options,
    headers: { ...options.headers, ...(target.authorization === undefined ? {} : { authorization: target.authorization }) },
  });
}

/** Median rates and p99s over the rounds, each target measured once per round, alternating. */
async function alternate(targets: { name: string; args?: string[]; path: string; body: string | (() => string) }[]): Promise<(LoadResult & { rounds?: string })[]> {
  const started = await Promise.all(targets.map((target) => startTarget(target.name, target.args ?? [])));
  try {
    const results: LoadResult[][] = targets.map(() => []);
    for (let round = 0; round < ROUNDS; round++) {
      for (const [index, target] of targets.entries()) {
        results[index]!.push(await loadOn(started[index]!, { path: target.path, body: target.body }));
      }
    }
    return results.map((rounds) => ({
      requestsPerSecond: median(rounds.map((round) => round.requestsPerSecond)),
      p50Ms: median(rounds.map((round) => round.p50Ms)),
      p99Ms: median(rounds.map((round) => round.p99Ms)),
      rounds: rounds.map((round) => `${Math.round(round.requestsPerSecond)}/${round.p99Ms.toFixed(1)}`).join(' '),
      errors: rounds.reduce((sum, round) => sum + round.errors, 0),
    }));
  } finally {
    for (const target of started) target.stop();
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

const load1 = () => loadavg()[0]!.toFixed(2);
const describe = (result: LoadResult & { rounds?: string }) =>
  `${Math.round(result.requestsPerSecond)} req/s, p50 ${result.p50Ms.toFixed(2)} ms, p99 ${result.p99Ms.toFixed(2)} ms${result.errors > 0 ? `, ${result.errors} errors` : ''}${result.rounds === undefined ? '' : ` (rounds, req/s / p99 ms: ${result.rounds})`}`;
const figures: Record<string, BenchFigure> = {};
const context = () => `${CONNECTIONS} keep-alive connections, ${SECONDS} s × ${ROUNDS} rounds (medians), load ${load1()} on ${availableParallelism()} cores`;

// The adapter calibration.
if (runs('adapter')) {
  const calibrate = (name: string) => withTarget(name, [], (target) => loadOn(target, { path: '/trpc/quote', body: quoteBody }));
  const plainResult = await calibrate('plain');
  const standaloneResult = await calibrate('standalone');
  const leanResult = await calibrate('lean');
  Object.assign(figures, {
    'http.adapter.plain.rps': { value: Math.round(plainResult.requestsPerSecond), unit: 'req/s', note: `node:http + zod; ${CONNECTIONS} keep-alive connections, ${SECONDS} s, load ${load1()}` },
    'http.adapter.standalone.rps': compared(standaloneResult.requestsPerSecond, plainResult.requestsPerSecond, 'req/s', 'tRPC 11 standalone adapter'),
    'http.adapter.lean.rps': compared(leanResult.requestsPerSecond, plainResult.requestsPerSecond, 'req/s', "jifen's lean tRPC handler"),
    'http.adapter.lean.p99': compared(leanResult.p99Ms, plainResult.p99Ms, 'ms', 'p99 latency; ratio is lean / plain'),
  });
}

// shopper.checkout.quote through the real server against plain node:http with the same zod schema.
if (runs('quote')) {
  const [plainQuote, serverQuote] = await alternate([
    { name: 'quote-plain', path: '/trpc/shopper.checkout.quote', body: quoteBody },
    { name: 'quote-server', path: '/trpc/shopper.checkout.quote', body: quoteBody },
  ]);
  console.log(`quote: plain ${describe(plainQuote!)}; server ${describe(serverQuote!)}`);
  if (serverQuote!.errors > 0 || plainQuote!.errors > 0) throw new Error('the quote benchmark had failed requests');
  figures['http.quote.rps'] = compared(serverQuote!.requestsPerSecond, plainQuote!.requestsPerSecond, 'req/s', `shopper.checkout.quote through jifen's server (token, database reads, rules); baseline: node:http + the same zod schema; target ratio ≥ 0.3; ${context()}`);
  figures['http.quote.p99'] = compared(serverQuote!.p99Ms, plainQuote!.p99Ms, 'ms', `p99 latency of the same runs; ratio is server / plain, target ≤ 3; load ${load1()}`);
}

// merchant.orders.paid through the real server against a raw better-sqlite3 transaction per request.
if (runs('ingest')) {
  const [raw, grouped, single] = await alternate([
    { name: 'ingest-raw', args: ['FULL'], path: '/trpc/merchant.orders.paid', body: paidOrderBody },
    { name: 'ingest-server', args: ['FULL', 'group-commit'], path: '/trpc/merchant.orders.paid', body: paidOrderBody },
    { name: 'ingest-server', args: ['FULL', 'no-group-commit'], path: '/trpc/merchant.orders.paid', body: paidOrderBody },
  ]);
  console.log(`ingest: raw ${describe(raw!)}; server, group commit ${describe(grouped!)}; server, one commit each ${describe(single!)}`);
  if (raw!.errors > 0 || grouped!.errors > 0 || single!.errors > 0) throw new Error('the ingestion benchmark had failed requests');
  figures['http.ingest.sqlite'] = compared(grouped!.requestsPerSecond, raw!.requestsPerSecond, 'orders/s', `merchant.orders.paid through jifen's server, group commit on (the default), synchronous=FULL; baseline: node:http + the same zod schema + one raw better-sqlite3 transaction per order (order, lot, two hash-chained journal rows) at FULL; target ratio ≥ 0.5; ${context()}`);
  figures['http.ingest.sqlite.p99'] = compared(grouped!.p99Ms, raw!.p99Ms, 'ms', `p99 latency of the same runs; ratio is server / raw; load ${load1()}`);
  figures['http.ingest.sqlite.noGroupCommit'] = compared(single!.requestsPerSecond, raw!.requestsPerSecond, 'orders/s', `as http.ingest.sqlite with GROUP_COMMIT=false: one transaction per order; load ${load1()}`);
}

recordBenchResults(figures);
