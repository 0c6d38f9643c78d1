import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ratio } from './arithmetic';
import { defaultProgram } from './program';
import { poolValuationOf } from './pool';
import { concentrationThreshold, growthWindowStart, isHoldingConcentrated, supplyThrottle } from './risk';

const risk = poolValuationOf(defaultProgram({ valuation: { kind: 'pool' } })).risk;

describe('supply-growth throttle (SPEC §3.2 risk)', () => {
  it('lets the supply grow up to 12% over the window and no further', () => {
    expect(supplyThrottle({ supplyAtWindowStart: 10_000, supply: 10_500, maxSupplyGrowth: 0.12 })).toEqual({
      growth: ratio(500, 10_000),
      allowance: 700,
      isThrottled: false,
    });
  });

  it('pauses minting and alerts once the supply has grown by the limit', () => {
    const throttle = supplyThrottle({ supplyAtWindowStart: 10_000, supply: 11_200, maxSupplyGrowth: 0.12 });
    expect(throttle.allowance).toBe(0);
    expect(throttle.isThrottled).toBe(true);
    expect(supplyThrottle({ supplyAtWindowStart: 10_000, supply: 12_000, maxSupplyGrowth: 0.12 }).allowance).toBe(0);
  });

  it('rounds the ceiling down, so growth never exceeds the limit', () => {
    expect(supplyThrottle({ supplyAtWindowStart: 99, supply: 99, maxSupplyGrowth: 0.12 }).allowance).toBe(11); // 110.88 → 110
  });

  it('gives room again when the supply shrank during the window', () => {
    const throttle = supplyThrottle({ supplyAtWindowStart: 10_000, supply: 9_000, maxSupplyGrowth: 0.12 });
    expect(throttle.growth).toEqual(ratio(0));
    expect(throttle.allowance).toBe(2_200);
  });

  it('does not throttle a pool that was empty when the window started', () => {
    expect(supplyThrottle({ supplyAtWindowStart: 0, supply: 50_000, maxSupplyGrowth: 0.12 })).toEqual({
      growth: null,
      allowance: null,
      isThrottled: false,
    });
  });

  it('starts the window growthWindowDays before now', () => {
    expect(growthWindowStart(new Date('2025-04-30T00:00:00Z'), risk)).toEqual(new Date('2025-03-31T00:00:00Z'));
  });

  it('allows exactly up to start × (1 + limit) and not one point unit more', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1e12 }),
        fc.integer({ min: 0, max: 1e12 }),
        fc.integer({ min: 0, max: 1_000_000 }),
        (start, supply, limitScaled) => {
          const { allowance, isThrottled } = supplyThrottle({ supplyAtWindowStart: start, supply, maxSupplyGrowth: limitScaled / 10_000 });
          const ceiling = BigInt(start) * BigInt(10_000 + limitScaled); // × 10^4
          const within = (units: bigint) => units * 10_000n <= ceiling;
          expect(allowance).not.toBeNull();
          if (allowance! > 0) expect(within(BigInt(supply + allowance!))).toBe(true);
          expect(within(BigInt(supply + allowance! + 1))).toBe(false);
          expect(isThrottled).toBe(allowance === 0);
        },
      ),
    );
  });
});

describe('concentration review (SPEC §3.2 risk)', () => {
  it('flags a shopper holding more than 4% of the supply', () => {
    expect(isHoldingConcentrated({ holdings: 401, supply: 10_000, concentrationReview: 0.04 })).toBe(true);
  });

  it('does not flag a shopper holding exactly 4%', () => {
    expect(isHoldingConcentrated({ holdings: 400, supply: 10_000, concentrationReview: 0.04 })).toBe(false);
  });

  it('compares exactly when the threshold falls between two point units', () => {
    expect(concentrationThreshold(1_010, 0.04)).toBe(40); // 40.4
    expect(isHoldingConcentrated({ holdings: 40, supply: 1_010, concentrationReview: 0.04 })).toBe(false);
    expect(isHoldingConcentrated({ holdings: 41, supply: 1_010, concentrationReview: 0.04 })).toBe(true);
  });

  it('flags no one when nothing is outstanding', () => {
    expect(isHoldingConcentrated({ holdings: 0, supply: 0, concentrationReview: 0.04 })).toBe(false);
    expect(isHoldingConcentrated({ holdings: 5, supply: 0, concentrationReview: 0 })).toBe(false);
  });

  it('works the threshold out exactly for any share', () => {
    expect(concentrationThreshold(1_000, 0.03)).toBe(30);
    expect(concentrationThreshold(999, 0.0375)).toBe(37); // 37.4625
    expect(concentrationThreshold(0, 0.04)).toBe(0);
  });

  it('treats negative or fractional supplies and holdings as bugs', () => {
    expect(() => concentrationThreshold(-1, 0.04)).toThrow(/supply/);
    expect(() => concentrationThreshold(1.5, 0.04)).toThrow(/supply/);
    expect(() => isHoldingConcentrated({ holdings: -1, supply: 100, concentrationReview: 0.04 })).toThrow(/holdings/);
    expect(() => isHoldingConcentrated({ holdings: 0.5, supply: 100, concentrationReview: 0.04 })).toThrow(/holdings/);
    for (const [start, supply] of [[-1, 0], [0.5, 0], [0, -1], [0, 0.5]] as const) {
      expect(() => supplyThrottle({ supplyAtWindowStart: start, supply, maxSupplyGrowth: 0.12 })).toThrow(/supplies/);
    }
  });
});
