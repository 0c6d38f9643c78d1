import { describeEachDialect, describePostgres, useTestDb, waitForLockWaiters } from '@jifen/db/testing';
import { describe, expect, it } from 'vitest';
import { lockShopper } from '../src/accounts';
import { checkIn } from '../src/behaviours';
import { reserveHold } from '../src/holds';
import { type JournalKind, entryHash } from '../src/journal';
import { Ledger } from '../src/ledger';
import { orderCompleted, orderPaid } from '../src/orders';
import { getShopper, setVip, shopperActivity, shopperMe } from '../src/shoppers';
import { DAY_MS, aClock, aPaidOrder, aPoolShopProgram, aShop, expectRefusal, theWorkedExampleProgram } from './support-orders';
import { useShop } from './support-shop';

describeEachDialect('shopper views', (dialect) => {
  const shop = useShop(dialect, { clock: () => aClock(), merchant: (ledger) => aShop(ledger, theWorkedExampleProgram()) });

  describe('shopper.me', () => {
    it('an unknown shopper reads as an empty account, and reading creates nothing', async () => {
      const me = await shopperMe(shop.ledger.db, shop.merchantId, 'stranger', shop.clock.now);
      expect(me).toMatchObject({
        shopperId: 'stranger',
        balance: { available: 0, pending: 0, held: 0, debt: 0 },
        tier: { id: 'member', multiplier: 1 },
        pointValue: { minor: 1, perPoints: 1 },
        pointPrice: '1.0000',
        pointDecimals: 0,
        expiring: null,
      });
      const rows = await shop.ledger.db.selectFrom('shoppers').select('shopper_id').where('merchant_id', '=', shop.merchantId).execute();
      expect(rows).toHaveLength(0);
    });

    it('shows balances, the tier reached at once, and the soonest expiry of unreserved points', async () => {
      await orderPaid(shop.ledger, aPaidOrder(shop.merchantId, { orderId: 'big' }));
      await orderCompleted(shop.ledger, { merchantId: shop.merchantId, orderId: 'big' });
      shop.clock.advance(DAY_MS);
      await checkIn(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice' });
      await reserveHold(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', checkoutId: 'c', points: 1_000, cartAmount: 10_000 });
      await orderPaid(shop.ledger, aPaidOrder(shop.merchantId, { orderId: 'small', amount: 10_000 }));

      const me = await shopperMe(shop.ledger.db, shop.merchantId, 'alice', shop.clock.now);
      expect(me.balance).toEqual({ available: 7_005, pending: 600, held: 1_000, debt: 0 });
      expect(me.tier).toEqual({ id: 'silver', multiplier: 1.2 });
      expect(me.tierProgress).toMatchObject({ qualifyingSpend: 110_000, next: { id: 'gold', minSpend: 500_000, spendToNext: 390_000 } });
      // The order's lot expires at the end of 3 March 2026 in Shanghai; 1,000 of it are held.
      expect(me.expiring).toEqual({ date: '2026-03-03', expiresAt: Date.parse('2026-03-03T16:00:00Z'), points: 7_000 });
    });

    it('in pool mode shows the pool price per point unit and the point decimals', async () => {
      shop.merchantId = await aShop(shop.ledger, aPoolShopProgram());
      const me = await shopperMe(shop.ledger.db, shop.merchantId, 'alice', shop.clock.now);
      expect(me).toMatchObject({ pointValue: { minor: 1, perPoints: 1 }, pointPrice: '100.0000', pointDecimals: 2 });
    });
  });

  describe('shopper.activity', () => {
    it('lists the shopper’s own entries newest first, with proofs that recompute, a page at a time', async () => {
      await orderPaid(shop.ledger, aPaidOrder(shop.merchantId, { orderId: 'a1' }));
      await orderPaid(shop.ledger, aPaidOrder(shop.merchantId, { orderId: 'b1', shopperId: 'bob' }));
      await orderCompleted(shop.ledger, { merchantId: shop.merchantId, orderId: 'a1' });
      await checkIn(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice' });

      const first = await shopperActivity(shop.ledger.db, shop.merchantId, 'alice', { limit: 2 });
      expect(first.entries.map((entry) => entry.kind)).toEqual(['checkin', 'earn.available']);
      expect(first.nextBefore).toBe(first.entries[1]!.seq);
      const second = await shopperActivity(shop.ledger.db, shop.merchantId, 'alice', { limit: 2, before: first.nextBefore! });
      expect(second.entries.map((entry) => entry.kind)).toEqual(['earn']);
      expect(second.nextBefore).toBeNull();

      for (const entry of [...first.entries, ...second.entries]) {
        const { hash, prevHash, ...unsealed } = entry;
        expect(entryHash(prevHash, { ...unsealed, kind: unsealed.kind as JournalKind, merchantId: shop.merchantId, shopperId: 'alice' })).toBe(hash);
      }
    });
  });

  describe('the merchant’s view', () => {
    it('an unknown shopper is not found; a known one shows the account and the VIP flag', async () => {
      await expectRefusal(getShopper(shop.ledger.db, shop.merchantId, 'nobody', shop.clock.now), 'NOT_FOUND', 'shopperId');
      expect(await setVip(shop.ledger, { merchantId: shop.merchantId, shopperId: 'vera', isVip: true })).toEqual({ shopperId: 'vera', isVip: true });
      const vera = await getShopper(shop.ledger.db, shop.merchantId, 'vera', shop.clock.now);
      expect(vera).toMatchObject({ shopperId: 'vera', isVip: true, referredBy: null, firstPaidAt: null, balance: { available: 0 } });
      await setVip(shop.ledger, { merchantId: shop.merchantId, shopperId: 'vera', isVip: false });
      expect((await getShopper(shop.ledger.db, shop.merchantId, 'vera', shop.clock.now)).isVip).toBe(false);
    });
  });
});

describePostgres('a shopper seen for the first time by two writes at once', () => {
  const testDb = useTestDb('postgres');

  it('is created once: the second write waits for the first, then locks and reads its row', async () => {
    const { db } = testDb();
    const ledger = new Ledger(testDb());
    let firstCreated!: () => void;
    const created = new Promise<void>((resolve) => (firstCreated = resolve));
    let letFirstCommit!: () => void;
    const commitAllowed = new Promise<void>((resolve) => (letFirstCommit = resolve));
    const first = ledger.write(async (tx) => {
      const account = await lockShopper(tx, 'race_shop', 'newcomer', 'gold');
      firstCreated();
      await commitAllowed;
      return account;
    });
    await created;
    const second = ledger.write((tx) => lockShopper(tx, 'race_shop', 'newcomer', 'silver'));
    // The second write's insert now waits on the first's uncommitted row.
    await waitForLockWaiters(db, 1);
    letFirstCommit();
    const [mine, theirs] = await Promise.all([first, second]);
    expect(mine.tierId).toBe('gold');
    // Its own insert did nothing: it read the first write's row, tier and all.
    expect(theirs).toEqual(mine);
    expect(await db.selectFrom('shoppers').select('tier_id').where('merchant_id', '=', 'race_shop').execute()).toEqual([{ tier_id: 'gold' }]);
  });
});
