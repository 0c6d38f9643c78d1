import { describe, expect, it } from 'vitest';
import { pointUnits } from './arithmetic';
import { type Lot, allocateLots, compareLotsForSpending, spendablePoints } from './lots';

function aLot(overrides: { id: string; remaining: number; expiresAt?: string | null; earnedAt?: string }): Lot {
  return {
    id: overrides.id,
    remaining: pointUnits(overrides.remaining),
    expiresAt: overrides.expiresAt === undefined || overrides.expiresAt === null ? null : new Date(overrides.expiresAt),
    earnedAt: new Date(overrides.earnedAt ?? '2026-01-01T00:00:00Z'),
  };
}

describe('allocating lots', () => {
  it('a hold takes the earliest-expiring lots first, splitting the last one it touches', () => {
    const lots = [
      aLot({ id: 'late', remaining: 500, expiresAt: '2027-06-30T16:00:00Z' }),
      aLot({ id: 'early', remaining: 300, expiresAt: '2027-01-31T16:00:00Z' }),
      aLot({ id: 'middle', remaining: 400, expiresAt: '2027-03-31T16:00:00Z' }),
    ];
    expect(allocateLots(lots, 500)).toEqual({
      ok: true,
      value: [
        { lotId: 'early', points: 300 },
        { lotId: 'middle', points: 200 },
      ],
    });
  });

  it('spends lots that never expire only after every expiring lot', () => {
    const lots = [
      aLot({ id: 'forever', remaining: 1_000, expiresAt: null, earnedAt: '2020-01-01T00:00:00Z' }),
      aLot({ id: 'expiring', remaining: 100, expiresAt: '2030-01-01T00:00:00Z' }),
    ];
    expect(allocateLots(lots, 150)).toEqual({ ok: true, value: [{ lotId: 'expiring', points: 100 }, { lotId: 'forever', points: 50 }] });
  });

  it('breaks ties on expiry by earliest earning, then by id', () => {
    const expiresAt = '2027-01-01T00:00:00Z';
    const lots = [
      aLot({ id: 'b', remaining: 10, expiresAt, earnedAt: '2026-02-01T00:00:00Z' }),
      aLot({ id: 'c', remaining: 10, expiresAt, earnedAt: '2026-01-01T00:00:00Z' }),
      aLot({ id: 'a', remaining: 10, expiresAt, earnedAt: '2026-02-01T00:00:00Z' }),
    ];
    expect([...lots].sort(compareLotsForSpending).map((lot) => lot.id)).toEqual(['c', 'a', 'b']);
    const allocated = allocateLots(lots, 25);
    expect(allocated.ok && allocated.value.map((portion) => portion.lotId)).toEqual(['c', 'a', 'b']);
  });

  it('orders lots as a total order: antisymmetric on ids, and a lot ties only with itself', () => {
    const expiresAt = '2027-01-01T00:00:00Z';
    const a = aLot({ id: 'a', remaining: 10, expiresAt });
    const b = aLot({ id: 'b', remaining: 10, expiresAt });
    expect(compareLotsForSpending(a, b)).toBe(-1);
    expect(compareLotsForSpending(b, a)).toBe(1);
    expect(compareLotsForSpending(a, a)).toBe(0);
    expect(compareLotsForSpending(a, { ...a })).toBe(0);
  });

  it('refuses to take more than the lots hold, naming what is available and what was asked', () => {
    const lots = [aLot({ id: 'x', remaining: 120 }), aLot({ id: 'y', remaining: 80, expiresAt: '2027-01-01T00:00:00Z' })];
    expect(allocateLots(lots, 201)).toEqual({ ok: false, error: { code: 'INSUFFICIENT_POINTS', available: 200, requested: 201 } });
    expect(allocateLots(lots, 200).ok).toBe(true);
  });

  it('skips lots that have expired at the given instant even before a sweep burns them', () => {
    const lots = [
      aLot({ id: 'dead', remaining: 100, expiresAt: '2026-05-01T00:00:00Z' }),
      aLot({ id: 'alive', remaining: 100, expiresAt: '2026-06-01T00:00:00Z' }),
    ];
    const now = new Date('2026-05-01T00:00:00Z');
    expect(allocateLots(lots, 50, now)).toEqual({ ok: true, value: [{ lotId: 'alive', points: 50 }] });
    expect(allocateLots(lots, 150, now)).toEqual({ ok: false, error: { code: 'INSUFFICIENT_POINTS', available: 100, requested: 150 } });
    expect(spendablePoints(lots, now)).toBe(100);
    expect(spendablePoints(lots)).toBe(200);
  });

  it('takes nothing from empty lots and allocates zero points as no portions', () => {
    const lots = [aLot({ id: 'empty', remaining: 0, expiresAt: '2026-02-01T00:00:00Z' }), aLot({ id: 'full', remaining: 10 })];
    expect(allocateLots(lots, 10)).toEqual({ ok: true, value: [{ lotId: 'full', points: 10 }] });
    expect(allocateLots(lots, 0)).toEqual({ ok: true, value: [] });
  });

  it('does not reorder the caller’s lots', () => {
    const lots = [aLot({ id: 'late', remaining: 1, expiresAt: '2028-01-01T00:00:00Z' }), aLot({ id: 'early', remaining: 1, expiresAt: '2027-01-01T00:00:00Z' })];
    allocateLots(lots, 1);
    expect(lots.map((lot) => lot.id)).toEqual(['late', 'early']);
  });
});
