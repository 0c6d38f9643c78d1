import { describeEachDialect, useTestDb } from '@jifen/db/testing';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { adjustPoints } from '../src/adjustments';
import { upcomingExpiries } from '../src/expiry-schedule';
import { reserveHold } from '../src/holds';
import { Ledger } from '../src/ledger';
import { createMerchant } from '../src/merchants';
import { orderPaid } from '../src/orders';
import { shopperMe } from '../src/shoppers';
import { assertLedgerInvariants } from '../src/verify';

/**
 * `shopper.expiry.upcoming` (SPEC §3.1 "Expiry"): the shopper's unreserved available points grouped
 * by the last local day they can be used, soonest first, within a window of days. Points are
 * credited by adjustment (available at once, rolling 12-month expiry to the end of a Shanghai day).
 */

const DAY = 86_400_000;

describeEachDialect('upcoming expiries', (dialect) => {
  const database = useTestDb(dialect);
  let now: Date;
  let ledger: Ledger;
  let merchantId: string;
  let credits = 0;

  /** Credits `points` to `shopperId` at the instant `at` (ISO), as the merchant's goodwill. */
  async function credit(shopperId: string, points: number, at: string, merchant = merchantId): Promise<void> {
    now = new Date(at);
    credits += 1;
    await adjustPoints(ledger, { merchantId: merchant, shopperId, points, reason: 'test credit', idempotencyKey: `credit-${credits}` });
  }

  beforeEach(async () => {
    now = new Date('2025-03-03T02:00:00Z');
    ledger = new Ledger(database(), { clock: () => now });
    ({ merchantId } = await createMerchant(ledger, { name: 'Expiry shop' }));
  });
  afterEach(async () => {
    await assertLedgerInvariants(ledger.db, merchantId);
  });

  it('groups the points by the last local day they are usable, soonest first, with the instant as ISO 8601', async () => {
    // 01:00 and 15:00 UTC on 3 March are both 3 March in Shanghai: one expiry instant, one group.
    await credit('alice', 100, '2025-03-03T01:00:00Z');
    await credit('alice', 200, '2025-03-03T15:00:00Z');
    // 16:30 UTC on 3 March is already 4 March in Shanghai: the next day's group.
    await credit('alice', 300, '2025-03-03T16:30:00Z');
    await credit('alice', 400, '2025-03-20T08:00:00Z');
    now = new Date('2025-04-01T00:00:00Z');

    const schedule = await upcomingExpiries(ledger.db, { merchantId, shopperId: 'alice', now });
    expect(schedule).toEqual([
      { date: '2026-03-03', expiresAt: '2026-03-03T16:00:00.000Z', points: 300 },
      { date: '2026-03-04', expiresAt: '2026-03-04T16:00:00.000Z', points: 300 },
      { date: '2026-03-20', expiresAt: '2026-03-20T16:00:00.000Z', points: 400 },
    ]);
    const me = await shopperMe(ledger.db, merchantId, 'alice', now);
    expect(me.expiring).toEqual({ date: schedule[0]!.date, expiresAt: Date.parse(schedule[0]!.expiresAt), points: schedule[0]!.points });
  });

  it('leaves out held points, pending points, points already past expiry, and other shoppers and merchants', async () => {
    now = new Date('2024-01-01T00:00:00Z');
    const { merchantId: otherShop } = await createMerchant(ledger, { name: 'Other shop' });
    await credit('alice', 500, '2024-01-10T02:00:00Z');
    await credit('alice', 1_000, '2025-03-03T02:00:00Z');
    await credit('alice', 50, '2025-03-03T03:00:00Z', otherShop);
    await credit('bob', 70, '2025-03-03T04:00:00Z');
    now = new Date('2025-03-05T02:00:00Z');
    await reserveHold(ledger, { merchantId, shopperId: 'alice', checkoutId: 'c-1', points: 400, cartAmount: 100_000 });
    await orderPaid(ledger, { merchantId, orderId: 'o-1', shopperId: 'alice', amount: 50_000, currency: 'CNY' });

    const schedule = await upcomingExpiries(ledger.db, { merchantId, shopperId: 'alice', now });
    // The 2024 credit expired at the end of 10 Jan 2025 (not yet swept), and holds take the earliest expiry first.
    expect(schedule).toEqual([{ date: '2026-03-03', expiresAt: '2026-03-03T16:00:00.000Z', points: 600 }]);
  });

  it('covers whole local days from today: a lot whose last day is the window’s last day is in, the day after is out', async () => {
    await credit('alice', 10, '2025-03-03T02:00:00Z');
    await credit('alice', 20, '2025-03-04T02:00:00Z');
    // Two days before the first expiry day (2026-03-03), late in the Shanghai evening.
    now = new Date('2026-03-01T15:30:00Z');
    expect(await upcomingExpiries(ledger.db, { merchantId, shopperId: 'alice', now, days: 2 })).toEqual([
      { date: '2026-03-03', expiresAt: '2026-03-03T16:00:00.000Z', points: 10 },
    ]);
    expect((await upcomingExpiries(ledger.db, { merchantId, shopperId: 'alice', now, days: 3 })).map((group) => group.points)).toEqual([10, 20]);
    expect(await upcomingExpiries(ledger.db, { merchantId, shopperId: 'alice', now, days: 1 })).toEqual([]);
    // By default a year and a day ahead: everything a rolling 12-month program can hold.
    now = new Date('2025-03-04T03:00:00Z');
    expect((await upcomingExpiries(ledger.db, { merchantId, shopperId: 'alice', now })).map((group) => group.points)).toEqual([10, 20]);
    expect(await upcomingExpiries(ledger.db, { merchantId, shopperId: 'alice', now: new Date(now.getTime() + 400 * DAY) })).toEqual([]);
  });

  it('is empty for a shopper the merchant has never seen, and reading it writes nothing', async () => {
    expect(await upcomingExpiries(ledger.db, { merchantId, shopperId: 'stranger', now })).toEqual([]);
    expect(await ledger.db.selectFrom('shoppers').select('shopper_id').where('merchant_id', '=', merchantId).execute()).toEqual([]);
  });
});
