import { describeEachDialect, useTestDb } from '@jifen/db/testing';
import { parseCouponTemplate } from '@jifen/rules';
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { exchangeCoupon, upsertTemplate } from '../src/coupons';
import { JifenError } from '../src/errors';
import { releaseHold, reserveHold } from '../src/holds';
import { Ledger } from '../src/ledger';
import { getProgram } from '../src/merchants';
import { orderCancelled, orderCompleted, orderPaid, orderRefunded } from '../src/orders';
import { runSweep } from '../src/sweep';
import { assertLedgerInvariants } from '../src/verify';
import { aCouponTemplate, aShopMerchant, anIndependentShopperProgram, balancesOf, creditPoints } from './harness/builders';
import { LedgerModel, type ModelOutcome } from './harness/ledger-model';

/**
 * The model-based test (issue 3 "Tests"): random sequences of earn (paid), complete, refund,
 * cancel, reserve, capture (paid with the hold), release, exchange, expire (the clock past the next
 * lot expiry, then the sweep) and sweep, run against the ledger and against `LedgerModel` — a model
 * built on `@jifen/rules` alone — with every shopper's available, pending, held and debt compared
 * after every step, and every answer (accepted, or refused and why) compared too. The clock is the
 * test's: each command moves it a minute, sweeps and expiries move it further.
 */

const START = new Date('2026-03-02T02:00:00Z');
const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
const SHOPPERS = ['ana', 'bo', 'cy'] as const;
const CREDIT = 2_000;
/** Holds live a day, so one placed an hour before points expire still holds them when they do. */
const PROGRAM = anIndependentShopperProgram({ redemption: { holdTtlSeconds: 86_400 } });
const TEMPLATE = aCouponTemplate({ id: 'model-coupon', pointsCost: 300, stock: 4, perShopperLimit: 2 });

interface RealLedger {
  ledger: Ledger;
  merchantId: string;
  clock: { now: Date };
  /** The model's hold ids (checkout ids) → the ledger's. */
  holdIds: Map<string, string>;
  /** Repeats the last accepted call with the same caller id: a platform retry. */
  replay: (() => Promise<unknown>) | null;
}

type Shopper = (typeof SHOPPERS)[number];

async function outcomeOf(call: () => Promise<unknown>): Promise<ModelOutcome> {
  try {
    return { ok: true, value: await call() };
  } catch (error) {
    if (error instanceof JifenError) return { ok: false, reason: error.reason };
    throw error;
  }
}

abstract class LedgerCommand implements fc.AsyncCommand<LedgerModel, RealLedger> {
  check(_model: Readonly<LedgerModel>): boolean {
    return true;
  }

  /** How far the clock moves before the command (a minute, so no two lots are earned at one instant). */
  protected advanceTo(model: LedgerModel): Date {
    return new Date(model.now.getTime() + MINUTE_MS);
  }

  /** Applies the command to the model and returns the call that applies it to the ledger. */
  protected abstract plan(model: LedgerModel, real: RealLedger): { expected: ModelOutcome; call: () => Promise<unknown>; remember?: (value: unknown) => void };

  abstract toString(): string;

  async run(model: LedgerModel, real: RealLedger): Promise<void> {
    model.now = this.advanceTo(model);
    real.clock.now = model.now;
    const { expected, call, remember } = this.plan(model, real);
    const actual = await outcomeOf(call);
    expect(actual.ok ? 'accepted' : `refused ${actual.reason}`, this.toString()).toBe(expected.ok ? 'accepted' : `refused ${expected.reason}`);
    if (actual.ok) {
      remember?.(actual.value);
      if (!(this instanceof Replay) && !(this instanceof Sweep)) real.replay = call;
    }
    for (const shopperId of SHOPPERS) {
      expect(await balancesOf(real.ledger.db, real.merchantId, shopperId), `${shopperId} after ${this.toString()}`).toEqual(model.balances(shopperId));
    }
  }
}

class Earn extends LedgerCommand {
  constructor(
    readonly shopperId: Shopper,
    readonly amount: number,
  ) {
    super();
  }
  protected plan(model: LedgerModel, real: RealLedger) {
    const orderId = model.nextId('o');
    const expected = model.paid({ orderId, shopperId: this.shopperId, amount: this.amount });
    return { expected, call: () => orderPaid(real.ledger, { merchantId: real.merchantId, orderId, shopperId: this.shopperId, amount: this.amount, currency: 'CNY' }) };
  }
  toString() {
    return `earn(${this.shopperId}, ${this.amount})`;
  }
}

/** Counting back from the latest hold: checkouts are mostly paid or abandoned soon after they reserve. */
function recentHold(model: LedgerModel, back: number) {
  return model.holds[model.holds.length - 1 - (back % model.holds.length)]!;
}

function ordinal(back: number): string {
  return back === 0 ? '1st' : back === 1 ? '2nd' : back === 2 ? '3rd' : `${back + 1}th`;
}

/** A command on one of the holds placed so far, counted back from the latest (`recentHold`). */
abstract class HoldCommand extends LedgerCommand {
  constructor(readonly holdIndex: number) {
    super();
  }
  override check(model: Readonly<LedgerModel>) {
    return model.holds.length > 0;
  }
  protected hold(model: LedgerModel) {
    return recentHold(model, this.holdIndex);
  }
}

class Capture extends HoldCommand {
  protected plan(model: LedgerModel, real: RealLedger) {
    const hold = this.hold(model);
    const orderId = model.nextId('o');
    const expected = model.paid({ orderId, shopperId: hold.shopperId, amount: hold.cartAmount, holdId: hold.holdId });
    const holdId = real.holdIds.get(hold.holdId)!;
    return { expected, call: () => orderPaid(real.ledger, { merchantId: real.merchantId, orderId, shopperId: hold.shopperId, amount: hold.cartAmount, currency: 'CNY', holdId }) };
  }
  toString() {
    return `capture(the ${ordinal(this.holdIndex)} latest hold)`;
  }
}

/** A command on one of the orders placed so far, picked by index (wrapping round). */
abstract class OrderCommand extends LedgerCommand {
  constructor(readonly orderIndex: number) {
    super();
  }
  override check(model: Readonly<LedgerModel>) {
    return model.orders.length > 0;
  }
  protected order(model: LedgerModel) {
    return model.orders[this.orderIndex % model.orders.length]!;
  }
}

class Complete extends OrderCommand {
  protected plan(model: LedgerModel, real: RealLedger) {
    const { orderId } = this.order(model);
    return { expected: model.completed(orderId), call: () => orderCompleted(real.ledger, { merchantId: real.merchantId, orderId }) };
  }
  toString() {
    return `complete(order #${this.orderIndex})`;
  }
}

class Refund extends OrderCommand {
  constructor(
    orderIndex: number,
    readonly size: 'part' | 'rest' | 'beyond',
    readonly percent: number,
  ) {
    super(orderIndex);
  }
  protected plan(model: LedgerModel, real: RealLedger) {
    const order = this.order(model);
    const left = order.amount - order.refunded;
    const amount = this.size === 'beyond' ? left + 1 : this.size === 'rest' ? Math.max(1, left) : Math.max(1, Math.floor((left * this.percent) / 100));
    const refundId = model.nextId('r');
    const expected = model.refunded({ orderId: order.orderId, refundId, amount });
    return { expected, call: () => orderRefunded(real.ledger, { merchantId: real.merchantId, orderId: order.orderId, refundId, amount }) };
  }
  toString() {
    return `refund(order #${this.orderIndex}, ${this.size === 'part' ? `${this.percent}%` : this.size})`;
  }
}

class Cancel extends OrderCommand {
  protected plan(model: LedgerModel, real: RealLedger) {
    const { orderId } = this.order(model);
    return { expected: model.cancelled(orderId), call: () => orderCancelled(real.ledger, { merchantId: real.merchantId, orderId }) };
  }
  toString() {
    return `cancel(order #${this.orderIndex})`;
  }
}

class Reserve extends LedgerCommand {
  constructor(
    readonly shopperId: Shopper,
    readonly points: number,
    readonly cartTimesPoints: number,
  ) {
    super();
  }
  protected plan(model: LedgerModel, real: RealLedger) {
    const checkoutId = model.nextId('c');
    const cartAmount = this.points * this.cartTimesPoints;
    const expected = model.reserve({ holdId: checkoutId, shopperId: this.shopperId, points: this.points, cartAmount });
    return {
      expected,
      call: () => reserveHold(real.ledger, { merchantId: real.merchantId, shopperId: this.shopperId, checkoutId, points: this.points, cartAmount }),
      remember: (value: unknown) => real.holdIds.set(checkoutId, (value as { holdId: string }).holdId),
    };
  }
  toString() {
    return `reserve(${this.shopperId}, ${this.points} on a cart of ${this.cartTimesPoints}×)`;
  }
}

class Release extends HoldCommand {
  protected plan(model: LedgerModel, real: RealLedger) {
    const hold = this.hold(model);
    const holdId = real.holdIds.get(hold.holdId)!;
    return { expected: model.release(hold.holdId), call: () => releaseHold(real.ledger, { merchantId: real.merchantId, shopperId: hold.shopperId, holdId }) };
  }
  toString() {
    return `release(the ${ordinal(this.holdIndex)} latest hold)`;
  }
}

class Exchange extends LedgerCommand {
  constructor(readonly shopperId: Shopper) {
    super();
  }
  protected plan(model: LedgerModel, real: RealLedger) {
    const idempotencyKey = model.nextId('x');
    return {
      expected: model.exchange(this.shopperId),
      call: () => exchangeCoupon(real.ledger, { merchantId: real.merchantId, shopperId: this.shopperId, templateId: TEMPLATE.id, idempotencyKey }),
    };
  }
  toString() {
    return `exchange(${this.shopperId})`;
  }
}

class Sweep extends LedgerCommand {
  constructor(readonly days: number) {
    super();
  }
  protected override advanceTo(model: LedgerModel): Date {
    return new Date(model.now.getTime() + this.days * DAY_MS + MINUTE_MS);
  }
  protected plan(model: LedgerModel, real: RealLedger) {
    model.sweep();
    return { expected: { ok: true, value: null } as const, call: () => runSweep(real.ledger, { merchantId: real.merchantId }) };
  }
  toString() {
    return `sweep(after ${this.days} days)`;
  }
}

/**
 * The clock jumps to the next instant points expire (a year on when none would), or to an hour
 * before it — so a checkout can hold points across their expiry (holds live a day here) — then the
 * sweep runs.
 */
class Expire extends Sweep {
  constructor(readonly hoursBefore: number) {
    super(0);
  }
  protected override advanceTo(model: LedgerModel): Date {
    const next = model.nextExpiry()?.getTime() ?? model.now.getTime() + 400 * DAY_MS;
    return new Date(Math.max(next - this.hoursBefore * HOUR_MS, model.now.getTime() + MINUTE_MS));
  }
  override toString() {
    return this.hoursBefore === 0 ? 'expire(clock to the next expiry, then sweep)' : `expire(clock to ${this.hoursBefore} h before the next expiry, then sweep)`;
  }
}

class Replay extends LedgerCommand {
  protected plan(_model: LedgerModel, real: RealLedger) {
    const replay = real.replay;
    // A replay answers as the first call did and changes nothing; with nothing to replay, it is a no-op.
    return { expected: { ok: true, value: null } as const, call: replay ?? (async () => null) };
  }
  toString() {
    return 'replay(the last accepted call)';
  }
}

const shopper = fc.constantFrom(...SHOPPERS);
/** Weighted by repetition: what a shop does most (pay, reserve, complete) comes up most. */
const commands = fc.commands(
  [
    ...repeat(3, fc.tuple(shopper, fc.integer({ min: 0, max: 40_000 })).map(([shopperId, amount]) => new Earn(shopperId, amount))),
    ...repeat(3, fc.tuple(shopper, fc.integer({ min: 50, max: 3_000 }), fc.constantFrom(1, 2, 3, 10)).map(([shopperId, points, times]) => new Reserve(shopperId, points, times))),
    ...repeat(2, fc.nat({ max: 3 }).map((back) => new Capture(back))),
    ...repeat(2, fc.nat().map((index) => new Complete(index))),
    ...repeat(
      2,
      fc
        .tuple(fc.nat(), fc.constantFrom('part' as const, 'part' as const, 'rest' as const, 'beyond' as const), fc.integer({ min: 1, max: 99 }))
        .map(([index, size, percent]) => new Refund(index, size, percent)),
    ),
    fc.nat().map((index) => new Cancel(index)),
    fc.nat({ max: 3 }).map((back) => new Release(back)),
    shopper.map((shopperId) => new Exchange(shopperId)),
    ...repeat(2, fc.constantFrom(0, 1).map((hoursBefore) => new Expire(hoursBefore))),
    fc.constantFrom(0, 1, 8).map((days) => new Sweep(days)),
    fc.constant(new Replay()),
  ],
  { maxCommands: 30, size: 'max' },
);

function repeat<T>(times: number, arbitrary: fc.Arbitrary<T>): Array<fc.Arbitrary<T>> {
  return Array.from({ length: times }, () => arbitrary);
}

describeEachDialect('the ledger against a model built on the rules', (dialect) => {
  const database = useTestDb(dialect);

  it('every shopper’s available, pending, held and debt match the model after every step of random command sequences', async () => {
    await fc.assert(
      fc.asyncProperty(commands, async (sequence) => {
        const clock = { now: START };
        const ledger = new Ledger(database(), { clock: () => clock.now });
        const merchantId = await aShopMerchant(ledger, PROGRAM);
        await upsertTemplate(ledger, { merchantId, template: TEMPLATE });
        const { program } = await getProgram(ledger.db, merchantId);
        const template = parseCouponTemplate(TEMPLATE);
        if (!template.ok) throw new Error('the model test template is valid');
        const model = new LedgerModel(program, template.value, START);
        for (const shopperId of SHOPPERS) {
          await creditPoints(ledger, merchantId, shopperId, CREDIT);
          model.credit(shopperId, CREDIT, `credit:${shopperId}`);
        }
        await fc.asyncModelRun(() => ({ model, real: { ledger, merchantId, clock, holdIds: new Map(), replay: null } }), sequence);
        await assertLedgerInvariants(ledger.db, merchantId);
      }),
      { numRuns: 20 },
    );
  });
});
