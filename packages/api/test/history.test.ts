import { type JifenDb, createDb, migrateToLatest } from '@jifen/db';
import { describeEachDialect, useTestDb } from '@jifen/db/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { JifenError } from '../src/errors';
import { Ledger } from '../src/ledger';
import { assertLedgerInvariants } from '../src/verify';
import { aShopMerchant, anIndependentShopperProgram } from './harness/builders';
import { type LedgerSnapshot, ledgerSnapshot } from './harness/ledger-snapshot';
import { seedFromEnvironment, seededRandom } from '../src/testing';
import { type Delivery, type GeneratedHistory, type ShopEventKind, applyShopEvent, deliverOutOfOrder, generateShopHistory } from './harness/shop-history';

/**
 * A 1,000-event shop history (issue 3 "Tests"): orders paid, completed, refunded (partly, several
 * times) and cancelled, checkouts reserved and paid with their hold or released — delivered as a
 * shop platform delivers it, 30% of the events again later and 20% early (a refund before its
 * order is completed or even paid). The ledger must end exactly where the same history applied
 * once, in order, to a fresh database ends: the model.
 */

const START = new Date('2026-03-02T02:00:00Z');
const PROGRAM = anIndependentShopperProgram();
const random = seededRandom(seedFromEnvironment());

let modelStore: JifenDb;
let history: GeneratedHistory;
let model: LedgerSnapshot;
let delivery: Delivery;

beforeAll(async () => {
  console.info(`history.test.ts: JIFEN_TEST_SEED=${random.seed}`);
  // The model: an in-memory database that sees each event once, in order, as it is generated.
  modelStore = createDb({ url: 'sqlite::memory:' });
  await migrateToLatest(modelStore.db);
  let now = START;
  const ledger = new Ledger(modelStore, { clock: () => now });
  const merchantId = await aShopMerchant(ledger, PROGRAM);
  // One millisecond per event: two lots are never earned at the same instant, so which one a spend
  // takes first never falls to their random ids (rules `compareLotsForSpending`).
  history = await generateShopHistory(
    {
      ledger,
      merchantId,
      setClock: (at) => {
        now = at;
      },
    },
    { events: 1_000, shoppers: 12, startAt: START, stepMs: 1, sweepEvery: 0 },
    random,
  );
  await assertLedgerInvariants(ledger.db, merchantId);
  model = await ledgerSnapshot(ledger.db, merchantId);
  delivery = deliverOutOfOrder(history.events, random, { reorderedShare: 0.2, duplicateShare: 0.3 });
}, 180_000);

afterAll(async () => {
  await modelStore?.close();
});

it('the generated history exercises every kind of event, and its delivery really is duplicated and out of order', () => {
  const kinds = new Set<ShopEventKind | 'paid with a hold'>(history.events.map((event) => event.kind));
  if (history.events.some((event) => event.kind === 'paid' && event.checkoutId !== undefined)) kinds.add('paid with a hold');
  expect([...kinds].sort()).toEqual(['cancelled', 'completed', 'paid', 'paid with a hold', 'refunded', 'release', 'reserve'].sort());
  expect(history.events).toHaveLength(1_000);
  expect(delivery.events).toHaveLength(1_300);
  expect(delivery.duplicates).toBe(300);
  expect(delivery.reordered).toBe(200);
  expect(delivery.beforeTheirOrder).toBeGreaterThan(0);
  expect(delivery.refundsBeforeCompletion).toBeGreaterThan(0);
  // Refunds took back points already spent (debt) and gave back points used to pay (restores).
  expect(Object.values(model.refunds).some((refund) => refund.debtAdded > 0)).toBe(true);
  expect(Object.values(model.refunds).some((refund) => refund.pointsRestored > 0)).toBe(true);
});

describeEachDialect('a 1,000-event shop history delivered with 30% duplicates and 20% reordered', (dialect) => {
  const database = useTestDb(dialect);

  it("ends in exactly the model's state: every shopper's balances and lots, every order, refund and hold, and the journal's totals", async () => {
    let now = START;
    const ledger = new Ledger(database(), { clock: () => now });
    const merchantId = await aShopMerchant(ledger, PROGRAM);
    const refusals: string[] = [];
    let waited = 0;
    for (const event of delivery.events) {
      // Each delivery happens at its event's instant in the history (a retry too), as in the model.
      now = new Date(event.at);
      try {
        const applied = await applyShopEvent(ledger, merchantId, event);
        if (applied.status === 'waiting') waited += 1;
      } catch (error) {
        if (!(error instanceof JifenError)) throw error;
        refusals.push(`${event.id} (${event.kind}): ${error.message}`);
      }
    }

    expect(refusals, `seed ${random.seed}`).toEqual([]);
    expect(waited, 'events arrived before their order and waited for it').toBeGreaterThan(0);
    expect(await ledgerSnapshot(ledger.db, merchantId), `seed ${random.seed}`).toEqual(model);
    await assertLedgerInvariants(ledger.db, merchantId);
  });
});
