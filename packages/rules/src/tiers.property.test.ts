import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defaultProgram } from './program';
import { type TierRecord, type TierSpend, tierStatus, tierWindowExit, tierWindowStart } from './tiers';

const START = Date.parse('2024-01-01T00:00:00Z');
const END = Date.parse('2027-01-01T00:00:00Z');
const instant = fc.integer({ min: START, max: END }).map((ms) => new Date(ms));

const program = fc
  .record({ tierWindowMonths: fc.integer({ min: 1, max: 12 }), timeZone: fc.constantFrom('Asia/Shanghai', 'America/New_York') })
  .map(({ tierWindowMonths, timeZone }) => defaultProgram({ timeZone, earning: { tierWindowMonths } }));

const spends: fc.Arbitrary<TierSpend[]> = fc.array(
  fc.record({ at: instant, amount: fc.oneof(fc.integer({ min: 0, max: 1_500_000 }), fc.integer({ min: -200_000, max: 0 })) }),
  { maxLength: 12 },
);

const checkpoints = fc.array(instant, { minLength: 1, maxLength: 6 }).map((dates) => [...dates].sort((a, b) => a.getTime() - b.getTime()));

describe('tier properties', () => {
  it('gives the same tier whether asked at every checkpoint or only at the last', () => {
    fc.assert(
      fc.property(program, spends, checkpoints, (candidate, history, times) => {
        let record: TierRecord | null = null;
        for (const now of times) {
          const status = tierStatus(candidate, { record, spends: history, now });
          record = { tierId: status.tier.id, confirmedAt: status.confirmedAt };
        }
        const last = times.at(-1)!;
        const once = tierStatus(candidate, { record: null, spends: history, now: last });
        expect(record?.tierId).toBe(once.tier.id);
        if (once.reviewAt !== null) expect(record?.confirmedAt).toEqual(once.confirmedAt);
      }),
    );
  });

  it('never applies a tier below what the spend reaches, and never drops one before its review', () => {
    fc.assert(
      fc.property(program, spends, checkpoints, (candidate, history, times) => {
        const rank = (id: string) => candidate.earning.tiers.findIndex((tier) => tier.id === id);
        let record: TierRecord | null = null;
        let previous: ReturnType<typeof tierStatus> | null = null;
        for (const now of times) {
          const status = tierStatus(candidate, { record, spends: history, now });
          expect(rank(status.tier.id)).toBeGreaterThanOrEqual(rank(status.qualifiedTier.id));
          if (previous !== null && rank(status.tier.id) < rank(previous.tier.id)) {
            expect(previous.reviewAt).not.toBeNull();
            expect(previous.reviewAt!.getTime()).toBeLessThanOrEqual(now.getTime());
          }
          record = { tierId: status.tier.id, confirmedAt: status.confirmedAt };
          previous = status;
        }
      }),
    );
  });

  it('counts a refund leaving the window as a rise: asked daily or once, the same upgrade', () => {
    // A refund of 1 on New Year's midnight, then 1,000.00 spent that afternoon (Shanghai); four-month
    // window. When the refund leaves the window the qualifying spend rises to 1,000.00 — an upgrade
    // at that instant, whether the tier is asked just before it and again after, or only after.
    const shanghai = defaultProgram({ timeZone: 'Asia/Shanghai', earning: { tierWindowMonths: 4 } });
    const history: TierSpend[] = [
      { at: new Date('2024-01-01T00:00:00Z'), amount: -1 },
      { at: new Date('2024-01-01T16:00:00Z'), amount: 100_000 },
    ];
    const first = tierStatus(shanghai, { record: null, spends: history, now: new Date('2024-04-30T16:00:00Z') });
    const stepwise = tierStatus(shanghai, {
      record: { tierId: first.tier.id, confirmedAt: first.confirmedAt },
      spends: history,
      now: new Date('2024-04-30T16:00:00.001Z'),
    });
    const once = tierStatus(shanghai, { record: null, spends: history, now: new Date('2024-04-30T16:00:00.001Z') });
    expect(once.tier.id).not.toBe(shanghai.earning.tiers[0]!.id);
    expect(stepwise.tier.id).toBe(once.tier.id);
    expect(stepwise.confirmedAt).toEqual(once.confirmedAt);
    expect(once.confirmedAt).toEqual(tierWindowExit(shanghai, history[0]!.at));
  });

  it('has every spend leave the window exactly at its exit instant', () => {
    fc.assert(
      fc.property(program, instant, (candidate, at) => {
        const exit = tierWindowExit(candidate, at).getTime();
        expect(exit).toBeGreaterThan(at.getTime());
        expect(tierWindowStart(candidate, new Date(exit)).getTime()).toBeGreaterThan(at.getTime());
        expect(tierWindowStart(candidate, new Date(exit - 1)).getTime()).toBeLessThanOrEqual(at.getTime());
      }),
    );
  });
});
