import { describe, expect, it } from 'vitest';
import { behaviourPoints, checkIn, referralRewards } from './behaviours';
import { type Program, type ProgramInput, defaultProgram } from './program';
import type { LocalDate } from './time';

function aProgram(overrides: ProgramInput = {}): Program {
  return defaultProgram(overrides);
}

const shanghai = aProgram();
const newYork = aProgram({ timeZone: 'America/New_York', currency: 'USD' });
const pool = aProgram({ valuation: { kind: 'pool' } });

function checkInAt(program: Program, now: string, lastCheckinDate: LocalDate | null, streak: number) {
  return checkIn(program, { lastCheckinDate, streak, now: new Date(now) });
}

describe('review and share points', () => {
  it('pays the program amounts for a review, a photo review and a share (SPEC §3.1: +50, +100)', () => {
    expect(behaviourPoints(shanghai, 'review')).toBe(50);
    expect(behaviourPoints(shanghai, 'photoReview')).toBe(100);
    expect(behaviourPoints(aProgram({ behaviours: { share: 20 } }), 'share')).toBe(20);
  });

  it('pays the same amounts in a pool program, where the ledger has the merchant fund them', () => {
    expect(behaviourPoints(pool, 'review')).toBe(50);
  });
});

describe('daily check-in', () => {
  it('starts a streak at day 1 with the first amount of the schedule', () => {
    expect(checkInAt(shanghai, '2026-06-10T04:00:00Z', null, 0)).toEqual({ ok: true, value: { date: '2026-06-10', streak: 1, scheduleDay: 1, points: 5 } });
  });

  it('follows the schedule 5, 5, 10, 10, 15, 15, 50 on consecutive days', () => {
    let last: LocalDate | null = null;
    let streak = 0;
    const points: number[] = [];
    for (let day = 1; day <= 7; day += 1) {
      const result = checkInAt(shanghai, `2026-06-${String(day).padStart(2, '0')}T04:00:00Z`, last, streak);
      if (!result.ok) throw new Error(result.error.code);
      ({ date: last, streak } = result.value);
      points.push(result.value.points);
    }
    expect(points).toEqual([5, 5, 10, 10, 15, 15, 50]);
    expect(streak).toBe(7);
  });

  it('starts the schedule over after its last day while the streak keeps counting', () => {
    expect(checkInAt(shanghai, '2026-06-08T04:00:00Z', '2026-06-07', 7)).toMatchObject({ ok: true, value: { streak: 8, scheduleDay: 1, points: 5 } });
    expect(checkInAt(shanghai, '2026-06-14T04:00:00Z', '2026-06-13', 13)).toMatchObject({ ok: true, value: { streak: 14, scheduleDay: 7, points: 50 } });
  });

  it('restarts the streak at day 1 after a missed day', () => {
    expect(checkInAt(shanghai, '2026-06-12T04:00:00Z', '2026-06-10', 5)).toMatchObject({ ok: true, value: { streak: 1, points: 5 } });
  });

  it('refuses a second check-in on the same Shanghai day, and accepts one a minute after local midnight', () => {
    // 23:59 on 10 June and 00:01 on 11 June in Shanghai are both 10 June in UTC.
    expect(checkInAt(shanghai, '2026-06-10T15:59:00Z', '2026-06-10', 1)).toEqual({
      ok: false,
      error: { code: 'ALREADY_CHECKED_IN', date: '2026-06-10', lastCheckinDate: '2026-06-10' },
    });
    expect(checkInAt(shanghai, '2026-06-10T16:01:00Z', '2026-06-10', 1)).toMatchObject({ ok: true, value: { date: '2026-06-11', streak: 2 } });
  });

  it('keeps a New York streak across the spring-forward night (a 23-hour day)', () => {
    // 23:30 EST is still 7 March; 00:30 EDT on 9 March follows a check-in on 8 March; 23:30 EDT is still 8 March.
    expect(checkInAt(newYork, '2026-03-08T04:30:00Z', null, 0)).toMatchObject({ ok: true, value: { date: '2026-03-07' } });
    expect(checkInAt(newYork, '2026-03-09T04:30:00Z', '2026-03-08', 2)).toMatchObject({ ok: true, value: { date: '2026-03-09', streak: 3 } });
    expect(checkInAt(newYork, '2026-03-09T03:30:00Z', '2026-03-08', 2)).toMatchObject({ ok: false, error: { code: 'ALREADY_CHECKED_IN' } });
  });

  it('keeps a New York streak across the fall-back night (a 25-hour day)', () => {
    // 00:30 EDT on 1 November, then 23:30 EST on 1 November: one local day, 24 hours apart.
    expect(checkInAt(newYork, '2026-11-02T04:30:00Z', '2026-11-01', 1)).toMatchObject({ ok: false, error: { code: 'ALREADY_CHECKED_IN', date: '2026-11-01' } });
    expect(checkInAt(newYork, '2026-11-02T05:30:00Z', '2026-11-01', 1)).toMatchObject({ ok: true, value: { date: '2026-11-02', streak: 2 } });
  });

  it('checks in a pool program on the same schedule', () => {
    expect(checkInAt(pool, '2026-06-10T04:00:00Z', null, 0)).toMatchObject({ ok: true, value: { streak: 1, points: 5 } });
  });
});

describe('referral rewards', () => {
  const referral = { inviterId: 'alice', inviteeId: 'bob', inviteeFirstOrderCompleted: true, alreadyRewarded: false };

  it('rewards the inviter and the invitee when the invitee’s first order completes', () => {
    expect(referralRewards(shanghai, referral)).toEqual({ ok: true, value: { inviter: 500, invitee: 200 } });
  });

  it('rewards nothing before the first order completes', () => {
    expect(referralRewards(shanghai, { ...referral, inviteeFirstOrderCompleted: false })).toEqual({
      ok: false,
      error: { code: 'FIRST_ORDER_NOT_COMPLETED', inviteeId: 'bob' },
    });
  });

  it('rewards an invitee once only', () => {
    expect(referralRewards(shanghai, { ...referral, alreadyRewarded: true })).toMatchObject({ ok: false, error: { code: 'REFERRAL_ALREADY_REWARDED' } });
  });

  it('refuses a shopper who refers themself', () => {
    expect(referralRewards(shanghai, { ...referral, inviteeId: 'alice' })).toEqual({ ok: false, error: { code: 'SELF_REFERRAL', shopperId: 'alice' } });
  });

  it('pays exactly two shoppers, so nobody up a chain of referrers earns (one level only)', () => {
    const result = referralRewards(shanghai, referral);
    if (!result.ok) throw new Error(result.error.code);
    expect(Object.keys(result.value).sort()).toEqual(['invitee', 'inviter']);
  });
});
