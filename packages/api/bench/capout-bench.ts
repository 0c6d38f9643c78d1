import { performance } from 'node:perf_hooks';
import type { JifenDialect, NewShopperRow } from '@jifen/db';
import { type Program, capOutTriggerPrice, minor, pointUnits, poolPrice, poolPriceKey, poolValuationOf } from '@jifen/rules';
import { runCapOutsInTx } from '../src/capout';
import { Ledger } from '../src/ledger';
import { createMerchant, getProgram } from '../src/merchants';
import { type BenchDb, freshPostgres, freshSqlite } from './bench-databases';
import { log, median, scaled } from './measure';

/**
 * The cap-out check every pool order runs (issue 3: "found through an indexed trigger price, never
 * by scanning holders"): the same check against a shop with 1,000 holders and one with 100,000, in
 * one database, none of them due — so what is timed is finding who is due, not converting them.
 */

const ROUNDS = 7;
const CAPOUTS_PER_ORDER = 16;

export interface CapOutFigure {
  /** Microseconds per check with the large shop's holders. */
  largeMicroseconds: number;
  smallMicroseconds: number;
  largeHolders: number;
  smallHolders: number;
}

const POOL_PROGRAM = { earning: { monthlyBudgetRate: null }, valuation: { kind: 'pool' as const, risk: { concentrationReview: 1 } } };

/** `holders` shoppers whose trigger prices lie above the pool's price, and a pool that backs their points at 1 fen a point unit. */
async function poolShop(store: BenchDb, ledger: Ledger, holders: number): Promise<{ merchantId: string; program: Program; version: number }> {
  const { merchantId } = await createMerchant(ledger, { name: `Pool shop with ${holders} holders`, program: POOL_PROGRAM });
  const { program, version } = await getProgram(store.db, merchantId);
  const capMultiple = poolValuationOf(program).capMultiple;
  const now = ledger.now().getTime();
  let supply = 0;
  const rows: NewShopperRow[] = [];
  for (let k = 0; k < holders; k++) {
    const holdings = 1_000 + (k % 5_000);
    // Basis × capMultiple over holdings puts every trigger above a price of 1: nobody is due yet.
    const basis = holdings * (1 + (k % 3));
    const trigger = capOutTriggerPrice({ holdings, basis, capMultiple });
    supply += holdings;
    rows.push({
      merchant_id: merchantId,
      shopper_id: `holder-${k}`,
      created_at: now,
      is_vip: 0,
      referred_by: null,
      referral_rewarded: 0,
      first_paid_at: now,
      available: holdings,
      pending: 0,
      held: 0,
      debt: 0,
      tier_id: 'member',
      tier_confirmed_at: now,
      checkin_date: null,
      checkin_streak: 0,
      capout_basis: basis,
      capout_trigger: trigger === null ? null : Number(trigger.key),
      completed_referrals: 0,
      flagged: 0,
    });
  }
  for (let start = 0; start < rows.length; start += 500) await store.db.insertInto('shoppers').values(rows.slice(start, start + 500)).execute();
  await store.db.updateTable('pool_state').set({ amount: supply, supply, contributions: supply, minted: supply }).where('merchant_id', '=', merchantId).execute();
  const price = poolPrice(program, { amount: minor(supply), supply: pointUnits(supply) });
  const lowest = rows.reduce((least, row) => Math.min(least, row.capout_trigger ?? Infinity), Infinity);
  if (lowest <= Number(poolPriceKey(price))) throw new Error('the seed must leave every holder short of their cap-out');
  return { merchantId, program, version };
}

/** Microseconds per check: `checks` checks inside one write, as each order runs one inside its own. */
async function checkMicroseconds(ledger: Ledger, shop: { merchantId: string; program: Program; version: number }, checks: number): Promise<number> {
  return ledger.write(async (tx) => {
    const started = performance.now();
    for (let check = 0; check < checks; check++) {
      const { capOuts } = await runCapOutsInTx(tx, { merchantId: shop.merchantId, program: shop.program, programVersion: shop.version, limit: CAPOUTS_PER_ORDER });
      if (capOuts.length > 0) throw new Error('no holder is due in this benchmark');
    }
    return ((performance.now() - started) * 1000) / checks;
  });
}

export async function capOutBench(dialect: JifenDialect): Promise<CapOutFigure> {
  const largeHolders = scaled(100_000, 10_000);
  const smallHolders = 1_000;
  const checks = scaled(2_000, 500);
  const store = dialect === 'sqlite' ? await freshSqlite('FULL') : await freshPostgres();
  try {
    const ledger = new Ledger(store);
    const small = await poolShop(store, ledger, smallHolders);
    const large = await poolShop(store, ledger, largeHolders);
    await checkMicroseconds(ledger, small, checks);
    await checkMicroseconds(ledger, large, checks);
    const smallTimes: number[] = [];
    const largeTimes: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      smallTimes.push(await checkMicroseconds(ledger, small, checks));
      largeTimes.push(await checkMicroseconds(ledger, large, checks));
    }
    const figure = { largeMicroseconds: median(largeTimes), smallMicroseconds: median(smallTimes), largeHolders, smallHolders };
    log(`${dialect} cap-out check: ${figure.largeMicroseconds.toFixed(1)} µs with ${largeHolders} holders, ${figure.smallMicroseconds.toFixed(1)} µs with ${smallHolders}`);
    return figure;
  } finally {
    await store.close();
  }
}
