import type { JifenDialect } from '@jifen/db';
import { describeEachDialect, useTestDb } from '@jifen/db/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createLot, lockShopper } from '../src/accounts';
import { upsertTemplate } from '../src/coupons';
import { Ledger } from '../src/ledger';
import { getProgram } from '../src/merchants';
import { orderPaid } from '../src/orders';
import { assertLedgerInvariants } from '../src/verify';
import {
  aCouponTemplate,
  aShopMerchant,
  balancesOf,
  creditPoints,
  entriesFor,
  entriesOfShopper,
  journalLength,
} from './harness/builders';
import { type RacePool, overlapAcrossProcesses, startRacePool } from './harness/race-pool';
import { type RaceOperation, type RaceOutcome, UNEXPECTED_ERROR } from './harness/race-protocol';
import { type Random, seedFromEnvironment, seededRandom } from '../src/testing';
import { type WorkerBundle, bundleWorker } from './harness/worker-bundle';

/**
 * Concurrency (issue 3 "Tests"): requests released together from a barrier by several OS processes
 * on one database. On SQLite each worker process is its own writer on the same file, so the engine's
 * locks (BEGIN IMMEDIATE, the busy timeout) decide every race — inside one process Kysely's single
 * connection would serialise them and prove nothing. On Postgres each worker holds a pool of
 * connections. Every race also asserts that both outcomes happened (or, for replays, that requests
 * from different processes overlapped), so none can pass by the requests simply taking turns.
 */

const NOW = new Date('2026-03-02T02:00:00Z');
const DAY_MS = 86_400_000;
const WORKERS: Record<JifenDialect, number> = { sqlite: 4, postgres: 3 };
const SWEEP_BATCH = 5;
/** A reservation beyond the balance is refused by the quote (the range shrinks to what is available) or by the allocation. */
const BALANCE_REFUSALS = ['POINTS_OUT_OF_RANGE', 'BELOW_MINIMUM', 'INSUFFICIENT_POINTS'];

const random = seededRandom(seedFromEnvironment());
let bundle: WorkerBundle;

beforeAll(async () => {
  console.info(`concurrency.test.ts: JIFEN_TEST_SEED=${random.seed}`);
  bundle = await bundleWorker('race-worker');
});

afterAll(() => bundle?.remove());

describeEachDialect('concurrency: requests released together from a barrier', (dialect) => {
  const database = useTestDb(dialect);
  let pool: RacePool;
  let ledger: Ledger;

  beforeAll(async () => {
    ledger = new Ledger(database(), { clock: () => NOW, groupCommit: true });
    pool = await startRacePool(bundle, { url: database().url, workers: WORKERS[dialect] });
  });

  afterAll(async () => {
    await pool?.close();
  });

  it('forty reservations against one balance: exactly the affordable number succeed and the rest are refused cleanly, over 20 random rounds', async () => {
    const merchantId = await aShopMerchant(ledger);
    // Rounds race four at a time, each against its own shopper's balance, their requests shuffled together.
    for (let first = 1; first <= 20; first += 4) {
      const rounds = Array.from({ length: 4 }, (_, index) => {
        const round = first + index;
        const points = random.integer(100, 900);
        const affordable = random.integer(1, 39);
        return { round, shopperId: `round-${round}`, points, affordable, balance: affordable * points + random.integer(0, points - 1) };
      });
      await Promise.all(rounds.map((round) => creditPoints(ledger, merchantId, round.shopperId, round.balance)));
      const requests = shuffle(
        random,
        rounds.flatMap((round) =>
          Array.from({ length: 40 }, (_, index) => ({
            round: round.round,
            operation: {
              kind: 'reserveHold',
              input: { merchantId, shopperId: round.shopperId, checkoutId: `${round.shopperId}-checkout-${index}`, points: round.points, cartAmount: 4 * round.points },
            } satisfies RaceOperation,
          })),
        ),
      );
      const outcomes = await pool.race(
        NOW,
        requests.map((request) => request.operation),
      );

      for (const { round, shopperId, points, affordable, balance } of rounds) {
        const context = `round ${round}: ${balance} points, 40 × ${points} (seed ${random.seed})`;
        const answers = outcomes.filter((_, index) => requests[index]!.round === round);
        const reserved = answers.filter((outcome) => outcome.ok);
        const refused = refusalsOf(answers);
        expect(answers.length, context).toBe(40);
        expect(reserved.length, context).toBe(affordable);
        expect(refused.length, context).toBe(40 - affordable);
        for (const refusal of refused) {
          expect(BALANCE_REFUSALS, context).toContain(refusal.reason);
          expect(refusal, context).toMatchObject({ param: 'points', category: 'UNPROCESSABLE_CONTENT' });
        }
        expect(await balancesOf(ledger.db, merchantId, shopperId), context).toEqual({ available: balance - affordable * points, pending: 0, held: affordable * points, debt: 0 });
        expect(await entriesOfShopper(ledger.db, merchantId, shopperId, 'hold.place'), context).toBe(affordable);
      }
      await assertLedgerInvariants(ledger.db, merchantId);
    }
  });

  it('twelve concurrent replays of one order, one refund, one reservation and one exchange have one effect each', async () => {
    const merchantId = await aShopMerchant(ledger);
    await creditPoints(ledger, merchantId, 'replayer', 20_000);
    await upsertTemplate(ledger, { merchantId, template: aCouponTemplate({ id: 'replayed-coupon', stock: 50 }) });
    await orderPaid(ledger, { merchantId, orderId: 'o-refunded', shopperId: 'replayer', amount: 40_000, currency: 'CNY' });
    const journalBefore = await journalLength(ledger.db, merchantId);

    const groups = {
      paid: { kind: 'orderPaid', input: { merchantId, orderId: 'o-replayed', shopperId: 'replayer', amount: 30_000, currency: 'CNY' } },
      refunded: { kind: 'orderRefunded', input: { merchantId, orderId: 'o-refunded', refundId: 'r-replayed', amount: 10_000 } },
      reserved: { kind: 'reserveHold', input: { merchantId, shopperId: 'replayer', checkoutId: 'c-replayed', points: 1_000, cartAmount: 10_000 } },
      exchanged: { kind: 'exchangeCoupon', input: { merchantId, shopperId: 'replayer', templateId: 'replayed-coupon', idempotencyKey: 'x-replayed' } },
    } satisfies Record<string, RaceOperation>;
    const operations = shuffle(
      random,
      Object.entries(groups).flatMap(([group, operation]) => Array.from({ length: 12 }, () => ({ group, operation }))),
    );
    const outcomes = await pool.race(
      NOW,
      operations.map((entry) => entry.operation),
    );

    for (const group of Object.keys(groups)) {
      const answers = outcomes.filter((_, index) => operations[index]!.group === group);
      expect(refusalsOf(answers), group).toEqual([]);
      const values = answers.map((answer) => (answer.ok ? answer.value : null));
      for (const value of values) expect(value, group).toEqual(values[0]);
      expect(new Set(answers.map((answer) => answer.pid)).size, `${group}: answered by several processes`).toBeGreaterThan(1);
      expect(overlapAcrossProcesses(answers), `${group}: requests from different processes were in flight together`).toBe(true);
    }

    const hold = await ledger.db.selectFrom('holds').selectAll().where('merchant_id', '=', merchantId).where('checkout_id', '=', 'c-replayed').execute();
    const coupons = await ledger.db.selectFrom('coupons').selectAll().where('merchant_id', '=', merchantId).where('idempotency_key', '=', 'x-replayed').execute();
    const refunds = await ledger.db.selectFrom('refunds').selectAll().where('merchant_id', '=', merchantId).where('refund_id', '=', 'r-replayed').execute();
    expect(hold).toHaveLength(1);
    expect(coupons).toHaveLength(1);
    expect(refunds).toHaveLength(1);
    expect(await entriesFor(ledger.db, merchantId, 'earn', 'o-replayed')).toBe(1);
    expect(await entriesFor(ledger.db, merchantId, 'refund.clawback', 'r-replayed')).toBe(1);
    expect(await entriesFor(ledger.db, merchantId, 'hold.place', hold[0]!.hold_id)).toBe(1);
    expect(await entriesFor(ledger.db, merchantId, 'coupon.exchange', coupons[0]!.code)).toBe(1);
    // One entry per effect, and nothing else: earn, clawback, hold placed, coupon exchanged.
    expect((await journalLength(ledger.db, merchantId)) - journalBefore).toBe(4);
    const template = await ledger.db.selectFrom('coupon_templates').select('issued').where('merchant_id', '=', merchantId).where('template_id', '=', 'replayed-coupon').executeTakeFirstOrThrow();
    expect(Number(template.issued)).toBe(1);
    await assertLedgerInvariants(ledger.db, merchantId);
  });

  it('the same id with one field changed, raced: one payload wins, the other is a CONFLICT naming the field, and it writes nothing', async () => {
    const merchantId = await aShopMerchant(ledger);
    await creditPoints(ledger, merchantId, 'conflicted', 20_000);
    await upsertTemplate(ledger, { merchantId, template: aCouponTemplate({ id: 'tpl-a', stock: 50 }) });
    await upsertTemplate(ledger, { merchantId, template: aCouponTemplate({ id: 'tpl-b', stock: 50 }) });
    await orderPaid(ledger, { merchantId, orderId: 'o-refunded', shopperId: 'conflicted', amount: 40_000, currency: 'CNY' });
    const journalBefore = await journalLength(ledger.db, merchantId);

    const variants = {
      paid: {
        field: 'amount',
        a: { kind: 'orderPaid', input: { merchantId, orderId: 'o-conflict', shopperId: 'conflicted', amount: 10_000, currency: 'CNY' } },
        b: { kind: 'orderPaid', input: { merchantId, orderId: 'o-conflict', shopperId: 'conflicted', amount: 12_000, currency: 'CNY' } },
      },
      refunded: {
        field: 'amount',
        a: { kind: 'orderRefunded', input: { merchantId, orderId: 'o-refunded', refundId: 'r-conflict', amount: 1_000 } },
        b: { kind: 'orderRefunded', input: { merchantId, orderId: 'o-refunded', refundId: 'r-conflict', amount: 2_000 } },
      },
      reserved: {
        field: 'points',
        a: { kind: 'reserveHold', input: { merchantId, shopperId: 'conflicted', checkoutId: 'c-conflict', points: 500, cartAmount: 10_000 } },
        b: { kind: 'reserveHold', input: { merchantId, shopperId: 'conflicted', checkoutId: 'c-conflict', points: 600, cartAmount: 10_000 } },
      },
      exchanged: {
        field: 'templateId',
        a: { kind: 'exchangeCoupon', input: { merchantId, shopperId: 'conflicted', templateId: 'tpl-a', idempotencyKey: 'x-conflict' } },
        b: { kind: 'exchangeCoupon', input: { merchantId, shopperId: 'conflicted', templateId: 'tpl-b', idempotencyKey: 'x-conflict' } },
      },
    } satisfies Record<string, { field: string; a: RaceOperation; b: RaceOperation }>;
    type Group = keyof typeof variants;
    const operations = shuffle(
      random,
      (Object.keys(variants) as Group[]).flatMap((group) =>
        (['a', 'b'] as const).flatMap((variant) => Array.from({ length: 6 }, () => ({ group, variant, operation: variants[group][variant] as RaceOperation }))),
      ),
    );
    const outcomes = await pool.race(
      NOW,
      operations.map((entry) => entry.operation),
    );

    const winners = {} as Record<Group, 'a' | 'b'>;
    for (const group of Object.keys(variants) as Group[]) {
      const answers = operations.map((entry, index) => ({ ...entry, outcome: outcomes[index]! })).filter((entry) => entry.group === group);
      const accepted = answers.filter((answer) => answer.outcome.ok);
      const refused = answers.filter((answer) => !answer.outcome.ok);
      expect(accepted.length, `${group}: some succeeded`).toBeGreaterThan(0);
      expect(refused.length, `${group}: some were refused`).toBeGreaterThan(0);
      const winner = accepted[0]!.variant;
      winners[group] = winner;
      // Every request with the winning payload is a replay of it; every one with the other payload is a conflict.
      expect(accepted.map((answer) => answer.variant), group).toEqual(Array(6).fill(winner));
      const values = accepted.map((answer) => (answer.outcome.ok ? answer.outcome.value : null));
      for (const value of values) expect(value, group).toEqual(values[0]);
      for (const answer of refused) {
        expect(answer.outcome.ok ? null : answer.outcome.refusal, group).toMatchObject({ reason: 'IDEMPOTENCY_CONFLICT', category: 'CONFLICT', param: variants[group].field });
      }
    }

    const order = await ledger.db.selectFrom('orders').select('amount').where('merchant_id', '=', merchantId).where('order_id', '=', 'o-conflict').executeTakeFirstOrThrow();
    expect(Number(order.amount)).toBe(variants.paid[winners.paid].input.amount);
    const refunds = await ledger.db.selectFrom('refunds').select('amount').where('merchant_id', '=', merchantId).where('refund_id', '=', 'r-conflict').execute();
    expect(refunds.map((refund) => Number(refund.amount))).toEqual([variants.refunded[winners.refunded].input.amount]);
    const holds = await ledger.db.selectFrom('holds').select('points').where('merchant_id', '=', merchantId).where('checkout_id', '=', 'c-conflict').execute();
    expect(holds.map((hold) => Number(hold.points))).toEqual([variants.reserved[winners.reserved].input.points]);
    const coupons = await ledger.db.selectFrom('coupons').select('template_id').where('merchant_id', '=', merchantId).where('idempotency_key', '=', 'x-conflict').execute();
    expect(coupons.map((coupon) => coupon.template_id)).toEqual([variants.exchanged[winners.exchanged].input.templateId]);
    const issued = await ledger.db.selectFrom('coupon_templates').select(['template_id', 'issued']).where('merchant_id', '=', merchantId).orderBy('template_id').execute();
    expect(Object.fromEntries(issued.map((row) => [row.template_id, Number(row.issued)]))).toEqual({
      'tpl-a': winners.exchanged === 'a' ? 1 : 0,
      'tpl-b': winners.exchanged === 'b' ? 1 : 0,
    });
    expect(await entriesFor(ledger.db, merchantId, 'earn', 'o-conflict')).toBe(1);
    expect((await journalLength(ledger.db, merchantId)) - journalBefore).toBe(4);
    await assertLedgerInvariants(ledger.db, merchantId);
  });

  it('coupon stock of 10 against 100 buyers at once: exactly 10 coupons, and the stock never goes below zero', async () => {
    const merchantId = await aShopMerchant(ledger);
    const buyers = Array.from({ length: 100 }, (_, index) => `buyer-${String(index).padStart(3, '0')}`);
    await Promise.all(buyers.map((shopperId) => creditPoints(ledger, merchantId, shopperId, 1_000)));
    await upsertTemplate(ledger, { merchantId, template: aCouponTemplate({ id: 'ten-left', stock: 10, pointsCost: 500 }) });

    const issuedSeen: number[] = [];
    let racing = true;
    const watchStock = async () => {
      // A reader beside the race: the stock it sees must never be oversold, at any instant.
      while (racing) {
        const row = await ledger.db.selectFrom('coupon_templates').select(['issued', 'stock_total']).where('merchant_id', '=', merchantId).where('template_id', '=', 'ten-left').executeTakeFirstOrThrow();
        issuedSeen.push(Number(row.issued));
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    };
    const watching = watchStock();
    const outcomes = await pool.race(
      NOW,
      buyers.map((shopperId): RaceOperation => ({ kind: 'exchangeCoupon', input: { merchantId, shopperId, templateId: 'ten-left', idempotencyKey: `x-${shopperId}` } })),
    ).finally(() => {
      racing = false;
    });
    await watching;

    const winners = buyers.filter((_, index) => outcomes[index]!.ok);
    const refused = refusalsOf(outcomes);
    expect(winners).toHaveLength(10);
    expect(refused).toHaveLength(90);
    for (const refusal of refused) expect(refusal).toMatchObject({ reason: 'OUT_OF_STOCK', param: 'templateId', category: 'UNPROCESSABLE_CONTENT' });
    expect(issuedSeen.length).toBeGreaterThan(0);
    expect(Math.min(...issuedSeen)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...issuedSeen)).toBeLessThanOrEqual(10);

    const template = await ledger.db.selectFrom('coupon_templates').select(['issued', 'stock_total']).where('merchant_id', '=', merchantId).where('template_id', '=', 'ten-left').executeTakeFirstOrThrow();
    expect({ issued: Number(template.issued), stock: Number(template.stock_total) }).toEqual({ issued: 10, stock: 10 });
    const coupons = await ledger.db.selectFrom('coupons').select('shopper_id').where('merchant_id', '=', merchantId).where('template_id', '=', 'ten-left').execute();
    expect(coupons.map((coupon) => coupon.shopper_id).sort()).toEqual(winners);
    for (const shopperId of buyers) {
      const expected = winners.includes(shopperId) ? 500 : 1_000;
      expect((await balancesOf(ledger.db, merchantId, shopperId)).available, shopperId).toBe(expected);
    }
    await assertLedgerInvariants(ledger.db, merchantId);
  });

  it('two sweepers at once expire every due lot exactly once between them', async () => {
    const merchantId = await aShopMerchant(ledger);
    const seeded = await seedLots(ledger, merchantId, { shoppers: 40, lotsEach: 10, dueAt: new Date(NOW.getTime() + DAY_MS) });

    const sweepAt = new Date(NOW.getTime() + 2 * DAY_MS);
    const outcomes = await pool.race(sweepAt, [
      { kind: 'sweepExpiredLots', input: { merchantId, batchSize: SWEEP_BATCH } },
      { kind: 'sweepExpiredLots', input: { merchantId, batchSize: SWEEP_BATCH } },
    ]);
    expect(refusalsOf(outcomes)).toEqual([]);
    expect(new Set(outcomes.map((outcome) => outcome.pid)).size).toBe(2);
    expect(overlapAcrossProcesses(outcomes), 'the sweepers ran at the same time').toBe(true);
    const reports = outcomes.map((outcome) => (outcome.ok ? (outcome.value as SweepRun) : null));
    // Not a vacuous pass: one sweeper was still expiring lots after the other had started. (Which one
    // gets the batches is the engine's business: SQLite's busy handler may let one sweeper take
    // them all while the other waits for the lock, then finds nothing left; on Postgres the other
    // re-reads candidates under the shopper locks and finds them taken.)
    const stillExpiringAfterTheOtherStarted = reports.some((report, index) => lastExpiringBatchAt(report) > outcomes[1 - index]!.startedAt);
    expect(stillExpiringAfterTheOtherStarted, `the sweeps overlapped while lots were due: ${JSON.stringify(reports.map((report) => report && { expiredLots: report.expiredLots, batches: report.batches }))}`).toBe(true);
    expect(reports.reduce((sum, report) => sum + (report?.expiredLots ?? 0), 0)).toBe(seeded.due.length);
    expect(reports.reduce((sum, report) => sum + (report?.expiredPoints ?? 0), 0)).toBe(seeded.duePoints);

    const expiries = await ledger.db
      .selectFrom('journal')
      .select((eb) => ['ref', eb.fn.countAll<number>().as('count'), eb.fn.sum<number>('points').as('points')])
      .where('merchant_id', '=', merchantId)
      .where('kind', '=', 'expire')
      .groupBy('ref')
      .execute();
    expect(expiries.map((row) => row.ref).sort()).toEqual([...seeded.due].sort());
    expect(expiries.filter((row) => Number(row.count) !== 1)).toEqual([]);
    expect(expiries.reduce((sum, row) => sum + Number(row.points), 0)).toBe(-seeded.duePoints);
    const notDue = await ledger.db.selectFrom('lots').select(['status', 'remaining', 'points']).where('merchant_id', '=', merchantId).where('id', 'in', seeded.notDue).execute();
    expect(notDue.every((lot) => lot.status === 'available' && Number(lot.remaining) === Number(lot.points))).toBe(true);
    await assertLedgerInvariants(ledger.db, merchantId);
  });
});

interface SweepRun {
  expiredLots: number;
  expiredPoints: number;
  batches: number;
  batchesAt: Array<{ at: number; expiredLots: number }>;
}

/** When the sweeper's last batch that expired something ended (−∞ when it expired nothing). */
function lastExpiringBatchAt(report: SweepRun | null): number {
  let last = Number.NEGATIVE_INFINITY;
  let before = 0;
  for (const batch of report?.batchesAt ?? []) {
    if (batch.expiredLots > before) last = batch.at;
    before = batch.expiredLots;
  }
  return last;
}

function refusalsOf(outcomes: readonly RaceOutcome[]) {
  const refusals = outcomes.flatMap((outcome) => (outcome.ok ? [] : [outcome.refusal]));
  const unexpected = refusals.filter((refusal) => refusal.reason === UNEXPECTED_ERROR);
  if (unexpected.length > 0) throw new Error(`unexpected errors in the race: ${unexpected.map((refusal) => refusal.message).join('; ')}`);
  return refusals;
}

function shuffle<T>(random: Random, items: readonly T[]): T[] {
  const shuffled = [...items];
  for (let index = shuffled.length - 1; index > 0; index -= 1) {
    const other = random.integer(0, index);
    [shuffled[index], shuffled[other]] = [shuffled[other]!, shuffled[index]!];
  }
  return shuffled;
}

/**
 * Lots for the sweepers, written in one transaction the way a manual credit writes them (lot,
 * balance, 'adjust' entry): `lotsEach − 1` per shopper due at `dueAt`, and one that expires a year later.
 */
async function seedLots(ledger: Ledger, merchantId: string, shape: { shoppers: number; lotsEach: number; dueAt: Date }) {
  return ledger.write(async (tx) => {
    const { version } = await getProgram(tx.db, merchantId);
    const due: string[] = [];
    const notDue: string[] = [];
    let duePoints = 0;
    const entries = [];
    for (let shopper = 0; shopper < shape.shoppers; shopper += 1) {
      const shopperId = `holder-${String(shopper).padStart(2, '0')}`;
      await lockShopper(tx, merchantId, shopperId);
      for (let lot = 0; lot < shape.lotsEach; lot += 1) {
        const isDue = lot < shape.lotsEach - 1;
        const points = 100 + lot;
        const expiresAt = isDue ? shape.dueAt : new Date(shape.dueAt.getTime() + 365 * DAY_MS);
        const lotId = await createLot(tx, { merchantId, shopperId, source: 'adjustment', sourceRef: `seed-${shopper}-${lot}`, programVersion: version, points, status: 'available', earnedAt: tx.now, availableAt: tx.now, expiresAt });
        (isDue ? due : notDue).push(lotId);
        if (isDue) duePoints += points;
        entries.push({ shopperId, kind: 'adjust' as const, points, ref: `seed-${shopper}-${lot}`, lotId, programVersion: version });
      }
    }
    await tx.journal.appendMany(merchantId, entries);
    return { due, notDue, duePoints };
  });
}
