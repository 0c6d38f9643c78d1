import {
  type Minor,
  type PointUnits,
  type Ratio,
  allocateProportionally,
  divideCeil,
  divideFloor,
  isAmount,
  minor,
  multiplyFloor,
  pointUnits,
  ratioFromDecimal,
  toSafeNumber,
} from './arithmetic';
import type { Program } from './program';
import { type Result, assert, ok, refuse } from './result';
import { pointUnitValue, valueOfPoints } from './valuation';

/**
 * Points + cash at checkout (SPEC §3.1 "Redemption"). Coupons apply first, points pay part of the
 * rest: at most `maxShare` of the payable amount and never lines in an excluded category. The quote
 * is pure so the widget previews it in the browser; the server re-runs it and is the authority.
 *
 * Step: usable amounts are the multiples of `step` that are at least `minPoints` (step 100,
 * minPoints 150 → 200, 300, …), so a shopper always spends round amounts. Zero points, meaning "pay
 * all in cash", is always a valid choice.
 */

export interface RedemptionLine {
  sku?: string;
  category?: string;
  /** The line's amount before coupons (minor units). */
  amount: number;
}

export interface RedemptionQuoteInput {
  program: Program;
  /** Minor units per point unit; defaults to the program's fixed value. Pool mode passes the current price. */
  unitValue?: Ratio;
  /** Everything the shopper would pay before coupons and points (minor units), shipping included. */
  cartAmount: number;
  /**
   * The cart's goods. Only listed lines outside excluded categories can be paid with points; the
   * part of the cart not itemised (shipping, fees) is cash. Without items the whole cart is one line.
   */
  items?: readonly RedemptionLine[];
  /** The coupon discount for this cart (minor units), applied before points. */
  couponDiscount?: number;
  /**
   * The part of `couponDiscount` that discounts the cart's unitemised rest — a free-shipping
   * coupon's. It lowers what is payable and no line's points-eligible amount; the rest of the
   * discount is the goods', shared over the items alone. Default 0.
   */
  couponShippingDiscount?: number;
  availablePoints: number;
}

export interface QuoteLine {
  sku?: string;
  category?: string;
  amount: Minor;
  /** This line's share of the coupon discount, by largest remainder over all lines. */
  couponDiscount: Minor;
  /** What points may pay on this line after its coupon share: 0 in an excluded category. */
  pointsEligibleAmount: Minor;
}

export interface RedemptionQuote {
  /** The smallest usable choice (a multiple of `step`). */
  minPoints: PointUnits;
  /** The largest usable choice: the fewest points that reach `maxValue`. */
  maxPoints: PointUnits;
  step: PointUnits;
  unitValue: Ratio;
  /** The amount due after coupons, before points. */
  payable: Minor;
  pointsEligibleAmount: Minor;
  /** The most points may pay: min(eligible amount, floor(payable × maxShare)). */
  valueCap: Minor;
  /** The value of `maxPoints`, never above `valueCap`. */
  maxValue: Minor;
  lines: QuoteLine[];
}

export type RedemptionRefusal =
  | { code: 'ITEMS_EXCEED_CART'; cartAmount: Minor; itemsAmount: Minor }
  | { code: 'NOTHING_TO_REDEEM'; payable: Minor; pointsEligibleAmount: Minor; valueCap: Minor }
  | { code: 'CAP_BELOW_MINIMUM'; minPoints: PointUnits; pointsCap: PointUnits }
  | { code: 'BELOW_MINIMUM'; minPoints: PointUnits; available: PointUnits };

/** The usable range of points for a cart, or why points cannot be used on it. */
export function quoteRedemption(input: RedemptionQuoteInput): Result<RedemptionQuote, RedemptionRefusal> {
  const { redemption } = input.program;
  const amounts = [input.cartAmount, input.availablePoints, input.couponDiscount ?? 0, input.couponShippingDiscount ?? 0, ...(input.items ?? []).map((item) => item.amount)];
  assert(amounts.every(isAmount), 'quote amounts are non-negative safe integers');
  const unitValue = input.unitValue ?? pointUnitValue(input.program);
  assert(unitValue.numerator >= 0n && unitValue.denominator > 0n, 'a point value is a non-negative ratio');

  const itemsAmount = input.items?.reduce((sum, item) => sum + item.amount, 0) ?? input.cartAmount;
  if (itemsAmount > input.cartAmount) {
    return refuse({ code: 'ITEMS_EXCEED_CART', cartAmount: minor(input.cartAmount), itemsAmount: minor(itemsAmount) });
  }
  const { payable, lines, pointsEligibleAmount, valueCap } = priceCart(input);
  if (valueCap === 0 || unitValue.numerator === 0n) {
    return refuse({ code: 'NOTHING_TO_REDEEM', payable, pointsEligibleAmount, valueCap });
  }

  const step = BigInt(redemption.step);
  const minPoints = roundUpToStep(BigInt(Math.max(redemption.minPoints, 1)), step);
  const pointsCap = roundDownToStep(pointsWithinValue(valueCap, unitValue), step);
  if (pointsCap < minPoints) {
    return refuse({ code: 'CAP_BELOW_MINIMUM', minPoints: toPoints(minPoints), pointsCap: toPoints(pointsCap) });
  }
  const available = BigInt(input.availablePoints);
  if (available < minPoints) {
    return refuse({ code: 'BELOW_MINIMUM', minPoints: toPoints(minPoints), available: pointUnits(input.availablePoints) });
  }
  const top = roundDownToStep(available < pointsCap ? available : pointsCap, step);
  const maxValue = valueOfPoints(toSafeNumber(top), unitValue);
  // Points beyond the fewest that reach maxValue would add nothing (a point worth a third of a fen).
  const fewest = roundUpToStep(divideCeil(BigInt(maxValue) * unitValue.denominator, unitValue.numerator), step);
  const maxPoints = fewest > minPoints ? fewest : minPoints;
  assert(maxPoints <= top, 'the fewest points reaching the top value are within the top');

  return ok({
    minPoints: toPoints(minPoints),
    maxPoints: toPoints(maxPoints),
    step: pointUnits(redemption.step),
    unitValue,
    payable,
    pointsEligibleAmount,
    valueCap,
    maxValue: valueOfPoints(toSafeNumber(maxPoints), unitValue),
    lines,
  });
}

interface CartPricing {
  payable: Minor;
  lines: QuoteLine[];
  pointsEligibleAmount: Minor;
  valueCap: Minor;
}

type CartInput = Pick<RedemptionQuoteInput, 'program' | 'cartAmount' | 'items' | 'couponDiscount' | 'couponShippingDiscount'>;

/** The cart after its coupons: what is payable, each line's points-eligible part, and the most points may pay. */
function priceCart(input: CartInput): CartPricing {
  const { redemption } = input.program;
  const itemsAmount = input.items?.reduce((sum, item) => sum + item.amount, 0) ?? input.cartAmount;
  // A coupon larger than the cart makes it free, never negative.
  const couponApplied = Math.min(input.couponDiscount ?? 0, input.cartAmount);
  const payable = minor(input.cartAmount - couponApplied);
  // Free shipping takes from the unitemised rest, every other coupon from the goods; neither from the other.
  const onRest = Math.min(input.couponShippingDiscount ?? 0, couponApplied, input.cartAmount - itemsAmount);
  const onGoods = Math.min(couponApplied - onRest, itemsAmount);
  const lines = quoteLines(input.items ?? [{ amount: input.cartAmount }], onGoods, redemption.excludedCategories);
  const pointsEligibleAmount = minor(lines.reduce((sum, line) => sum + line.pointsEligibleAmount, 0));
  const valueCap = minor(Math.min(pointsEligibleAmount, toSafeNumber(multiplyFloor(payable, ratioFromDecimal(redemption.maxShare)))));
  return { payable, lines, pointsEligibleAmount, valueCap };
}

/**
 * The most points may pay on a cart, whatever they are worth: min(its points-eligible amount,
 * floor(payable × maxShare)), coupons applied first — the quote's `valueCap`. A hold is captured
 * only on an order whose cap covers the hold's value, so a hold reserved for one cart cannot pay
 * for a smaller order (api holds.ts). The items must not add up to more than the cart.
 */
export function redemptionValueCap(input: CartInput): Minor {
  const amounts = [input.cartAmount, input.couponDiscount ?? 0, input.couponShippingDiscount ?? 0, ...(input.items ?? []).map((item) => item.amount)];
  assert(amounts.every(isAmount), 'cart amounts are non-negative safe integers');
  assert((input.items?.reduce((sum, item) => sum + item.amount, 0) ?? 0) <= input.cartAmount, 'the items are within the cart');
  return priceCart(input).valueCap;
}

export interface RedemptionSplit {
  points: PointUnits;
  /** What the points pay (rounded down). */
  value: Minor;
  /** What is left to pay in cash. */
  cashDue: Minor;
}

export type SplitRefusal =
  | { code: 'POINTS_OUT_OF_RANGE'; requested: PointUnits; minPoints: PointUnits; maxPoints: PointUnits }
  | { code: 'POINTS_OFF_STEP'; requested: PointUnits; step: PointUnits };

/** The points value and the cash due for a choice of points within a quote; zero points means all cash. */
export function splitFor(quote: RedemptionQuote, points: number): Result<RedemptionSplit, SplitRefusal> {
  assert(isAmount(points), 'chosen points are a non-negative safe integer');
  const requested = pointUnits(points);
  if (points !== 0 && (points < quote.minPoints || points > quote.maxPoints)) {
    return refuse({ code: 'POINTS_OUT_OF_RANGE', requested, minPoints: quote.minPoints, maxPoints: quote.maxPoints });
  }
  if (points % quote.step !== 0) return refuse({ code: 'POINTS_OFF_STEP', requested, step: quote.step });
  const value = valueOfPoints(points, quote.unitValue);
  return ok({ points: requested, value, cashDue: minor(quote.payable - value) });
}

/**
 * Spreads a points discount over the quote's lines in proportion to what points may pay on each,
 * by largest remainder to the fen (SPEC §3.1), so invoices and later refunds of single lines agree.
 */
export function distributePointsDiscount(quote: RedemptionQuote, discount: number): Minor[] {
  assert(isAmount(discount) && discount <= quote.pointsEligibleAmount, 'a points discount is within the eligible amount');
  return allocateProportionally(discount, quote.lines.map((line) => line.pointsEligibleAmount)).map(minor);
}

/** The lines with their share of the goods' coupon discount (largest remainder) and what points may pay on each. */
function quoteLines(items: readonly RedemptionLine[], goodsDiscount: number, excluded: readonly string[]): QuoteLine[] {
  const couponShares = allocateProportionally(goodsDiscount, items.map((item) => item.amount));
  return items.map((item, index) => {
    const couponDiscount = couponShares[index] ?? 0;
    const isExcluded = item.category !== undefined && excluded.includes(item.category);
    return {
      ...(item.sku === undefined ? {} : { sku: item.sku }),
      ...(item.category === undefined ? {} : { category: item.category }),
      amount: minor(item.amount),
      couponDiscount: minor(couponDiscount),
      pointsEligibleAmount: minor(isExcluded ? 0 : item.amount - couponDiscount),
    };
  });
}

/** The most point units whose value, rounded down, stays within `value`: floor(p × u) ≤ value. */
function pointsWithinValue(value: number, unitValue: Ratio): bigint {
  return divideFloor((BigInt(value) + 1n) * unitValue.denominator - 1n, unitValue.numerator);
}

function roundDownToStep(points: bigint, step: bigint): bigint {
  return (points / step) * step;
}

function roundUpToStep(points: bigint, step: bigint): bigint {
  return divideCeil(points, step) * step;
}

function toPoints(value: bigint): PointUnits {
  return pointUnits(toSafeNumber(value));
}
