import type { Database, HoldRow, HoldStatus, NewHoldRow } from '@jifen/db';
import { type Program, type RedemptionLine, redemptionValueCap, splitFor } from '@jifen/rules';
import { type Kysely, sql } from 'kysely';
import { type BalanceDelta, allocateSpendable, changeBalances, changeBalancesMany, lockShopper, lockShoppers } from './accounts';
import { canonicalJson, firstDifferentField, randomId, sha256Hex } from './canonical';
import { couponCart, redemptionQuoteFor } from './checkout';
import { couponDiscountForCart } from './coupons';
import { JifenError } from './errors';
import { type FoundEntry, type JournalEntryInput, entryFor } from './journal';
import type { Ledger, WriteContext } from './ledger';
import { getProgram } from './merchants';
import { poolPayoutInTx } from './pool-ledger';
import { assertRedemptionApprovedInTx } from './risk-approvals';

/**
 * Two-phase redemption (SPEC §3.1 "Holds"). The widget reserves points for a checkout; the merchant
 * backend captures the hold when the order is paid, or it is released (cancelled checkout) or
 * expires. A hold takes specific lot portions, earliest expiry first, and raises each lot's `held`:
 * the points leave `available` for `held`, so they cannot be spent twice, and the expiry sweep never
 * expires them (it expires only `remaining − held`). A hold is placed, then resolved exactly once —
 * captured, released or expired — each step a journal entry (SPEC §4).
 */

export interface ReserveHoldInput {
  merchantId: string;
  shopperId: string;
  /** The caller's id for the checkout: one hold per checkout, and the idempotency key of the reserve. */
  checkoutId: string;
  points: number;
  cartAmount: number;
  items?: RedemptionLine[];
  /** A coupon the shopper applies to this cart; coupons apply before points (SPEC §3.1). */
  couponCode?: string;
}

export interface HoldView {
  holdId: string;
  checkoutId: string;
  points: number;
  /** What the points pay (minor units). */
  value: number;
  /** Cash left to pay after coupons and points. */
  cashDue: number;
  expiresAt: string;
  status: HoldStatus;
}

/** What a hold's `hold.place` entry keeps: the reserve's request and its cash figure. */
interface PlaceDetail {
  request: Record<string, unknown>;
  cashDue: number;
}

/**
 * Reserves points for a checkout. The quote is re-run here — the server is the authority — and a
 * choice outside it is refused with the rules' reason (param `points`). Idempotent on (shopper,
 * checkoutId): a replay returns the same hold; the same checkout with another payload is a CONFLICT
 * naming the first differing field.
 */
export async function reserveHold(ledger: Ledger, input: ReserveHoldInput): Promise<HoldView> {
  return ledger.write(async (tx) => {
    const { merchantId, shopperId } = input;
    const { program, version } = await getProgram(tx.db, merchantId);
    await lockShopper(tx, merchantId, shopperId);
    const request = { points: input.points, cartAmount: input.cartAmount, items: input.items ?? null, couponCode: input.couponCode ?? null };
    const payloadHash = sha256Hex(canonicalJson(request));
    const existing = await tx.db
      .selectFrom('holds')
      .selectAll()
      .where('merchant_id', '=', merchantId)
      .where('shopper_id', '=', shopperId)
      .where('checkout_id', '=', input.checkoutId)
      .executeTakeFirst();
    if (existing) {
      const place = await placeEntry(tx.db, existing);
      if (existing.payload_hash !== payloadHash) {
        const field = firstDifferentField(place.detail.request, request) ?? 'checkoutId';
        throw new JifenError('IDEMPOTENCY_CONFLICT', { scope: 'checkout', key: input.checkoutId, field }, field);
      }
      // A replay answers with the first result (SPEC §5), whatever became of the hold since.
      return holdView({ ...existing, status: 'held' }, place.detail.cashDue);
    }

    const coupon =
      input.couponCode === undefined
        ? { discount: 0, shippingDiscount: 0 }
        : await couponDiscountForCart(tx.db, { merchantId, shopperId, code: input.couponCode, ...couponCart(input) }, tx.now);
    const couponDiscount = coupon.discount;
    const { quote } = await redemptionQuoteFor(tx.db, {
      program,
      merchantId,
      shopperId,
      cartAmount: input.cartAmount,
      couponDiscount,
      couponShippingDiscount: coupon.shippingDiscount,
      now: tx.now,
      ...(input.items === undefined ? {} : { items: input.items }),
    });
    if (!quote.ok) {
      const { code, ...facts } = quote.error;
      throw new JifenError(code, facts, code === 'ITEMS_EXCEED_CART' ? 'items' : 'points');
    }
    // Zero points is "pay all in cash" to the quote, but a hold of nothing reserves nothing.
    if (input.points === 0) {
      throw new JifenError('POINTS_OUT_OF_RANGE', { requested: 0, minPoints: quote.value.minPoints, maxPoints: quote.value.maxPoints }, 'points');
    }
    const split = splitFor(quote.value, input.points);
    if (!split.ok) {
      const { code, ...facts } = split.error;
      throw new JifenError(code, facts, 'points');
    }

    const portions = await allocateSpendable(tx, merchantId, shopperId, input.points);
    for (const portion of portions) {
      await tx.db
        .updateTable('lots')
        .set({ held: sql<number>`held + ${portion.points}` })
        .where('id', '=', portion.lotId)
        .where('merchant_id', '=', merchantId)
        .execute();
    }
    const hold = {
      merchant_id: merchantId,
      hold_id: `h_${randomId(12)}`,
      shopper_id: shopperId,
      checkout_id: input.checkoutId,
      points: input.points,
      value: split.value.value,
      cart_amount: input.cartAmount,
      status: 'held' as const,
      created_at: tx.now.getTime(),
      expires_at: tx.now.getTime() + program.redemption.holdTtlSeconds * 1000,
      resolved_at: null,
      order_id: null,
      payload_hash: payloadHash,
    } satisfies NewHoldRow;
    await tx.db.insertInto('holds').values(hold).execute();
    await tx.db
      .insertInto('hold_lots')
      .values(portions.map((portion) => ({ merchant_id: merchantId, hold_id: hold.hold_id, lot_id: portion.lotId, points: portion.points })))
      .execute();
    await changeBalances(tx, merchantId, shopperId, { available: -input.points, held: input.points });
    const detail: PlaceDetail = { request, cashDue: split.value.cashDue };
    await tx.journal.append(merchantId, {
      shopperId,
      kind: 'hold.place',
      points: 0,
      ref: hold.hold_id,
      programVersion: version,
      detail: { ...detail, checkoutId: input.checkoutId, value: hold.value, couponDiscount, expiresAt: hold.expires_at, portions: portions.map((portion) => ({ ...portion })) },
    });
    return holdView(hold, split.value.cashDue);
  });
}

export interface CaptureHoldInput {
  merchantId: string;
  shopperId: string;
  holdId: string;
  orderId: string;
  program: Program;
  programVersion: number;
  /** The paid order the hold pays for: its total, its lines, its coupons' discount and the part of it that was the shipping's (minor units). */
  order: { amount: number; items: readonly RedemptionLine[]; couponDiscount: number; couponShippingDiscount: number };
  /**
   * When the order was paid. The hold must have been live then — not when the event reaches jifen: a
   * platform retries its webhook for hours, and a hold the sweep has not expired still holds the points
   * the shopper paid with.
   */
  paidAt: Date;
}

export interface CapturedHold {
  holdId: string;
  points: number;
  value: number;
}

/**
 * Captures a hold for a paid order, inside the caller's transaction (orders.ts `orderPaid`): the
 * held portions leave their lots for good and the shopper's `held`; in pool mode the pool pays the
 * points' worth out (SPEC §3.2). The hold must be the shopper's, 'held', and not past its expiry; a
 * hold captured for this same order is a replay and returns the same result. The order must let
 * points pay at least the hold's value — maxShare of what is payable after its coupons, on its
 * eligible lines (rules `redemptionValueCap`) — or HOLD_EXCEEDS_ORDER: a hold reserved for one cart
 * cannot pay for a smaller order. A flagged pool shopper's hold waits for the merchant's approval
 * (SPEC §3.2 risk; risk-approvals.ts).
 */
export async function captureHoldInTx(tx: WriteContext, input: CaptureHoldInput): Promise<CapturedHold> {
  const { merchantId, shopperId, holdId } = input;
  await lockShopper(tx, merchantId, shopperId);
  const hold = await lockHold(tx, merchantId, shopperId, holdId);
  const captured = { holdId, points: Number(hold.points), value: Number(hold.value) };
  if (hold.status === 'captured' && hold.order_id === input.orderId) return captured;
  assertActive(hold, input.paidAt);
  // The shopper was quoted and the hold placed under the rules then in force: a redemption limit
  // lowered since (maxShare, an excluded category) must not refuse the cart the hold was placed for.
  const placedUnder = (await placeEntry(tx.db, hold)).programVersion;
  const rules = placedUnder === input.programVersion ? input.program : (await getProgram(tx.db, merchantId, placedUnder)).program;
  const valueCap = orderValueCap(rules, input.order);
  if (captured.value > valueCap) throw new JifenError('HOLD_EXCEEDS_ORDER', { holdId, value: captured.value, valueCap, amount: input.order.amount }, 'holdId');
  if (input.program.valuation.kind === 'pool') await assertRedemptionApprovedInTx(tx, { merchantId, shopperId, holdId, program: input.program });

  const portions = await holdPortions(tx.db, merchantId, holdId);
  for (const portion of portions) {
    await tx.db
      .updateTable('lots')
      .set({ remaining: sql<number>`remaining - ${portion.points}`, held: sql<number>`held - ${portion.points}` })
      .where('id', '=', portion.lotId)
      .where('merchant_id', '=', merchantId)
      .execute();
  }
  await changeBalances(tx, merchantId, shopperId, { held: -captured.points });
  await resolveHolds(tx, merchantId, [holdId], 'captured', input.orderId);
  if (input.program.valuation.kind === 'pool') {
    await poolPayoutInTx(tx, { merchantId, shopperId, points: captured.points, use: 'checkout', ref: holdId, program: input.program, programVersion: input.programVersion });
  }
  await tx.journal.append(merchantId, {
    shopperId,
    kind: 'hold.capture',
    points: -captured.points,
    ref: holdId,
    programVersion: input.programVersion,
    detail: { orderId: input.orderId, value: captured.value },
  });
  return captured;
}

/** The shopper cancels the checkout: the held points return to `available`. Releasing twice returns the same result. */
export async function releaseHold(ledger: Ledger, input: { merchantId: string; shopperId: string; holdId: string }): Promise<HoldView> {
  return ledger.write(async (tx) => {
    const { merchantId, shopperId, holdId } = input;
    const { version } = await getProgram(tx.db, merchantId);
    await lockShopper(tx, merchantId, shopperId);
    const hold = await lockHold(tx, merchantId, shopperId, holdId);
    const place = await placeEntry(tx.db, hold);
    if (hold.status === 'released') return holdView(hold, place.detail.cashDue);
    // A shopper may cancel a hold past its expiry that the job has not reached yet: it frees the same points.
    if (hold.status !== 'held') throw new JifenError('HOLD_NOT_ACTIVE', { status: hold.status }, 'holdId');
    await unholdPortions(tx, merchantId, [holdId]);
    await changeBalances(tx, merchantId, shopperId, { available: Number(hold.points), held: -Number(hold.points) });
    await resolveHolds(tx, merchantId, [holdId], 'released', null);
    await tx.journal.append(merchantId, {
      shopperId,
      kind: 'hold.release',
      points: 0,
      ref: holdId,
      compensates: place.seq,
      programVersion: version,
      detail: { points: Number(hold.points) },
    });
    return holdView({ ...hold, status: 'released' }, place.detail.cashDue);
  });
}

/** A shopper's hold, or null when it is unknown or another shopper's. */
export async function getHold(db: Kysely<Database>, input: { merchantId: string; shopperId: string; holdId: string }): Promise<HoldView | null> {
  const hold = await db.selectFrom('holds').selectAll().where('merchant_id', '=', input.merchantId).where('hold_id', '=', input.holdId).executeTakeFirst();
  if (!hold || hold.shopper_id !== input.shopperId) return null;
  return holdView(hold, (await placeEntry(db, hold)).detail.cashDue);
}

export interface ExpireHoldsReport {
  expiredHolds: number;
  releasedPoints: number;
  batches: number;
}

/**
 * The job that expires holds past their time (SPEC §3.1): bounded batches by the `holds(expires_at)
 * where status = 'held'` index, each its own transaction, set-based within it; loops until none is due.
 */
export async function expireHolds(ledger: Ledger, options: { limit?: number; merchantId?: string } = {}): Promise<ExpireHoldsReport> {
  const limit = options.limit ?? 500;
  const report: ExpireHoldsReport = { expiredHolds: 0, releasedPoints: 0, batches: 0 };
  for (;;) {
    const batch = await ledger.write((tx) => expireHoldBatch(tx, limit, options.merchantId));
    report.batches += 1;
    report.expiredHolds += batch.expired;
    report.releasedPoints += batch.points;
    if (batch.candidates < limit) return report;
  }
}

async function expireHoldBatch(tx: WriteContext, limit: number, merchantId: string | undefined): Promise<{ candidates: number; expired: number; points: number }> {
  let query = tx.db
    .selectFrom('holds')
    .select(['merchant_id', 'hold_id'])
    .where('status', '=', 'held')
    .where('expires_at', '<=', tx.now.getTime())
    .orderBy('expires_at')
    .limit(limit);
  if (merchantId !== undefined) query = query.where('merchant_id', '=', merchantId);
  const candidates = await query.execute();
  const byMerchant = new Map<string, string[]>();
  for (const row of candidates) byMerchant.set(row.merchant_id, [...(byMerchant.get(row.merchant_id) ?? []), row.hold_id]);
  let expired = 0;
  let points = 0;
  for (const [merchant, holdIds] of byMerchant) {
    const { version } = await getProgram(tx.db, merchant);
    const due = await lockDueHolds(tx, merchant, holdIds);
    if (due.length === 0) continue;
    const dueIds = due.map((hold) => hold.hold_id);
    await unholdPortions(tx, merchant, dueIds);
    const deltas = new Map<string, BalanceDelta>();
    for (const hold of due) {
      const delta = deltas.get(hold.shopper_id) ?? { available: 0, held: 0 };
      delta.available = (delta.available ?? 0) + Number(hold.points);
      delta.held = (delta.held ?? 0) - Number(hold.points);
      deltas.set(hold.shopper_id, delta);
    }
    await changeBalancesMany(tx, merchant, deltas);
    await resolveHolds(tx, merchant, dueIds, 'expired', null);
    const placed = await placeSeqs(tx.db, merchant, due);
    const entries: JournalEntryInput[] = due.map((hold) => ({
      shopperId: hold.shopper_id,
      kind: 'hold.expire',
      points: 0,
      ref: hold.hold_id,
      compensates: placed.get(hold.hold_id) ?? null,
      programVersion: version,
      detail: { points: Number(hold.points), expiresAt: Number(hold.expires_at) },
    }));
    await tx.journal.appendMany(merchant, entries);
    expired += due.length;
    points += due.reduce((sum, hold) => sum + Number(hold.points), 0);
  }
  return { candidates: candidates.length, expired, points };
}

/**
 * Locks the shoppers of the candidate holds (in shopper-id order, the lock order every writer keeps:
 * shopper before lots, so the job never deadlocks with a checkout), then re-reads the holds still
 * held and due: a capture or release that committed meanwhile has resolved them.
 */
async function lockDueHolds(tx: WriteContext, merchantId: string, holdIds: string[]): Promise<HoldRow[]> {
  const owners = await tx.db.selectFrom('holds').select('shopper_id').where('merchant_id', '=', merchantId).where('hold_id', 'in', holdIds).execute();
  await lockShoppers(tx, merchantId, owners.map((owner) => owner.shopper_id));
  return tx.db
    .selectFrom('holds')
    .selectAll()
    .where('merchant_id', '=', merchantId)
    .where('hold_id', 'in', holdIds)
    .where('status', '=', 'held')
    .where('expires_at', '<=', tx.now.getTime())
    .execute();
}

/** The hold, locked; NOT_FOUND for an unknown id or another shopper's hold. */
async function lockHold(tx: WriteContext, merchantId: string, shopperId: string, holdId: string): Promise<HoldRow> {
  const hold = await tx.forUpdate(tx.db.selectFrom('holds').selectAll().where('merchant_id', '=', merchantId).where('hold_id', '=', holdId)).executeTakeFirst();
  if (!hold || hold.shopper_id !== shopperId) throw new JifenError('NOT_FOUND', { what: 'hold' }, 'holdId');
  return hold;
}

/** The hold is still 'held' and was live at `at`. */
function assertActive(hold: HoldRow, at: Date): void {
  if (hold.status !== 'held') throw new JifenError('HOLD_NOT_ACTIVE', { status: hold.status }, 'holdId');
  if (at.getTime() >= Number(hold.expires_at)) {
    throw new JifenError('HOLD_NOT_ACTIVE', { status: 'expired', expiresAt: new Date(Number(hold.expires_at)).toISOString() }, 'holdId');
  }
}

async function holdPortions(db: Kysely<Database>, merchantId: string, holdId: string): Promise<Array<{ lotId: string; points: number }>> {
  const rows = await db.selectFrom('hold_lots').select(['lot_id', 'points']).where('merchant_id', '=', merchantId).where('hold_id', '=', holdId).execute();
  return rows.map((row) => ({ lotId: row.lot_id, points: Number(row.points) }));
}

/** Gives the holds' portions back to their lots (release, expiry): one statement for every lot touched. */
async function unholdPortions(tx: WriteContext, merchantId: string, holdIds: string[]): Promise<void> {
  const lots = await tx.db.selectFrom('hold_lots').select('lot_id').distinct().where('merchant_id', '=', merchantId).where('hold_id', 'in', holdIds).execute();
  if (lots.length === 0) return;
  await tx.db
    .updateTable('lots')
    .set((eb) => ({
      held: eb(
        'held',
        '-',
        eb
          .selectFrom('hold_lots')
          .select((inner) => inner.fn.sum<number>('hold_lots.points').as('points'))
          .where('hold_lots.merchant_id', '=', merchantId)
          .whereRef('hold_lots.lot_id', '=', 'lots.id')
          .where('hold_lots.hold_id', 'in', holdIds),
      ),
    }))
    .where('merchant_id', '=', merchantId)
    .where('id', 'in', lots.map((lot) => lot.lot_id))
    .execute();
}

async function resolveHolds(tx: WriteContext, merchantId: string, holdIds: string[], status: Exclude<HoldStatus, 'held'>, orderId: string | null): Promise<void> {
  await tx.db
    .updateTable('holds')
    .set({ status, resolved_at: tx.now.getTime(), order_id: orderId })
    .where('merchant_id', '=', merchantId)
    .where('hold_id', 'in', holdIds)
    .where('status', '=', 'held')
    .execute();
}

/**
 * The most points may pay on a paid order. Lines adding up to more than the amount are read as the
 * earning reads them: the excess is a discount the shop gave (so the payable amount is the order's).
 */
function orderValueCap(program: Program, order: CaptureHoldInput['order']): number {
  const itemsAmount = order.items.reduce((sum, item) => sum + item.amount, 0);
  const coupons = { couponDiscount: order.couponDiscount, couponShippingDiscount: order.couponShippingDiscount };
  if (order.items.length === 0) return redemptionValueCap({ program, cartAmount: order.amount, ...coupons });
  const excess = Math.max(0, itemsAmount - order.amount);
  return redemptionValueCap({ program, cartAmount: order.amount + excess, items: order.items, ...coupons, couponDiscount: order.couponDiscount + excess });
}

/** The hold's `hold.place` entry: its seq (what a release or expiry compensates), the program version it was placed under, and detail. */
async function placeEntry(db: Kysely<Database>, hold: Pick<HoldRow, 'merchant_id' | 'shopper_id' | 'hold_id'>): Promise<FoundEntry<PlaceDetail>> {
  return entryFor<PlaceDetail>(db, { merchantId: hold.merchant_id, shopperId: hold.shopper_id, kind: 'hold.place', ref: hold.hold_id });
}

async function placeSeqs(db: Kysely<Database>, merchantId: string, holds: readonly HoldRow[]): Promise<Map<string, number>> {
  const rows = await db
    .selectFrom('journal')
    .select(['seq', 'ref'])
    .where('merchant_id', '=', merchantId)
    .where('shopper_id', 'in', [...new Set(holds.map((hold) => hold.shopper_id))])
    .where('kind', '=', 'hold.place')
    .where('ref', 'in', holds.map((hold) => hold.hold_id))
    .execute();
  return new Map(rows.map((row) => [row.ref, Number(row.seq)]));
}

function holdView(hold: Pick<HoldRow, 'hold_id' | 'checkout_id' | 'points' | 'value' | 'expires_at' | 'status'>, cashDue: number): HoldView {
  return {
    holdId: hold.hold_id,
    checkoutId: hold.checkout_id,
    points: Number(hold.points),
    value: Number(hold.value),
    cashDue,
    expiresAt: new Date(Number(hold.expires_at)).toISOString(),
    status: hold.status,
  };
}
