import type { Database } from '@jifen/db';
import type { Kysely } from 'kysely';
import { JifenError } from '../../src/errors';
import { releaseHold, reserveHold } from '../../src/holds';
import type { Ledger } from '../../src/ledger';
import { orderCancelled, orderCompleted, orderPaid, orderRefunded } from '../../src/orders';
import { type RunSweepStage, runSweep } from '../../src/sweep';
import type { Random } from '../../src/testing';

/**
 * A shop's history as its platform sends it (issue 3: "shop platforms retry for hours"): orders
 * paid, completed, refunded and cancelled, checkouts that reserve points and are paid with the hold
 * (a capture) or released, and — for the crash test — the sweep. Each event carries the instant it
 * happens at; ids are the caller's, so an event can be delivered again and again.
 */

interface EventBase {
  /** The event's own id: its position in the history. */
  id: string;
  /** The instant the ledger's clock reads while the event is applied (epoch ms). */
  at: number;
}

export type ShopEvent = EventBase &
  (
    | { kind: 'paid'; orderId: string; shopperId: string; amount: number; paidAt: number; checkoutId?: string }
    | { kind: 'completed'; orderId: string; shopperId: string }
    | { kind: 'refunded'; orderId: string; shopperId: string; refundId: string; amount: number }
    | { kind: 'cancelled'; orderId: string; shopperId: string }
    | { kind: 'reserve'; shopperId: string; checkoutId: string; points: number; cartAmount: number }
    | { kind: 'release'; shopperId: string; checkoutId: string }
    | { kind: 'sweep' }
  );

export type ShopEventKind = ShopEvent['kind'];

export interface AppliedShopEvent {
  /** 'waiting': an order event that arrived before its order and was stored until `paid`. */
  status: 'applied' | 'waiting';
  value: unknown;
}

/** The shopper an event belongs to; null for the merchant-wide sweep. */
export function shopperOf(event: ShopEvent): string | null {
  return event.kind === 'sweep' ? null : event.shopperId;
}

export function orderOf(event: ShopEvent): string | null {
  return 'orderId' in event ? event.orderId : null;
}

/**
 * Delivers one event through the services, as the merchant's backend (orders) or the widget
 * (checkouts) would. A checkout's hold id is the ledger's; the event knows the checkout, and the hold
 * is looked up by it (holds are unique per shopper and checkout). Refusals are thrown, including a
 * refusal of an earlier event that waited for this `paid`.
 */
export async function applyShopEvent(
  ledger: Ledger,
  merchantId: string,
  event: ShopEvent,
  hooks: { onSweepStage?: (stage: RunSweepStage) => void } = {},
): Promise<AppliedShopEvent> {
  switch (event.kind) {
    case 'paid': {
      const holdId = event.checkoutId === undefined ? undefined : await holdFor(ledger.db, merchantId, event.shopperId, event.checkoutId);
      const value = await orderPaid(ledger, {
        merchantId,
        orderId: event.orderId,
        shopperId: event.shopperId,
        amount: event.amount,
        currency: 'CNY',
        paidAt: new Date(event.paidAt),
        ...(holdId === undefined ? {} : { holdId }),
      });
      const refused = value.events.find((applied) => applied.outcome === 'refused');
      if (refused) throw new JifenError(refused.reason ?? 'REFUSED', { waitingEvent: refused.kind, ref: refused.ref }, 'events');
      return { status: 'applied', value };
    }
    case 'completed':
      return settled(await orderCompleted(ledger, { merchantId, orderId: event.orderId }));
    case 'refunded':
      return settled(await orderRefunded(ledger, { merchantId, orderId: event.orderId, refundId: event.refundId, amount: event.amount }));
    case 'cancelled':
      return settled(await orderCancelled(ledger, { merchantId, orderId: event.orderId }));
    case 'reserve':
      return {
        status: 'applied',
        value: await reserveHold(ledger, { merchantId, shopperId: event.shopperId, checkoutId: event.checkoutId, points: event.points, cartAmount: event.cartAmount }),
      };
    case 'release': {
      const holdId = await holdFor(ledger.db, merchantId, event.shopperId, event.checkoutId);
      return { status: 'applied', value: await releaseHold(ledger, { merchantId, shopperId: event.shopperId, holdId }) };
    }
    case 'sweep':
      return { status: 'applied', value: await runSweep(ledger, { merchantId, ...(hooks.onSweepStage === undefined ? {} : { onStage: hooks.onSweepStage }) }) };
  }
}

function settled(value: { status: string }): AppliedShopEvent {
  return { status: value.status === 'waiting' ? 'waiting' : 'applied', value };
}

async function holdFor(db: Kysely<Database>, merchantId: string, shopperId: string, checkoutId: string): Promise<string> {
  const hold = await db
    .selectFrom('holds')
    .select('hold_id')
    .where('merchant_id', '=', merchantId)
    .where('shopper_id', '=', shopperId)
    .where('checkout_id', '=', checkoutId)
    .executeTakeFirst();
  if (!hold) throw new Error(`shop history: checkout ${checkoutId} of ${shopperId} has no hold — its reserve must come first`);
  return hold.hold_id;
}

export interface HistoryShape {
  events: number;
  shoppers: number;
  /** The instant of the first event. */
  startAt: Date;
  /** Clock step between events; 0 keeps the clock still (every event at `startAt`). */
  stepMs: number;
  /** A sweep every this many events (0: never). */
  sweepEvery: number;
}

export interface GeneratedHistory {
  /** Only events the model accepted, in the order it applied them. */
  events: ShopEvent[];
  /** The model's answer to each event, by event id. */
  results: Map<string, AppliedShopEvent>;
  /** Generated events the model refused (e.g. a hold past its expiry), left out of the history. */
  refusedCount: number;
}

interface OrderState {
  orderId: string;
  shopperId: string;
  amount: number;
  refunded: number;
  status: 'paid' | 'completed' | 'cancelled';
}

interface CheckoutState {
  checkoutId: string;
  shopperId: string;
  cartAmount: number;
}

/**
 * Generates a history by playing it: each candidate event is applied at once to `model` (a fresh
 * ledger, the same history applied once, in order), and kept only if the model accepts it, so the
 * next choice (what to complete, refund, reserve) follows what really happened. The result is a
 * history with no refusals, whose final state is the model's.
 */
export async function generateShopHistory(model: { ledger: Ledger; merchantId: string; setClock: (at: Date) => void }, shape: HistoryShape, random: Random): Promise<GeneratedHistory> {
  const events: ShopEvent[] = [];
  const results = new Map<string, AppliedShopEvent>();
  const orders: OrderState[] = [];
  const checkouts: CheckoutState[] = [];
  const shoppers = Array.from({ length: shape.shoppers }, (_, index) => `shopper-${String(index).padStart(2, '0')}`);
  let refusedCount = 0;
  let serial = 0;
  const nextId = (prefix: string) => `${prefix}-${(serial += 1)}`;
  // Orders most recently paid or completed last: deliveries and refunds tend to follow soon after.
  const touch = (order: OrderState) => {
    orders.splice(orders.indexOf(order), 1);
    orders.push(order);
  };

  while (events.length < shape.events) {
    const index = events.length;
    const at = shape.startAt.getTime() + index * shape.stepMs;
    const base = { id: `e-${index}`, at };
    const open = (status: OrderState['status'][]) => orders.filter((order) => status.includes(order.status));
    let event: ShopEvent | null = null;
    let onAccepted: () => void = () => undefined;
    let onRefused: () => void = () => undefined;

    const roll = random.next();
    if (shape.sweepEvery > 0 && index % shape.sweepEvery === shape.sweepEvery - 1) {
      event = { ...base, kind: 'sweep' };
    } else if (checkouts.length > 0 && roll < 0.2) {
      // A checkout ends: paid with its hold (a capture) three times in four, otherwise released.
      const checkout = random.pick(checkouts);
      const close = () => checkouts.splice(checkouts.indexOf(checkout), 1);
      onRefused = close;
      if (random.chance(0.75)) {
        const orderId = nextId('o');
        event = { ...base, kind: 'paid', orderId, shopperId: checkout.shopperId, amount: checkout.cartAmount, paidAt: at - (shape.events - index) * 1000, checkoutId: checkout.checkoutId };
        onAccepted = () => {
          close();
          orders.push({ orderId, shopperId: checkout.shopperId, amount: checkout.cartAmount, refunded: 0, status: 'paid' });
        };
      } else {
        event = { ...base, kind: 'release', shopperId: checkout.shopperId, checkoutId: checkout.checkoutId };
        onAccepted = close;
      }
    } else if (roll < 0.35 && open(['paid']).length > 0) {
      const order = recentOrAny(random, open(['paid']));
      event = { ...base, kind: 'completed', orderId: order.orderId, shopperId: order.shopperId };
      onAccepted = () => {
        order.status = 'completed';
        touch(order);
      };
    } else if (roll < 0.5 && open(['paid', 'completed']).some((order) => order.refunded < order.amount)) {
      const refundable = open(['paid', 'completed']).filter((candidate) => candidate.refunded < candidate.amount);
      // Now and then the whole rest of an order whose points the shopper no longer has: the clawback
      // becomes debt. Left to chance, such a refund is rare (a few in 1,000 events, none for some seeds).
      const unbacked = random.chance(0.25) ? await ordersBeyondBalance(model, refundable) : [];
      const order = unbacked.length > 0 ? random.pick(unbacked) : recentOrAny(random, refundable);
      const left = order.amount - order.refunded;
      const amount = unbacked.length > 0 || random.chance(0.3) ? left : random.integer(1, left);
      event = { ...base, kind: 'refunded', orderId: order.orderId, shopperId: order.shopperId, refundId: nextId('r'), amount };
      onAccepted = () => {
        order.refunded += amount;
      };
    } else if (roll < 0.55 && open(['paid']).length > 0) {
      const order = random.pick(open(['paid']));
      event = { ...base, kind: 'cancelled', orderId: order.orderId, shopperId: order.shopperId };
      onAccepted = () => {
        order.status = 'cancelled';
      };
    } else if (roll < 0.7) {
      event = await aReservation(model, base, shoppers.filter((shopperId) => !checkouts.some((checkout) => checkout.shopperId === shopperId)), random, nextId);
      if (event !== null && event.kind === 'reserve') {
        const checkout = { checkoutId: event.checkoutId, shopperId: event.shopperId, cartAmount: event.cartAmount };
        onAccepted = () => checkouts.push(checkout);
      }
    }
    if (event === null) {
      const orderId = nextId('o');
      const shopperId = random.pick(shoppers);
      const amount = random.chance(0.05) ? 0 : random.integer(500, 60_000);
      event = { ...base, kind: 'paid', orderId, shopperId, amount, paidAt: at - (shape.events - index) * 1000 };
      onAccepted = () => orders.push({ orderId, shopperId, amount, refunded: 0, status: 'paid' });
    }

    model.setClock(new Date(at));
    try {
      results.set(event.id, await applyShopEvent(model.ledger, model.merchantId, event));
    } catch (error) {
      if (!(error instanceof JifenError)) throw error;
      refusedCount += 1;
      onRefused();
      continue;
    }
    onAccepted();
    events.push(event);
  }
  return { events, results, refusedCount };
}

/**
 * Orders whose points left to take back (earned, less clawed back) exceed everything their shopper
 * could give back (available and pending points): refunding the rest of one leaves the shopper debt.
 */
async function ordersBeyondBalance(model: { ledger: Ledger; merchantId: string }, candidates: readonly OrderState[]): Promise<OrderState[]> {
  if (candidates.length === 0) return [];
  const rows = await model.ledger.db
    .selectFrom('orders')
    .innerJoin('shoppers', (join) => join.onRef('shoppers.merchant_id', '=', 'orders.merchant_id').onRef('shoppers.shopper_id', '=', 'orders.shopper_id'))
    .select(['orders.order_id', 'orders.earned_points', 'orders.clawed_back', 'shoppers.available', 'shoppers.pending'])
    .where('orders.merchant_id', '=', model.merchantId)
    .where('orders.order_id', 'in', candidates.map((order) => order.orderId))
    .execute();
  const unbacked = new Set(rows.filter((row) => Number(row.earned_points) - Number(row.clawed_back) > Number(row.available) + Number(row.pending)).map((row) => row.order_id));
  return candidates.filter((order) => unbacked.has(order.orderId));
}

/** A reservation a shopper with at least the minimum (100 points) can afford, on a cart where points may pay for it. */
async function aReservation(
  model: { ledger: Ledger; merchantId: string },
  base: EventBase,
  candidates: string[],
  random: Random,
  nextId: (prefix: string) => string,
): Promise<ShopEvent | null> {
  if (candidates.length === 0) return null;
  const rows = await model.ledger.db
    .selectFrom('shoppers')
    .select(['shopper_id', 'available'])
    .where('merchant_id', '=', model.merchantId)
    .where('shopper_id', 'in', candidates)
    .where('available', '>=', 100)
    .execute();
  if (rows.length === 0) return null;
  const row = random.pick(rows);
  const points = random.integer(100, Math.min(Number(row.available), 3_000));
  return { ...base, kind: 'reserve', shopperId: row.shopper_id, checkoutId: nextId('c'), points, cartAmount: 2 * points + random.integer(0, 5_000) };
}

export interface Delivery {
  /** The events in the order they arrive, duplicates included. */
  events: ShopEvent[];
  duplicates: number;
  /** Events delivered earlier than in the history. */
  reordered: number;
  /** Of those, events that arrived before their order's `paid` (they wait for it). */
  beforeTheirOrder: number;
  /** Refunds that arrived before their order's `completed`. */
  refundsBeforeCompletion: number;
}

/**
 * What the platform actually delivers: `reorderedShare` of the events arrive early and
 * `duplicateShare` of them arrive again later. An event only overtakes what it commutes with — any
 * other shopper's events, and its own order's `paid` (it waits for it), a refund also its order's
 * `completed` — so the history's meaning is unchanged and the final state must equal the model's.
 * Checkouts, payments and sweeps keep their place: a shopper's spending decides what a later refund
 * can take back, so those orders are part of what happened, not of how it was delivered.
 */
export function deliverOutOfOrder(history: readonly ShopEvent[], random: Random, shares: { reorderedShare: number; duplicateShare: number }): Delivery {
  const delivered = [...history];
  const target = Math.round(history.length * shares.reorderedShare);
  const movable = history.filter((event) => event.kind === 'completed' || event.kind === 'refunded' || event.kind === 'cancelled');
  const candidates = shuffled(random, movable);
  let reordered = 0;
  let beforeTheirOrder = 0;
  let refundsBeforeCompletion = 0;
  for (const event of candidates) {
    if (reordered >= target) break;
    const from = delivered.indexOf(event);
    let reach = 0;
    let firstOwnAt: number | null = null;
    while (from - reach - 1 >= 0 && mayOvertake(event, delivered[from - reach - 1]!)) {
      reach += 1;
      if (firstOwnAt === null && orderOf(delivered[from - reach]!) === orderOf(event)) firstOwnAt = reach;
    }
    if (reach === 0) continue;
    // Mostly past one of the order's own events (its `paid`, its `completed`) when one is within reach.
    const distance = firstOwnAt !== null && random.chance(0.7) ? random.integer(firstOwnAt, reach) : random.integer(1, reach);
    const to = from - distance;
    const overtaken = delivered.slice(to, from);
    delivered.splice(from, 1);
    delivered.splice(to, 0, event);
    reordered += 1;
    if (overtaken.some((passed) => passed.kind === 'paid' && orderOf(passed) === orderOf(event))) beforeTheirOrder += 1;
    if (event.kind === 'refunded' && overtaken.some((passed) => passed.kind === 'completed' && orderOf(passed) === orderOf(event))) refundsBeforeCompletion += 1;
  }

  const duplicates = Math.round(history.length * shares.duplicateShare);
  for (let count = 0; count < duplicates; count += 1) {
    const original = random.pick(history);
    const at = delivered.indexOf(original);
    // A retry arrives after the first delivery, anywhere up to the end of the history.
    delivered.splice(random.integer(at + 1, delivered.length), 0, original);
  }
  return { events: delivered, duplicates, reordered, beforeTheirOrder, refundsBeforeCompletion };
}

function mayOvertake(event: ShopEvent, earlier: ShopEvent): boolean {
  if (earlier.kind === 'sweep') return false;
  if (shopperOf(earlier) !== shopperOf(event)) return true;
  if (orderOf(earlier) !== orderOf(event)) return false;
  switch (event.kind) {
    case 'completed':
      return earlier.kind === 'paid' || earlier.kind === 'refunded';
    case 'refunded':
      return earlier.kind === 'paid' || earlier.kind === 'completed';
    case 'cancelled':
      return earlier.kind === 'paid';
    default:
      return false;
  }
}

/** Half the time one of the three most recently active candidates, otherwise any. */
function recentOrAny<T>(random: Random, candidates: readonly T[]): T {
  return random.chance(0.5) ? random.pick(candidates.slice(-3)) : random.pick(candidates);
}

function shuffled<T>(random: Random, items: readonly T[]): T[] {
  const copy = [...items];
  for (let index = copy.length - 1; index > 0; index -= 1) {
    const other = random.integer(0, index);
    [copy[index], copy[other]] = [copy[other]!, copy[index]!];
  }
  return copy;
}
