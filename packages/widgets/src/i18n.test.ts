import { describe, expect, it } from 'vitest';
import {
  MESSAGE_KEYS,
  daysUntil,
  displayFor,
  formatLocalDate,
  formatMoney,
  formatPointsNumber,
  formatPrice,
  formatRelativeDay,
  formatZhe,
  localDateIn,
  parsePoints,
  resolveLocale,
  translator,
} from './i18n';

describe('i18n', () => {
  it('writes money from minor units with the currency digits, exactly', () => {
    expect(formatMoney(123_456, 'CNY', 'en')).toBe('¥1,234.56');
    expect(formatMoney(123_456, 'CNY', 'zh-CN')).toBe('¥1,234.56');
    expect(formatMoney(5, 'USD', 'en')).toBe('$0.05');
    expect(formatMoney(5, 'USD', 'zh-CN')).toBe('$0.05');
    expect(formatMoney(1_500, 'JPY', 'en')).toBe('¥1,500');
    // Beyond 2^53 / 100 a float would lose the last fen; the decimal string keeps it.
    expect(formatMoney(9_007_199_254_740_991, 'CNY', 'en')).toBe('¥90,071,992,547,409.91');
  });

  it('writes a pool price in major units at four places (SPEC §2)', () => {
    expect(formatPrice('142.8571', 'CNY', 'en')).toBe('¥1.4286');
    expect(formatPrice('168.4211', 'CNY', 'zh-CN')).toBe('¥1.6842');
    expect(formatPrice('0.5', 'USD', 'en')).toBe('$0.0050');
  });

  it('writes point units with the program point decimals', () => {
    expect(formatPointsNumber(1_234_567, 0, 'en')).toBe('1,234,567');
    expect(formatPointsNumber(1_250, 2, 'en')).toBe('12.50');
    expect(displayFor({ locale: 'zh-CN', currency: 'CNY', timeZone: 'Asia/Shanghai', pointDecimals: 2 }).points(5)).toBe('0.05 积分');
  });

  it('writes exactly one point in the singular in English, and anything else in the plural', () => {
    const whole = displayFor({ locale: 'en', currency: 'CNY', timeZone: 'Asia/Shanghai', pointDecimals: 0 });
    expect([whole.points(1), whole.points(0), whole.points(2), whole.pointsMessage(1, 'pendingPoint', 'pendingPoints')]).toEqual([
      '1 point',
      '0 points',
      '2 points',
      '1 point pending',
    ]);
    // With two decimals one point reads "1.00", which English puts in the plural.
    expect(displayFor({ locale: 'en', currency: 'CNY', timeZone: 'Asia/Shanghai', pointDecimals: 2 }).points(100)).toBe('1.00 points');
    expect(displayFor({ locale: 'zh-CN', currency: 'CNY', timeZone: 'Asia/Shanghai', pointDecimals: 0 }).points(1)).toBe('1 积分');
  });

  it('reads typed points exactly and refuses more decimals than the program has', () => {
    expect(parsePoints('1234', 0)).toBe(1_234);
    expect(parsePoints(' 12.5 ', 2)).toBe(1_250);
    expect(parsePoints('12,05', 2)).toBe(1_205);
    expect(parsePoints('0.29', 2)).toBe(29);
    expect(parsePoints('12.5', 0)).toBeNull();
    expect(parsePoints('-3', 0)).toBeNull();
    expect(parsePoints('1e3', 0)).toBeNull();
    expect(parsePoints('', 0)).toBeNull();
    expect(parsePoints('99999999999999999', 0)).toBeNull();
  });

  it('takes the language from the attribute, then the page, then the browser', () => {
    document.documentElement.lang = 'en-GB';
    expect(resolveLocale('zh')).toBe('zh-CN');
    expect(resolveLocale('zh-Hant-TW')).toBe('zh-CN');
    expect(resolveLocale(null)).toBe('en');
    const section = document.createElement('section');
    section.lang = 'zh-CN';
    const inner = document.createElement('div');
    section.append(inner);
    document.body.append(section);
    expect(resolveLocale(undefined, inner)).toBe('zh-CN');
    expect(resolveLocale('fr', inner)).toBe('zh-CN');
    section.remove();
    document.documentElement.removeAttribute('lang');
  });

  it("counts days and writes dates in the merchant's zone, not the browser's", () => {
    // 2026-11-23 17:30 UTC is already 24 Nov in Shanghai (UTC+8), still 23 Nov in New York.
    const now = new Date('2026-11-23T17:30:00Z');
    expect(localDateIn(now, 'Asia/Shanghai')).toBe('2026-11-24');
    expect(localDateIn(now, 'America/New_York')).toBe('2026-11-23');
    expect(daysUntil('2026-11-25', now, 'Asia/Shanghai')).toBe(1);
    expect(daysUntil('2026-11-25', now, 'America/New_York')).toBe(2);
    expect(formatRelativeDay('2026-11-25', now, 'Asia/Shanghai', 'en')).toBe('tomorrow');
    expect(formatRelativeDay('2026-11-25', now, 'Asia/Shanghai', 'zh-CN')).toBe('明天');
    expect(formatRelativeDay('2026-12-04', now, 'Asia/Shanghai', 'en')).toBe('in 10 days');
    expect(formatRelativeDay('2026-11-24', now, 'Asia/Shanghai', 'zh-CN')).toBe('今天');
    expect(formatLocalDate('2026-03-01', 'en')).toBe('Mar 1, 2026');
    expect(formatLocalDate('2026-03-01', 'zh-CN')).toBe('2026年3月1日');
  });

  it('writes the last day of a coupon from its exclusive end', () => {
    const display = displayFor({ locale: 'en', currency: 'CNY', timeZone: 'Asia/Shanghai', pointDecimals: 0 });
    // The end of 19 Dec in Shanghai is 16:00 UTC on the 19th.
    expect(display.lastDayBefore(new Date('2026-12-19T16:00:00Z'))).toBe('Dec 19, 2026');
  });

  it('writes a percent off as the 折 a Chinese shopper reads', () => {
    expect(formatZhe(0.15)).toBe('8.5');
    expect(formatZhe(0.2)).toBe('8');
    expect(formatZhe(0.1234)).toBe('8.766');
  });

  it('has every message in both languages, with the same placeholders', () => {
    const en = translator('en');
    const zh = translator('zh-CN');
    const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((match) => match[1]).sort();
    expect(MESSAGE_KEYS).toContain('disclosure');
    for (const key of MESSAGE_KEYS) {
      // zh-CN writes a percent off as 折, so it names {zhe} where en names {percent}.
      if (key !== 'percentOff') expect([key, placeholders(zh(key))]).toEqual([key, placeholders(en(key))]);
      expect([key, zh(key)]).not.toEqual([key, en(key)]);
    }
    expect(zh('disclosure')).toBe('积分价值随经营波动，非现金，不保证兑付价值');
    expect(en('disclosure')).toBe("Point value follows the shop's sales; points are not cash and their value is not guaranteed");
  });
});
