import { type JifenDb, createDb } from '@jifen/db';
import { describePostgres, useTestDb } from '@jifen/db/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { JifenError } from '../src/errors';
import { Ledger } from '../src/ledger';
import { createMerchant, getProgram, updateProgram } from '../src/merchants';
import { upsertTemplate } from '../src/coupons';
import { anIndependentShopperProgram } from './harness/builders';
import { aTemplate } from './support-holds';

/**
 * Two replicas (two pools on one Postgres database) changing one merchant's configuration at once:
 * an operator's console on one and a deploy script on the other, or a request retried on another
 * replica while the first still runs. Each call applies, answers as a replay, or is refused with a
 * JifenError naming the field — never a raw duplicate-key error (a 500), which each of these gave
 * while the services checked for the row before inserting it without a lock (`lockMerchant`).
 * SQLite's `BEGIN IMMEDIATE` serialises such writes already.
 */

describePostgres('configuration written from two replicas at once', () => {
  const database = useTestDb('postgres');
  let other: JifenDb;
  let a: Ledger;
  let b: Ledger;

  beforeAll(() => {
    other = createDb({ url: database().url });
    a = new Ledger(database());
    b = new Ledger(other);
  });

  afterAll(async () => {
    await other?.close();
  });

  it('concurrent merchant.program.update on two replicas: every update gets a version, or a clean refusal', async () => {
    const { merchantId } = await createMerchant(a, { name: 'Shop', program: anIndependentShopperProgram() });
    const failures: unknown[] = [];
    let applied = 0;
    for (let round = 0; round < 10; round += 1) {
      const outcomes = await Promise.allSettled([
        updateProgram(a, merchantId, anIndependentShopperProgram({ pointDecimals: 0 })),
        updateProgram(b, merchantId, anIndependentShopperProgram({ pointDecimals: 0 })),
      ]);
      for (const outcome of outcomes) {
        if (outcome.status === 'fulfilled') applied += 1;
        else failures.push(outcome.reason);
      }
    }
    const raw = failures.filter((error) => !(error instanceof JifenError)).map((error) => `${(error as { code?: string }).code}: ${(error as Error).message}`);
    expect(raw, 'updates that failed with a raw database error (a 500 to the caller)').toEqual([]);
    expect((await getProgram(a.db, merchantId)).version).toBe(1 + applied);
  });

  it('two replicas creating a merchant with the same --id at once: one is created, the other is told the id is taken', async () => {
    const failures: unknown[] = [];
    for (let round = 0; round < 10; round += 1) {
      const merchantId = `shop-${round}`;
      const outcomes = await Promise.allSettled([createMerchant(a, { name: 'A', merchantId }), createMerchant(b, { name: 'B', merchantId })]);
      expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(1);
      for (const outcome of outcomes) if (outcome.status === 'rejected') failures.push(outcome.reason);
    }
    const raw = failures.filter((error) => !(error instanceof JifenError)).map((error) => `${(error as { code?: string }).code}: ${(error as Error).message}`);
    expect(raw, 'creations refused with a raw database error instead of "merchantId is already taken"').toEqual([]);
  });

  it('the same new coupon template upserted on two replicas at once (a retried request): both answer the template', async () => {
    const { merchantId } = await createMerchant(a, { name: 'Templates', program: anIndependentShopperProgram() });
    const failures: unknown[] = [];
    for (let round = 0; round < 10; round += 1) {
      const template = aTemplate({ id: `t-${round}` });
      const outcomes = await Promise.allSettled([upsertTemplate(a, { merchantId, template }), upsertTemplate(b, { merchantId, template })]);
      for (const outcome of outcomes) if (outcome.status === 'rejected') failures.push(outcome.reason);
    }
    const described = failures.map((error) => `${(error as { code?: string }).code}: ${(error as Error).message}`);
    expect(described, 'a replay of merchant.coupons.upsertTemplate refused with a raw database error').toEqual([]);
  });
});
