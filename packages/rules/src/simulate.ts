import { type Minor, type PointUnits, type Ratio, formatRatio, minor, multiplyCeil, pointUnits, ratio, toSafeNumber } from './arithmetic';
import {
  type EarningOrder,
  type EarningOrderLine,
  type Segment,
  capEarning,
  earnForOrder,
  eligibleAmount,
  keptEligibleAmount,
  pendingUntil,
  poolEarningMultiplier,
  segmentOf,
} from './earning';
import { expiryFor, expiryLocalDate } from './expiry';
import { type Lot, allocateLots } from './lots';
import {
  burnForUse,
  convertCapOut,
  expireBurn,
  formatPoolPrice,
  isCapOutDue,
  mintForOrder,
  poolPrice,
  poolValuationOf,
  refundBurn,
} from './pool';
import type { PoolUse, Program, Tier } from './program';
import { type SpentPortion, clawback, netAgainstDebt, restoreSpent } from './refunds';
import { releaseScheduleFor, releasedAt } from './release';
import { assert } from './result';
import { concentrationThreshold, growthWindowStart, supplyThrottle } from './risk';
import { type TierRecord, type TierSpend, tierStatus, tierWindowStart } from './tiers';
import { type LocalDate, addDays, endOfLocalDay, localDate } from './time';
import { EMPTY_POOL, type PoolState, pointUnitValue, valueOfPoints } from './valuation';

/**
 * `simulate(program, events)`: a pure replay of a shop's history under a program (SPEC §3 "try a
 * rule change on past orders"; the console and `jifen simulate` call it). It runs the same rules
 * the ledger runs — earning.ts, lots.ts, expiry.ts, refunds.ts, pool.ts, release.ts, risk.ts — on
 * an in-memory book and reports one row per local day in the merchant's time zone.
 * docs/rules.md (Simulating a program) states each figure and each simplification with an example.
 */

interface EventBase {
  at: Date;
}

export type SimulationEvent =
  | (EventBase & {
      kind: 'paid';
      orderId: string;
      shopperId: string;
      /** Order total before jifen coupons and points (minor units), as `merchant.orders.paid`. */
      amount: number;
      items?: readonly EarningOrderLine[];
      shipping?: number;
      tax?: number;
      couponDiscount?: number;
      pointsPaidValue?: number;
      isVip?: boolean;
    })
  | (EventBase & { kind: 'completed'; orderId: string })
  | (EventBase & { kind: 'refunded'; orderId: string; amount: number })
  /** Points used at checkout; `orderId` links them to the order they paid for (restored on refund). */
  | (EventBase & { kind: 'pointsUsed'; shopperId: string; points: number; orderId?: string })
  | (EventBase & { kind: 'couponExchanged'; shopperId: string; points: number })
  /** An invitee's first order completed: counts toward the inviter's release boost (pool mode). */
  | (EventBase & { kind: 'referralCompleted'; inviterId: string });

export interface SimulationOptions {
  /** Extend the series to this instant's local day (days pass: pending points mature, lots expire). */
  until?: Date;
}

export type SimulationAlert = 'monthlyBudgetReached' | 'supplyThrottled';

/** What a day and the whole replay both count. */
export interface SimulationFlows {
  /** Order amounts paid (minor units). */
  gmvMinor: Minor;
  refundsMinor: Minor;
  /** Points granted: classic at payment (pending included), pool at the mint. */
  issued: PointUnits;
  /** Their value when granted (rounded down). */
  issuedValueMinor: Minor;
  /** Points used at checkout, exchanged for coupons and converted at cap-out. */
  redeemed: PointUnits;
  /** What the redeemed points were worth to the shopper (rounded down). */
  redeemedValueMinor: Minor;
  expired: PointUnits;
  /** Earned points taken back by refunds (the part already spent becomes debt). */
  clawedBack: PointUnits;
  /** Points used to pay that refunds gave back. */
  restored: PointUnits;
  /** Points the monthly budget or the supply throttle held back. */
  withheld: PointUnits;
  /** The program's cost: classic, the value of points issued; pool, contributions. */
  costMinor: Minor;
  /** `costMinor / gmvMinor` as a decimal to 4 places ("0.0500"), or null without sales. */
  costShareOfGmv: string | null;
}

export interface SimulationDay extends SimulationFlows {
  date: LocalDate;
  /**
   * The cost share from the first day through this one. Pool costs land when orders complete, days
   * after the sale, so the running figure is the one to chart.
   */
  costShareOfGmvToDate: string | null;
  /** Outstanding points at the day's end (pending, locked and available) and their value. */
  liability: { points: PointUnits; minor: Minor };
  /** Pool mode: the pool at the day's end, its price per whole point in minor units (4 places), holders flagged for review. */
  pool: { amount: Minor; supply: PointUnits; price: string; concentrationFlags: number } | null;
  alerts: SimulationAlert[];
}

export interface SimulationTotals extends SimulationFlows {
  /** Debt (point units) refunds left with shoppers who had already spent the points. */
  debt: PointUnits;
  capOuts: number;
}

export interface Simulation {
  days: SimulationDay[];
  totals: SimulationTotals;
  /** Events naming an order the replay never saw paid, or repeating one already paid. */
  ignoredEvents: number;
}

interface BookLot {
  id: string;
  shopperId: string;
  /** Points the lot was credited with (the staged release schedule is over these). */
  points: number;
  remaining: number;
  earnedAt: Date;
  expiresAt: Date | null;
  /** The order whose pending points these are, until they become available. */
  pendingOrderId: string | null;
}

interface BookOrder {
  id: string;
  shopperId: string;
  paidAt: Date;
  /** The local day it was paid: its daily cap and its month's budget are the ones it is charged to. */
  paidOn: LocalDate;
  amount: number;
  earningOrder: EarningOrder;
  tier: Tier;
  segment: Segment;
  refunded: number;
  isCompleted: boolean;
  /** What the order earned (classic) or minted (pool): refunds claw back from this. */
  earnedPoints: number;
  lotId: string | null;
  spentPortions: SpentPortion[];
}

interface BookShopper {
  id: string;
  lots: BookLot[];
  debt: number;
  hasPaid: boolean;
  spends: TierSpend[];
  tierRecord: TierRecord | null;
  /** Pool mode: completed spend since the last cap-out (SPEC §3.2). */
  basis: number;
  completedReferrals: number;
  /** Points earned (classic) or minted (pool) per local day of payment, for the daily cap. */
  earnedOn: Map<LocalDate, number>;
}

type Counter = Exclude<keyof SimulationDay, 'date' | 'costShareOfGmv' | 'costShareOfGmvToDate' | 'liability' | 'pool' | 'alerts'>;
const COUNTERS: readonly Counter[] = [
  'gmvMinor',
  'refundsMinor',
  'issued',
  'issuedValueMinor',
  'redeemed',
  'redeemedValueMinor',
  'expired',
  'clawedBack',
  'restored',
  'withheld',
  'costMinor',
];

/** Pruning a shopper's spends costs a time-zone lookup, so it waits until there are a few to drop. */
const SPENDS_BEFORE_PRUNING = 32;

/** Replays `events` under `program` and reports per local day. Pure: the same input, the same series. */
export function simulate(program: Program, events: readonly SimulationEvent[], options: SimulationOptions = {}): Simulation {
  const book = new Book(program);
  // Array sort is stable: events at the same instant keep the order they were given in.
  const ordered = [...events].sort((a, b) => a.at.getTime() - b.at.getTime());
  const first = ordered[0]?.at ?? options.until;
  if (first === undefined) return { days: [], totals: book.totals(), ignoredEvents: 0 };
  const lastEvent = ordered.at(-1)?.at ?? first;
  const last = options.until !== undefined && options.until > lastEvent ? options.until : lastEvent;
  const timeZone = program.timeZone;

  const days: SimulationDay[] = [];
  let next = 0;
  for (let date = localDate(first, timeZone); date <= localDate(last, timeZone); date = addDays(date, 1)) {
    const dayEnd = endOfLocalDay(date, timeZone);
    book.startDay(date);
    for (; next < ordered.length && ordered[next]!.at < dayEnd; next++) book.apply(ordered[next]!);
    book.endDay(date, dayEnd);
    days.push(book.snapshot());
  }
  return { days, totals: book.totals(), ignoredEvents: book.ignoredEvents };
}

class Book {
  private readonly isPool: boolean;
  private readonly timeZone: string;
  private pool: PoolState = EMPTY_POOL;
  /** (instant, supply) after every change, for the trailing supply-growth window. */
  private readonly supplyHistory: { at: number; supply: number }[] = [{ at: Number.NEGATIVE_INFINITY, supply: 0 }];
  private readonly shoppers = new Map<string, BookShopper>();
  private readonly orders = new Map<string, BookOrder>();
  private readonly lotsExpiringOn = new Map<LocalDate, BookLot[]>();
  private readonly ordersMaturingOn = new Map<LocalDate, BookOrder[]>();
  /** Points used for an order whose `paid` event comes later (a checkout reserves before it pays). */
  private readonly spentBeforePaid = new Map<string, SpentPortion[]>();
  /** Per local month: the GMV paid in it and the value issued against its budget. */
  private readonly months = new Map<string, { paidMinor: number; issuedMinor: number }>();
  private lotCount = 0;
  private date: LocalDate = '';
  private day: Record<Counter, number> = zeroCounts();
  private alerts: SimulationAlert[] = [];
  private readonly sums: Record<Counter, number> = zeroCounts();
  private capOuts = 0;
  ignoredEvents = 0;

  constructor(private readonly program: Program) {
    this.isPool = program.valuation.kind === 'pool';
    this.timeZone = program.timeZone;
  }

  startDay(date: LocalDate): void {
    this.date = date;
    this.day = zeroCounts();
    this.alerts = [];
  }

  apply(event: SimulationEvent): void {
    switch (event.kind) {
      case 'paid':
        return this.paid(event);
      case 'completed': {
        const order = this.knownOrder(event.orderId);
        if (order !== undefined) this.complete(order, event.at);
        return;
      }
      case 'refunded': {
        const order = this.knownOrder(event.orderId);
        if (order !== undefined) this.refund(order, event.amount, event.at);
        return;
      }
      case 'pointsUsed':
        return this.use(this.shopper(event.shopperId), event.points, 'checkout', event.at, event.orderId);
      case 'couponExchanged':
        return this.use(this.shopper(event.shopperId), event.points, 'coupon', event.at);
      case 'referralCompleted':
        this.shopper(event.inviterId).completedReferrals += 1;
        return;
    }
  }

  /** The day's end: pending points mature, lots expire, then (pool) the cap-out sweep. */
  endDay(date: LocalDate, dayEnd: Date): void {
    for (const order of this.ordersMaturingOn.get(date) ?? []) this.complete(order, dayEnd);
    this.ordersMaturingOn.delete(date);
    for (const lot of this.lotsExpiringOn.get(date) ?? []) this.expire(lot);
    this.lotsExpiringOn.delete(date);
    if (this.isPool) this.sweepCapOuts(dayEnd);
  }

  snapshot(): SimulationDay {
    const counts = this.day;
    for (const counter of COUNTERS) this.sums[counter] += counts[counter];
    const points = this.isPool ? this.pool.supply : this.outstandingPoints();
    return {
      date: this.date,
      ...brandCounts(counts),
      costShareOfGmv: shareOf(counts.costMinor, counts.gmvMinor),
      costShareOfGmvToDate: shareOf(this.sums.costMinor, this.sums.gmvMinor),
      liability: { points: pointUnits(points), minor: valueOfPoints(points, this.unitValue()) },
      pool: this.isPool ? this.poolSnapshot() : null,
      alerts: this.alerts,
    };
  }

  private poolSnapshot(): NonNullable<SimulationDay['pool']> {
    const { concentrationReview } = poolValuationOf(this.program).risk;
    // isHoldingConcentrated's own test, with the threshold worked out once for every holder.
    const threshold = concentrationThreshold(this.pool.supply, concentrationReview);
    let concentrationFlags = 0;
    for (const shopper of this.shoppers.values()) if (this.pool.supply > 0 && holdingsOf(shopper) > threshold) concentrationFlags++;
    return { amount: this.pool.amount, supply: this.pool.supply, price: formatPoolPrice(this.program, this.pool), concentrationFlags };
  }

  totals(): SimulationTotals {
    let debt = 0;
    for (const shopper of this.shoppers.values()) debt += shopper.debt;
    return {
      ...brandCounts(this.sums),
      costShareOfGmv: shareOf(this.sums.costMinor, this.sums.gmvMinor),
      debt: pointUnits(debt),
      capOuts: this.capOuts,
    };
  }

  /** The order an event names, or undefined (counted as ignored) when the replay never saw it paid. */
  private knownOrder(orderId: string): BookOrder | undefined {
    const order = this.orders.get(orderId);
    if (order === undefined) this.ignoredEvents++;
    return order;
  }

  private paid(event: Extract<SimulationEvent, { kind: 'paid' }>): void {
    if (this.orders.has(event.orderId)) {
      this.ignoredEvents++;
      return;
    }
    const shopper = this.shopper(event.shopperId);
    const tier = this.tierOf(shopper, event.at);
    const { amount, items, shipping, tax, couponDiscount, pointsPaidValue } = event;
    const earningOrder: EarningOrder = { amount, items, shipping, tax, couponDiscount, pointsPaidValue };
    const order: BookOrder = {
      id: event.orderId,
      shopperId: shopper.id,
      paidAt: event.at,
      paidOn: this.date,
      amount: event.amount,
      earningOrder,
      tier,
      segment: segmentOf({ hasEarlierPaidOrder: shopper.hasPaid, isVip: event.isVip ?? false }),
      refunded: 0,
      isCompleted: false,
      earnedPoints: 0,
      lotId: null,
      spentPortions: this.spentBeforePaid.get(event.orderId) ?? [],
    };
    this.spentBeforePaid.delete(event.orderId);
    this.orders.set(order.id, order);
    shopper.hasPaid = true;
    // Qualifying spend is the order's amount, as the ledger counts it (api shoppers.ts, orders.ts).
    shopper.spends.push({ at: event.at, amount: event.amount });
    this.day.gmvMinor += event.amount;
    this.monthOf(this.date).paidMinor += event.amount;

    if (!this.isPool) this.earn(order, shopper);
    const maturesAt = pendingUntil(this.program, event.at);
    if (maturesAt.getTime() <= event.at.getTime()) return this.complete(order, event.at);
    // pendingUntil is the end of a local day: the day-end step of that day matures the order.
    pushTo(this.ordersMaturingOn, localDate(new Date(maturesAt.getTime() - 1), this.timeZone), order);
  }

  /**
   * The shopper's tier at `at` (tiers.ts), kept as the ledger keeps it: a record and the spends that
   * can still matter to it. tierStatus replays every spend since the record was confirmed, so the
   * lowest tier, which is never reviewed, is re-confirmed at each order, and spends from before the
   * record's window are dropped: without both a long history replays in quadratic time.
   */
  private tierOf(shopper: BookShopper, at: Date): Tier {
    const status = tierStatus(this.program, { record: shopper.tierRecord, spends: shopper.spends, now: at });
    const isLowest = status.tier.id === this.program.earning.tiers[0]?.id;
    const confirmedAt = isLowest ? at : status.confirmedAt;
    shopper.tierRecord = { tierId: status.tier.id, confirmedAt };
    if (shopper.spends.length >= SPENDS_BEFORE_PRUNING) {
      const opens = tierWindowStart(this.program, confirmedAt).getTime();
      shopper.spends = shopper.spends.filter((spend) => spend.at.getTime() >= opens);
    }
    return status.tier;
  }

  /** Classic earning at payment: pending points in their own lot (SPEC §3.1). */
  private earn(order: BookOrder, shopper: BookShopper): void {
    const month = this.monthOf(order.paidOn);
    const earning = earnForOrder(this.program, {
      order: order.earningOrder,
      tier: order.tier,
      segment: order.segment,
      at: order.paidAt,
      earnedTodayPoints: this.earnedOn(shopper, order.paidOn),
      paidThisMonth: month.paidMinor,
      issuedThisMonth: month.issuedMinor,
    });
    month.issuedMinor += earning.budgetCharge;
    this.addEarned(shopper, order.paidOn, earning.points);
    order.earnedPoints = earning.points;
    this.day.issued += earning.points;
    this.day.issuedValueMinor += earning.value;
    this.day.costMinor += earning.value;
    this.day.withheld += earning.shortfall.points;
    if (earning.budgetReached) this.alert('monthlyBudgetReached');
    const { credited, debtLeft } = netAgainstDebt(earning.points, shopper.debt);
    shopper.debt = debtLeft;
    if (credited > 0) order.lotId = this.addLot(shopper, credited, order.paidAt, expiryFor(this.program.expiry, order.paidAt, this.timeZone), order.id).id;
  }

  /** Completion (the `completed` event or the end of the pending window, whichever first). */
  private complete(order: BookOrder, at: Date): void {
    if (order.isCompleted) return;
    order.isCompleted = true;
    const shopper = this.shopper(order.shopperId);
    if (!this.isPool) {
      const lot = shopper.lots.find((candidate) => candidate.id === order.lotId);
      if (lot !== undefined) lot.pendingOrderId = null;
      return;
    }
    this.mint(order, shopper, at);
  }

  /** Pool mode (SPEC §3.2): the completed order contributes and mints, under caps, budget and throttle. */
  private mint(order: BookOrder, shopper: BookShopper, at: Date): void {
    const program = this.program;
    // SPEC §3.2: an order of amount A contributes a share of A, as the ledger has it — its amount,
    // less what was refunded before completion; the lines scale with it.
    const contributed = Math.max(0, order.amount - order.refunded);
    const items = (order.earningOrder.items ?? []).map((item) => ({ category: item.category ?? '', amount: item.amount }));
    const poolOrder = { amount: contributed, ...(items.length > 0 ? { items } : {}) };
    // The tier the shopper holds at completion, this order's spend included, as the ledger mints
    // (api orders.ts orderEarningContext); the segment is the one the order was paid in.
    const tier = this.tierOf(shopper, at);
    const multiplier = (category: string | undefined) =>
      poolEarningMultiplier(program, { tier, segment: order.segment, at: order.paidAt, ...(category ? { category } : {}) });
    const uncapped = mintForOrder(program, { pool: this.pool, order: poolOrder, multiplier });

    // The paid day's cap and the paid month's budget, whose GMV holds the order (as the ledger charges them).
    const month = this.monthOf(order.paidOn);
    const capped = capEarning(program, {
      points: uncapped.minted,
      unitValue: uncapped.price,
      // The per-order cap on what the order kept, as the ledger's completion caps it.
      eligible: keptEligibleAmount(eligibleAmount(program, order.earningOrder).amount, order.amount, contributed),
      earnedTodayPoints: this.earnedOn(shopper, order.paidOn),
      paidThisMonth: month.paidMinor,
      issuedThisMonth: month.issuedMinor,
    });
    const risk = poolValuationOf(program).risk;
    const throttle = supplyThrottle({
      supplyAtWindowStart: this.supplyAt(growthWindowStart(at, risk)),
      supply: this.pool.supply,
      maxSupplyGrowth: risk.maxSupplyGrowth,
    });
    const allowed = throttle.allowance === null ? capped.points : Math.min(capped.points, throttle.allowance);
    const mint = mintForOrder(program, { pool: this.pool, order: poolOrder, multiplier, maxMintedUnits: allowed });

    this.setPool(mint.pool, at);
    const value = valueOfPoints(mint.minted, mint.price);
    month.issuedMinor += toSafeNumber(multiplyCeil(mint.minted, mint.price));
    this.addEarned(shopper, order.paidOn, mint.minted);
    shopper.basis += contributed;
    order.earnedPoints = mint.minted;
    this.day.issued += mint.minted;
    this.day.issuedValueMinor += value;
    this.day.costMinor += mint.contribution;
    this.day.withheld += capped.shortfall.points + (capped.points - mint.minted);
    if (capped.budgetReached) this.alert('monthlyBudgetReached');
    if (mint.minted < capped.points || (throttle.isThrottled && capped.points > 0)) this.alert('supplyThrottled');

    const { credited, settled, debtLeft } = netAgainstDebt(mint.minted, shopper.debt);
    shopper.debt = debtLeft;
    // Minted points that pay off a debt leave the supply at once; their contribution stays.
    if (settled > 0) this.setPool(refundBurn(this.pool, settled).pool, at);
    if (credited > 0) order.lotId = this.addLot(shopper, credited, at, expiryFor(program.expiry, at, this.timeZone), null).id;
  }

  private refund(order: BookOrder, requested: number, at: Date): void {
    const amount = Math.min(requested, order.amount - order.refunded);
    if (amount <= 0) {
      this.ignoredEvents++;
      return;
    }
    const shopper = this.shopper(order.shopperId);
    this.day.refundsMinor += amount;
    shopper.spends.push({ at, amount: -amount });
    if (this.isPool && !order.isCompleted) {
      order.refunded += amount;
      return;
    }
    // Pending points of the order are cancelled cleanly; otherwise the clawback takes what the shopper
    // holds (in pool mode locked points too: they are the shopper's, only not yet usable).
    const pendingLot = shopper.lots.find((lot) => lot.id === order.lotId && lot.pendingOrderId !== null);
    const sources = pendingLot !== undefined ? [pendingLot] : this.isPool ? shopper.lots : this.spendableLots(shopper);
    const holds = (lot: BookLot) => (pendingLot !== undefined || this.isPool ? lot.remaining : this.spendableIn(lot, shopper, at));
    const taken = clawback({
      earnedPoints: order.earnedPoints,
      spendable: sources.reduce((sum, lot) => sum + holds(lot), 0),
      orderAmount: order.amount,
      refundedBefore: order.refunded,
      refundAmount: amount,
    });
    assert(taken.ok, 'the refund was limited to the refundable amount');
    this.takeFromLots(shopper, sources, taken.value.fromBalance, at, holds);
    if (this.isPool) {
      this.setPool(refundBurn(this.pool, taken.value.fromBalance).pool, at);
      shopper.basis = Math.max(0, shopper.basis - amount);
    }
    shopper.debt += taken.value.debt;
    this.day.clawedBack += taken.value.points;

    if (!this.isPool) {
      const restore = restoreSpent({
        portions: order.spentPortions,
        orderAmount: order.amount,
        refundedBefore: order.refunded,
        refundAmount: amount,
        now: at,
        restoreGraceDays: this.program.redemption.restoreGraceDays,
        timeZone: this.timeZone,
      });
      assert(restore.ok, 'the refund was limited to the refundable amount');
      for (const portion of restore.value.portions) this.addLot(shopper, portion.points, at, portion.expiresAt, null);
      this.day.restored += restore.value.points;
    }
    order.refunded += amount;
  }

  /** Points used at checkout or exchanged for a coupon: as many as the shopper can use, earliest expiry first. */
  private use(shopper: BookShopper, requested: number, use: PoolUse, at: Date, orderId?: string): void {
    const lots = this.spendableLots(shopper);
    const spendable = lots.reduce((sum, lot) => sum + this.spendableIn(lot, shopper, at), 0);
    const points = Math.min(requested, spendable);
    const taken = this.takeFromLots(shopper, lots, points, at, (lot) => this.spendableIn(lot, shopper, at));
    const unitValue = this.unitValue();
    this.day.redeemed += points;
    this.day.redeemedValueMinor += valueOfPoints(points, unitValue);
    if (this.isPool) this.setPool(burnForUse(this.pool, points, use, poolValuationOf(this.program).retention).pool, at);
    if (orderId === undefined) return;
    const order = this.orders.get(orderId);
    if (order === undefined) this.spentBeforePaid.set(orderId, [...(this.spentBeforePaid.get(orderId) ?? []), ...taken]);
    else if (order.shopperId === shopper.id) order.spentPortions.push(...taken);
  }

  private expire(lot: BookLot): void {
    this.day.expired += lot.remaining;
    if (this.isPool) this.setPool(expireBurn(this.pool, lot.remaining).pool, lot.expiresAt ?? new Date(0));
    lot.remaining = 0;
    this.compact(this.shopper(lot.shopperId));
  }

  /** SPEC §3.2 cap-out, swept once a day like `jifen sweep`: holdings worth capMultiple × basis become a coupon. */
  private sweepCapOuts(at: Date): void {
    const valuation = poolValuationOf(this.program);
    let price = poolPrice(this.program, this.pool);
    for (const shopper of this.shoppers.values()) {
      const holdings = holdingsOf(shopper);
      if (holdings === 0 || shopper.basis === 0) continue;
      if (!isCapOutDue({ holdings, basis: shopper.basis, capMultiple: valuation.capMultiple, price })) continue;
      const conversion = convertCapOut(this.pool, holdings, valuation.retention);
      this.day.redeemed += holdings;
      this.day.redeemedValueMinor += conversion.couponValue;
      this.setPool(conversion.pool, at);
      for (const lot of shopper.lots) lot.remaining = 0;
      this.compact(shopper);
      shopper.basis = conversion.basis;
      this.capOuts++;
      price = poolPrice(this.program, this.pool);
    }
  }

  /** Takes `points` from `lots` earliest expiry first (lots.ts), each within what `available` says it holds. */
  private takeFromLots(shopper: BookShopper, lots: readonly BookLot[], points: number, at: Date, available: (lot: BookLot) => number): SpentPortion[] {
    const views: Lot[] = lots.map((lot) => ({ id: lot.id, remaining: pointUnits(available(lot)), expiresAt: lot.expiresAt, earnedAt: lot.earnedAt }));
    const allocation = allocateLots(views, points, at);
    assert(allocation.ok, 'never takes more than the lots hold');
    const portions = allocation.value.map((portion) => {
      const lot = lots.find((candidate) => candidate.id === portion.lotId);
      assert(lot !== undefined, 'an allocation names one of the lots');
      lot.remaining -= portion.points;
      return { lotId: lot.id, points: portion.points, expiresAt: lot.expiresAt };
    });
    this.compact(shopper);
    return portions;
  }

  /**
   * Lots the shopper may spend from: available, not pending. Expired lots are already empty: lots
   * expire at the end of a local day and the day-end step burns them before the next day's events.
   */
  private spendableLots(shopper: BookShopper): BookLot[] {
    return shopper.lots.filter((lot) => lot.pendingOrderId === null);
  }

  /** What a lot lets the shopper spend: its remainder, less what staged release still locks (pool mode). */
  private spendableIn(lot: BookLot, shopper: BookShopper, at: Date): number {
    if (!this.isPool) return lot.remaining;
    const schedule = releaseScheduleFor(poolValuationOf(this.program).release, { minted: lot.points, mintedAt: lot.earnedAt }, shopper.completedReferrals);
    const locked = lot.points - releasedAt({ ...schedule, now: at });
    return Math.max(0, lot.remaining - locked);
  }

  private addLot(shopper: BookShopper, points: number, earnedAt: Date, expiresAt: Date | null, pendingOrderId: string | null): BookLot {
    const lot: BookLot = { id: `lot-${++this.lotCount}`, shopperId: shopper.id, points, remaining: points, earnedAt, expiresAt, pendingOrderId };
    shopper.lots.push(lot);
    if (expiresAt !== null) pushTo(this.lotsExpiringOn, expiryLocalDate(expiresAt, this.timeZone), lot);
    return lot;
  }

  /** Drops empty lots, so a long history does not make every spend slower (no figure depends on it). */
  private compact(shopper: BookShopper): void {
    shopper.lots = shopper.lots.filter((lot) => lot.remaining > 0);
  }

  private setPool(pool: PoolState, at: Date): void {
    this.pool = pool;
    this.supplyHistory.push({ at: at.getTime(), supply: pool.supply });
  }

  /** The supply at an instant: the last change at or before it. */
  private supplyAt(at: Date): number {
    const time = at.getTime();
    let low = 0;
    let high = this.supplyHistory.length - 1;
    while (low < high) {
      const middle = Math.ceil((low + high) / 2);
      if (this.supplyHistory[middle]!.at <= time) low = middle;
      else high = middle - 1;
    }
    return this.supplyHistory[low]!.supply;
  }

  private unitValue(): Ratio {
    return pointUnitValue(this.program, this.pool);
  }

  private outstandingPoints(): number {
    let points = 0;
    for (const shopper of this.shoppers.values()) points += holdingsOf(shopper);
    return points;
  }

  /**
   * Points the shopper earned on orders paid on `date`, a local day. An order is paid on the day
   * being replayed (every event of the day counts toward it, which spares a time-zone lookup per
   * event); a pool order mints when it completes, against its paid day.
   */
  private earnedOn(shopper: BookShopper, date: LocalDate): number {
    return shopper.earnedOn.get(date) ?? 0;
  }

  private addEarned(shopper: BookShopper, date: LocalDate, points: number): void {
    shopper.earnedOn.set(date, this.earnedOn(shopper, date) + points);
  }

  /** The budget month of a local day. */
  private monthOf(date: LocalDate): { paidMinor: number; issuedMinor: number } {
    const key = date.slice(0, 7);
    let month = this.months.get(key);
    if (month === undefined) {
      month = { paidMinor: 0, issuedMinor: 0 };
      this.months.set(key, month);
    }
    return month;
  }

  private alert(alert: SimulationAlert): void {
    if (!this.alerts.includes(alert)) this.alerts.push(alert);
  }

  private shopper(id: string): BookShopper {
    let shopper = this.shoppers.get(id);
    if (shopper === undefined) {
      shopper = { id, lots: [], debt: 0, hasPaid: false, spends: [], tierRecord: null, basis: 0, completedReferrals: 0, earnedOn: new Map() };
      this.shoppers.set(id, shopper);
    }
    return shopper;
  }
}

function zeroCounts(): Record<Counter, number> {
  return { gmvMinor: 0, refundsMinor: 0, issued: 0, issuedValueMinor: 0, redeemed: 0, redeemedValueMinor: 0, expired: 0, clawedBack: 0, restored: 0, withheld: 0, costMinor: 0 };
}

function brandCounts(counts: Record<Counter, number>): Pick<SimulationDay, Counter> {
  return {
    gmvMinor: minor(counts.gmvMinor),
    refundsMinor: minor(counts.refundsMinor),
    issued: pointUnits(counts.issued),
    issuedValueMinor: minor(counts.issuedValueMinor),
    redeemed: pointUnits(counts.redeemed),
    redeemedValueMinor: minor(counts.redeemedValueMinor),
    expired: pointUnits(counts.expired),
    clawedBack: pointUnits(counts.clawedBack),
    restored: pointUnits(counts.restored),
    withheld: pointUnits(counts.withheld),
    costMinor: minor(counts.costMinor),
  };
}

function holdingsOf(shopper: BookShopper): number {
  return shopper.lots.reduce((sum, lot) => sum + lot.remaining, 0);
}

function shareOf(part: number, whole: number): string | null {
  return whole === 0 ? null : formatRatio(ratio(part, whole), 4);
}

function pushTo<T>(index: Map<LocalDate, T[]>, date: LocalDate, item: T): void {
  const list = index.get(date);
  if (list === undefined) index.set(date, [item]);
  else list.push(item);
}
