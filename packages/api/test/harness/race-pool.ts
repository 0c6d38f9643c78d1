import type { ChildProcess } from 'node:child_process';
import type { RaceCommand, RaceOperation, RaceOutcome, RaceReport } from './race-protocol';
import { type WorkerBundle, startWorker } from './worker-bundle';

/**
 * Several race workers on one database, and the barrier that releases them together: each worker
 * is handed its share of the operations and answers `ready`; only when all have answered does the
 * parent send `go` to every one, so the requests hit the database at the same moment from separate
 * processes. Workers live for the whole suite (starting a process costs more than a race).
 */

export interface RacePool {
  readonly size: number;
  /**
   * Fires `operations` together from every worker (dealt round-robin, so neighbours in the list run
   * in different processes) at the fixed instant `now`; outcomes come back in the list's order.
   */
  race(now: Date, operations: readonly RaceOperation[], during?: () => Promise<void>): Promise<RaceOutcome[]>;
  close(): Promise<void>;
}

interface Worker {
  child: ChildProcess;
  stderr: string[];
  waiting: Array<{ type: RaceReport['type']; resolve: (report: RaceReport) => void; reject: (error: Error) => void }>;
}

/** Every other worker writes with group commit on (SQLite only; the ledger ignores it on Postgres). */
export async function startRacePool(bundle: WorkerBundle, options: { url: string; workers: number }): Promise<RacePool> {
  const workers: Worker[] = [];
  for (let index = 0; index < options.workers; index += 1) {
    const child = startWorker(bundle, [options.url, index % 2 === 1 ? 'group-commit' : 'one-write-a-transaction']);
    const worker: Worker = { child, stderr: [], waiting: [] };
    child.stderr?.on('data', (chunk: Buffer) => worker.stderr.push(chunk.toString()));
    child.stdout?.resume();
    child.on('message', (report: RaceReport) => {
      const next = worker.waiting.shift();
      if (!next) return;
      if (report.type === 'failed') next.reject(new Error(`race worker ${child.pid}: ${report.error}`));
      else if (report.type !== next.type) next.reject(new Error(`race worker ${child.pid}: expected ${next.type}, got ${report.type}`));
      else next.resolve(report);
    });
    child.on('exit', (code, signal) => {
      for (const pending of worker.waiting.splice(0)) {
        pending.reject(new Error(`race worker ${child.pid} exited (${code ?? signal}): ${worker.stderr.join('').slice(-2000)}`));
      }
    });
    workers.push(worker);
  }
  await Promise.all(workers.map((worker) => expectReport(worker, 'started')));

  return {
    size: workers.length,
    async race(now, operations, during) {
      const shares = workers.map((_, index) => operations.filter((__, position) => position % workers.length === index));
      const ready = workers.map((worker) => expectReport(worker, 'ready'));
      workers.forEach((worker, index) => send(worker, { type: 'prepare', now: now.getTime(), operations: shares[index]! }));
      await Promise.all(ready);
      // The barrier: nobody has started; now everybody starts.
      const done = workers.map((worker) => expectReport(worker, 'done'));
      for (const worker of workers) send(worker, { type: 'go' });
      const [reports] = await Promise.all([Promise.all(done), during?.()]);
      const outcomes: RaceOutcome[] = new Array<RaceOutcome>(operations.length);
      reports.forEach((report, index) => {
        if (report.type !== 'done') throw new Error('race pool: a worker reported out of turn');
        report.outcomes.forEach((outcome, turn) => {
          outcomes[turn * workers.length + index] = outcome;
        });
      });
      return outcomes;
    },
    async close() {
      await Promise.all(
        workers.map(
          (worker) =>
            new Promise<void>((resolve) => {
              if (worker.child.exitCode !== null || worker.child.signalCode !== null) return resolve();
              worker.child.once('exit', () => resolve());
              send(worker, { type: 'exit' });
            }),
        ),
      );
    },
  };
}

function send(worker: Worker, command: RaceCommand): void {
  worker.child.send(command);
}

function expectReport(worker: Worker, type: RaceReport['type']): Promise<RaceReport> {
  return new Promise((resolve, reject) => worker.waiting.push({ type, resolve, reject }));
}

/** Did two of these requests, from different processes, run at the same time? */
export function overlapAcrossProcesses(outcomes: readonly RaceOutcome[]): boolean {
  return outcomes.some((a) => outcomes.some((b) => a.pid !== b.pid && a.startedAt < b.endedAt && b.startedAt < a.endedAt));
}
