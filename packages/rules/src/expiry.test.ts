import { describe, expect, it } from 'vitest';
import { pointUnits } from './arithmetic';
import { expiryFor, expiryLocalDate, expirySchedule, isExpired, reminderDueAt, remindersDue, soonestExpiry } from './expiry';
import type { Expiry } from './program';

const SHANGHAI = 'Asia/Shanghai';
const NEW_YORK = 'America/New_York';

function rolling(months: number): Expiry {
  return { kind: 'rolling', months, reminderDays: [30, 7, 3, 1] };
}

function calendar(month: number, day: number, yearsAfter: number): Expiry {
  return { kind: 'calendar', month, day, yearsAfter, reminderDays: [30, 7, 3, 1] };
}

function expiryIso(expiry: Expiry, earnedAt: string, timeZone: string): string | null {
  return expiryFor(expiry, new Date(earnedAt), timeZone)?.toISOString() ?? null;
}

describe('when points expire', () => {
  it('rolling months expire at the end of the same local day months later (Shanghai midnight is 16:00 UTC)', () => {
    expect(expiryIso(rolling(12), '2026-03-15T02:00:00Z', SHANGHAI)).toBe('2027-03-15T16:00:00.000Z');
  });

  it('counts months from the merchant’s local day, not the UTC day', () => {
    // 2026-01-31T17:00Z is already 1 February in Shanghai but still 31 January in New York.
    expect(expiryIso(rolling(1), '2026-01-31T17:00:00Z', SHANGHAI)).toBe('2026-03-01T16:00:00.000Z');
    expect(expiryIso(rolling(1), '2026-01-31T17:00:00Z', NEW_YORK)).toBe('2026-03-01T05:00:00.000Z');
  });

  it('clamps Jan 31 + 1 month to the end of 28 February, or 29 February in a leap year', () => {
    expect(expiryIso(rolling(1), '2026-01-31T04:00:00Z', SHANGHAI)).toBe('2026-02-28T16:00:00.000Z');
    expect(expiryIso(rolling(1), '2028-01-31T04:00:00Z', SHANGHAI)).toBe('2028-02-29T16:00:00.000Z');
    expect(expiryIso(rolling(1), '2028-01-31T17:00:00Z', NEW_YORK)).toBe('2028-03-01T05:00:00.000Z');
  });

  it('ends a New York expiry day at local midnight after the clocks spring forward', () => {
    // Earned 8 Feb (EST, UTC-5); 8 March is the 23-hour day, and 9 March starts at 04:00 UTC (EDT).
    expect(expiryIso(rolling(1), '2026-02-08T17:00:00Z', NEW_YORK)).toBe('2026-03-09T04:00:00.000Z');
    expect(expiryIso(rolling(1), '2026-02-07T17:00:00Z', NEW_YORK)).toBe('2026-03-08T05:00:00.000Z');
  });

  it('ends a New York expiry day at local midnight after the clocks fall back', () => {
    // Earned 1 October (EDT); 1 November is the 25-hour day, and 2 November starts at 05:00 UTC (EST).
    expect(expiryIso(rolling(1), '2026-10-01T16:00:00Z', NEW_YORK)).toBe('2026-11-02T05:00:00.000Z');
  });

  it('calendar expiry ends on the set day of the year yearsAfter the earning year', () => {
    expect(expiryIso(calendar(12, 31, 1), '2026-05-05T00:00:00Z', SHANGHAI)).toBe('2027-12-31T16:00:00.000Z');
    // 31 December 2026 17:00 UTC is 2027 in Shanghai: its points belong to 2027.
    expect(expiryIso(calendar(12, 31, 1), '2026-12-31T17:00:00Z', SHANGHAI)).toBe('2028-12-31T16:00:00.000Z');
    expect(expiryIso(calendar(12, 31, 1), '2026-12-31T17:00:00Z', NEW_YORK)).toBe('2028-01-01T05:00:00.000Z');
  });

  it('compares single-digit calendar days as dates: 5 June is before 10 June, so a lot earned on the 10th gets next year’s', () => {
    expect(expiryIso(calendar(1, 5, 1), '2026-06-15T00:00:00Z', SHANGHAI)).toBe('2027-01-05T16:00:00.000Z');
    expect(expiryIso(calendar(6, 5, 0), '2026-06-10T00:00:00Z', SHANGHAI)).toBe('2027-06-05T16:00:00.000Z');
    expect(expiryIso(calendar(6, 5, 0), '2026-06-04T00:00:00Z', SHANGHAI)).toBe('2026-06-05T16:00:00.000Z');
  });

  it('clamps a calendar day of 29 February to the 28th outside leap years', () => {
    expect(expiryIso(calendar(2, 29, 1), '2026-06-01T00:00:00Z', SHANGHAI)).toBe('2027-02-28T16:00:00.000Z');
    expect(expiryIso(calendar(2, 29, 1), '2027-06-01T00:00:00Z', SHANGHAI)).toBe('2028-02-29T16:00:00.000Z');
    expect(expiryIso(calendar(4, 31, 0), '2026-01-10T00:00:00Z', SHANGHAI)).toBe('2026-04-30T16:00:00.000Z');
  });

  it('with yearsAfter 0, points earned after this year’s date expire on next year’s', () => {
    expect(expiryIso(calendar(6, 30, 0), '2026-03-01T00:00:00Z', SHANGHAI)).toBe('2026-06-30T16:00:00.000Z');
    expect(expiryIso(calendar(6, 30, 0), '2026-06-30T10:00:00Z', SHANGHAI)).toBe('2026-06-30T16:00:00.000Z');
    expect(expiryIso(calendar(6, 30, 0), '2026-06-30T16:00:00Z', SHANGHAI)).toBe('2027-06-30T16:00:00.000Z');
  });

  it('gives no expiry when the program has none', () => {
    expect(expiryFor({ kind: 'none' }, new Date('2026-01-01T00:00:00Z'), SHANGHAI)).toBeNull();
  });

  it('a lot is expired from its expiry instant on, and a lot without expiry never is', () => {
    const expiresAt = new Date('2026-03-31T16:00:00Z');
    expect(isExpired(expiresAt, new Date('2026-03-31T15:59:59.999Z'))).toBe(false);
    expect(isExpired(expiresAt, expiresAt)).toBe(true);
    expect(isExpired(null, new Date('2100-01-01T00:00:00Z'))).toBe(false);
    expect(expiryLocalDate(expiresAt, SHANGHAI)).toBe('2026-03-31');
  });
});

describe('expiry reminders', () => {
  // Points usable through 31 March 2026 in Shanghai.
  const expiresAt = new Date('2026-03-31T16:00:00Z');
  const due = (now: string, alreadySent: number[] = []) =>
    remindersDue({ expiresAt, reminderDays: [30, 7, 3, 1], timeZone: SHANGHAI, now: new Date(now), alreadySent });

  it('makes the 30-day reminder due from the start of the local day 30 days before the expiry day', () => {
    expect(due('2026-02-28T15:59:59Z')).toEqual([]);
    expect(due('2026-02-28T16:00:00Z')).toEqual([30]);
  });

  it('does not repeat a reminder already sent', () => {
    expect(due('2026-03-05T00:00:00Z', [30])).toEqual([]);
    expect(due('2026-03-24T16:00:00Z', [30])).toEqual([7]);
    expect(due('2026-03-30T16:00:00Z', [30, 7, 3])).toEqual([1]);
    expect(due('2026-03-31T10:00:00Z', [30, 7, 3, 1])).toEqual([]);
  });

  it('sends a missed reminder late, but only the most urgent one, so a shopper gets one message', () => {
    expect(due('2026-03-28T16:00:00Z')).toEqual([3]);
    expect(due('2026-03-29T10:00:00Z', [3])).toEqual([]);
    expect(due('2026-03-29T16:00:00Z', [3])).toEqual([1]);
  });

  it('sends nothing once the lot has expired', () => {
    expect(due('2026-03-31T16:00:00Z')).toEqual([]);
    expect(due('2026-04-02T00:00:00Z', [30])).toEqual([]);
  });

  it('starts New York reminder days at local midnight on both sides of the DST change', () => {
    // Usable through 10 March 2026 (EDT): 1 day before is 9 March (EDT), 7 days before is 3 March (EST).
    const newYorkExpiry = new Date('2026-03-11T04:00:00Z');
    expect(reminderDueAt(newYorkExpiry, 1, NEW_YORK).toISOString()).toBe('2026-03-09T04:00:00.000Z');
    expect(reminderDueAt(newYorkExpiry, 2, NEW_YORK).toISOString()).toBe('2026-03-08T05:00:00.000Z');
    expect(reminderDueAt(newYorkExpiry, 7, NEW_YORK).toISOString()).toBe('2026-03-03T05:00:00.000Z');
    const check = { expiresAt: newYorkExpiry, reminderDays: [7, 1], timeZone: NEW_YORK, alreadySent: [7] };
    expect(remindersDue({ ...check, now: new Date('2026-03-09T03:59:59Z') })).toEqual([]);
    expect(remindersDue({ ...check, now: new Date('2026-03-09T04:00:00Z') })).toEqual([1]);
  });
});

describe('the expiry schedule', () => {
  const lot = (remaining: number, expiresAt: string | null) => ({ remaining: pointUnits(remaining), expiresAt: expiresAt === null ? null : new Date(expiresAt) });

  it('groups upcoming expiries by the local day they end, soonest first, leaving out lots that never expire or are empty', () => {
    const lots = [
      lot(200, '2026-04-30T16:00:00Z'),
      lot(100, '2026-03-31T16:00:00Z'),
      lot(50, '2026-03-31T16:00:00Z'),
      lot(999, null),
      lot(0, '2026-03-15T16:00:00Z'),
    ];
    expect(expirySchedule(lots, SHANGHAI)).toEqual([
      { date: '2026-03-31', expiresAt: new Date('2026-03-31T16:00:00Z'), points: 150 },
      { date: '2026-04-30', expiresAt: new Date('2026-04-30T16:00:00Z'), points: 200 },
    ]);
    expect(soonestExpiry(lots, SHANGHAI)).toEqual({ date: '2026-03-31', expiresAt: new Date('2026-03-31T16:00:00Z'), points: 150 });
  });

  it('leaves out lots already expired at the given instant, and reports nothing when nothing expires', () => {
    const lots = [lot(100, '2026-03-31T16:00:00Z'), lot(70, '2026-04-30T16:00:00Z')];
    expect(soonestExpiry(lots, SHANGHAI, new Date('2026-04-01T00:00:00Z'))).toEqual({ date: '2026-04-30', expiresAt: new Date('2026-04-30T16:00:00Z'), points: 70 });
    expect(soonestExpiry([lot(5, null)], SHANGHAI)).toBeNull();
  });

  it('keeps groups that arrive in date order in that order', () => {
    const lots = [lot(1, '2026-03-31T16:00:00Z'), lot(2, '2026-04-30T16:00:00Z'), lot(3, '2026-05-31T16:00:00Z')];
    expect(expirySchedule(lots, SHANGHAI).map((group) => [group.date, group.points])).toEqual([
      ['2026-03-31', 1],
      ['2026-04-30', 2],
      ['2026-05-31', 3],
    ]);
  });

  it('gives a day whose lots end at different instants (the zone changed) the earliest of them', () => {
    // 12:00 and 16:00 UTC on 1 July are both within 1 July in Shanghai (the earlier lot was set in another zone).
    const early = lot(10, '2026-07-01T12:00:00Z');
    const late = lot(20, '2026-07-01T16:00:00Z');
    const expected = [{ date: '2026-07-01', expiresAt: new Date('2026-07-01T12:00:00Z'), points: 30 }];
    expect(expirySchedule([early, late], SHANGHAI)).toEqual(expected);
    expect(expirySchedule([late, early], SHANGHAI)).toEqual(expected);
  });

  it('dates a New York expiry by the local day it ends, not the UTC day of its instant', () => {
    expect(expirySchedule([lot(10, '2026-03-09T04:00:00Z')], NEW_YORK)[0]?.date).toBe('2026-03-08');
  });
});
