import { describe, expect, it } from 'vitest';
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
