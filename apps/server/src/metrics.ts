import type { ApiMetrics } from '@jifen/api';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * What `/metrics` exports (issue 4): request counts and latencies by procedure and code, and the
 * ledger's own counters — events ingested, points issued / redeemed / expired, hold outcomes, job
 * runs and durations. One registry per server, so two servers in one process (tests) never collide.
 */
export class ServerMetrics implements ApiMetrics {
  readonly registry = new Registry();
  private readonly requests = new Counter({
    name: 'jifen_requests_total',
    help: 'tRPC calls answered, by procedure and result code (OK or the tRPC error code)',
    labelNames: ['procedure', 'code'] as const,
    registers: [this.registry],
  });
  private readonly requestSeconds = new Histogram({
    name: 'jifen_request_duration_seconds',
    help: 'Time to answer a tRPC call, by procedure and result code',
    labelNames: ['procedure', 'code'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  private readonly events = new Counter({
    name: 'jifen_events_ingested_total',
    help: 'Order and behaviour events the merchant backends sent, by kind',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  private readonly issued = new Counter({
    name: 'jifen_points_issued_total',
    help: 'Point units issued, by source (order, review, checkin, adjustment, …)',
    labelNames: ['source'] as const,
    registers: [this.registry],
  });
  private readonly redeemed = new Counter({
    name: 'jifen_points_redeemed_total',
    help: 'Point units spent, by use (checkout, coupon, capOut)',
    labelNames: ['use'] as const,
    registers: [this.registry],
  });
  private readonly expired = new Counter({
    name: 'jifen_points_expired_total',
    help: 'Point units expired by the sweep',
    registers: [this.registry],
  });
  private readonly holds = new Counter({
    name: 'jifen_hold_outcomes_total',
    help: 'Holds placed and how they ended (captured, released, expired)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  private readonly jobRuns = new Counter({
    name: 'jifen_job_runs_total',
    help: 'Background job runs, by job and outcome',
    labelNames: ['job', 'outcome'] as const,
    registers: [this.registry],
  });
  private readonly jobSeconds = new Histogram({
    name: 'jifen_job_duration_seconds',
    help: 'Background job run time, by job',
    labelNames: ['job'] as const,
    buckets: [0.001, 0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300],
    registers: [this.registry],
  });

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'jifen_' });
  }

  /** One tRPC call answered; `procedure` must come from the router's own paths (bounded cardinality). */
  callAnswered(procedure: string, code: string, seconds: number): void {
    this.requests.inc({ procedure, code });
    this.requestSeconds.observe({ procedure, code }, seconds);
  }

  jobRan(job: string, outcome: 'ok' | 'failed', seconds: number): void {
    this.jobRuns.inc({ job, outcome });
    this.jobSeconds.observe({ job }, seconds);
  }

  eventIngested(kind: string): void {
    this.events.inc({ kind });
  }

  pointsIssued(points: number, source: string): void {
    if (points > 0) this.issued.inc({ source }, points);
  }

  pointsRedeemed(points: number, use: string): void {
    if (points > 0) this.redeemed.inc({ use }, points);
  }

  pointsExpired(points: number): void {
    if (points > 0) this.expired.inc(points);
  }

  holdOutcome(outcome: 'held' | 'captured' | 'released' | 'expired', count = 1): void {
    if (count > 0) this.holds.inc({ outcome }, count);
  }

  contentType(): string {
    return this.registry.contentType;
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }
}
