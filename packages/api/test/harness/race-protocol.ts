import type { ExchangeInput } from '../../src/coupons';
import type { ReserveHoldInput } from '../../src/holds';
import type { OrderRefundedInput } from '../../src/orders';

/**
 * What the parent and the race workers say to each other over IPC. Everything is plain JSON: dates
 * travel as epoch milliseconds, refusals as their reason, param, facts and category.
 */

export interface RacePaidInput {
  merchantId: string;
  orderId: string;
  shopperId: string;
  amount: number;
  currency: string;
  paidAt?: number;
}

export type RaceOperation =
  | { kind: 'orderPaid'; input: RacePaidInput }
  | { kind: 'orderRefunded'; input: OrderRefundedInput }
  | { kind: 'reserveHold'; input: ReserveHoldInput }
  | { kind: 'exchangeCoupon'; input: ExchangeInput }
  | { kind: 'sweepExpiredLots'; input: { merchantId: string; batchSize: number } };

interface Timing {
  /** Wall-clock instants (ms, sub-millisecond precision) comparable across processes. */
  startedAt: number;
  endedAt: number;
  pid: number;
}

export interface RaceRefusal {
  reason: string;
  param: string | null;
  category: string;
  facts: Record<string, unknown>;
  message: string;
}

export type RaceOutcome = Timing & ({ ok: true; value: unknown } | { ok: false; refusal: RaceRefusal });

/** Parent → worker. */
export type RaceCommand =
  | { type: 'prepare'; now: number; operations: RaceOperation[] }
  | { type: 'go' }
  | { type: 'exit' };

/** Worker → parent. */
export type RaceReport =
  | { type: 'started' }
  | { type: 'ready' }
  | { type: 'done'; outcomes: RaceOutcome[] }
  | { type: 'failed'; error: string };

/** A refusal that is not a JifenError (a bug, a driver error) carries this reason. */
export const UNEXPECTED_ERROR = 'UNEXPECTED_ERROR';

/** The wall clock at sub-millisecond precision, the same scale in every process. */
export function wallClockMs(): number {
  return performance.timeOrigin + performance.now();
}
