import type { Database } from '@jifen/db';
import type { ProgramInput } from '@jifen/rules';
import type { Kysely } from 'kysely';
import { adjustPoints } from '../../src/adjustments';
import type { Ledger } from '../../src/ledger';
import { createMerchant } from '../../src/merchants';
import { aTemplate } from '../support-holds';

/** Small named builders for the concurrency, history, crash and model suites. */

/**
 * A classic program whose shoppers never affect each other: no monthly budget (a merchant-wide
 * figure, so the order of two shoppers' payments could decide who gets capped) and one tier.
 */
export function anIndependentShopperProgram(overrides: ProgramInput = {}): ProgramInput {
  return {
    ...overrides,
    earning: {
      monthlyBudgetRate: null,
      tiers: [{ id: 'member', name: { 'zh-CN': '会员', en: 'Member' }, minSpend: 0, multiplier: 1 }],
      ...overrides.earning,
    },
  };
}

export async function aShopMerchant(ledger: Ledger, program: ProgramInput = anIndependentShopperProgram()): Promise<string> {
  const { merchantId } = await createMerchant(ledger, { name: 'Race shop', program });
  return merchantId;
}

/** Credits a shopper's points by a manual adjustment (an available lot under the program's expiry). */
export async function creditPoints(ledger: Ledger, merchantId: string, shopperId: string, points: number, key = `credit:${shopperId}:${points}`): Promise<void> {
  await adjustPoints(ledger, { merchantId, shopperId, points, reason: 'test credit', idempotencyKey: key });
}

/** A coupon template input: ¥5 off for 500 points, stock as given (the holds suites' `aTemplate`). */
export const aCouponTemplate = aTemplate;

export interface Balances {
  available: number;
  pending: number;
  held: number;
  debt: number;
}

export async function balancesOf(db: Kysely<Database>, merchantId: string, shopperId: string): Promise<Balances> {
  const row = await db
    .selectFrom('shoppers')
    .select(['available', 'pending', 'held', 'debt'])
    .where('merchant_id', '=', merchantId)
    .where('shopper_id', '=', shopperId)
    .executeTakeFirst();
  return { available: Number(row?.available ?? 0), pending: Number(row?.pending ?? 0), held: Number(row?.held ?? 0), debt: Number(row?.debt ?? 0) };
}

/** How many journal entries of `kind` answer to `ref` (an order, refund, hold or coupon). */
export async function entriesFor(db: Kysely<Database>, merchantId: string, kind: string, ref: string): Promise<number> {
  const row = await db
    .selectFrom('journal')
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .where('merchant_id', '=', merchantId)
    .where('kind', '=', kind)
    .where('ref', '=', ref)
    .executeTakeFirstOrThrow();
  return Number(row.count);
}

export async function entriesOfShopper(db: Kysely<Database>, merchantId: string, shopperId: string, kind: string): Promise<number> {
  const row = await db
    .selectFrom('journal')
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .where('merchant_id', '=', merchantId)
    .where('shopper_id', '=', shopperId)
    .where('kind', '=', kind)
    .executeTakeFirstOrThrow();
  return Number(row.count);
}

export async function journalLength(db: Kysely<Database>, merchantId: string): Promise<number> {
  const head = await db.selectFrom('journal_heads').select('seq').where('merchant_id', '=', merchantId).executeTakeFirstOrThrow();
  return Number(head.seq);
}
