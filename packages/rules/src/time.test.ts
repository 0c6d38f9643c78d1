import { describe, expect, it } from 'vitest';
import { TZDate } from '@date-fns/tz';
import fc from 'fast-check';
import { addMonths, daysBetween, endOfLocalDay, endOfLocalMonth, isLocalDate, isoWeekday, localDate, localMonth, splitLocalDate, startOfLocalDay, weekdayOfLocalDate } from './time';

describe('time in the merchant zone', () => {
  it('reads the local day of an instant in Asia/Shanghai (UTC+8, no DST)', () => {
    expect(localDate(new Date('2026-03-31T16:30:00Z'), 'Asia/Shanghai')).toBe('2026-04-01');
    expect(localDate(new Date('2026-03-31T15:59:59Z'), 'Asia/Shanghai')).toBe('2026-03-31');
  });

  it('ends a New York day at the next local midnight across the spring-forward change', () => {
    // 2026-03-08 is 23 hours long in America/New_York.
    const start = startOfLocalDay('2026-03-08', 'America/New_York');
    const end = endOfLocalDay('2026-03-08', 'America/New_York');
    expect(start.toISOString()).toBe('2026-03-08T05:00:00.000Z');
    expect(end.toISOString()).toBe('2026-03-09T04:00:00.000Z');
    expect(end.getTime() - start.getTime()).toBe(23 * 3_600_000);
  });

  it('ends a New York day at the next local midnight across the fall-back change (25 hours)', () => {
    const start = startOfLocalDay('2026-11-01', 'America/New_York');
    const end = endOfLocalDay('2026-11-01', 'America/New_York');
    expect(end.getTime() - start.getTime()).toBe(25 * 3_600_000);
  });

  it('clamps Jan 31 + 1 month to the end of February, leap years included', () => {
    expect(addMonths('2026-01-31', 1)).toBe('2026-02-28');
    expect(addMonths('2028-01-31', 1)).toBe('2028-02-29');
    expect(addMonths('2026-12-15', 12)).toBe('2027-12-15');
    expect(addMonths('2026-03-31', -1)).toBe('2026-02-28');
  });

  it('reads ISO weekdays in the zone, not in UTC', () => {
    // Friday 2026-11-27 00:30 in Shanghai is still Thursday in UTC.
    expect(isoWeekday(new Date('2026-11-26T16:30:00Z'), 'Asia/Shanghai')).toBe(5);
    expect(isoWeekday(new Date('2026-11-26T16:30:00Z'), 'UTC')).toBe(4);
  });

  it('ends a month at the first instant of the next, December included', () => {
    expect(endOfLocalMonth('2026-12', 'Asia/Shanghai').toISOString()).toBe('2026-12-31T16:00:00.000Z');
  });
});

describe('local calendar dates', () => {
  it('accepts only real dates written YYYY-MM-DD', () => {
    for (const date of ['2026-01-01', '2026-04-30', '2026-12-31', '2028-02-29']) expect(isLocalDate(date), date).toBe(true);
    for (const date of ['2026-02-29', '2026-04-31', '2026-13-01', '2026-00-10', '2026-04-00', '2026-4-30', '26-04-30', '2026-04-3', 'x2026-04-30', '2026-04-30x', 'abcd-ef-gh']) {
      expect(isLocalDate(date), date).toBe(false);
    }
  });

  it('splits a local date into numbers, and treats anything else as a bug', () => {
    expect(splitLocalDate('2026-04-30')).toEqual([2026, 4, 30]);
    expect(() => splitLocalDate('2026-04')).toThrow('jifen invariant: a local date is YYYY-MM-DD');
    expect(() => splitLocalDate('2026-0x-01')).toThrow('jifen invariant: a local date is YYYY-MM-DD');
    expect(splitLocalDate('10000-01-02')).toEqual([10000, 1, 2]);
    for (const date of ['20260430', '2026-04-30-01', '-2026-04-30', '2026-04-30-', '2026-04-3.5']) {
      expect(() => splitLocalDate(date), date).toThrow('jifen invariant: a local date is YYYY-MM-DD');
    }
  });

  it('reads the local month of an instant', () => {
    expect(localMonth(new Date('2026-03-31T16:30:00Z'), 'Asia/Shanghai')).toBe('2026-04');
  });

  it('numbers ISO weekdays Monday 1 to Sunday 7', () => {
    expect(weekdayOfLocalDate('2026-06-14')).toBe(7); // a Sunday
    expect(weekdayOfLocalDate('2026-06-15')).toBe(1);
  });

  it('ends a month at the start of the next, December at the start of January', () => {
    expect(endOfLocalMonth('2026-06', 'Asia/Shanghai').toISOString()).toBe('2026-06-30T16:00:00.000Z');
    expect(endOfLocalMonth('2026-09', 'Asia/Shanghai').toISOString()).toBe('2026-09-30T16:00:00.000Z');
    expect(endOfLocalMonth('2026-12', 'Asia/Shanghai').toISOString()).toBe('2026-12-31T16:00:00.000Z');
  });

  it('counts the days between two local dates, negative backwards', () => {
    expect(daysBetween('2026-02-01', '2026-03-01')).toBe(28);
    expect(daysBetween('2026-03-31', '2026-03-01')).toBe(-30);
    expect(daysBetween('2026-03-08', '2026-03-09')).toBe(1); // the New York spring-forward day is still one day
  });
});

describe('remembered zone conversions', () => {
  // Zones with DST (both hemispheres, a 30-minute shift, a midnight change), without, and far offsets.
  const zones = ['Asia/Shanghai', 'America/New_York', 'Europe/London', 'Australia/Lord_Howe', 'America/Santiago', 'America/Havana', 'Pacific/Chatham', 'Asia/Kolkata', 'UTC'];
  /** The conversions as they were before the memo: straight through `TZDate`. */
  const directDay = (ms: number, zone: string) => {
    const zoned = new TZDate(ms, zone);
    return `${String(zoned.getFullYear()).padStart(4, '0')}-${String(zoned.getMonth() + 1).padStart(2, '0')}-${String(zoned.getDate()).padStart(2, '0')}`;
  };
  const directStart = (day: string, zone: string) => {
    const [year, month, date] = splitLocalDate(day);
    return new TZDate(year, month - 1, date, zone).getTime();
  };
  // Instants clustered around transitions (the 2nd Sunday of March, the 1st of April/October/November…) and spread over decades.
  const instant = fc.oneof(
    fc.integer({ min: Date.UTC(1990, 0, 1), max: Date.UTC(2060, 0, 1) }),
    fc.tuple(fc.integer({ min: 2000, max: 2040 }), fc.constantFrom(2, 3, 3, 9, 10, 10, 11), fc.integer({ min: 0, max: 14 * 86_400_000 })).map(([year, month, offset]) => Date.UTC(year, month, 1) + offset - 7 * 86_400_000),
  );

  it('gives the same local day as a direct conversion, in any order of instants and zones', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(instant, fc.constantFrom(...zones), fc.integer({ min: -3 * 3_600_000, max: 3 * 3_600_000 })), { minLength: 1, maxLength: 40 }), (steps) => {
        for (const [at, zone, nudge] of steps) {
          // Each instant and one nearby: the second mostly hits the remembered day, or falls just outside it.
          for (const ms of [at, at + nudge]) expect(localDate(new Date(ms), zone)).toBe(directDay(ms, zone));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('gives the same start of day as a direct conversion, and a fresh Date each time', () => {
    fc.assert(
      fc.property(instant, fc.constantFrom(...zones), (at, zone) => {
        const day = directDay(at, zone);
        const first = startOfLocalDay(day, zone);
        const again = startOfLocalDay(day, zone);
        expect(first.getTime()).toBe(directStart(day, zone));
        expect(again).not.toBe(first);
        expect(again.getTime()).toBe(first.getTime());
      }),
      { numRuns: 300 },
    );
  });

  it('reads each side of a day boundary right after remembering the day', () => {
    const zone = 'America/New_York';
    const end = endOfLocalDay('2026-03-08', zone).getTime();
    expect(localDate(new Date(end - 1), zone)).toBe('2026-03-08');
    expect(localDate(new Date(end), zone)).toBe('2026-03-09');
    expect(localDate(new Date(end - 1), zone)).toBe('2026-03-08');
    expect(localDate(new Date(startOfLocalDay('2026-03-08', zone).getTime() - 1), zone)).toBe('2026-03-07');
  });

  it('does not remember a day whose start it cannot convert back (years 0–99 read as 1900–1999 by Date)', () => {
    // startOfLocalDay('0050-06-15') lands in 1950; remembering that span would answer 1950's instants with year 50.
    expect(localDate(new Date('0050-06-15T12:00:00Z'), 'UTC')).toBe('0050-06-15');
    expect(localDate(new Date('1950-06-15T12:00:00Z'), 'UTC')).toBe('1950-06-15');
    expect(localDate(new Date('1950-06-15T23:00:00Z'), 'UTC')).toBe('1950-06-15');
  });

  it('still answers for instants it does not remember (invalid, or outside years 0–9999)', () => {
    expect(localDate(new Date(Number.NaN), 'UTC')).toBe(directDay(Number.NaN, 'UTC'));
    const far = Date.UTC(12_000, 0, 1);
    expect(localDate(new Date(far), 'UTC')).toBe('12000-01-01');
  });
});
