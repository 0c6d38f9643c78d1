import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { clawback, netAgainstDebt, restoreSpent } from './refunds';

/** An order amount and a sequence of partial refunds that stays within it (and may or may not reach it). */
const refundSequence = fc
  .record({
    orderAmount: fc.integer({ min: 1, max: 10_000_000 }),
    cutFractions: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 8 }),
    reachesFull: fc.boolean(),
  })
  .map(({ orderAmount, cutFractions, reachesFull }) => {
    const cuts = cutFractions.map((fraction) => Math.floor(fraction * orderAmount)).sort((a, b) => a - b);
    if (reachesFull) cuts.push(orderAmount);
    const refunds = cuts.map((cut, index) => cut - (index === 0 ? 0 : cuts[index - 1]!));
    return { orderAmount, refunds, reachesFull };
  });

describe('refunds, for any sequence of partial refunds', () => {
  it('never claw back more than the order earned, and a full refund claws back exactly that', () => {
    fc.assert(
      fc.property(refundSequence, fc.integer({ min: 0, max: 5_000_000 }), fc.integer({ min: 0, max: 5_000_000 }), ({ orderAmount, refunds, reachesFull }, earnedPoints, spendable) => {
        let refundedBefore = 0;
        let clawed = 0;
        for (const refundAmount of refunds) {
          const result = clawback({ earnedPoints, orderAmount, refundedBefore, refundAmount, spendable });
          expect(result.ok).toBe(true);
          if (!result.ok) return;
          expect(result.value.points).toBeGreaterThanOrEqual(0);
          expect(result.value.fromBalance + result.value.debt).toBe(result.value.points);
          expect(result.value.fromBalance).toBeLessThanOrEqual(spendable);
          clawed += result.value.points;
          refundedBefore += refundAmount;
          expect(result.value.clawedTotal).toBe(clawed);
          // The running total depends only on how much was refunded, not on how it was split; it rounds
          // up, so the points kept for what was kept are granted rounded down (SPEC §2).
          const exact = BigInt(earnedPoints) * BigInt(refundedBefore);
          expect(clawed).toBe(Number((exact + BigInt(orderAmount) - 1n) / BigInt(orderAmount)));
          expect(earnedPoints - clawed).toBe(Number((BigInt(earnedPoints) * BigInt(orderAmount - refundedBefore)) / BigInt(orderAmount)));
        }
        expect(clawed).toBeLessThanOrEqual(earnedPoints);
        if (reachesFull) expect(clawed).toBe(earnedPoints);
        if (refundedBefore < orderAmount) {
          const over = clawback({ earnedPoints, orderAmount, refundedBefore, refundAmount: orderAmount - refundedBefore + 1, spendable });
          expect(over.ok).toBe(false);
        }
      }),
    );
  });

  it('restore each spent portion symmetrically: never more than it gave, exactly what it gave on a full refund', () => {
    const portionsArbitrary = fc.array(fc.integer({ min: 0, max: 100_000 }), { minLength: 1, maxLength: 5 });
    fc.assert(
      fc.property(refundSequence, portionsArbitrary, ({ orderAmount, refunds, reachesFull }, spent) => {
        const portions = spent.map((points, index) => ({ lotId: `lot-${index}`, points, expiresAt: null }));
        const restored = spent.map(() => 0);
        let refundedBefore = 0;
        for (const refundAmount of refunds) {
          const result = restoreSpent({ portions, orderAmount, refundedBefore, refundAmount, now: new Date(0), restoreGraceDays: 30, timeZone: 'Asia/Shanghai' });
          expect(result.ok).toBe(true);
          if (!result.ok) return;
          expect(result.value.points).toBe(result.value.portions.reduce((sum, portion) => sum + portion.points, 0));
          for (const portion of result.value.portions) {
            expect(portion.points).toBeGreaterThan(0);
            restored[Number(portion.lotId.slice(4))]! += portion.points;
          }
          refundedBefore += refundAmount;
        }
        restored.forEach((points, index) => expect(points).toBeLessThanOrEqual(spent[index]!));
        if (reachesFull) expect(restored).toEqual(spent);
      }),
    );
  });

  it('net debt against earnings without creating or losing a point', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1e9 }), fc.integer({ min: 0, max: 1e9 }), (earned, debt) => {
        const netted = netAgainstDebt(earned, debt);
        expect(netted.credited + netted.settled).toBe(earned);
        expect(netted.debtLeft + netted.settled).toBe(debt);
        expect(netted.credited === 0 || netted.debtLeft === 0).toBe(true);
      }),
    );
  });
});
