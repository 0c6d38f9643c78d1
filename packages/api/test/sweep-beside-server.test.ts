import { useTestDb } from '@jifen/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ledger } from '../src/ledger';
import { orderPaid } from '../src/orders';
import { seedDueLots } from './harness/seed-due-lots';
import { type WorkerBundle, bundleWorker, startWorker } from './harness/worker-bundle';
import { aShop } from './support-orders';

/**
 * `jifen serve` (a Ledger with group commit, as serve.ts makes it) answering a shop's orders while an
 * operator's `jifen sweep` works through a backlog of expired lots in another process on the same
 * SQLite file. Across processes a waiting writer polls for the lock — SQLite's busy handler sleeps up
 * to 100 ms between tries, better-sqlite3 blocking the event loop meanwhile — so a sweep that took the
 * lock again right after each commit kept the server's orders waiting for seconds (1.6–2.9 s seen,
 * with 200 ms batches). `jifen sweep` now pauses longer than that poll between its batches on SQLite
 * (`--pause-ms`, default 110): an order waits about one batch.
 */

const LOTS = 120_000;
const BATCH = 4_000;
const PAUSE_MS = 110; // the CLI's default on SQLite

let bundle: WorkerBundle;
beforeAll(async () => {
  bundle = await bundleWorker('sweeper');
}, 120_000);
afterAll(() => bundle?.remove());

describe('a server writing beside `jifen sweep` in another process (sqlite)', () => {
  const store = useTestDb('sqlite');

  it("answers the shop's orders within about one batch while the sweep works through a backlog", async () => {
    const server = new Ledger(store(), { groupCommit: true });
    const merchantId = await aShop(server);
    seedDueLots(store().sqlitePath!, merchantId, LOTS, Date.now());

    const sweeper = startWorker(bundle, [store().url, String(BATCH), String(PAUSE_MS)]);
    let batches = 0;
    let done = '';
    const stderr: string[] = [];
    sweeper.stdout?.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) {
        if (line.startsWith('batch ')) batches += 1;
        if (line.startsWith('done ')) done = line;
      }
    });
    sweeper.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
    const exited = new Promise<void>((resolve) => sweeper.on('exit', () => resolve()));
    try {
      const startBy = Date.now() + 30_000;
      while (batches < 2) {
        if (Date.now() > startBy || sweeper.exitCode !== null) throw new Error(`the sweeper did not start: ${stderr.join('')}`);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      const waits: number[] = [];
      for (let n = 1; n <= 40 && done === ''; n += 1) {
        const started = performance.now();
        await orderPaid(server, { merchantId, orderId: `beside-sweep-${n}`, shopperId: 'alice', amount: 10_000, currency: 'CNY' });
        waits.push(Math.round(performance.now() - started));
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const story = `waits ${waits.join(', ')} ms | sweeper: ${done || `still running after ${batches} batches`}`;
      expect(waits.length, `the sweep was still running while the orders came: ${story}`).toBeGreaterThanOrEqual(5);
      // A batch of 4,000 lots holds the lock ~50–170 ms here; an order waits for one, and the poll that
      // finds the pause: ~50–140 ms seen. Without the pause the same orders waited 740–900 ms.
      expect(Math.max(...waits), story).toBeLessThanOrEqual(500);
    } finally {
      sweeper.kill('SIGKILL');
      await exited;
    }
  }, 120_000);
});
