import type { Database } from '@jifen/db';
import { type CouponTemplateInput, type ProgramInput, expiryFor } from '@jifen/rules';
import type { Kysely } from 'kysely';
import { expect } from 'vitest';
import { createLot, lockShopper } from '../src/accounts';
import { randomId } from '../src/canonical';
import { JifenError } from '../src/errors';
import type { Ledger } from '../src/ledger';
import { createMerchant, getProgram } from '../src/merchants';
import { poolFundInTx } from '../src/pool-ledger';

/** Small named builders for the holds, coupons and sweep suites. */

/** A clock tests move by hand: `new Ledger(db, { clock: clock.read })`. */
export interface TestClock {
  now: Date;
  read: () => Date;
  advance: (ms: number) => void;
}

export function aClock(start: string): TestClock {
  const clock: TestClock = {
    now: new Date(start),
    read: () => clock.now,
    advance: (ms) => {
      clock.now = new Date(clock.now.getTime() + ms);
    },
  };
  return clock;
}

export const MINUTE_MS = 60_000;
export const DAY_MS = 86_400_000;

/** A merchant with a program (defaults: CNY, Asia/Shanghai, 100 points = ¥1, minPoints 100, maxShare 50%). */
export async function aMerchant(ledger: Ledger, program: ProgramInput = {}): Promise<string> {
  const { merchantId } = await createMerchant(ledger, { name: 'Test shop', program });
  return merchantId;
}

/** A pool program (initial price ¥1 a point, 2 point decimals) whose test shoppers are never flagged for concentration. */
export function aPoolProgram(overrides: ProgramInput = {}): ProgramInput {
  return { ...overrides, valuation: { kind: 'pool', risk: { concentrationReview: 1 } } };
}

export interface GivenPoints {
  merchantId: string;
  shopperId: string;
  points: number;
  /** Default: the clock's now. */
  earnedAt?: Date;
  /** Default: by the program's expiry policy from `earnedAt`; null for never. */
  expiresAt?: Date | null;
  status?: 'available' | 'pending';
}

/**
 * Gives a shopper a lot of points the way a manual adjustment would: the lot, the balance and an
 * 'adjust' journal entry; in pool mode the merchant funds them at the current price.
 */
export async function givePoints(ledger: Ledger, given: GivenPoints): Promise<string> {
  return ledger.write(async (tx) => {
    const { program, version } = await getProgram(tx.db, given.merchantId);
    await lockShopper(tx, given.merchantId, given.shopperId);
    const earnedAt = given.earnedAt ?? tx.now;
    const expiresAt = given.expiresAt === undefined ? expiryFor(program.expiry, earnedAt, program.timeZone) : given.expiresAt;
    const ref = `adjust_${randomId(6)}`;
    const lotId = await createLot(tx, {
      merchantId: given.merchantId,
      shopperId: given.shopperId,
      source: 'adjustment',
      sourceRef: ref,
      programVersion: version,
      points: given.points,
      status: given.status ?? 'available',
      earnedAt,
      availableAt: earnedAt,
      expiresAt,
    });
    if (program.valuation.kind === 'pool') {
      await poolFundInTx(tx, { merchantId: given.merchantId, shopperId: given.shopperId, points: given.points, ref, program, programVersion: version });
    }
    await tx.journal.append(given.merchantId, { shopperId: given.shopperId, kind: 'adjust', points: given.points, ref, lotId, programVersion: version });
    return lotId;
  });
}

/** A coupon template input: ¥5 off for 500 points, 10 in stock, 30 days valid. */
export function aTemplate(overrides: Partial<CouponTemplateInput> = {}): CouponTemplateInput {
  return {
    id: 'five-off',
    name: { 'zh-CN': '立减5元', en: '¥5 off' },
    discount: { kind: 'fixed', amountOff: 500 },
    pointsCost: 500,
    stock: 10,
    ...overrides,
  };
}

export async function balanceOf(db: Kysely<Database>, merchantId: string, shopperId: string) {
  const row = await db
    .selectFrom('shoppers')
    .select(['available', 'held', 'pending', 'flagged'])
    .where('merchant_id', '=', merchantId)
    .where('shopper_id', '=', shopperId)
    .executeTakeFirst();
  return { available: Number(row?.available ?? 0), held: Number(row?.held ?? 0), pending: Number(row?.pending ?? 0) };
}

export async function lotOf(db: Kysely<Database>, lotId: string) {
  const row = await db.selectFrom('lots').select(['remaining', 'held', 'status', 'expires_at']).where('id', '=', lotId).executeTakeFirstOrThrow();
  return { remaining: Number(row.remaining), held: Number(row.held), status: row.status, expiresAt: row.expires_at === null ? null : Number(row.expires_at) };
}

export async function journalKinds(db: Kysely<Database>, merchantId: string, kind: string) {
  const rows = await db.selectFrom('journal').selectAll().where('merchant_id', '=', merchantId).where('kind', '=', kind).orderBy('seq').execute();
  return rows.map((row) => ({ seq: Number(row.seq), shopperId: row.shopper_id, points: Number(row.points), ref: row.ref, lotId: row.lot_id, compensates: row.compensates === null ? null : Number(row.compensates) }));
}

export async function journalLength(db: Kysely<Database>, merchantId: string): Promise<number> {
  const head = await db.selectFrom('journal_heads').select('seq').where('merchant_id', '=', merchantId).executeTakeFirstOrThrow();
  return Number(head.seq);
}

/** Awaits a refusal and checks its reason and param. */
export async function expectRefusal(promise: Promise<unknown>, reason: string, param?: string): Promise<JifenError> {
  const error = await promise.then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(JifenError);
  const refusal = error as JifenError;
  expect(refusal.reason).toBe(reason);
  if (param !== undefined) expect(refusal.param).toBe(param);
  return refusal;
}
