import type { Database } from '@jifen/db';
import {
  type PoolOrderLine,
  type PoolState,
  type Program,
  type Ratio,
  RATIO_ONE,
  capEarning,
  expireBurn,
  expiryFor,
  formatPoolPrice,
  fundForPoints,
  localDate,
  mintForOrder,
  minor,
  netAgainstDebt,
  nextReleaseAt,
  pointUnits,
  poolValuationOf,
  ratioFromDecimal,
  refundBurn,
  releaseScheduleFor,
} from '@jifen/rules';
import { type Kysely, sql } from 'kysely';
import { changeBalances, createLot, lockShopper } from './accounts';
import { refreshCapOutTriggerInTx, runCapOutsInTx } from './capout';
import type { WriteContext } from './ledger';
import { getProgram } from './merchants';
import { type PoolPayoutInput, lockPool, payOutOfPool, savePool } from './pool-state';
import { enqueue } from './outbox';
import { alertSupplyGrowthInTx, refreshConcentrationFlagInTx, supplyThrottleInTx } from './risk-approvals';

/**
 * The pool-backed ledger (消费增值, SPEC §3.2). Every figure comes from rules `pool.ts`; this file
 * locks, stores and journals. Which journal entry carries what (so that Σ journal points per shopper
 * = Σ their lot remainders, and Σ journal amount over 'pool.contribute' and 'pool.payout' = the pool):
 *
 * - completion: 'pool.contribute' (amount +contribution, points 0), 'pool.mint' (points +minted: the
 *   shopper's new points, on the lot), and 'debt.settle' (points −settled) when minted points paid off a
 *   refund debt — those are burned at once, so the lot holds minted − settled;
 * - payout (checkout, coupon, cap-out): 'pool.payout' (amount −payout, points 0); the caller's own
 *   entry ('hold.capture', 'coupon.exchange', 'capout') carries the shopper's −points;
 * - refund after completion and expiry: 'pool.burn' (points 0, amount 0); the caller's entry
 *   ('refund.clawback', 'expire') carries the shopper's −points;
 * - funding (behaviour points, positive adjustments, restored points): 'pool.contribute' (amount
 *   +funded, points 0); the caller's entry carries the shopper's +points.
 *
 * So in pool mode the supply always equals the sum of the merchant's lot remainders, which `verify`
 * checks. Every service here runs inside the caller's write and is not idempotent on its own: the
 * caller's id (order, refund, hold, coupon) makes the enclosing write idempotent.
 */

// Callers find the trigger refresh beside the other pool services (orders.ts after restoring points).
export { refreshCapOutTriggerInTx } from './capout';

const CAPOUTS_PER_ORDER = 16;
const DAY_MS = 86_400_000;

export interface PoolOrderCompletion {
  merchantId: string;
  shopperId: string;
  orderId: string;
  /** What the completed order contributes from (minor units): the money the merchant received. */
  amount: number;
  /** The order's lines; each counts at its category's pool share. */
  items?: ReadonlyArray<{ category?: string | null; amount: number }> | null;
  program: Program;
  programVersion: number;
  /**
   * Tier × segment × campaign (rules `poolEarningMultiplier`), for the whole order or per line
   * category; scales `mintRatio`, capped at 1. Default 1.
   */
  multiplier?: Ratio | number | ((category: string | undefined) => Ratio);
  /** The order's eligible amount (minor units): the per-order cap is a share of it. */
  eligibleAmount: number;
  /**
   * When the order was paid. The daily cap and the monthly budget are those of its paid day and
   * month, whose paid GMV counted the order: a completion in a later month does not take a share of
   * a month whose GMV does not hold it (fixed mode charges the same day and month at payment).
   */
  paidAt: Date;
}

export interface PoolMintResult {
  contribution: number;
  /** Point units minted for the order (before any debt they settled). */
  minted: number;
  /** The shopper's new lot (vesting when `release.periods` > 0), or null when nothing reached them. */
  lotId: string | null;
  /** Points that paid off a refund debt instead of reaching the balance. */
  debtSettled: number;
  /** Points the caps, the monthly budget or the supply-growth throttle held back. */
  withheld: number;
  /** Holders converted by the cap-out check that ran after this order. */
  capOuts: number;
}

/**
 * An order completed in pool mode: its contribution by category share enters the pool and part of
 * it is minted for the shopper at the current price (SPEC §3.2 steps 1–4), subject to the caps, the
 * monthly budget and the supply-growth throttle. Then the shopper's basis grows by the order amount,
 * their cap-out trigger and concentration flag are refreshed, and the cap-outs now due run (bounded;
 * the job converts the rest).
 */
export async function poolOnOrderCompletedInTx(tx: WriteContext, input: PoolOrderCompletion): Promise<PoolMintResult> {
  const { merchantId, shopperId, orderId, program, programVersion } = input;
  const shopper = await lockShopper(tx, merchantId, shopperId);
  const pool = await lockPool(tx, merchantId);

  const order = { amount: input.amount, items: poolLines(input.items) };
  const multiplier = typeof input.multiplier === 'number' ? ratioFromDecimal(input.multiplier) : (input.multiplier ?? RATIO_ONE);
  const uncapped = mintForOrder(program, { pool, order, multiplier });
  // The order mints under its own version (docs/rules.md); the shop-wide policies it meets — the
  // supply throttle, the concentration review, the cap-outs of every holder — are the ones in force now.
  const current = await getProgram(tx.db, merchantId);
  const throttle = await supplyThrottleInTx(tx, { merchantId, program: current.program, pool });
  const throttled = throttle.allowance === null ? uncapped.minted : Math.min(uncapped.minted, throttle.allowance);

  const day = localDate(input.paidAt, program.timeZone);
  const month = day.slice(0, 7);
  const today = await tx.db
    .selectFrom('shopper_days')
    .select('earned_points')
    .where('merchant_id', '=', merchantId)
    .where('shopper_id', '=', shopperId)
    .where('day', '=', day)
    .executeTakeFirst();
  // Lock order as in orders.paid (shopper, pool via the hold capture, then the budget month), so the two never deadlock.
  const budget = await tx
    .forUpdate(tx.db.selectFrom('budget_months').select(['gmv', 'issued_value']).where('merchant_id', '=', merchantId).where('month', '=', month))
    .executeTakeFirst();
  // SPEC §3.2: caps and the monthly budget apply to the minted value, at the price of the mint.
  const capped = capEarning(program, {
    points: throttled,
    unitValue: uncapped.price,
    eligible: input.eligibleAmount,
    earnedTodayPoints: today?.earned_points ?? 0,
    paidThisMonth: budget?.gmv ?? 0,
    issuedThisMonth: budget?.issued_value ?? 0,
  });
  const mint = mintForOrder(program, { pool, order, multiplier, maxMintedUnits: capped.points });
  const contribution = mint.contribution;
  const netting = netAgainstDebt(mint.minted, shopper.debt);
  const after: PoolState = { amount: mint.pool.amount, supply: pointUnits(mint.pool.supply - netting.settled) };

  let lotId: string | null = null;
  if (netting.credited > 0) lotId = await createPoolLot(tx, { merchantId, shopperId, sourceRef: orderId, programVersion, program, points: netting.credited, completedReferrals: shopper.completedReferrals });
  if (netting.settled > 0) await changeBalances(tx, merchantId, shopperId, { debt: -netting.settled });
  await tx.db
    .updateTable('shoppers')
    .set({ capout_basis: sql<number>`capout_basis + ${input.amount}` })
    .where('merchant_id', '=', merchantId)
    .where('shopper_id', '=', shopperId)
    .execute();
  await recordEarning(tx, { merchantId, shopperId, day, month, points: mint.minted, budgetCharge: capped.budgetCharge, shortfallValue: capped.shortfall.value });

  const price = formatPoolPrice(program, pool);
  const withheld = uncapped.minted - mint.minted;
  await savePool(tx, merchantId, after, { contributions: contribution, minted: mint.minted, burned: netting.settled }, [
    { shopperId, kind: 'pool.contribute', points: 0, amount: contribution, ref: orderId, programVersion, detail: { orderAmount: input.amount, price } },
    {
      shopperId,
      kind: 'pool.mint',
      points: mint.minted,
      ref: orderId,
      lotId,
      programVersion,
      detail: {
        price,
        mintRatio: `${mint.mintRatio.numerator}/${mint.mintRatio.denominator}`,
        withheld,
        capsApplied: capped.capsApplied.map((cap) => cap.cap),
        throttled: uncapped.minted - throttled,
      },
    },
    ...(netting.settled > 0
      ? [{ shopperId, kind: 'debt.settle' as const, points: -netting.settled, ref: orderId, programVersion, detail: { burned: netting.settled, debtLeft: netting.debtLeft } }]
      : []),
  ]);

  await refreshCapOutTriggerInTx(tx, { merchantId, shopperId, program });
  await refreshConcentrationFlagInTx(tx, { merchantId, shopperId, program: current.program, supply: after.supply });
  if (throttled < uncapped.minted) {
    await alertSupplyGrowthInTx(tx, { merchantId, program: current.program, pool: after, throttle, withheld: uncapped.minted - throttled, orderId });
  }
  if (capped.budgetReached) {
    await enqueue(tx, {
      merchantId,
      kind: 'alert.budget',
      dedupeKey: `alert.budget:${month}`,
      payload: { month, orderId, shopperId, withheldPoints: capped.shortfall.points, withheldValue: capped.shortfall.value },
    });
  }
  const { capOuts } = await runCapOutsInTx(tx, { merchantId, program: current.program, programVersion: current.version, limit: CAPOUTS_PER_ORDER });
  return { contribution, minted: mint.minted, lotId, debtSettled: netting.settled, withheld, capOuts: capOuts.length };
}

/** Lines without a category count at the default share (SPEC §3.2: `poolShare` may differ by category). */
function poolLines(items: PoolOrderCompletion['items']): PoolOrderLine[] | undefined {
  if (!items || items.length === 0) return undefined;
  // '' is never a category name (the program schema requires at least one character), so it takes `default`.
  return items.map((item) => ({ category: item.category ?? '', amount: item.amount }));
}

/**
 * A pool lot: available at once, or vesting over `release.periods` (SPEC §3.2 "Staged release").
 * A vesting lot is 'pending' — its points count in the shopper's pending balance, never spendable —
 * with `released` 0 and `release_next_at` when the first portion falls due; the release job moves
 * each vested portion into the lot's companion available lot (see release-job.ts).
 */
async function createPoolLot(
  tx: WriteContext,
  input: { merchantId: string; shopperId: string; sourceRef: string; program: Program; programVersion: number; points: number; completedReferrals: number },
): Promise<string> {
  const { release } = poolValuationOf(input.program);
  const vests = release.periods > 0;
  const lotId = await createLot(tx, {
    merchantId: input.merchantId,
    shopperId: input.shopperId,
    source: 'order',
    sourceRef: input.sourceRef,
    programVersion: input.programVersion,
    points: input.points,
    status: vests ? 'pending' : 'available',
    earnedAt: tx.now,
    // A vesting lot is wholly released after its periods at the latest (sooner with the referral boost).
    availableAt: vests ? new Date(tx.now.getTime() + release.periods * release.periodDays * DAY_MS) : tx.now,
    expiresAt: expiryFor(input.program.expiry, tx.now, input.program.timeZone),
    releasePeriods: release.periods,
    releasePeriodDays: release.periodDays,
  });
  if (vests) {
    const schedule = releaseScheduleFor(release, { minted: input.points, mintedAt: tx.now }, input.completedReferrals);
    await tx.db
      .updateTable('lots')
      .set({ released: 0, release_next_at: nextReleaseAt({ ...schedule, now: tx.now })?.getTime() ?? null })
      .where('id', '=', lotId)
      .execute();
  }
  return lotId;
}

/** The daily cap and the monthly budget count minted points like earned ones (SPEC §3.2). */
async function recordEarning(
  tx: WriteContext,
  input: { merchantId: string; shopperId: string; day: string; month: string; points: number; budgetCharge: number; shortfallValue: number },
): Promise<void> {
  if (input.points > 0) {
    await tx.db
      .insertInto('shopper_days')
      .values({ merchant_id: input.merchantId, shopper_id: input.shopperId, day: input.day, earned_points: input.points })
      .onConflict((conflict) =>
        conflict.columns(['merchant_id', 'shopper_id', 'day']).doUpdateSet({ earned_points: sql<number>`shopper_days.earned_points + ${input.points}` }),
      )
      .execute();
  }
  if (input.budgetCharge > 0 || input.shortfallValue > 0) {
    await tx.db
      .insertInto('budget_months')
      .values({ merchant_id: input.merchantId, month: input.month, gmv: 0, issued_value: input.budgetCharge, shortfall_value: input.shortfallValue })
      .onConflict((conflict) =>
        conflict.columns(['merchant_id', 'month']).doUpdateSet({
          issued_value: sql<number>`budget_months.issued_value + ${input.budgetCharge}`,
          shortfall_value: sql<number>`budget_months.shortfall_value + ${input.shortfallValue}`,
        }),
      )
      .execute();
  }
}

export interface PoolRefund {
  merchantId: string;
  shopperId: string;
  orderId: string;
  program: Program;
  programVersion: number;
  /**
   * Points the caller took out of the shopper's lots for this refund (rules `refundBurnPoints`, less
   * any part that became a debt: spent points were burned when they were spent).
   */
  burnPoints: number;
  /**
   * The refunded amount (minor units): the basis is completed spend, so it shrinks by what was
   * refunded (never below 0), as rules `simulate` replays it. Omitted: the basis is left as it is.
   */
  refundAmount?: number;
}

/**
 * A refund after completion (SPEC §3.2): the order's minted points come back out of the supply; the
 * contribution stays in the pool, so the price cannot fall. Journals 'pool.burn' (points 0).
 */
export async function poolOnRefundInTx(tx: WriteContext, input: PoolRefund): Promise<{ burned: number }> {
  const { merchantId, shopperId, program } = input;
  if (input.refundAmount !== undefined && input.refundAmount > 0) {
    await tx.db
      .updateTable('shoppers')
      .set({ capout_basis: sql<number>`case when capout_basis > ${input.refundAmount} then capout_basis - ${input.refundAmount} else 0 end` })
      .where('merchant_id', '=', merchantId)
      .where('shopper_id', '=', shopperId)
      .execute();
  }
  if (input.burnPoints === 0) {
    await refreshCapOutTriggerInTx(tx, { merchantId, shopperId, program });
    return { burned: 0 };
  }
  const pool = await lockPool(tx, merchantId);
  const burn = refundBurn(pool, input.burnPoints);
  await savePool(tx, merchantId, burn.pool, { burned: burn.burned }, [
    {
      shopperId,
      kind: 'pool.burn',
      points: 0,
      ref: input.orderId,
      programVersion: input.programVersion,
      detail: { reason: 'refund', burned: burn.burned, supplyAfter: burn.pool.supply },
    },
  ]);
  await afterHoldingsChanged(tx, { merchantId, shopperId, program, supply: burn.pool.supply });
  return { burned: burn.burned };
}

/**
 * Using points (checkout, coupon exchange, cap-out): burns them and pays
 * `floor(points × price × (1 − retention[use]))` out of the pool; journals 'pool.payout'
 * (amount −payout, points 0: the caller journals the shopper's points).
 */
export async function poolPayoutInTx(tx: WriteContext, input: PoolPayoutInput): Promise<{ payout: number }> {
  const { payout, pool } = await payOutOfPool(tx, input);
  await afterHoldingsChanged(tx, { merchantId: input.merchantId, shopperId: input.shopperId, program: input.program, supply: pool.supply });
  return { payout };
}

/** Expired points are burned with nothing paid out (SPEC §3.2): the price rises. Journals 'pool.burn'. */
export async function poolBurnExpiredInTx(tx: WriteContext, input: { merchantId: string; points: number; ref: string; programVersion: number }): Promise<{ burned: number }> {
  if (input.points === 0) return { burned: 0 };
  const pool = await lockPool(tx, input.merchantId);
  const burn = expireBurn(pool, input.points);
  await savePool(tx, input.merchantId, burn.pool, { burned: burn.burned }, [
    {
      shopperId: null,
      kind: 'pool.burn',
      points: 0,
      ref: input.ref,
      programVersion: input.programVersion,
      detail: { reason: 'expire', burned: burn.burned, supplyAfter: burn.pool.supply },
    },
  ]);
  return { burned: burn.burned };
}

/**
 * Points not minted from an order (behaviour points, positive manual adjustments, restored points)
 * are funded by the merchant at the current price: `ceil(points × price)` enters the pool as a
 * contribution and the supply grows by `points`, so the price never falls. Journals
 * 'pool.contribute' with the amount (points 0: the caller journals the shopper's points).
 */
export async function poolFundInTx(
  tx: WriteContext,
  input: { merchantId: string; shopperId: string; points: number; ref: string; program: Program; programVersion: number },
): Promise<{ funded: number }> {
  const { merchantId, shopperId, program } = input;
  if (input.points === 0) return { funded: 0 };
  const pool = await lockPool(tx, merchantId);
  const funding = fundForPoints(program, pool, input.points);
  await savePool(tx, merchantId, funding.pool, { contributions: funding.contribution, minted: input.points }, [
    {
      shopperId,
      kind: 'pool.contribute',
      points: 0,
      amount: funding.contribution,
      ref: input.ref,
      programVersion: input.programVersion,
      detail: { reason: 'fund', points: input.points, price: formatPoolPrice(program, pool) },
    },
  ]);
  await afterHoldingsChanged(tx, { merchantId, shopperId, program, supply: funding.pool.supply });
  return { funded: funding.contribution };
}

async function afterHoldingsChanged(tx: WriteContext, input: { merchantId: string; shopperId: string; program: Program; supply: number }): Promise<void> {
  await refreshCapOutTriggerInTx(tx, input);
  await refreshConcentrationFlagInTx(tx, input);
}

export interface PoolPricePoint {
  /** Epoch ms of the change. */
  at: number;
  /** The journal entry that made it. */
  seq: number;
  amount: number;
  supply: number;
  /** Minor units per whole point, 4 places (SPEC §2). */
  price: string;
}

/** The most recent pool changes, oldest first, for the widgets' price sparkline (SPEC §3.2 "Disclosure"). */
export async function poolHistory(db: Kysely<Database>, merchantId: string, options: { limit?: number } = {}): Promise<PoolPricePoint[]> {
  const { program } = await getProgram(db, merchantId);
  if (program.valuation.kind !== 'pool') return [];
  const rows = await db
    .selectFrom('pool_history')
    .select(['at', 'journal_seq', 'amount', 'supply'])
    .where('merchant_id', '=', merchantId)
    .orderBy('journal_seq', 'desc')
    .limit(Math.min(Math.max(options.limit ?? 90, 1), 1000))
    .execute();
  return rows.reverse().map((row) => ({
    at: row.at,
    seq: row.journal_seq,
    amount: row.amount,
    supply: row.supply,
    price: formatPoolPrice(program, { amount: minor(row.amount), supply: pointUnits(row.supply) }),
  }));
}
