import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';

/**
 * Sizes, repetitions and medians for the ledger benchmark. `JIFEN_BENCH_SCALE` (e.g. 0.1) shrinks
 * every size for a quick run; the default 1 is the size issue 3 names (1,000,000 lots, 100,000
 * holders). Figures are medians over rounds that alternate the subject and its baseline, so a
 * neighbour's burst of load falls on both rather than on one.
 */

export const SCALE = readScale(process.env.JIFEN_BENCH_SCALE);

function readScale(text: string | undefined): number {
  if (text === undefined || text === '') return 1;
  const scale = Number(text);
  if (!Number.isFinite(scale) || scale <= 0 || scale > 1) throw new Error(`JIFEN_BENCH_SCALE must be a number in (0, 1], not ${text}`);
  return scale;
}

/** `size` at the current scale, never below `least`. */
export function scaled(size: number, least = 1): number {
  return Math.max(least, Math.round(size * SCALE));
}

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of nothing');
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Milliseconds `work` takes. */
export async function timeMs(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

/** The 1-minute load average, for the notes: figures from a busy machine are not comparable. */
export function loadAverage(): string {
  return loadavg()[0]!.toFixed(2);
}

export function log(message: string): void {
  console.log(`[ledger bench] ${message}`);
}
