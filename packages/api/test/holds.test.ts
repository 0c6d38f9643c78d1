import { describeEachDialect } from '@jifen/db/testing';
import { expect, it } from 'vitest';
import { quoteCheckout } from '../src/checkout';
import { exchangeCoupon, upsertTemplate } from '../src/coupons';
import { JifenError } from '../src/errors';
import { type CaptureHoldInput, captureHoldInTx, expireHolds, getHold, releaseHold, reserveHold } from '../src/holds';
import { getProgram } from '../src/merchants';
import { orderPaid } from '../src/orders';
import { approveRedemption } from '../src/risk-approvals';
import { assertLedgerInvariants } from '../src/verify';
import {
  DAY_MS,
  MINUTE_MS,
  aClock,
  aMerchant,
  aPoolProgram,
  aTemplate,
  balanceOf,
  expectRefusal,
  givePoints,
  journalKinds,
  journalLength,
  lotOf,
} from './support-holds';
import { useShop } from './support-shop';

describeEachDialect('holds: two-phase redemption', (dialect) => {
  const shop = useShop(dialect, { clock: () => aClock('2025-03-01T02:00:00Z'), merchant: aMerchant });

  /** The paid order the holds below are captured on: the ¥1,000 cart they were reserved for. */
  const paidCart: CaptureHoldInput['order'] = { amount: 100_000, items: [], couponDiscount: 0, couponShippingDiscount: 0 };

  async function capture(holdId: string, orderId: string, shopperId = 'alice', order = paidCart) {
    const { program, version } = await getProgram(shop.ledger.db, shop.merchantId);
    return shop.ledger.write((tx) => captureHoldInTx(tx, { merchantId: shop.merchantId, shopperId, holdId, orderId, program, programVersion: version, order, paidAt: tx.now }));
  }

  it('quotes the usable range of points for a cart from the rules', async () => {
    await givePoints(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', points: 30_000 });
    const quote = await quoteCheckout(shop.ledger.db, { merchantId: shop.merchantId, shopperId: 'alice', cartAmount: 100_000 }, shop.clock.now);
    expect(quote.availablePoints).toBe(30_000);
    expect(quote.pointValue).toEqual({ minor: 1, perPoints: 1 });
    expect(quote.redeemable).toMatchObject({ minPoints: 100, maxPoints: 30_000, step: 1, maxValue: 30_000, valueCap: 50_000, cashDueAtMax: 70_000 });
    expect(quote.refusal).toBeNull();

    const poor = await quoteCheckout(shop.ledger.db, { merchantId: shop.merchantId, shopperId: 'bob', cartAmount: 100_000 }, shop.clock.now);
    expect(poor.redeemable).toBeNull();
    expect(poor.refusal).toMatchObject({ code: 'BELOW_MINIMUM', minPoints: 100, available: 0 });
  });

  it('quotes after the coupon, which applies first', async () => {
    await givePoints(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', points: 80_000 });
    await upsertTemplate(shop.ledger, { merchantId: shop.merchantId, template: aTemplate({ pointsCost: 1_000, discount: { kind: 'fixed', amountOff: 20_000 } }) });
    const coupon = await exchangeCoupon(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', templateId: 'five-off', idempotencyKey: 'k1' });
    const quote = await quoteCheckout(shop.ledger.db, { merchantId: shop.merchantId, shopperId: 'alice', cartAmount: 100_000, couponCode: coupon.code }, shop.clock.now);
    expect(quote.coupon).toEqual({ code: coupon.code, discount: 20_000 });
    expect(quote.payable).toBe(80_000);
    expect(quote.redeemable?.maxPoints).toBe(40_000);
    await expectRefusal(quoteCheckout(shop.ledger.db, { merchantId: shop.merchantId, shopperId: 'bob', cartAmount: 100_000, couponCode: coupon.code }, shop.clock.now), 'NOT_FOUND', 'couponCode');
  });

  it('points pay the goods a goods coupon leaves, never the shipping; free shipping leaves the goods whole, through capture', async () => {
    await givePoints(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', points: 80_000 });
    await upsertTemplate(shop.ledger, { merchantId: shop.merchantId, template: aTemplate({ id: 'ten-off', pointsCost: 100, discount: { kind: 'fixed', amountOff: 1_000 } }) });
    await upsertTemplate(shop.ledger, { merchantId: shop.merchantId, template: aTemplate({ id: 'ship', pointsCost: 100, discount: { kind: 'freeShipping', amountOffMax: null } }) });
    const tenOff = await exchangeCoupon(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', templateId: 'ten-off', idempotencyKey: 'k1' });
    const ship = await exchangeCoupon(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', templateId: 'ship', idempotencyKey: 'k2' });

    // ¥10 of goods and ¥6 of shipping: the coupon takes the goods; what is left is shipping, cash.
    const goodsGone = await quoteCheckout(shop.ledger.db, { merchantId: shop.merchantId, shopperId: 'alice', cartAmount: 1_600, items: [{ amount: 1_000 }], couponCode: tenOff.code }, shop.clock.now);
    expect(goodsGone).toMatchObject({ payable: 600, redeemable: null, refusal: { code: 'NOTHING_TO_REDEEM', pointsEligibleAmount: 0 } });

    // ¥100 of goods and ¥8 of shipping with free shipping: half of the ¥100 left to pay, all of it goods.
    const cart = { cartAmount: 10_800, items: [{ amount: 10_000 }] };
    const quote = await quoteCheckout(shop.ledger.db, { merchantId: shop.merchantId, shopperId: 'alice', ...cart, couponCode: ship.code }, shop.clock.now);
    expect(quote).toMatchObject({ coupon: { discount: 800 }, payable: 10_000, redeemable: { maxPoints: 5_000, valueCap: 5_000 } });
    const hold = await reserveHold(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', checkoutId: 'c1', points: 5_000, ...cart, couponCode: ship.code });
    // Paid as quoted, the coupon redeemed with it: the hold fits the order.
    const paid = await orderPaid(shop.ledger, { merchantId: shop.merchantId, orderId: 'o1', shopperId: 'alice', amount: 10_800, shipping: 800, currency: 'CNY', items: [{ amount: 10_000 }], holdId: hold.holdId, couponCodes: [ship.code] });
    expect(paid).toMatchObject({ captured: { points: 5_000, value: 5_000 }, coupons: { discount: 800 } });
    await assertLedgerInvariants(shop.ledger.db, shop.merchantId);
  });

  it('a hold takes the earliest-expiring lots first', async () => {
    const late = await givePoints(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', points: 300, expiresAt: new Date('2025-06-30T16:00:00Z') });
    const never = await givePoints(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', points: 500, expiresAt: null });
    const soon = await givePoints(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', points: 200, expiresAt: new Date('2025-04-30T16:00:00Z') });

    const hold = await reserveHold(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', checkoutId: 'c1', points: 400, cartAmount: 100_000 });

    expect(hold).toMatchObject({ checkoutId: 'c1', points: 400, value: 400, cashDue: 99_600, status: 'held', expiresAt: '2025-03-01T02:15:00.000Z' });
    expect(await lotOf(shop.ledger.db, soon)).toMatchObject({ remaining: 200, held: 200 });
    expect(await lotOf(shop.ledger.db, late)).toMatchObject({ remaining: 300, held: 200 });
    expect(await lotOf(shop.ledger.db, never)).toMatchObject({ remaining: 500, held: 0 });
    expect(await balanceOf(shop.ledger.db, shop.merchantId, 'alice')).toEqual({ available: 600, held: 400, pending: 0 });
    const placed = await journalKinds(shop.ledger.db, shop.merchantId, 'hold.place');
    expect(placed).toEqual([expect.objectContaining({ shopperId: 'alice', points: 0, ref: hold.holdId })]);
  });

  it('reserved points cannot be spent twice: a second hold beyond the balance is refused', async () => {
    await givePoints(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', points: 1_000 });
    await reserveHold(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', checkoutId: 'c1', points: 700, cartAmount: 100_000 });
    const before = await journalLength(shop.ledger.db, shop.merchantId);

    const refusal = await expectRefusal(
      reserveHold(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', checkoutId: 'c2', points: 700, cartAmount: 100_000 }),
      'POINTS_OUT_OF_RANGE',
      'points',
    );
    expect(refusal.facts).toMatchObject({ requested: 700, maxPoints: 300 });
    expect(await balanceOf(shop.ledger.db, shop.merchantId, 'alice')).toEqual({ available: 300, held: 700, pending: 0 });
    expect(await journalLength(shop.ledger.db, shop.merchantId)).toBe(before);
    const second = await reserveHold(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', checkoutId: 'c2', points: 300, cartAmount: 100_000 });
    expect(second.status).toBe('held');
    expect(await balanceOf(shop.ledger.db, shop.merchantId, 'alice')).toEqual({ available: 0, held: 1_000, pending: 0 });
  });

  it('refuses a choice outside the server quote, naming points', async () => {
    await givePoints(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', points: 100_000 });
    await expectRefusal(reserveHold(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', checkoutId: 'c1', points: 50_001, cartAmount: 100_000 }), 'POINTS_OUT_OF_RANGE', 'points');
    await expectRefusal(reserveHold(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', checkoutId: 'c1', points: 99, cartAmount: 100_000 }), 'POINTS_OUT_OF_RANGE', 'points');
    await expectRefusal(reserveHold(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', checkoutId: 'c1', points: 0, cartAmount: 100_000 }), 'POINTS_OUT_OF_RANGE', 'points');
    await expectRefusal(
      reserveHold(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', checkoutId: 'c1', points: 100, cartAmount: 1_000, items: [{ amount: 2_000 }] }),
      'ITEMS_EXCEED_CART',
      'items',
    );
    expect(await balanceOf(shop.ledger.db, shop.merchantId, 'alice')).toEqual({ available: 100_000, held: 0, pending: 0 });
  });

  it('refuses points off the step of the program', async () => {
    const stepped = await aMerchant(shop.ledger, { redemption: { step: 50 } });
    await givePoints(shop.ledger, { merchantId: stepped, shopperId: 'alice', points: 1_000 });
    await expectRefusal(reserveHold(shop.ledger, { merchantId: stepped, shopperId: 'alice', checkoutId: 'c1', points: 125, cartAmount: 100_000 }), 'POINTS_OFF_STEP', 'points');
    const hold = await reserveHold(shop.ledger, { merchantId: stepped, shopperId: 'alice', checkoutId: 'c1', points: 150, cartAmount: 100_000 });
    expect(hold.points).toBe(150);
    await assertLedgerInvariants(shop.ledger.db, stepped);
  });

  it('a replayed reserve returns the same hold; the same checkout with other figures is a CONFLICT naming the field', async () => {
    await givePoints(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', points: 1_000 });
    const first = await reserveHold(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', checkoutId: 'c1', points: 400, cartAmount: 100_000 });
    const replay = await reserveHold(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', checkoutId: 'c1', points: 400, cartAmount: 100_000 });
    expect(replay).toEqual(first);
    expect(await balanceOf(shop.ledger.db, shop.merchantId, 'alice')).toEqual({ available: 600, held: 400, pending: 0 });

    const points = await expectRefusal(reserveHold(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', checkoutId: 'c1', points: 500, cartAmount: 100_000 }), 'IDEMPOTENCY_CONFLICT', 'points');
    expect(points.category).toBe('CONFLICT');
    await expectRefusal(reserveHold(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', checkoutId: 'c1', points: 400, cartAmount: 90_000 }), 'IDEMPOTENCY_CONFLICT', 'cartAmount');
    await expectRefusal(
      reserveHold(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', checkoutId: 'c1', points: 400, cartAmount: 100_000, items: [{ amount: 100_000 }] }),
      'IDEMPOTENCY_CONFLICT',
      'items',
    );
    expect(await journalKinds(shop.ledger.db, shop.merchantId, 'hold.place')).toHaveLength(1);
  });

  it('a capture inside the order transaction takes the held portions for good', async () => {
    const lot = await givePoints(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', points: 1_000 });
    const hold = await reserveHold(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', checkoutId: 'c1', points: 400, cartAmount: 100_000 });

    const captured = await capture(hold.holdId, 'order-1');

    expect(captured).toEqual({ holdId: hold.holdId, points: 400, value: 400 });
    expect(await lotOf(shop.ledger.db, lot)).toMatchObject({ remaining: 600, held: 0, status: 'available' });
    expect(await balanceOf(shop.ledger.db, shop.merchantId, 'alice')).toEqual({ available: 600, held: 0, pending: 0 });
    expect(await getHold(shop.ledger.db, { merchantId: shop.merchantId, shopperId: 'alice', holdId: hold.holdId })).toMatchObject({ status: 'captured' });
    expect(await journalKinds(shop.ledger.db, shop.merchantId, 'hold.capture')).toEqual([expect.objectContaining({ points: -400, ref: hold.holdId })]);

    expect(await capture(hold.holdId, 'order-1')).toEqual(captured);
    expect(await journalKinds(shop.ledger.db, shop.merchantId, 'hold.capture')).toHaveLength(1);
    const other = await expectRefusal(capture(hold.holdId, 'order-2'), 'HOLD_NOT_ACTIVE', 'holdId');
    expect(other.facts).toEqual({ status: 'captured' });
  });

  it('a hold is captured only on an order that lets points pay its value, after the coupons; nothing is written otherwise', async () => {
    await givePoints(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', points: 50_000 });
    // maxShare 50% of a ¥1,000 cart: the whole 50,000 points (¥500).
    const hold = await reserveHold(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', checkoutId: 'c1', points: 50_000, cartAmount: 100_000 });
    const before = await journalLength(shop.ledger.db, shop.merchantId);

    // Paid as a ¥10 order: points may pay ¥5 of it.
    const tiny = await expectRefusal(capture(hold.holdId, 'o1', 'alice', { amount: 1_000, items: [], couponDiscount: 0, couponShippingDiscount: 0 }), 'HOLD_EXCEEDS_ORDER', 'holdId');
    expect(tiny.facts).toMatchObject({ value: 50_000, valueCap: 500 });
    // The ¥1,000 cart with a ¥200 coupon: half of ¥800.
    await expectRefusal(capture(hold.holdId, 'o1', 'alice', { amount: 100_000, items: [], couponDiscount: 20_000, couponShippingDiscount: 0 }), 'HOLD_EXCEEDS_ORDER', 'holdId');
    // ¥1,000 of which only ¥400 is itemised goods: the unitemised rest (shipping, fees) is cash.
    await expectRefusal(capture(hold.holdId, 'o1', 'alice', { amount: 100_000, items: [{ amount: 40_000 }], couponDiscount: 0, couponShippingDiscount: 0 }), 'HOLD_EXCEEDS_ORDER', 'holdId');
    // Through orders.paid, the order is refused whole: no order, no capture, the hold still held.
    await expectRefusal(
      orderPaid(shop.ledger, { merchantId: shop.merchantId, orderId: 'o1', shopperId: 'alice', amount: 1_000, currency: 'CNY', holdId: hold.holdId }),
      'HOLD_EXCEEDS_ORDER',
      'holdId',
    );
    expect(await journalLength(shop.ledger.db, shop.merchantId)).toBe(before);
    expect(await shop.ledger.db.selectFrom('orders').select('order_id').where('merchant_id', '=', shop.merchantId).execute()).toEqual([]);
    expect(await balanceOf(shop.ledger.db, shop.merchantId, 'alice')).toEqual({ available: 0, held: 50_000, pending: 0 });

    // The cart it was reserved for, paid as quoted.
    const paid = await orderPaid(shop.ledger, { merchantId: shop.merchantId, orderId: 'o1', shopperId: 'alice', amount: 100_000, currency: 'CNY', holdId: hold.holdId });
    expect(paid.captured).toEqual({ holdId: hold.holdId, points: 50_000, value: 50_000 });
    await assertLedgerInvariants(shop.ledger.db, shop.merchantId);
  });

  it('a capture refuses unknown, foreign and expired holds', async () => {
    await givePoints(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', points: 1_000 });
    const hold = await reserveHold(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', checkoutId: 'c1', points: 400, cartAmount: 100_000 });
    await expectRefusal(capture('h_nope', 'order-1'), 'NOT_FOUND', 'holdId');
    await expectRefusal(capture(hold.holdId, 'order-1', 'bob'), 'NOT_FOUND', 'holdId');
    const otherMerchant = await aMerchant(shop.ledger);
    const { program, version } = await getProgram(shop.ledger.db, otherMerchant);
    await expectRefusal(
      shop.ledger.write((tx) => captureHoldInTx(tx, { merchantId: otherMerchant, shopperId: 'alice', holdId: hold.holdId, orderId: 'o', program, programVersion: version, order: paidCart, paidAt: tx.now })),
      'NOT_FOUND',
      'holdId',
    );

    shop.clock.advance(15 * MINUTE_MS);
    const expired = await expectRefusal(capture(hold.holdId, 'order-1'), 'HOLD_NOT_ACTIVE', 'holdId');
    expect(expired.facts).toMatchObject({ status: 'expired' });
    expect(await balanceOf(shop.ledger.db, shop.merchantId, 'alice')).toEqual({ available: 600, held: 400, pending: 0 });
    await assertLedgerInvariants(shop.ledger.db, otherMerchant);
  });

  it('a release returns the held points; releasing again returns the same result', async () => {
    const lot = await givePoints(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', points: 1_000 });
    const hold = await reserveHold(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', checkoutId: 'c1', points: 400, cartAmount: 100_000 });

    const released = await releaseHold(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', holdId: hold.holdId });

    expect(released).toEqual({ ...hold, status: 'released' });
    expect(await lotOf(shop.ledger.db, lot)).toMatchObject({ remaining: 1_000, held: 0 });
    expect(await balanceOf(shop.ledger.db, shop.merchantId, 'alice')).toEqual({ available: 1_000, held: 0, pending: 0 });
    expect(await releaseHold(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', holdId: hold.holdId })).toEqual(released);
    const [place] = await journalKinds(shop.ledger.db, shop.merchantId, 'hold.place');
    expect(await journalKinds(shop.ledger.db, shop.merchantId, 'hold.release')).toEqual([expect.objectContaining({ points: 0, ref: hold.holdId, compensates: place!.seq })]);

    await expectRefusal(capture(hold.holdId, 'order-1'), 'HOLD_NOT_ACTIVE', 'holdId');
    await expectRefusal(releaseHold(shop.ledger, { merchantId: shop.merchantId, shopperId: 'bob', holdId: hold.holdId }), 'NOT_FOUND', 'holdId');
    // A replayed reserve answers with its first result (SPEC §5), even after the hold was released.
    const again = await reserveHold(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', checkoutId: 'c1', points: 400, cartAmount: 100_000 });
    expect(again).toEqual(hold);
  });

  it('a released hold cannot be captured, and a captured one cannot be released', async () => {
    await givePoints(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', points: 1_000 });
    const hold = await reserveHold(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', checkoutId: 'c1', points: 400, cartAmount: 100_000 });
    await capture(hold.holdId, 'order-1');
    const refusal = await expectRefusal(releaseHold(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', holdId: hold.holdId }), 'HOLD_NOT_ACTIVE', 'holdId');
    expect(refusal.facts).toEqual({ status: 'captured' });
  });

  it('the job expires due holds in bounded batches and gives their points back', async () => {
    const shoppers = ['s1', 's2', 's3', 's4', 's5'];
    for (const shopperId of shoppers) await givePoints(shop.ledger, { merchantId: shop.merchantId, shopperId, points: 1_000 });
    const holds = [];
    for (const shopperId of shoppers) holds.push(await reserveHold(shop.ledger, { merchantId: shop.merchantId, shopperId, checkoutId: 'c1', points: 300, cartAmount: 100_000 }));
    await reserveHold(shop.ledger, { merchantId: shop.merchantId, shopperId: 's1', checkoutId: 'c2', points: 200, cartAmount: 100_000 });
    shop.clock.advance(10 * MINUTE_MS);
    const fresh = await reserveHold(shop.ledger, { merchantId: shop.merchantId, shopperId: 's2', checkoutId: 'c3', points: 100, cartAmount: 100_000 });
    shop.clock.advance(5 * MINUTE_MS);

    const report = await expireHolds(shop.ledger, { limit: 2, merchantId: shop.merchantId });

    expect(report).toEqual({ expiredHolds: 6, releasedPoints: 1_700, batches: 4 });
    for (const hold of holds) {
      expect(await getHold(shop.ledger.db, { merchantId: shop.merchantId, shopperId: shoppers[holds.indexOf(hold)]!, holdId: hold.holdId })).toMatchObject({ status: 'expired' });
    }
    expect(await getHold(shop.ledger.db, { merchantId: shop.merchantId, shopperId: 's2', holdId: fresh.holdId })).toMatchObject({ status: 'held' });
    expect(await balanceOf(shop.ledger.db, shop.merchantId, 's1')).toEqual({ available: 1_000, held: 0, pending: 0 });
    expect(await balanceOf(shop.ledger.db, shop.merchantId, 's2')).toEqual({ available: 900, held: 100, pending: 0 });
    const expiries = await journalKinds(shop.ledger.db, shop.merchantId, 'hold.expire');
    expect(expiries).toHaveLength(6);
    expect(expiries.every((entry) => entry.points === 0 && entry.compensates !== null)).toBe(true);
    expect(await expireHolds(shop.ledger, { merchantId: shop.merchantId })).toEqual({ expiredHolds: 0, releasedPoints: 0, batches: 1 });
  });

  it('two holds of one shopper on the same lot both come back when they expire together', async () => {
    const lot = await givePoints(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', points: 1_000 });
    await reserveHold(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', checkoutId: 'c1', points: 300, cartAmount: 100_000 });
    await reserveHold(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', checkoutId: 'c2', points: 200, cartAmount: 100_000 });
    expect(await lotOf(shop.ledger.db, lot)).toMatchObject({ held: 500 });
    shop.clock.advance(DAY_MS);
    expect((await expireHolds(shop.ledger)).expiredHolds).toBeGreaterThanOrEqual(2);
    expect(await lotOf(shop.ledger.db, lot)).toMatchObject({ remaining: 1_000, held: 0 });
    expect(await balanceOf(shop.ledger.db, shop.merchantId, 'alice')).toEqual({ available: 1_000, held: 0, pending: 0 });
  });

  it('in pool mode values the hold at the pool price and pays the capture out of the pool', async () => {
    const pool = await aMerchant(shop.ledger, aPoolProgram());
    // 10,000 units at 2 decimals = 100 points, funded at the initial ¥1 a point: the pool holds ¥100.
    await givePoints(shop.ledger, { merchantId: pool, shopperId: 'alice', points: 10_000 });
    await givePoints(shop.ledger, { merchantId: pool, shopperId: 'bob', points: 10_000 });
    const quote = await quoteCheckout(shop.ledger.db, { merchantId: pool, shopperId: 'alice', cartAmount: 100_000 }, shop.clock.now);
    // 1 fen a point unit: ¥1 a whole point at 2 decimals.
    expect(quote.pointValue).toEqual({ minor: 1, perPoints: 1 });

    const hold = await reserveHold(shop.ledger, { merchantId: pool, shopperId: 'alice', checkoutId: 'c1', points: 5_000, cartAmount: 100_000 });
    expect(hold.value).toBe(5_000);
    const { program, version } = await getProgram(shop.ledger.db, pool);
    const captured = await shop.ledger.write((tx) =>
      captureHoldInTx(tx, { merchantId: pool, shopperId: 'alice', holdId: hold.holdId, orderId: 'o1', program, programVersion: version, order: paidCart, paidAt: tx.now }),
    );
    expect(captured).toEqual({ holdId: hold.holdId, points: 5_000, value: 5_000 });
    const state = await shop.ledger.db.selectFrom('pool_state').selectAll().where('merchant_id', '=', pool).executeTakeFirstOrThrow();
    expect({ amount: Number(state.amount), supply: Number(state.supply), payouts: Number(state.payouts) }).toEqual({ amount: 15_000, supply: 15_000, payouts: 5_000 });
    await assertLedgerInvariants(shop.ledger.db, pool);
  });
  it('concurrent reservations against one balance: exactly the affordable ones are placed', async () => {
    await givePoints(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', points: 1_000 });
    const attempts = Array.from({ length: 10 }, (_, index) =>
      reserveHold(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', checkoutId: `c${index}`, points: 300, cartAmount: 100_000 }).then(
        (hold) => hold.status,
        (error: unknown) => (error instanceof JifenError ? error.reason : 'crash'),
      ),
    );
    const outcomes = await Promise.all(attempts);
    expect(outcomes.filter((outcome) => outcome === 'held')).toHaveLength(3);
    expect(outcomes.filter((outcome) => outcome === 'POINTS_OUT_OF_RANGE' || outcome === 'BELOW_MINIMUM')).toHaveLength(7);
    expect(await balanceOf(shop.ledger.db, shop.merchantId, 'alice')).toEqual({ available: 100, held: 900, pending: 0 });
  });

  it('the hold of a pool shopper holding more than concentrationReview of the supply is captured only after the merchant approves it', async () => {
    const pool = await aMerchant(shop.ledger, { valuation: { kind: 'pool', risk: { concentrationReview: 0.5 } } });
    // Alice holds the whole supply.
    await givePoints(shop.ledger, { merchantId: pool, shopperId: 'alice', points: 10_000 });
    const hold = await reserveHold(shop.ledger, { merchantId: pool, shopperId: 'alice', checkoutId: 'c1', points: 5_000, cartAmount: 100_000 });
    const { program, version } = await getProgram(shop.ledger.db, pool);
    const captureIt = () =>
      shop.ledger.write((tx) => captureHoldInTx(tx, { merchantId: pool, shopperId: 'alice', holdId: hold.holdId, orderId: 'o1', program, programVersion: version, order: paidCart, paidAt: tx.now }));

    await expectRefusal(captureIt(), 'REDEMPTION_AWAITING_APPROVAL', 'holdId');
    await approveRedemption(shop.ledger, { merchantId: pool, holdId: hold.holdId });
    expect(await captureIt()).toEqual({ holdId: hold.holdId, points: 5_000, value: 5_000 });
    await assertLedgerInvariants(shop.ledger.db, pool);
  });
});
