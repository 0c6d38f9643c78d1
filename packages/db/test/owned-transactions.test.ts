import type { ControlledTransaction, Kysely } from 'kysely';
import { describe, expect, test } from 'vitest';
import { type Database, insertMany, isUniqueViolation, ownTransaction, prepareQuery, releaseTransaction } from '../src';
import { useTestDb } from '../src/testing';
import { aMerchant } from './builders';

/**
 * Statements of a transaction its owner handed over (`ownTransaction`, as the Ledger does) run
 * straight on the SQLite connection instead of through Kysely's queue: same results, same
 * transaction, released before it ends.
 */
describe('owned transactions (sqlite)', () => {
  const testDb = useTestDb('sqlite');

  const nameOf = prepareQuery((db, key: { id: string }) => db.selectFrom('merchants').select('name').where('id', '=', key.id));
  const rename = prepareQuery((db, change: { id: string; name: string }) => db.updateTable('merchants').set({ name: change.name }).where('id', '=', change.id));

  /**
   * Runs `work` in a transaction handed over as the Ledger hands its own, then takes it back and
   * ends it as `end` says — also when `work` fails, so a failed test never leaves the write lock held.
   */
  async function inOwnedTransaction(db: Kysely<Database>, end: 'commit' | 'rollback', work: (trx: ControlledTransaction<Database>) => Promise<void>) {
    const trx = await db.startTransaction().execute();
    try {
      ownTransaction(trx, db);
      await work(trx);
    } finally {
      releaseTransaction(trx);
      await (end === 'commit' ? trx.commit() : trx.rollback()).execute();
    }
    return trx;
  }

  test('a prepared statement answers as through Kysely and sees the transaction’s own writes', async () => {
    const { db } = testDb();
    await db.insertInto('merchants').values(aMerchant({ id: 'own_1', name: 'before' })).execute();
    await inOwnedTransaction(db, 'rollback', async (trx) => {
      expect(await rename.executeWrite(trx, { id: 'own_1', name: 'inside' })).toBe(1);
      expect(await rename.executeWrite(trx, { id: 'nobody', name: 'x' })).toBe(0);
      expect(await nameOf.execute(trx, { id: 'own_1' })).toEqual([{ name: 'inside' }]);
      // Kysely's own way, on the same transaction, sees the same row.
      expect(await trx.selectFrom('merchants').select('name').where('id', '=', 'own_1').execute()).toEqual([{ name: 'inside' }]);
    });
    expect(await nameOf.execute(db, { id: 'own_1' })).toEqual([{ name: 'before' }]);
  });

  test('its statements run at once, ahead of a Kysely statement still queued behind another', async () => {
    const { db } = testDb();
    const ended = await inOwnedTransaction(db, 'commit', async (trx) => {
      // Not awaited: Kysely runs the first insert now and queues the second behind it, for a later
      // turn; the owned read runs now, before the second. (Nothing in jifen issues statements of one
      // transaction concurrently; this shows the path taken.)
      const first = trx.insertInto('merchants').values(aMerchant({ id: 'own_2a' })).execute();
      const second = trx.insertInto('merchants').values(aMerchant({ id: 'own_2b' })).execute();
      const direct = nameOf.execute(trx, { id: 'own_2b' });
      await Promise.all([first, second]);
      expect(await direct).toEqual([]);
      expect(await nameOf.execute(trx, { id: 'own_2b' })).toHaveLength(1);
      releaseTransaction(trx);
      // Released, the transaction's statements take Kysely's way again: the same answer.
      expect(await nameOf.execute(trx, { id: 'own_2a' })).toHaveLength(1);
    });
    await expect(nameOf.execute(ended, { id: 'own_2a' })).rejects.toThrow(/committed/);
  });

  test('a failing statement rejects as through Kysely, and insertMany runs on the connection too', async () => {
    const { db } = testDb();
    await inOwnedTransaction(db, 'rollback', async (trx) => {
      await insertMany(trx, 'merchants', [aMerchant({ id: 'own_3a' }), aMerchant({ id: 'own_3b' })]);
      const failure = await insertMany(trx, 'merchants', [aMerchant({ id: 'own_3a' })]).then(
        () => expect.fail('a duplicate key must fail'),
        (error: unknown) => error,
      );
      expect(isUniqueViolation(failure)).toBe(true);
      expect(await trx.selectFrom('merchants').select('id').where('id', 'like', 'own_3%').orderBy('id').execute()).toEqual([{ id: 'own_3a' }, { id: 'own_3b' }]);
    });
    expect(await db.selectFrom('merchants').select('id').where('id', 'like', 'own_3%').execute()).toEqual([]);
  });
});
