import { expect, test } from 'vitest';
import { isRetryableTransactionError, isUniqueViolation } from '../src';
import { describeEachDialect, useTestDb } from '../src/testing';
import { aCouponTemplate, aMerchant, aPoolState } from './builders';

async function failureOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.fail('expected the statement to fail'),
    (error: unknown) => error,
  );
}

describeEachDialect('transactions', (dialect) => {
  const testDb = useTestDb(dialect);

  const merchantIdsLike = async (prefix: string) =>
    (await testDb().db.selectFrom('merchants').select('id').where('id', 'like', `${prefix}%`).orderBy('id').execute()).map(
      (row) => row.id,
    );

  test('rolling back to a savepoint undoes what followed it and keeps what came before and after', async () => {
    const transaction = await testDb().db.startTransaction().execute();
    await transaction.insertInto('merchants').values(aMerchant({ id: 'sp_1_before' })).execute();
    const savepoint = await transaction.savepoint('event_2').execute();
    await savepoint.insertInto('merchants').values(aMerchant({ id: 'sp_1_undone' })).execute();
    const rolledBack = await savepoint.rollbackToSavepoint('event_2').execute();
    await rolledBack.insertInto('merchants').values(aMerchant({ id: 'sp_1_after' })).execute();
    await rolledBack.commit().execute();
    expect(await merchantIdsLike('sp_1_')).toEqual(['sp_1_after', 'sp_1_before']);
  });

  test('an event that fails inside its savepoint fails alone; the rest of the group commits', async () => {
    const transaction = await testDb().db.startTransaction().execute();
    await transaction.insertInto('merchants').values(aMerchant({ id: 'sp_2_first' })).execute();
    const second = await transaction.savepoint('event_2').execute();
    const failure = await failureOf(second.insertInto('merchants').values(aMerchant({ id: 'sp_2_first' })).execute());
    expect(isUniqueViolation(failure)).toBe(true);
    // On Postgres the failed statement aborted the transaction; rolling back to the savepoint revives it.
    const revived = await second.rollbackToSavepoint('event_2').execute();
    const third = await revived.savepoint('event_3').execute();
    await third.insertInto('merchants').values(aMerchant({ id: 'sp_2_third' })).execute();
    const released = await third.releaseSavepoint('event_3').execute();
    await released.commit().execute();
    expect(await merchantIdsLike('sp_2_')).toEqual(['sp_2_first', 'sp_2_third']);
  });

  test('a primary-key collision and a unique-index collision are unique violations', async () => {
    const { db } = testDb();
    await db.insertInto('merchants').values(aMerchant({ id: 'uv_merchant' })).execute();
    const samePrimaryKey = await failureOf(db.insertInto('merchants').values(aMerchant({ id: 'uv_merchant' })).execute());
    expect(isUniqueViolation(samePrimaryKey)).toBe(true);

    const apiKey = { merchant_id: 'uv_merchant', key_hash: 'sha256:abc', key_prefix: 'jf_live_ab', created_at: 1 };
    await db.insertInto('api_keys').values({ id: 'key_1', ...apiKey }).execute();
    const sameHash = await failureOf(db.insertInto('api_keys').values({ id: 'key_2', ...apiKey }).execute());
    expect(isUniqueViolation(sameHash)).toBe(true);
    expect(isRetryableTransactionError(sameHash)).toBe(false);
  });

  test('other constraint failures are not unique violations', async () => {
    const { db } = testDb();
    const missingName = await failureOf(
      db.insertInto('merchants').values({ ...aMerchant({ id: 'uv_nameless' }), name: null as unknown as string }).execute(),
    );
    const overStock = await failureOf(
      db.insertInto('coupon_templates').values(aCouponTemplate({ template_id: 'uv_oversold', stock_total: 1, issued: 2 })).execute(),
    );
    expect(isUniqueViolation(missingName)).toBe(false);
    expect(isUniqueViolation(overStock)).toBe(false);
  });

  test('coupons without an idempotency key never collide on it', async () => {
    const { db } = testDb();
    const capoutCoupon = (code: string) => ({
      merchant_id: 'uv_merchant', code, shopper_id: 'shopper_1', source: 'capout' as const, status: 'issued' as const,
      points_cost: 0, value: 500, issued_at: 1,
    });
    await db.insertInto('coupons').values([capoutCoupon('CAP-1'), capoutCoupon('CAP-2')]).execute();
    const { count } = await db
      .selectFrom('coupons')
      .select((eb) => eb.fn.countAll<number>().as('count'))
      .where('idempotency_key', 'is', null)
      .executeTakeFirstOrThrow();
    expect(count).toBe(2);
  });

  if (dialect === 'postgres') {
    test('a serialization failure under SERIALIZABLE is recognised as retryable', async () => {
      const { db } = testDb();
      await db.insertInto('pool_state').values(aPoolState({ merchant_id: 'ser_pool', amount: 100 })).execute();
      const first = await db.startTransaction().setIsolationLevel('serializable').execute();
      try {
        await first.selectFrom('pool_state').select('amount').where('merchant_id', '=', 'ser_pool').execute();
        await db.updateTable('pool_state').set({ amount: 150 }).where('merchant_id', '=', 'ser_pool').execute();
        const failure = await failureOf(
          first.updateTable('pool_state').set({ amount: 120 }).where('merchant_id', '=', 'ser_pool').execute(),
        );
        expect((failure as { code?: string }).code).toBe('40001');
        expect(isRetryableTransactionError(failure)).toBe(true);
        expect(isUniqueViolation(failure)).toBe(false);
      } finally {
        await first.rollback().execute();
      }
    });
  }
});
