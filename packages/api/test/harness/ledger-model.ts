import {
  type CouponTemplate,
  type Lot,
  type LotPortion,
  type Program,
  allocateLots,
  clawback,
  earnForOrder,
  exchangeEligibility,
  expiryFor,
  isLotSpendable,
  netAgainstDebt,
  pendingUntil,
  pointUnitValue,
  pointUnits,
  quoteRedemption,
  restoreSpent,
  segmentOf,
  spendablePoints,
  splitFor,
} from '@jifen/rules';
import type { Balances } from './builders';

/**
 * A model of one merchant's ledger for the model-based test, written from SPEC §3.1 and §4 and
 * computing every figure with the same `@jifen/rules` functions the services use — but with none of
 * the services' code: plain objects in memory, no SQL, no journal, no idempotency table. Each method
 * answers what the ledger should answer (a result or a refusal reason) and changes the model as the
 * ledger should change. The test runs random command sequences against both and compares every
 * shopper's balances after every step.
 *
 * Scope: a classic (fixed-value) program with one tier and no monthly budget, whose shoppers are
 * never VIP. Lot ids here are the model's own; where the ledger breaks a tie between lots by id
 * (same expiry and same earning instant), the test's clock keeps such ties from arising.
 */

export type ModelOutcome<T = unknown> = { ok: true; value: T } | { ok: false; reason: string };

interface ModelLot {
  id: string;
  shopperId: string;
  source: 'adjustment' | 'order' | 'restore';
  sourceRef: string;
  points: number;
  remaining: number;
  held: number;
  status: 'pending' | 'available' | 'expired' | 'cancelled';
  earnedAt: Date;
  availableAt: Date;
  expiresAt: Date | null;
}

interface ModelOrder {
  orderId: string;
  shopperId: string;
  amount: number;
  refunded: number;
  earnedPoints: number;
  status: 'paid' | 'completed' | 'cancelled';
  holdId: string | null;
  pointsPaid: number;
  /** An accepted `completed` / `cancelled` is remembered: its replay answers again, whatever came since. */
  completedOnce: boolean;
  cancelledOnce: boolean;
}

export interface ModelHold {
  holdId: string;
  shopperId: string;
  points: number;
  value: number;
  cartAmount: number;
  status: 'held' | 'captured' | 'released' | 'expired';
  expiresAt: Date;
  portions: LotPortion[];
}

const refuse = (reason: string): ModelOutcome<never> => ({ ok: false, reason });
const accept = <T>(value: T): ModelOutcome<T> => ({ ok: true, value });

export class LedgerModel {
  now: Date;
  readonly lots: ModelLot[] = [];
  readonly orders: ModelOrder[] = [];
  readonly holds: ModelHold[] = [];
  private readonly debts = new Map<string, number>();
  private readonly hasPaid = new Set<string>();
  private readonly refunds = new Set<string>();
  private issued = 0;
  private readonly issuedTo = new Map<string, number>();
  private lotSerial = 0;
  private idSerial = 0;

  constructor(
    readonly program: Program,
    readonly template: CouponTemplate,
    now: Date,
  ) {
    this.now = now;
  }

  /** A fresh caller id (order, refund, checkout, idempotency key), the same one for the model and the ledger. */
  nextId(prefix: string): string {
    this.idSerial += 1;
    return `${prefix}${this.idSerial}`;
  }

  balances(shopperId: string): Balances {
    const mine = this.lots.filter((lot) => lot.shopperId === shopperId);
    const sum = (lots: ModelLot[], figure: (lot: ModelLot) => number) => lots.reduce((total, lot) => total + figure(lot), 0);
    const available = mine.filter((lot) => lot.status === 'available');
    return {
      available: sum(available, (lot) => lot.remaining - lot.held),
      pending: sum(mine.filter((lot) => lot.status === 'pending'), (lot) => lot.remaining),
      held: sum(available, (lot) => lot.held),
      debt: this.debts.get(shopperId) ?? 0,
    };
  }

  /** A manual credit: an available lot under the program's expiry (adjustments.ts). */
  credit(shopperId: string, points: number, key: string): void {
    this.addLot({ shopperId, source: 'adjustment', sourceRef: key, points, status: 'available', earnedAt: this.now, availableAt: this.now });
  }

  /** `merchant.orders.paid`: capture the hold if any, then earn (pending), paying off debt first (SPEC §3.1). */
  paid(input: { orderId: string; shopperId: string; amount: number; holdId?: string }): ModelOutcome {
    let pointsPaidValue = 0;
    let pointsPaid = 0;
    if (input.holdId !== undefined) {
      const hold = this.holds.find((candidate) => candidate.holdId === input.holdId && candidate.shopperId === input.shopperId);
      if (!hold) return refuse('NOT_FOUND');
      if (hold.status !== 'held' || this.now.getTime() >= hold.expiresAt.getTime()) return refuse('HOLD_NOT_ACTIVE');
      for (const portion of hold.portions) {
        const lot = this.lot(portion.lotId);
        lot.remaining -= portion.points;
        lot.held -= portion.points;
      }
      hold.status = 'captured';
      pointsPaidValue = hold.value;
      pointsPaid = hold.points;
    }
    const earning = earnForOrder(this.program, {
      tier: this.program.earning.tiers[0]!,
      segment: segmentOf({ hasEarlierPaidOrder: this.hasPaid.has(input.shopperId), isVip: false }),
      at: this.now,
      order: { amount: input.amount, items: [], shipping: 0, tax: 0, couponDiscount: 0, pointsPaidValue },
      earnedTodayPoints: 0,
      paidThisMonth: 0,
      issuedThisMonth: 0,
    });
    const netting = netAgainstDebt(earning.points, this.debts.get(input.shopperId) ?? 0);
    this.debts.set(input.shopperId, netting.debtLeft);
    if (netting.credited > 0) {
      const availableAt = pendingUntil(this.program, this.now);
      const isAvailableNow = availableAt.getTime() <= this.now.getTime();
      this.addLot({
        shopperId: input.shopperId,
        source: 'order',
        sourceRef: input.orderId,
        points: netting.credited,
        status: isAvailableNow ? 'available' : 'pending',
        earnedAt: this.now,
        availableAt: isAvailableNow ? this.now : availableAt,
      });
    }
    this.hasPaid.add(input.shopperId);
    this.orders.push({
      orderId: input.orderId,
      shopperId: input.shopperId,
      amount: input.amount,
      refunded: 0,
      earnedPoints: earning.points,
      status: 'paid',
      holdId: input.holdId ?? null,
      pointsPaid,
      completedOnce: false,
      cancelledOnce: false,
    });
    return accept({ points: earning.points, debtSettled: netting.settled });
  }

  /** `merchant.orders.completed`: the order's pending points become available now. */
  completed(orderId: string): ModelOutcome {
    const order = this.order(orderId);
    if (order.completedOnce) return accept(null);
    if (order.status === 'cancelled') return refuse('ORDER_CANCELLED');
    for (const lot of this.ownLots(order)) {
      if (lot.status !== 'pending') continue;
      lot.status = 'available';
      lot.availableAt = this.now;
    }
    order.status = 'completed';
    order.completedOnce = true;
    return accept(null);
  }

  /** `merchant.orders.refunded` (SPEC §3.1 "Refunds"). */
  refunded(input: { orderId: string; refundId: string; amount: number }): ModelOutcome {
    if (this.refunds.has(input.refundId)) return accept(null);
    const order = this.order(input.orderId);
    if (order.status === 'cancelled') return refuse('ORDER_CANCELLED');
    const outcome = this.takeBack(order, input.amount, order.refunded + input.amount === order.amount);
    if (!outcome.ok) return outcome;
    order.refunded += input.amount;
    this.refunds.add(input.refundId);
    return outcome;
  }

  /** `merchant.orders.cancelled`: before completion, takes back the rest of the order. */
  cancelled(orderId: string): ModelOutcome {
    const order = this.order(orderId);
    if (order.cancelledOnce) return accept(null);
    if (order.status === 'completed') return refuse('ORDER_ALREADY_COMPLETED');
    const outcome = this.takeBack(order, order.amount - order.refunded, true);
    if (!outcome.ok) return outcome;
    order.status = 'cancelled';
    order.cancelledOnce = true;
    return outcome;
  }

  /**
   * What a refund of `amount` (or a cancellation of the rest) does: the cumulative clawback of what
   * the order earned, taken from the order's own lots (pending first), then the shopper's other
   * points earliest expiry first, the rest as debt; and the restore of the points used to pay, in
   * new lots keeping each spent portion's expiry (a grace period if it has passed).
   */
  private takeBack(order: ModelOrder, amount: number, closesOrder: boolean): ModelOutcome {
    if (amount > order.amount - order.refunded) return refuse('REFUND_EXCEEDS_ORDER');
    const own = this.ownLots(order);
    const ownIds = new Set(own.map((lot) => lot.id));
    const takeable = (lot: ModelLot) => (lot.status === 'pending' ? lot.remaining : isLotSpendable(this.asRulesLot(lot, lot.remaining), this.now) ? lot.remaining - lot.held : 0);
    const others = this.spendable(order.shopperId).filter((lot) => !ownIds.has(lot.id));
    const spendable = own.reduce((sum, lot) => sum + takeable(lot), 0) + spendablePoints(others, this.now);
    const taken = clawback({ orderAmount: order.amount, refundedBefore: order.refunded, refundAmount: amount, earnedPoints: order.earnedPoints, spendable });
    if (!taken.ok) return refuse(taken.error.code);

    const hold = order.holdId === null ? null : this.holds.find((candidate) => candidate.holdId === order.holdId)!;
    const restore =
      order.pointsPaid > 0 && hold
        ? restoreSpent({
            orderAmount: order.amount,
            refundedBefore: order.refunded,
            refundAmount: amount,
            portions: hold.portions.map((portion) => ({ lotId: portion.lotId, points: portion.points, expiresAt: this.lot(portion.lotId).expiresAt })),
            now: this.now,
            restoreGraceDays: this.program.redemption.restoreGraceDays,
            timeZone: this.program.timeZone,
          })
        : null;
    if (restore !== null && !restore.ok) return refuse(restore.error.code);

    let left: number = taken.value.fromBalance;
    for (const lot of [...own.filter((candidate) => candidate.status === 'pending'), ...own.filter((candidate) => candidate.status === 'available')]) {
      const points = Math.min(left, takeable(lot));
      if (points === 0) continue;
      const cancels = lot.status === 'pending' && lot.remaining === points && closesOrder;
      lot.remaining -= points;
      if (cancels) lot.status = 'cancelled';
      left -= points;
    }
    const fromOthers = allocateLots(others, left, this.now);
    if (!fromOthers.ok) throw new Error('model: a clawback takes only spendable points');
    for (const portion of fromOthers.value) this.lot(portion.lotId).remaining -= portion.points;
    this.debts.set(order.shopperId, (this.debts.get(order.shopperId) ?? 0) + taken.value.debt);

    if (restore !== null && restore.ok) {
      const byExpiry = new Map<number | null, number>();
      for (const portion of restore.value.portions) {
        const key = portion.expiresAt?.getTime() ?? null;
        byExpiry.set(key, (byExpiry.get(key) ?? 0) + portion.points);
      }
      for (const [expiresAt, points] of byExpiry) {
        this.addLot({
          shopperId: order.shopperId,
          source: 'restore',
          sourceRef: order.orderId,
          points,
          status: 'available',
          earnedAt: this.now,
          availableAt: this.now,
          expiresAt: expiresAt === null ? null : new Date(expiresAt),
        });
      }
    }
    return accept({ clawed: taken.value.points, debt: taken.value.debt, restored: restore !== null && restore.ok ? restore.value.points : 0 });
  }

  /** `shopper.checkout.reserve`: the rules' quote and split, then the earliest-expiring lots. */
  reserve(input: { holdId: string; shopperId: string; points: number; cartAmount: number }): ModelOutcome<ModelHold> {
    const spendable = this.spendable(input.shopperId);
    const quote = quoteRedemption({
      program: this.program,
      unitValue: pointUnitValue(this.program),
      cartAmount: input.cartAmount,
      couponDiscount: 0,
      availablePoints: spendablePoints(spendable, this.now),
    });
    if (!quote.ok) return refuse(quote.error.code);
    if (input.points === 0) return refuse('POINTS_OUT_OF_RANGE');
    const split = splitFor(quote.value, input.points);
    if (!split.ok) return refuse(split.error.code);
    const portions = allocateLots(spendable, input.points, this.now);
    if (!portions.ok) return refuse(portions.error.code);
    for (const portion of portions.value) this.lot(portion.lotId).held += portion.points;
    const hold: ModelHold = {
      holdId: input.holdId,
      shopperId: input.shopperId,
      points: input.points,
      value: split.value.value,
      cartAmount: input.cartAmount,
      status: 'held',
      expiresAt: new Date(this.now.getTime() + this.program.redemption.holdTtlSeconds * 1000),
      portions: portions.value,
    };
    this.holds.push(hold);
    return accept(hold);
  }

  /** `shopper.checkout.release`: the held points return; releasing twice answers the same. */
  release(holdId: string): ModelOutcome {
    const hold = this.holds.find((candidate) => candidate.holdId === holdId)!;
    if (hold.status === 'released') return accept(null);
    if (hold.status !== 'held') return refuse('HOLD_NOT_ACTIVE');
    this.unhold(hold);
    hold.status = 'released';
    return accept(null);
  }

  /** `shopper.coupons.exchange`: the rules' eligibility, then the points from the earliest-expiring lots. */
  exchange(shopperId: string): ModelOutcome {
    const spendable = this.spendable(shopperId);
    const check = exchangeEligibility({
      template: this.template,
      now: this.now,
      issuedCount: this.issued,
      shopperIssuedCount: this.issuedTo.get(shopperId) ?? 0,
      availablePoints: spendablePoints(spendable, this.now),
    });
    if (!check.ok) return refuse(check.error.code);
    const portions = allocateLots(spendable, check.value.pointsCost, this.now);
    if (!portions.ok) return refuse(portions.error.code);
    for (const portion of portions.value) this.lot(portion.lotId).remaining -= portion.points;
    this.issued += 1;
    this.issuedTo.set(shopperId, (this.issuedTo.get(shopperId) ?? 0) + 1);
    return accept(null);
  }

  /**
   * `jifen sweep` (runSweep), in its order: holds past their expiry release their points, pending
   * points past their window become available, then every lot past its expiry loses its unheld part.
   */
  sweep(): void {
    const at = this.now.getTime();
    for (const hold of this.holds) {
      if (hold.status !== 'held' || hold.expiresAt.getTime() > at) continue;
      this.unhold(hold);
      hold.status = 'expired';
    }
    for (const lot of this.lots) {
      if (lot.status === 'pending' && lot.availableAt.getTime() <= at) lot.status = 'available';
    }
    for (const lot of this.lots) {
      if ((lot.status !== 'available' && lot.status !== 'pending') || lot.expiresAt === null || lot.expiresAt.getTime() > at || lot.remaining <= lot.held) continue;
      lot.remaining = lot.held;
      if (lot.held === 0) lot.status = 'expired';
    }
  }

  /** The next instant something expires (a lot's unheld points), or null. */
  nextExpiry(): Date | null {
    const instants = this.lots
      .filter((lot) => (lot.status === 'available' || lot.status === 'pending') && lot.remaining > lot.held && lot.expiresAt !== null)
      .map((lot) => lot.expiresAt!.getTime());
    return instants.length === 0 ? null : new Date(Math.min(...instants));
  }

  private unhold(hold: ModelHold): void {
    for (const portion of hold.portions) this.lot(portion.lotId).held -= portion.points;
  }

  /** The shopper's available lots with unreserved points, as the rules see them (`remaining` = the unheld part). */
  private spendable(shopperId: string): Lot[] {
    return this.lots
      .filter((lot) => lot.shopperId === shopperId && lot.status === 'available' && lot.remaining > lot.held)
      .map((lot) => this.asRulesLot(lot, lot.remaining - lot.held));
  }

  private asRulesLot(lot: ModelLot, remaining: number): Lot {
    return { id: lot.id, remaining: pointUnits(remaining), expiresAt: lot.expiresAt, earnedAt: lot.earnedAt };
  }

  private ownLots(order: ModelOrder): ModelLot[] {
    return this.lots.filter((lot) => lot.source === 'order' && lot.sourceRef === order.orderId && (lot.status === 'pending' || lot.status === 'available'));
  }

  private order(orderId: string): ModelOrder {
    const order = this.orders.find((candidate) => candidate.orderId === orderId);
    if (!order) throw new Error(`model: unknown order ${orderId}`);
    return order;
  }

  private lot(lotId: string): ModelLot {
    const lot = this.lots.find((candidate) => candidate.id === lotId);
    if (!lot) throw new Error(`model: unknown lot ${lotId}`);
    return lot;
  }

  private addLot(lot: Omit<ModelLot, 'id' | 'remaining' | 'held' | 'expiresAt'> & { expiresAt?: Date | null }): void {
    this.lotSerial += 1;
    this.lots.push({
      ...lot,
      id: `lot-${String(this.lotSerial).padStart(6, '0')}`,
      remaining: lot.points,
      held: 0,
      expiresAt: lot.expiresAt === undefined ? expiryFor(this.program.expiry, lot.earnedAt, this.program.timeZone) : lot.expiresAt,
    });
  }
}
