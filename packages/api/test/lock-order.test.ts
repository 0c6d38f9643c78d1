import { createDb } from '@jifen/db';
import { describePostgres, useTestDb } from '@jifen/db/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { reserveHold } from '../src/holds';
import { Ledger } from '../src/ledger';
import { orderPaid } from '../src/orders';
import { assertLedgerInvariants } from '../src/verify';
import { aShopMerchant, creditPoints } from './harness/builders';
import { aPoolProgram } from './support-holds';

/**
 * Every write takes the shop's locks in one order — shopper, pool, budget month, journal head — so
 * none waits in a cycle (docs/storage.md). A paid order that captures a hold journals the capture and
 * (pool mode) pays out of the pool: it used to lock the head before the budget row, while a plain
 * paid order locks the budget row and then the head, and Postgres aborted one of each such pair with
 * a deadlock. With one attempt only, a deadlock would surface here as an error.
 */
describePostgres('paid orders capturing holds, racing plain paid orders, keep the lock order', () => {
  const database = useTestDb('postgres');
  const now = new Date('2026-03-02T02:00:00Z');
  let setup: Ledger;
  let store: ReturnType<typeof createDb>;
  let racing: Ledger;

  beforeAll(() => {
    setup = new Ledger(database(), { clock: () => now });
    store = createDb({ url: database().url, maxConnections: 16 });
    racing = new Ledger(store, { clock: () => now, retryAttempts: 1 });
  });
  afterAll(async () => {
    await store.close();
  });

  for (const [mode, program] of [
    ['fixed', undefined],
    ['pool', aPoolProgram()],
  ] as const) {
    it(`none deadlocks (${mode} mode): 8 captures and 8 plain orders at once, 3 rounds, one attempt each`, async () => {
      const merchantId = await aShopMerchant(setup, ...(program === undefined ? [] : [program]));
      const failures: string[] = [];
      for (let round = 0; round < 3; round += 1) {
        const holds = [];
        for (let index = 0; index < 8; index += 1) {
          await creditPoints(setup, merchantId, `r${round}-h${index}`, 5_000);
          holds.push(await reserveHold(setup, { merchantId, shopperId: `r${round}-h${index}`, checkoutId: `c-${index}`, points: 1_000, cartAmount: 10_000 }));
        }
        const orders = holds.flatMap((hold, index) => [
          () => orderPaid(racing, { merchantId, orderId: `r${round}-capture-${index}`, shopperId: `r${round}-h${index}`, amount: 10_000, currency: 'CNY', holdId: hold.holdId }),
          () => orderPaid(racing, { merchantId, orderId: `r${round}-plain-${index}`, shopperId: `r${round}-p${index}`, amount: 10_000, currency: 'CNY' }),
        ]);
        for (const outcome of await Promise.allSettled(orders.map((order) => order()))) {
          if (outcome.status === 'rejected') failures.push(String((outcome.reason as Error).message));
        }
      }
      expect(failures).toEqual([]);
      const captured = await setup.db.selectFrom('holds').select('status').where('merchant_id', '=', merchantId).execute();
      expect(captured.map((hold) => hold.status)).toEqual(Array.from({ length: 24 }, () => 'captured'));
      await assertLedgerInvariants(setup.db, merchantId);
    });
  }
});
