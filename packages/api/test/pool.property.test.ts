import { describeEachDialect, useTestDb } from '@jifen/db/testing';
import { ratio } from '@jifen/rules';
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { runCapOuts } from '../src/capout';
import { Ledger } from '../src/ledger';
import { runReleases } from '../src/release-job';
import { assertLedgerInvariants } from '../src/verify';
import {
  DAY_MS,
  type PoolFigures,
  aPoolClock,
  aPoolMerchant,
  aPoolProgram,
  completeOrder,
  expireEverything,
  fundPoints,
  poolOf,
  refundPoints,
  shopperOf,
  spendPoints,
} from './support-pool';

/**
 * SPEC §3.2: "the price never falls while nobody withdraws from the pool; jifen must prove this with
 * property tests". Random sequences of completions, payouts with retention, expiries, refunds,
 * funded points, staged releases and cap-outs run against the real database; after every step the
 * price `pool / supply` is at least what it was (while points are outstanding on both sides), and
 * after every sequence the ledger's invariants hold, pool mode's `supply = Σ lot remainders` included.
 */

const SHOPPERS = ['s0', 's1', 's2', 's3'];

const aShopper = fc.constantFrom(...SHOPPERS);
const aStep = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('complete' as const), shopper: aShopper, amount: fc.integer({ min: 1, max: 500_000 }), multiplierTenths: fc.integer({ min: 0, max: 30 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('spend' as const), shopper: aShopper, percent: fc.integer({ min: 1, max: 100 }), use: fc.constantFrom('checkout' as const, 'coupon' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('refund' as const), shopper: aShopper, points: fc.integer({ min: 0, max: 300 }), amount: fc.integer({ min: 0, max: 200_000 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('fund' as const), shopper: aShopper, points: fc.integer({ min: 1, max: 500 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('expire' as const), shopper: aShopper }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('release' as const), days: fc.integer({ min: 1, max: 4 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('capOuts' as const) }) },
);
type Step = typeof aStep extends fc.Arbitrary<infer T> ? T : never;

const aShare = (max: number) => fc.integer({ min: 0, max: max * 100 }).map((hundredths) => hundredths / 100);
const aProgram = fc.record({
  pointDecimals: fc.constantFrom(0, 2),
  poolShare: fc.integer({ min: 1, max: 30 }).map((percent) => percent / 100),
  mintRatio: fc.integer({ min: 10, max: 100 }).map((percent) => percent / 100),
  retention: fc.record({ checkout: aShare(0.3), coupon: aShare(0.5), capOut: aShare(0.5) }),
  capMultiple: fc.integer({ min: 12, max: 20 }).map((tenths) => tenths / 10),
  periods: fc.constantFrom(0, 3),
});

describeEachDialect('pool price under random histories', (dialect) => {
  const database = useTestDb(dialect);

  it('never falls, and every invariant holds, across completions, payouts, expiries, refunds and cap-outs', async () => {
    await fc.assert(
      fc.asyncProperty(aProgram, fc.array(aStep, { minLength: 1, maxLength: 14 }), async (config, steps) => {
        const clock = aPoolClock();
        const ledger = new Ledger(database(), { clock: clock.read });
        const merchantId = await aPoolMerchant(
          ledger,
          aPoolProgram(
            {
              poolShare: { default: config.poolShare },
              mintRatio: config.mintRatio,
              retention: config.retention,
              capMultiple: config.capMultiple,
              release: { periods: config.periods, periodDays: 1 },
            },
            { pointDecimals: config.pointDecimals },
          ),
        );
        let before = await poolOf(ledger.db, merchantId);
        for (const step of steps) {
          await apply(ledger, merchantId, step, () => clock.advance(step.kind === 'release' ? step.days * DAY_MS : 60_000));
          const after = await poolOf(ledger.db, merchantId);
          if (before.supply > 0 && after.supply > 0) expect(priceRose(before, after), `${step.kind}: ${JSON.stringify(before)} → ${JSON.stringify(after)}`).toBe(true);
          before = after;
        }
        await assertLedgerInvariants(ledger.db, merchantId);
      }),
      { numRuns: 12 },
    );
  });
});

async function apply(ledger: Ledger, merchantId: string, step: Step, tick: () => void): Promise<void> {
  tick();
  switch (step.kind) {
    case 'complete':
      await completeOrder(ledger, merchantId, { shopperId: step.shopper, amount: step.amount, multiplier: ratio(step.multiplierTenths, 10) });
      return;
    case 'spend': {
      const { available } = await shopperOf(ledger.db, merchantId, step.shopper).catch(() => ({ available: 0 }));
      const points = Math.floor((available * step.percent) / 100);
      if (points > 0) await spendPoints(ledger, merchantId, step.shopper, points, step.use);
      return;
    }
    case 'refund':
      await refundPoints(ledger, merchantId, step.shopper, `o_${step.shopper}`, step.points, step.amount);
      return;
    case 'fund':
      await fundPoints(ledger, merchantId, step.shopper, step.points);
      return;
    case 'expire':
      await expireEverything(ledger, merchantId, step.shopper);
      return;
    case 'release':
      await runReleases(ledger, { merchantId });
      return;
    case 'capOuts':
      await runCapOuts(ledger, { merchantId });
      return;
  }
}

/** after.amount / after.supply ≥ before.amount / before.supply, exactly. */
function priceRose(before: PoolFigures, after: PoolFigures): boolean {
  return BigInt(after.amount) * BigInt(before.supply) >= BigInt(before.amount) * BigInt(after.supply);
}
