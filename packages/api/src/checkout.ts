import { type Database, prepareQuery } from '@jifen/db';
import {
  type Lot,
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
  quoteRedemption,
  spendablePoints,
  toSafeNumber,
} from '@jifen/rules';
import { type Kysely, sql } from 'kysely';
import { spendableLot, spendableLots } from './accounts';
import { couponDiscountForCart } from './coupons';
import { JifenError } from './errors';
import { type ProgramStamp, programAtVersion } from './merchants';
import { readPool } from './pool-state';

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

/**
 * A point's worth, exactly: `minor` minor units per `perPoints` point units — the API's points, as
 * balances and `availablePoints` count them (SPEC Appendix A; a whole displayed point is
 * 10^pointDecimals units). `shopper.me` states it the same way.
 */
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
  const state = await readQuoteState(db, input.merchantId, input.shopperId);
  const program = await programAtVersion(db, state.program);
  const applied =
    input.couponCode === undefined
      ? null
      : await couponDiscountForCart(db, { merchantId: input.merchantId, shopperId: input.shopperId, code: input.couponCode, ...couponCart(input) }, now);
  const coupon = input.couponCode === undefined || applied === null ? null : { code: input.couponCode, discount: applied.discount };
  const pricing = priceRedemption({
    program,
    pool: state.pool,
    // Lots past their expiry but not yet swept are not spendable (rules `isLotSpendable`).
    availablePoints: spendablePoints(state.lots, now),
    cartAmount: input.cartAmount,
    couponDiscount: applied?.discount ?? 0,
    couponShippingDiscount: applied?.shippingDiscount ?? 0,
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

/**
 * Everything a quote reads, in one statement (issue 4 "Benchmarks": a quote is read on every move of
 * the widget's slider, and on SQLite each statement costs a read transaction of its own): the
 * merchant's current program version (and when it was created), its pool, and the shopper's
 * spendable lots — one row per lot, or one row with null lot columns when there is none. The
 * program itself is immutable per version and comes from `programAtVersion`'s cache. The lots come
 * by `lots_shopper_expiry_idx`: the same lots as `accounts.spendableLots` (both map rows with
 * `accounts.spendableLot`); `checkout-quote.test.ts` checks the two agree.
 */
const readQuoteRows = prepareQuery((db, key: { merchantId: string; shopperId: string }) =>
  db
    .selectFrom('merchants')
    .leftJoin('program_versions', (join) => join.onRef('program_versions.merchant_id', '=', 'merchants.id').onRef('program_versions.version', '=', 'merchants.program_version'))
    .leftJoin('pool_state', 'pool_state.merchant_id', 'merchants.id')
    .leftJoin('lots', (join) =>
      join
        .onRef('lots.merchant_id', '=', 'merchants.id')
        .on('lots.shopper_id', '=', key.shopperId)
        .on(sql<boolean>`${sql.ref('lots.status')} = 'available' and ${sql.ref('lots.remaining')} > 0`),
    )
    .select([
      'merchants.program_version as programVersion',
      'program_versions.created_at as programCreatedAt',
      'pool_state.amount as poolAmount',
      'pool_state.supply as poolSupply',
      'lots.id as lotId',
      'lots.remaining',
      'lots.held',
      'lots.expires_at as expiresAt',
      'lots.earned_at as earnedAt',
    ])
    .where('merchants.id', '=', key.merchantId),
);

interface QuoteState {
  program: ProgramStamp;
  pool: PoolState;
  /** The shopper's available lots with unreserved points, as `accounts.spendableLots` returns them. */
  lots: Lot[];
}

async function readQuoteState(db: Kysely<Database>, merchantId: string, shopperId: string): Promise<QuoteState> {
  const rows = await readQuoteRows.execute(db, { merchantId, shopperId });
  const first = rows[0];
  if (first === undefined) throw new JifenError('NOT_FOUND', { what: 'merchant' }, 'merchantId');
  const lots: Lot[] = [];
  for (const row of rows) {
    if (row.lotId === null) continue;
    const lot = spendableLot({ id: row.lotId, remaining: Number(row.remaining), held: Number(row.held), expires_at: row.expiresAt, earned_at: Number(row.earnedAt) });
    if (lot !== null) lots.push(lot);
  }
  return {
    program: { merchantId, version: Number(first.programVersion), createdAt: first.programCreatedAt === null ? null : Number(first.programCreatedAt) },
    pool: { amount: minor(Number(first.poolAmount ?? 0)), supply: pointUnits(Number(first.poolSupply ?? 0)) },
    lots,
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
  input: { program: Program; merchantId: string; shopperId: string; cartAmount: number; items?: RedemptionLine[]; couponDiscount: number; couponShippingDiscount: number; now: Date },
): Promise<RedemptionPricing> {
  const pool = await readPool(db, input.merchantId);
  // Lots past their expiry but not yet swept are not spendable (rules `isLotSpendable`).
  const availablePoints = spendablePoints(await spendableLots({ db }, input.merchantId, input.shopperId), input.now);
  return priceRedemption({
    program: input.program,
    pool,
    availablePoints,
    cartAmount: input.cartAmount,
    couponDiscount: input.couponDiscount,
    couponShippingDiscount: input.couponShippingDiscount,
    ...(input.items === undefined ? {} : { items: input.items }),
  });
}

function priceRedemption(input: {
  program: Program;
  pool: PoolState;
  availablePoints: number;
  cartAmount: number;
  items?: RedemptionLine[];
  couponDiscount: number;
  couponShippingDiscount: number;
}): RedemptionPricing {
  const unitValue = pointUnitValue(input.program, input.pool);
  const quote = quoteRedemption({
    program: input.program,
    unitValue,
    cartAmount: input.cartAmount,
    couponDiscount: input.couponDiscount,
    couponShippingDiscount: input.couponShippingDiscount,
    availablePoints: input.availablePoints,
    ...(input.items === undefined ? {} : { items: input.items }),
  });
  return { quote, unitValue, pool: input.pool, availablePoints: input.availablePoints };
}

export function pointValueOf(program: Program, pool: PoolState): PointValue {
  const perUnit = pointUnitValue(program, pool);
  return { minor: toSafeNumber(perUnit.numerator), perPoints: toSafeNumber(perUnit.denominator) };
}

/** The cart as a coupon sees it: itemised goods, and the unitemised rest (shipping, fees) apart. */
export function couponCart(input: { cartAmount: number; items?: readonly RedemptionLine[] }): { amount: number; shipping: number } {
  const goods = input.items === undefined ? input.cartAmount : input.items.reduce((sum, item) => sum + item.amount, 0);
  if (goods > input.cartAmount) throw new JifenError('ITEMS_EXCEED_CART', { cartAmount: input.cartAmount, itemsAmount: goods }, 'items');
  return { amount: goods, shipping: input.cartAmount - goods };
}
