import { describeEachDialect } from '@jifen/db/testing';
import { expect, it } from 'vitest';
import { createLot, lockShopper } from '../src/accounts';
import { createMerchant, getProgram } from '../src/merchants';
import { reportsSummary } from '../src/reports';
import {
  aPoolClock,
  aPoolMerchant,
  aPoolProgram,
  completeOrder,
  expireEverything,
  fundPoints,
  poolOf,
  spendPoints,
} from './support-pool';
import { useShop } from './support-shop';

describeEachDialect('merchant.reports.summary', (dialect) => {
  // 23:30 on 28 February in Shanghai, the merchant's zone.
  const shop = useShop(dialect, { clock: () => aPoolClock('2025-02-28T15:30:00Z'), merchant: aPoolMerchant });

  it('sums this local month’s issuance, redemptions and expiries from the journal, and values the liability at the pool price', async () => {
    await completeOrder(shop.ledger, shop.merchantId, { shopperId: 'alice', amount: 100_000 }); // 112 points, still February locally
    shop.clock.advance(60 * 60_000); // 00:30 on 1 March in Shanghai (still 28 February in UTC)
    await completeOrder(shop.ledger, shop.merchantId, { shopperId: 'bob', amount: 100_000 }); // 78 points
    await fundPoints(shop.ledger, shop.merchantId, 'carol', 10);
    await spendPoints(shop.ledger, shop.merchantId, 'alice', 12, 'checkout');
    await spendPoints(shop.ledger, shop.merchantId, 'bob', 8, 'coupon');
    await expireEverything(shop.ledger, shop.merchantId, 'carol');
    shop.clock.advance(5 * 86_400_000);

    const summary = await reportsSummary(shop.ledger.db, shop.merchantId, shop.clock.now);
    const pool = await poolOf(shop.ledger.db, shop.merchantId);
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

    const february = await reportsSummary(shop.ledger.db, shop.merchantId, new Date('2025-02-10T00:00:00Z'));
    expect(february).toMatchObject({ month: '2025-02', issuedThisMonth: 112, redeemedThisMonth: 0, expiredThisMonth: 0 });
    const april = await reportsSummary(shop.ledger.db, shop.merchantId, new Date('2025-04-10T00:00:00Z'));
    expect(april).toMatchObject({ issuedThisMonth: 0, redeemedThisMonth: 0, expiredThisMonth: 0 });
  });

  it('reports the monthly budget as its share of the month’s paid GMV and the value issued against it', async () => {
    shop.merchantId = await aPoolMerchant(shop.ledger, aPoolProgram({}, { earning: { monthlyBudgetRate: 0.5 } }));
    await shop.ledger.db.insertInto('budget_months').values({ merchant_id: shop.merchantId, month: '2025-02', gmv: 300_000, issued_value: 0, shortfall_value: 0 }).execute();
    await completeOrder(shop.ledger, shop.merchantId, { shopperId: 'alice', amount: 100_000 });
    const summary = await reportsSummary(shop.ledger.db, shop.merchantId, shop.clock.now);
    expect(summary.budget).toEqual({ limitMinor: 150_000, usedMinor: 11_200 }); // 112 points at ¥1
  });

  it('values a classic program’s liability at its fixed point value and has no pool', async () => {
    ({ merchantId: shop.merchantId } = await createMerchant(shop.ledger, { name: 'Classic shop', program: { timeZone: 'Asia/Shanghai' } }));
    await shop.ledger.write(async (tx) => {
      const { version } = await getProgram(tx.db, shop.merchantId);
      await lockShopper(tx, shop.merchantId, 'alice');
      const lotId = await createLot(tx, {
        merchantId: shop.merchantId,
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
      await tx.journal.append(shop.merchantId, { shopperId: 'alice', kind: 'earn', points: 5_000, ref: 'o1', lotId, programVersion: version });
    });
    const summary = await reportsSummary(shop.ledger.db, shop.merchantId, shop.clock.now);
    expect(summary).toMatchObject({
      liability: { points: 5_000, minor: 5_000 }, // 100 points = ¥1: a point is a fen
      issuedThisMonth: 5_000,
      budget: { limitMinor: 0, usedMinor: 0 },
      pool: null,
    });
  });
});
