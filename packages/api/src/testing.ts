/**
 * `@jifen/api/testing`: what tests of the ledger and of the server share.
 *
 * A seeded pseudo-random source for generated scenarios (rounds, histories, kill moments), so a
 * failure can be replayed: every suite prints its seed, and `JIFEN_TEST_SEED=<n>` reruns it.
 */

export interface Random {
  readonly seed: number;
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [min, max], both inclusive. */
  integer(min: number, max: number): number;
  chance(probability: number): boolean;
  pick<T>(items: readonly T[]): T;
}

export function seedFromEnvironment(): number {
  const given = process.env.JIFEN_TEST_SEED;
  if (given !== undefined && /^\d+$/.test(given)) return Number(given);
  return Math.floor(Math.random() * 2 ** 31);
}

/** mulberry32: tiny, fast and good enough to pick test cases. */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  return {
    seed,
    next,
    integer: (min, max) => min + Math.floor(next() * (max - min + 1)),
    chance: (probability) => next() < probability,
    pick: (items) => {
      if (items.length === 0) throw new Error('random.pick: nothing to pick from');
      return items[Math.floor(next() * items.length)]!;
    },
  };
}

/**
 * The rows a paid order leaves behind (the order, its lot, two hash-chained journal rows), as a
 * hand-written ingestion would insert them (raw better-sqlite3, or `pg` with numbered placeholders): the baseline of both ingestion
 * benchmarks (`packages/api/bench/ingest-bench.ts`, `apps/server/bench/targets.ts`).
 */
export const RAW_ORDER_SQL = {
  order: `insert into orders (merchant_id, order_id, shopper_id, status, amount, currency, items, shipping, tax, coupon_codes,
  hold_id, paid_at, completed_at, cancelled_at, eligible_amount, earned_points, earned_status, points_paid, points_paid_value,
  refunded_amount, clawed_back, restored_points, pool_contribution, minted, program_version, payload_hash)
  values (?, ?, ?, 'paid', ?, 'CNY', ?, 0, 0, '[]', null, ?, null, null, ?, ?, 'pending', 0, 0, 0, 0, 0, 0, 0, 1, ?)`,
  lot: `insert into lots (id, merchant_id, shopper_id, source, source_ref, program_version, points, remaining, held, status,
  earned_at, available_at, expires_at, release_periods, release_period_days, released)
  values (?, ?, ?, 'order', ?, 1, ?, ?, 0, 'pending', ?, ?, ?, 0, 0, ?)`,
  journal: `insert into journal (merchant_id, seq, shopper_id, kind, points, amount, ref, lot_id, compensates, program_version,
  detail, created_at, prev_hash, hash) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
} as const;
