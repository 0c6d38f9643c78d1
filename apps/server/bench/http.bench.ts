import { compared, recordBenchResults } from '@jifen/bench';
import { type LoadResult, load, startTarget } from './load';

/**
 * `npm run bench` (issue 4 "Benchmarks"): figures measured side by side in one run, on loopback, into
 * bench-results.json. So far the adapter calibration — the same zod-validated procedure behind plain
 * node:http, tRPC's standalone adapter and jifen's lean handler. The quote and order-ingestion
 * benchmarks against their baselines join here.
 */
const seconds = Number(process.env.JIFEN_BENCH_SCALE ?? 1) * 5;
const body = JSON.stringify({ cartAmount: 20_000, items: [{ sku: 'tea', amount: 20_000 }] });

async function measure(target: 'plain' | 'standalone' | 'lean'): Promise<LoadResult> {
  const server = await startTarget(target);
  try {
    return await load({ port: server.port, path: '/trpc/quote', body, connections: 16, seconds });
  } finally {
    server.stop();
  }
}

const plain = await measure('plain');
const standalone = await measure('standalone');
const lean = await measure('lean');
recordBenchResults({
  'http.adapter.plain.rps': { value: Math.round(plain.requestsPerSecond), unit: 'req/s', note: 'node:http + zod, 16 connections' },
  'http.adapter.standalone.rps': compared(standalone.requestsPerSecond, plain.requestsPerSecond, 'req/s', 'tRPC 11 standalone adapter'),
  'http.adapter.lean.rps': compared(lean.requestsPerSecond, plain.requestsPerSecond, 'req/s', "jifen's lean tRPC handler"),
  'http.adapter.lean.p99': compared(lean.p99Ms, plain.p99Ms, 'ms', 'p99 latency; ratio is lean / plain'),
});
