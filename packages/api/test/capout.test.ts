import { describeEachDialect } from '@jifen/db/testing';
import { capOutTriggerPrice, poolPriceKey, ratio } from '@jifen/rules';
import { expect, it } from 'vitest';
import { refreshCapOutTriggerInTx, runCapOuts } from '../src/capout';
import type { Ledger } from '../src/ledger';
import { getProgram, updateProgram } from '../src/merchants';
import {
  aPoolClock,
  aPoolMerchant,
  aPoolProgram,
  completeOrder,
  journalOfKind,
  placeHold,
  poolOf,
  refundPoints,
  shopperOf,
  spendPoints,
} from './support-pool';
import { useShop } from './support-shop';

/**
 * Alice buys for ¥1,000 (112 points, basis ¥1,000); Bob buys for ¥10,000 (784 points) and turns them
 * all into a coupon the pool keeps in full (coupon retention 1), so the pool is ¥1,760 for Alice's
 * 112 points: ¥15.71 a point, past her trigger of 1.2 × ¥1,000 / 112 = ¥10.71.
 */
async function makeAliceDue(ledger: Ledger, merchantId: string): Promise<void> {
  await completeOrder(ledger, merchantId, { shopperId: 'alice', amount: 100_000 });
  const bob = await completeOrder(ledger, merchantId, { shopperId: 'bob', amount: 1_000_000 });
  await spendPoints(ledger, merchantId, 'bob', bob.minted, 'coupon');
}

describeEachDialect('cap-out (出局)', (dialect) => {
  const shop = useShop(dialect, {
    clock: () => aPoolClock(),
    merchant: (ledger) => aPoolMerchant(ledger, aPoolProgram({ capMultiple: 1.2, retention: { checkout: 0, coupon: 1, capOut: 0.2 } })),
  });

  it('indexes each holder’s trigger price: capMultiple × basis / holdings', async () => {
    await completeOrder(shop.ledger, shop.merchantId, { shopperId: 'alice', amount: 100_000 });
    const alice = await shopperOf(shop.ledger.db, shop.merchantId, 'alice');
    expect(alice.capout_basis).toBe(100_000);
    expect(alice.capout_trigger).toBe(Number(poolPriceKey(ratio(120_000, 112))));
    expect(Number.isSafeInteger(alice.capout_trigger)).toBe(true);
  });

  it('converts a due holder into a store-credit coupon worth their points less the cap-out retention, and resets the basis', async () => {
    await makeAliceDue(shop.ledger, shop.merchantId);
    const pool = await poolOf(shop.ledger.db, shop.merchantId);
    expect(pool).toEqual({ amount: 176_000, supply: 112 });

    const run = await runCapOuts(shop.ledger, { merchantId: shop.merchantId });
    expect(run.converted).toBe(1);
    const [capOut] = run.capOuts;
    expect(capOut).toMatchObject({ shopperId: 'alice', points: 112, couponValue: Math.floor(176_000 * 0.8) });

    const coupon = await shop.ledger.db.selectFrom('coupons').selectAll().where('merchant_id', '=', shop.merchantId).where('code', '=', capOut!.couponCode).executeTakeFirstOrThrow();
    expect(coupon).toMatchObject({ source: 'capout', status: 'issued', shopper_id: 'alice', points_cost: 112, value: 140_800, template_id: null });
    expect(await shopperOf(shop.ledger.db, shop.merchantId, 'alice')).toMatchObject({ available: 0, capout_basis: 0, capout_trigger: null });
    expect(await poolOf(shop.ledger.db, shop.merchantId)).toEqual({ amount: 176_000 - 140_800, supply: 0 });
    const [entry] = await journalOfKind(shop.ledger.db, shop.merchantId, 'capout');
    expect(entry).toMatchObject({ shopper_id: 'alice', points: -112, ref: capOut!.couponCode });
    expect((await journalOfKind(shop.ledger.db, shop.merchantId, 'pool.payout')).at(-1)).toMatchObject({ amount: -140_800, ref: capOut!.couponCode });

    expect((await runCapOuts(shop.ledger, { merchantId: shop.merchantId })).converted).toBe(0);
  });

  it('finds the holders a lowered capMultiple makes due', async () => {
    const retention = { checkout: 0, coupon: 1, capOut: 0.2 };
    await updateProgram(shop.ledger, shop.merchantId, aPoolProgram({ capMultiple: 2, retention }));
    // ¥15.71 a point; under 2× Alice's trigger is 2 × ¥1,000 / 112 = ¥17.86: not due.
    await makeAliceDue(shop.ledger, shop.merchantId);
    expect((await runCapOuts(shop.ledger, { merchantId: shop.merchantId })).converted).toBe(0);

    // Under 1.2× she is (¥10.71), though no write of hers has recomputed her key.
    await updateProgram(shop.ledger, shop.merchantId, aPoolProgram({ capMultiple: 1.2, retention }));
    const run = await runCapOuts(shop.ledger, { merchantId: shop.merchantId });
    expect(run.capOuts.map((capOut) => capOut.shopperId)).toEqual(['alice']);
    // Bob, who holds nothing, is not keyed; nobody else is left with a key of 0.
    expect(await shop.ledger.db.selectFrom('shoppers').select('shopper_id').where('merchant_id', '=', shop.merchantId).where('capout_trigger', '=', 0).execute()).toEqual([]);
  });

  it('keys a holder under the current capMultiple, whatever program version the write works under', async () => {
    const retention = { checkout: 0, coupon: 1, capOut: 0.2 };
    await updateProgram(shop.ledger, shop.merchantId, aPoolProgram({ capMultiple: 2, retention }));
    const earlier = await getProgram(shop.ledger.db, shop.merchantId);
    await completeOrder(shop.ledger, shop.merchantId, { shopperId: 'alice', amount: 100_000 });
    await updateProgram(shop.ledger, shop.merchantId, aPoolProgram({ capMultiple: 1.2, retention }));
    // A refund or a completion works under its order's program version — here the 2× one.
    await shop.ledger.write((tx) => refreshCapOutTriggerInTx(tx, { merchantId: shop.merchantId, shopperId: 'alice', program: earlier.program }));
    expect((await shopperOf(shop.ledger.db, shop.merchantId, 'alice')).capout_trigger).toBe(Number(poolPriceKey(ratio(120_000, 112))));
  });

  it('converts the holders an order made due as part of that order’s completion', async () => {
    await makeAliceDue(shop.ledger, shop.merchantId);
    const carol = await completeOrder(shop.ledger, shop.merchantId, { shopperId: 'carol', amount: 10_000 });
    expect(carol.capOuts).toBe(1);
    expect(await shopperOf(shop.ledger.db, shop.merchantId, 'alice')).toMatchObject({ available: 0, capout_basis: 0 });
    expect((await shopperOf(shop.ledger.db, shop.merchantId, 'carol')).available).toBe(carol.minted);
  });

  it('finds holders only through the trigger index, never by scanning them', async () => {
    await makeAliceDue(shop.ledger, shop.merchantId);
    // A key above the price hides Alice from the check, though her holdings are due…
    await shop.ledger.db.updateTable('shoppers').set({ capout_trigger: Number(poolPriceKey(ratio(10n ** 9n))) }).where('merchant_id', '=', shop.merchantId).where('shopper_id', '=', 'alice').execute();
    expect((await runCapOuts(shop.ledger, { merchantId: shop.merchantId })).converted).toBe(0);
    // …until her key is recomputed from her holdings and basis.
    const { program } = await getProgram(shop.ledger.db, shop.merchantId);
    await shop.ledger.write((tx) => refreshCapOutTriggerInTx(tx, { merchantId: shop.merchantId, shopperId: 'alice', program }));
    expect((await runCapOuts(shop.ledger, { merchantId: shop.merchantId })).converted).toBe(1);
  });

  it('confirms every candidate exactly and repairs a stale key instead of converting', async () => {
    await completeOrder(shop.ledger, shop.merchantId, { shopperId: 'alice', amount: 100_000 });
    await shop.ledger.db.updateTable('shoppers').set({ capout_trigger: 1 }).where('merchant_id', '=', shop.merchantId).where('shopper_id', '=', 'alice').execute();
    expect((await runCapOuts(shop.ledger, { merchantId: shop.merchantId })).converted).toBe(0);
    const trigger = capOutTriggerPrice({ holdings: 112, basis: 100_000, capMultiple: 1.2 });
    expect((await shopperOf(shop.ledger.db, shop.merchantId, 'alice')).capout_trigger).toBe(Number(trigger!.key));
  });

  it('leaves held points with their hold and converts the rest', async () => {
    await completeOrder(shop.ledger, shop.merchantId, { shopperId: 'alice', amount: 100_000 });
    await placeHold(shop.ledger, shop.merchantId, 'alice', 40);
    const bob = await completeOrder(shop.ledger, shop.merchantId, { shopperId: 'bob', amount: 1_000_000 });
    await spendPoints(shop.ledger, shop.merchantId, 'bob', bob.minted, 'coupon');

    const run = await runCapOuts(shop.ledger, { merchantId: shop.merchantId });
    expect(run.capOuts[0]).toMatchObject({ shopperId: 'alice', points: 72 });
    expect(await shopperOf(shop.ledger.db, shop.merchantId, 'alice')).toMatchObject({ available: 0, held: 40, capout_basis: 0, capout_trigger: null });
    expect((await poolOf(shop.ledger.db, shop.merchantId)).supply).toBe(40);
  });

  it('converts points still vesting along with the available ones', async () => {
    shop.merchantId = await aPoolMerchant(shop.ledger, aPoolProgram({ capMultiple: 1.2, retention: { checkout: 0, coupon: 1, capOut: 0.2 }, release: { periods: 10, periodDays: 1 } }));
    await completeOrder(shop.ledger, shop.merchantId, { shopperId: 'alice', amount: 100_000, orderId: 'o1' });
    const bob = await completeOrder(shop.ledger, shop.merchantId, { shopperId: 'bob', amount: 1_000_000 });
    // A refund of most of Alice's order, taking none of her still-vesting points, shrinks her basis to ¥10.
    await refundPoints(shop.ledger, shop.merchantId, 'alice', 'o1', 0, 99_000);
    expect((await shopperOf(shop.ledger.db, shop.merchantId, 'alice')).capout_basis).toBe(1_000);

    const run = await runCapOuts(shop.ledger, { merchantId: shop.merchantId });
    expect(run.capOuts.map((capOut) => capOut.shopperId)).toEqual(['alice']);
    expect(await shopperOf(shop.ledger.db, shop.merchantId, 'alice')).toMatchObject({ pending: 0, available: 0 });
    expect((await poolOf(shop.ledger.db, shop.merchantId)).supply).toBe(bob.minted);
    const vesting = await shop.ledger.db.selectFrom('lots').selectAll().where('merchant_id', '=', shop.merchantId).where('shopper_id', '=', 'alice').executeTakeFirstOrThrow();
    expect(vesting).toMatchObject({ remaining: 0, release_next_at: null });
  });
});
