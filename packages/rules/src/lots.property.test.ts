import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pointUnits } from './arithmetic';
import { type Lot, allocateLots, compareLotsForSpending } from './lots';

const lotArbitrary = fc.record({
  remaining: fc.integer({ min: 0, max: 10_000 }),
  expiresAt: fc.option(fc.integer({ min: 0, max: 1_000 }), { nil: null }),
  earnedAt: fc.integer({ min: 0, max: 1_000 }),
});

const lotsArbitrary = fc.array(lotArbitrary, { maxLength: 12 }).map((lots): Lot[] =>
  lots.map((lot, index) => ({
    id: `lot-${String(index).padStart(2, '0')}`,
    remaining: pointUnits(lot.remaining),
    expiresAt: lot.expiresAt === null ? null : new Date(lot.expiresAt * 86_400_000),
    earnedAt: new Date(lot.earnedAt * 86_400_000),
  })),
);

describe('allocating lots, for any lots', () => {
  it('takes exactly the points requested, never more than a lot holds, or refuses when they are short', () => {
    fc.assert(
      fc.property(lotsArbitrary, fc.integer({ min: 0, max: 150_000 }), (lots, requested) => {
        const available = lots.reduce((sum, lot) => sum + lot.remaining, 0);
        const allocated = allocateLots(lots, requested);
        if (requested > available) {
          expect(allocated).toEqual({ ok: false, error: { code: 'INSUFFICIENT_POINTS', available, requested } });
          return;
        }
        expect(allocated.ok).toBe(true);
        if (!allocated.ok) return;
        expect(allocated.value.reduce((sum, portion) => sum + portion.points, 0)).toBe(requested);
        const byId = new Map(lots.map((lot) => [lot.id, lot]));
        expect(new Set(allocated.value.map((portion) => portion.lotId)).size).toBe(allocated.value.length);
        for (const portion of allocated.value) {
          expect(portion.points).toBeGreaterThan(0);
          expect(portion.points).toBeLessThanOrEqual(byId.get(portion.lotId)!.remaining);
        }
      }),
    );
  });

  it('never touches a lot while an earlier-expiring lot still has points left', () => {
    fc.assert(
      fc.property(lotsArbitrary, fc.integer({ min: 0, max: 150_000 }), (lots, requested) => {
        const allocated = allocateLots(lots, requested);
        if (!allocated.ok) return;
        const taken = new Map(allocated.value.map((portion) => [portion.lotId, portion.points]));
        const ordered = lots.filter((lot) => lot.remaining > 0).sort(compareLotsForSpending);
        // Along the spending order: fully drained lots, then at most one partly taken, then untouched lots.
        const states = ordered.map((lot) => {
          const points = taken.get(lot.id) ?? 0;
          return points === lot.remaining ? 'drained' : points === 0 ? 'untouched' : 'partial';
        });
        const firstNotDrained = states.findIndex((state) => state !== 'drained');
        if (firstNotDrained === -1) return;
        expect(states.slice(firstNotDrained + 1).every((state) => state === 'untouched')).toBe(true);
        const touchedExpiries = ordered.filter((lot) => taken.has(lot.id)).map((lot) => lot.expiresAt?.getTime() ?? Infinity);
        const untouchedExpiries = ordered.filter((lot) => !taken.has(lot.id)).map((lot) => lot.expiresAt?.getTime() ?? Infinity);
        if (touchedExpiries.length > 0 && untouchedExpiries.length > 0) {
          expect(Math.max(...touchedExpiries)).toBeLessThanOrEqual(Math.min(...untouchedExpiries));
        }
      }),
    );
  });
});
