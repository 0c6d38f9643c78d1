import { type Database, type NewMerchantRow, prepareQuery } from '@jifen/db';
import { createTestDb, describeEachDialect, useTestDb } from '@jifen/db/testing';
import type { Kysely } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JifenError } from '../src/errors';
import { idempotent } from '../src/idempotency';
import { Ledger } from '../src/ledger';
import { createMerchant, getProgram, merchantForApiKey, revokeApiKey, rotateApiKey, updateProgram } from '../src/merchants';
import { assertLedgerInvariants } from '../src/verify';

describeEachDialect('ledger writes', (dialect) => {
  const store = useTestDb(dialect);
  let ledger: Ledger;
  let merchantId: string;

  beforeEach(async () => {
    ledger = new Ledger(store(), { clock: () => new Date('2026-11-23T08:00:00Z') });
    ({ merchantId } = await createMerchant(ledger, { name: 'Tea House' }));
  });

  it('replays an idempotent write with its first result and writes nothing more', async () => {
    let effects = 0;
    const write = (amount: number) =>
      ledger.write((tx) =>
        idempotent(tx, { merchantId, scope: 'test', key: 'order-1', request: { orderId: 'order-1', amount } }, async () => {
          effects += 1;
          await tx.journal.append(merchantId, { shopperId: null, kind: 'adjust', points: 0, ref: 'order-1', programVersion: 1 });
          return { effect: effects };
        }),
      );
    expect(await write(100)).toEqual({ effect: 1 });
    expect(await write(100)).toEqual({ effect: 1 });
    expect(effects).toBe(1);
    const head = await store().db.selectFrom('journal_heads').select('seq').where('merchant_id', '=', merchantId).executeTakeFirstOrThrow();
    expect(head.seq).toBe(1);
  });

  it('answers the same id with a different payload with a CONFLICT naming the field', async () => {
    const write = (amount: number) =>
      ledger.write((tx) => idempotent(tx, { merchantId, scope: 'test', key: 'order-1', request: { orderId: 'order-1', amount } }, async () => ({ amount })));
    await write(100);
    const conflict = await write(250).catch((error: unknown) => error);
    expect(conflict).toBeInstanceOf(JifenError);
    expect(conflict).toMatchObject({ reason: 'IDEMPOTENCY_CONFLICT', param: 'amount', category: 'CONFLICT' });
    expect((conflict as Error).message).toMatch(/^amount: differs from the first request/);
  });

  it('does not remember a refused write, so its replay is evaluated afresh', async () => {
    let allowed = false;
    const write = () =>
      ledger.write((tx) =>
        idempotent(tx, { merchantId, scope: 'test', key: 'k', request: { a: 1 } }, async () => {
          if (!allowed) throw new JifenError('INSUFFICIENT_POINTS', { available: 0, requested: 1 }, 'points');
          return { done: true };
        }),
      );
    await expect(write()).rejects.toMatchObject({ reason: 'INSUFFICIENT_POINTS' });
    allowed = true;
    await expect(write()).resolves.toEqual({ done: true });
  });

  it('versions the program on update and keeps every earlier version readable', async () => {
    const updated = await updateProgram(ledger, merchantId, { earning: { baseRate: 0.08 } });
    expect(updated.version).toBe(2);
    expect((await getProgram(store().db, merchantId)).program.earning.baseRate).toBe(0.08);
    expect((await getProgram(store().db, merchantId, 1)).program.earning.baseRate).toBe(0.05);
  });

  it('refuses an invalid program update naming the field, and keeps the current version', async () => {
    await expect(updateProgram(ledger, merchantId, { earning: { baseRate: 1.5 } })).rejects.toMatchObject({ reason: 'INVALID_PROGRAM', param: 'program.earning.baseRate' });
    expect((await getProgram(store().db, merchantId)).version).toBe(1);
  });

  it('stores API keys hashed, rotates them without downtime and revokes them', async () => {
    const created = await createMerchant(ledger, { name: 'Noodle Bar' });
    const stored = await store().db.selectFrom('api_keys').select('key_hash').where('merchant_id', '=', created.merchantId).execute();
    expect(stored.map((row) => row.key_hash)).not.toContain(created.apiKey);
    expect(await merchantForApiKey(store().db, created.apiKey)).toBe(created.merchantId);
    const rotated = await rotateApiKey(ledger, created.merchantId);
    expect(await merchantForApiKey(store().db, created.apiKey)).toBe(created.merchantId);
    expect(await merchantForApiKey(store().db, rotated.apiKey)).toBe(created.merchantId);
    const first = await store().db.selectFrom('api_keys').select('id').where('merchant_id', '=', created.merchantId).orderBy('created_at').orderBy('id').execute();
    const original = first.find((row) => row.id !== rotated.keyId)!;
    await revokeApiKey(ledger, created.merchantId, original.id);
    expect(await merchantForApiKey(store().db, created.apiKey)).toBeNull();
    expect(await merchantForApiKey(store().db, rotated.apiKey)).toBe(created.merchantId);
    expect(await merchantForApiKey(store().db, 'jf_forged')).toBeNull();
  });

  it('starts a merchant with an empty, consistent ledger', async () => {
    await assertLedgerInvariants(store().db, merchantId);
  });
});

describe('a write’s statements on SQLite', () => {
  const store = useTestDb('sqlite');
  const idOf = prepareQuery((db, key: { id: string }) => db.selectFrom('merchants').select('id').where('id', '=', key.id));
  const aMerchantRow = (id: string): NewMerchantRow => ({ id, name: id, widget_secret: 'secret', storefront_origins: '[]', program_version: 1, created_at: 0 });

  it.each([
    ['alone', false],
    ['in group commit', true],
  ] as const)('run straight on the connection the transaction holds (%s), and not after it ends', async (_case, groupCommit) => {
    const ledger = new Ledger(store(), { groupCommit });
    const [a, b] = [`direct-a-${groupCommit}`, `direct-b-${groupCommit}`];
    let escaped: Kysely<Database> | undefined;
    const seen = await ledger.write(async (tx) => {
      escaped = tx.db;
      // Kysely runs the first insert now and queues the second; a prepared read runs at once, ahead of it.
      const first = tx.db.insertInto('merchants').values(aMerchantRow(a)).execute();
      const second = tx.db.insertInto('merchants').values(aMerchantRow(b)).execute();
      const read = idOf.execute(tx.db, { id: b });
      await Promise.all([first, second]);
      return { before: await read, after: await idOf.execute(tx.db, { id: b }) };
    });
    expect(seen).toEqual({ before: [], after: [{ id: b }] });
    await expect(idOf.execute(escaped!, { id: a })).rejects.toThrow(/committed/);
  });
});

describe('group commit (sqlite)', () => {
  let ledger: Ledger;
  let close: () => Promise<void>;
  let merchantId: string;

  beforeEach(async () => {
    const db = await createTestDb('sqlite');
    close = () => db.close();
    ledger = new Ledger(db, { groupCommit: true });
    ({ merchantId } = await createMerchant(ledger, { name: 'Tea House' }));
  });
  afterEach(async () => close());

  it('commits concurrent writes together, rolls a failing one back alone, and keeps the chain whole', async () => {
    const outcomes = await Promise.allSettled(
      Array.from({ length: 16 }, (_, index) =>
        ledger.write(async (tx) => {
          await tx.journal.append(merchantId, { shopperId: `s${index}`, kind: 'adjust', points: 0, ref: `w${index}`, programVersion: 1 });
          if (index % 5 === 0) throw new Error(`write ${index} refused`);
          return index;
        }),
      ),
    );
    const fulfilled = outcomes.filter((outcome) => outcome.status === 'fulfilled');
    const rejected = outcomes.filter((outcome) => outcome.status === 'rejected');
    expect(fulfilled).toHaveLength(12);
    expect(rejected).toHaveLength(4);
    const refs = await ledger.db.selectFrom('journal').select(['seq', 'ref']).where('merchant_id', '=', merchantId).orderBy('seq').execute();
    expect(refs.map((row) => row.seq)).toEqual(Array.from({ length: 12 }, (_, index) => index + 1));
    expect(refs.map((row) => row.ref)).not.toContain('w0');
    expect(refs.map((row) => row.ref)).not.toContain('w5');
    await assertLedgerInvariants(ledger.db, merchantId);
  });
});
