import { describeEachDialect, useTestDb } from '@jifen/db/testing';
import { expect, it } from 'vitest';
import { Ledger } from '../src/ledger';
import { getProgram, updateProgram } from '../src/merchants';
import { orderCompleted, orderPaid } from '../src/orders';
import { simulateOrders } from '../src/simulate-orders';
import { aClock, aPaidOrder, aShop, expectRefusal } from './support-orders';

/**
 * What a program may not become once points exist, and what `simulate` will not replay: every stored
 * figure is in the merchant's valuation, point decimals and currency. Orders, lots' values and the
 * pool count the currency's minor units — reread under JPY, ¥1,000 in fen becomes ¥100,000.
 */
describeEachDialect('a program’s valuation, point decimals and currency, once points exist', (dialect) => {
  const database = useTestDb(dialect);

  async function aShopWithPoints() {
    const clock = aClock('2025-03-03T02:00:00Z');
    const ledger = new Ledger(database(), { clock: clock.read });
    const merchantId = await aShop(ledger, { earning: { monthlyBudgetRate: null } });
    return { clock, ledger, merchantId };
  }

  it('may change while no points exist, and no longer once they do, naming the field', async () => {
    const { ledger, merchantId } = await aShopWithPoints();
    expect((await updateProgram(ledger, merchantId, { currency: 'USD', earning: { monthlyBudgetRate: null } })).program.currency).toBe('USD');
    await updateProgram(ledger, merchantId, { earning: { monthlyBudgetRate: null } });
    await orderPaid(ledger, aPaidOrder(merchantId, { orderId: 'a' }));
    const before = await getProgram(ledger.db, merchantId);
    const refusals = [
      await expectRefusal(updateProgram(ledger, merchantId, { currency: 'JPY' }), 'PROGRAM_LOCKED', 'currency'),
      await expectRefusal(updateProgram(ledger, merchantId, { pointDecimals: 2 }), 'PROGRAM_LOCKED', 'pointDecimals'),
      await expectRefusal(updateProgram(ledger, merchantId, { valuation: { kind: 'pool' } }), 'PROGRAM_LOCKED', 'valuation.kind'),
    ];
    expect(refusals.map((refusal) => refusal.facts)).toEqual([
      { from: 'CNY', to: 'JPY' },
      { from: 0, to: 2 },
      { from: 'fixed', to: 'pool' },
    ]);
    expect((await getProgram(ledger.db, merchantId)).version).toBe(before.version);
  });

  it('simulate refuses a candidate in another currency than the stored orders, naming program.currency', async () => {
    const { clock, ledger, merchantId } = await aShopWithPoints();
    await orderPaid(ledger, aPaidOrder(merchantId, { orderId: 'a' }));
    await orderCompleted(ledger, { merchantId, orderId: 'a' });
    await expectRefusal(simulateOrders(ledger.db, { merchantId, program: { currency: 'JPY', earning: { monthlyBudgetRate: null } }, days: 30, now: clock.now }), 'CURRENCY_MISMATCH', 'program.currency');
    const replay = await simulateOrders(ledger.db, { merchantId, program: { earning: { monthlyBudgetRate: null } }, days: 30, now: clock.now });
    expect(replay.orders).toBe(1);
  });
});
