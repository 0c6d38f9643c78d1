import { describe, expect, it } from 'vitest';
import { clawback, netAgainstDebt, restoreExpiry, restoreSpent } from './refunds';

const orderOf = (orderAmount: number, earnedPoints: number) => ({ orderAmount, earnedPoints, spendable: 1_000_000 });

describe('clawing back earned points on a refund', () => {
  it('takes back earned points in proportion: ¥400 of a ¥1,000 order that earned 5,000 takes 2,000', () => {
    expect(clawback({ ...orderOf(100_000, 5_000), refundedBefore: 0, refundAmount: 40_000 })).toEqual({
      ok: true,
      value: { points: 2_000, fromBalance: 2_000, debt: 0, refundedTotal: 40_000, clawedTotal: 2_000 },
    });
  });

  it('takes back exactly what was earned on a full refund', () => {
    const result = clawback({ ...orderOf(99_999, 4_999), refundedBefore: 0, refundAmount: 99_999 });
    expect(result.ok && result.value.points).toBe(4_999);
  });

  it('rounds each partial refund against the running total, so three thirds add up to exactly what was earned', () => {
    const first = clawback({ ...orderOf(100_000, 5_000), refundedBefore: 0, refundAmount: 33_333 });
    const second = clawback({ ...orderOf(100_000, 5_000), refundedBefore: 33_333, refundAmount: 33_333 });
    const third = clawback({ ...orderOf(100_000, 5_000), refundedBefore: 66_666, refundAmount: 33_334 });
    // Taken back rounds up (SPEC §2): ceil(1,666.65) = 1,667, then ceil(3,333.3) = 3,334 in all, then the rest.
    expect([first, second, third].map((result) => result.ok && result.value.points)).toEqual([1_667, 1_667, 1_666]);
    expect(third.ok && third.value.clawedTotal).toBe(5_000);
  });

  it('records what the shopper has already spent as debt rather than a negative balance', () => {
    expect(clawback({ orderAmount: 100_000, earnedPoints: 5_000, spendable: 1_200, refundedBefore: 0, refundAmount: 100_000 })).toEqual({
      ok: true,
      value: { points: 5_000, fromBalance: 1_200, debt: 3_800, refundedTotal: 100_000, clawedTotal: 5_000 },
    });
  });

  it('refuses a refund beyond what remains refundable, naming what remains', () => {
    expect(clawback({ ...orderOf(100_000, 5_000), refundedBefore: 60_000, refundAmount: 50_000 })).toEqual({
      ok: false,
      error: { code: 'REFUND_EXCEEDS_ORDER', orderAmount: 100_000, refundedBefore: 60_000, refundAmount: 50_000, refundable: 40_000 },
    });
  });

  it('takes nothing back for a refund of zero, even on a free order', () => {
    expect(clawback({ ...orderOf(0, 0), refundedBefore: 0, refundAmount: 0 })).toMatchObject({ ok: true, value: { points: 0, debt: 0 } });
    expect(clawback({ ...orderOf(0, 0), refundedBefore: 0, refundAmount: 1 }).ok).toBe(false);
  });
});

describe('restoring points used to pay on a refund', () => {
  const now = new Date('2026-06-10T04:00:00Z'); // 10 June, noon in Shanghai
  const portions = [
    { lotId: 'still-valid', points: 300, expiresAt: new Date('2026-12-31T16:00:00Z') },
    { lotId: 'already-expired', points: 200, expiresAt: new Date('2026-05-31T16:00:00Z') },
    { lotId: 'never-expires', points: 100, expiresAt: null },
  ];
  const restore = (refundedBefore: number, refundAmount: number) =>
    restoreSpent({ portions, orderAmount: 10_000, refundedBefore, refundAmount, now, restoreGraceDays: 30, timeZone: 'Asia/Shanghai' });

  it('restores each portion in proportion, keeping its original expiry or granting the grace period when that has passed', () => {
    expect(restore(0, 5_000)).toEqual({
      ok: true,
      value: {
        points: 300,
        refundedTotal: 5_000,
        portions: [
          { lotId: 'still-valid', points: 150, expiresAt: new Date('2026-12-31T16:00:00Z'), expiry: 'original' },
          { lotId: 'already-expired', points: 100, expiresAt: new Date('2026-07-10T16:00:00Z'), expiry: 'grace' },
          { lotId: 'never-expires', points: 50, expiresAt: null, expiry: 'original' },
        ],
      },
    });
  });

  it('restores exactly what was spent over partial refunds that add up to the order', () => {
    const parts = [restore(0, 3_333), restore(3_333, 3_333), restore(6_666, 3_334)];
    const restored = new Map<string, number>();
    for (const part of parts) {
      expect(part.ok).toBe(true);
      if (!part.ok) continue;
      for (const portion of part.value.portions) restored.set(portion.lotId, (restored.get(portion.lotId) ?? 0) + portion.points);
    }
    expect(Object.fromEntries(restored)).toEqual({ 'still-valid': 300, 'already-expired': 200, 'never-expires': 100 });
  });

  it('refuses a restore beyond the order amount', () => {
    expect(restore(9_000, 1_001)).toMatchObject({ ok: false, error: { code: 'REFUND_EXCEEDS_ORDER', refundable: 1_000 } });
  });

  it('leaves out portions whose share rounds to nothing yet', () => {
    const single = restoreSpent({ portions: [{ lotId: 'one', points: 1, expiresAt: null }], orderAmount: 2, refundedBefore: 0, refundAmount: 1, now, restoreGraceDays: 30, timeZone: 'Asia/Shanghai' });
    expect(single).toEqual({ ok: true, value: { points: 0, portions: [], refundedTotal: 1 } });
  });
});

describe('the expiry of restored points', () => {
  it('keeps the original expiry while it is still ahead', () => {
    const originalExpiresAt = new Date('2026-06-10T16:00:00Z');
    expect(restoreExpiry({ originalExpiresAt, now: new Date('2026-06-10T15:59:59Z'), restoreGraceDays: 30, timeZone: 'Asia/Shanghai' })).toBe(originalExpiresAt);
    expect(restoreExpiry({ originalExpiresAt: null, now: new Date('2030-01-01T00:00:00Z'), restoreGraceDays: 30, timeZone: 'Asia/Shanghai' })).toBeNull();
  });

  it('grants the grace days through the end of a local day once the original expiry has passed', () => {
    const originalExpiresAt = new Date('2026-06-10T16:00:00Z');
    expect(restoreExpiry({ originalExpiresAt, now: originalExpiresAt, restoreGraceDays: 30, timeZone: 'Asia/Shanghai' })?.toISOString()).toBe('2026-07-11T16:00:00.000Z');
    expect(restoreExpiry({ originalExpiresAt, now: new Date('2026-06-12T03:00:00Z'), restoreGraceDays: 0, timeZone: 'Asia/Shanghai' })?.toISOString()).toBe('2026-06-12T16:00:00.000Z');
  });

  it('ends a New York grace period at local midnight after the clocks spring forward', () => {
    // Refunded 20 February (EST) with 30 grace days: usable through 22 March, which ends at 04:00 UTC (EDT).
    const expiresAt = restoreExpiry({ originalExpiresAt: new Date('2026-01-01T05:00:00Z'), now: new Date('2026-02-20T15:00:00Z'), restoreGraceDays: 30, timeZone: 'America/New_York' });
    expect(expiresAt?.toISOString()).toBe('2026-03-23T04:00:00.000Z');
  });
});

describe('netting debt against new earnings', () => {
  it('pays off debt first and credits the rest', () => {
    expect(netAgainstDebt(500, 200)).toEqual({ credited: 300, settled: 200, debtLeft: 0 });
    expect(netAgainstDebt(100, 250)).toEqual({ credited: 0, settled: 100, debtLeft: 150 });
    expect(netAgainstDebt(100, 0)).toEqual({ credited: 100, settled: 0, debtLeft: 0 });
  });
});
