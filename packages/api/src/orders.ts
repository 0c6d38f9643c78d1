import { type EarnedStatus, type LotRow, type OrderRow, type OrderStatus, prepareLockingRead, prepareQuery } from '@jifen/db';
import {
  type Clawback,
  type Earning,
  type EarningOrder,
  type LotPortion,
  type Program,
  type Restore,
  type Segment,
  type Tier,
  type TierSpend,
  allocateLots,
  clawback,
  earnForOrder,
  eligibleAmount,
  keptEligibleAmount,
  expiryFor,
  isLotSpendable,
  localDate,
  netAgainstDebt,
  pendingUntil,
  pointUnits,
  poolEarningMultiplier,
  restoreSpent,
  segmentOf,
  spendablePoints,
  tierStatus,
  tierWindowStart,
} from '@jifen/rules';
import { sql } from 'kysely';
import { type ShopperAccount, changeBalances, consumeLots, createLot, insertLot, lockShopper, spendableLots } from './accounts';
import { canonicalJson, sha256Hex } from './canonical';
import { lockReferralInviter, lowestTierId, rewardReferralInTx, rulesRefusal, type ReferralReward } from './behaviours';
import { redeemCouponsInTx } from './coupons';
import { JifenError, invalid } from './errors';
import { captureHoldInTx } from './holds';
import { type StoredAnswer, firstAnswer, idempotent, readRecord, replayed } from './idempotency';
import { type JournalEntryInput, type JournalKind, entriesFor } from './journal';
import type { Ledger, WriteContext } from './ledger';
import { getProgram } from './merchants';
import {
  type AppliedEvent,
  type OrderEventWaiting,
  type WaitingEvent,
  claimRefundId,
  lockOrderKey,
  lockOrderKeyWithProgram,
  markEventApplied,
  storeWaitingEvent,
  waitingEvents,
} from './order-events';
import { enqueue } from './outbox';
import { refreshCapOutTriggerInTx } from './capout';
import { poolFundInTx, poolOnOrderCompletedInTx, poolOnRefundInTx } from './pool-ledger';
import { lockPool } from './pool-state';
import { shopperTierStatus, tierSpends } from './shoppers';

/**
 * Orders (SPEC §3.1 "Earning", "Pending points", "Refunds"; §4; issue 3): paid, completed,
 * refunded (partial, several) and cancelled. Every event is idempotent on the merchant's id (order
 * id, refund id) and may arrive before the order it belongs to: see `order-events.ts`. Each figure
 * comes from the rules; a refund works from what the order actually earned, never by re-running
 * today's rules. docs/ledger/orders.md walks through each service.
 */

export interface OrderLine {
  sku?: string;
  category?: string;
  /** The line's amount in minor units (price × quantity, before jifen coupons and points). */
  amount: number;
  quantity?: number;
}

export interface OrderPaidInput {
  merchantId: string;
  orderId: string;
  shopperId: string;
  /** The order total before jifen coupons and points: goods + shipping + tax (minor units). */
  amount: number;
  currency: string;
  items?: OrderLine[];
  shipping?: number;
  tax?: number;
  paidAt?: Date;
  /** A hold the widget placed for this checkout: captured as the points paid. */
  holdId?: string;
  /** jifen coupon codes applied to this order: redeemed now. */
  couponCodes?: string[];
}

export interface OrderPaidResult {
  orderId: string;
  earned: {
    /** Points the order earned (after caps), before any debt they paid off. */
    points: number;
    status: EarnedStatus;
    /** The part of `points` that paid off a recorded debt. */
    debtSettled: number;
    /** When pending points become available without a `completed` (epoch ms); null when none are pending. */
    availableAt: number | null;
  };
  captured: { holdId: string; points: number; value: number } | null;
  coupons: { discount: number; coupons: Array<{ code: string; discount: number }> } | null;
  /** Events that arrived before this order and were applied now, in arrival order. */
  events: AppliedEvent[];
}

export interface OrderCompletedResult {
  orderId: string;
  status: 'completed';
  /** Pending points that became available now. */
  available: number;
  pool: { contribution: number; minted: number } | null;
  referral: ReferralReward | null;
}

export interface OrderRefundedResult {
  orderId: string;
  refundId: string;
  status: 'refunded';
  /** Points this refund took back from what the order earned. */
  clawedBack: number;
  /** The part the shopper no longer had: recorded as debt. */
  debt: number;
  /** Points used to pay that came back. */
  restored: number;
  /** Refunded so far, this refund included (minor units). */
  refundedTotal: number;
}

export interface OrderCancelledResult {
  orderId: string;
  status: 'cancelled';
  /** Earned points taken back (pending ones are simply cancelled). */
  cancelledPoints: number;
  debt: number;
  restored: number;
}

/** A timestamp a little ahead of the server's clock is skew; further ahead it is a mistake. */
const PAID_AT_SKEW_MS = 5 * 60_000;

/** The idempotency scope of `merchant.orders.paid`: its key is the order id. */
const PAID_SCOPE = 'orders.paid';

/**
 * `merchant.orders.paid` (SPEC Appendix A). Idempotent on the order id like every write (SPEC §4),
 * with the first answer kept on the order's own row (`orders.paid_response`) rather than in an
 * idempotency record: the order row is written anyway, and the record's table and key index were
 * two of the ~21 pages an order commits (docs/performance.md "The paid order's answer on its
 * row"). The order's key row is the claim: taken first, it makes a concurrent replay wait for this
 * transaction (Postgres) — on SQLite `BEGIN IMMEDIATE` already does — and once it is held, an
 * order row means the order was paid, by this very request or by another with the same id.
 */
export async function orderPaid(ledger: Ledger, input: OrderPaidInput): Promise<OrderPaidResult> {
  return ledger.write(async (tx) => {
    const { merchantId, orderId } = input;
    // The order's key row is the claim (on Postgres sent with the program's read, in one statement).
    const { version, program, key } = await lockOrderKeyWithProgram(tx, merchantId, orderId);
    const request = {
      shopperId: input.shopperId,
      amount: input.amount,
      currency: input.currency,
      items: input.items,
      shipping: input.shipping,
      tax: input.tax,
      paidAt: input.paidAt?.getTime(),
      holdId: input.holdId,
      couponCodes: input.couponCodes,
    };
    const requestJson = canonicalJson(request);
    // The order's payload hash is the request's hash, as an idempotency record would keep it.
    const requestHash = sha256Hex(requestJson);
    // A key row this transaction inserted means no event of the order came before: nothing to replay.
    const first = key.isFirstEvent ? undefined : await paidAnswerOf(tx, merchantId, orderId);
    if (first !== undefined) return replayed<OrderPaidResult>(first, { scope: PAID_SCOPE, key: orderId, request }, requestHash);
    return payOrder(tx, input, { program, version, key, requestJson, payloadHash: requestHash });
  });
}

const readPaidAnswer = prepareQuery((db, key: { merchantId: string; orderId: string }) =>
  db.selectFrom('orders').select(['payload_hash', 'paid_response']).where('merchant_id', '=', key.merchantId).where('order_id', '=', key.orderId),
);

/** The first answer of the order's paid event, if it was paid: on its row, or in the record of an order paid before migration 0004. */
async function paidAnswerOf(tx: WriteContext, merchantId: string, orderId: string): Promise<StoredAnswer | undefined> {
  const order = await readPaidAnswer.executeTakeFirst(tx.db, { merchantId, orderId });
  if (order === undefined) return undefined;
  if (order.paid_response !== null) return { request_hash: order.payload_hash, response: order.paid_response };
  return readRecord.executeTakeFirst(tx.db, { merchantId, scope: PAID_SCOPE, key: orderId });
}

async function payOrder(
  tx: WriteContext,
  input: OrderPaidInput,
  context: { program: Program; version: number; key: { isFirstEvent: boolean }; requestJson: string; payloadHash: string },
): Promise<OrderPaidResult> {
  const { merchantId, orderId, shopperId } = input;
  const { program, version, key } = context;
  if (input.currency !== program.currency) throw new JifenError('CURRENCY_MISMATCH', { expected: program.currency, received: input.currency }, 'currency');
  const paidAt = input.paidAt ?? tx.now;
  if (paidAt.getTime() > tx.now.getTime() + PAID_AT_SKEW_MS) throw invalid('paidAt', 'must not be in the future');
  const shipping = input.shipping ?? 0;
  const tax = input.tax ?? 0;
  // `amount` is the whole order, goods + shipping + tax: parts larger than it are a wrong request, not a discount.
  if (shipping > input.amount) throw invalid('shipping', 'must not exceed amount, the order total it is part of');
  if (shipping + tax > input.amount) throw invalid('tax', 'with shipping, must not exceed amount, the order total they are part of');
  const items = input.items ?? [];

  const shopper = await lockShopper(tx, merchantId, shopperId, lowestTierId(program));
  // Every event that waits for an order takes its key first, so nothing can wait for an order whose key is new.
  const waiting = key.isFirstEvent ? [] : await waitingEvents(tx, merchantId, orderId);
  // A waiting `completed` may reward a referral and, in pool mode, mint: take those locks now, in the
  // order every other write takes them (shoppers, pool, budget, journal head), so none waits in a cycle.
  if (waiting.some((event) => event.kind === 'completed')) {
    await lockReferralInviter(tx, merchantId, shopper);
    if (program.valuation.kind === 'pool') await lockPool(tx, merchantId);
  }

  const day = localDate(paidAt, program.timeZone);
  // The month of that day (`localMonth` would convert the instant again).
  const month = day.slice(0, 7);
  // A fixed-value order journals its earning: on Postgres the head is locked with the budget row, so
  // what follows reads nothing and its writes wait and go to the server as one statement with the
  // commit's (pg-deferred-writes.ts) while the shop's two locks are held.
  const lockBudget = () => lockBudgetMonth(tx, merchantId, month, { withHead: program.valuation.kind === 'fixed' });
  // A captured hold journals (the head) and, in pool mode, pays out of the pool: its locks must come
  // after the pool and the budget row, in the order every write takes them (shopper, pool, budget
  // month, journal head), or a plain order holding the budget row and waiting for the head deadlocks
  // with it. Without a hold the budget row is locked later, so its hold on the shop stays short.
  let budget: Awaited<ReturnType<typeof lockBudgetMonth>> | null = null;
  if (input.holdId !== undefined) {
    if (program.valuation.kind === 'pool') await lockPool(tx, merchantId);
    budget = await lockBudget();
  }

  const couponCodes = input.couponCodes ?? [];
  // The coupons discount the goods — the amount less its shipping and tax, as the earning counts them
  // — and, for free shipping, the shipping; never the tax, and never the order total twice over.
  const goods = Math.max(0, input.amount - shipping - tax);
  const redeemed =
    couponCodes.length === 0 ? null : await redeemCouponsInTx(tx, { merchantId, shopperId, orderId, codes: couponCodes, orderAmount: goods, shipping, program, usedAt: paidAt });
  // Coupons apply first, points to the rest (SPEC §3.1): the hold is checked against the order after its coupons.
  const captured =
    input.holdId === undefined
      ? null
      : await captureHoldInTx(tx, {
          merchantId,
          shopperId,
          holdId: input.holdId,
          orderId,
          program,
          programVersion: version,
          order: { amount: input.amount, items, couponDiscount: redeemed?.discount ?? 0, couponShippingDiscount: redeemed?.shippingDiscount ?? 0 },
          paidAt,
        });

  const earningOrder: EarningOrder = {
    amount: input.amount,
    items: items.map((line) => ({ sku: line.sku, category: line.category, amount: line.amount })),
    shipping,
    tax,
    // The goods' coupons: a free-shipping coupon discounted the shipping, which earns nothing anyway.
    couponDiscount: (redeemed?.discount ?? 0) - (redeemed?.shippingDiscount ?? 0),
    pointsPaidValue: captured?.value ?? 0,
  };
  const tiers = await tierBeforeAndAfter(tx, program, shopper, { paidAt, amount: input.amount });
  // An order paid before every order already known (its event came late) had no earlier paid order:
  // `new` (SPEC §3.1). One paid at the same instant as a known one came after it.
  const segment = segmentOf({ hasEarlierPaidOrder: shopper.firstPaidAt !== null && shopper.firstPaidAt <= paidAt.getTime(), isVip: shopper.isVip });
  budget ??= await lockBudget();

  // Pool programs earn nothing at payment: pool points are minted when the order completes (SPEC §3.2).
  let earning: Earning | null = null;
  if (program.valuation.kind === 'fixed') {
    earning = earnForOrder(program, {
      tier: tiers.before,
      segment,
      at: paidAt,
      order: earningOrder,
      // Only the daily cap reads today's earnings: without one, the count need not be read.
      earnedTodayPoints: program.earning.dailyCapPoints === null ? 0 : await earnedOnDay(tx, merchantId, shopperId, day),
      paidThisMonth: budget.gmv + input.amount,
      issuedThisMonth: budget.issuedValue,
    });
  }
  const eligible = earning?.eligible.amount ?? eligibleAmount(program, earningOrder).amount;
  const points = earning?.points ?? 0;
  const netting = netAgainstDebt(points, shopper.debt);
  const availableAt = pendingUntil(program, paidAt);
  // Without a pending window points are available at once, even from an order stamped a little ahead of jifen's clock.
  const isAvailableNow = program.earning.pendingDays === 0 || availableAt.getTime() <= tx.now.getTime();

  let lotId: string | null = null;
  if (netting.credited > 0) {
    // The lot's points reach the shopper's sums in the one shopper update below.
    lotId = await insertLot(tx, {
      merchantId,
      shopperId,
      source: 'order',
      sourceRef: orderId,
      programVersion: version,
      points: netting.credited,
      status: isAvailableNow ? 'available' : 'pending',
      earnedAt: paidAt,
      availableAt: isAvailableNow ? tx.now : availableAt,
      expiresAt: expiryFor(program.expiry, paidAt, program.timeZone),
    });
  }
  if (points > 0) await addEarnedOnDay.executeDeferred(tx.db, { merchantId, shopperId, day, points });
  await chargeBudget.executeDeferred(tx.db, { merchantId, month, gmv: input.amount, issuedValue: earning?.budgetCharge ?? 0, shortfallValue: earning?.shortfall.value ?? 0 });
  // The month's first withheld value queued the alert in its own transaction (here or at a pool
  // mint): a later order finds shortfall already recorded and has nothing to add, so it skips the
  // outbox write the dedupe key would have refused anyway — on Postgres a round trip under the
  // shop's locks that would also have sent the waiting writes early.
  if (earning?.budgetReached && budget.shortfallValue === 0) {
    await enqueue(tx, {
      merchantId,
      kind: 'alert.budget',
      dedupeKey: `alert.budget:${month}`,
      payload: { month, orderId, shopperId, withheldPoints: earning.shortfall.points, withheldValue: earning.shortfall.value },
    });
  }
  const earnedStatus: EarnedStatus = lotId === null ? 'none' : isAvailableNow ? 'available' : 'pending';
  const answerWith = (status: EarnedStatus, events: AppliedEvent[]): OrderPaidResult => ({
    orderId,
    earned: { points, status, debtSettled: netting.settled, availableAt: status === 'pending' ? availableAt.getTime() : null },
    captured: captured === null ? null : { holdId: captured.holdId, points: captured.points, value: captured.value },
    coupons: redeemed === null ? null : { discount: redeemed.discount, coupons: redeemed.coupons.map((coupon) => ({ code: coupon.code, discount: coupon.discount })) },
    events,
  });
  // Without waiting events the answer is known now and goes on the order's row as it is inserted;
  // events that waited for the order (rare: they came first) are applied to the row, then the answer follows.
  const known = waiting.length === 0 ? firstAnswer(context.requestJson, answerWith(earnedStatus, [])) : null;

  await insertPaidOrder.executeDeferred(tx.db, {
    merchantId,
    orderId,
    shopperId,
    amount: input.amount,
    currency: input.currency,
    items: JSON.stringify(items),
    shipping,
    tax,
    couponCodes: JSON.stringify(couponCodes),
    holdId: input.holdId ?? null,
    paidAt: paidAt.getTime(),
    eligibleAmount: eligible,
    earnedPoints: points,
    earnedStatus,
    pointsPaid: captured?.points ?? 0,
    pointsPaidValue: captured?.value ?? 0,
    programVersion: version,
    payloadHash: context.payloadHash,
    paidResponse: known?.response ?? null,
  });
  await recordPaidOrderOnShopper.executeDeferred(tx.db, {
    merchantId,
    shopperId,
    firstPaidAt: shopper.firstPaidAt === null ? paidAt.getTime() : Math.min(shopper.firstPaidAt, paidAt.getTime()),
    tierId: tiers.after.tierId,
    tierConfirmedAt: tiers.after.confirmedAt,
    available: lotId !== null && isAvailableNow ? netting.credited : 0,
    pending: lotId !== null && !isAvailableNow ? netting.credited : 0,
    debt: -netting.settled,
  });

  if (earning !== null && points > 0) {
    await tx.journal.appendMany(merchantId, [
      {
        shopperId,
        kind: 'earn',
        points,
        ref: orderId,
        lotId,
        programVersion: version,
        detail: {
          eligible,
          multiplier: earning.multiplierDecimal,
          tier: tiers.before.id,
          segment,
          uncapped: earning.breakdown.uncappedPoints,
          caps: earning.capsApplied.map((cap) => ({ cap: cap.cap, limitPoints: cap.limitPoints, withheldPoints: cap.withheldPoints })),
          shortfall: earning.shortfall.points,
          status: earnedStatus,
          availableAt: availableAt.getTime(),
          debtSettled: netting.settled,
        },
      },
      ...(netting.settled > 0 ? [{ shopperId, kind: 'debt.settle' as const, points: -netting.settled, ref: orderId, programVersion: version, detail: { debtLeft: netting.debtLeft } }] : []),
    ]);
  }

  if (known !== null) return known.answer;
  const events: AppliedEvent[] = [];
  for (const event of waiting) {
    events.push(await applyWaitingEvent(tx, merchantId, orderId, event));
    await markEventApplied(tx, merchantId, event.eventId);
  }
  // Waiting events may have moved the earning on (completed: available; cancelled: cancelled).
  const status = (await readOrder(tx, merchantId, orderId))?.earnedStatus ?? earnedStatus;
  const { response, answer } = firstAnswer(context.requestJson, answerWith(status, events));
  await storePaidResponse.executeWrite(tx.db, { merchantId, orderId, response });
  return answer;
}

const storePaidResponse = prepareQuery((db, answer: { merchantId: string; orderId: string; response: string }) =>
  db.updateTable('orders').set({ paid_response: answer.response }).where('merchant_id', '=', answer.merchantId).where('order_id', '=', answer.orderId),
);

/**
 * The tier the order earns at (reached before it, at payment) and the record to keep after it
 * (its spend counted: an upgrade applies at once, SPEC §3.1).
 */
async function tierBeforeAndAfter(
  tx: WriteContext,
  program: Program,
  shopper: ShopperAccount,
  order: { paidAt: Date; amount: number },
): Promise<{ before: Tier; after: { tierId: string; confirmedAt: number } }> {
  const confirmedAt = new Date(shopper.tierConfirmedAt);
  const until = new Date(Math.max(order.paidAt.getTime(), tx.now.getTime()));
  const from = tierWindowStart(program, confirmedAt.getTime() < order.paidAt.getTime() ? confirmedAt : order.paidAt);
  // Only a paid order inserts an order row, and it sets `firstPaidAt` in the same transaction: a
  // shopper without one has no spends to read (a first order is most of a growing shop's orders).
  const spends = shopper.firstPaidAt === null ? [] : await tierSpends(tx.db, shopper, { from, until });
  const record = { tierId: shopper.tierId, confirmedAt };
  const before = tierStatus(program, { record, spends, now: order.paidAt });
  const thisOrder: TierSpend = { at: order.paidAt, amount: order.amount };
  const after = tierStatus(program, { record, spends: [...spends, thisOrder], now: until });
  return { before: before.tier, after: { tierId: after.tier.id, confirmedAt: after.confirmedAt.getTime() } };
}

const readBudgetMonth = prepareLockingRead((db, key: { merchantId: string; month: string }) =>
  db.selectFrom('budget_months').select(['gmv', 'issued_value', 'shortfall_value']).where('merchant_id', '=', key.merchantId).where('month', '=', key.month),
);

const openBudgetMonth = prepareQuery((db, key: { merchantId: string; month: string }) =>
  db
    .insertInto('budget_months')
    .values({ merchant_id: key.merchantId, month: key.month, gmv: 0, issued_value: 0, shortfall_value: 0 })
    .onConflict((conflict) => conflict.columns(['merchant_id', 'month']).doNothing()),
);

/**
 * The month's budget row, locked; the month's first order opens it (a racing one waits, then reads
 * it). With `withHead` on Postgres, the merchant's journal head is read and locked in the same
 * statement, after the budget row (the lock order every write keeps: budget, then head), and handed
 * to the journal writer: one round trip fewer while the shop's budget row is held.
 */
async function lockBudgetMonth(tx: WriteContext, merchantId: string, month: string, options: { withHead: boolean }): Promise<{ gmv: number; issuedValue: number; shortfallValue: number }> {
  const withHead = options.withHead && tx.dialect === 'postgres';
  const read = async () => {
    if (!withHead) return readBudgetMonth.executeTakeFirst(tx.db, { merchantId, month });
    const row = await readBudgetMonthAndHead.executeTakeFirst(tx.db, { merchantId, month });
    if (row) tx.journal.adoptHead(merchantId, { seq: row.head_seq, hash: row.head_hash });
    return row;
  };
  let row = await read();
  if (!row) {
    await openBudgetMonth.executeWrite(tx.db, { merchantId, month });
    row = await read();
    if (!row) throw new Error('jifen invariant: a budget month exists once opened');
  }
  return { gmv: Number(row.gmv), issuedValue: Number(row.issued_value), shortfallValue: Number(row.shortfall_value) };
}

/**
 * Postgres: the budget row and the journal head, each `FOR UPDATE`. The head is a lateral subquery
 * on the locked budget row (it joins on the row's merchant), so it is read — and locked — only after
 * the budget row is: the order of locks every write keeps, which a plain join would leave to the
 * planner.
 */
const readBudgetMonthAndHead = prepareQuery(
  (_db, key: { merchantId: string; month: string }) =>
    sql<{ gmv: number; issued_value: number; shortfall_value: number; head_seq: number; head_hash: string }>`select budget.gmv, budget.issued_value, budget.shortfall_value, head.seq as head_seq, head.hash as head_hash
      from (select merchant_id, gmv, issued_value, shortfall_value from budget_months where merchant_id = ${key.merchantId} and month = ${key.month} for update) as budget
      cross join lateral (select seq, hash from journal_heads where journal_heads.merchant_id = budget.merchant_id for update) as head`,
);

const chargeBudget = prepareQuery((db, charge: { merchantId: string; month: string; gmv: number; issuedValue: number; shortfallValue: number }) =>
  db
    .updateTable('budget_months')
    .set({
      gmv: sql<number>`gmv + ${charge.gmv}`,
      issued_value: sql<number>`issued_value + ${charge.issuedValue}`,
      shortfall_value: sql<number>`shortfall_value + ${charge.shortfallValue}`,
    })
    .where('merchant_id', '=', charge.merchantId)
    .where('month', '=', charge.month),
);

const readEarnedOnDay = prepareQuery((db, key: { merchantId: string; shopperId: string; day: string }) =>
  db.selectFrom('shopper_days').select('earned_points').where('merchant_id', '=', key.merchantId).where('shopper_id', '=', key.shopperId).where('day', '=', key.day),
);

async function earnedOnDay(tx: WriteContext, merchantId: string, shopperId: string, day: string): Promise<number> {
  const row = await readEarnedOnDay.executeTakeFirst(tx.db, { merchantId, shopperId, day });
  return row ? Number(row.earned_points) : 0;
}

const addEarnedOnDay = prepareQuery((db, earned: { merchantId: string; shopperId: string; day: string; points: number }) =>
  db
    .insertInto('shopper_days')
    .values({ merchant_id: earned.merchantId, shopper_id: earned.shopperId, day: earned.day, earned_points: earned.points })
    .onConflict((conflict) =>
      conflict.columns(['merchant_id', 'shopper_id', 'day']).doUpdateSet({ earned_points: (eb) => eb('shopper_days.earned_points', '+', eb.ref('excluded.earned_points')) }),
    ),
);

const insertPaidOrder = prepareQuery(
  (
    db,
    order: {
      merchantId: string;
      orderId: string;
      shopperId: string;
      amount: number;
      currency: string;
      items: string;
      shipping: number;
      tax: number;
      couponCodes: string;
      holdId: string | null;
      paidAt: number;
      eligibleAmount: number;
      earnedPoints: number;
      earnedStatus: EarnedStatus;
      pointsPaid: number;
      pointsPaidValue: number;
      programVersion: number;
      payloadHash: string;
      paidResponse: string | null;
    },
  ) =>
    db.insertInto('orders').values({
      merchant_id: order.merchantId,
      order_id: order.orderId,
      shopper_id: order.shopperId,
      status: 'paid',
      amount: order.amount,
      currency: order.currency,
      items: order.items,
      shipping: order.shipping,
      tax: order.tax,
      coupon_codes: order.couponCodes,
      hold_id: order.holdId,
      paid_at: order.paidAt,
      completed_at: null,
      cancelled_at: null,
      eligible_amount: order.eligibleAmount,
      earned_points: order.earnedPoints,
      earned_status: order.earnedStatus,
      points_paid: order.pointsPaid,
      points_paid_value: order.pointsPaidValue,
      refunded_amount: 0,
      clawed_back: 0,
      restored_points: 0,
      pool_contribution: 0,
      minted: 0,
      program_version: order.programVersion,
      payload_hash: order.payloadHash,
      paid_response: order.paidResponse,
    }),
);

/** The shopper after a paid order: first payment, tier record, and the earned lot's points (and any debt it settled) in the sums. */
const recordPaidOrderOnShopper = prepareQuery(
  (db, paid: { merchantId: string; shopperId: string; firstPaidAt: number; tierId: string; tierConfirmedAt: number; available: number; pending: number; debt: number }) =>
    db
      .updateTable('shoppers')
      .set({
        first_paid_at: paid.firstPaidAt,
        tier_id: paid.tierId,
        tier_confirmed_at: paid.tierConfirmedAt,
        available: sql<number>`available + ${paid.available}`,
        pending: sql<number>`pending + ${paid.pending}`,
        debt: sql<number>`debt + ${paid.debt}`,
      })
      .where('merchant_id', '=', paid.merchantId)
      .where('shopper_id', '=', paid.shopperId),
);

/**
 * Applies one event that waited for this order. A refused event (a refund beyond the order, a
 * completion after a cancellation) is reported and dropped, never allowed to fail the payment: its
 * caller's next replay is evaluated afresh and gets the refusal itself.
 */
async function applyWaitingEvent(tx: WriteContext, merchantId: string, orderId: string, event: WaitingEvent): Promise<AppliedEvent> {
  const payload = event.payload;
  const ref = event.kind === 'refunded' ? String(payload.refundId) : orderId;
  try {
    switch (event.kind) {
      case 'completed': {
        const input = { merchantId, orderId, ...(typeof payload.completedAt === 'number' ? { completedAt: new Date(payload.completedAt) } : {}) };
        const plan = await planCompletion(tx, input);
        await idempotent(tx, { merchantId, scope: 'orders.completed', key: orderId, request: completedRequest(input) }, () => completeOrder(tx, plan));
        break;
      }
      case 'refunded': {
        const input = { merchantId, orderId, refundId: String(payload.refundId), amount: Number(payload.amount) };
        const plan = await planRefund(tx, input);
        await idempotent(tx, { merchantId, scope: 'orders.refunded', key: input.refundId, request: refundedRequest(input) }, () => refundOrder(tx, plan));
        break;
      }
      case 'cancelled': {
        const plan = await planCancellation(tx, { merchantId, orderId });
        await idempotent(tx, { merchantId, scope: 'orders.cancelled', key: orderId, request: {} }, () => cancelOrder(tx, plan));
        break;
      }
    }
    return { kind: event.kind, ref, outcome: 'applied' };
  } catch (error) {
    // Plans refuse before anything is written, so a refusal here leaves the transaction clean.
    if (!(error instanceof JifenError)) throw error;
    return { kind: event.kind, ref, outcome: 'refused', reason: error.reason };
  }
}

interface OrderRecord {
  merchantId: string;
  orderId: string;
  shopperId: string;
  status: OrderStatus;
  amount: number;
  items: OrderLine[];
  holdId: string | null;
  paidAt: number;
  eligibleAmount: number;
  earnedPoints: number;
  earnedStatus: EarnedStatus;
  pointsPaid: number;
  refundedAmount: number;
  clawedBack: number;
  restoredPoints: number;
  minted: number;
  programVersion: number;
}

function toOrderRecord(row: OrderRow): OrderRecord {
  return {
    merchantId: row.merchant_id,
    orderId: row.order_id,
    shopperId: row.shopper_id,
    status: row.status,
    amount: Number(row.amount),
    items: JSON.parse(row.items) as OrderLine[],
    holdId: row.hold_id,
    paidAt: Number(row.paid_at),
    eligibleAmount: Number(row.eligible_amount),
    earnedPoints: Number(row.earned_points),
    earnedStatus: row.earned_status,
    pointsPaid: Number(row.points_paid),
    refundedAmount: Number(row.refunded_amount),
    clawedBack: Number(row.clawed_back),
    restoredPoints: Number(row.restored_points),
    minted: Number(row.minted),
    programVersion: Number(row.program_version),
  };
}

async function readOrder(tx: WriteContext, merchantId: string, orderId: string): Promise<OrderRecord | null> {
  const row = await tx.db.selectFrom('orders').selectAll().where('merchant_id', '=', merchantId).where('order_id', '=', orderId).executeTakeFirst();
  return row ? toOrderRecord(row) : null;
}

/**
 * The order, or null when it has not been paid yet; the not-found answer holds the order's key lock
 * (see `lockOrderKey`), so a concurrent `paid` either came before and is seen, or waits for us.
 */
async function findOrder(tx: WriteContext, merchantId: string, orderId: string): Promise<OrderRecord | null> {
  const order = await readOrder(tx, merchantId, orderId);
  if (order !== null) return order;
  await lockOrderKey(tx, merchantId, orderId);
  return readOrder(tx, merchantId, orderId);
}

/**
 * The order an event is about, with its shopper locked, or null when it has not been paid yet. The
 * shopper lock serialises every change to the order, so the order is re-read under it.
 */
async function lockOrder(tx: WriteContext, merchantId: string, orderId: string): Promise<{ order: OrderRecord; shopper: ShopperAccount } | null> {
  const order = await findOrder(tx, merchantId, orderId);
  if (order === null) return null;
  const shopper = await lockShopper(tx, merchantId, order.shopperId);
  const fresh = await readOrder(tx, merchantId, orderId);
  if (fresh === null) throw new Error('jifen invariant: orders are never deleted');
  return { order: fresh, shopper };
}

/** Whether the shopper capped out after this pool order minted: its spend left their basis then (journal order decides). */
async function cappedOutSince(tx: WriteContext, order: OrderRecord): Promise<boolean> {
  const minted = await entrySeq(tx, order.merchantId, order.shopperId, 'pool.mint', order.orderId);
  if (minted === null) return false;
  const capOut = await tx.db
    .selectFrom('journal')
    .select('seq')
    .where('merchant_id', '=', order.merchantId)
    .where('shopper_id', '=', order.shopperId)
    .where('kind', '=', 'capout')
    .where('seq', '>', minted)
    .limit(1)
    .executeTakeFirst();
  return capOut !== undefined;
}

/** The seq of the shopper's latest journal entry of this kind for `ref`, for `compensates`. */
async function entrySeq(tx: WriteContext, merchantId: string, shopperId: string, kind: JournalKind, ref: string): Promise<number | null> {
  const entries = await entriesFor(tx.db, { merchantId, shopperId, kind, ref });
  return entries.at(-1)?.seq ?? null;
}

export interface OrderCompletedInput {
  merchantId: string;
  orderId: string;
  completedAt?: Date;
}

const completedRequest = (input: OrderCompletedInput) => ({ completedAt: input.completedAt?.getTime() });

/**
 * `merchant.orders.completed`: the order's pending points become available now (SPEC §3.1); in pool
 * mode the order's contribution goes into the pool and its points are minted (SPEC §3.2); the
 * invitee's first completed order rewards the referral. Before `paid` it waits.
 */
export async function orderCompleted(ledger: Ledger, input: OrderCompletedInput): Promise<OrderCompletedResult | OrderEventWaiting> {
  return ledger.write(async (tx) => {
    await getProgram(tx.db, input.merchantId);
    const known = await findOrder(tx, input.merchantId, input.orderId);
    if (known === null) {
      await storeWaitingEvent(tx, { merchantId: input.merchantId, orderId: input.orderId, kind: 'completed', key: input.orderId, payload: completedRequest(input) });
      return { orderId: input.orderId, status: 'waiting' as const };
    }
    return idempotent(tx, { merchantId: input.merchantId, scope: 'orders.completed', key: input.orderId, request: completedRequest(input) }, async () =>
      completeOrder(tx, await planCompletion(tx, input)),
    );
  });
}

interface CompletionPlan {
  order: OrderRecord;
  shopper: ShopperAccount;
  inviter: ShopperAccount | null;
  completedAt: Date;
  program: Program;
  version: number;
  current: { program: Program; version: number };
}

async function planCompletion(tx: WriteContext, input: OrderCompletedInput): Promise<CompletionPlan> {
  const locked = await lockOrder(tx, input.merchantId, input.orderId);
  if (locked === null) throw new JifenError('NOT_FOUND', { what: 'order' }, 'orderId');
  const { order, shopper } = locked;
  if (order.status === 'cancelled') throw new JifenError('ORDER_CANCELLED', { orderId: order.orderId }, 'orderId');
  if (order.status === 'completed') throw new JifenError('ORDER_ALREADY_COMPLETED', { orderId: order.orderId }, 'orderId');
  const inviter = await lockReferralInviter(tx, input.merchantId, shopper);
  const { program, version } = await getProgram(tx.db, input.merchantId, order.programVersion);
  const current = await getProgram(tx.db, input.merchantId);
  return { order, shopper, inviter, completedAt: input.completedAt ?? tx.now, program, version, current };
}

async function completeOrder(tx: WriteContext, plan: CompletionPlan): Promise<OrderCompletedResult> {
  const { order, shopper, program, version } = plan;
  const { merchantId, orderId, shopperId } = order;
  // Fixed mode: the order's pending lot. Pool lots are minted below; a vesting pool lot is never released here.
  const ownLots = program.valuation.kind === 'fixed' ? await orderLots(tx, order) : [];
  const pendingLots = ownLots.filter((lot) => lot.status === 'pending');
  const available = pendingLots.reduce((sum, lot) => sum + Number(lot.remaining), 0);
  if (pendingLots.length > 0) {
    await tx.db
      .updateTable('lots')
      .set({ status: 'available', available_at: tx.now.getTime() })
      .where('id', 'in', pendingLots.map((lot) => lot.id))
      .execute();
    await changeBalances(tx, merchantId, shopperId, { pending: -available, available });
  }
  let earnedStatus: EarnedStatus = ownLots.some((lot) => lot.status === 'pending' || lot.status === 'available') ? 'available' : order.earnedStatus;

  let pool: OrderCompletedResult['pool'] = null;
  if (program.valuation.kind === 'pool') {
    const context = await orderEarningContext(tx, program, shopper, order);
    const keptAmount = order.amount - order.refundedAmount;
    const minted = await poolOnOrderCompletedInTx(tx, {
      merchantId,
      shopperId,
      orderId,
      amount: keptAmount,
      items: order.items,
      program,
      programVersion: version,
      // Per line category: a campaign limited to some categories scales only their lines' mint (SPEC §3.2), as simulate does.
      multiplier: (category) => poolEarningMultiplier(program, { tier: context.tier, segment: context.segment, at: new Date(order.paidAt), ...(category === undefined ? {} : { category }) }),
      eligibleAmount: keptEligibleAmount(order.eligibleAmount, order.amount, keptAmount),
      paidAt: new Date(order.paidAt),
    });
    pool = { contribution: minted.contribution, minted: minted.minted };
    earnedStatus = minted.minted > 0 ? 'available' : 'none';
  }
  await tx.db
    .updateTable('orders')
    .set({
      status: 'completed',
      completed_at: plan.completedAt.getTime(),
      earned_status: earnedStatus,
      ...(pool === null ? {} : { pool_contribution: pool.contribution, minted: pool.minted }),
    })
    .where('merchant_id', '=', merchantId)
    .where('order_id', '=', orderId)
    .execute();
  await tx.journal.appendMany(
    merchantId,
    pendingLots.map((lot) => ({
      shopperId,
      kind: 'earn.available' as const,
      points: 0,
      ref: orderId,
      lotId: lot.id,
      programVersion: version,
      detail: { points: Number(lot.remaining), cause: 'completed' },
    })),
  );
  // A referral rewards the invitee's first order to complete that is still an order: one refunded in
  // full before it completed earns none, and leaves the reward to the next order that completes.
  const isRefundedInFull = order.amount - order.refundedAmount <= 0;
  const referral =
    plan.inviter === null || isRefundedInFull
      ? null
      : await rewardReferralInTx(tx, { merchantId, invitee: shopper, inviter: plan.inviter, orderId, program: plan.current.program, programVersion: plan.current.version });
  return { orderId, status: 'completed', available, pool, referral };
}

/**
 * Pool mode mints at completion (SPEC §3.2), so with the tier the shopper holds then (this order's
 * spend included: upgrades apply at once) and the segment the order was paid in.
 */
async function orderEarningContext(tx: WriteContext, program: Program, shopper: ShopperAccount, order: OrderRecord): Promise<{ tier: Tier; segment: Segment }> {
  const tier = (await shopperTierStatus(tx.db, program, shopper, tx.now)).tier;
  const hasEarlierPaidOrder = shopper.firstPaidAt !== null && shopper.firstPaidAt < order.paidAt;
  return { tier, segment: segmentOf({ hasEarlierPaidOrder, isVip: shopper.isVip }) };
}

export interface OrderRefundedInput {
  merchantId: string;
  orderId: string;
  refundId: string;
  /** Refunded now, in the same terms as the order's `amount` (minor units). */
  amount: number;
}

const refundedRequest = (input: OrderRefundedInput) => ({ orderId: input.orderId, amount: input.amount });

/**
 * `merchant.orders.refunded`: full or partial, several per order, each idempotent on its refund id.
 * Earned points are clawed back in proportion, cumulatively, from what the order earned: first from
 * the order's own lot (pending or available), then from the shopper's other points earliest expiry
 * first; what the shopper no longer has becomes debt. Points used to pay come back in proportion.
 */
export async function orderRefunded(ledger: Ledger, input: OrderRefundedInput): Promise<OrderRefundedResult | OrderEventWaiting> {
  return ledger.write(async (tx) => {
    await getProgram(tx.db, input.merchantId);
    const known = await findOrder(tx, input.merchantId, input.orderId);
    const payload = { refundId: input.refundId, ...refundedRequest(input) };
    if (known === null) {
      // A refund id already used on a paid order (its refund may predate the id's row, claimRefundId) is not this one.
      if ((await readRecord.executeTakeFirst(tx.db, { merchantId: input.merchantId, scope: 'orders.refunded', key: input.refundId })) !== undefined) {
        throw new JifenError('IDEMPOTENCY_CONFLICT', { scope: 'orders.refunded', key: input.refundId, field: 'orderId' }, 'orderId');
      }
      await storeWaitingEvent(tx, { merchantId: input.merchantId, orderId: input.orderId, kind: 'refunded', key: input.refundId, payload });
      return { orderId: input.orderId, refundId: input.refundId, status: 'waiting' as const };
    }
    await claimRefundId(tx, { merchantId: input.merchantId, orderId: input.orderId, refundId: input.refundId, payload });
    return idempotent(tx, { merchantId: input.merchantId, scope: 'orders.refunded', key: input.refundId, request: refundedRequest(input) }, async () =>
      refundOrder(tx, await planRefund(tx, input)),
    );
  });
}

/** What a refund or cancellation takes back and gives back, decided before anything is written. */
interface TakeBackPlan {
  order: OrderRecord;
  program: Program;
  version: number;
  /** Portions of the order's own lots (pending first), each with the lot's state. */
  fromOwnLots: Array<{ lot: LotRow; points: number }>;
  fromOtherLots: LotPortion[];
  clawback: Clawback;
  restore: Restore | null;
  refundAmount: number;
}

interface RefundPlan extends TakeBackPlan {
  refundId: string;
}

async function planRefund(tx: WriteContext, input: OrderRefundedInput): Promise<RefundPlan> {
  const locked = await lockOrder(tx, input.merchantId, input.orderId);
  if (locked === null) throw new JifenError('NOT_FOUND', { what: 'order' }, 'orderId');
  if (locked.order.status === 'cancelled') throw new JifenError('ORDER_CANCELLED', { orderId: input.orderId }, 'orderId');
  return { ...(await planTakeBack(tx, locked.order, input.amount)), refundId: input.refundId };
}

/** The lots the order's earning created: the fixed-mode lot, or a pool mint's vesting lot and its companion. */
async function orderLots(tx: WriteContext, order: OrderRecord): Promise<LotRow[]> {
  const rows = await tx.db
    .selectFrom('lots')
    .selectAll()
    .where('merchant_id', '=', order.merchantId)
    .where('source', '=', 'order')
    .where('source_ref', '=', order.orderId)
    .where('shopper_id', '=', order.shopperId)
    .orderBy('id')
    .execute();
  // Pending (still vesting) points go first: a refund takes back what the shopper cannot use yet.
  return [...rows.filter((row) => row.status === 'pending'), ...rows.filter((row) => row.status === 'available')];
}

/** Points of an own lot a take-back may take: not reserved by a hold, and not past expiry. */
function takeablePoints(lot: LotRow, now: Date): number {
  if (lot.status === 'pending') return Number(lot.remaining);
  const asRules = { id: lot.id, remaining: pointUnits(Number(lot.remaining)), expiresAt: lot.expires_at === null ? null : new Date(Number(lot.expires_at)), earnedAt: new Date(Number(lot.earned_at)) };
  return isLotSpendable(asRules, now) ? Number(lot.remaining) - Number(lot.held) : 0;
}

/**
 * The amount a pool order's mint was computed on: the order less what was refunded before it
 * completed (pool-ledger.ts records it on the order's 'pool.contribute' entry). Refunds after
 * completion burn the minted points in proportion to that amount, never to the original total.
 */
async function mintBasis(tx: WriteContext, order: OrderRecord): Promise<number> {
  const entries = await entriesFor<{ orderAmount?: unknown }>(tx.db, { merchantId: order.merchantId, shopperId: order.shopperId, kind: 'pool.contribute', ref: order.orderId });
  for (const { detail } of entries) {
    if (typeof detail.orderAmount === 'number') return detail.orderAmount;
  }
  throw new Error('jifen invariant: a minted pool order has its contribution journaled');
}

/**
 * Decides a take-back of `refundAmount` of the order: the cumulative clawback of what the order
 * earned (its minted points in pool mode), where each point comes from — the order's own lots, then
 * the shopper's other points earliest expiry first, the rest as debt — and the restore of points
 * used to pay. Refuses REFUND_EXCEEDS_ORDER (param `amount`) beyond what is left to refund.
 */
async function planTakeBack(tx: WriteContext, order: OrderRecord, refundAmount: number): Promise<TakeBackPlan> {
  const { program, version } = await getProgram(tx.db, order.merchantId, order.programVersion);
  const current = await getProgram(tx.db, order.merchantId);
  const progress = { orderAmount: order.amount, refundedBefore: order.refundedAmount, refundAmount };
  const exceeds = clawback({ ...progress, earnedPoints: 0, spendable: 0 });
  if (!exceeds.ok) throw rulesRefusal(exceeds.error, 'amount');

  const ownLots = await orderLots(tx, order);
  const ownIds = new Set(ownLots.map((lot) => lot.id));
  const ownTakeable = ownLots.reduce((sum, lot) => sum + takeablePoints(lot, tx.now), 0);
  const others = (await spendableLots(tx, order.merchantId, order.shopperId)).filter((lot) => !ownIds.has(lot.id));
  const spendable = ownTakeable + spendablePoints(others, tx.now);
  let taken: Clawback;
  if (program.valuation.kind === 'pool') {
    // Before completion nothing was minted; after it, the mint's own amount is the base.
    const basis = order.minted > 0 ? await mintBasis(tx, order) : order.amount;
    const refundedBeforeMint = order.amount - basis;
    const result = clawback({ orderAmount: basis, refundedBefore: Math.max(0, order.refundedAmount - refundedBeforeMint), refundAmount, earnedPoints: order.minted, spendable });
    if (!result.ok) throw rulesRefusal(result.error, 'amount');
    taken = result.value;
  } else {
    const result = clawback({ ...progress, earnedPoints: order.earnedPoints, spendable });
    if (!result.ok) throw rulesRefusal(result.error, 'amount');
    taken = result.value;
  }

  let left: number = taken.fromBalance;
  const fromOwnLots: TakeBackPlan['fromOwnLots'] = [];
  for (const lot of ownLots) {
    const points = Math.min(left, takeablePoints(lot, tx.now));
    if (points === 0) continue;
    fromOwnLots.push({ lot, points });
    left -= points;
  }
  const fromOtherLots = allocateLots(others, left, tx.now);
  if (!fromOtherLots.ok) throw new Error('jifen invariant: the clawback takes only spendable points');

  let restore: Restore | null = null;
  if (order.pointsPaid > 0 && order.holdId !== null) {
    const portions = await tx.db
      .selectFrom('hold_lots')
      .innerJoin('lots', 'lots.id', 'hold_lots.lot_id')
      .select(['hold_lots.lot_id', 'hold_lots.points', 'lots.expires_at'])
      .where('hold_lots.merchant_id', '=', order.merchantId)
      .where('hold_lots.hold_id', '=', order.holdId)
      .orderBy('hold_lots.lot_id')
      .execute();
    const restored = restoreSpent({
      ...progress,
      portions: portions.map((portion) => ({
        lotId: portion.lot_id,
        points: Number(portion.points),
        expiresAt: portion.expires_at === null ? null : new Date(Number(portion.expires_at)),
      })),
      now: tx.now,
      restoreGraceDays: current.program.redemption.restoreGraceDays,
      timeZone: program.timeZone,
    });
    if (!restored.ok) throw rulesRefusal(restored.error, 'amount');
    restore = restored.value;
  }
  return { order, program, version, fromOwnLots, fromOtherLots: fromOtherLots.value, clawback: taken, restore, refundAmount };
}

interface TakeBackResult {
  entries: JournalEntryInput[];
  /** Did the take-back empty and cancel the order's pending lot? */
  ownLotCancelled: boolean;
}

/**
 * Carries out a take-back: the order's own lots, then the other lots, the debt, the pool burn, and
 * the restored lots (one per original expiry; funded by the merchant in pool mode, as the spent
 * points were paid out of the pool). Returns the journal entries for the caller to write last.
 */
async function takeBack(tx: WriteContext, plan: TakeBackPlan, journal: { kind: 'refund.clawback' | 'earn.cancel'; ref: string; closesOrder: boolean }): Promise<TakeBackResult> {
  const { order, program, version, clawback: taken } = plan;
  const { merchantId, shopperId } = order;
  let ownLotCancelled = false;
  for (const { lot, points } of plan.fromOwnLots) {
    const isPending = lot.status === 'pending';
    // A refund of the whole order (or a cancellation) that empties a pending lot cancels it cleanly (SPEC §3.1).
    const cancels = isPending && Number(lot.remaining) === points && journal.closesOrder;
    ownLotCancelled ||= cancels;
    await tx.db
      .updateTable('lots')
      .set({ remaining: sql<number>`remaining - ${points}`, ...(cancels ? { status: 'cancelled' as const, release_next_at: null } : {}) })
      .where('id', '=', lot.id)
      .execute();
    await changeBalances(tx, merchantId, shopperId, isPending ? { pending: -points } : { available: -points });
  }
  if (plan.fromOtherLots.length > 0) await consumeLots(tx, merchantId, shopperId, plan.fromOtherLots);
  if (taken.debt > 0) await changeBalances(tx, merchantId, shopperId, { debt: taken.debt });
  if (program.valuation.kind === 'pool') {
    // The cap-out basis is completed spend since the last cap-out (SPEC §3.2): a refund after
    // completion takes its amount back out, even when nothing is left to burn; one before completion
    // was never in it (the completion adds the amount less the refunds so far), nor is an order a
    // cap-out has since consumed — its refund must not take the later orders' spend out.
    const basisRefund = order.status === 'completed' && !(await cappedOutSince(tx, order)) ? plan.refundAmount : 0;
    if (taken.fromBalance > 0 || basisRefund > 0) {
      await poolOnRefundInTx(tx, { merchantId, shopperId, orderId: order.orderId, program, programVersion: version, burnPoints: taken.fromBalance, refundAmount: basisRefund });
    }
  }

  const entries: JournalEntryInput[] = [];
  if (taken.points > 0) {
    const earnKind = program.valuation.kind === 'pool' ? 'pool.mint' : 'earn';
    entries.push({
      shopperId,
      kind: journal.kind,
      points: -taken.fromBalance,
      ref: journal.ref,
      lotId: plan.fromOwnLots[0]?.lot.id ?? null,
      compensates: await entrySeq(tx, merchantId, shopperId, earnKind, order.orderId),
      programVersion: version,
      detail: {
        orderId: order.orderId,
        refundAmount: plan.refundAmount,
        clawed: taken.points,
        clawedTotal: taken.clawedTotal,
        fromOrderLots: plan.fromOwnLots.map(({ lot, points }) => ({ lotId: lot.id, points })),
        fromOtherLots: plan.fromOtherLots.map((portion) => ({ lotId: portion.lotId, points: portion.points })),
        debt: taken.debt,
      },
    });
  }
  if (plan.restore !== null && plan.restore.points > 0) {
    const capture = order.holdId === null ? null : await entrySeq(tx, merchantId, shopperId, 'hold.capture', order.holdId);
    const byExpiry = new Map<number | null, { points: number; expiry: string; lots: string[] }>();
    for (const portion of plan.restore.portions) {
      const key = portion.expiresAt?.getTime() ?? null;
      const group = byExpiry.get(key) ?? { points: 0, expiry: portion.expiry, lots: [] };
      group.points += portion.points;
      group.lots.push(portion.lotId);
      byExpiry.set(key, group);
    }
    if (program.valuation.kind === 'pool') {
      await poolFundInTx(tx, { merchantId, shopperId, points: plan.restore.points, ref: journal.ref, program, programVersion: version });
    }
    for (const [expiresAt, group] of byExpiry) {
      const lotId = await createLot(tx, {
        merchantId,
        shopperId,
        source: 'restore',
        sourceRef: journal.ref,
        programVersion: version,
        points: group.points,
        status: 'available',
        earnedAt: tx.now,
        availableAt: tx.now,
        expiresAt: expiresAt === null ? null : new Date(expiresAt),
      });
      entries.push({
        shopperId,
        kind: 'refund.restore',
        points: group.points,
        ref: journal.ref,
        lotId,
        compensates: capture,
        programVersion: version,
        detail: { orderId: order.orderId, holdId: order.holdId, expiry: group.expiry, fromLots: group.lots },
      });
    }
    // The restored points change what the shopper holds: their cap-out trigger moves with it.
    if (program.valuation.kind === 'pool') await refreshCapOutTriggerInTx(tx, { merchantId, shopperId, program });
  }
  return { entries, ownLotCancelled };
}

async function refundOrder(tx: WriteContext, plan: RefundPlan): Promise<OrderRefundedResult> {
  const { order } = plan;
  const refundedTotal = order.refundedAmount + plan.refundAmount;
  const closesOrder = refundedTotal === order.amount;
  const { entries, ownLotCancelled } = await takeBack(tx, plan, { kind: 'refund.clawback', ref: plan.refundId, closesOrder });
  const restored = plan.restore?.points ?? 0;
  await tx.db
    .updateTable('orders')
    .set({
      refunded_amount: refundedTotal,
      clawed_back: order.clawedBack + plan.clawback.points,
      restored_points: order.restoredPoints + restored,
      ...(ownLotCancelled ? { earned_status: 'cancelled' as const } : {}),
    })
    .where('merchant_id', '=', order.merchantId)
    .where('order_id', '=', order.orderId)
    .execute();
  await tx.db
    .insertInto('refunds')
    .values({
      merchant_id: order.merchantId,
      refund_id: plan.refundId,
      order_id: order.orderId,
      amount: plan.refundAmount,
      points_clawed: plan.clawback.points,
      points_restored: restored,
      debt_added: plan.clawback.debt,
      created_at: tx.now.getTime(),
      payload_hash: sha256Hex(canonicalJson(refundedRequest({ merchantId: order.merchantId, orderId: order.orderId, refundId: plan.refundId, amount: plan.refundAmount }))),
    })
    .execute();
  await tx.journal.appendMany(order.merchantId, entries);
  return {
    orderId: order.orderId,
    refundId: plan.refundId,
    status: 'refunded',
    clawedBack: plan.clawback.points,
    debt: plan.clawback.debt,
    restored,
    refundedTotal,
  };
}

/**
 * `merchant.orders.cancelled`: before completion only (after it, a refund). Cancels what is left of
 * the order's earning (taken back like a refund of the rest, so points already spent become debt)
 * and restores the points used to pay. Coupons redeemed stay redeemed.
 */
export async function orderCancelled(ledger: Ledger, input: { merchantId: string; orderId: string }): Promise<OrderCancelledResult | OrderEventWaiting> {
  return ledger.write(async (tx) => {
    await getProgram(tx.db, input.merchantId);
    const known = await findOrder(tx, input.merchantId, input.orderId);
    if (known === null) {
      await storeWaitingEvent(tx, { merchantId: input.merchantId, orderId: input.orderId, kind: 'cancelled', key: input.orderId, payload: {} });
      return { orderId: input.orderId, status: 'waiting' as const };
    }
    return idempotent(tx, { merchantId: input.merchantId, scope: 'orders.cancelled', key: input.orderId, request: {} }, async () =>
      cancelOrder(tx, await planCancellation(tx, input)),
    );
  });
}

async function planCancellation(tx: WriteContext, input: { merchantId: string; orderId: string }): Promise<TakeBackPlan> {
  const locked = await lockOrder(tx, input.merchantId, input.orderId);
  if (locked === null) throw new JifenError('NOT_FOUND', { what: 'order' }, 'orderId');
  const { order } = locked;
  if (order.status === 'completed') throw new JifenError('ORDER_ALREADY_COMPLETED', { orderId: order.orderId }, 'orderId');
  if (order.status === 'cancelled') throw new JifenError('ORDER_CANCELLED', { orderId: order.orderId }, 'orderId');
  return planTakeBack(tx, order, order.amount - order.refundedAmount);
}

async function cancelOrder(tx: WriteContext, plan: TakeBackPlan): Promise<OrderCancelledResult> {
  const { order } = plan;
  const { entries } = await takeBack(tx, plan, { kind: 'earn.cancel', ref: order.orderId, closesOrder: true });
  const restored = plan.restore?.points ?? 0;
  await tx.db
    .updateTable('orders')
    .set({
      status: 'cancelled',
      cancelled_at: tx.now.getTime(),
      earned_status: order.earnedPoints > 0 ? 'cancelled' : 'none',
      clawed_back: order.clawedBack + plan.clawback.points,
      restored_points: order.restoredPoints + restored,
    })
    .where('merchant_id', '=', order.merchantId)
    .where('order_id', '=', order.orderId)
    .execute();
  await tx.journal.appendMany(order.merchantId, entries);
  return { orderId: order.orderId, status: 'cancelled', cancelledPoints: plan.clawback.points, debt: plan.clawback.debt, restored };
}
