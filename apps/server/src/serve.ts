import type { AddressInfo } from 'node:net';
import { Ledger, runSweep } from '@jifen/api';
import { type CreateDbOptions, type JifenDb, createDb, migrateToLatest } from '@jifen/db';
import { type JifenServer, type RouteHandler, createServer } from './http/server';
import { type Job, type JobRunner, startJobs } from './jobs';
import type { Logger } from './logger';
import { ServerMetrics } from './metrics';
import { deliverDueWebhooks } from './webhooks';

/**
 * `jifen serve`: open the database, bring its schema up to date, serve the API and run the jobs,
 * until `stop()` — which stops accepting connections, lets in-flight requests finish, waits for the
 * job under way, and closes the database, in that order, so no committed write is cut short.
 */

export interface ServeOptions {
  /** How to open the database (`createDb`); the CLI builds it from `DATABASE_URL`, `SQLITE_SYNCHRONOUS` and `PG_PREPARED_STATEMENTS`. */
  database: CreateDbOptions;
  port: number;
  host: string;
  logger: Logger;
  groupCommit?: boolean;
  bodyLimitBytes?: number;
  shopperRate?: { ratePerSecond: number; burst: number } | null;
  consoleOrigins?: readonly string[];
  /** 0 turns the interval jobs off (`jifen sweep` runs them on demand). */
  jobIntervalMs?: number;
  shutdownTimeoutMs?: number;
  homePage?: string;
  /** Routes outside the API: the built front ends (static.ts), the demo merchant's backend (demo-routes.ts). */
  routes?: readonly RouteHandler[];
}

export interface Serving {
  url: string;
  server: JifenServer;
  ledger: Ledger;
  jobs: JobRunner;
  stop(): Promise<void>;
}

/** `createDb`, then the schema brought up to date. */
export async function openDatabase(options: CreateDbOptions): Promise<JifenDb> {
  const store = createDb(options);
  try {
    await migrateToLatest(store.db);
  } catch (error) {
    await store.close();
    throw error;
  }
  return store;
}

export function ledgerJobs(ledger: Ledger, metrics: ServerMetrics): Job[] {
  return [
    {
      name: 'sweep',
      run: async () => {
        const report = await runSweep(ledger);
        metrics.pointsExpired(report.lots.expiredPoints);
        metrics.holdOutcome('expired', report.holds.expiredHolds);
        return {
          expiredHolds: report.holds.expiredHolds,
          releasedPending: report.pending.releasedPoints,
          vested: report.releases.released,
          expiredLots: report.lots.expiredLots,
          expiredPoints: report.lots.expiredPoints,
          capOuts: report.capOuts.converted,
          reminders: report.reminders.reminders,
        };
      },
    },
    { name: 'webhooks', run: async () => ({ ...(await deliverDueWebhooks(ledger)) }) },
  ];
}

export async function serve(options: ServeOptions): Promise<Serving> {
  const { logger } = options;
  const store = await openDatabase(options.database);
  const ledger = new Ledger(store, { groupCommit: options.groupCommit ?? true });
  const metrics = new ServerMetrics();
  const server = createServer({
    ledger,
    logger,
    metrics,
    ...(options.bodyLimitBytes === undefined ? {} : { bodyLimitBytes: options.bodyLimitBytes }),
    ...(options.shopperRate === undefined ? {} : { shopperRate: options.shopperRate }),
    ...(options.consoleOrigins === undefined ? {} : { consoleOrigins: options.consoleOrigins }),
    ...(options.homePage === undefined ? {} : { homePage: options.homePage }),
    ...(options.routes === undefined ? {} : { routes: options.routes }),
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    await store.close();
    throw error;
  }
  const jobs = startJobs(ledgerJobs(ledger, metrics), { intervalMs: options.jobIntervalMs ?? 60_000, logger, metrics });
  const address = server.address() as AddressInfo;
  const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  logger.info({ url, database: store.dialect }, 'jifen is serving');

  let stopping: Promise<void> | undefined;
  return {
    url,
    server,
    ledger,
    jobs,
    stop: () =>
      (stopping ??= (async () => {
        logger.info('shutting down: finishing in-flight requests');
        await server.shutdown(options.shutdownTimeoutMs ?? 10_000);
        await jobs.stop();
        await store.close();
        logger.info('stopped');
      })()),
  };
}
