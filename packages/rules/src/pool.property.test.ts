import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Ratio, compareRatios, multiplyRatios, ratio, ratioFromDecimal } from './arithmetic';
import {
  type Burn,
  burnForUse,
  capOutTriggerPrice,
  contributionFor,
  convertCapOut,
  exactContribution,
  expireBurn,
  isCapOutDue,
  mintForContribution,
  mintForOrder,
  poolPrice,
  poolPriceKey,
  poolValuationOf,
  refundBurn,
} from './pool';
import { type PoolValuation, type Program, defaultProgram } from './program';
import { EMPTY_POOL, type PoolState } from './valuation';

/** A config decimal with at most four places in [0, max]. */
const aRate = (max = 1) => fc.integer({ min: 0, max: max * 10_000 }).map((scaled) => scaled / 10_000);

const aPoolProgram = fc
  .record({
    initialPrice: fc.integer({ min: 1, max: 10_000 }),
    pointDecimals: fc.integer({ min: 0, max: 3 }),
    share: aRate(),
    mintRatio: aRate(),
  })
  .map(({ initialPrice, pointDecimals, share, mintRatio }) =>
    defaultProgram({ pointDecimals, valuation: { kind: 'pool', initialPrice, poolShare: { default: share }, mintRatio } }),
  );

const aRetention = fc.record({ checkout: aRate(), coupon: aRate(), capOut: aRate() });

/** What can happen to a pool; burns take a share (per ten thousand) of the outstanding supply. */
const anOperation = fc.oneof(
  fc.record({
    kind: fc.constant('mint' as const),
    contribution: fc.integer({ min: 0, max: 10_000_000 }),
    multiplier: aRate(5),
    maxMintedValue: fc.option(fc.integer({ min: 0, max: 1_000_000 }), { nil: undefined }),
  }),
  fc.record({ kind: fc.constantFrom('checkout' as const, 'coupon' as const, 'capOut' as const), share: fc.integer({ min: 0, max: 10_000 }) }),
  fc.record({ kind: fc.constantFrom('expire' as const, 'refund' as const), share: fc.integer({ min: 0, max: 10_000 }) }),
);
type Operation = typeof anOperation extends fc.Arbitrary<infer T> ? T : never;

interface Step {
  before: PoolState;
  after: PoolState;
  contribution: number;
  minted: number;
  burned: number;
  payout: number;
}

function apply(program: Program, pool: PoolState, operation: Operation, retention: PoolValuation['retention']): Step {
  if (operation.kind === 'mint') {
    const mint = mintForContribution(program, {
      pool,
      contribution: operation.contribution,
      multiplier: ratioFromDecimal(operation.multiplier),
      maxMintedValue: operation.maxMintedValue,
    });
    return { before: pool, after: mint.pool, contribution: mint.contribution, minted: mint.minted, burned: 0, payout: 0 };
  }
  const points = Number((BigInt(pool.supply) * BigInt(operation.share)) / 10_000n);
  let burn: Burn;
  if (operation.kind === 'expire') burn = expireBurn(pool, points);
  else if (operation.kind === 'refund') burn = refundBurn(pool, points);
  else if (operation.kind === 'capOut') burn = convertCapOut(pool, points, retention);
  else burn = burnForUse(pool, points, operation.kind, retention);
  return { before: pool, after: burn.pool, contribution: 0, minted: 0, burned: burn.burned, payout: burn.payout };
}

function replay(program: Program, operations: Operation[], retention: PoolValuation['retention']): Step[] {
  let pool = EMPTY_POOL;
  return operations.map((operation) => {
    const step = apply(program, pool, operation, retention);
    pool = step.after;
    return step;
  });
}

describe('pool properties (SPEC §3.2)', () => {
  it('the price never falls while points are outstanding, under any sequence of mints, burns, expiries and cap-outs', () => {
    fc.assert(
      fc.property(aPoolProgram, aRetention, fc.array(anOperation, { maxLength: 40 }), (program, retention, operations) => {
        for (const step of replay(program, operations, retention)) {
          if (step.before.supply > 0 && step.after.supply > 0) {
            expect(compareRatios(poolPrice(program, step.after), poolPrice(program, step.before))).toBeGreaterThanOrEqual(0);
          }
        }
      }),
    );
  });

  it('a mint never lowers the price, from an empty pool or a full one', () => {
    fc.assert(
      fc.property(aPoolProgram, aRetention, fc.array(anOperation, { maxLength: 40 }), (program, retention, operations) => {
        for (const step of replay(program, operations, retention)) {
          if (step.minted === 0 && step.contribution === 0) continue;
          if (step.after.supply === 0) continue;
          expect(compareRatios(poolPrice(program, step.after), poolPrice(program, step.before))).toBeGreaterThanOrEqual(0);
        }
      }),
    );
  });

  it('the price never falls below the initial price', () => {
    fc.assert(
      fc.property(aPoolProgram, aRetention, fc.array(anOperation, { maxLength: 40 }), (program, retention, operations) => {
        const initial = poolPrice(program, EMPTY_POOL);
        for (const step of replay(program, operations, retention)) {
          expect(compareRatios(poolPrice(program, step.after), initial)).toBeGreaterThanOrEqual(0);
        }
      }),
    );
  });

  it('the pool is never short: paying out the whole supply at the current price never exceeds it', () => {
    fc.assert(
      fc.property(aPoolProgram, aRetention, fc.array(anOperation, { maxLength: 40 }), (program, retention, operations) => {
        for (const step of replay(program, operations, retention)) {
          expect(step.after.amount).toBeGreaterThanOrEqual(0);
          const everything = burnForUse(step.after, step.after.supply, 'checkout', { checkout: 0, coupon: 0, capOut: 0 });
          expect(everything.payout).toBeLessThanOrEqual(step.after.amount);
          if (step.after.supply > 0) {
            // supply × price = pool exactly: the price is defined as pool / supply.
            const price = poolPrice(program, step.after);
            expect(BigInt(step.after.supply) * price.numerator).toBe(BigInt(step.after.amount) * price.denominator);
          }
        }
      }),
    );
  });

  it('the pool equals contributions less payouts and the supply minted less burned (SPEC §4)', () => {
    fc.assert(
      fc.property(aPoolProgram, aRetention, fc.array(anOperation, { maxLength: 40 }), (program, retention, operations) => {
        const steps = replay(program, operations, retention);
        const last = steps.at(-1)?.after ?? EMPTY_POOL;
        const sum = (pick: (step: Step) => number) => steps.reduce((total, step) => total + pick(step), 0);
        expect(last.amount).toBe(sum((step) => step.contribution) - sum((step) => step.payout));
        expect(last.supply).toBe(sum((step) => step.minted) - sum((step) => step.burned));
      }),
    );
  });

  it('no mint grants points worth more than the exact share of the contribution', () => {
    fc.assert(
      fc.property(aPoolProgram, fc.array(anOperation, { maxLength: 20 }), aRetention, (program, operations, retention) => {
        for (const step of replay(program, operations, retention)) {
          if (step.contribution === 0) continue;
          const mint = mintForContribution(program, { pool: step.before, contribution: step.contribution });
          const exactPoints = multiplyRatios(ratio(step.contribution), mint.mintRatio, invert(mint.price));
          expect(compareRatios(ratio(mint.minted), exactPoints)).toBeLessThanOrEqual(0);
          expect(compareRatios(exactPoints, ratio(mint.minted + 1))).toBe(-1);
        }
      }),
    );
  });

  it('no payout exceeds points × price × (1 − retention), and misses it by less than one minor unit', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1_000_000_000 }),
        fc.integer({ min: 1, max: 1_000_000_000 }),
        fc.integer({ min: 0, max: 10_000 }),
        aRetention,
        fc.constantFrom('checkout' as const, 'coupon' as const, 'capOut' as const),
        (amount, supply, share, retention, use) => {
          const pool = { amount, supply } as PoolState;
          const points = Number((BigInt(supply) * BigInt(share)) / 10_000n);
          const burn = burnForUse(pool, points, use, retention);
          const kept = ratioFromDecimal(retention[use]);
          const exact = multiplyRatios(ratio(points), ratio(amount, supply), ratio(kept.denominator - kept.numerator, kept.denominator));
          expect(compareRatios(ratio(burn.payout), exact)).toBeLessThanOrEqual(0);
          expect(compareRatios(exact, ratio(burn.payout + 1))).toBe(-1);
        },
      ),
    );
  });

  it('no contribution exceeds the exact share of the order, line by line', () => {
    const aLine = fc.record({ category: fc.constantFrom('food', 'furniture', 'toys'), amount: fc.integer({ min: 0, max: 10_000_000 }) });
    fc.assert(
      fc.property(aRate(), aRate(), aRate(), fc.integer({ min: 0, max: 50_000_000 }), fc.array(aLine, { maxLength: 8 }), (base, food, furniture, amount, items) => {
        const valuation = poolValuationOf(
          defaultProgram({ valuation: { kind: 'pool', poolShare: { default: base, byCategory: { food, furniture } } } }),
        );
        const contribution = contributionFor({ amount, items }, valuation);
        const exact = exactContribution({ amount, items }, valuation);
        expect(compareRatios(ratio(contribution), exact)).toBeLessThanOrEqual(0);
        expect(compareRatios(exact, ratio(contribution + 1))).toBe(-1);
        expect(contribution).toBeLessThanOrEqual(amount);
      }),
    );
  });

  it('a mint at per-category multipliers never grants points worth more than the money that entered the pool', () => {
    const aLine = fc.record({ category: fc.constantFrom('food', 'furniture', 'toys'), amount: fc.integer({ min: 0, max: 1_000_000 }) });
    const aMultiplier = aRate(5).map(ratioFromDecimal);
    fc.assert(
      fc.property(
        aPoolProgram,
        fc.integer({ min: 0, max: 5_000_000 }),
        fc.array(aLine, { maxLength: 6 }),
        fc.record({ food: aMultiplier, furniture: aMultiplier, toys: aMultiplier, none: aMultiplier }),
        fc.record({ amount: fc.integer({ min: 1, max: 1_000_000 }), supply: fc.integer({ min: 1, max: 1_000_000 }) }),
        (program, amount, items, multipliers, start) => {
          const pool = start as PoolState;
          const multiplier = (category: string | undefined) => multipliers[(category ?? 'none') as keyof typeof multipliers];
          const mint = mintForOrder(program, { pool, order: { amount, items }, multiplier });
          expect(compareRatios(mint.mintRatio, ratio(1))).toBeLessThanOrEqual(0);
          expect(compareRatios(multiplyRatios(ratio(mint.minted), mint.price), ratio(mint.contribution))).toBeLessThanOrEqual(0);
          expect(compareRatios(poolPrice(program, mint.pool), poolPrice(program, pool))).toBeGreaterThanOrEqual(0);
        },
      ),
    );
  });

  it('a coupon from a cap-out is never worth more than the exact value of the holdings after retention', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1_000_000_000 }), fc.integer({ min: 1, max: 1_000_000 }), aRetention, (amount, supply, retention) => {
        const holdings = Math.ceil(supply / 3);
        const conversion = convertCapOut({ amount, supply } as PoolState, holdings, retention);
        const kept = ratioFromDecimal(retention.capOut);
        const exact = multiplyRatios(ratio(holdings, supply), ratio(amount), ratio(kept.denominator - kept.numerator, kept.denominator));
        expect(compareRatios(ratio(conversion.couponValue), exact)).toBeLessThanOrEqual(0);
      }),
    );
  });
});

describe('cap-out trigger index properties', () => {
  const aPrice = fc.tuple(fc.bigInt({ min: 0n, max: 10n ** 20n }), fc.bigInt({ min: 1n, max: 10n ** 15n })).map(([top, bottom]) => ratio(top, bottom));

  it('a price at or above the trigger always has a key at or above the trigger key, so the index never misses', () => {
    fc.assert(
      fc.property(aPrice, aPrice, (a, b) => {
        const [low, high] = compareRatios(a, b) <= 0 ? [a, b] : [b, a];
        expect(poolPriceKey(low) <= poolPriceKey(high)).toBe(true);
      }),
    );
  });

  it('prices more than one part in 2^40 apart get keys in the same strict order, at any scale', () => {
    const aWidePrice = fc.tuple(fc.bigInt({ min: 1n, max: 2n ** 70n }), fc.bigInt({ min: 1n, max: 2n ** 70n })).map(([top, bottom]) => ratio(top, bottom));
    fc.assert(
      fc.property(aWidePrice, fc.bigInt({ min: 1n, max: 2n ** 20n }), (low, bump) => {
        const high = ratio(low.numerator * (2n ** 40n + bump), low.denominator * 2n ** 40n);
        const inRange = (price: Ratio) => compareRatios(price, ratio(1n, 2n ** 63n)) >= 0 && compareRatios(price, ratio(2n ** 63n)) < 0;
        if (inRange(low) && inRange(high)) expect(poolPriceKey(low) < poolPriceKey(high)).toBe(true);
        else expect(poolPriceKey(low) <= poolPriceKey(high)).toBe(true);
      }),
    );
  });

  it('every shopper found due by the exact check is also found by the key', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10_000_000 }),
        fc.integer({ min: 0, max: 100_000_000 }),
        fc.integer({ min: 12_000, max: 20_000 }).map((scaled) => scaled / 10_000),
        aPrice,
        (holdings, basis, capMultiple, price) => {
          const position = { holdings, basis, capMultiple };
          const trigger = capOutTriggerPrice(position);
          if (isCapOutDue({ ...position, price })) {
            expect(trigger).not.toBeNull();
            expect(trigger!.key <= poolPriceKey(price)).toBe(true);
          }
          if (trigger !== null) {
            const exactlyDue = compareRatios(multiplyRatios(ratio(holdings), price), multiplyRatios(ratioFromDecimal(capMultiple), ratio(basis))) >= 0;
            expect(isCapOutDue({ ...position, price })).toBe(exactlyDue);
          }
        },
      ),
    );
  });
});

function invert(value: Ratio): Ratio {
  return ratio(value.denominator, value.numerator);
}
