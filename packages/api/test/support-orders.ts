import type { Database } from '@jifen/db';
import type { ProgramInput } from '@jifen/rules';
import type { Kysely } from 'kysely';
import type { Ledger } from '../src/ledger';
import { createMerchant } from '../src/merchants';
import type { OrderPaidInput } from '../src/orders';
import { journalLength } from './support-holds';

/** Small named builders for the orders, behaviours and shoppers suites. */

export { expectRefusal } from './support-holds';

export const DAY_MS = 86_400_000;

/** A clock tests move by hand: `new Ledger(db, { clock: clock.read })`. */
export interface OrdersClock {
  now: Date;
  read: () => Date;
  advance: (ms: number) => void;
  set: (iso: string) => void;
}

/** Starts on Monday 3 March 2025, 10:00 in Shanghai, unless told otherwise. */
export function aClock(start = '2025-03-03T02:00:00Z'): OrdersClock {
  const clock: OrdersClock = {
    now: new Date(start),
    read: () => clock.now,
    advance: (ms) => {
      clock.now = new Date(clock.now.getTime() + ms);
    },
    set: (iso) => {
      clock.now = new Date(iso);
    },
  };
  return clock;
}

/** A merchant with the default program (CNY, Asia/Shanghai, base 5%, 100 points = ¥1, pending 7 days) plus overrides. */
export async function aShop(ledger: Ledger, program: ProgramInput = {}): Promise<string> {
  const { merchantId } = await createMerchant(ledger, { name: 'Orders test shop', program });
  return merchantId;
}

/** The SPEC §3.1 worked example's program: base 5%, cap 10%, and no monthly budget in the way. */
export function theWorkedExampleProgram(overrides: ProgramInput = {}): ProgramInput {
  return { ...overrides, earning: { monthlyBudgetRate: null, ...overrides.earning } };
}

/** A pool program (initial price ¥1 a point, 2 point decimals) whose shoppers are never flagged for concentration. */
export function aPoolShopProgram(overrides: ProgramInput = {}): ProgramInput {
  return { ...overrides, earning: { monthlyBudgetRate: null, ...overrides.earning }, valuation: { kind: 'pool', risk: { concentrationReview: 1 } } };
}

let orderNumber = 0;

/** A ¥1,000 order paid by alice in CNY, with a fresh order id. */
export function aPaidOrder(merchantId: string, overrides: Partial<OrderPaidInput> = {}): OrderPaidInput {
  orderNumber += 1;
  return { merchantId, orderId: `o-${orderNumber}`, shopperId: 'alice', amount: 100_000, currency: 'CNY', ...overrides };
}

export async function balanceOf(db: Kysely<Database>, merchantId: string, shopperId: string) {
  const row = await db
    .selectFrom('shoppers')
    .select(['available', 'held', 'pending', 'debt'])
    .where('merchant_id', '=', merchantId)
    .where('shopper_id', '=', shopperId)
    .executeTakeFirst();
  return { available: Number(row?.available ?? 0), pending: Number(row?.pending ?? 0), held: Number(row?.held ?? 0), debt: Number(row?.debt ?? 0) };
}

export async function orderOf(db: Kysely<Database>, merchantId: string, orderId: string) {
  return db.selectFrom('orders').selectAll().where('merchant_id', '=', merchantId).where('order_id', '=', orderId).executeTakeFirstOrThrow();
}

export async function lotsOf(db: Kysely<Database>, merchantId: string, shopperId: string) {
  const rows = await db.selectFrom('lots').selectAll().where('merchant_id', '=', merchantId).where('shopper_id', '=', shopperId).orderBy('earned_at').orderBy('id').execute();
  return rows.map((row) => ({
    id: row.id,
    source: row.source,
    sourceRef: row.source_ref,
    points: Number(row.points),
    remaining: Number(row.remaining),
    status: row.status,
    expiresAt: row.expires_at === null ? null : Number(row.expires_at),
  }));
}

export async function entriesOf(db: Kysely<Database>, merchantId: string, filter: { kind?: string; shopperId?: string } = {}) {
  let query = db.selectFrom('journal').selectAll().where('merchant_id', '=', merchantId).orderBy('seq');
  if (filter.kind !== undefined) query = query.where('kind', '=', filter.kind);
  if (filter.shopperId !== undefined) query = query.where('shopper_id', '=', filter.shopperId);
  const rows = await query.execute();
  return rows.map((row) => ({
    seq: Number(row.seq),
    kind: row.kind,
    shopperId: row.shopper_id,
    points: Number(row.points),
    ref: row.ref,
    lotId: row.lot_id,
    compensates: row.compensates === null ? null : Number(row.compensates),
    detail: JSON.parse(row.detail) as Record<string, unknown>,
  }));
}

/** Rows a write could touch, counted, to show a refused or replayed write wrote nothing. */
export async function footprint(db: Kysely<Database>, merchantId: string) {
  const count = async (table: 'orders' | 'lots' | 'refunds' | 'order_events' | 'idempotency' | 'outbox') =>
    Number((await db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).where('merchant_id', '=', merchantId).executeTakeFirstOrThrow()).n);
  return {
    journal: await journalLength(db, merchantId),
    orders: await count('orders'),
    lots: await count('lots'),
    refunds: await count('refunds'),
    events: await count('order_events'),
    idempotency: await count('idempotency'),
    outbox: await count('outbox'),
  };
}
