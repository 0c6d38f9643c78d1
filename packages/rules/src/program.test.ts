import { describe, expect, it } from 'vitest';
import { defaultProgram, parseProgram } from './program';

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
