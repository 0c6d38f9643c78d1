import type { LotSource } from '@jifen/db';
import {
  type Program,
  type RewardedBehaviour,
  behaviourPoints,
  checkIn as nextCheckin,
  expiryFor,
  netAgainstDebt,
  referralRewards,
} from '@jifen/rules';
import { type ShopperAccount, changeBalances, createLot, lockShopper } from './accounts';
import { refreshCapOutTriggerInTx } from './capout';
import { JifenError } from './errors';
import { idempotent } from './idempotency';
import type { JournalKind } from './journal';
import type { Ledger, WriteContext } from './ledger';
import { getProgram } from './merchants';
import { poolFundInTx } from './pool-ledger';
import { reviewReleaseScheduleInTx } from './release-job';

/**
 * Behaviour points (SPEC §3.1 "Behaviour points"): reviews and shares the merchant reports, the
 * shopper's daily check-in, and one-level referral rewards when an invitee's first order completes.
 * Behaviour lots are available at once and expire under the program's policy; like every earning
 * they first pay off a recorded debt (SPEC §3.1 "Refunds").
 */

export interface PointsCredit {
  merchantId: string;
  shopperId: string;
  points: number;
  source: LotSource;
  sourceRef: string;
  kind: JournalKind;
  /** The journal entry's ref: the caller's id the points answer to. */
  ref: string;
  program: Program;
  programVersion: number;
  detail?: Record<string, unknown>;
}

export interface Credited {
  lotId: string | null;
  /** Points earned, before debt. */
  points: number;
  /** The part that reached the balance. */
  credited: number;
  /** The part that paid off debt. */
  debtSettled: number;
}

/**
 * Credits points earned outside an order into an available lot, netting any debt first
 * (`netAgainstDebt`), and journals the earning and the settlement. In pool mode the merchant funds
 * the credited points at the current price (`poolFundInTx`), so every outstanding point stays backed.
 * The shopper must already be locked by the caller.
 */
export async function creditAvailablePoints(tx: WriteContext, credit: PointsCredit): Promise<Credited> {
  if (credit.points <= 0) return { lotId: null, points: 0, credited: 0, debtSettled: 0 };
  const { merchantId, shopperId, program, programVersion } = credit;
  const row = await tx.db.selectFrom('shoppers').select('debt').where('merchant_id', '=', merchantId).where('shopper_id', '=', shopperId).executeTakeFirstOrThrow();
  const netting = netAgainstDebt(credit.points, Number(row.debt));
  let lotId: string | null = null;
  if (netting.credited > 0) {
    if (program.valuation.kind === 'pool') {
      await poolFundInTx(tx, { merchantId, shopperId, points: netting.credited, ref: credit.ref, program, programVersion });
    }
    lotId = await createLot(tx, {
      merchantId,
      shopperId,
      source: credit.source,
      sourceRef: credit.sourceRef,
      programVersion,
      points: netting.credited,
      status: 'available',
      earnedAt: tx.now,
      availableAt: tx.now,
      expiresAt: expiryFor(program.expiry, tx.now, program.timeZone),
    });
    // More holdings lower the shopper's cap-out trigger price: refresh it now the lot exists.
    if (program.valuation.kind === 'pool') await refreshCapOutTriggerInTx(tx, { merchantId, shopperId, program });
  }
  if (netting.settled > 0) await changeBalances(tx, merchantId, shopperId, { debt: -netting.settled });
  await tx.journal.appendMany(merchantId, [
    {
      shopperId,
      kind: credit.kind,
      points: credit.points,
      ref: credit.ref,
      lotId,
      programVersion,
      detail: { ...credit.detail, debtSettled: netting.settled },
    },
    ...(netting.settled > 0
      ? [{ shopperId, kind: 'debt.settle' as const, points: -netting.settled, ref: credit.ref, programVersion, detail: { debtLeft: netting.debtLeft } }]
      : []),
  ]);
  return { lotId, points: credit.points, credited: netting.credited, debtSettled: netting.settled };
}

export interface RecordBehaviourInput {
  merchantId: string;
  shopperId: string;
  kind: RewardedBehaviour;
  /** The merchant's id of the review or share: the idempotency key. */
  ref: string;
}

export interface BehaviourResult {
  shopperId: string;
  kind: RewardedBehaviour;
  ref: string;
  points: number;
  debtSettled: number;
}

/** A review, photo review or share the merchant reports (never the shopper: SPEC §3.1). */
export async function recordBehaviour(ledger: Ledger, input: RecordBehaviourInput): Promise<BehaviourResult> {
  return ledger.write(async (tx) => {
    const { version, program } = await getProgram(tx.db, input.merchantId);
    const request = { shopperId: input.shopperId, kind: input.kind };
    return idempotent(tx, { merchantId: input.merchantId, scope: 'behaviours.record', key: input.ref, request }, async () => {
      await lockShopper(tx, input.merchantId, input.shopperId, lowestTierId(program));
      const credited = await creditAvailablePoints(tx, {
        merchantId: input.merchantId,
        shopperId: input.shopperId,
        points: behaviourPoints(program, input.kind),
        source: input.kind === 'share' ? 'share' : 'review',
        sourceRef: input.ref,
        kind: 'behaviour',
        ref: input.ref,
        program,
        programVersion: version,
        detail: { behaviour: input.kind },
      });
      return { shopperId: input.shopperId, kind: input.kind, ref: input.ref, points: credited.points, debtSettled: credited.debtSettled };
    });
  });
}

export interface CheckinResult {
  shopperId: string;
  /** The merchant-local day checked in. */
  date: string;
  streak: number;
  /** Position in the streak schedule, 1-based. */
  scheduleDay: number;
  points: number;
  debtSettled: number;
}

/**
 * The shopper's daily check-in, once per merchant-local day; the streak schedule and the restart
 * after a missed day come from the rules. The day itself is the idempotency key: a second call that
 * day is ALREADY_CHECKED_IN.
 */
export async function checkIn(ledger: Ledger, input: { merchantId: string; shopperId: string }): Promise<CheckinResult> {
  return ledger.write(async (tx) => {
    const { version, program } = await getProgram(tx.db, input.merchantId);
    const shopper = await lockShopper(tx, input.merchantId, input.shopperId, lowestTierId(program));
    const checkin = nextCheckin(program, { lastCheckinDate: shopper.checkinDate, streak: shopper.checkinStreak, now: tx.now });
    if (!checkin.ok) throw rulesRefusal(checkin.error);
    await tx.db
      .updateTable('shoppers')
      .set({ checkin_date: checkin.value.date, checkin_streak: checkin.value.streak })
      .where('merchant_id', '=', input.merchantId)
      .where('shopper_id', '=', input.shopperId)
      .execute();
    const credited = await creditAvailablePoints(tx, {
      merchantId: input.merchantId,
      shopperId: input.shopperId,
      points: checkin.value.points,
      source: 'checkin',
      sourceRef: checkin.value.date,
      kind: 'checkin',
      ref: `checkin:${checkin.value.date}`,
      program,
      programVersion: version,
      detail: { date: checkin.value.date, streak: checkin.value.streak, scheduleDay: checkin.value.scheduleDay },
    });
    return {
      shopperId: input.shopperId,
      date: checkin.value.date,
      streak: checkin.value.streak,
      scheduleDay: checkin.value.scheduleDay,
      points: credited.points,
      debtSettled: credited.debtSettled,
    };
  });
}

export interface SetReferrerInput {
  merchantId: string;
  shopperId: string;
  /** The inviter's shopper id. */
  referredBy: string;
}

/**
 * Records who invited the shopper. Only before their first paid order (a referral rewards bringing
 * a new customer, not re-labelling an old one), never themselves, and once: setting the same
 * inviter again is a no-op, another one is refused.
 */
export async function setReferrer(ledger: Ledger, input: SetReferrerInput): Promise<{ shopperId: string; referredBy: string }> {
  return ledger.write(async (tx) => {
    const { program } = await getProgram(tx.db, input.merchantId);
    if (input.referredBy === input.shopperId) throw new JifenError('SELF_REFERRAL', { shopperId: input.shopperId }, 'referredBy');
    const shopper = await lockShopper(tx, input.merchantId, input.shopperId, lowestTierId(program));
    if (shopper.referredBy === input.referredBy) return { shopperId: input.shopperId, referredBy: input.referredBy };
    if (shopper.referredBy !== null) throw new JifenError('REFERRER_ALREADY_SET', { referredBy: shopper.referredBy }, 'referredBy');
    const anyOrder = await tx.db.selectFrom('orders').select('order_id').where('merchant_id', '=', input.merchantId).where('shopper_id', '=', input.shopperId).limit(1).executeTakeFirst();
    if (shopper.firstPaidAt !== null || anyOrder !== undefined) throw new JifenError('REFERRAL_AFTER_FIRST_ORDER', { shopperId: input.shopperId }, 'referredBy');
    await tx.db
      .updateTable('shoppers')
      .set({ referred_by: input.referredBy })
      .where('merchant_id', '=', input.merchantId)
      .where('shopper_id', '=', input.shopperId)
      .execute();
    return { shopperId: input.shopperId, referredBy: input.referredBy };
  });
}

/**
 * The inviter to reward when this invitee's order completes, locked — or null. The reward is due
 * once, at the invitee's first completed order (the flag is set then, whatever the outcome).
 * Call it right after locking the invitee and before journaling, so every write takes its shopper
 * locks (invitee, then inviter) before the journal head's.
 */
export async function lockReferralInviter(tx: WriteContext, merchantId: string, invitee: ShopperAccount): Promise<ShopperAccount | null> {
  if (invitee.referredBy === null || invitee.referralRewarded) return null;
  return lockShopper(tx, merchantId, invitee.referredBy);
}

export interface ReferralReward {
  inviterId: string;
  inviteeId: string;
  inviterPoints: number;
  inviteePoints: number;
}

/**
 * Rewards inviter and invitee when the invitee's first order completes (SPEC §3.1). One level only:
 * the reward names exactly these two shoppers; whoever invited the inviter earns nothing from it.
 * The inviter's completed referrals count toward the pool release boost (SPEC §3.2).
 */
export async function rewardReferralInTx(
  tx: WriteContext,
  input: { merchantId: string; invitee: ShopperAccount; inviter: ShopperAccount; orderId: string; program: Program; programVersion: number },
): Promise<ReferralReward | null> {
  const { merchantId, invitee, inviter, program, programVersion } = input;
  if (invitee.referralRewarded) return null;
  await tx.db.updateTable('shoppers').set({ referral_rewarded: 1 }).where('merchant_id', '=', merchantId).where('shopper_id', '=', invitee.shopperId).execute();
  await tx.db
    .updateTable('shoppers')
    .set((eb) => ({ completed_referrals: eb('completed_referrals', '+', 1) }))
    .where('merchant_id', '=', merchantId)
    .where('shopper_id', '=', inviter.shopperId)
    .execute();
  // A boost reached by this referral applies to the inviter's vesting pool points at once.
  if (program.valuation.kind === 'pool') await reviewReleaseScheduleInTx(tx, { merchantId, shopperId: inviter.shopperId });
  const rewards = referralRewards(program, { inviterId: inviter.shopperId, inviteeId: invitee.shopperId, inviteeFirstOrderCompleted: true, alreadyRewarded: false });
  if (!rewards.ok) return null;
  const grant = (shopperId: string, points: number, role: 'inviter' | 'invitee') =>
    creditAvailablePoints(tx, {
      merchantId,
      shopperId,
      points,
      source: 'referral',
      sourceRef: invitee.shopperId,
      kind: 'referral',
      ref: `referral:${invitee.shopperId}`,
      program,
      programVersion,
      detail: { role, inviteeId: invitee.shopperId, orderId: input.orderId },
    });
  await grant(inviter.shopperId, rewards.value.inviter, 'inviter');
  await grant(invitee.shopperId, rewards.value.invitee, 'invitee');
  return { inviterId: inviter.shopperId, inviteeId: invitee.shopperId, inviterPoints: rewards.value.inviter, inviteePoints: rewards.value.invitee };
}

/** The id of the program's lowest tier, the one a new shopper starts on. */
export function lowestTierId(program: Program): string {
  return program.earning.tiers[0]?.id ?? 'member';
}

/** A rules refusal as the one error type services throw. */
export function rulesRefusal(error: { code: string }, param?: string): JifenError {
  const { code, ...facts } = error;
  return new JifenError(code, facts, param);
}
