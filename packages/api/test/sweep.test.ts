import { describeEachDialect } from '@jifen/db/testing';
import { expect, it } from 'vitest';
import { releaseHold, reserveHold } from '../src/holds';
import { orderCompleted, orderPaid } from '../src/orders';
import { Ledger } from '../src/ledger';
import { claimDue, enqueue, listOutbox, markDelivered, markFailed, outboxBackoffMs, releaseClaim } from '../src/outbox';
import { EXPIRY_REMINDER_KIND, emitReminders, runSweep, sweepExpiredLots } from '../src/sweep';
import { assertLedgerInvariants } from '../src/verify';
import { DAY_MS, MINUTE_MS, aClock, aMerchant, aPoolProgram, balanceOf, givePoints, journalKinds, lotOf } from './support-holds';
import { aPaidOrder, aShop, aClock as anOrdersClock, balanceOf as orderBalance } from './support-orders';
import { useShop } from './support-shop';

describeEachDialect('the expiry sweep and reminders', (dialect) => {
  // 10:00 on 15 January 2025 in Shanghai.
  const shop = useShop(dialect, { clock: () => aClock('2025-01-15T02:00:00Z'), merchant: aMerchant });

  it('points earned in Shanghai expire at the end of that local day twelve months on, not before', async () => {
    const lot = await givePoints(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', points: 500 });
    // Rolling 12 months: usable through 15 January 2026, Asia/Shanghai — until 16:00 UTC that day.
    expect((await lotOf(shop.ledger.db, lot)).expiresAt).toBe(Date.parse('2026-01-15T16:00:00Z'));

    shop.clock.now = new Date('2026-01-15T15:59:59.999Z');
    expect(await sweepExpiredLots(shop.ledger, { merchantId: shop.merchantId })).toMatchObject({ expiredLots: 0, expiredPoints: 0 });
    expect(await balanceOf(shop.ledger.db, shop.merchantId, 'alice')).toEqual({ available: 500, held: 0, pending: 0 });

    shop.clock.now = new Date('2026-01-15T16:00:00Z');
    expect(await sweepExpiredLots(shop.ledger, { merchantId: shop.merchantId })).toMatchObject({ expiredLots: 1, expiredPoints: 500, batches: 1 });
    expect(await lotOf(shop.ledger.db, lot)).toMatchObject({ remaining: 0, held: 0, status: 'expired' });
    expect(await balanceOf(shop.ledger.db, shop.merchantId, 'alice')).toEqual({ available: 0, held: 0, pending: 0 });
    expect(await journalKinds(shop.ledger.db, shop.merchantId, 'expire')).toEqual([expect.objectContaining({ shopperId: 'alice', points: -500, ref: lot, lotId: lot })]);
  });

  it('a sweep never expires held points, and expires them once the hold is released', async () => {
    const lot = await givePoints(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', points: 500, expiresAt: new Date('2025-01-15T02:10:00Z') });
    await givePoints(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', points: 100, expiresAt: null });
    const hold = await reserveHold(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', checkoutId: 'c1', points: 300, cartAmount: 100_000 });
    shop.clock.advance(11 * MINUTE_MS);

    expect(await sweepExpiredLots(shop.ledger, { merchantId: shop.merchantId })).toMatchObject({ expiredLots: 1, expiredPoints: 200 });
    expect(await lotOf(shop.ledger.db, lot)).toMatchObject({ remaining: 300, held: 300, status: 'available' });
    expect(await balanceOf(shop.ledger.db, shop.merchantId, 'alice')).toEqual({ available: 100, held: 300, pending: 0 });
    expect(await sweepExpiredLots(shop.ledger, { merchantId: shop.merchantId })).toMatchObject({ expiredLots: 0 });

    await releaseHold(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', holdId: hold.holdId });
    expect(await sweepExpiredLots(shop.ledger, { merchantId: shop.merchantId })).toMatchObject({ expiredLots: 1, expiredPoints: 300 });
    expect(await lotOf(shop.ledger.db, lot)).toMatchObject({ remaining: 0, held: 0, status: 'expired' });
    expect(await balanceOf(shop.ledger.db, shop.merchantId, 'alice')).toEqual({ available: 100, held: 0, pending: 0 });
    expect((await journalKinds(shop.ledger.db, shop.merchantId, 'expire')).map((entry) => entry.points)).toEqual([-200, -300]);
  });

  it('expires pending lots out of the pending balance', async () => {
    await givePoints(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', points: 70, status: 'pending', expiresAt: new Date('2025-01-16T16:00:00Z') });
    shop.clock.advance(2 * DAY_MS);
    expect(await sweepExpiredLots(shop.ledger, { merchantId: shop.merchantId })).toMatchObject({ expiredLots: 1, expiredPoints: 70 });
    expect(await balanceOf(shop.ledger.db, shop.merchantId, 'alice')).toEqual({ available: 0, held: 0, pending: 0 });
  });

  it('drains a backlog in bounded batches that resume where a stopped sweep left off', async () => {
    const shoppers = ['s1', 's2', 's3', 's4', 's5'];
    for (let index = 0; index < 25; index += 1) {
      await givePoints(shop.ledger, { merchantId: shop.merchantId, shopperId: shoppers[index % 5]!, points: 10 + index, expiresAt: new Date(Date.parse('2025-01-20T16:00:00Z') + index * MINUTE_MS) });
    }
    await givePoints(shop.ledger, { merchantId: shop.merchantId, shopperId: 's1', points: 1_000, expiresAt: new Date('2025-12-31T16:00:00Z') });
    shop.clock.now = new Date('2025-02-01T00:00:00Z');

    const seen: number[] = [];
    const stopped = await sweepExpiredLots(shop.ledger, {
      merchantId: shop.merchantId,
      batchSize: 10,
      onProgress: (progress) => {
        seen.push(progress.expiredLots);
        throw new Error('deploy in progress');
      },
    }).catch((error: unknown) => error);
    expect(stopped).toBeInstanceOf(Error);
    expect(seen).toEqual([10]);
    expect((await journalKinds(shop.ledger.db, shop.merchantId, 'expire')).length).toBe(10);

    const progress: number[] = [];
    const resumed = await sweepExpiredLots(shop.ledger, { merchantId: shop.merchantId, batchSize: 10, onProgress: (step) => progress.push(step.expiredLots) });

    expect(resumed).toMatchObject({ expiredLots: 15, batches: 2 });
    expect(resumed.longestBatchMs).toBeGreaterThan(0);
    expect(progress).toEqual([10, 15]);
    const expired = await journalKinds(shop.ledger.db, shop.merchantId, 'expire');
    expect(expired).toHaveLength(25);
    expect(new Set(expired.map((entry) => entry.lotId)).size).toBe(25);
    expect(expired.reduce((sum, entry) => sum + entry.points, 0)).toBe(-(25 * 10 + (24 * 25) / 2));
    expect(await balanceOf(shop.ledger.db, shop.merchantId, 's1')).toEqual({ available: 1_000, held: 0, pending: 0 });
  });

  it('two sweepers at once never expire anything twice', async () => {
    for (let index = 0; index < 60; index += 1) {
      await givePoints(shop.ledger, { merchantId: shop.merchantId, shopperId: `s${index % 7}`, points: 5, expiresAt: new Date('2025-01-20T16:00:00Z') });
    }
    shop.clock.now = new Date('2025-02-01T00:00:00Z');
    const other = new Ledger(shop.database(), { clock: shop.clock.read });

    const [first, second] = await Promise.all([sweepExpiredLots(shop.ledger, { merchantId: shop.merchantId, batchSize: 8 }), sweepExpiredLots(other, { merchantId: shop.merchantId, batchSize: 8 })]);

    expect(first.expiredLots + second.expiredLots).toBe(60);
    expect(first.expiredPoints + second.expiredPoints).toBe(300);
    expect(await journalKinds(shop.ledger.db, shop.merchantId, 'expire')).toHaveLength(60);
  });

  it('in pool mode the expired points are burned with nothing paid out', async () => {
    const pool = await aMerchant(shop.ledger, aPoolProgram());
    await givePoints(shop.ledger, { merchantId: pool, shopperId: 'alice', points: 10_000, expiresAt: new Date('2025-01-20T16:00:00Z') });
    await givePoints(shop.ledger, { merchantId: pool, shopperId: 'bob', points: 10_000, expiresAt: null });
    shop.clock.now = new Date('2025-02-01T00:00:00Z');

    expect(await sweepExpiredLots(shop.ledger, { merchantId: pool })).toMatchObject({ expiredLots: 1, expiredPoints: 10_000 });

    const state = await shop.ledger.db.selectFrom('pool_state').selectAll().where('merchant_id', '=', pool).executeTakeFirstOrThrow();
    // The pool keeps all ¥200 for half the supply: the price doubles.
    expect({ amount: Number(state.amount), supply: Number(state.supply), payouts: Number(state.payouts) }).toEqual({ amount: 20_000, supply: 10_000, payouts: 0 });
    await assertLedgerInvariants(shop.ledger.db, pool);
  });

  it('produces each reminder once per lot and offset, most urgent first, into the outbox', async () => {
    // Usable through 28 February 2025, Shanghai.
    const expiresAt = new Date('2025-02-28T16:00:00Z');
    const lot = await givePoints(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', points: 800, expiresAt });
    const fullyHeld = await givePoints(shop.ledger, { merchantId: shop.merchantId, shopperId: 'bob', points: 200, expiresAt });
    await givePoints(shop.ledger, { merchantId: shop.merchantId, shopperId: 'carol', points: 100, expiresAt: new Date('2025-06-30T16:00:00Z') });
    await reserveHold(shop.ledger, { merchantId: shop.merchantId, shopperId: 'bob', checkoutId: 'c1', points: 200, cartAmount: 100_000 });

    // 30 days before the last usable day is 29 January; at 23:59 Shanghai on the 28th nothing is due.
    shop.clock.now = new Date('2025-01-28T15:59:00Z');
    expect(await emitReminders(shop.ledger, { merchantId: shop.merchantId })).toMatchObject({ reminders: 0 });

    shop.clock.now = new Date('2025-01-28T16:00:00Z');
    expect(await emitReminders(shop.ledger, { merchantId: shop.merchantId })).toMatchObject({ reminders: 1 });
    expect(await emitReminders(shop.ledger, { merchantId: shop.merchantId })).toMatchObject({ reminders: 0 });
    const [reminder] = await listOutbox(shop.ledger.db, shop.merchantId, { kind: EXPIRY_REMINDER_KIND });
    expect(reminder).toMatchObject({
      dedupeKey: `reminder:${lot}:30`,
      payload: { shopperId: 'alice', lotId: lot, points: 800, value: 800, currency: 'CNY', expiresOn: '2025-02-28', daysBefore: 30 },
    });

    // 22 February in Shanghai: the 7-day reminder's day has begun, the 3-day one's not yet.
    shop.clock.now = new Date('2025-02-22T00:00:00Z');
    expect(await emitReminders(shop.ledger, { merchantId: shop.merchantId, limit: 1 })).toMatchObject({ reminders: 1 });
    expect(await emitReminders(shop.ledger, { merchantId: shop.merchantId })).toMatchObject({ reminders: 0 });
    const keys = (await listOutbox(shop.ledger.db, shop.merchantId, { kind: EXPIRY_REMINDER_KIND })).map((message) => message.dedupeKey).sort();
    expect(keys).toEqual([`reminder:${lot}:30`, `reminder:${lot}:7`].sort());
    expect(keys.some((key) => key.includes(fullyHeld))).toBe(false);
  });

  it('reminds every lot on a day across several bounded batches', async () => {
    const expiresAt = new Date('2025-02-28T16:00:00Z');
    const lots: string[] = [];
    for (let index = 0; index < 7; index += 1) lots.push(await givePoints(shop.ledger, { merchantId: shop.merchantId, shopperId: `s${index}`, points: 100, expiresAt }));
    shop.clock.now = new Date('2025-02-27T00:00:00Z');
    const report = await emitReminders(shop.ledger, { merchantId: shop.merchantId, limit: 3 });
    expect(report).toEqual({ reminders: 7, batches: 3 });
    const keys = (await listOutbox(shop.ledger.db, shop.merchantId, { kind: EXPIRY_REMINDER_KIND })).map((message) => message.dedupeKey).sort();
    expect(keys).toEqual(lots.map((lot) => `reminder:${lot}:1`).sort());
  });

  it('runSweep expires holds, then lots, then queues reminders', async () => {
    const lot = await givePoints(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', points: 500, expiresAt: new Date('2025-01-15T02:10:00Z') });
    await givePoints(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', points: 300, expiresAt: new Date('2025-01-17T16:00:00Z') });
    await reserveHold(shop.ledger, { merchantId: shop.merchantId, shopperId: 'alice', checkoutId: 'c1', points: 400, cartAmount: 100_000 });
    shop.clock.advance(20 * MINUTE_MS);
    const stages: string[] = [];

    const report = await runSweep(shop.ledger, { merchantId: shop.merchantId, onStage: (stage) => stages.push(stage) });

    expect(stages).toEqual(['holds', 'pending', 'releases', 'lots', 'capouts', 'reminders']);
    expect(report.holds.expiredHolds).toBe(1);
    expect(report.lots).toMatchObject({ expiredLots: 1, expiredPoints: 500 });
    expect(report.reminders.reminders).toBe(1);
    expect(await lotOf(shop.ledger.db, lot)).toMatchObject({ remaining: 0, status: 'expired' });
    expect(await balanceOf(shop.ledger.db, shop.merchantId, 'alice')).toEqual({ available: 300, held: 0, pending: 0 });
  });
});

describeEachDialect('the notification outbox', (dialect) => {
  const shop = useShop(dialect, { clock: () => aClock('2025-01-15T02:00:00Z'), merchant: aMerchant, assertInvariants: false });

  it('queues a dedupe key once, hands due messages out under a lease, and backs off after a failure', async () => {
    const queued = await shop.ledger.write(async (tx) => [
      await enqueue(tx, { merchantId: shop.merchantId, kind: 'test', dedupeKey: 'a', payload: { n: 1 } }),
      await enqueue(tx, { merchantId: shop.merchantId, kind: 'test', dedupeKey: 'a', payload: { n: 2 } }),
      await enqueue(tx, { merchantId: shop.merchantId, kind: 'test', dedupeKey: 'b', payload: { n: 3 } }),
    ]);
    expect(queued).toEqual([true, false, true]);

    const claimed = await claimDue(shop.ledger, { limit: 10, merchantId: shop.merchantId });
    expect(claimed.map((message) => [message.dedupeKey, message.payload, message.attempts])).toEqual([
      ['a', { n: 1 }, 1],
      ['b', { n: 3 }, 1],
    ]);
    expect(await claimDue(shop.ledger, { limit: 10, merchantId: shop.merchantId })).toEqual([]);

    await markDelivered(shop.ledger, claimed[0]!.id);
    await markFailed(shop.ledger, claimed[1]!, 'HTTP 503');
    shop.clock.advance(outboxBackoffMs(1) - 1);
    expect(await claimDue(shop.ledger, { limit: 10, merchantId: shop.merchantId })).toEqual([]);
    shop.clock.advance(1);
    const retried = await claimDue(shop.ledger, { limit: 10, merchantId: shop.merchantId });
    expect(retried.map((message) => [message.dedupeKey, message.attempts])).toEqual([['b', 2]]);
    expect(outboxBackoffMs(2)).toBe(2 * outboxBackoffMs(1));
  });

  it('gives a claimed message back when its lease runs out undelivered', async () => {
    await shop.ledger.write((tx) => enqueue(tx, { merchantId: shop.merchantId, kind: 'test', dedupeKey: 'a', payload: {} }));
    expect(await claimDue(shop.ledger, { limit: 1, merchantId: shop.merchantId, leaseMs: 30_000 })).toHaveLength(1);
    shop.clock.advance(29_999);
    expect(await claimDue(shop.ledger, { limit: 1, merchantId: shop.merchantId })).toHaveLength(0);
    shop.clock.advance(1);
    expect(await claimDue(shop.ledger, { limit: 1, merchantId: shop.merchantId })).toHaveLength(1);
  });

  it('lets only the current claim report on a message: a deliverer whose lease ran out moves nothing', async () => {
    await shop.ledger.write((tx) => enqueue(tx, { merchantId: shop.merchantId, kind: 'test', dedupeKey: 'a', payload: {} }));
    const [stale] = await claimDue(shop.ledger, { limit: 1, merchantId: shop.merchantId, leaseMs: 30_000 });
    shop.clock.advance(30_000);
    // Another replica claims it again (a 60 s lease) while the first is still sending.
    const [current] = await claimDue(shop.ledger, { limit: 1, merchantId: shop.merchantId, leaseMs: 60_000 });
    expect([stale!.attempts, current!.attempts]).toEqual([1, 2]);
    const row = () => shop.ledger.db.selectFrom('outbox').select(['attempts', 'next_attempt_at', 'last_error']).where('id', '=', current!.id).executeTakeFirstOrThrow();
    const claimedRow = await row();
    await markFailed(shop.ledger, stale!, 'HTTP 503');
    await releaseClaim(shop.ledger, stale!, 0);
    expect(await row()).toEqual(claimedRow);
    // The current claim's report still counts.
    await markFailed(shop.ledger, current!, 'HTTP 503');
    expect(await row()).toMatchObject({ attempts: 2, next_attempt_at: shop.clock.now.getTime() + outboxBackoffMs(2), last_error: 'HTTP 503' });
  });
});

describeEachDialect('runSweep: staged pool releases', (dialect) => {
  const shop = useShop(dialect, {
    clock: () => anOrdersClock(),
    merchant: (ledger) => aShop(ledger, { earning: { monthlyBudgetRate: null }, valuation: { kind: 'pool', risk: { concentrationReview: 1 }, release: { periods: 32, periodDays: 1 } } }),
  });

  it('releases what vested behind a full batch of lots whose share of the period rounds to nothing', async () => {
    // Two small lots due first (a 32nd of each is 0 units), then a large one.
    for (const shopperId of ['a', 'b', 'c']) {
      await orderPaid(shop.ledger, aPaidOrder(shop.merchantId, { orderId: `${shopperId}-1`, shopperId, amount: shopperId === 'c' ? 100_000 : 100 }));
      await orderCompleted(shop.ledger, { merchantId: shop.merchantId, orderId: `${shopperId}-1` });
      shop.clock.advance(1_000);
    }
    const [minted] = await shop.ledger.db.selectFrom('lots').select('points').where('merchant_id', '=', shop.merchantId).where('shopper_id', '=', 'c').execute();
    shop.clock.advance(DAY_MS);
    const report = await runSweep(shop.ledger, { merchantId: shop.merchantId, batchSize: 2 });
    expect(report.releases.lots).toBe(3);
    expect(await orderBalance(shop.ledger.db, shop.merchantId, 'c')).toMatchObject({ available: Math.floor(minted!.points / 32) });
    await assertLedgerInvariants(shop.ledger.db, shop.merchantId);
  });
});
