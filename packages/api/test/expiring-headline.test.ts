import { describeEachDialect, useTestDb } from '@jifen/db/testing';
import { beforeEach, expect, it } from 'vitest';
import { upcomingExpiries } from '../src/expiry-schedule';
import { Ledger } from '../src/ledger';
import { createMerchant } from '../src/merchants';
import { orderPaid } from '../src/orders';
import { shopperMe } from '../src/shoppers';

/**
 * `shopper.me`'s `expiring` is the first group of `shopper.expiry.upcoming` (docs/api.md), whatever
 * the number of lots. Under a calendar expiry every lot earned in a year expires at one instant; a
 * shopper with more than 500 earnings that year (orders, check-ins, reviews) has more than 500 lots
 * on that day — where `shopper.me` once read the 500 earliest lots and undercounted the day.
 */
describeEachDialect("the expiry banner's headline and its schedule", (dialect) => {
  const database = useTestDb(dialect);
  let now: Date;
  let ledger: Ledger;
  let merchantId: string;

  beforeEach(async () => {
    now = new Date('2025-01-02T02:00:00Z');
    ledger = new Ledger(database(), { clock: () => now });
    ({ merchantId } = await createMerchant(ledger, {
      name: 'Calendar shop',
      program: {
        expiry: { kind: 'calendar', month: 12, day: 31, yearsAfter: 1 },
        earning: { pendingDays: 0, monthlyBudgetRate: null, perOrderCapRate: null, segments: { new: 1, regular: 1, vip: 1 }, campaigns: [] },
      },
    }));
  });

  it('shows the same points expiring on the soonest day in shopper.me and in the schedule', async () => {
    // 501 orders of ¥10 over 2025: every lot expires at the end of 2026-12-31.
    for (let index = 0; index < 501; index += 1) {
      await orderPaid(ledger, { merchantId, orderId: `o${index}`, shopperId: 'alice', amount: 1_000, currency: 'CNY' });
      now = new Date(now.getTime() + 15 * 60 * 60_000);
    }
    const me = await shopperMe(ledger.db, merchantId, 'alice', now);
    const schedule = await upcomingExpiries(ledger.db, { merchantId, shopperId: 'alice', now, days: 3660 });
    // Every available point is in one lot expiring on 2026-12-31, none held.
    expect(schedule).toHaveLength(1);
    expect(schedule[0]).toMatchObject({ date: '2026-12-31', points: me.balance.available });
    // The banner's headline: all of alice's available points expire on 2026-12-31.
    expect(me.expiring).toEqual({ date: schedule[0]!.date, expiresAt: Date.parse(schedule[0]!.expiresAt), points: schedule[0]!.points });
  }, 120_000);
});
