import { type Database, readSnapshot } from '@jifen/db';
import { type Kysely, sql } from 'kysely';
import { type ChainBreak, verifyChain } from './journal';
import { getProgram } from './merchants';

/**
 * The ledger's invariants (SPEC §4), stated once as code. `jifen verify` runs them over every
 * merchant; tests run them after every scenario. Each check is a set-based query that returns the
 * offending rows, so a broken ledger is named precisely rather than summed into one false.
 */

export interface InvariantViolation {
  invariant: string;
  merchantId: string;
  /** The shopper, lot, hold, template or journal seq at fault. */
  subject: string;
  detail: string;
}

export interface VerifyReport {
  merchantId: string;
  chain: ChainBreak | null;
  violations: InvariantViolation[];
  journalEntries: number;
}

/**
 * Checks one merchant: the hash chain first, then every balance invariant — all of it on one
 * snapshot (`readSnapshot`), so it can run beside a live server: an order committed while it reads
 * is wholly in what it checks or wholly out of it.
 */
export async function verifyMerchant(db: Kysely<Database>, merchantId: string): Promise<VerifyReport> {
  return readSnapshot(db, (snapshot) => verifySnapshot(snapshot, merchantId));
}

async function verifySnapshot(db: Kysely<Database>, merchantId: string): Promise<VerifyReport> {
  const chain = await verifyChain(db, merchantId);
  const head = await db.selectFrom('journal_heads').select('seq').where('merchant_id', '=', merchantId).executeTakeFirst();
  const violations = [
    ...(await shopperSumsMatchLots(db, merchantId)),
    ...(await shopperSumsMatchJournal(db, merchantId)),
    ...(await lotsAreWellFormed(db, merchantId)),
    ...(await holdsMatchTheirLots(db, merchantId)),
    ...(await couponStockHolds(db, merchantId)),
    ...(await poolIsExact(db, merchantId)),
    ...(await poolSupplyIsLots(db, merchantId)),
  ];
  return { merchantId, chain, violations, journalEntries: head ? Number(head.seq) : 0 };
}

/** Every merchant, in id order. */
export async function verifyAll(db: Kysely<Database>): Promise<VerifyReport[]> {
  const merchants = await db.selectFrom('merchants').select('id').orderBy('id').execute();
  const reports: VerifyReport[] = [];
  for (const merchant of merchants) reports.push(await verifyMerchant(db, merchant.id));
  return reports;
}

/** Throws with every problem listed; the assertion tests run after each scenario. */
export async function assertLedgerInvariants(db: Kysely<Database> | { db: Kysely<Database> }, merchantId: string): Promise<void> {
  const report = await verifyMerchant('db' in db ? db.db : db, merchantId);
  const problems = [
    ...(report.chain ? [`journal entry ${report.chain.seq}: ${report.chain.detail}`] : []),
    ...report.violations.map((violation) => `${violation.invariant} (${violation.subject}): ${violation.detail}`),
  ];
  if (problems.length > 0) throw new Error(`ledger invariants broken for ${merchantId}:\n- ${problems.join('\n- ')}`);
}

// available = Σ(remaining − held), held = Σ held over available lots; pending = Σ remaining over pending lots.
async function shopperSumsMatchLots(db: Kysely<Database>, merchantId: string): Promise<InvariantViolation[]> {
  const lotSums = db
    .selectFrom('lots')
    .select((eb) => [
      'shopper_id',
      eb.fn.sum<number>(sql`case when status = 'available' then remaining - held else 0 end`).as('available'),
      eb.fn.sum<number>(sql`case when status = 'available' then held else 0 end`).as('held'),
      eb.fn.sum<number>(sql`case when status = 'pending' then remaining else 0 end`).as('pending'),
    ])
    .where('merchant_id', '=', merchantId)
    .groupBy('shopper_id')
    .as('sums');
  const rows = await db
    .selectFrom('shoppers')
    .leftJoin(lotSums, 'sums.shopper_id', 'shoppers.shopper_id')
    .select([
      'shoppers.shopper_id as shopperId',
      'shoppers.available',
      'shoppers.held',
      'shoppers.pending',
      'shoppers.debt',
      sql<number>`coalesce(sums.available, 0)`.as('lotAvailable'),
      sql<number>`coalesce(sums.held, 0)`.as('lotHeld'),
      sql<number>`coalesce(sums.pending, 0)`.as('lotPending'),
    ])
    .where('shoppers.merchant_id', '=', merchantId)
    .execute();
  const violations: InvariantViolation[] = [];
  for (const row of rows) {
    const pairs: Array<[string, number, number]> = [
      ['available', Number(row.available), Number(row.lotAvailable)],
      ['held', Number(row.held), Number(row.lotHeld)],
      ['pending', Number(row.pending), Number(row.lotPending)],
    ];
    for (const [name, stored, fromLots] of pairs) {
      if (stored !== fromLots) {
        violations.push({ invariant: `shopper ${name} = lot sum`, merchantId, subject: row.shopperId, detail: `stored ${stored}, lots say ${fromLots}` });
      }
    }
    if (Number(row.debt) < 0) violations.push({ invariant: 'debt ≥ 0', merchantId, subject: row.shopperId, detail: `debt is ${Number(row.debt)}` });
  }
  return violations;
}

// available + held + pending = Σ the shopper's journal points (every lot change is journaled).
async function shopperSumsMatchJournal(db: Kysely<Database>, merchantId: string): Promise<InvariantViolation[]> {
  const journalSums = db
    .selectFrom('journal')
    .select((eb) => ['shopper_id', eb.fn.sum<number>('points').as('points')])
    .where('merchant_id', '=', merchantId)
    .where('shopper_id', 'is not', null)
    .groupBy('shopper_id')
    .as('journal_sums');
  const rows = await db
    .selectFrom('shoppers')
    .leftJoin(journalSums, 'journal_sums.shopper_id', 'shoppers.shopper_id')
    .select([
      'shoppers.shopper_id as shopperId',
      sql<number>`shoppers.available + shoppers.held + shoppers.pending`.as('total'),
      sql<number>`coalesce(journal_sums.points, 0)`.as('journalTotal'),
    ])
    .where('shoppers.merchant_id', '=', merchantId)
    .execute();
  return rows
    .filter((row) => Number(row.total) !== Number(row.journalTotal))
    .map((row) => ({
      invariant: 'shopper total = journal sum',
      merchantId,
      subject: row.shopperId,
      detail: `balances total ${Number(row.total)}, journal says ${Number(row.journalTotal)}`,
    }));
}

async function lotsAreWellFormed(db: Kysely<Database>, merchantId: string): Promise<InvariantViolation[]> {
  const rows = await db
    .selectFrom('lots')
    .select(['id', 'points', 'remaining', 'held', 'status'])
    .where('merchant_id', '=', merchantId)
    .where((eb) =>
      eb.or([
        eb('remaining', '<', 0),
        eb('held', '<', 0),
        eb('held', '>', eb.ref('remaining')),
        eb.and([eb('status', 'in', ['expired', 'cancelled']), eb('remaining', '>', 0)]),
        eb.and([eb('status', '=', 'pending'), eb('held', '>', 0)]),
      ]),
    )
    .execute();
  return rows.map((row) => ({
    invariant: '0 ≤ held ≤ remaining; closed lots are empty',
    merchantId,
    subject: row.id,
    detail: `${row.status} lot: remaining ${Number(row.remaining)}, held ${Number(row.held)}`,
  }));
}

// A lot's held part is exactly what open holds took from it; a hold's portions sum to its points.
async function holdsMatchTheirLots(db: Kysely<Database>, merchantId: string): Promise<InvariantViolation[]> {
  const openPortions = db
    .selectFrom('hold_lots')
    .innerJoin('holds', (join) => join.onRef('holds.merchant_id', '=', 'hold_lots.merchant_id').onRef('holds.hold_id', '=', 'hold_lots.hold_id'))
    .select((eb) => ['hold_lots.lot_id as lot_id', eb.fn.sum<number>('hold_lots.points').as('points')])
    .where('hold_lots.merchant_id', '=', merchantId)
    .where('holds.status', '=', 'held')
    .groupBy('hold_lots.lot_id')
    .as('open_portions');
  const lotRows = await db
    .selectFrom('lots')
    .leftJoin(openPortions, 'open_portions.lot_id', 'lots.id')
    .select(['lots.id', 'lots.held', sql<number>`coalesce(open_portions.points, 0)`.as('portionSum')])
    .where('lots.merchant_id', '=', merchantId)
    .where((eb) => eb.or([eb('lots.held', '>', 0), eb('open_portions.points', 'is not', null)]))
    .execute();
  const violations: InvariantViolation[] = lotRows
    .filter((row) => Number(row.held) !== Number(row.portionSum))
    .map((row) => ({ invariant: 'lot held = open hold portions', merchantId, subject: row.id, detail: `held ${Number(row.held)}, open holds took ${Number(row.portionSum)}` }));
  const holdRows = await db
    .selectFrom('holds')
    .leftJoin(
      db
        .selectFrom('hold_lots')
        .select((eb) => ['hold_id', eb.fn.sum<number>('points').as('points')])
        .where('merchant_id', '=', merchantId)
        .groupBy('hold_id')
        .as('portions'),
      'portions.hold_id',
      'holds.hold_id',
    )
    .select(['holds.hold_id', 'holds.points', 'holds.status', sql<number>`coalesce(portions.points, 0)`.as('portionSum')])
    .where('holds.merchant_id', '=', merchantId)
    .execute();
  for (const row of holdRows) {
    if (Number(row.points) !== Number(row.portionSum)) {
      violations.push({ invariant: 'hold points = its lot portions', merchantId, subject: row.hold_id, detail: `hold ${Number(row.points)}, portions ${Number(row.portionSum)}` });
    }
    if (!['held', 'captured', 'released', 'expired'].includes(row.status)) {
      violations.push({ invariant: 'hold state is known', merchantId, subject: row.hold_id, detail: `status ${row.status}` });
    }
  }
  return violations;
}

// 0 ≤ issued ≤ stock, and issued counts the coupons made from the template and not cancelled
// (a cancelled coupon gives its unit of stock back, SPEC §3.1; rules `ExchangeCheck.issuedCount`).
async function couponStockHolds(db: Kysely<Database>, merchantId: string): Promise<InvariantViolation[]> {
  const rows = await db
    .selectFrom('coupon_templates')
    .leftJoin(
      db
        .selectFrom('coupons')
        .select((eb) => ['template_id', eb.fn.countAll<number>().as('made')])
        .where('merchant_id', '=', merchantId)
        .where('source', '=', 'exchange')
        .where('status', '!=', 'cancelled')
        .groupBy('template_id')
        .as('made'),
      'made.template_id',
      'coupon_templates.template_id',
    )
    .select(['coupon_templates.template_id', 'coupon_templates.issued', 'coupon_templates.stock_total', sql<number>`coalesce(made.made, 0)`.as('made')])
    .where('coupon_templates.merchant_id', '=', merchantId)
    .execute();
  const violations: InvariantViolation[] = [];
  for (const row of rows) {
    const issued = Number(row.issued);
    if (issued < 0 || (row.stock_total !== null && issued > Number(row.stock_total))) {
      violations.push({ invariant: '0 ≤ issued ≤ stock', merchantId, subject: row.template_id, detail: `issued ${issued} of ${String(row.stock_total)}` });
    }
    if (issued !== Number(row.made)) {
      violations.push({ invariant: 'issued = coupons made', merchantId, subject: row.template_id, detail: `issued ${issued}, coupons ${Number(row.made)}` });
    }
  }
  return violations;
}

// pool = Σ contributions − Σ payouts and supply = Σ minted − Σ burned, against the journal too.
async function poolIsExact(db: Kysely<Database>, merchantId: string): Promise<InvariantViolation[]> {
  const state = await db.selectFrom('pool_state').selectAll().where('merchant_id', '=', merchantId).executeTakeFirst();
  if (!state) return [];
  const violations: InvariantViolation[] = [];
  const amount = Number(state.amount);
  const supply = Number(state.supply);
  if (amount !== Number(state.contributions) - Number(state.payouts)) {
    violations.push({ invariant: 'pool = contributions − payouts', merchantId, subject: 'pool', detail: `pool ${amount}, contributions ${Number(state.contributions)}, payouts ${Number(state.payouts)}` });
  }
  if (supply !== Number(state.minted) - Number(state.burned)) {
    violations.push({ invariant: 'supply = minted − burned', merchantId, subject: 'pool', detail: `supply ${supply}, minted ${Number(state.minted)}, burned ${Number(state.burned)}` });
  }
  const journal = await db
    .selectFrom('journal')
    .select((eb) => [eb.fn.sum<number>('amount').as('amount')])
    .where('merchant_id', '=', merchantId)
    .where('kind', 'in', ['pool.contribute', 'pool.payout'])
    .executeTakeFirst();
  const journalAmount = Number(journal?.amount ?? 0);
  if (journalAmount !== amount) {
    violations.push({ invariant: 'pool = journal contributions − payouts', merchantId, subject: 'pool', detail: `pool ${amount}, journal says ${journalAmount}` });
  }
  if (amount < 0 || supply < 0) violations.push({ invariant: 'pool and supply ≥ 0', merchantId, subject: 'pool', detail: `pool ${amount}, supply ${supply}` });
  return violations;
}

// Pool mode (pool-ledger.ts): every outstanding point is a lot remainder, so supply = Σ lot remainders;
// a vesting lot never releases more than it minted.
async function poolSupplyIsLots(db: Kysely<Database>, merchantId: string): Promise<InvariantViolation[]> {
  const { program } = await getProgram(db, merchantId);
  if (program.valuation.kind !== 'pool') return [];
  const state = await db.selectFrom('pool_state').select('supply').where('merchant_id', '=', merchantId).executeTakeFirst();
  const lots = await db
    .selectFrom('lots')
    .select(sql<number>`coalesce(sum(remaining), 0)`.as('remaining'))
    .where('merchant_id', '=', merchantId)
    .executeTakeFirstOrThrow();
  const violations: InvariantViolation[] = [];
  const supply = Number(state?.supply ?? 0);
  if (supply !== Number(lots.remaining)) {
    violations.push({ invariant: 'pool supply = Σ lot remainders', merchantId, subject: 'pool', detail: `supply ${supply}, lots hold ${Number(lots.remaining)}` });
  }
  const overReleased = await db
    .selectFrom('lots')
    .select(['id', 'points', 'remaining', 'released'])
    .where('merchant_id', '=', merchantId)
    .where('release_periods', '>', 0)
    .where(sql<boolean>`released + remaining > points`)
    .execute();
  for (const lot of overReleased) {
    violations.push({
      invariant: 'a vesting lot releases at most what it minted',
      merchantId,
      subject: lot.id,
      detail: `minted ${Number(lot.points)}, released ${Number(lot.released)}, still vesting ${Number(lot.remaining)}`,
    });
  }
  return violations;
}
