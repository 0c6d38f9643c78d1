import fc from 'fast-check';
import { type ControlledTransaction, type Kysely, sql } from 'kysely';
import { afterAll, expect, test } from 'vitest';
import { createDb, insertMany, prepareQuery } from '../src';
import type { Database } from '../src/schema';
import { describePostgres, useTestDb } from '../src/testing';
import { aLot, aMerchant, aPoolState, renameMerchant, spendLot } from './builders';

/**
 * Held writes and pipelined round trips (pg-deferred-writes.ts, pg-pipeline.ts) against a model of
 * a database that runs every statement the moment it is asked: random transactions of deferred
 * writes, reads, counted writes, savepoints and rollbacks, committed or rolled back, on one
 * connection (so the statements it has parsed go by name, pipelined, from the second use on). Every
 * read inside a transaction and the committed state after each must be what the model says.
 *
 * A deferred write that fails (a duplicate key) is the one place where holding writes shows: per the
 * buffer's contract it fails the transaction's next statement that is not deferred — a read, a
 * counted write, a savepoint, the commit — unless a rollback drops it first.
 */

const MERCHANTS = ['m1', 'm2'] as const;
const LOTS = ['l1', 'l2'] as const;

interface State {
  names: Record<string, string>;
  remaining: Record<string, number>;
  pools: Record<string, number>;
}

type Step =
  | { kind: 'rename'; merchant: number; name: string }
  | { kind: 'spend'; lot: number; points: number }
  | { kind: 'fillPool'; merchant: number; amount: number }
  | { kind: 'renameCounted'; merchant: number; name: string }
  | { kind: 'read' }
  | { kind: 'failingWrite' }
  | { kind: 'savepoint' }
  | { kind: 'rollbackToSavepoint' };

interface Transaction {
  steps: Step[];
  end: 'commit' | 'rollback';
}

const merchant = fc.integer({ min: 0, max: MERCHANTS.length - 1 });
const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('rename' as const), merchant, name: fc.constantFrom('a', 'b', 'c', 'd') }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('spend' as const), lot: fc.integer({ min: 0, max: LOTS.length - 1 }), points: fc.integer({ min: 1, max: 9 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('fillPool' as const), merchant, amount: fc.integer({ min: 0, max: 99 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('renameCounted' as const), merchant, name: fc.constantFrom('x', 'y') }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'read' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'failingWrite' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'savepoint' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'rollbackToSavepoint' as const }) },
);
const transaction: fc.Arbitrary<Transaction> = fc.record({ steps: fc.array(step, { maxLength: 8 }), end: fc.constantFrom('commit' as const, 'commit' as const, 'rollback' as const) });

const fillPool = prepareQuery((db, fill: { merchantId: string; amount: number }) => db.updateTable('pool_state').set({ amount: fill.amount }).where('merchant_id', '=', fill.merchantId));

const copy = (state: State): State => ({ names: { ...state.names }, remaining: { ...state.remaining }, pools: { ...state.pools } });

async function readState(db: Kysely<Database>, ids: { merchants: string[]; lots: string[] }): Promise<State> {
  // One statement, so inside a transaction it is one read (and one round trip) like any other.
  const rows = (
    await sql<{ kind: string; id: string; value: string }>`
      select 'name' as kind, id, name as value from merchants where id in (${sql.join(ids.merchants)})
      union all select 'remaining', id, remaining::text from lots where id in (${sql.join(ids.lots)})
      union all select 'pool', merchant_id, amount::text from pool_state where merchant_id in (${sql.join(ids.merchants)})`.execute(db)
  ).rows;
  const state: State = { names: {}, remaining: {}, pools: {} };
  for (const row of rows) {
    if (row.kind === 'name') state.names[row.id] = row.value;
    else if (row.kind === 'remaining') state.remaining[row.id] = Number(row.value);
    else state.pools[row.id] = Number(row.value);
  }
  return state;
}

describePostgres('held writes and pipelined round trips against a model that runs each statement at once', () => {
  const testDb = useTestDb('postgres');
  let runs = 0;
  const pipelined = { trips: 0 };

  afterAll(() => {
    // Not vacuous: the runs pipelined statements, by name and unnamed.
    expect(runs).toBeGreaterThan(0);
    expect(pipelined.trips).toBeGreaterThan(runs);
  });

  test.each([
    ['named statements', true],
    ['unnamed statements', false],
  ])('every read and every committed state match the model (%s)', async (_case, preparedStatements) => {
    await fc.assert(
      fc.asyncProperty(fc.array(transaction, { minLength: 1, maxLength: 6 }), async (transactions) => {
        runs += 1;
        const ids = { merchants: MERCHANTS.map((id) => `${id}_${runs}`), lots: LOTS.map((id) => `${id}_${runs}`) };
        await testDb()
          .db.insertInto('merchants')
          .values(ids.merchants.map((id) => aMerchant({ id, name: 'start' })))
          .execute();
        await testDb()
          .db.insertInto('lots')
          .values(ids.lots.map((id) => aLot({ id, merchant_id: ids.merchants[0]! })))
          .execute();
        await testDb()
          .db.insertInto('pool_state')
          .values(ids.merchants.map((id) => aPoolState({ merchant_id: id })))
          .execute();
        let committed = await readState(testDb().db, ids);

        const store = createDb({
          url: testDb().url,
          maxConnections: 1,
          preparedStatements,
          onRoundTrip: (statements) => {
            if (statements.length > 1) pipelined.trips += 1;
          },
        });
        try {
          for (const { steps, end } of transactions) {
            let model = copy(committed);
            const savepoints: State[] = [];
            // A failing write is waiting: the next statement that is not deferred must fail.
            let failureWaits = false;
            let failed = false;
            let trx: ControlledTransaction<Database> = await store.db.startTransaction().execute();
            /** Runs a statement that is not deferred: it fails if a failing write waits, and then the transaction is over. */
            const sent = async (statement: () => Promise<void>): Promise<boolean> => {
              if (!failureWaits) {
                await statement();
                return true;
              }
              await expect(statement()).rejects.toThrow(/duplicate key value violates unique constraint "pool_state_pkey"/);
              await trx.rollback().execute();
              failed = true;
              return false;
            };
            for (const current of steps) {
              if (current.kind === 'rename') {
                await renameMerchant.executeDeferred(trx, { id: ids.merchants[current.merchant]!, name: current.name });
                model.names[ids.merchants[current.merchant]!] = current.name;
              } else if (current.kind === 'spend') {
                await spendLot.executeDeferred(trx, { id: ids.lots[current.lot]!, points: current.points });
                model.remaining[ids.lots[current.lot]!]! -= current.points;
              } else if (current.kind === 'fillPool') {
                await fillPool.executeDeferred(trx, { merchantId: ids.merchants[current.merchant]!, amount: current.amount });
                model.pools[ids.merchants[current.merchant]!] = current.amount;
              } else if (current.kind === 'failingWrite') {
                // The merchant has its pool row already.
                await insertMany(trx, 'pool_state', [aPoolState({ merchant_id: ids.merchants[0]! })], { deferred: true });
                failureWaits = true;
              } else if (current.kind === 'renameCounted') {
                const ok = await sent(async () => {
                  expect(await renameMerchant.executeWrite(trx, { id: ids.merchants[current.merchant]!, name: current.name })).toBe(1);
                });
                if (!ok) break;
                model.names[ids.merchants[current.merchant]!] = current.name;
              } else if (current.kind === 'read') {
                if (!(await sent(async () => expect(await readState(trx, ids)).toEqual(model)))) break;
              } else if (current.kind === 'savepoint') {
                if (!(await sent(async () => void (trx = await trx.savepoint(`s${savepoints.length}`).execute())))) break;
                savepoints.push(copy(model));
              } else if (savepoints.length > 0) {
                // Back to the latest savepoint, which stays (as Postgres keeps it) for another rollback.
                trx = await trx.rollbackToSavepoint(`s${savepoints.length - 1}` as never).execute();
                model = copy(savepoints[savepoints.length - 1]!);
                failureWaits = false;
              }
            }
            if (!failed && end === 'commit') {
              if (await sent(() => trx.commit().execute())) committed = model;
            } else if (!failed) {
              await trx.rollback().execute();
            }
            expect(await readState(testDb().db, ids)).toEqual(committed);
          }
        } finally {
          await store.close();
        }
      }),
      { numRuns: 25 },
    );
  });
});
