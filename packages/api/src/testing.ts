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
