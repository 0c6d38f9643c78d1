import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Database } from '@jifen/db';
import { type JifenDb, createDb, migrateToLatest } from '@jifen/db';
import { type TestDb, createTestDb, describeEachDialect } from '@jifen/db/testing';
import { type Kysely, sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Ledger } from '../src/ledger';
import { assertLedgerInvariants } from '../src/verify';
import { aShopMerchant, anIndependentShopperProgram } from './harness/builders';
import { ledgerSnapshot } from './harness/ledger-snapshot';
import { type Random, seedFromEnvironment, seededRandom } from '../src/testing';
import { type GeneratedHistory, type ShopEvent, generateShopHistory } from './harness/shop-history';
import { type WorkerBundle, bundleWorker, startWorker } from './harness/worker-bundle';

/**
 * Crash (SPEC §7 "A crash or kill -9 mid-write loses no committed event and leaves no half-written
 * one"; issue 3 "Tests"), on SQLite at `synchronous=FULL` and on Postgres: a child process ingests
 * a shop's event stream and is killed with SIGKILL at 20 moments — most at random, one frozen inside
 * a refund's transaction, one inside the expiry sweep's. After each kill the ledger verifies, every
 * event the child acknowledged is there, no event is half there, and the next child retries from
 * the first unacknowledged event. The end state is the model's: the same stream applied once,
 * without kills, to a fresh database. On Postgres the killed child's connections close with it, and
 * the server rolls back what they had open; the checks wait until those sessions are gone.
 */

const START = new Date('2026-01-05T02:00:00Z');
const HOUR_MS = 3_600_000;
const EVENTS = 300;
const KILLS = 20;
/** Points expire a month after they are earned; holds live a day: the stream spans 50 days of both. */
const PROGRAM = anIndependentShopperProgram({ expiry: { kind: 'rolling', months: 1 }, redemption: { holdTtlSeconds: 86_400 } });

/**
 * A kill moment. A child goes on ingesting for the few milliseconds a kill takes to land, so it can
 * pass the next planned moment: a plan then applies at the first moment still ahead — the first ack
 * at or after `afterAck`, the first eligible event (`candidates`) at or after `event`.
 */
type KillPlan =
  | { kind: 'random'; afterAck: number; delayMs: number }
  | { kind: 'inside'; event: number; candidates: readonly number[]; stage: 'refund' | 'sweep:lots' | 'acknowledging'; query: number };

const random = seededRandom(seedFromEnvironment());
let bundle: WorkerBundle;
let modelStore: JifenDb;
let history: GeneratedHistory;

beforeAll(async () => {
  console.info(`crash.test.ts: JIFEN_TEST_SEED=${random.seed}`);
  const building = bundleWorker('ingest-worker');
  modelStore = createDb({ url: 'sqlite::memory:' });
  await migrateToLatest(modelStore.db);
  bundle = await building;
}, 120_000);

afterAll(async () => {
  bundle?.remove();
  await modelStore?.close();
});

describeEachDialect('crash: a child ingesting events killed with SIGKILL at 20 moments', (dialect) => {
  let testDb: TestDb;
  let folder: string;

  beforeAll(async () => {
    testDb = await createTestDb(dialect);
    folder = mkdtempSync(join(tmpdir(), 'jifen-crash-'));
  });

  afterAll(async () => {
    await testDb?.close();
    if (folder !== undefined) rmSync(folder, { recursive: true, force: true });
  });

  it('after each restart the ledger verifies, acknowledged events are all there, none is half-written, and retries give one effect each', async () => {
    let now = START;
    const modelLedger = new Ledger(modelStore, { clock: () => now });
    const modelMerchant = await aShopMerchant(modelLedger, PROGRAM);
    history = await generateShopHistory(
      {
        ledger: modelLedger,
        merchantId: modelMerchant,
        setClock: (at) => {
          now = at;
        },
      },
      { events: EVENTS, shoppers: 6, startAt: START, stepMs: 4 * HOUR_MS, sweepEvery: 25 },
      random,
    );
    const events = history.events;

    const ledger = new Ledger(testDb, { clock: () => START });
    const merchantId = await aShopMerchant(ledger, PROGRAM);
    const eventsPath = join(folder, 'events.json');
    writeFileSync(eventsPath, JSON.stringify(events));

    const plans = killPlans(random, events, history);
    let next = 0;
    for (const planned of plans) {
      const plan = await fromHere(planned, next, (index) => alreadyWritten(testDb.db, merchantId, events[index]!));
      const run = await ingest({ eventsPath, merchantId, from: next, plan });
      await untilTheChildsSessionsEnd(testDb);
      expect(run.refused, 'the stream has no refusals: every retry is a replay or a first attempt').toEqual([]);
      expect(run.killed, `the kill (${describePlan(plan)}) landed before the child finished`).toBe(true);
      const lastAcked = run.acked.length > 0 ? Math.max(...run.acked) : next - 1;
      if (plan.kind === 'inside') {
        expect(run.insideSeen, `the child froze inside ${plan.stage}`).toBe(true);
        expect(lastAcked, 'the frozen event was not acknowledged').toBe(plan.event - 1);
        // Killed mid-transaction, the write rolled back whole: the refund is absent, the sweep's expiry
        // batch left no entry. Killed after the commit but before the answer, the event is all there
        // unacknowledged, and the next child's retry must be a replay.
        const target = events[plan.event]!;
        if (plan.stage === 'refund') expect(await footprintOf(testDb.db, merchantId, target)).toBe('absent');
        if (plan.stage === 'sweep:lots') expect(await entriesAt(testDb.db, merchantId, 'expire', target.at)).toBe(0);
        if (plan.stage === 'acknowledging') expect(await footprintOf(testDb.db, merchantId, target)).toBe('present');
      }

      await assertLedgerInvariants(testDb.db, merchantId);
      for (let index = 0; index < Math.min(events.length, lastAcked + 4); index += 1) {
        const footprint = await footprintOf(testDb.db, merchantId, events[index]!);
        if (index <= lastAcked) expect(footprint, `acknowledged event ${index} (${events[index]!.kind}) is all there`).toBe('present');
        else expect(footprint, `unacknowledged event ${index} (${events[index]!.kind}) is all there or not at all`).not.toBe('partial');
      }
      next = lastAcked + 1;
    }

    const last = await ingest({ eventsPath, merchantId, from: next, plan: null });
    expect(last.refused).toEqual([]);
    expect(last.done, 'the last child ingested the rest of the stream').toBe(true);
    await assertLedgerInvariants(testDb.db, merchantId);
    expect(await oneShotEntriesRepeated(testDb.db, merchantId)).toEqual([]);
    expect(await ledgerSnapshot(testDb.db, merchantId), `seed ${random.seed}`).toEqual(await ledgerSnapshot(modelStore.db, modelMerchant));
  }, 240_000);

  function ingest(run: { eventsPath: string; merchantId: string; from: number; plan: KillPlan | null }) {
    const env: Record<string, string> =
      run.plan?.kind === 'inside' ? { JIFEN_CRASH_INSIDE: JSON.stringify({ eventId: history.events[run.plan.event]!.id, stage: run.plan.stage, query: run.plan.query }) } : {};
    const child = startWorker(bundle, [testDb.url, run.merchantId, run.eventsPath, String(run.from)], env);
    return watch(child, run.plan);
  }
});

interface IngestRun {
  acked: number[];
  refused: string[];
  insideSeen: boolean;
  done: boolean;
  killed: boolean;
}

/** Reads the child's answers and carries out the plan: SIGKILL after an ack (plus a few ms), or as soon as it freezes inside a write. */
function watch(child: ChildProcess, plan: KillPlan | null): Promise<IngestRun> {
  const run: IngestRun = { acked: [], refused: [], insideSeen: false, done: false, killed: false };
  const stderr: string[] = [];
  let buffered = '';
  const kill = () => {
    if (run.killed) return;
    run.killed = child.kill('SIGKILL');
  };
  child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
  child.stdout?.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      const [word, index, reason] = line.split(' ');
      if (word === 'ack') {
        run.acked.push(Number(index));
        if (plan?.kind === 'random' && Number(index) >= plan.afterAck) setTimeout(kill, plan.delayMs);
      } else if (word === 'refused') run.refused.push(`${index}: ${reason}`);
      else if (word === 'inside') {
        run.insideSeen = true;
        kill();
      } else if (word === 'done') run.done = true;
    }
  });
  return new Promise((resolve, reject) => {
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL' || code === 0) resolve(run);
      else reject(new Error(`ingest worker exited with ${code ?? signal}: ${stderr.join('').slice(-3000)}`));
    });
  });
}

/**
 * Postgres: waits until no session of another process is still working on the test database. A
 * killed child's backends notice the closed socket and roll back (or finish a commit already under
 * way) a moment after the kill; a check made meanwhile could see a commit land between two of its
 * statements. The parent's own pooled connections are idle between its queries.
 */
async function untilTheChildsSessionsEnd(testDb: TestDb): Promise<void> {
  if (testDb.sqlitePath !== null) return;
  const deadline = Date.now() + 10_000;
  for (;;) {
    const { rows } = await sql<{ busy: number }>`select count(*) as busy from pg_stat_activity
      where datname = current_database() and pid <> pg_backend_pid() and state is distinct from 'idle'`.execute(testDb.db);
    if (Number(rows[0]!.busy) === 0) return;
    if (Date.now() > deadline) throw new Error(`crash test: ${rows[0]!.busy} session(s) of the killed child still open after 10 s`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * Twenty kill moments spread over the stream, in order: most right after a random event was
 * acknowledged (so the kill lands somewhere in the next write, or between writes), one frozen
 * inside a refund's transaction, one inside the sweep's lot-expiry transaction (on a sweep that has
 * lots to expire, so the transaction is mid-way through expiring them), and one after an order
 * event committed but before the child answered it (the case a retry must turn into a replay).
 */
function killPlans(random: Random, events: readonly ShopEvent[], history: GeneratedHistory): KillPlan[] {
  const sweepsThatExpire = events
    .map((event, index) => ({ event, index }))
    .filter(({ event }) => event.kind === 'sweep' && expiredLotsOf(history.results.get(event.id)?.value) > 0)
    .map(({ index }) => index);
  const refunds = events.map((event, index) => ({ event, index })).filter(({ event }) => event.kind === 'refunded').map(({ index }) => index);
  if (sweepsThatExpire.length === 0 || refunds.length === 0) throw new Error('crash test: the stream needs a refund and a sweep that expires lots');
  const payments = events.map((event, index) => ({ event, index })).filter(({ event }) => event.kind === 'paid').map(({ index }) => index);
  // Targets in the first part of the stream, so that later eligible events remain if a kill overshoots.
  const early = (candidates: number[]) => candidates.slice(0, Math.max(1, Math.ceil(candidates.length / 2)));
  const insideSweep = random.pick(early(sweepsThatExpire));
  const insideRefund = random.pick(early(refunds));
  const beforeAck = random.pick(early(payments.filter((index) => index !== insideRefund && index !== insideSweep)));
  const moments = new Set<number>([insideSweep, insideRefund, beforeAck]);
  // Random moments stop well before the end, so the child is still ingesting when the kill lands.
  while (moments.size < KILLS) moments.add(random.integer(1, events.length - 20));
  return [...moments]
    .sort((a, b) => a - b)
    .map((moment): KillPlan => {
      if (moment === insideSweep) return { kind: 'inside', event: moment, candidates: sweepsThatExpire, stage: 'sweep:lots', query: random.integer(1, 2) };
      // Statements a refund runs in its transaction: the idempotency claim among the first few, then
      // reads, the lots and balances, the order, the refund row and the journal (19 to 30 of them for a
      // first refund of an order). The worker freezes at the chosen one or, in a refund that runs
      // fewer, after its last, just before the commit.
      if (moment === insideRefund) return { kind: 'inside', event: moment, candidates: refunds, stage: 'refund', query: random.integer(3, 24) };
      if (moment === beforeAck) return { kind: 'inside', event: moment, candidates: payments, stage: 'acknowledging', query: 1 };
      return { kind: 'random', afterAck: moment - 1, delayMs: random.integer(0, 4) };
    });
}

function describePlan(plan: KillPlan): string {
  return plan.kind === 'random' ? `${plan.delayMs} ms after ack ${plan.afterAck}` : `inside ${plan.stage} of event ${plan.event}, query ${plan.query}`;
}

/**
 * An earlier kill may have landed after an event committed but before the child answered it: the
 * retry is then a replay, with nothing to freeze inside. A refund or sweep plan moves on to the next
 * candidate whose write is not in the database yet.
 */
async function fromHere(plan: KillPlan, from: number, written: (index: number) => Promise<boolean>): Promise<KillPlan> {
  if (plan.kind === 'random') return { ...plan, afterAck: Math.max(plan.afterAck, from) };
  for (const event of plan.candidates) {
    if (event < Math.max(plan.event, from)) continue;
    if (plan.stage !== 'acknowledging' && (await written(event))) continue;
    return { ...plan, event };
  }
  throw new Error(`crash test: no event left to kill inside ${plan.stage} after ${from}`);
}

/** Whether a refund's or a sweep's write is already in the database (any of it: a partial write fails the checks). */
async function alreadyWritten(db: Kysely<Database>, merchantId: string, event: ShopEvent): Promise<boolean> {
  if (event.kind === 'sweep') return (await entriesAt(db, merchantId, 'expire', event.at)) > 0;
  return (await footprintOf(db, merchantId, event)) !== 'absent';
}

function expiredLotsOf(sweep: unknown): number {
  return (sweep as { lots?: { expiredLots?: number } } | undefined)?.lots?.expiredLots ?? 0;
}

/**
 * Whether an event's writes are in the database: all of them ('present'), none ('absent'), or some
 * ('partial', which a transaction must never allow). Each event leaves rows in more than one table.
 */
async function footprintOf(db: Kysely<Database>, merchantId: string, event: ShopEvent): Promise<'present' | 'absent' | 'partial'> {
  const idempotency = async (scope: string, key: string) =>
    (await db.selectFrom('idempotency').select('key').where('merchant_id', '=', merchantId).where('scope', '=', scope).where('key', '=', key).executeTakeFirst()) !== undefined;
  const order = async (orderId: string) =>
    db.selectFrom('orders').select(['status', 'hold_id', 'earned_points', 'paid_response']).where('merchant_id', '=', merchantId).where('order_id', '=', orderId).executeTakeFirst();
  const hold = async (shopperId: string, checkoutId: string) =>
    db.selectFrom('holds').select(['hold_id', 'status']).where('merchant_id', '=', merchantId).where('shopper_id', '=', shopperId).where('checkout_id', '=', checkoutId).executeTakeFirst();
  const journaled = async (kind: string, ref: string) =>
    (await db.selectFrom('journal').select('seq').where('merchant_id', '=', merchantId).where('kind', '=', kind).where('ref', '=', ref).executeTakeFirst()) !== undefined;

  let marks: boolean[];
  switch (event.kind) {
    case 'paid': {
      const row = await order(event.orderId);
      // The order row holds the paid event's answer (its idempotency record); an earning order also journals.
      marks = [row !== undefined, row?.paid_response != null];
      if (row === undefined || row.earned_points > 0) marks.push(await journaled('earn', event.orderId));
      if (event.checkoutId !== undefined) {
        const captured = await hold(event.shopperId, event.checkoutId);
        marks.push(captured?.status === 'captured', captured !== undefined && (await journaled('hold.capture', captured.hold_id)));
      }
      break;
    }
    case 'completed':
      marks = [await idempotency('orders.completed', event.orderId), (await order(event.orderId))?.status === 'completed'];
      break;
    case 'cancelled':
      marks = [await idempotency('orders.cancelled', event.orderId), (await order(event.orderId))?.status === 'cancelled'];
      break;
    case 'refunded': {
      const refund = await db.selectFrom('refunds').select('refund_id').where('merchant_id', '=', merchantId).where('refund_id', '=', event.refundId).executeTakeFirst();
      marks = [await idempotency('orders.refunded', event.refundId), refund !== undefined];
      break;
    }
    case 'reserve': {
      const placed = await hold(event.shopperId, event.checkoutId);
      marks = [placed !== undefined, placed !== undefined && (await journaled('hold.place', placed.hold_id))];
      break;
    }
    case 'release': {
      const released = await hold(event.shopperId, event.checkoutId);
      marks = [released?.status === 'released', released !== undefined && (await journaled('hold.release', released.hold_id))];
      break;
    }
    case 'sweep':
      // A sweep leaves nothing of its own: its batches are checked by the invariants and the end state.
      return 'present';
  }
  if (marks.every(Boolean)) return 'present';
  return marks.some(Boolean) ? 'partial' : 'absent';
}

async function entriesAt(db: Kysely<Database>, merchantId: string, kind: string, at: number): Promise<number> {
  const row = await db
    .selectFrom('journal')
    .select((eb) => eb.fn.countAll<number>().as('entries'))
    .where('merchant_id', '=', merchantId)
    .where('kind', '=', kind)
    .where('created_at', '=', at)
    .executeTakeFirstOrThrow();
  return Number(row.entries);
}

/** Entries that answer once per caller id, repeated: a retried event that took effect twice. */
async function oneShotEntriesRepeated(db: Kysely<Database>, merchantId: string) {
  const rows = await db
    .selectFrom('journal')
    .select((eb) => ['kind', 'ref', eb.fn.countAll<number>().as('entries')])
    .where('merchant_id', '=', merchantId)
    .where('kind', 'in', ['earn', 'debt.settle', 'earn.cancel', 'refund.clawback', 'hold.place', 'hold.capture', 'hold.release', 'hold.expire'])
    .groupBy(['kind', 'ref'])
    .execute();
  return rows.filter((row) => Number(row.entries) > 1).map((row) => `${row.kind} ${row.ref} × ${Number(row.entries)}`);
}
