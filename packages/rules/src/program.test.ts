import { describe, expect, it } from 'vitest';
import { currencyMinorDigits, defaultProgram, isTimeZone, parseProgram } from './program';

describe('parseProgram', () => {
  it('fills every default, giving the classic program of SPEC Appendix A', () => {
    const program = defaultProgram();
    expect(program.currency).toBe('CNY');
    expect(program.timeZone).toBe('Asia/Shanghai');
    expect(program.pointDecimals).toBe(0);
    expect(program.valuation).toEqual({ kind: 'fixed', pointsPerCurrencyUnit: 100 });
    expect(program.earning.baseRate).toBe(0.05);
    expect(program.earning.tiers.map((tier) => tier.id)).toEqual(['member', 'silver', 'gold', 'diamond']);
    expect(program.earning.segments).toEqual({ new: 1.6, regular: 1.0, vip: 0.6 });
    expect(program.behaviours.checkinStreak).toEqual([5, 5, 10, 10, 15, 15, 50]);
    expect(program.redemption).toMatchObject({ minPoints: 100, step: 1, maxShare: 0.5, holdTtlSeconds: 900 });
    expect(program.expiry).toEqual({ kind: 'rolling', months: 12, reminderDays: [30, 7, 3, 1] });
  });

  it('gives pool programs two point decimals and the pool defaults', () => {
    const program = defaultProgram({ valuation: { kind: 'pool' } });
    expect(program.pointDecimals).toBe(2);
    expect(program.valuation).toMatchObject({ kind: 'pool', initialPrice: 100, mintRatio: 0.7, capMultiple: 1.2 });
    if (program.valuation.kind !== 'pool') throw new Error('expected pool');
    expect(program.valuation.poolShare.default).toBe(0.16);
    expect(program.valuation.retention).toEqual({ checkout: 0, coupon: 0, capOut: 0.2 });
  });

  it('lists every invalid field with its path and a message in both languages', () => {
    const parsed = parseProgram({ currency: 'XXQ', earning: { baseRate: 0.12345, tiers: [] }, expiry: { kind: 'rolling', months: 0 } });
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    const paths = parsed.error.issues.map((issue) => issue.path);
    expect(paths).toEqual(expect.arrayContaining(['currency', 'earning.baseRate', 'earning.tiers', 'expiry.months']));
    const baseRate = parsed.error.issues.find((issue) => issue.path === 'earning.baseRate');
    expect(baseRate?.message.en).toBe('earning.baseRate: must be a decimal with at most 4 places');
    expect(baseRate?.message['zh-CN']).toBe('earning.baseRate：最多保留 4 位小数');
  });

  it('rejects unknown top-level fields rather than ignoring a typo', () => {
    const parsed = parseProgram({ curency: 'USD' });
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error.issues[0]?.message.en).toContain('curency');
  });

  it('rejects unknown fields at every depth, naming each by its own path in both languages', () => {
    const cases: [unknown, string][] = [
      [{ earning: { bonus: 1 } }, 'earning.bonus'],
      [{ earning: { segments: { student: 1.2 } } }, 'earning.segments.student'],
      [{ earning: { tiers: [{ id: 'm', name: { en: 'M', 'zh-CN': 'M', fr: 'M' }, minSpend: 0, multiplier: 1 }] } }, 'earning.tiers.0.name.fr'],
      [{ behaviours: { referral: { grandparent: 10 } } }, 'behaviours.referral.grandparent'],
      [{ expiry: { kind: 'none', months: 12 } }, 'expiry.months'],
      [{ valuation: { kind: 'pool', release: { referralBoost: { cap: 3 } } } }, 'valuation.release.referralBoost.cap'],
    ];
    for (const [input, path] of cases) {
      const parsed = parseProgram(input);
      expect(parsed.ok, path).toBe(false);
      if (parsed.ok) continue;
      expect(parsed.error.issues[0]).toEqual({ path, message: { en: `${path}: unknown field`, 'zh-CN': `${path}：未知字段` } });
    }
    const two = parseProgram({ redemption: { a: 1, b: 2 } });
    expect(two.ok ? null : two.error.issues[0]?.message.en).toBe('redemption.a: unknown field (also unknown: b)');
  });

  it('rejects an unknown time zone and tiers out of order', () => {
    const parsed = parseProgram({
      timeZone: 'Mars/Olympus',
      earning: { tiers: [{ id: 'a', name: { en: 'A', 'zh-CN': 'A' }, minSpend: 0, multiplier: 1 }, { id: 'b', name: { en: 'B', 'zh-CN': 'B' }, minSpend: 0, multiplier: 2 }] },
    });
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error.issues.map((issue) => issue.path)).toEqual(['timeZone', 'earning.tiers']);
  });
});

describe('messages for invalid program fields', () => {
  // One invalid field per case; each message names the field's path in English and Chinese.
  const cases: [string, unknown, string, string, string][] = [
    ['a wrong type', { earning: { baseRate: 'high' } }, 'earning.baseRate', 'expected number', '应为 number 类型'],
    ['a fraction where a whole number is due', { earning: { pendingDays: 1.5 } }, 'earning.pendingDays', 'expected int', '应为 int 类型'],
    ['a number below its minimum', { earning: { pendingDays: -1 } }, 'earning.pendingDays', 'must be at least 0', '不能小于 0'],
    ['a number above its maximum', { earning: { pendingDays: 366 } }, 'earning.pendingDays', 'must be at most 365', '不能大于 365'],
    ['a list too short', { behaviours: { checkinStreak: [] } }, 'behaviours.checkinStreak', 'must be at least 1 items', '不能小于 1'],
    ['a list too long', { redemption: { excludedCategories: Array.from({ length: 101 }, () => 'x') } }, 'redemption.excludedCategories', 'must be at most 100 items', '不能大于 100'],
    ['a text too short', { earning: { tiers: [{ id: 'm', name: { en: '', 'zh-CN': 'M' }, minSpend: 0, multiplier: 1 }] } }, 'earning.tiers.0.name.en', 'must be at least 1 characters', '不能小于 1'],
    ['a text too long', { earning: { excludedCategories: ['x'.repeat(65)] } }, 'earning.excludedCategories.0', 'must be at most 64 characters', '不能大于 64'],
    ['an unknown kind', { expiry: { kind: 'weekly' } }, 'expiry.kind', 'not one of the allowed values', '取值不在允许范围内'],
    ['an unknown currency', { currency: 'XXQ' }, 'currency', 'is not a known ISO 4217 currency code', '不是有效的 ISO 4217 货币代码'],
    ['an unknown time zone', { timeZone: 'Mars/Olympus' }, 'timeZone', 'is not a known IANA time zone', '不是有效的 IANA 时区'],
    ['a date that does not exist', { earning: { campaigns: [{ id: 'x', multiplier: 2, from: '2026-13-45' }] } }, 'earning.campaigns.0.from', 'must be a date YYYY-MM-DD', '日期格式应为 YYYY-MM-DD'],
    ['a first tier above zero', { earning: { tiers: [{ id: 'm', name: { en: 'M', 'zh-CN': 'M' }, minSpend: 100, multiplier: 1 }] } }, 'earning.tiers', 'the first tier must start at minSpend 0', '第一个等级的 minSpend 必须为 0'],
    ['an empty category key', { valuation: { kind: 'pool', poolShare: { byCategory: { '': 0.1 } } } }, 'valuation.poolShare.byCategory.', 'is invalid', '无效'],
    ['something that is not a program at all', 'nonsense', '(program)', 'expected object', '应为 object 类型'],
  ];

  it.each(cases)('describes %s', (_, input, path, en, zh) => {
    expect(parseProgram(input)).toEqual({ ok: false, error: { code: 'INVALID_PROGRAM', issues: [{ path, message: { en: `${path}: ${en}`, 'zh-CN': `${path}：${zh}` } }] } });
  });

  it('describes tiers out of order and a date in the wrong format', () => {
    const tiers = [{ id: 'a', name: { en: 'A', 'zh-CN': 'A' }, minSpend: 0, multiplier: 1 }, { id: 'b', name: { en: 'B', 'zh-CN': 'B' }, minSpend: 0, multiplier: 2 }];
    const unordered = parseProgram({ earning: { tiers } });
    expect(unordered.ok ? null : unordered.error.issues).toEqual([
      { path: 'earning.tiers', message: { en: 'earning.tiers: tiers must be in ascending minSpend order', 'zh-CN': 'earning.tiers：等级须按 minSpend 递增排列' } },
    ]);
    const slashed = parseProgram({ earning: { campaigns: [{ id: 'x', multiplier: 2, from: '2026/11/11' }] } });
    expect(slashed.ok ? null : slashed.error.issues[0]).toEqual({
      path: 'earning.campaigns.0.from',
      message: { en: 'earning.campaigns.0.from: must be a date YYYY-MM-DD', 'zh-CN': 'earning.campaigns.0.from：日期格式应为 YYYY-MM-DD' },
    });
  });

  it('refuses a date the calendar does not have, which a date parser would roll over', () => {
    const rolled = parseProgram({ earning: { campaigns: [{ id: 'x', multiplier: 2, from: '2026-02-29', to: '2026-02-31' }] } });
    expect(rolled.ok ? null : rolled.error.issues.map((issue) => issue.path)).toEqual(['earning.campaigns.0.from', 'earning.campaigns.0.to']);
    expect(parseProgram({ earning: { campaigns: [{ id: 'x', multiplier: 2, from: '2028-02-29' }] } }).ok).toBe(true);
  });

  it('refuses a campaign that ends before it starts, naming its end', () => {
    const reversed = parseProgram({ earning: { campaigns: [{ id: 'x', multiplier: 2, from: '2026-11-12', to: '2026-11-11' }] } });
    expect(reversed.ok ? null : reversed.error.issues).toEqual([
      { path: 'earning.campaigns.0.to', message: { en: 'earning.campaigns.0.to: must not be before from', 'zh-CN': 'earning.campaigns.0.to：不能早于 from' } },
    ]);
    expect(parseProgram({ earning: { campaigns: [{ id: 'x', multiplier: 2, from: '2026-11-11', to: '2026-11-11' }] } }).ok).toBe(true);
  });

  it('refuses names a shopper would read with control characters or half a surrogate pair', () => {
    const name = (en: string) => ({ earning: { tiers: [{ id: 'member', name: { en, 'zh-CN': '会员' }, minSpend: 0, multiplier: 1 }] } });
    for (const bad of ['Gold\u0000', 'Gold\n', 'Gold \ud800']) {
      const parsed = parseProgram(name(bad));
      expect(parsed.ok ? null : parsed.error.issues.map((issue) => issue.path)).toEqual(['earning.tiers.0.name.en']);
    }
    expect(parseProgram(name('Gold 金卡 🥇')).ok).toBe(true);
  });

  it('refuses two tiers or two campaigns with one id, naming the second', () => {
    const name = { en: 'A', 'zh-CN': 'A' };
    const tiers = [{ id: 'member', name, minSpend: 0, multiplier: 1 }, { id: 'member', name, minSpend: 100, multiplier: 1.5 }];
    const twoTiers = parseProgram({ earning: { tiers } });
    expect(twoTiers.ok ? null : twoTiers.error.issues).toEqual([
      { path: 'earning.tiers.1.id', message: { en: 'earning.tiers.1.id: another entry already has this id', 'zh-CN': 'earning.tiers.1.id：与前面的条目 id 重复' } },
    ]);
    const campaigns = [{ id: 'spring', multiplier: 2, categories: ['fruit'] }, { id: 'autumn', multiplier: 2 }, { id: 'spring', multiplier: 3, categories: ['tea'] }];
    const twoCampaigns = parseProgram({ earning: { campaigns } });
    expect(twoCampaigns.ok ? null : twoCampaigns.error.issues.map((issue) => issue.path)).toEqual(['earning.campaigns.2.id']);
  });
});

describe('program helpers', () => {
  it('refuses to build a default program from invalid overrides, naming every invalid field', () => {
    expect(() => defaultProgram({ earning: { pendingDays: -1, baseRate: 2 } })).toThrow('invalid program: earning.baseRate, earning.pendingDays');
  });

  it('names every further unknown field in Chinese too', () => {
    const two = parseProgram({ redemption: { a: 1, b: 2, c: 3 } });
    expect(two.ok ? null : two.error.issues[0]?.message).toEqual({
      en: 'redemption.a: unknown field (also unknown: b, c)',
      'zh-CN': 'redemption.a：未知字段（另有未知字段 b、c）',
    });
  });

  it('reads a currency’s minor digits from ISO 4217: fen, none for yen, three for the Kuwaiti dinar', () => {
    expect(currencyMinorDigits('CNY')).toBe(2);
    expect(currencyMinorDigits('JPY')).toBe(0);
    expect(currencyMinorDigits('KWD')).toBe(3);
  });

  it('knows an IANA time zone from anything else', () => {
    expect(isTimeZone('America/New_York')).toBe(true);
    expect(isTimeZone('Mars/Olympus')).toBe(false);
  });
});
