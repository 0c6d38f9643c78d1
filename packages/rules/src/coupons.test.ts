import { describe, expect, it } from 'vitest';
import {
  type CouponTemplate,
  type CouponTemplateInput,
  type HeldCoupon,
  cancelEligibility,
  couponDiscount,
  couponExpiry,
  couponUseEligibility,
  exchangeEligibility,
  parseCouponTemplate,
} from './coupons';

function aTemplate(overrides: Partial<CouponTemplateInput> = {}): CouponTemplate {
  const parsed = parseCouponTemplate({
    id: 'ten-off',
    name: { 'zh-CN': '满100减10', en: '¥10 off ¥100' },
    discount: { kind: 'fixed', amountOff: 1_000 },
    pointsCost: 1_000,
    ...overrides,
  });
  if (!parsed.ok) throw new Error(parsed.error.issues.map((issue) => issue.path).join(', '));
  return parsed.value;
}

function aCoupon(overrides: Partial<HeldCoupon> = {}): HeldCoupon {
  return { status: 'issued', expiresAt: new Date('2026-07-01T16:00:00Z'), pointsSpent: 1_000, ...overrides };
}

const NOW = new Date('2026-06-15T04:00:00Z');

describe('coupon templates', () => {
  it('fills defaults: no minimum spend, 30 days validity, unlimited stock and per-shopper, always active, not cancellable', () => {
    expect(aTemplate()).toMatchObject({ minSpend: 0, validityDays: 30, stock: null, perShopperLimit: null, activeFrom: null, activeTo: null, isCancellable: false });
    expect(aTemplate({ discount: { kind: 'percent', rateOff: 0.15 } }).discount).toEqual({ kind: 'percent', rateOff: 0.15, amountOffMax: null });
  });

  it('lists every invalid field with a message in English and Chinese', () => {
    const parsed = parseCouponTemplate({
      id: 'bad id',
      name: { 'zh-CN': '九折', en: '10% off' },
      discount: { kind: 'percent', rateOff: 0.12345 },
      pointsCost: -1,
      activeFrom: '2026-11-11',
    });
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.error.code).toBe('INVALID_COUPON_TEMPLATE');
    const byPath = Object.fromEntries(parsed.error.issues.map((issue) => [issue.path, issue.message]));
    expect(Object.keys(byPath).sort()).toEqual(['activeFrom', 'discount.rateOff', 'id', 'pointsCost']);
    expect(byPath['discount.rateOff']).toEqual({ en: 'discount.rateOff: must be a decimal with at most 4 places', 'zh-CN': 'discount.rateOff：最多保留 4 位小数' });
    expect(byPath.pointsCost?.en).toBe('pointsCost: must be at least 0');
    expect(byPath.activeFrom?.en).toMatch(/^activeFrom: must be an ISO 8601 date-time with an offset/);
    expect(byPath.activeFrom?.['zh-CN']).toMatch(/^activeFrom：应为带时区偏移的 ISO 8601 时间/);
  });

  it('says an id has the wrong format without mistaking it for a date-time', () => {
    const parsed = parseCouponTemplate({ id: 'bad id', name: { 'zh-CN': '九折', en: '10% off' }, discount: { kind: 'fixed', amountOff: 100 }, pointsCost: 1 });
    expect(parsed).toEqual({ ok: false, error: { code: 'INVALID_COUPON_TEMPLATE', issues: [{ path: 'id', message: { en: 'id: has the wrong format', 'zh-CN': 'id：格式不正确' } }] } });
  });

  it('refuses a name with a control character, naming it in both languages', () => {
    const parsed = parseCouponTemplate({ id: 'ten', name: { 'zh-CN': '九折', en: '10% off\u0007' }, discount: { kind: 'fixed', amountOff: 100 }, pointsCost: 1 });
    expect(parsed).toEqual({
      ok: false,
      error: { code: 'INVALID_COUPON_TEMPLATE', issues: [{ path: 'name.en', message: { en: 'name.en: must be text without control characters', 'zh-CN': 'name.en：不能包含控制字符' } }] },
    });
  });

  it('accepts a window open on one side', () => {
    expect(aTemplate({ activeTo: '2026-11-12T00:00:00+08:00' }).activeTo).toBe('2026-11-12T00:00:00+08:00');
    expect(aTemplate({ activeFrom: '2026-11-11T00:00:00+08:00' }).activeFrom).toBe('2026-11-11T00:00:00+08:00');
  });

  it.each([
    ['ends before it starts', '2026-11-12T00:00:00+08:00', '2026-11-11T00:00:00+08:00'],
    ['is empty, [t, t) in two offsets', '2026-11-11T00:00:00+08:00', '2026-11-10T16:00:00Z'],
  ])('refuses an active window that %s', (_case, activeFrom, activeTo) => {
    const parsed = parseCouponTemplate({
      id: 'double-eleven',
      name: { 'zh-CN': '双十一', en: 'Singles Day' },
      discount: { kind: 'freeShipping' },
      pointsCost: 100,
      activeFrom,
      activeTo,
    });
    expect(parsed).toEqual({
      ok: false,
      error: { code: 'INVALID_COUPON_TEMPLATE', issues: [{ path: 'activeTo', message: { en: 'activeTo: must be after activeFrom', 'zh-CN': 'activeTo：须晚于 activeFrom' } }] },
    });
  });
});

describe('the discount a coupon gives', () => {
  it('takes a fixed amount off the goods, never more than they cost', () => {
    expect(couponDiscount(aTemplate(), { amount: 12_000 })).toBe(1_000);
    expect(couponDiscount(aTemplate(), { amount: 600, shipping: 800 })).toBe(600);
  });

  it('takes a share off the goods rounded down to the fen, up to its ceiling', () => {
    const fifteenPercent = aTemplate({ discount: { kind: 'percent', rateOff: 0.15, amountOffMax: 2_000 } });
    expect(couponDiscount(fifteenPercent, { amount: 333 })).toBe(49);
    expect(couponDiscount(fifteenPercent, { amount: 10_000, shipping: 1_000 })).toBe(1_500);
    expect(couponDiscount(fifteenPercent, { amount: 100_000 })).toBe(2_000);
    expect(couponDiscount(aTemplate({ discount: { kind: 'percent', rateOff: 0.57 } }), { amount: 100 })).toBe(57);
  });

  it('waives shipping, up to its ceiling, and nothing when there is no shipping', () => {
    expect(couponDiscount(aTemplate({ discount: { kind: 'freeShipping' } }), { amount: 5_000, shipping: 1_200 })).toBe(1_200);
    expect(couponDiscount(aTemplate({ discount: { kind: 'freeShipping', amountOffMax: 1_000 } }), { amount: 5_000, shipping: 1_200 })).toBe(1_000);
    expect(couponDiscount(aTemplate({ discount: { kind: 'freeShipping' } }), { amount: 5_000 })).toBe(0);
  });
});

describe('exchanging points for a coupon', () => {
  const check = (template: CouponTemplate, overrides: { issuedCount?: number; shopperIssuedCount?: number; availablePoints?: number; now?: Date } = {}) =>
    exchangeEligibility({ template, now: NOW, issuedCount: 0, shopperIssuedCount: 0, availablePoints: 5_000, ...overrides });

  it('allows it within the window, with stock, under the shopper’s limit and with enough points', () => {
    expect(check(aTemplate({ stock: 10, perShopperLimit: 2 }), { issuedCount: 9, shopperIssuedCount: 1, availablePoints: 1_000 })).toEqual({ ok: true, value: { pointsCost: 1_000 } });
  });

  it('refuses outside the active window, which includes its start and excludes its end', () => {
    const template = aTemplate({ activeFrom: '2026-06-15T12:00:00+08:00', activeTo: '2026-06-16T00:00:00+08:00' });
    expect(check(template, { now: new Date('2026-06-15T03:59:59Z') })).toEqual({ ok: false, error: { code: 'NOT_ACTIVE', activeFrom: '2026-06-15T12:00:00+08:00', activeTo: '2026-06-16T00:00:00+08:00' } });
    expect(check(template, { now: new Date('2026-06-15T04:00:00Z') }).ok).toBe(true);
    expect(check(template, { now: new Date('2026-06-15T16:00:00Z') }).ok).toBe(false);
  });

  it('refuses when the stock is gone', () => {
    expect(check(aTemplate({ stock: 10 }), { issuedCount: 10 })).toEqual({ ok: false, error: { code: 'OUT_OF_STOCK', stock: 10, issued: 10 } });
    expect(check(aTemplate({ stock: 0 })).ok).toBe(false);
  });

  it('refuses when the shopper has reached the per-shopper limit', () => {
    expect(check(aTemplate({ perShopperLimit: 1 }), { shopperIssuedCount: 1 })).toEqual({ ok: false, error: { code: 'LIMIT_REACHED', perShopperLimit: 1, issued: 1 } });
  });

  it('refuses when the shopper has too few points', () => {
    expect(check(aTemplate(), { availablePoints: 999 })).toEqual({ ok: false, error: { code: 'INSUFFICIENT_POINTS', available: 999, requested: 1_000 } });
  });
});

describe('how long a coupon stays usable', () => {
  it('counts the day of issue as the first day and ends at local midnight', () => {
    // Issued 15 June, noon in Shanghai: 7 days = through 21 June.
    expect(couponExpiry(NOW, 7, 'Asia/Shanghai').toISOString()).toBe('2026-06-21T16:00:00.000Z');
    expect(couponExpiry(NOW, 1, 'Asia/Shanghai').toISOString()).toBe('2026-06-15T16:00:00.000Z');
  });

  it('ends at New York midnight across the spring-forward change', () => {
    expect(couponExpiry(new Date('2026-03-07T15:00:00Z'), 3, 'America/New_York').toISOString()).toBe('2026-03-10T04:00:00.000Z');
  });
});

describe('redeeming a coupon at checkout', () => {
  const template = aTemplate({ minSpend: 10_000 });

  it('gives its discount to an unused, unexpired coupon on a cart that reaches the minimum spend', () => {
    expect(couponUseEligibility({ template, coupon: aCoupon(), cart: { amount: 10_000 }, now: NOW })).toEqual({ ok: true, value: { discount: 1_000 } });
  });

  it('refuses a cart below the minimum spend', () => {
    expect(couponUseEligibility({ template, coupon: aCoupon(), cart: { amount: 9_999, shipping: 500 }, now: NOW })).toEqual({
      ok: false,
      error: { code: 'BELOW_MIN_SPEND', minSpend: 10_000, amount: 9_999 },
    });
  });

  it('refuses a coupon already used, cancelled or past its validity', () => {
    expect(couponUseEligibility({ template, coupon: aCoupon({ status: 'redeemed' }), cart: { amount: 20_000 }, now: NOW })).toEqual({
      ok: false,
      error: { code: 'COUPON_NOT_USABLE', status: 'redeemed' },
    });
    const expiresAt = new Date('2026-06-15T04:00:00Z');
    expect(couponUseEligibility({ template, coupon: aCoupon({ expiresAt }), cart: { amount: 20_000 }, now: NOW })).toEqual({
      ok: false,
      error: { code: 'COUPON_EXPIRED', expiresAt },
    });
  });
});

describe('cancelling a coupon for its points back', () => {
  it('gives back the points it cost when the template allows and the coupon is unused and valid', () => {
    expect(cancelEligibility({ template: aTemplate({ isCancellable: true }), coupon: aCoupon({ pointsSpent: 800 }), now: NOW })).toEqual({ ok: true, value: { points: 800 } });
  });

  it('refuses when the template does not allow it', () => {
    expect(cancelEligibility({ template: aTemplate(), coupon: aCoupon(), now: NOW })).toEqual({ ok: false, error: { code: 'NOT_CANCELLABLE', templateId: 'ten-off' } });
  });

  it('refuses a used or expired coupon', () => {
    const template = aTemplate({ isCancellable: true });
    expect(cancelEligibility({ template, coupon: aCoupon({ status: 'cancelled' }), now: NOW })).toEqual({ ok: false, error: { code: 'COUPON_NOT_USABLE', status: 'cancelled' } });
    expect(cancelEligibility({ template, coupon: aCoupon(), now: new Date('2026-07-01T16:00:00Z') }).ok).toBe(false);
  });
});
