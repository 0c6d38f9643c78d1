import type { LotRow } from '@jifen/db';
import { type Program, nextReleaseAt, releaseScheduleFor, releasedAt } from '@jifen/rules';
import { sql } from 'kysely';
import { changeBalances } from './accounts';
import type { JournalEntryInput } from './journal';
import type { Ledger, WriteContext } from './ledger';
import { getProgram } from './merchants';

/**
 * Staged release of pool points (SPEC §3.2): a lot minted with `release.periods` > 0 is born
 * 'pending' (its points count in the shopper's pending balance and cannot be spent) with
 * `released` 0 and `release_next_at` set to the instant its first portion vests. This job takes the
 * lots whose `release_next_at` has passed, in bounded batches through their partial index, and
 * moves each lot's newly vested units (`releasedAt`, rules release.ts, with the referral boost of
 * the shopper's completed referrals) into the lot's companion available lot `<lot id>.r` — one
 * companion per vesting lot, same order, same expiry, created on the first release. The balance
 * identities hold throughout: pending and available move by the same units, and the journal entry
 * 'pool.release' carries points 0 (a move within the shopper's total).
 *
 * A vesting lot past its expiry is left to the expiry sweep, which burns it like any other lot.
 */

const RELEASE_BATCH_DEFAULT = 500;

export interface ReleaseRun {
  /** Vesting lots examined. */
  lots: number;
  /** Point units moved from pending to available. */
  released: number;
  /** True when the batch was full: run again to drain the backlog. */
  hasMore: boolean;
}

/** One bounded batch of due releases, in one write. */
export async function runReleases(ledger: Ledger, input: { merchantId?: string; limit?: number } = {}): Promise<ReleaseRun> {
  const limit = input.limit ?? RELEASE_BATCH_DEFAULT;
  return ledger.write(async (tx) => {
    let dueQuery = tx.db
      .selectFrom('lots')
      .select(['merchant_id', 'shopper_id'])
      .where('release_next_at', 'is not', null)
      .where('release_next_at', '<=', tx.now.getTime())
      .orderBy('release_next_at')
      .limit(limit);
    if (input.merchantId !== undefined) dueQuery = dueQuery.where('merchant_id', '=', input.merchantId);
    const due = await dueQuery.execute();
    // Shoppers first, in one order for every writer (accounts.ts lock order), then their due lots.
    const shoppers = [...new Map(due.map((row) => [`${row.merchant_id}\u0000${row.shopper_id}`, row])).values()].sort((a, b) =>
      a.merchant_id === b.merchant_id ? compare(a.shopper_id, b.shopper_id) : compare(a.merchant_id, b.merchant_id),
    );
    let released = 0;
    let lots = 0;
    for (const { merchant_id: merchantId, shopper_id: shopperId } of shoppers) {
      const result = await releaseShopperInTx(tx, { merchantId, shopperId });
      released += result.released;
      lots += result.lots;
    }
    return { lots, released, hasMore: due.length >= limit };
  });
}

/**
 * Releases whatever has vested in one shopper's due lots. Also the way to apply a new referral
 * boost at once: after `completed_referrals` grows, `reviewReleaseScheduleInTx` makes the shopper's
 * vesting lots due now, and the next run releases the catch-up.
 */
export async function releaseShopperInTx(tx: WriteContext, input: { merchantId: string; shopperId: string }): Promise<{ lots: number; released: number }> {
  const { merchantId, shopperId } = input;
  const shopper = await tx
    .forUpdate(tx.db.selectFrom('shoppers').select('completed_referrals').where('merchant_id', '=', merchantId).where('shopper_id', '=', shopperId))
    .executeTakeFirst();
  if (!shopper) return { lots: 0, released: 0 };
  const lots = await tx
    .forUpdate(
      tx.db
        .selectFrom('lots')
        .selectAll()
        .where('merchant_id', '=', merchantId)
        .where('shopper_id', '=', shopperId)
        .where('release_next_at', 'is not', null)
        .where('release_next_at', '<=', tx.now.getTime())
        .orderBy('id'),
    )
    .execute();
  const programs = new Map<number, Program>();
  const entries: JournalEntryInput[] = [];
  let released = 0;
  for (const lot of lots) {
    let program = programs.get(lot.program_version);
    if (!program) {
      program = (await getProgram(tx.db, merchantId, lot.program_version)).program;
      programs.set(lot.program_version, program);
    }
    const moved = await releaseLot(tx, lot, program, shopper.completed_referrals);
    if (moved === 0) continue;
    released += moved;
    entries.push({
      shopperId,
      kind: 'pool.release',
      points: 0,
      ref: lot.source_ref,
      lotId: lot.id,
      programVersion: lot.program_version,
      detail: { released: moved, to: companionLotId(lot.id) },
    });
  }
  await changeBalances(tx, merchantId, shopperId, { pending: -released, available: released });
  await tx.journal.appendMany(merchantId, entries);
  return { lots: lots.length, released };
}

/** Moves one lot's newly vested units to its companion; returns the units moved. */
async function releaseLot(tx: WriteContext, lot: LotRow, program: Program, completedReferrals: number): Promise<number> {
  const now = tx.now.getTime();
  const isVesting = lot.status === 'pending' && lot.remaining > 0 && (lot.expires_at === null || lot.expires_at > now);
  if (!isVesting || program.valuation.kind !== 'pool') {
    await tx.db.updateTable('lots').set({ release_next_at: null }).where('id', '=', lot.id).execute();
    return 0;
  }
  const release = { ...program.valuation.release, periods: lot.release_periods, periodDays: lot.release_period_days };
  const schedule = { ...releaseScheduleFor(release, { minted: lot.points, mintedAt: new Date(lot.earned_at) }, completedReferrals), now: tx.now };
  // A refund may already have taken some of the locked units: never move more than remain.
  const moved = Math.min(lot.remaining, Math.max(0, releasedAt(schedule) - lot.released));
  const remaining = lot.remaining - moved;
  const next = remaining === 0 ? null : (nextReleaseAt(schedule)?.getTime() ?? null);
  await tx.db
    .updateTable('lots')
    .set({
      remaining,
      released: lot.released + moved,
      release_next_at: next,
      // Nothing left vesting: the lot is done (its points live on in the companion).
      ...(remaining === 0 ? { status: 'available' as const } : {}),
    })
    .where('id', '=', lot.id)
    .execute();
  if (moved === 0) return 0;
  await tx.db
    .insertInto('lots')
    .values({
      id: companionLotId(lot.id),
      merchant_id: lot.merchant_id,
      shopper_id: lot.shopper_id,
      source: lot.source,
      source_ref: lot.source_ref,
      program_version: lot.program_version,
      points: moved,
      remaining: moved,
      held: 0,
      status: 'available',
      earned_at: lot.earned_at,
      available_at: now,
      expires_at: lot.expires_at,
      release_periods: 0,
      release_period_days: 0,
      released: moved,
      release_next_at: null,
    })
    .onConflict((conflict) =>
      conflict.column('id').doUpdateSet({
        points: sql<number>`lots.points + ${moved}`,
        remaining: sql<number>`lots.remaining + ${moved}`,
        released: sql<number>`lots.released + ${moved}`,
      }),
    )
    .execute();
  return moved;
}

/** The available lot a vesting lot releases into. */
export function companionLotId(vestingLotId: string): string {
  return `${vestingLotId}.r`;
}

/**
 * Makes the shopper's vesting lots due now, so the next release run applies a change in their
 * referral boost (SPEC §3.2: ≥ `referralBoost.invitees` completed referrals release `factor` faster).
 * For the referral service, after it increments `completed_referrals`.
 */
export async function reviewReleaseScheduleInTx(tx: WriteContext, input: { merchantId: string; shopperId: string }): Promise<void> {
  await tx.db
    .updateTable('lots')
    .set({ release_next_at: tx.now.getTime() })
    .where('merchant_id', '=', input.merchantId)
    .where('shopper_id', '=', input.shopperId)
    .where('remaining', '>', sql.lit(0))
    .where('release_next_at', 'is not', null)
    .where('release_next_at', '>', tx.now.getTime())
    .execute();
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
