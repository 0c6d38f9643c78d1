import { z } from 'zod';
import { type Minor, type PointUnits, hasRateDecimals, isAmount, minor, multiplyFloor, pointUnits, ratioFromDecimal, toSafeNumber } from './arithmetic';
import type { InsufficientPoints } from './lots';
import { type LocalizedMessage, type ProgramIssue, describeIssue, localizedName } from './program';
import { type Result, assert, ok, refuse } from './result';
import { addDays, endOfLocalDay, localDate } from './time';

/**
 * Coupon templates and the coupons shoppers exchange points for (SPEC §3.1 "Coupons"). A template
 * is merchant config, upserted through the API and validated here like the program. Percent
 * discounts are rate decimals with at most four places (0.15 = 15% off), like every rate in the
 * program, and become exact ratios before any arithmetic.
 */

const amount = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const positiveAmount = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);
const instant = z.iso.datetime({ offset: true });

export const couponDiscountSchema = z.discriminatedUnion('kind', [
  /** A fixed amount off the goods, never more than the goods cost. */
  z.strictObject({ kind: z.literal('fixed'), amountOff: positiveAmount }),
  /** A share off the goods, rounded down, up to a ceiling when one is set. */
  z.strictObject({
    kind: z.literal('percent'),
    rateOff: z.number().min(0.0001).max(1).refine(hasRateDecimals, { params: { reason: 'decimals' } }),
    amountOffMax: positiveAmount.nullable().default(null),
  }),
  /** The shipping charge, up to a ceiling when one is set. */
  z.strictObject({ kind: z.literal('freeShipping'), amountOffMax: positiveAmount.nullable().default(null) }),
]);

export const couponTemplateSchema = z
  .object({
    id: z.string().min(1).max(64).regex(/^[A-Za-z0-9_.:-]+$/),
    name: localizedName,
    discount: couponDiscountSchema,
    /** Point units burned to exchange one coupon. */
    pointsCost: amount,
    /** Goods amount (minor units) a cart must reach for the coupon to apply. */
    minSpend: amount.default(0),
    /** Days a coupon is usable, the day of issue counting as the first. */
    validityDays: z.number().int().min(1).max(3650).default(30),
    /** Coupons that may ever be issued from the template; null for no limit. */
    stock: amount.nullable().default(null),
    perShopperLimit: positiveAmount.nullable().default(null),
    /** ISO 8601 instants with an offset; the window is [activeFrom, activeTo). */
    activeFrom: instant.nullable().default(null),
    activeTo: instant.nullable().default(null),
    /** Whether an unused coupon can be cancelled for its points back within its validity. */
    isCancellable: z.boolean().default(false),
  })
  .strict()
  .refine((template) => template.activeFrom === null || template.activeTo === null || Date.parse(template.activeFrom) < Date.parse(template.activeTo), {
    path: ['activeTo'],
    params: { reason: 'activeWindow' },
  });

export type CouponTemplateInput = z.input<typeof couponTemplateSchema>;
export type CouponTemplate = z.output<typeof couponTemplateSchema>;
export type CouponDiscount = CouponTemplate['discount'];

export interface InvalidCouponTemplate {
  code: 'INVALID_COUPON_TEMPLATE';
  issues: ProgramIssue[];
}

/** Validates a template, filling defaults; on failure lists every invalid field in both languages. */
export function parseCouponTemplate(input: unknown): Result<CouponTemplate, InvalidCouponTemplate> {
  const parsed = couponTemplateSchema.safeParse(input);
  if (parsed.success) return ok(parsed.data);
  return refuse({ code: 'INVALID_COUPON_TEMPLATE', issues: parsed.error.issues.map(describeTemplateIssue) });
}

/** A cart as a coupon sees it: the goods and, separately, the shipping charge (minor units). */
export interface CouponCart {
  amount: number;
  shipping?: number;
}

/** The discount a template gives a cart (minor units), never more than what it discounts. */
export function couponDiscount(template: Pick<CouponTemplate, 'discount'>, cart: CouponCart): Minor {
  assert(isAmount(cart.amount) && isAmount(cart.shipping ?? 0), 'cart amounts are non-negative safe integers');
  const { discount } = template;
  switch (discount.kind) {
    case 'fixed':
      return minor(Math.min(discount.amountOff, cart.amount));
    case 'percent':
      // Money given away rounds down (SPEC §2): 15% of 333 fen is 49, not 50.
      return minor(withCeiling(toSafeNumber(multiplyFloor(cart.amount, ratioFromDecimal(discount.rateOff))), discount.amountOffMax));
    case 'freeShipping':
      return minor(withCeiling(cart.shipping ?? 0, discount.amountOffMax));
  }
}

export type ExchangeRefusal =
  | { code: 'NOT_ACTIVE'; activeFrom: string | null; activeTo: string | null }
  | { code: 'OUT_OF_STOCK'; stock: number; issued: number }
  | { code: 'LIMIT_REACHED'; perShopperLimit: number; issued: number }
  | InsufficientPoints;

export interface ExchangeCheck {
  template: CouponTemplate;
  now: Date;
  /** Coupons issued from the template and not cancelled. */
  issuedCount: number;
  /** Of those, the ones issued to this shopper. */
  shopperIssuedCount: number;
  availablePoints: number;
}

/** Whether the shopper may exchange points for a coupon now, and what it costs. */
export function exchangeEligibility(check: ExchangeCheck): Result<{ pointsCost: PointUnits }, ExchangeRefusal> {
  const { template, now } = check;
  assert([check.issuedCount, check.shopperIssuedCount, check.availablePoints].every(isAmount), 'counts and points are non-negative safe integers');
  if (!isTemplateActive(template, now)) {
    return refuse({ code: 'NOT_ACTIVE', activeFrom: template.activeFrom, activeTo: template.activeTo });
  }
  if (template.stock !== null && check.issuedCount >= template.stock) {
    return refuse({ code: 'OUT_OF_STOCK', stock: template.stock, issued: check.issuedCount });
  }
  if (template.perShopperLimit !== null && check.shopperIssuedCount >= template.perShopperLimit) {
    return refuse({ code: 'LIMIT_REACHED', perShopperLimit: template.perShopperLimit, issued: check.shopperIssuedCount });
  }
  if (check.availablePoints < template.pointsCost) {
    return refuse({ code: 'INSUFFICIENT_POINTS', available: pointUnits(check.availablePoints), requested: pointUnits(template.pointsCost) });
  }
  return ok({ pointsCost: pointUnits(template.pointsCost) });
}

/** Is the template inside its active window at `now` (from inclusive, to exclusive)? */
export function isTemplateActive(template: Pick<CouponTemplate, 'activeFrom' | 'activeTo'>, now: Date): boolean {
  const at = now.getTime();
  return (template.activeFrom === null || at >= Date.parse(template.activeFrom)) && (template.activeTo === null || at < Date.parse(template.activeTo));
}

/**
 * When a coupon issued at `issuedAt` stops being usable: the end of the local day `validityDays`
 * days on, the issue day counting as the first (1 day = usable through the end of today).
 */
export function couponExpiry(issuedAt: Date, validityDays: number, timeZone: string): Date {
  assert(Number.isInteger(validityDays) && validityDays >= 1, 'validityDays is at least one day');
  return endOfLocalDay(addDays(localDate(issuedAt, timeZone), validityDays - 1), timeZone);
}

export type CouponStatus = 'issued' | 'redeemed' | 'cancelled' | 'expired';

/** A coupon a shopper holds, as far as these rules need it. */
export interface HeldCoupon {
  status: CouponStatus;
  expiresAt: Date;
  /** Point units burned when it was exchanged. */
  pointsSpent: number;
}

export type CouponUseRefusal =
  | { code: 'COUPON_NOT_USABLE'; status: CouponStatus }
  | { code: 'COUPON_EXPIRED'; expiresAt: Date }
  | { code: 'BELOW_MIN_SPEND'; minSpend: Minor; amount: Minor };

/** Whether the merchant may redeem a coupon on this cart now, and the discount it gives. */
export function couponUseEligibility(check: {
  template: CouponTemplate;
  coupon: HeldCoupon;
  cart: CouponCart;
  now: Date;
}): Result<{ discount: Minor }, CouponUseRefusal> {
  const unusable = unusableReason(check.coupon, check.now);
  if (unusable !== null) return refuse(unusable);
  if (check.cart.amount < check.template.minSpend) {
    return refuse({ code: 'BELOW_MIN_SPEND', minSpend: minor(check.template.minSpend), amount: minor(check.cart.amount) });
  }
  return ok({ discount: couponDiscount(check.template, check.cart) });
}

export type CouponCancelRefusal = { code: 'NOT_CANCELLABLE'; templateId: string } | Exclude<CouponUseRefusal, { code: 'BELOW_MIN_SPEND' }>;

/** Whether an unused coupon may be cancelled now (SPEC §3.1), and the points it gives back. */
export function cancelEligibility(check: {
  template: CouponTemplate;
  coupon: HeldCoupon;
  now: Date;
}): Result<{ points: PointUnits }, CouponCancelRefusal> {
  if (!check.template.isCancellable) return refuse({ code: 'NOT_CANCELLABLE', templateId: check.template.id });
  const unusable = unusableReason(check.coupon, check.now);
  if (unusable !== null) return refuse(unusable);
  return ok({ points: pointUnits(check.coupon.pointsSpent) });
}

function unusableReason(coupon: HeldCoupon, now: Date): Exclude<CouponUseRefusal, { code: 'BELOW_MIN_SPEND' }> | null {
  if (coupon.status !== 'issued') return { code: 'COUPON_NOT_USABLE', status: coupon.status };
  if (now.getTime() >= coupon.expiresAt.getTime()) return { code: 'COUPON_EXPIRED', expiresAt: coupon.expiresAt };
  return null;
}

function withCeiling(value: number, ceiling: number | null): number {
  return ceiling === null ? value : Math.min(value, ceiling);
}

function describeTemplateIssue(issue: z.core.$ZodIssue): ProgramIssue {
  const described = describeIssue(issue);
  const message = templateMessage(issue, described.path);
  return message === null ? described : { path: described.path, message };
}

function templateMessage(issue: z.core.$ZodIssue, path: string): LocalizedMessage | null {
  if (issue.code === 'custom' && issue.params?.reason === 'activeWindow') {
    return { en: `${path}: must be after activeFrom`, 'zh-CN': `${path}：须晚于 activeFrom` };
  }
  if (issue.code === 'invalid_format' && issue.format === 'datetime') {
    return {
      en: `${path}: must be an ISO 8601 date-time with an offset, e.g. 2026-11-11T00:00:00+08:00`,
      'zh-CN': `${path}：应为带时区偏移的 ISO 8601 时间，例如 2026-11-11T00:00:00+08:00`,
    };
  }
  return null;
}
