import type { CouponRow, CouponStatus, CouponTemplateRow, Database } from '@jifen/db';
import {
  type CouponTemplate,
  type HeldCoupon,
  type LotPortion,
  type Program,
  cancelEligibility,
  couponDiscount,
  couponExpiry,
  couponUseEligibility,
  exchangeEligibility,
  parseCouponTemplate,
  restoreExpiry,
  spendablePoints,
} from '@jifen/rules';
import { type Kysely, sql } from 'kysely';
import { allocateSpendable, consumeLots, createLot, lockShopper, spendableLots } from './accounts';
import { randomId } from './canonical';
import { JifenError, invalid } from './errors';
import { idempotent } from './idempotency';
import { type JournalEntryInput, entryFor } from './journal';
import type { Ledger, WriteContext } from './ledger';
import { getProgram, lockMerchant } from './merchants';
import { poolPayoutInTx } from './pool-ledger';
import { isConcentratedInTx } from './risk-approvals';

/**
 * Coupon templates and coupons (SPEC §3.1 "Coupons"). Exchanging burns the points, takes one unit of
 * stock and issues a unique unguessable code, all in one transaction; the merchant backend validates
 * and redeems codes at checkout; an unused coupon can be cancelled for its points back within its
 * validity when its template allows. Every figure and every refusal comes from the rules' coupons.ts.
 * Cap-out coupons (`source = 'capout'`, SPEC §3.2) live in the same table: store credit worth a fixed
 * `value`, issued by the pool ledger, validated and redeemed here like any other.
 */

export interface TemplateView {
  templateId: string;
  template: CouponTemplate;
  pointsCost: number;
  /** Null: unlimited stock. */
  stock: number | null;
  /** Coupons issued and not cancelled. */
  issued: number;
  stockLeft: number | null;
  createdAt: string;
  updatedAt: string;
}

/**
 * Creates or replaces a template (validated by the rules' schema; every invalid field is named).
 * Stock cannot go below what was already issued, and once coupons exist their discount terms are
 * fixed: issued coupons read their terms from the template, so changing them would change coupons
 * shoppers already paid for. A new offer is a new template.
 */
export async function upsertTemplate(ledger: Ledger, input: { merchantId: string; template: unknown }): Promise<TemplateView> {
  const parsed = parseCouponTemplate(input.template);
  if (!parsed.ok) {
    const first = parsed.error.issues[0];
    throw new JifenError(
      'INVALID_TEMPLATE',
      { summary: parsed.error.issues.map((issue) => issue.message.en).join('; '), issues: parsed.error.issues },
      first && first.path !== '(program)' ? `template.${first.path}` : 'template',
    );
  }
  const template = parsed.value;
  return ledger.write(async (tx) => {
    // Two upserts of one new template (a retried request on another replica) find no row to lock: the merchant's row orders them.
    await lockMerchant(tx, input.merchantId);
    const at = tx.now.getTime();
    const existing = await tx
      .forUpdate(tx.db.selectFrom('coupon_templates').selectAll().where('merchant_id', '=', input.merchantId).where('template_id', '=', template.id))
      .executeTakeFirst();
    const columns = {
      // Plain JSON: templates hold decimal rates, which the integer-only canonical encoding refuses.
      config: JSON.stringify(template),
      points_cost: template.pointsCost,
      stock_total: template.stock,
      per_shopper_limit: template.perShopperLimit,
      active_from: template.activeFrom === null ? null : Date.parse(template.activeFrom),
      active_to: template.activeTo === null ? null : Date.parse(template.activeTo),
      updated_at: at,
    };
    if (!existing) {
      await tx.db
        .insertInto('coupon_templates')
        .values({ merchant_id: input.merchantId, template_id: template.id, issued: 0, created_at: at, ...columns })
        .execute();
      return templateView({ merchant_id: input.merchantId, template_id: template.id, issued: 0, created_at: at, ...columns });
    }
    // The same template again changes nothing: a replay answers as the first upsert did.
    if (existing.config === columns.config) return templateView(existing);
    const issued = Number(existing.issued);
    if (template.stock !== null && template.stock < issued) {
      throw new JifenError('STOCK_BELOW_ISSUED', { stock: template.stock, issued }, 'template.stock');
    }
    if (issued > 0) {
      // Issued coupons read these terms from their template: changing one would change coupons shoppers
      // already paid points for (a ¥60 cart no longer reaching a raised minimum, a coupon no longer cancellable).
      const stored = parseStoredTemplate(existing);
      for (const term of ['discount', 'minSpend', 'isCancellable'] as const) {
        if (JSON.stringify(stored[term]) !== JSON.stringify(template[term])) throw new JifenError('TEMPLATE_IN_USE', { issued }, `template.${term}`);
      }
    }
    await tx.db.updateTable('coupon_templates').set(columns).where('merchant_id', '=', input.merchantId).where('template_id', '=', template.id).execute();
    return templateView({ ...existing, ...columns });
  });
}

export async function listTemplates(db: Kysely<Database>, merchantId: string): Promise<TemplateView[]> {
  const rows = await db.selectFrom('coupon_templates').selectAll().where('merchant_id', '=', merchantId).orderBy('template_id').execute();
  return rows.map(templateView);
}

export interface CatalogEntry {
  templateId: string;
  name: CouponTemplate['name'];
  discount: CouponTemplate['discount'];
  pointsCost: number;
  /** The most a coupon takes off (minor units); null when it has no ceiling (percent, free shipping). */
  value: number | null;
  minSpend: number;
  validityDays: number;
  isCancellable: boolean;
  activeFrom: string | null;
  activeTo: string | null;
  stockLeft: number | null;
  perShopperLimit: number | null;
  /** Coupons of this template the shopper holds or used (not cancelled). */
  shopperIssued: number;
  /** Why the shopper cannot take one now, or null when they can. */
  reason: ({ code: string } & Record<string, unknown>) | null;
}

/** Every template still on offer (not past its window), with what stops this shopper taking one now. */
export async function catalog(db: Kysely<Database>, input: { merchantId: string; shopperId: string }, now: Date): Promise<CatalogEntry[]> {
  const rows = await db
    .selectFrom('coupon_templates')
    .selectAll()
    .where('merchant_id', '=', input.merchantId)
    .where((eb) => eb.or([eb('active_to', 'is', null), eb('active_to', '>', now.getTime())]))
    .orderBy('points_cost')
    .orderBy('template_id')
    .execute();
  if (rows.length === 0) return [];
  const counts = await db
    .selectFrom('coupons')
    .select((eb) => ['template_id', eb.fn.countAll<number>().as('count')])
    .where('merchant_id', '=', input.merchantId)
    .where('shopper_id', '=', input.shopperId)
    .where('source', '=', 'exchange')
    .where('status', '!=', 'cancelled')
    .groupBy('template_id')
    .execute();
  const shopperCounts = new Map(counts.map((row) => [row.template_id, Number(row.count)]));
  const availablePoints = spendablePoints(await spendableLots({ db }, input.merchantId, input.shopperId), now);
  return rows.map((row) => {
    const template = parseStoredTemplate(row);
    const shopperIssued = shopperCounts.get(row.template_id) ?? 0;
    const check = exchangeEligibility({ template, now, issuedCount: Number(row.issued), shopperIssuedCount: shopperIssued, availablePoints });
    return {
      templateId: row.template_id,
      name: template.name,
      discount: template.discount,
      pointsCost: template.pointsCost,
      value: nominalValue(template),
      minSpend: template.minSpend,
      validityDays: template.validityDays,
      isCancellable: template.isCancellable,
      activeFrom: template.activeFrom,
      activeTo: template.activeTo,
      stockLeft: template.stock === null ? null : template.stock - Number(row.issued),
      perShopperLimit: template.perShopperLimit,
      shopperIssued,
      reason: check.ok ? null : plainFacts(check.error),
    };
  });
}

export interface CouponView {
  code: string;
  templateId: string | null;
  source: 'exchange' | 'capout';
  /** The most it takes off (minor units); null when it has no ceiling. */
  value: number | null;
  pointsCost: number;
  issuedAt: string;
  expiresAt: string | null;
  /** As of now: an issued coupon past its validity reads 'expired'. */
  status: CouponStatus;
  orderId: string | null;
  redeemedAt: string | null;
}

export interface ExchangeInput {
  merchantId: string;
  shopperId: string;
  templateId: string;
  idempotencyKey: string;
}

/**
 * Points for a coupon, in one transaction (SPEC §3.1): burn the points from the earliest-expiring
 * lots, take one unit of stock by a conditional update (a racing exchange cannot oversell), check the
 * per-shopper limit, issue an unguessable code; in pool mode the pool pays the coupon's worth out.
 * Idempotent on (shopper, idempotencyKey): a replay returns the same coupon; the same key for another
 * template is a CONFLICT.
 */
export async function exchangeCoupon(ledger: Ledger, input: ExchangeInput): Promise<CouponView> {
  return ledger.write(async (tx) => {
    const { program, version } = await getProgram(tx.db, input.merchantId);
    await lockShopper(tx, input.merchantId, input.shopperId);
    const replay = await tx.db
      .selectFrom('coupons')
      .selectAll()
      .where('merchant_id', '=', input.merchantId)
      .where('shopper_id', '=', input.shopperId)
      .where('idempotency_key', '=', input.idempotencyKey)
      .executeTakeFirst();
    if (replay) {
      if (replay.template_id !== input.templateId) {
        throw new JifenError('IDEMPOTENCY_CONFLICT', { scope: 'coupon exchange', key: input.idempotencyKey, field: 'templateId' }, 'templateId');
      }
      // A replay answers with the first result (SPEC §5): the coupon as it was issued, whatever became of it since.
      return couponView({ ...replay, status: 'issued', order_id: null, redeemed_at: null }, new Date(Number(replay.issued_at)));
    }
    const row = await tx.db
      .selectFrom('coupon_templates')
      .selectAll()
      .where('merchant_id', '=', input.merchantId)
      .where('template_id', '=', input.templateId)
      .executeTakeFirst();
    if (!row) throw new JifenError('NOT_FOUND', { what: 'coupon template' }, 'templateId');
    const template = parseStoredTemplate(row);
    // SPEC §3.2 risk: the redemptions of a pool shopper holding more than concentrationReview of the
    // supply now wait for the merchant; a checkout hold can be approved one by one (risk-approvals.ts),
    // an exchange has nothing to approve, so it waits until their share falls back.
    if (program.valuation.kind === 'pool' && (await isConcentratedInTx(tx, { merchantId: input.merchantId, shopperId: input.shopperId, program }))) {
      throw new JifenError('REDEMPTION_IN_REVIEW', { shopperId: input.shopperId }, 'templateId');
    }
    const shopperIssued = await tx.db
      .selectFrom('coupons')
      .select((eb) => eb.fn.countAll<number>().as('count'))
      .where('merchant_id', '=', input.merchantId)
      .where('shopper_id', '=', input.shopperId)
      .where('template_id', '=', input.templateId)
      .where('source', '=', 'exchange')
      .where('status', '!=', 'cancelled')
      .executeTakeFirstOrThrow();
    const availablePoints = spendablePoints(await spendableLots(tx, input.merchantId, input.shopperId), tx.now);
    const check = exchangeEligibility({
      template,
      now: tx.now,
      issuedCount: Number(row.issued),
      shopperIssuedCount: Number(shopperIssued.count),
      availablePoints,
    });
    if (!check.ok) throw refusal(check.error, 'templateId');

    // The stock is taken by a conditional update, so two exchanges racing for the last unit cannot both win.
    const taken = await tx.db
      .updateTable('coupon_templates')
      .set({ issued: sql<number>`issued + 1` })
      .where('merchant_id', '=', input.merchantId)
      .where('template_id', '=', input.templateId)
      .where((eb) => eb.or([eb('stock_total', 'is', null), eb('issued', '<', eb.ref('stock_total'))]))
      .executeTakeFirst();
    if (Number(taken.numUpdatedRows) === 0) {
      throw new JifenError('OUT_OF_STOCK', { stock: template.stock, issued: template.stock }, 'templateId');
    }

    const pointsCost = check.value.pointsCost;
    const portions = pointsCost === 0 ? [] : await allocateSpendable(tx, input.merchantId, input.shopperId, pointsCost, 'templateId');
    await consumeLots(tx, input.merchantId, input.shopperId, portions);
    const code = randomId(12);
    const coupon: CouponRow = {
      merchant_id: input.merchantId,
      code,
      template_id: template.id,
      shopper_id: input.shopperId,
      source: 'exchange',
      status: 'issued',
      points_cost: pointsCost,
      value: nominalValue(template) ?? 0,
      idempotency_key: input.idempotencyKey,
      issued_at: tx.now.getTime(),
      expires_at: couponExpiry(tx.now, template.validityDays, program.timeZone).getTime(),
      redeemed_at: null,
      order_id: null,
      redeemed_amount: null,
      redeemed_shipping: null,
      redeemed_discount: null,
    };
    await tx.db.insertInto('coupons').values(coupon).execute();
    if (program.valuation.kind === 'pool' && pointsCost > 0) {
      await poolPayoutInTx(tx, { merchantId: input.merchantId, shopperId: input.shopperId, points: pointsCost, use: 'coupon', ref: code, program, programVersion: version });
    }
    await tx.journal.append(input.merchantId, {
      shopperId: input.shopperId,
      kind: 'coupon.exchange',
      points: -pointsCost,
      ref: code,
      programVersion: version,
      detail: { templateId: template.id, portions: portions.map((portion) => ({ lotId: portion.lotId, points: portion.points })) },
    });
    return couponView(coupon, tx.now);
  });
}

/** The shopper's coupons, newest first, with their status as of `now`. */
export async function myCoupons(db: Kysely<Database>, input: { merchantId: string; shopperId: string }, now: Date = new Date()): Promise<CouponView[]> {
  const rows = await db
    .selectFrom('coupons')
    .selectAll()
    .where('merchant_id', '=', input.merchantId)
    .where('shopper_id', '=', input.shopperId)
    .orderBy('issued_at', 'desc')
    .orderBy('code')
    .execute();
  return rows.map((row) => couponView(row, now));
}

export type CouponValidation =
  | { valid: true; code: string; discount: number; templateId: string | null; expiresAt: string | null }
  | { valid: false; code: string; reason: { code: string } & Record<string, unknown> };

/** For the merchant backend at checkout: would this code apply to this order now, and for how much? */
export async function validateCoupon(
  db: Kysely<Database>,
  input: { merchantId: string; code: string; orderAmount: number; shipping?: number },
  now: Date = new Date(),
): Promise<CouponValidation> {
  const row = await db.selectFrom('coupons').selectAll().where('merchant_id', '=', input.merchantId).where('code', '=', input.code).executeTakeFirst();
  if (!row) return { valid: false, code: input.code, reason: { code: 'NOT_FOUND', what: 'coupon' } };
  const terms = await couponTerms(db, row);
  const use = couponUseEligibility({ template: terms, coupon: heldCoupon(row), cart: { amount: input.orderAmount, shipping: input.shipping ?? 0 }, now });
  if (!use.ok) return { valid: false, code: input.code, reason: plainFacts(use.error) };
  return { valid: true, code: input.code, discount: use.value.discount, templateId: row.template_id, expiresAt: isoOrNull(row.expires_at) };
}

/** A coupon's discount on a cart, and the part of it that is the shipping's (a free-shipping coupon's). */
export interface CouponOnCart {
  discount: number;
  shippingDiscount: number;
}

/** The discount a shopper's own coupon gives a cart now, or the refusal (for the checkout quote). */
export async function couponDiscountForCart(
  db: Kysely<Database>,
  input: { merchantId: string; shopperId: string; code: string; amount: number; shipping: number },
  now: Date,
): Promise<CouponOnCart> {
  const row = await db.selectFrom('coupons').selectAll().where('merchant_id', '=', input.merchantId).where('code', '=', input.code).executeTakeFirst();
  if (!row || row.shopper_id !== input.shopperId) throw new JifenError('NOT_FOUND', { what: 'coupon' }, 'couponCode');
  const terms = await couponTerms(db, row);
  const use = couponUseEligibility({ template: terms, coupon: heldCoupon(row), cart: { amount: input.amount, shipping: input.shipping }, now });
  if (!use.ok) throw refusal(use.error, 'couponCode');
  return { discount: use.value.discount, shippingDiscount: terms.discount.kind === 'freeShipping' ? use.value.discount : 0 };
}

export interface RedeemCouponsInput {
  merchantId: string;
  shopperId: string;
  orderId: string;
  codes: readonly string[];
  /** The goods the coupons apply to (minor units). */
  orderAmount: number;
  shipping: number;
  program: Program;
  /**
   * When the order was paid: a coupon is judged valid then, not when the event reaches jifen (a
   * platform's webhook may come hours later, past the coupon's last day). The write's clock when unset.
   */
  usedAt?: Date;
}

export interface RedeemedCoupons {
  discount: number;
  coupons: Array<{ code: string; discount: number }>;
  /** The part of `discount` free-shipping coupons took from the shipping (the rest is the goods'). */
  shippingDiscount: number;
}

/**
 * Redeems the shopper's coupons on a paid order, inside the caller's transaction (orders.ts calls it
 * from `orderPaid`). Minimum spends are checked against the order's goods; each coupon then takes
 * its discount from what the coupons before it left, so together they never discount more than the
 * goods and the shipping. A coupon already redeemed on this same order is a replay: it counts again
 * with the discount it took then (kept on its row since migration 0005) and nothing is written. The
 * redeem API (`sameAmountsOnReplay`) refuses a replay carrying other amounts than the redemption's
 * as an IDEMPOTENCY_CONFLICT naming the field — the answer its own records give — also when the
 * order's `paid` redeemed the coupon first; inside `paid`, a coupon the redeem API already redeemed
 * on this order simply counts with its discount.
 */
export async function redeemCouponsInTx(tx: WriteContext, input: RedeemCouponsInput): Promise<RedeemedCoupons> {
  return redeemCodes(tx, input, 'couponCodes', { sameAmountsOnReplay: false });
}

/** The merchant API's redeem: one code on one order; a replay on the same order returns the same discount. */
export async function redeemCoupon(
  ledger: Ledger,
  input: { merchantId: string; code: string; orderId: string; orderAmount: number; shipping?: number; shopperId?: string },
): Promise<{ code: string; orderId: string; discount: number; status: 'redeemed' }> {
  return ledger.write(async (tx) => {
    const { program } = await getProgram(tx.db, input.merchantId);
    const row = await tx.db
      .selectFrom('coupons')
      .select(['shopper_id'])
      .where('merchant_id', '=', input.merchantId)
      .where('code', '=', input.code)
      .executeTakeFirst();
    if (!row || (input.shopperId !== undefined && row.shopper_id !== input.shopperId)) throw new JifenError('NOT_FOUND', { what: 'coupon' }, 'code');
    // Idempotent on (code, order) — ids never hold a space: a replay returns the first discount; other amounts are a CONFLICT naming them.
    const request = { orderAmount: input.orderAmount, shipping: input.shipping ?? 0 };
    return idempotent(tx, { merchantId: input.merchantId, scope: 'coupon.redeem', key: `${input.code} ${input.orderId}`, request }, async () => {
      const redeemed = await redeemCodes(
        tx,
        { merchantId: input.merchantId, shopperId: row.shopper_id, orderId: input.orderId, codes: [input.code], orderAmount: input.orderAmount, shipping: input.shipping ?? 0, program },
        'code',
        { sameAmountsOnReplay: true },
      );
      return { code: input.code, orderId: input.orderId, discount: redeemed.discount, status: 'redeemed' as const };
    });
  });
}

async function redeemCodes(tx: WriteContext, input: RedeemCouponsInput, param: string, options: { sameAmountsOnReplay: boolean }): Promise<RedeemedCoupons> {
  if (new Set(input.codes).size !== input.codes.length) throw invalid(param, 'lists the same coupon code twice');
  let goodsLeft = input.orderAmount;
  let shippingLeft = input.shipping;
  const coupons: RedeemedCoupons['coupons'] = [];
  for (const code of input.codes) {
    const row = await tx.forUpdate(tx.db.selectFrom('coupons').selectAll().where('merchant_id', '=', input.merchantId).where('code', '=', code)).executeTakeFirst();
    if (!row || row.shopper_id !== input.shopperId) throw new JifenError('NOT_FOUND', { what: 'coupon', code }, param);
    const terms = await couponTerms(tx.db, row);
    const isReplay = row.status === 'redeemed' && row.order_id === input.orderId;
    if (!isReplay) {
      const use = couponUseEligibility({ template: terms, coupon: heldCoupon(row), cart: { amount: input.orderAmount, shipping: input.shipping }, now: input.usedAt ?? tx.now });
      if (!use.ok) throw refusal({ ...use.error, couponCode: code }, param);
    }
    if (isReplay && options.sameAmountsOnReplay && row.redeemed_amount !== null) {
      const field = row.redeemed_amount !== input.orderAmount ? 'orderAmount' : row.redeemed_shipping !== input.shipping ? 'shipping' : null;
      if (field !== null) throw new JifenError('IDEMPOTENCY_CONFLICT', { scope: 'coupon.redeem', key: `${code} ${input.orderId}`, field }, field);
    }
    // A replay takes what it took the first time (within what this request leaves); a coupon
    // redeemed before migration 0005 is worked out again.
    const isFreeShipping = terms.discount.kind === 'freeShipping';
    const discount =
      isReplay && row.redeemed_discount !== null
        ? Math.min(row.redeemed_discount, isFreeShipping ? shippingLeft : goodsLeft)
        : couponDiscount(terms, { amount: goodsLeft, shipping: shippingLeft });
    // Free shipping takes from the shipping; every other discount from the goods.
    if (isFreeShipping) shippingLeft -= discount;
    else goodsLeft -= discount;
    if (!isReplay) {
      await tx.db
        .updateTable('coupons')
        .set({ status: 'redeemed', redeemed_at: tx.now.getTime(), order_id: input.orderId, redeemed_amount: input.orderAmount, redeemed_shipping: input.shipping, redeemed_discount: discount })
        .where('merchant_id', '=', input.merchantId)
        .where('code', '=', code)
        .execute();
    }
    coupons.push({ code, discount });
  }
  return { discount: coupons.reduce((sum, coupon) => sum + coupon.discount, 0), coupons, shippingDiscount: input.shipping - shippingLeft };
}

export interface CancelledCoupon {
  code: string;
  status: 'cancelled';
  pointsReturned: number;
}

/**
 * Cancels an unused coupon within its validity when the template allows (SPEC §3.1): the points come
 * back and the unit of stock returns to the template. The points come back as they went out, portion
 * by portion, each keeping its lot's original expiry — or, if that has passed, the refund grace
 * (`restoreGraceDays`, rules `restoreExpiry`), the same rule as points restored by a refund; so a
 * cancellation never lengthens a point's life, nor hands back points already dead. Pool coupons
 * cannot be cancelled: their points were burned and their worth paid out of the pool.
 * Idempotent on the code: cancelling a cancelled coupon returns the same result.
 */
export async function cancelCoupon(ledger: Ledger, input: { merchantId: string; shopperId: string; code: string }): Promise<CancelledCoupon> {
  return ledger.write(async (tx) => {
    const { program, version } = await getProgram(tx.db, input.merchantId);
    await lockShopper(tx, input.merchantId, input.shopperId);
    const row = await tx.forUpdate(tx.db.selectFrom('coupons').selectAll().where('merchant_id', '=', input.merchantId).where('code', '=', input.code)).executeTakeFirst();
    if (!row || row.shopper_id !== input.shopperId) throw new JifenError('NOT_FOUND', { what: 'coupon' }, 'code');
    if (row.status === 'cancelled') return { code: row.code, status: 'cancelled' as const, pointsReturned: Number(row.points_cost) };
    if (row.source !== 'exchange' || row.template_id === null) throw new JifenError('NOT_CANCELLABLE', { source: row.source }, 'code');
    if (program.valuation.kind === 'pool') throw new JifenError('NOT_CANCELLABLE', { templateId: row.template_id, valuation: 'pool' }, 'code');
    const template = await couponTerms(tx.db, row);
    const check = cancelEligibility({ template, coupon: heldCoupon(row), now: tx.now });
    if (!check.ok) throw refusal(check.error, 'code');

    const exchange = await entryFor<{ portions: LotPortion[] }>(tx.db, { merchantId: input.merchantId, shopperId: input.shopperId, kind: 'coupon.exchange', ref: row.code });
    const { portions } = exchange.detail;
    const spentFrom = portions.length === 0 ? [] : await tx.db.selectFrom('lots').select(['id', 'expires_at']).where('id', 'in', portions.map((portion) => portion.lotId)).execute();
    const expiries = new Map(spentFrom.map((lot) => [lot.id, lot.expires_at === null ? null : new Date(Number(lot.expires_at))]));
    const entries: JournalEntryInput[] = [];
    for (const portion of portions) {
      const expiresAt = restoreExpiry({
        originalExpiresAt: expiries.get(portion.lotId) ?? null,
        now: tx.now,
        restoreGraceDays: program.redemption.restoreGraceDays,
        timeZone: program.timeZone,
      });
      const lotId = await createLot(tx, {
        merchantId: input.merchantId,
        shopperId: input.shopperId,
        source: 'restore',
        sourceRef: row.code,
        programVersion: version,
        points: portion.points,
        status: 'available',
        earnedAt: tx.now,
        availableAt: tx.now,
        expiresAt,
      });
      entries.push({
        shopperId: input.shopperId,
        kind: 'coupon.cancel',
        points: portion.points,
        ref: row.code,
        lotId,
        compensates: exchange.seq,
        programVersion: version,
        detail: { fromLotId: portion.lotId, expiresAt: expiresAt?.getTime() ?? null },
      });
    }
    await tx.db.updateTable('coupons').set({ status: 'cancelled' }).where('merchant_id', '=', input.merchantId).where('code', '=', row.code).execute();
    await tx.db
      .updateTable('coupon_templates')
      .set({ issued: sql<number>`issued - 1` })
      .where('merchant_id', '=', input.merchantId)
      .where('template_id', '=', row.template_id)
      .execute();
    await tx.journal.appendMany(input.merchantId, entries);
    return { code: row.code, status: 'cancelled' as const, pointsReturned: check.value.points };
  });
}

function parseStoredTemplate(row: Pick<CouponTemplateRow, 'config'>): CouponTemplate {
  const parsed = parseCouponTemplate(JSON.parse(row.config));
  if (!parsed.ok) throw new Error('jifen invariant: a stored coupon template is valid');
  return parsed.value;
}

/** What a coupon gives: its template's terms, or for a cap-out coupon, store credit of its value. */
async function couponTerms(db: Kysely<Database>, row: CouponRow): Promise<CouponTemplate> {
  if (row.template_id === null) return storeCreditTerms(row);
  const template = await db
    .selectFrom('coupon_templates')
    .select(['config'])
    .where('merchant_id', '=', row.merchant_id)
    .where('template_id', '=', row.template_id)
    .executeTakeFirst();
  if (!template) return storeCreditTerms(row);
  return parseStoredTemplate(template);
}

function storeCreditTerms(row: CouponRow): CouponTemplate {
  return {
    id: row.source,
    name: { 'zh-CN': '购物金', en: 'Store credit' },
    discount: { kind: 'fixed', amountOff: Number(row.value) },
    pointsCost: Number(row.points_cost),
    minSpend: 0,
    validityDays: 1,
    stock: null,
    perShopperLimit: null,
    activeFrom: null,
    activeTo: null,
    isCancellable: false,
  };
}

const NEVER = new Date(8.64e15);

function heldCoupon(row: CouponRow): HeldCoupon {
  return { status: row.status, expiresAt: row.expires_at === null ? NEVER : new Date(Number(row.expires_at)), pointsSpent: Number(row.points_cost) };
}

/** The most a coupon of this template takes off, or null when it has no ceiling. */
function nominalValue(template: CouponTemplate): number | null {
  return template.discount.kind === 'fixed' ? template.discount.amountOff : template.discount.amountOffMax;
}

function couponView(row: CouponRow, now: Date): CouponView {
  const isPastValidity = row.expires_at !== null && now.getTime() >= Number(row.expires_at);
  return {
    code: row.code,
    templateId: row.template_id,
    source: row.source,
    value: Number(row.value) > 0 ? Number(row.value) : null,
    pointsCost: Number(row.points_cost),
    issuedAt: new Date(Number(row.issued_at)).toISOString(),
    expiresAt: isoOrNull(row.expires_at),
    status: row.status === 'issued' && isPastValidity ? 'expired' : row.status,
    orderId: row.order_id,
    redeemedAt: isoOrNull(row.redeemed_at),
  };
}

function templateView(row: CouponTemplateRow): TemplateView {
  const template = parseStoredTemplate(row);
  const issued = Number(row.issued);
  return {
    templateId: row.template_id,
    template,
    pointsCost: Number(row.points_cost),
    stock: row.stock_total === null ? null : Number(row.stock_total),
    issued,
    stockLeft: row.stock_total === null ? null : Number(row.stock_total) - issued,
    createdAt: new Date(Number(row.created_at)).toISOString(),
    updatedAt: new Date(Number(row.updated_at)).toISOString(),
  };
}

function isoOrNull(epochMs: number | null): string | null {
  return epochMs === null ? null : new Date(Number(epochMs)).toISOString();
}

/** A rules refusal as plain JSON facts (instants as ISO strings). */
function plainFacts<Refusal extends { code: string }>(error: Refusal): { code: string } & Record<string, unknown> {
  const facts = Object.entries(error as unknown as Record<string, unknown>).map(([key, value]) => [key, value instanceof Date ? value.toISOString() : value]);
  return Object.fromEntries(facts) as { code: string } & Record<string, unknown>;
}

function refusal<Refusal extends { code: string }>(error: Refusal, param: string): JifenError {
  const { code, ...facts } = plainFacts(error);
  return new JifenError(code, facts, param);
}
