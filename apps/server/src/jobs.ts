import type { Logger } from './logger';
import type { ServerMetrics } from './metrics';

/**
 * Background jobs inside `jifen serve` (issue 4 "Procedures and jobs"): each job runs, then waits
 * its interval, then runs again — never two runs of one job at once in this process. Across
 * replicas on one Postgres the services coordinate themselves (row locks, `SKIP LOCKED`), so every
 * replica may run every job.
 */
export interface Job {
  name: string;
  /** Does one round of work and returns figures for the log. */
  run(): Promise<Record<string, unknown>>;
}

export interface JobRunner {
  /** Runs every job once now (in order), waiting for runs already under way first. */
  runOnce(): Promise<void>;
  /** Stops scheduling and waits for the runs under way to finish. */
  stop(): Promise<void>;
}

export function startJobs(jobs: readonly Job[], options: { intervalMs: number; logger: Logger; metrics: ServerMetrics }): JobRunner {
  const { intervalMs, logger, metrics } = options;
  let isStopped = false;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> = Promise.resolve();

  async function runJob(job: Job): Promise<void> {
    const startedAt = performance.now();
    try {
      const figures = await job.run();
      const seconds = (performance.now() - startedAt) / 1000;
      metrics.jobRan(job.name, 'ok', seconds);
      logger.info({ job: job.name, ms: Math.round(seconds * 1000), ...figures }, 'job ran');
    } catch (error) {
      metrics.jobRan(job.name, 'failed', (performance.now() - startedAt) / 1000);
      // The next round retries: every job's work stays due until it commits.
      logger.error({ job: job.name, err: error }, 'job failed');
    }
  }

  function round(): Promise<void> {
    running = running.then(async () => {
      for (const job of jobs) {
        if (isStopped) return;
        await runJob(job);
      }
    });
    return running;
  }

  function schedule(): void {
    if (isStopped || intervalMs <= 0 || jobs.length === 0) return;
    timer = setTimeout(() => {
      void round().then(schedule);
    }, intervalMs);
    // Jobs never keep a process alive on their own: the server (or the CLI) decides when to exit.
    timer.unref();
  }

  schedule();
  return {
    runOnce: () => round(),
    stop: async () => {
      isStopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
