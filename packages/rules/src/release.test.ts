import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defaultProgram } from './program';
import { poolValuationOf } from './pool';
import { type ReleaseSchedule, isReleaseBoosted, lockedAt, nextReleaseAt, releaseScheduleFor, releasedAt } from './release';

const mintedAt = new Date('2025-03-01T10:00:00Z');
const days = (count: number) => new Date(mintedAt.getTime() + count * 86_400_000);

function aSchedule(overrides: Partial<ReleaseSchedule> = {}): ReleaseSchedule {
  return { minted: 3_500, mintedAt, periods: 35, periodDays: 1, boosted: false, boostFactor: 1.5, ...overrides };
}

describe('staged release (SPEC §3.2)', () => {
  it('releases everything at once when periods is 0', () => {
    expect(releasedAt({ ...aSchedule({ periods: 0 }), now: mintedAt })).toBe(3_500);
    expect(nextReleaseAt({ ...aSchedule({ periods: 0 }), now: mintedAt })).toBeNull();
  });

  it('releases nothing before the first period ends', () => {
    expect(releasedAt({ ...aSchedule(), now: new Date(days(1).getTime() - 1) })).toBe(0);
    expect(releasedAt({ ...aSchedule(), now: new Date(mintedAt.getTime() - 1_000) })).toBe(0);
  });

  it('releases an equal share at the end of each period', () => {
    expect(releasedAt({ ...aSchedule(), now: days(1) })).toBe(100);
    expect(releasedAt({ ...aSchedule(), now: days(10.5) })).toBe(1_000);
    expect(lockedAt({ ...aSchedule(), now: days(10.5) })).toBe(2_500);
  });

  it('rounds each release down and releases the remainder with the last period', () => {
    const schedule = aSchedule({ minted: 100, periods: 3, periodDays: 7 });
    expect(releasedAt({ ...schedule, now: days(7) })).toBe(33);
    expect(releasedAt({ ...schedule, now: days(14) })).toBe(66);
    expect(releasedAt({ ...schedule, now: days(21) })).toBe(100);
    expect(releasedAt({ ...schedule, now: days(400) })).toBe(100);
  });

  it('runs 1.5 times faster for a shopper with enough completed referrals', () => {
    const boosted = aSchedule({ boosted: true });
    expect(releasedAt({ ...boosted, now: days(10) })).toBe(1_500);
    expect(releasedAt({ ...boosted, now: days(23) })).toBe(3_400); // 34.5 periods
    expect(releasedAt({ ...boosted, now: days(23.34) })).toBe(3_500); // all 35 by day 23⅓
  });

  it('boosts only from the configured number of completed referrals', () => {
    const release = poolValuationOf(defaultProgram({ valuation: { kind: 'pool', release: { periods: 35, referralBoost: { invitees: 4, factor: 1.5 } } } })).release;
    expect(isReleaseBoosted(3, release)).toBe(false);
    expect(isReleaseBoosted(4, release)).toBe(true);
    expect(releaseScheduleFor(release, { minted: 700, mintedAt }, 4)).toEqual({
      minted: 700,
      mintedAt,
      periods: 35,
      periodDays: 1,
      boosted: true,
      boostFactor: 1.5,
    });
  });

  it('names the instant of the next release, and none after the last', () => {
    expect(nextReleaseAt({ ...aSchedule({ periodDays: 2 }), now: days(3) })).toEqual(days(4));
    expect(nextReleaseAt({ ...aSchedule({ boosted: true }), now: days(0) })).toEqual(new Date(mintedAt.getTime() + 57_600_000)); // 16 h
    expect(nextReleaseAt({ ...aSchedule(), now: days(35) })).toBeNull();
  });

  it('counts periods in 24-hour days across a DST change', () => {
    const beforeSpringForward = new Date('2025-03-08T12:00:00-05:00'); // New York, the day before DST starts
    const schedule = aSchedule({ mintedAt: beforeSpringForward, minted: 10, periods: 10 });
    expect(releasedAt({ ...schedule, now: new Date('2025-03-09T12:00:00-04:00') })).toBe(0); // only 23 h later
    expect(releasedAt({ ...schedule, now: new Date('2025-03-09T13:00:00-04:00') })).toBe(1);
  });

  it('treats an impossible schedule as a bug', () => {
    const now = days(1);
    expect(() => releasedAt({ ...aSchedule({ minted: -1 }), now })).toThrow(/minted/);
    expect(() => releasedAt({ ...aSchedule({ minted: 0.5 }), now })).toThrow(/minted/);
    expect(() => releasedAt({ ...aSchedule({ periods: -1 }), now })).toThrow(/periods/);
    expect(() => releasedAt({ ...aSchedule({ periods: 1.5 }), now })).toThrow(/periods/);
    expect(() => releasedAt({ ...aSchedule({ periodDays: 0 }), now })).toThrow(/periodDays/);
    expect(() => releasedAt({ ...aSchedule({ periodDays: 1.5 }), now })).toThrow(/periodDays/);
    expect(() => releasedAt({ ...aSchedule({ boosted: true, boostFactor: 0.5 }), now })).toThrow(/boost factor/);
    expect(releasedAt({ ...aSchedule({ boosted: false, boostFactor: 0.5 }), now })).toBe(100);
    expect(releasedAt({ ...aSchedule({ boosted: true, boostFactor: 1 }), now })).toBe(100);
    expect(releasedAt({ ...aSchedule({ minted: 0 }), now })).toBe(0);
    expect(() => releasedAt({ ...aSchedule({ mintedAt: new Date(Number.NaN) }), now })).toThrow(/valid dates/);
    expect(() => releasedAt({ ...aSchedule(), now: new Date(Number.NaN) })).toThrow(/valid dates/);
  });

  it('never releases less as time passes, never more than minted, and never less when boosted', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10_000_000 }),
        fc.integer({ min: 0, max: 60 }),
        fc.integer({ min: 1, max: 30 }),
        fc.integer({ min: 10_000, max: 30_000 }).map((scaled) => scaled / 10_000),
        fc.array(fc.integer({ min: -86_400_000, max: 4_000 * 86_400_000 }), { minLength: 2, maxLength: 8 }),
        (minted, periods, periodDays, boostFactor, offsets) => {
          const schedule = aSchedule({ minted, periods, periodDays, boostFactor });
          let previous = 0;
          for (const offset of [...offsets].sort((a, b) => a - b)) {
            const now = new Date(mintedAt.getTime() + offset);
            const released = releasedAt({ ...schedule, now });
            expect(released).toBeGreaterThanOrEqual(previous);
            expect(released).toBeLessThanOrEqual(minted);
            expect(releasedAt({ ...schedule, boosted: true, now })).toBeGreaterThanOrEqual(released);
            const next = nextReleaseAt({ ...schedule, now });
            if (next !== null) {
              expect(next.getTime()).toBeGreaterThan(now.getTime());
              expect(releasedAt({ ...schedule, now: new Date(next.getTime() - 1) })).toBe(released);
            }
            previous = released;
          }
          const end = new Date(mintedAt.getTime() + periods * periodDays * 86_400_000);
          expect(releasedAt({ ...schedule, now: end })).toBe(minted);
        },
      ),
    );
  });
});
