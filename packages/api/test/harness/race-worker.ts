import { createDb } from '@jifen/db';
import { exchangeCoupon } from '../../src/coupons';
import { JifenError } from '../../src/errors';
import { reserveHold } from '../../src/holds';
import { Ledger } from '../../src/ledger';
import { orderPaid, orderRefunded } from '../../src/orders';
import { sweepExpiredLots } from '../../src/sweep';
import { type RaceCommand, type RaceOperation, type RaceOutcome, type RaceReport, UNEXPECTED_ERROR, wallClockMs } from './race-protocol';

/**
 * A race worker: one OS process with its own connection(s) to the test database (`argv[2]` is its
 * URL; `argv[3]` 'group-commit' turns the ledger's group commit on). It takes a batch of operations,
 * says it is ready, waits at the barrier for the parent's `go`, then fires the whole batch at once
 * and reports each outcome. On SQLite every worker is a separate writer on the same file, so the
 * races are decided by the engine's locks, not by Kysely's single in-process connection; with group
 * commit, a worker's batch shares one transaction, a savepoint per write. On Postgres each worker is
 * a pool of connections.
 */

const url = process.argv[2];
if (url === undefined) throw new Error('race-worker: pass the database URL as the first argument');
// Several processes queue on one SQLite file here; under a loaded CI machine 5 s is not always enough.
const store = createDb({ url, maxConnections: 4, busyTimeoutMs: 30_000 });
let now = new Date(0);
const ledger = new Ledger(store, { clock: () => now, groupCommit: process.argv[3] === 'group-commit' });
let batch: RaceOperation[] = [];

function report(message: RaceReport): void {
  process.send?.(message);
}

function run(operation: RaceOperation): Promise<unknown> {
  switch (operation.kind) {
    case 'orderPaid': {
      const { paidAt, ...input } = operation.input;
      return orderPaid(ledger, { ...input, ...(paidAt === undefined ? {} : { paidAt: new Date(paidAt) }) });
    }
    case 'orderRefunded':
      return orderRefunded(ledger, operation.input);
    case 'reserveHold':
      return reserveHold(ledger, operation.input);
    case 'exchangeCoupon':
      return exchangeCoupon(ledger, operation.input);
    case 'sweepExpiredLots': {
      // When each batch ended, and how much had expired by then: lets the parent see the sweepers overlap.
      const batches: Array<{ at: number; expiredLots: number }> = [];
      return sweepExpiredLots(ledger, { ...operation.input, onProgress: (progress) => batches.push({ at: wallClockMs(), expiredLots: progress.expiredLots }) }).then((report) => ({ ...report, batchesAt: batches }));
    }
  }
}

async function timed(operation: RaceOperation): Promise<RaceOutcome> {
  const startedAt = wallClockMs();
  try {
    const value = await run(operation);
    return { ok: true, value, startedAt, endedAt: wallClockMs(), pid: process.pid };
  } catch (error) {
    const endedAt = wallClockMs();
    if (error instanceof JifenError) {
      return {
        ok: false,
        refusal: { reason: error.reason, param: error.param ?? null, category: error.category, facts: JSON.parse(JSON.stringify(error.facts)) as Record<string, unknown>, message: error.message },
        startedAt,
        endedAt,
        pid: process.pid,
      };
    }
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    return { ok: false, refusal: { reason: UNEXPECTED_ERROR, param: null, category: 'INTERNAL', facts: {}, message }, startedAt, endedAt, pid: process.pid };
  }
}

process.on('message', (command: RaceCommand) => {
  switch (command.type) {
    case 'prepare':
      now = new Date(command.now);
      batch = command.operations;
      report({ type: 'ready' });
      return;
    case 'go': {
      const operations = batch;
      batch = [];
      // Every operation starts in this same tick: the whole batch is in flight at once.
      Promise.all(operations.map(timed)).then(
        (outcomes) => report({ type: 'done', outcomes }),
        (error: unknown) => report({ type: 'failed', error: String(error) }),
      );
      return;
    }
    case 'exit':
      void store.close().finally(() => process.exit(0));
      return;
  }
});

report({ type: 'started' });
