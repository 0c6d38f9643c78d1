import { writeSync } from 'node:fs';
import { createDb } from '@jifen/db';
import { Ledger } from '../../src/ledger';
import { runSweep } from '../../src/sweep';

/**
 * What `jifen sweep` runs (apps/server/src/cli.ts: `runSweep` on a Ledger of its own), in a second
 * OS process, for `sweep-beside-server.test.ts`. `argv`: database URL, batch size, pause between
 * batches in ms. Writes `batch <expired>` after every committed lot batch and `done <json>` at the end.
 */
const [url, batchSize, pauseMs] = process.argv.slice(2);
if (url === undefined || batchSize === undefined || pauseMs === undefined) throw new Error('sweeper: pass the database URL, batch size and pause');
const store = createDb({ url });
const started = Date.now();
const report = await runSweep(new Ledger(store), {
  batchSize: Number(batchSize),
  pauseMs: Number(pauseMs),
  onProgress: (progress) => writeSync(1, `batch ${progress.expiredLots}\n`),
});
writeSync(1, `done ${JSON.stringify({ ms: Date.now() - started, lots: report.lots })}\n`);
await store.close();
