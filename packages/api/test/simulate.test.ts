import { describeEachDialect, useTestDb } from '@jifen/db/testing';
import { type SimulationEvent, defaultProgram, simulate } from '@jifen/rules';
import { beforeEach, expect, it } from 'vitest';
import { Ledger } from '../src/ledger';
import { createMerchant } from '../src/merchants';
import { simulateOrders } from '../src/simulate-orders';
import { DAY_MS, type PoolClock, aPoolClock, aPoolProgram, expectRefusal, journalHead, rowCounts, storeOrder, storeRefund } from './support-pool';

describeEachDialect('simulate over stored orders', (dialect) => {
  const database = useTestDb(dialect);
  let clock: PoolClock;
  let ledger: Ledger;
  let merchantId: string;
  const ago = (days: number) => new Date(clock.now.getTime() - days * DAY_MS);

  beforeEach(async () => {
    clock = aPoolClock('2025-03-31T04:00:00Z');
    ledger = new Ledger(database(), { clock: clock.read });
    ({ merchantId } = await createMerchant(ledger, { name: 'Replay shop' }));
    await storeOrder(ledger.db, merchantId, { orderId: 'old', shopperId: 'alice', amount: 900_000, paidAt: ago(45), completedAt: ago(40) });
    await storeOrder(ledger.db, merchantId, {
      orderId: 'o1',
      shopperId: 'alice',
      amount: 100_000,
      paidAt: ago(10),
      completedAt: ago(6),
      items: [{ category: 'food', amount: 100_000 }],
      refundedAmount: 20_000,
    });
    await storeRefund(ledger.db, merchantId, { refundId: 'r1', orderId: 'o1', amount: 20_000, at: ago(4) });
    await storeOrder(ledger.db, merchantId, { orderId: 'o2', shopperId: 'bob', amount: 50_000, paidAt: ago(3), pointsPaid: 500, pointsPaidValue: 500 });
    await storeOrder(ledger.db, merchantId, { orderId: 'o3', shopperId: 'carol', amount: 30_000, paidAt: ago(2), cancelledAt: ago(1) });
  });

  it('replays the last N days of orders, completions, refunds and cancellations under the candidate program', async () => {
    const candidate = { earning: { baseRate: 0.1 } };
    const replay = await simulateOrders(ledger.db, { merchantId, program: candidate, days: 30, now: clock.now });
    expect(replay.orders).toBe(3);
    expect(replay.totals.gmvMinor).toBe(100_000 + 50_000 + 30_000);
    expect(replay.totals.refundsMinor).toBe(20_000 + 30_000);

    const events: SimulationEvent[] = [
      { kind: 'paid', at: ago(10), orderId: 'o1', shopperId: 'alice', amount: 100_000, items: [{ category: 'food', amount: 100_000 }], shipping: 0, tax: 0, pointsPaidValue: 0, isVip: false },
      { kind: 'completed', at: ago(6), orderId: 'o1' },
      { kind: 'pointsUsed', at: ago(3), shopperId: 'bob', points: 500, orderId: 'o2' },
      { kind: 'paid', at: ago(3), orderId: 'o2', shopperId: 'bob', amount: 50_000, shipping: 0, tax: 0, pointsPaidValue: 500, isVip: false },
      { kind: 'paid', at: ago(2), orderId: 'o3', shopperId: 'carol', amount: 30_000, shipping: 0, tax: 0, pointsPaidValue: 0, isVip: false },
      { kind: 'refunded', at: ago(4), orderId: 'o1', amount: 20_000 },
      { kind: 'refunded', at: ago(1), orderId: 'o3', amount: 30_000 },
    ];
    const expected = simulate(defaultProgram(candidate), events, { until: clock.now });
    expect(replay.totals).toEqual(expected.totals);
    expect(replay.days).toEqual(expected.days);
    expect(replay.totals.issued).toBeGreaterThan(0);
  });

  it('writes nothing: the journal head and every table are as they were', async () => {
    const head = await journalHead(ledger.db, merchantId);
    const counts = await rowCounts(ledger.db);
    await simulateOrders(ledger.db, { merchantId, program: aPoolProgram(), days: 60, now: clock.now });
    await simulateOrders(ledger.db, { merchantId, program: {}, now: clock.now });
    expect(await journalHead(ledger.db, merchantId)).toEqual(head);
    expect(await rowCounts(ledger.db)).toEqual(counts);
  });

  it('replays a pool candidate as pool points, with the pool and its price per day', async () => {
    const replay = await simulateOrders(ledger.db, { merchantId, program: aPoolProgram(), days: 60, now: clock.now });
    expect(replay.orders).toBe(4);
    const last = replay.days.at(-1);
    expect(last?.pool).not.toBeNull();
    expect(last?.pool?.price).toMatch(/^\d+\.\d{4}$/);
  });

  it('refuses an invalid candidate program naming the field, and a window out of range', async () => {
    const invalidProgram = await expectRefusal(simulateOrders(ledger.db, { merchantId, program: { earning: { baseRate: 2 } }, now: clock.now }), 'INVALID_PROGRAM');
    expect(invalidProgram.param).toBe('program.earning.baseRate');
    const badDays = await expectRefusal(simulateOrders(ledger.db, { merchantId, program: {}, days: 0, now: clock.now }), 'INVALID_INPUT');
    expect(badDays.param).toBe('days');
    await expectRefusal(simulateOrders(ledger.db, { merchantId: 'nobody', program: {}, now: clock.now }), 'NOT_FOUND');
  });
});
