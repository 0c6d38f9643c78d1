import { type Database, prepareQuery } from '@jifen/db';
import {
  type PoolState,
  type Program,
  type Ratio,
  type RedemptionLine,
  type RedemptionQuote,
  type RedemptionRefusal,
  type Result,
  minor,
  pointUnitValue,
  pointUnits,
  pointValuePerPoint,
  quoteRedemption,
  spendablePoints,
  toSafeNumber,
} from '@jifen/rules';
import type { Kysely } from 'kysely';
import { spendableLots } from './accounts';
import { couponDiscountForCart } from './coupons';
import { JifenError } from './errors';
import { getProgram } from './merchants';

/**
 * The points + cash quote at checkout (SPEC §3.1 "Redemption"): what the shopper can use now, by the
 * rules' `quoteRedemption`, at the point value in force — the fixed value, or in pool mode the pool
 * price as it stands. The widget previews the same rules in the browser; `reserveHold` re-runs this
 * quote on the server, which is the authority.
 */

export interface CheckoutQuoteInput {
  merchantId: string;
  shopperId: string;
  /** Everything the shopper would pay before coupons and points (minor units), shipping included. */
  cartAmount: number;
  items?: RedemptionLine[];
  couponCode?: string;
}

/** A point's worth: `minor` minor units per `perPoints` whole points, exactly (SPEC Appendix A). */
export interface PointValue {
  minor: number;
  perPoints: number;
}

export interface QuoteLineView {
  sku?: string;
  category?: string;
  amount: number;
  couponDiscount: number;
  pointsEligibleAmount: number;
}

export interface CheckoutQuote {
  cartAmount: number;
  coupon: { code: string; discount: number } | null;
  /** Due after coupons, before points. */
  payable: number;
  /** Points usable now: available lots not yet past their expiry. */
  availablePoints: number;
  pointValue: PointValue;
  /** Minor units per point unit as an exact fraction (decimal strings: they may exceed 2^53). */
  unitValue: { numerator: string; denominator: string };
  /** The usable range, or null when points cannot be used on this cart (see `refusal`). */
  redeemable: {
    minPoints: number;
    maxPoints: number;
    step: number;
    /** What `maxPoints` pay. */
    maxValue: number;
    /** The most points may pay on this cart. */
    valueCap: number;
    pointsEligibleAmount: number;
    /** Cash left when the shopper uses `maxPoints`. */
    cashDueAtMax: number;
    lines: QuoteLineView[];
  } | null;
  refusal: ({ code: RedemptionRefusal['code'] } & Record<string, unknown>) | null;
}

/** The quote a checkout widget shows; reads only. */
export async function quoteCheckout(db: Kysely<Database>, input: CheckoutQuoteInput, now: Date): Promise<CheckoutQuote> {
  const { program } = await getProgram(db, input.merchantId);
  const coupon =
    input.couponCode === undefined
      ? null
      : {
          code: input.couponCode,
          discount: await couponDiscountForCart(db, { merchantId: input.merchantId, shopperId: input.shopperId, code: input.couponCode, ...couponCart(input) }, now),
        };
  const pricing = await redemptionQuoteFor(db, {
    program,
    merchantId: input.merchantId,
    shopperId: input.shopperId,
    cartAmount: input.cartAmount,
    couponDiscount: coupon?.discount ?? 0,
    now,
    ...(input.items === undefined ? {} : { items: input.items }),
  });
  const { quote } = pricing;
  const payable = input.cartAmount - Math.min(coupon?.discount ?? 0, input.cartAmount);
  return {
    cartAmount: input.cartAmount,
    coupon,
    payable,
    availablePoints: pricing.availablePoints,
    pointValue: pointValueOf(program, pricing.pool),
    unitValue: { numerator: pricing.unitValue.numerator.toString(), denominator: pricing.unitValue.denominator.toString() },
    redeemable: quote.ok
      ? {
          minPoints: quote.value.minPoints,
          maxPoints: quote.value.maxPoints,
          step: quote.value.step,
          maxValue: quote.value.maxValue,
          valueCap: quote.value.valueCap,
          pointsEligibleAmount: quote.value.pointsEligibleAmount,
          cashDueAtMax: quote.value.payable - quote.value.maxValue,
          lines: quote.value.lines.map((line) => ({ ...line })),
        }
      : null,
    refusal: quote.ok ? null : { ...quote.error },
  };
}

export interface RedemptionPricing {
  quote: Result<RedemptionQuote, RedemptionRefusal>;
  unitValue: Ratio;
  pool: PoolState;
  availablePoints: number;
}

/** The rules' quote for a shopper now: spendable points, the point value in force, the coupon discount. */
export async function redemptionQuoteFor(
  db: Kysely<Database>,
  input: { program: Program; merchantId: string; shopperId: string; cartAmount: number; items?: RedemptionLine[]; couponDiscount: number; now: Date },
): Promise<RedemptionPricing> {
  const pool = await readPool(db, input.merchantId);
  const unitValue = pointUnitValue(input.program, pool);
  // Lots past their expiry but not yet swept are not spendable (rules `isLotSpendable`).
  const availablePoints = spendablePoints(await spendableLots({ db }, input.merchantId, input.shopperId), input.now);
  const quote = quoteRedemption({
    program: input.program,
    unitValue,
    cartAmount: input.cartAmount,
    couponDiscount: input.couponDiscount,
    availablePoints,
    ...(input.items === undefined ? {} : { items: input.items }),
  });
  return { quote, unitValue, pool, availablePoints };
}

/** The merchant's pool as it stands (all zero for fixed-value programs, whose value ignores it). */
// Read on every quote (a fixed-value program's pool is empty, but the point value takes it): prepared once.
const readPoolState = prepareQuery((db, key: { merchantId: string }) => db.selectFrom('pool_state').select(['amount', 'supply']).where('merchant_id', '=', key.merchantId));

export async function readPool(db: Kysely<Database>, merchantId: string): Promise<PoolState> {
  const row = await readPoolState.executeTakeFirst(db, { merchantId });
  return { amount: minor(Number(row?.amount ?? 0)), supply: pointUnits(Number(row?.supply ?? 0)) };
}

export function pointValueOf(program: Program, pool: PoolState): PointValue {
  const perPoint = pointValuePerPoint(program, pool);
  return { minor: toSafeNumber(perPoint.numerator), perPoints: toSafeNumber(perPoint.denominator) };
}

/** The cart as a coupon sees it: itemised goods, and the unitemised rest (shipping, fees) apart. */
export function couponCart(input: { cartAmount: number; items?: readonly RedemptionLine[] }): { amount: number; shipping: number } {
  const goods = input.items === undefined ? input.cartAmount : input.items.reduce((sum, item) => sum + item.amount, 0);
  if (goods > input.cartAmount) throw new JifenError('ITEMS_EXCEED_CART', { cartAmount: input.cartAmount, itemsAmount: goods }, 'items');
  return { amount: goods, shipping: input.cartAmount - goods };
}
