import { describeEachDialect, useTestDb } from '@jifen/db/testing';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { createLot, lockShopper } from '../src/accounts';
import { Ledger } from '../src/ledger';
import { createMerchant, getProgram } from '../src/merchants';
import { reportsSummary } from '../src/reports';
import { assertLedgerInvariants } from '../src/verify';
import {
  type PoolClock,
  aPoolClock,
  aPoolMerchant,
  aPoolProgram,
  completeOrder,
  expireEverything,
  fundPoints,
  poolOf,
  spendPoints,
} from './support-pool';

describeEachDialect('merchant.reports.summary', (dialect) => {
  const database = useTestDb(dialect);
  let clock: PoolClock;
  let ledger: Ledger;
  let merchantId: string;

  beforeEach(async () => {
    // 23:30 on 28 February in Shanghai, the merchant's zone.
    clock = aPoolClock('2025-02-28T15:30:00Z');
    ledger = new Ledger(database(), { clock: clock.read });
    merchantId = await aPoolMerchant(ledger);
  });

  afterEach(async () => {
    await assertLedgerInvariants(ledger.db, merchantId);
  });

  it('sums this local month’s issuance, redemptions and expiries from the journal, and values the liability at the pool price', async () => {
    await completeOrder(ledger, merchantId, { shopperId: 'alice', amount: 100_000 }); // 112 points, still February locally
    clock.advance(60 * 60_000); // 00:30 on 1 March in Shanghai (still 28 February in UTC)
    await completeOrder(ledger, merchantId, { shopperId: 'bob', amount: 100_000 }); // 78 points
    await fundPoints(ledger, merchantId, 'carol', 10);
    await spendPoints(ledger, merchantId, 'alice', 12, 'checkout');
    await spendPoints(ledger, merchantId, 'bob', 8, 'coupon');
    await expireEverything(ledger, merchantId, 'carol');
    clock.advance(5 * 86_400_000);

    const summary = await reportsSummary(ledger.db, merchantId, clock.now);
    const pool = await poolOf(ledger.db, merchantId);
    expect(summary).toMatchObject({
      month: '2025-03',
      issuedThisMonth: 78 + 10,
      redeemedThisMonth: 12 + 8,
      expiredThisMonth: 10,
      liability: { points: 100 + 70, minor: pool.amount },
      pool: { amount: pool.amount, supply: 170 },
    });
    expect(pool.supply).toBe(170);
    expect(summary.pool?.price).toMatch(/^\d+\.\d{4}$/);
    expect(Number(summary.pool?.price)).toBeCloseTo(pool.amount / pool.supply, 4);

    const february = await reportsSummary(ledger.db, merchantId, new Date('2025-02-10T00:00:00Z'));
    expect(february).toMatchObject({ month: '2025-02', issuedThisMonth: 112, redeemedThisMonth: 0, expiredThisMonth: 0 });
    const april = await reportsSummary(ledger.db, merchantId, new Date('2025-04-10T00:00:00Z'));
    expect(april).toMatchObject({ issuedThisMonth: 0, redeemedThisMonth: 0, expiredThisMonth: 0 });
  });

  it('reports the monthly budget as its share of the month’s paid GMV and the value issued against it', async () => {
    merchantId = await aPoolMerchant(ledger, aPoolProgram({}, { earning: { monthlyBudgetRate: 0.5 } }));
    await ledger.db.insertInto('budget_months').values({ merchant_id: merchantId, month: '2025-02', gmv: 300_000, issued_value: 0, shortfall_value: 0 }).execute();
    await completeOrder(ledger, merchantId, { shopperId: 'alice', amount: 100_000 });
    const summary = await reportsSummary(ledger.db, merchantId, clock.now);
    expect(summary.budget).toEqual({ limitMinor: 150_000, usedMinor: 11_200 }); // 112 points at ¥1
  });

  it('values a classic program’s liability at its fixed point value and has no pool', async () => {
    ({ merchantId } = await createMerchant(ledger, { name: 'Classic shop', program: { timeZone: 'Asia/Shanghai' } }));
    await ledger.write(async (tx) => {
      const { version } = await getProgram(tx.db, merchantId);
      await lockShopper(tx, merchantId, 'alice');
      const lotId = await createLot(tx, {
        merchantId,
        shopperId: 'alice',
        source: 'order',
        sourceRef: 'o1',
        programVersion: version,
        points: 5_000,
        status: 'pending',
        earnedAt: tx.now,
        availableAt: tx.now,
        expiresAt: null,
      });
      await tx.journal.append(merchantId, { shopperId: 'alice', kind: 'earn', points: 5_000, ref: 'o1', lotId, programVersion: version });
    });
    const summary = await reportsSummary(ledger.db, merchantId, clock.now);
    expect(summary).toMatchObject({
      liability: { points: 5_000, minor: 5_000 }, // 100 points = ¥1: a point is a fen
      issuedThisMonth: 5_000,
      budget: { limitMinor: 0, usedMinor: 0 },
      pool: null,
    });
  });
});
