import { type JifenDb, createDb } from '@jifen/db';
import { describePostgres, useTestDb } from '@jifen/db/testing';
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { adjustPoints } from '../src/adjustments';
import { quoteCheckout } from '../src/checkout';
import { exchangeCoupon, upsertTemplate } from '../src/coupons';
import { releaseHold, reserveHold } from '../src/holds';
import { Ledger } from '../src/ledger';
import { createMerchant, getMerchant } from '../src/merchants';
import { orderCompleted, orderPaid, orderRefunded } from '../src/orders';
import { shopperMe } from '../src/shoppers';
import { runSweep } from '../src/sweep';
import { aTemplate } from './support-holds';

/**
 * A rolling deploy on Postgres. Replica A (old code, one pooled connection that has parsed
 * its named statements) keeps serving while another process migrates: here, a nullable column
 * added to every table, the shape of an additive migration (docs/storage.md "Named statements":
 * a prepared query lists its columns, so an added column must not break a running server).
 */

const NOW = new Date('2026-03-02T02:00:00Z');

describePostgres('a replica keeps serving while another process adds columns', () => {
  const database = useTestDb('postgres');
  let replica: JifenDb;
  let ledger: Ledger;

  beforeAll(() => {
    replica = createDb({ url: database().url, maxConnections: 1 });
    ledger = new Ledger(replica, { clock: () => NOW });
  });

  afterAll(async () => {
    await replica?.close();
  });

  async function traffic(merchantId: string, round: string): Promise<string[]> {
    const failures: string[] = [];
    const step = async (name: string, work: () => Promise<unknown>) => {
      try {
        await work();
      } catch (error) {
        failures.push(`${name}: ${(error as { code?: string }).code ?? ''} ${(error as Error).message}`);
      }
    };
    const shopperId = `s-${round}`;
    await step('orders.paid', () => orderPaid(ledger, { merchantId, orderId: `o-${round}`, shopperId, amount: 100_000, currency: 'CNY' }));
    await step('orders.paid (2)', () => orderPaid(ledger, { merchantId, orderId: `o2-${round}`, shopperId, amount: 50_000, currency: 'CNY' }));
    await step('orders.paid replay', () => orderPaid(ledger, { merchantId, orderId: `o-${round}`, shopperId, amount: 100_000, currency: 'CNY' }));
    await step('orders.completed', () => orderCompleted(ledger, { merchantId, orderId: `o-${round}` }));
    await step('orders.refunded', () => orderRefunded(ledger, { merchantId, orderId: `o2-${round}`, refundId: `r-${round}`, amount: 10_000 }));
    await step('adjust', () => adjustPoints(ledger, { merchantId, shopperId, points: 5_000, reason: 'test', idempotencyKey: `adj-${round}` }));
    await step('quote', () => quoteCheckout(replica.db, { merchantId, shopperId, cartAmount: 20_000 }, NOW));
    await step('me', () => shopperMe(replica.db, merchantId, shopperId, NOW));
    await step('merchant', () => getMerchant(replica.db, merchantId));
    await step('hold', async () => {
      const hold = await reserveHold(ledger, { merchantId, shopperId, checkoutId: `c-${round}`, points: 100, cartAmount: 20_000 });
      await releaseHold(ledger, { merchantId, shopperId, holdId: hold.holdId });
    });
    await step('exchange', () => exchangeCoupon(ledger, { merchantId, shopperId, templateId: 'five-off', idempotencyKey: `x-${round}` }));
    await step('sweep', () => runSweep(ledger));
    return failures;
  }

  it('every service keeps working on the old pool after a column is added to every table', async () => {
    const { merchantId } = await createMerchant(ledger, { name: 'Deploy', program: { earning: { monthlyBudgetRate: null } } });
    await upsertTemplate(ledger, { merchantId, template: aTemplate({ stock: null }) });
    expect(await traffic(merchantId, 'before')).toEqual([]);

    // The new release's migration, from another process.
    const { rows } = await sql<{ table_name: string }>`select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE'`.execute(database().db);
    for (const { table_name: table } of rows) await sql.raw(`alter table "${table}" add column added_by_next_release text`).execute(database().db);

    expect(await traffic(merchantId, 'after')).toEqual([]);
  });
});
