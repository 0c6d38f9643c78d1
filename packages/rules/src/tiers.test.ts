import { describe, expect, it } from 'vitest';
import { type Program, type ProgramInput, defaultProgram } from './program';
import { type TierSpend, qualifyingSpend, tierForSpend, tierProgress, tierReviewAt, tierStatus, tierWindowStart } from './tiers';

function aProgram(earning: NonNullable<ProgramInput['earning']> = {}, rest: Omit<ProgramInput, 'earning'> = {}): Program {
  return defaultProgram({ ...rest, earning });
}

/** Noon in Shanghai on a local date. */
function noon(date: string): Date {
  return new Date(`${date}T04:00:00Z`);
}

function aSpend(date: string, amount: number): TierSpend {
  return { at: noon(date), amount };
}

const program = aProgram();

describe('tier thresholds and progress', () => {
  it('resolves the highest tier the spend reaches (SPEC §3.1: silver from ¥1,000, gold ¥5,000, diamond ¥20,000)', () => {
    expect(tierForSpend(program, 99_999).id).toBe('member');
    expect(tierForSpend(program, 100_000).id).toBe('silver');
    expect(tierForSpend(program, 499_999).id).toBe('silver');
    expect(tierForSpend(program, 2_000_000).id).toBe('diamond');
  });

  it('tells how much spend the next tier still needs, and nothing at the top', () => {
    const silver = tierForSpend(program, 300_000);
    expect(tierProgress(program, silver, 300_000)).toMatchObject({ current: { id: 'silver' }, next: { id: 'gold' }, spendToNext: 200_000 });
    const diamond = tierForSpend(program, 2_500_000);
    expect(tierProgress(program, diamond, 2_500_000)).toMatchObject({ next: null, spendToNext: null });
  });
});

describe('the trailing window', () => {
  it('counts a spend for twelve months of local days, then lets it go', () => {
    const spends = [aSpend('2025-06-15', 150_000)];
    expect(qualifyingSpend(program, spends, noon('2026-06-14'))).toBe(150_000);
    // 00:00 on 15 June 2026 in Shanghai is 16:00 UTC the day before.
    expect(qualifyingSpend(program, spends, new Date('2026-06-14T15:59:59Z'))).toBe(150_000);
    expect(qualifyingSpend(program, spends, new Date('2026-06-14T16:00:00Z'))).toBe(0);
  });

  it('ignores spends after the instant asked about', () => {
    expect(qualifyingSpend(program, [aSpend('2026-06-15', 1_000)], noon('2026-06-14'))).toBe(0);
  });

  it('opens a one-month window ending on 31 March on 1 March, and one ending on 28 February on 29 January', () => {
    const monthly = aProgram({ tierWindowMonths: 1 });
    expect(tierWindowStart(monthly, noon('2026-03-31')).toISOString()).toBe('2026-02-28T16:00:00.000Z');
    expect(tierWindowStart(monthly, noon('2026-02-28')).toISOString()).toBe('2026-01-28T16:00:00.000Z');
  });

  it('lets a refund lower the qualifying spend, never below zero', () => {
    expect(qualifyingSpend(program, [aSpend('2026-05-01', 100_000), aSpend('2026-05-03', -30_000)], noon('2026-06-01'))).toBe(70_000);
    expect(qualifyingSpend(program, [aSpend('2026-05-03', -30_000)], noon('2026-06-01'))).toBe(0);
  });
});

describe('what a shopper still needs', () => {
  it('counts the spend to the next tier from the lowest tier, and gives a tier the program dropped no next tier', () => {
    const member = tierForSpend(program, 30_000);
    expect(tierProgress(program, member, 30_000)).toMatchObject({ current: { id: 'member' }, next: { id: 'silver' }, spendToNext: 70_000 });
    const retired = { id: 'platinum', name: { en: 'Platinum', 'zh-CN': '铂金' }, minSpend: 0, multiplier: 3 };
    expect(tierProgress(program, retired, 30_000)).toMatchObject({ next: null, spendToNext: null });
  });

  it('counts the spend still needed to keep a tier at its review, net of what the window will still hold then', () => {
    // Gold (¥5,000) confirmed on 10 January 2026, reviewed on 10 January 2027; ¥1,000 spent on 1 June counts then.
    const record = { tierId: 'gold', confirmedAt: noon('2026-01-10') };
    const status = tierStatus(program, { record, spends: [aSpend('2026-06-01', 100_000)], now: noon('2026-07-01') });
    expect(status.tier.id).toBe('gold');
    expect(status.reviewAt?.toISOString()).toBe('2027-01-09T16:00:00.000Z');
    expect(status.spendToKeep).toBe(400_000);
  });
});

describe('upgrade at once, downgrade only at the window end', () => {
  it('upgrades at the spend that reaches the next tier and reviews twelve months later', () => {
    const spends = [aSpend('2026-01-10', 300_000), aSpend('2026-02-20', 250_000)];
    const status = tierStatus(program, { record: null, spends, now: noon('2026-03-01') });
    expect(status.tier.id).toBe('gold');
    expect(status.confirmedAt).toEqual(noon('2026-02-20'));
    expect(status.reviewAt?.toISOString()).toBe('2027-02-19T16:00:00.000Z');
    expect(status.qualifyingSpend).toBe(550_000);
    expect(status.progress).toMatchObject({ next: { id: 'diamond' }, spendToNext: 1_450_000 });
  });

  it('keeps gold until the review even when the spend that earned it has left the window', () => {
    const record = { tierId: 'gold', confirmedAt: noon('2025-07-01') };
    const spends = [aSpend('2025-06-20', 400_000), aSpend('2025-07-01', 200_000)];
    const before = tierStatus(program, { record, spends, now: new Date('2026-06-30T15:59:59Z') });
    expect(before.tier.id).toBe('gold');
    expect(before.qualifiedTier.id).toBe('silver');
    expect(before.spendToKeep).toBe(500_000);

    const after = tierStatus(program, { record, spends, now: new Date('2026-06-30T16:00:00Z') });
    expect(after.tier.id).toBe('member');
    expect(after.reviewAt).toBeNull();
  });

  it('confirms the tier for another window when the spend still qualifies at the review', () => {
    const record = { tierId: 'silver', confirmedAt: noon('2025-03-01') };
    const spends = [aSpend('2025-03-01', 100_000), aSpend('2026-01-15', 120_000)];
    const status = tierStatus(program, { record, spends, now: noon('2026-04-01') });
    expect(status.tier.id).toBe('silver');
    expect(status.confirmedAt.toISOString()).toBe('2026-02-28T16:00:00.000Z');
    expect(status.reviewAt?.toISOString()).toBe('2027-02-28T16:00:00.000Z');
  });

  it('drops straight to the tier the spend reaches at the review, several tiers at once', () => {
    const record = { tierId: 'diamond', confirmedAt: noon('2025-01-05') };
    const status = tierStatus(program, { record, spends: [aSpend('2025-01-05', 2_000_000), aSpend('2025-12-01', 120_000)], now: noon('2026-01-06') });
    expect(status.tier.id).toBe('silver');
    expect(status.confirmedAt.toISOString()).toBe('2026-01-04T16:00:00.000Z');
  });

  it('gives the same tier asked a year late as asked after every event', () => {
    const spends = [
      aSpend('2025-02-01', 600_000),
      aSpend('2025-09-01', 50_000),
      aSpend('2026-02-10', 120_000),
      aSpend('2026-04-01', 400_000),
    ];
    let record = null as { tierId: string; confirmedAt: Date } | null;
    for (const day of ['2025-02-01', '2025-09-01', '2026-02-02', '2026-02-10', '2026-04-01', '2026-08-01']) {
      const status = tierStatus(program, { record, spends, now: noon(day) });
      record = { tierId: status.tier.id, confirmedAt: status.confirmedAt };
    }
    const late = tierStatus(program, { record: null, spends, now: noon('2026-08-01') });
    expect(record).toEqual({ tierId: late.tier.id, confirmedAt: late.confirmedAt });
    // Gold from 1 Feb 2025; reviewed 1 Feb 2026 with ¥500 in the window: member; gold again on 1 April 2026.
    expect(late.tier.id).toBe('gold');
    expect(late.confirmedAt).toEqual(noon('2026-04-01'));
  });

  it('reviews a tier confirmed on 31 January after a one-month window when that day leaves it, at the start of 1 March', () => {
    const monthly = aProgram({ tierWindowMonths: 1 });
    const record = { tierId: 'silver', confirmedAt: noon('2026-01-31') };
    const spends = [aSpend('2026-01-31', 100_000)];
    // The window ending 28 February still opens on 29 January: 31 January leaves it on 1 March.
    expect(tierReviewAt(monthly, noon('2026-01-31')).toISOString()).toBe('2026-02-28T16:00:00.000Z');
    expect(tierStatus(monthly, { record, spends, now: noon('2026-02-28') })).toMatchObject({ tier: { id: 'silver' } });
    // Reviewed with the spend gone: member, not silver for another whole month.
    expect(tierStatus(monthly, { record, spends, now: noon('2026-03-01') }).tier.id).toBe('member');
  });

  it('reviews a tier confirmed on 29 February after a twelve-month window at the start of 1 March, not a year later', () => {
    const yearly = aProgram({ tierWindowMonths: 12 });
    const record = { tierId: 'silver', confirmedAt: noon('2024-02-29') };
    const spends = [aSpend('2024-02-29', 100_000)];
    expect(tierReviewAt(yearly, noon('2024-02-29')).toISOString()).toBe('2025-02-28T16:00:00.000Z');
    expect(tierStatus(yearly, { record, spends, now: noon('2025-06-01') }).tier.id).toBe('member');
  });

  it('reviews at local midnight in New York across the spring-forward change', () => {
    const newYork = aProgram({}, { timeZone: 'America/New_York', currency: 'USD' });
    // Confirmed 8 March 2025 (EST, UTC−5); reviewed at 00:00 on 8 March 2026, still EST, hours before the change.
    expect(tierReviewAt(newYork, new Date('2025-03-08T17:00:00Z')).toISOString()).toBe('2026-03-08T05:00:00.000Z');
    // Confirmed 10 March 2025 (EDT, UTC−4); reviewed at 00:00 on 10 March 2026, EDT again.
    expect(tierReviewAt(newYork, new Date('2025-03-10T16:00:00Z')).toISOString()).toBe('2026-03-10T04:00:00.000Z');
  });

  it('re-resolves a tier the program no longer has from the spend now', () => {
    const status = tierStatus(program, { record: { tierId: 'platinum', confirmedAt: noon('2026-01-01') }, spends: [aSpend('2026-03-01', 150_000)], now: noon('2026-04-01') });
    expect(status.tier.id).toBe('silver');
    expect(status.confirmedAt).toEqual(noon('2026-04-01'));
  });

  it('upgrades at once when a program change lowers a threshold, without waiting for a spend', () => {
    const generous = aProgram({
      tiers: [
        { id: 'member', name: { 'zh-CN': '普通会员', en: 'Member' }, minSpend: 0, multiplier: 1 },
        { id: 'silver', name: { 'zh-CN': '银卡会员', en: 'Silver' }, minSpend: 50_000, multiplier: 1.2 },
      ],
    });
    const status = tierStatus(generous, { record: { tierId: 'member', confirmedAt: noon('2026-03-01') }, spends: [aSpend('2026-02-01', 60_000)], now: noon('2026-04-01') });
    expect(status.tier.id).toBe('silver');
    expect(status.confirmedAt).toEqual(noon('2026-04-01'));
  });
});

describe('remembered window boundaries', () => {
  // The boundaries are kept per (zone, window, instant): they must be what the calendar says, for
  // every zone and window, and a caller changing a returned Date must not change the next answer.
  const newYork = aProgram({ tierWindowMonths: 1 }, { timeZone: 'America/New_York' });
  const shanghai = aProgram({ tierWindowMonths: 6 });

  it('gives the calendar answer again on repeated and neighbouring instants, across a DST change', () => {
    // 2026-03-08 02:00 New York: clocks go forward; a month later the window opens on 9 March either side.
    const beforeGap = new Date('2026-04-08T03:59:59.999Z');
    const afterGap = new Date('2026-04-08T04:00:00.000Z');
    for (let round = 0; round < 2; round++) {
      expect(tierWindowStart(newYork, beforeGap).toISOString()).toBe('2026-03-08T05:00:00.000Z');
      expect(tierWindowStart(newYork, afterGap).toISOString()).toBe('2026-03-09T04:00:00.000Z');
      expect(tierReviewAt(newYork, new Date('2026-02-08T17:00:00Z')).toISOString()).toBe('2026-03-08T05:00:00.000Z');
      expect(tierWindowStart(shanghai, noon('2026-08-31')).toISOString()).toBe('2026-02-28T16:00:00.000Z');
    }
  });

  it('keeps windows of different lengths and zones apart for the same instant', () => {
    const at = noon('2026-03-31');
    expect(tierWindowStart(aProgram({ tierWindowMonths: 1 }), at).toISOString()).toBe('2026-02-28T16:00:00.000Z');
    expect(tierWindowStart(aProgram({ tierWindowMonths: 2 }), at).toISOString()).toBe('2026-01-31T16:00:00.000Z');
    expect(tierWindowStart(aProgram({ tierWindowMonths: 1 }, { timeZone: 'America/New_York' }), at).toISOString()).toBe('2026-03-01T05:00:00.000Z');
  });

  it('hands out a new Date each time', () => {
    const at = noon('2026-05-20');
    const first = tierWindowStart(shanghai, at);
    first.setTime(0);
    expect(tierWindowStart(shanghai, at).toISOString()).toBe('2025-11-20T16:00:00.000Z');
    const review = tierReviewAt(shanghai, at);
    review.setTime(0);
    expect(tierReviewAt(shanghai, at).toISOString()).toBe('2026-11-19T16:00:00.000Z');
  });
});
