import type { Database } from '@jifen/db';
import { type EarningOrderLine, type ProgramInput, type Simulation, type SimulationEvent, parseProgram, simulate } from '@jifen/rules';
import type { Kysely } from 'kysely';
import { JifenError, invalid } from './errors';
import { getProgram } from './merchants';

/**
 * `merchant.simulate` and `jifen simulate` (SPEC §3 "try a rule change on past orders", §8): the
 * merchant's stored history of the last `days` days replayed under a candidate program by rules
 * `simulate`. Read-only — plain selects outside any write, so nothing is written, not even an
 * idempotency record.
 *
 * The events, from the ledger's tables:
 * - each order paid in the window: 'paid' at `paid_at` (amount, lines, shipping, tax, the value paid
 *   with points, the shopper's VIP flag as it is now), preceded by 'pointsUsed' when points paid part of it;
 * - 'completed' at `completed_at`; a cancellation as a 'refunded' of what was not yet refunded;
 * - every refund of those orders, at its time;
 * - coupon exchanges in the window ('couponExchanged'), not those cancelled for their points;
 * - the discount of the jifen coupons an order was paid with (`coupon_codes`, each coupon's
 *   `redeemed_discount`), so the order earns in the replay on what it earned on in the ledger.
 */

const DAY_MS = 86_400_000;
export const SIMULATE_DAYS_DEFAULT = 30;
export const SIMULATE_DAYS_MAX = 366;

export interface SimulateOrdersInput {
  merchantId: string;
  /** The candidate program (validated here; an invalid one is INVALID_PROGRAM naming the field). */
  program: ProgramInput;
  days?: number;
  now: Date;
}

export interface SimulatedHistory extends Simulation {
  merchantId: string;
  /** Epoch ms: the window replayed, `[from, until]`. */
  from: number;
  until: number;
  orders: number;
}

export async function simulateOrders(db: Kysely<Database>, input: SimulateOrdersInput): Promise<SimulatedHistory> {
  const days = input.days ?? SIMULATE_DAYS_DEFAULT;
  if (!Number.isInteger(days) || days < 1 || days > SIMULATE_DAYS_MAX) throw invalid('days', `must be a whole number of days between 1 and ${SIMULATE_DAYS_MAX}`);
  const parsed = parseProgram(input.program);
  if (!parsed.ok) {
    const first = parsed.error.issues[0];
    throw new JifenError(
      'INVALID_PROGRAM',
      { summary: parsed.error.issues.map((issue) => issue.message.en).join('; '), issues: parsed.error.issues },
      first ? `program.${first.path}` : 'program',
    );
  }
  // The stored orders are in the merchant's currency: a candidate in another would read fen as yen.
  const { program: current } = await getProgram(db, input.merchantId);
  if (parsed.value.currency !== current.currency) {
    throw new JifenError('CURRENCY_MISMATCH', { expected: current.currency, received: parsed.value.currency }, 'program.currency');
  }

  const until = input.now.getTime();
  const from = until - days * DAY_MS;
  const events = await historyEvents(db, input.merchantId, from, until);
  const simulation = simulate(parsed.value, events.events, { until: input.now });
  return { ...simulation, merchantId: input.merchantId, from, until, orders: events.orders };
}

async function historyEvents(db: Kysely<Database>, merchantId: string, from: number, until: number): Promise<{ events: SimulationEvent[]; orders: number }> {
  const orders = await db
    .selectFrom('orders')
    .leftJoin('shoppers', (join) => join.onRef('shoppers.merchant_id', '=', 'orders.merchant_id').onRef('shoppers.shopper_id', '=', 'orders.shopper_id'))
    .select([
      'orders.order_id',
      'orders.shopper_id',
      'orders.status',
      'orders.amount',
      'orders.items',
      'orders.shipping',
      'orders.tax',
      'orders.paid_at',
      'orders.completed_at',
      'orders.cancelled_at',
      'orders.points_paid',
      'orders.points_paid_value',
      'orders.refunded_amount',
      'orders.coupon_codes',
      'shoppers.is_vip',
    ])
    .where('orders.merchant_id', '=', merchantId)
    .where('orders.paid_at', '>=', from)
    .where('orders.paid_at', '<=', until)
    .orderBy('orders.paid_at')
    .orderBy('orders.order_id')
    .execute();
  const refunds = await db
    .selectFrom('refunds')
    .innerJoin('orders', (join) => join.onRef('orders.merchant_id', '=', 'refunds.merchant_id').onRef('orders.order_id', '=', 'refunds.order_id'))
    .select(['refunds.order_id', 'refunds.amount', 'refunds.created_at'])
    .where('refunds.merchant_id', '=', merchantId)
    .where('orders.paid_at', '>=', from)
    .where('orders.paid_at', '<=', until)
    .where('refunds.created_at', '<=', until)
    .execute();
  const exchanges = await db
    .selectFrom('coupons')
    .select(['shopper_id', 'points_cost', 'issued_at'])
    .where('merchant_id', '=', merchantId)
    .where('source', '=', 'exchange')
    // A coupon cancelled for its points gave them back: not a redemption.
    .where('status', '<>', 'cancelled')
    .where('issued_at', '>=', from)
    .where('issued_at', '<=', until)
    .execute();

  const couponDiscounts = await orderCouponDiscounts(db, merchantId, orders);
  const events: SimulationEvent[] = [];
  for (const order of orders) {
    const at = new Date(order.paid_at);
    if (order.points_paid > 0) events.push({ kind: 'pointsUsed', at, shopperId: order.shopper_id, points: order.points_paid, orderId: order.order_id });
    events.push({
      kind: 'paid',
      at,
      orderId: order.order_id,
      shopperId: order.shopper_id,
      amount: order.amount,
      items: orderLines(order.items),
      shipping: order.shipping,
      tax: order.tax,
      pointsPaidValue: order.points_paid_value,
      couponDiscount: couponDiscounts.get(order.order_id) ?? 0,
      isVip: order.is_vip === 1,
    });
    if (order.completed_at !== null && order.completed_at <= until) events.push({ kind: 'completed', at: new Date(order.completed_at), orderId: order.order_id });
  }
  for (const refund of refunds) events.push({ kind: 'refunded', at: new Date(refund.created_at), orderId: refund.order_id, amount: refund.amount });
  // A cancellation takes back whatever refunds had not (SPEC §5 `merchant.orders.cancelled`).
  for (const order of orders) {
    const left = order.amount - order.refunded_amount;
    if (order.status === 'cancelled' && order.cancelled_at !== null && order.cancelled_at <= until && left > 0) {
      events.push({ kind: 'refunded', at: new Date(order.cancelled_at), orderId: order.order_id, amount: left });
    }
  }
  for (const exchange of exchanges) events.push({ kind: 'couponExchanged', at: new Date(exchange.issued_at), shopperId: exchange.shopper_id, points: exchange.points_cost });
  return { events, orders: orders.length };
}

function orderLines(itemsJson: string): EarningOrderLine[] | undefined {
  const parsed = JSON.parse(itemsJson) as unknown;
  if (!Array.isArray(parsed) || parsed.length === 0) return undefined;
  return parsed.map((line: { sku?: unknown; category?: unknown; amount: number }) => ({
    ...(typeof line.sku === 'string' ? { sku: line.sku } : {}),
    ...(typeof line.category === 'string' ? { category: line.category } : {}),
    amount: line.amount,
  }));
}

/**
 * What the jifen coupons each order was paid with took off its goods (`orders.paid` with
 * `couponCodes`), as the ledger earned on the rest. Coupons redeemed on their own
 * (`merchant.coupons.redeem`) did not change the earning and are left out; a coupon redeemed before
 * its discount was kept counts 0.
 */
async function orderCouponDiscounts(db: Kysely<Database>, merchantId: string, orders: ReadonlyArray<{ order_id: string; coupon_codes: string }>): Promise<Map<string, number>> {
  const codesOf = new Map<string, string[]>();
  for (const order of orders) {
    const codes = JSON.parse(order.coupon_codes) as string[];
    if (codes.length > 0) codesOf.set(order.order_id, codes);
  }
  const discounts = new Map<string, number>();
  const codes = [...codesOf.values()].flat();
  const rows = [];
  // A year of a busy shop's coupons: read 500 codes a statement, under every engine's limit on bound values.
  for (let start = 0; start < codes.length; start += 500) {
    rows.push(
      ...(await db
        .selectFrom('coupons')
        .leftJoin('coupon_templates', (join) => join.onRef('coupon_templates.merchant_id', '=', 'coupons.merchant_id').onRef('coupon_templates.template_id', '=', 'coupons.template_id'))
        .select(['coupons.code', 'coupons.order_id', 'coupons.redeemed_discount', 'coupon_templates.config'])
        .where('coupons.merchant_id', '=', merchantId)
        .where('coupons.status', '=', 'redeemed')
        .where('coupons.code', 'in', codes.slice(start, start + 500))
        .execute()),
    );
  }
  for (const row of rows) {
    if (row.order_id === null || !codesOf.get(row.order_id)?.includes(row.code)) continue;
    // A free-shipping coupon discounted the shipping, not the goods the order earned on.
    if (row.config !== null && (JSON.parse(row.config) as { discount?: { kind?: string } }).discount?.kind === 'freeShipping') continue;
    discounts.set(row.order_id, (discounts.get(row.order_id) ?? 0) + Number(row.redeemed_discount ?? 0));
  }
  return discounts;
}
