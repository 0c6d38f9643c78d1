import { createTestDb, describeEachDialect } from '@jifen/db/testing';
import { spendablePoints } from '@jifen/rules';
import { expect, it } from 'vitest';
import { spendableLots } from '../src/accounts';
import { quoteCheckout } from '../src/checkout';
import { reserveHold } from '../src/holds';
import { Ledger } from '../src/ledger';
import { createMerchant, updateProgram } from '../src/merchants';
import { DAY_MS, aClock, aMerchant, expectRefusal, givePoints } from './support-holds';
import { useShop } from './support-shop';

/**
 * The quote reads the program version, the pool and the shopper's lots in one statement and takes
 * the program from memory by version (checkout.ts, merchants.ts `programAtVersion`). What it
 * answers must be what reading each afresh answers: the current program the moment a new version
 * exists, the balance as it stands now, the same lots as `spendableLots`.
 */
describeEachDialect('the checkout quote reads', (dialect) => {
  const shop = useShop(dialect, { clock: () => aClock('2025-03-01T02:00:00Z'), merchant: aMerchant, assertInvariants: false });

  const quote = (shopperId = 'alice', cartAmount = 100_000) => quoteCheckout(shop.ledger.db, { merchantId: shop.merchantId, shopperId, cartAmount }, shop.clock.now);

  it('uses a new program version from the very next quote', async () => {
    await givePoints(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', points: 30_000 });
    expect((await quote()).redeemable).toMatchObject({ minPoints: 100, maxPoints: 30_000, valueCap: 50_000 });

    await updateProgram(shop.ledger, shop.merchantId, { redemption: { minPoints: 500, maxShare: 0.2 } });
    expect((await quote()).redeemable).toMatchObject({ minPoints: 500, maxPoints: 20_000, valueCap: 20_000 });

    await updateProgram(shop.ledger, shop.merchantId, { redemption: { minPoints: 40_000 } });
    expect((await quote()).refusal).toMatchObject({ code: 'BELOW_MINIMUM', minPoints: 40_000, available: 30_000 });
  });

  it('reads a version again when its row is no longer the one remembered (a restored database)', async () => {
    await givePoints(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', points: 30_000 });
    await updateProgram(shop.ledger, shop.merchantId, { redemption: { minPoints: 500 } });
    expect((await quote()).redeemable?.minPoints).toBe(500);

    // Back to version 1 as a restore would leave it, then another version 2 is made.
    await shop.ledger.db.updateTable('merchants').set({ program_version: 1 }).where('id', '=', shop.merchantId).execute();
    await shop.ledger.db.deleteFrom('program_versions').where('merchant_id', '=', shop.merchantId).where('version', '=', 2).execute();
    expect((await quote()).redeemable?.minPoints).toBe(100);
    shop.clock.advance(1_000);
    await updateProgram(shop.ledger, shop.merchantId, { redemption: { minPoints: 700 } });
    expect((await quote()).redeemable?.minPoints).toBe(700);
  });

  it('keeps each database its own versions, even for the same merchant id at the same instant', async () => {
    const other = await createTestDb(dialect);
    try {
      const twin = new Ledger(other, { clock: shop.clock.read });
      const here = new Ledger(shop.database(), { clock: shop.clock.read });
      const id = `twin-${Math.random().toString(36).slice(2, 10)}`;
      await createMerchant(here, { name: 'Here', merchantId: id, program: { redemption: { minPoints: 200 } } });
      await createMerchant(twin, { name: 'There', merchantId: id, program: { redemption: { minPoints: 300 } } });
      await givePoints(here, { merchantId: id, shopperId: 'alice', points: 5_000 });
      await givePoints(twin, { merchantId: id, shopperId: 'alice', points: 5_000 });
      const input = { merchantId: id, shopperId: 'alice', cartAmount: 100_000 };
      expect((await quoteCheckout(here.db, input, shop.clock.now)).redeemable?.minPoints).toBe(200);
      expect((await quoteCheckout(twin.db, input, shop.clock.now)).redeemable?.minPoints).toBe(300);
      expect((await quoteCheckout(here.db, input, shop.clock.now)).redeemable?.minPoints).toBe(200);
    } finally {
      await other.close();
    }
  });

  it('reads the balance afresh on every quote', async () => {
    await givePoints(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', points: 1_000 });
    expect((await quote()).availablePoints).toBe(1_000);
    await givePoints(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', points: 2_345 });
    expect((await quote()).availablePoints).toBe(3_345);
    await reserveHold(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', checkoutId: 'c1', points: 3_000, cartAmount: 100_000 });
    expect((await quote()).availablePoints).toBe(345);
  });

  it('counts the same lots as spendableLots: not pending, held, expired or another shopper’s', async () => {
    await givePoints(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', points: 4_000, expiresAt: null });
    await givePoints(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', points: 2_000, expiresAt: new Date(shop.clock.now.getTime() + 10 * DAY_MS) });
    await givePoints(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', points: 700, expiresAt: new Date(shop.clock.now.getTime() + DAY_MS) });
    await givePoints(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', points: 900, status: 'pending' });
    await givePoints(shop.ledger, { merchantId: shop.merchantId, shopperId: 'bob', points: 50_000 });
    // The hold takes the earliest-expiring lot whole (700) and 300 of the next: 1,000 held.
    await reserveHold(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', checkoutId: 'c1', points: 1_000, cartAmount: 100_000 });

    const expected = async () => spendablePoints(await spendableLots({ db: shop.ledger.db }, shop.merchantId, 'alice'), shop.clock.now);
    expect(await expected()).toBe(5_700);
    expect((await quote()).availablePoints).toBe(5_700);

    // Past the second lot's expiry, before any sweep: it is no longer spendable.
    shop.clock.advance(11 * DAY_MS);
    expect(await expected()).toBe(4_000);
    expect((await quote()).availablePoints).toBe(4_000);
    expect((await quote('nobody')).availablePoints).toBe(0);
  });

  it('refuses an unknown merchant as before', async () => {
    await expectRefusal(quoteCheckout(shop.ledger.db, { merchantId: 'm_nobody', shopperId: 'alice', cartAmount: 1_000 }, shop.clock.now), 'NOT_FOUND', 'merchantId');
  });
});
