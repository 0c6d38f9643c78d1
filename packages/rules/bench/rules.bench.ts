import { compared, recordBenchResults } from '@jifen/bench';
import { Bench } from 'tinybench';
import {
  EMPTY_POOL,
  type EarningOrder,
  type PoolState,
  defaultProgram,
  earnForOrder,
  mintForOrder,
  poolEarningMultiplier,
  quoteRedemption,
} from '../src/index';

/**
 * Earnings, quotes and pool mints per second (issue 2 "Benchmark"). Each is measured beside a
 * baseline in the same run: a naive implementation of the same rule in float Number arithmetic
 * (the merchant-zone weekday for campaigns, the caps, the step), without exact ratios, bigint
 * products, largest-remainder splits, validation or breakdowns. The ratio says what exactness and
 * explanation cost on this machine, which a bare ops/s figure cannot (machines differ; the ratio travels).
 */

const TIME_MS = 1_000;
const WARMUP_MS = 200;
/** Calls per sample: keeps the sample count (and tinybench's statistics over it) small for fast baselines. */
const BATCH = 100;

const classic = defaultProgram();
const pool = defaultProgram({ valuation: { kind: 'pool' }, earning: { monthlyBudgetRate: null, perOrderCapRate: null } });
const tier = classic.earning.tiers[1]!;
const paidAt = new Date('2025-03-07T10:00:00+08:00');

/** A fixed spread of carts, cycled so no call sees constants the engine could fold. */
const orders: EarningOrder[] = Array.from({ length: 1_024 }, (_, index) => {
  const amount = 1_000 + ((index * 7_919) % 500_000);
  return {
    amount,
    items: [
      { category: index % 3 === 0 ? 'food' : 'home', amount: Math.floor(amount * 0.6) },
      { category: 'toys', amount: amount - Math.floor(amount * 0.6) },
    ],
  };
});

let cursor = 0;
const nextOrder = () => orders[cursor++ & 1_023]!;
let sink = 0;

function earnExact(): void {
  const earning = earnForOrder(classic, { order: nextOrder(), tier, segment: 'regular', at: paidAt, earnedTodayPoints: 0, paidThisMonth: 10_000_000, issuedThisMonth: 0 });
  sink += earning.points;
}

const weekdayFormat = new Intl.DateTimeFormat('en-US', { timeZone: 'Asia/Shanghai', weekday: 'short' });
const fridays = new Set(['Fri']);
function earnNumber(): void {
  const order = nextOrder();
  const campaign = fridays.has(weekdayFormat.format(paidAt)) ? 2 : 1;
  let eligible = 0;
  for (const item of order.items ?? []) if (!classic.earning.excludedCategories.includes(item.category ?? '')) eligible += item.amount;
  const uncapped = Math.floor(eligible * 0.05 * 1.2 * 1.0 * campaign);
  sink += Math.min(uncapped, Math.floor(eligible * 0.1), Math.floor(10_000_000 * 0.05));
}

function quoteExact(): void {
  const order = nextOrder();
  const quote = quoteRedemption({ program: classic, cartAmount: order.amount, items: order.items ?? [], availablePoints: 50_000 });
  sink += quote.ok ? quote.value.maxPoints : 0;
}

function quoteNumber(): void {
  const order = nextOrder();
  let eligible = 0;
  for (const item of order.items ?? []) if (!classic.redemption.excludedCategories.includes(item.category ?? '')) eligible += item.amount;
  const cap = Math.min(eligible, Math.floor(order.amount * 0.5));
  const maxPoints = Math.floor(Math.min(cap, 50_000) / classic.redemption.step) * classic.redemption.step;
  sink += maxPoints >= classic.redemption.minPoints ? maxPoints : 0;
}

let poolState: PoolState = EMPTY_POOL;
const multiplier = poolEarningMultiplier(pool, { tier, segment: 'regular', at: paidAt });

function mintExact(): void {
  const mint = mintForOrder(pool, { pool: poolState, order: { amount: nextOrder().amount }, multiplier });
  // Restart before the pool outgrows safe integers; the price keeps rising between restarts.
  poolState = mint.pool.amount > 1e13 ? EMPTY_POOL : mint.pool;
  sink += mint.minted;
}

let poolAmount = 0;
let poolSupply = 0;
function mintNumber(): void {
  const contribution = Math.floor(nextOrder().amount * 0.16);
  const price = poolSupply === 0 ? 1 : poolAmount / poolSupply;
  const minted = Math.floor((contribution * Math.min(0.7 * 1.2, 1)) / price);
  poolAmount = poolAmount > 1e13 ? 0 : poolAmount + contribution;
  poolSupply = poolAmount === 0 ? 0 : poolSupply + minted;
  sink += minted;
}

const bench = new Bench({ time: TIME_MS, warmupTime: WARMUP_MS });
const batched = (run: () => void) => () => {
  for (let call = 0; call < BATCH; call++) run();
};
bench
  .add('earn', batched(earnExact))
  .add('earn baseline', batched(earnNumber))
  .add('quote', batched(quoteExact))
  .add('quote baseline', batched(quoteNumber))
  .add('pool mint', batched(mintExact))
  .add('pool mint baseline', batched(mintNumber));
await bench.run();

function opsPerSecond(name: string): number {
  const task = bench.getTask(name);
  const result = task?.result;
  if (result?.state !== 'completed') throw new Error(`benchmark ${name} did not complete`);
  return result.throughput.mean * BATCH;
}

const baselineNote = 'baseline: a naive float implementation of the same rule, same run';
recordBenchResults({
  'rules.earn': compared(opsPerSecond('earn'), opsPerSecond('earn baseline'), 'ops/s', baselineNote),
  'rules.quote': compared(opsPerSecond('quote'), opsPerSecond('quote baseline'), 'ops/s', baselineNote),
  'rules.poolMint': compared(opsPerSecond('pool mint'), opsPerSecond('pool mint baseline'), 'ops/s', baselineNote),
});
if (sink === Number.MIN_SAFE_INTEGER) console.log(sink);
