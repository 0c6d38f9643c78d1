import { describeEachDialect } from '@jifen/db/testing';
import { expect, it } from 'vitest';
import {
  cancelCoupon,
  catalog,
  exchangeCoupon,
  listTemplates,
  myCoupons,
  redeemCoupon,
  redeemCouponsInTx,
  upsertTemplate,
  validateCoupon,
} from '../src/coupons';
import { JifenError } from '../src/errors';
import { getProgram } from '../src/merchants';
import { orderPaid } from '../src/orders';
import { assertLedgerInvariants } from '../src/verify';
import {
  DAY_MS,
  aClock,
  aMerchant,
  aPoolProgram,
  aTemplate,
  balanceOf,
  expectRefusal,
  givePoints,
  journalKinds,
  journalLength,
} from './support-holds';
import { useShop } from './support-shop';

describeEachDialect('coupons: templates, exchange, redeem, cancel', (dialect) => {
  // 10:00 on 1 March 2025 in Shanghai.
  const shop = useShop(dialect, { clock: () => aClock('2025-03-01T02:00:00Z'), merchant: aMerchant });

  const exchange = (shopperId: string, idempotencyKey: string, templateId = 'five-off') => exchangeCoupon(shop.ledger, { merchantId: shop.merchantId, shopperId, templateId, idempotencyKey });

  it('validates a template and names the invalid field', async () => {
    await expectRefusal(upsertTemplate(shop.ledger, { merchantId: shop.merchantId, template: aTemplate({ pointsCost: -1 }) }), 'INVALID_TEMPLATE', 'template.pointsCost');
    await expectRefusal(upsertTemplate(shop.ledger, { merchantId: shop.merchantId, template: { ...aTemplate(), surprise: true } }), 'INVALID_TEMPLATE');
    const view = await upsertTemplate(shop.ledger, { merchantId: shop.merchantId, template: aTemplate() });
    expect(view).toMatchObject({ templateId: 'five-off', pointsCost: 500, stock: 10, issued: 0, stockLeft: 10 });
    expect(view.template.validityDays).toBe(30);
    expect(await listTemplates(shop.ledger.db, shop.merchantId)).toEqual([view]);
  });

  it('keeps stock at or above what was issued, and the terms issued coupons read from a template in use', async () => {
    await givePoints(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', points: 5_000 });
    await upsertTemplate(shop.ledger, { merchantId: shop.merchantId, template: aTemplate() });
    await exchange('alice', 'k1');
    await exchange('alice', 'k2');
    await expectRefusal(upsertTemplate(shop.ledger, { merchantId: shop.merchantId, template: aTemplate({ stock: 1 }) }), 'STOCK_BELOW_ISSUED', 'template.stock');
    await expectRefusal(upsertTemplate(shop.ledger, { merchantId: shop.merchantId, template: aTemplate({ discount: { kind: 'fixed', amountOff: 900 } }) }), 'TEMPLATE_IN_USE', 'template.discount');
    // A coupon bought as "¥5 off ¥50" must not become "¥5 off ¥500", nor lose the cancellation it was bought with.
    await expectRefusal(upsertTemplate(shop.ledger, { merchantId: shop.merchantId, template: aTemplate({ minSpend: 50_000 }) }), 'TEMPLATE_IN_USE', 'template.minSpend');
    await expectRefusal(upsertTemplate(shop.ledger, { merchantId: shop.merchantId, template: aTemplate({ isCancellable: true }) }), 'TEMPLATE_IN_USE', 'template.isCancellable');
    const updated = await upsertTemplate(shop.ledger, { merchantId: shop.merchantId, template: aTemplate({ stock: 2, pointsCost: 700 }) });
    expect(updated).toMatchObject({ stock: 2, issued: 2, stockLeft: 0, pointsCost: 700 });
  });

  it('an exchange burns the points, takes one unit of stock and issues a code, in one transaction', async () => {
    const lot = await givePoints(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', points: 1_200 });
    await upsertTemplate(shop.ledger, { merchantId: shop.merchantId, template: aTemplate({ stock: 2 }) });

    const coupon = await exchange('alice', 'k1');

    expect(coupon).toMatchObject({ templateId: 'five-off', source: 'exchange', value: 500, pointsCost: 500, status: 'issued' });
    expect(coupon.code).toMatch(/^[A-Za-z0-9_-]{16}$/);
    // 30 days of validity, the day of issue the first: usable through 30 March, Shanghai time.
    expect(coupon.expiresAt).toBe('2025-03-30T16:00:00.000Z');
    expect(await balanceOf(shop.ledger.db, shop.merchantId, 'alice')).toEqual({ available: 700, held: 0, pending: 0 });
    const remaining = await shop.ledger.db.selectFrom('lots').select('remaining').where('id', '=', lot).executeTakeFirstOrThrow();
    expect(Number(remaining.remaining)).toBe(700);
    expect((await listTemplates(shop.ledger.db, shop.merchantId))[0]).toMatchObject({ issued: 1, stockLeft: 1 });
    expect(await journalKinds(shop.ledger.db, shop.merchantId, 'coupon.exchange')).toEqual([expect.objectContaining({ shopperId: 'alice', points: -500, ref: coupon.code })]);
    expect(await myCoupons(shop.ledger.db, { merchantId: shop.merchantId, shopperId: 'alice' }, shop.clock.now)).toEqual([coupon]);
  });

  it('refuses an exchange out of stock and writes nothing', async () => {
    await givePoints(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', points: 1_000 });
    await givePoints(shop.ledger, { merchantId: shop.merchantId, shopperId: 'bob', points: 1_000 });
    await upsertTemplate(shop.ledger, { merchantId: shop.merchantId, template: aTemplate({ stock: 1 }) });
    await exchange('alice', 'k1');
    const before = await journalLength(shop.ledger.db, shop.merchantId);

    const refusal = await expectRefusal(exchange('bob', 'k1'), 'OUT_OF_STOCK', 'templateId');

    expect(refusal.facts).toMatchObject({ stock: 1, issued: 1 });
    expect(await balanceOf(shop.ledger.db, shop.merchantId, 'bob')).toEqual({ available: 1_000, held: 0, pending: 0 });
    expect(await myCoupons(shop.ledger.db, { merchantId: shop.merchantId, shopperId: 'bob' })).toEqual([]);
    expect(await journalLength(shop.ledger.db, shop.merchantId)).toBe(before);
    expect((await listTemplates(shop.ledger.db, shop.merchantId))[0]).toMatchObject({ issued: 1, stockLeft: 0 });
  });

  it('refuses an exchange beyond the per-shopper limit, without enough points, or outside the active window', async () => {
    await givePoints(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', points: 1_200 });
    await upsertTemplate(shop.ledger, { merchantId: shop.merchantId, template: aTemplate({ perShopperLimit: 1 }) });
    await upsertTemplate(shop.ledger, { merchantId: shop.merchantId, template: aTemplate({ id: 'dear', pointsCost: 5_000 }) });
    await upsertTemplate(shop.ledger, { merchantId: shop.merchantId, template: aTemplate({ id: 'later', activeFrom: '2025-04-01T00:00:00+08:00' }) });
    await exchange('alice', 'k1');

    const limit = await expectRefusal(exchange('alice', 'k2'), 'LIMIT_REACHED', 'templateId');
    expect(limit.facts).toMatchObject({ perShopperLimit: 1, issued: 1 });
    await expectRefusal(exchange('alice', 'k3', 'dear'), 'INSUFFICIENT_POINTS', 'templateId');
    await expectRefusal(exchange('alice', 'k4', 'later'), 'NOT_ACTIVE', 'templateId');
    await expectRefusal(exchange('alice', 'k5', 'nope'), 'NOT_FOUND', 'templateId');
    expect(await balanceOf(shop.ledger.db, shop.merchantId, 'alice')).toEqual({ available: 700, held: 0, pending: 0 });
  });

  it('a replayed exchange returns the same coupon; the same key for another template is a CONFLICT', async () => {
    await givePoints(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', points: 2_000 });
    await upsertTemplate(shop.ledger, { merchantId: shop.merchantId, template: aTemplate() });
    await upsertTemplate(shop.ledger, { merchantId: shop.merchantId, template: aTemplate({ id: 'other' }) });
    const first = await exchange('alice', 'k1');
    expect(await exchange('alice', 'k1')).toEqual(first);
    expect(await balanceOf(shop.ledger.db, shop.merchantId, 'alice')).toEqual({ available: 1_500, held: 0, pending: 0 });
    const conflict = await expectRefusal(exchange('alice', 'k1', 'other'), 'IDEMPOTENCY_CONFLICT', 'templateId');
    expect(conflict.category).toBe('CONFLICT');
    // Keys are the shopper's own: another shopper may use the same key.
    await givePoints(shop.ledger, { merchantId: shop.merchantId, shopperId: 'bob', points: 500 });
    expect((await exchange('bob', 'k1')).code).not.toBe(first.code);
  });

  it('the catalog shows cost, value, stock left, the shopper’s own count and why they cannot take one now', async () => {
    await givePoints(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', points: 800 });
    await upsertTemplate(shop.ledger, { merchantId: shop.merchantId, template: aTemplate({ perShopperLimit: 1, stock: 5 }) });
    await upsertTemplate(shop.ledger, { merchantId: shop.merchantId, template: aTemplate({ id: 'dear', pointsCost: 5_000, stock: null }) });
    await upsertTemplate(shop.ledger, { merchantId: shop.merchantId, template: aTemplate({ id: 'gone', activeTo: '2025-02-01T00:00:00+08:00', activeFrom: '2025-01-01T00:00:00+08:00' }) });
    await upsertTemplate(shop.ledger, {
      merchantId: shop.merchantId,
      template: aTemplate({ id: 'tenth', pointsCost: 300, discount: { kind: 'percent', rateOff: 0.1, amountOffMax: 2_000 } }),
    });
    await exchange('alice', 'k1');

    const entries = await catalog(shop.ledger.db, { merchantId: shop.merchantId, shopperId: 'alice' }, shop.clock.now);

    expect(entries.map((entry) => entry.templateId)).toEqual(['tenth', 'five-off', 'dear']);
    expect(entries[0]).toMatchObject({ pointsCost: 300, value: 2_000, stockLeft: 10, shopperIssued: 0, reason: null });
    expect(entries[1]).toMatchObject({ pointsCost: 500, value: 500, stockLeft: 4, shopperIssued: 1, perShopperLimit: 1, reason: { code: 'LIMIT_REACHED' } });
    expect(entries[2]).toMatchObject({ stockLeft: null, reason: { code: 'INSUFFICIENT_POINTS', available: 300, requested: 5_000 } });
  });

  it('validates a code for the merchant backend: the discount, or the reason', async () => {
    await givePoints(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', points: 2_000 });
    await upsertTemplate(shop.ledger, { merchantId: shop.merchantId, template: aTemplate({ minSpend: 3_000 }) });
    await upsertTemplate(shop.ledger, { merchantId: shop.merchantId, template: aTemplate({ id: 'tenth', discount: { kind: 'percent', rateOff: 0.15, amountOffMax: 1_000 } }) });
    await upsertTemplate(shop.ledger, { merchantId: shop.merchantId, template: aTemplate({ id: 'ship', discount: { kind: 'freeShipping', amountOffMax: null } }) });
    const fixed = await exchange('alice', 'k1');
    const percent = await exchange('alice', 'k2', 'tenth');
    const ship = await exchange('alice', 'k3', 'ship');

    expect(await validateCoupon(shop.ledger.db, { merchantId: shop.merchantId, code: fixed.code, orderAmount: 5_000 }, shop.clock.now)).toMatchObject({ valid: true, discount: 500 });
    expect(await validateCoupon(shop.ledger.db, { merchantId: shop.merchantId, code: fixed.code, orderAmount: 2_000 }, shop.clock.now)).toMatchObject({
      valid: false,
      reason: { code: 'BELOW_MIN_SPEND', minSpend: 3_000, amount: 2_000 },
    });
    // 15% of 333 fen is 49.95: money given away rounds down.
    expect(await validateCoupon(shop.ledger.db, { merchantId: shop.merchantId, code: percent.code, orderAmount: 333 }, shop.clock.now)).toMatchObject({ valid: true, discount: 49 });
    expect(await validateCoupon(shop.ledger.db, { merchantId: shop.merchantId, code: percent.code, orderAmount: 100_000 }, shop.clock.now)).toMatchObject({ valid: true, discount: 1_000 });
    expect(await validateCoupon(shop.ledger.db, { merchantId: shop.merchantId, code: ship.code, orderAmount: 100, shipping: 800 }, shop.clock.now)).toMatchObject({ valid: true, discount: 800 });
    expect(await validateCoupon(shop.ledger.db, { merchantId: shop.merchantId, code: 'nope', orderAmount: 5_000 }, shop.clock.now)).toMatchObject({ valid: false, reason: { code: 'NOT_FOUND' } });
    const late = new Date(shop.clock.now.getTime() + 30 * DAY_MS);
    expect(await validateCoupon(shop.ledger.db, { merchantId: shop.merchantId, code: fixed.code, orderAmount: 5_000 }, late)).toMatchObject({
      valid: false,
      reason: { code: 'COUPON_EXPIRED', expiresAt: '2025-03-30T16:00:00.000Z' },
    });
  });

  it('redeems a code once; a replay on the same order returns the same discount', async () => {
    await givePoints(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', points: 2_000 });
    await upsertTemplate(shop.ledger, { merchantId: shop.merchantId, template: aTemplate() });
    const coupon = await exchange('alice', 'k1');

    const redeemed = await redeemCoupon(shop.ledger, { merchantId: shop.merchantId, code: coupon.code, orderId: 'o1', orderAmount: 5_000 });
    expect(redeemed).toEqual({ code: coupon.code, orderId: 'o1', discount: 500, status: 'redeemed' });
    expect(await redeemCoupon(shop.ledger, { merchantId: shop.merchantId, code: coupon.code, orderId: 'o1', orderAmount: 5_000 })).toEqual(redeemed);
    const twice = await expectRefusal(redeemCoupon(shop.ledger, { merchantId: shop.merchantId, code: coupon.code, orderId: 'o2', orderAmount: 5_000 }), 'COUPON_NOT_USABLE', 'code');
    expect(twice.facts).toMatchObject({ status: 'redeemed' });
    await expectRefusal(redeemCoupon(shop.ledger, { merchantId: shop.merchantId, code: coupon.code, orderId: 'o1', orderAmount: 5_000, shopperId: 'bob' }), 'NOT_FOUND', 'code');
    expect(await myCoupons(shop.ledger.db, { merchantId: shop.merchantId, shopperId: 'alice' })).toEqual([expect.objectContaining({ status: 'redeemed', orderId: 'o1' })]);
  });

  it("a redeem replayed on the order whose payment redeemed the coupon answers that redemption's discount, and other amounts conflict", async () => {
    await givePoints(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', points: 5_000 });
    await upsertTemplate(shop.ledger, { merchantId: shop.merchantId, template: aTemplate({ id: 'pct', discount: { kind: 'percent', rateOff: 0.15, amountOffMax: null } }) });
    const coupon = await exchange('alice', 'k1', 'pct');
    const paid = await orderPaid(shop.ledger, { merchantId: shop.merchantId, orderId: 'o1', shopperId: 'alice', amount: 10_600, currency: 'CNY', shipping: 600, couponCodes: [coupon.code] });
    expect(paid.coupons).toEqual({ discount: 1_500, coupons: [{ code: coupon.code, discount: 1_500 }] });

    const before = await journalLength(shop.ledger.db, shop.merchantId);
    const records = async () => (await shop.ledger.db.selectFrom('idempotency').select('key').where('merchant_id', '=', shop.merchantId).where('scope', '=', 'coupon.redeem').execute()).length;
    // Other amounts are another request under the same (code, order): refused, and no record of them kept.
    await expectRefusal(redeemCoupon(shop.ledger, { merchantId: shop.merchantId, code: coupon.code, orderId: 'o1', orderAmount: 2_000, shipping: 600 }), 'IDEMPOTENCY_CONFLICT', 'orderAmount');
    await expectRefusal(redeemCoupon(shop.ledger, { merchantId: shop.merchantId, code: coupon.code, orderId: 'o1', orderAmount: 10_000 }), 'IDEMPOTENCY_CONFLICT', 'shipping');
    expect(await records()).toBe(0);
    // The goods and shipping the order redeemed it against: the same discount.
    expect(await redeemCoupon(shop.ledger, { merchantId: shop.merchantId, code: coupon.code, orderId: 'o1', orderAmount: 10_000, shipping: 600 })).toEqual({
      code: coupon.code,
      orderId: 'o1',
      discount: 1_500,
      status: 'redeemed',
    });
    expect(await journalLength(shop.ledger.db, shop.merchantId)).toBe(before);
  });

  it('redeems several coupons inside the order transaction, never discounting more than the goods and the shipping', async () => {
    await givePoints(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', points: 5_000 });
    await upsertTemplate(shop.ledger, { merchantId: shop.merchantId, template: aTemplate({ discount: { kind: 'fixed', amountOff: 800 } }) });
    await upsertTemplate(shop.ledger, { merchantId: shop.merchantId, template: aTemplate({ id: 'ship', discount: { kind: 'freeShipping', amountOffMax: 500 } }) });
    await upsertTemplate(shop.ledger, { merchantId: shop.merchantId, template: aTemplate({ id: 'big', discount: { kind: 'fixed', amountOff: 5_000 } }) });
    const fixed = await exchange('alice', 'k1');
    const ship = await exchange('alice', 'k2', 'ship');
    const big = await exchange('alice', 'k3', 'big');
    const { program } = await getProgram(shop.ledger.db, shop.merchantId);
    const redeem = (codes: string[]) =>
      shop.ledger.write((tx) => redeemCouponsInTx(tx, { merchantId: shop.merchantId, shopperId: 'alice', orderId: 'o1', codes, orderAmount: 1_000, shipping: 600, program }));

    await expectRefusal(redeem([fixed.code, fixed.code]), 'INVALID_INPUT', 'couponCodes');
    await expectRefusal(
      shop.ledger.write((tx) => redeemCouponsInTx(tx, { merchantId: shop.merchantId, shopperId: 'bob', orderId: 'o1', codes: [fixed.code], orderAmount: 1_000, shipping: 0, program })),
      'NOT_FOUND',
      'couponCodes',
    );
    const result = await redeem([fixed.code, ship.code, big.code]);

    expect(result).toEqual({
      discount: 1_500,
      coupons: [
        { code: fixed.code, discount: 800 },
        { code: ship.code, discount: 500 },
        { code: big.code, discount: 200 },
      ],
      shippingDiscount: 500,
    });
    expect(await redeem([fixed.code, ship.code, big.code])).toEqual(result);
  });

  it("on a paid order the coupons discount the goods and the shipping, never the tax or the order's total twice", async () => {
    await givePoints(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', points: 5_000 });
    await upsertTemplate(shop.ledger, { merchantId: shop.merchantId, template: aTemplate({ id: 'big', discount: { kind: 'fixed', amountOff: 5_000 } }) });
    await upsertTemplate(shop.ledger, { merchantId: shop.merchantId, template: aTemplate({ id: 'ship', discount: { kind: 'freeShipping', amountOffMax: null } }) });
    const big = await exchange('alice', 'k1', 'big');
    const ship = await exchange('alice', 'k2', 'ship');
    // Goods 1,000 + shipping 600 + tax 130: the fixed coupon takes the goods, free shipping the shipping.
    const paid = await orderPaid(shop.ledger, {
      merchantId: shop.merchantId,
      orderId: 'o1',
      shopperId: 'alice',
      amount: 1_730,
      currency: 'CNY',
      items: [{ amount: 1_000 }],
      shipping: 600,
      tax: 130,
      couponCodes: [big.code, ship.code],
    });
    expect(paid.coupons).toEqual({ discount: 1_600, coupons: [{ code: big.code, discount: 1_000 }, { code: ship.code, discount: 600 }] });
  });

  it("on a paid order a coupon's minimum spend is met by the goods, not by the shipping or the tax", async () => {
    await givePoints(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', points: 5_000 });
    await upsertTemplate(shop.ledger, { merchantId: shop.merchantId, template: aTemplate({ minSpend: 10_000 }) });
    const coupon = await exchange('alice', 'k1');
    const order = { merchantId: shop.merchantId, shopperId: 'alice', currency: 'CNY', shipping: 1_000, tax: 500, couponCodes: [coupon.code] };
    const before = await journalLength(shop.ledger.db, shop.merchantId);
    // Goods 9,000: the total is 10,500, the goods short of 10,000.
    await expectRefusal(orderPaid(shop.ledger, { ...order, orderId: 'o1', amount: 10_500, items: [{ amount: 9_000 }] }), 'BELOW_MIN_SPEND', 'couponCodes');
    expect(await journalLength(shop.ledger.db, shop.merchantId)).toBe(before);
    const paid = await orderPaid(shop.ledger, { ...order, orderId: 'o2', amount: 11_500, items: [{ amount: 10_000 }] });
    expect(paid.coupons).toEqual({ discount: 500, coupons: [{ code: coupon.code, discount: 500 }] });
  });

  it('a cancelled coupon gives its points back with their original expiry and its stock back; cancelling again returns the same', async () => {
    const soon = new Date('2025-04-30T16:00:00Z');
    await givePoints(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', points: 300, expiresAt: soon });
    await givePoints(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', points: 1_000, expiresAt: null });
    await upsertTemplate(shop.ledger, { merchantId: shop.merchantId, template: aTemplate({ isCancellable: true, stock: 1 }) });
    const coupon = await exchange('alice', 'k1');
    expect(await balanceOf(shop.ledger.db, shop.merchantId, 'alice')).toEqual({ available: 800, held: 0, pending: 0 });

    const cancelled = await cancelCoupon(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', code: coupon.code });

    expect(cancelled).toEqual({ code: coupon.code, status: 'cancelled', pointsReturned: 500 });
    expect(await balanceOf(shop.ledger.db, shop.merchantId, 'alice')).toEqual({ available: 1_300, held: 0, pending: 0 });
    const restored = await shop.ledger.db
      .selectFrom('lots')
      .select(['points', 'expires_at'])
      .where('merchant_id', '=', shop.merchantId)
      .where('source', '=', 'restore')
      .where('source_ref', '=', coupon.code)
      .orderBy('points')
      .execute();
    expect(restored.map((lot) => [Number(lot.points), lot.expires_at === null ? null : Number(lot.expires_at)])).toEqual([
      [200, null],
      [300, soon.getTime()],
    ]);
    const exchanged = await journalKinds(shop.ledger.db, shop.merchantId, 'coupon.exchange');
    const returned = await journalKinds(shop.ledger.db, shop.merchantId, 'coupon.cancel');
    expect(returned.map((entry) => entry.points).sort()).toEqual([200, 300]);
    expect(returned.every((entry) => entry.compensates === exchanged[0]!.seq && entry.lotId !== null)).toBe(true);
    expect((await listTemplates(shop.ledger.db, shop.merchantId))[0]).toMatchObject({ issued: 0, stockLeft: 1 });
    expect(await cancelCoupon(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', code: coupon.code })).toEqual(cancelled);
    expect(await balanceOf(shop.ledger.db, shop.merchantId, 'alice')).toEqual({ available: 1_300, held: 0, pending: 0 });
    // The unit of stock it gave back can be taken again.
    expect((await exchange('alice', 'k2')).status).toBe('issued');
  });

  it('restores points whose lot expired meanwhile with the refund grace period', async () => {
    await givePoints(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', points: 500, expiresAt: new Date('2025-03-02T16:00:00Z') });
    await upsertTemplate(shop.ledger, { merchantId: shop.merchantId, template: aTemplate({ isCancellable: true }) });
    const coupon = await exchange('alice', 'k1');
    shop.clock.advance(5 * DAY_MS);
    await cancelCoupon(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', code: coupon.code });
    const [restored] = await shop.ledger.db.selectFrom('lots').select(['expires_at']).where('merchant_id', '=', shop.merchantId).where('source_ref', '=', coupon.code).execute();
    // Today is 6 March in Shanghai; restoreGraceDays 30 → usable through 5 April.
    expect(Number(restored!.expires_at)).toBe(Date.parse('2025-04-05T16:00:00Z'));
  });

  it('refuses to cancel a coupon the template does not allow, a used one, or one past its validity', async () => {
    await givePoints(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', points: 3_000 });
    await upsertTemplate(shop.ledger, { merchantId: shop.merchantId, template: aTemplate() });
    await upsertTemplate(shop.ledger, { merchantId: shop.merchantId, template: aTemplate({ id: 'soft', isCancellable: true }) });
    const fixed = await exchange('alice', 'k1');
    const used = await exchange('alice', 'k2', 'soft');
    const late = await exchange('alice', 'k3', 'soft');
    await redeemCoupon(shop.ledger, { merchantId: shop.merchantId, code: used.code, orderId: 'o1', orderAmount: 5_000 });

    await expectRefusal(cancelCoupon(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', code: fixed.code }), 'NOT_CANCELLABLE', 'code');
    await expectRefusal(cancelCoupon(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', code: used.code }), 'COUPON_NOT_USABLE', 'code');
    await expectRefusal(cancelCoupon(shop.ledger, { merchantId: shop.merchantId, shopperId: 'bob', code: late.code }), 'NOT_FOUND', 'code');
    shop.clock.advance(30 * DAY_MS);
    await expectRefusal(cancelCoupon(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', code: late.code }), 'COUPON_EXPIRED', 'code');
    expect(await balanceOf(shop.ledger.db, shop.merchantId, 'alice')).toEqual({ available: 1_500, held: 0, pending: 0 });
    expect((await myCoupons(shop.ledger.db, { merchantId: shop.merchantId, shopperId: 'alice' }, shop.clock.now)).map((coupon) => coupon.status).sort()).toEqual(['expired', 'expired', 'redeemed']);
  });

  it('in pool mode an exchange pays the coupon out of the pool, and cannot be cancelled', async () => {
    const pool = await aMerchant(shop.ledger, aPoolProgram());
    await givePoints(shop.ledger, { merchantId: pool, shopperId: 'alice', points: 10_000 });
    await upsertTemplate(shop.ledger, { merchantId: pool, template: aTemplate({ pointsCost: 2_000, isCancellable: true }) });
    const coupon = await exchangeCoupon(shop.ledger, { merchantId: pool, shopperId: 'alice', templateId: 'five-off', idempotencyKey: 'k1' });
    const state = await shop.ledger.db.selectFrom('pool_state').selectAll().where('merchant_id', '=', pool).executeTakeFirstOrThrow();
    expect({ amount: Number(state.amount), supply: Number(state.supply) }).toEqual({ amount: 8_000, supply: 8_000 });
    await expectRefusal(cancelCoupon(shop.ledger, { merchantId: pool, shopperId: 'alice', code: coupon.code }), 'NOT_CANCELLABLE', 'code');
    await assertLedgerInvariants(shop.ledger.db, pool);
  });

  it('in pool mode a shopper holding more than concentrationReview of the supply cannot exchange until their share falls back', async () => {
    const pool = await aMerchant(shop.ledger, { valuation: { kind: 'pool', risk: { concentrationReview: 0.5 } } });
    // Alice holds the whole supply.
    await givePoints(shop.ledger, { merchantId: pool, shopperId: 'alice', points: 10_000 });
    await upsertTemplate(shop.ledger, { merchantId: pool, template: aTemplate({ pointsCost: 2_000 }) });
    await expectRefusal(exchangeCoupon(shop.ledger, { merchantId: pool, shopperId: 'alice', templateId: 'five-off', idempotencyKey: 'k1' }), 'REDEMPTION_IN_REVIEW', 'templateId');
    // Bob's points, not hers, bring her share to a third: nothing of hers changed, and she may exchange.
    await givePoints(shop.ledger, { merchantId: pool, shopperId: 'bob', points: 20_000 });
    expect(await exchangeCoupon(shop.ledger, { merchantId: pool, shopperId: 'alice', templateId: 'five-off', idempotencyKey: 'k1' })).toMatchObject({ status: 'issued' });
    await assertLedgerInvariants(shop.ledger.db, pool);
  });
  it('concurrent buyers never take more than the stock', async () => {
    const buyers = Array.from({ length: 12 }, (_, index) => `buyer${index}`);
    for (const shopperId of buyers) await givePoints(shop.ledger, { merchantId: shop.merchantId, shopperId, points: 500 });
    await upsertTemplate(shop.ledger, { merchantId: shop.merchantId, template: aTemplate({ stock: 4 }) });
    const outcomes = await Promise.all(
      buyers.map((shopperId) =>
        exchange(shopperId, 'k1').then(
          (coupon) => coupon.status,
          (error: unknown) => (error instanceof JifenError ? error.reason : 'crash'),
        ),
      ),
    );
    expect(outcomes.filter((outcome) => outcome === 'issued')).toHaveLength(4);
    expect(outcomes.filter((outcome) => outcome === 'OUT_OF_STOCK')).toHaveLength(8);
    expect((await listTemplates(shop.ledger.db, shop.merchantId))[0]).toMatchObject({ issued: 4, stockLeft: 0 });
    expect(await journalKinds(shop.ledger.db, shop.merchantId, 'coupon.exchange')).toHaveLength(4);
  });
});
