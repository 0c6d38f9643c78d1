import { adjustPoints } from './adjustments';
import { issueShopperToken } from './auth';
import { checkIn, recordBehaviour, setReferrer } from './behaviours';
import { upcomingExpiries } from './expiry-schedule';
import { quoteCheckout } from './checkout';
import { cancelCoupon, catalog, exchangeCoupon, listTemplates, myCoupons, redeemCoupon, upsertTemplate, validateCoupon } from './coupons';
import { releaseHold, reserveHold } from './holds';
import { getProgram, listApiKeys, revokeApiKey, rotateApiKey, updateProgram } from './merchants';
import { orderCancelled, orderCompleted, orderPaid, orderRefunded } from './orders';
import { poolHistory } from './pool-ledger';
import { reportsSummary } from './reports';
import { approveRedemption, listPendingApprovals } from './risk-approvals';
import * as schemas from './schemas';
import { getShopper, setVip, shopperActivity, shopperMe } from './shoppers';
import { simulateOrders } from './simulate-orders';
import { merchantProcedure, router, shopperProcedure } from './trpc';

/**
 * The API of SPEC §5. Each procedure is a thin adapter (STYLE.md): validate the input (schemas.ts),
 * call one service, shape the output, bump the server's counters after a write. Who the merchant
 * and the shopper are comes from the context — the API key, the shopper token — never from the
 * input, so no input can name another merchant's data.
 */

/** An optional ISO 8601 instant from the wire as the `Date` field the services take. */
function instantField<Key extends string>(key: Key, text: string | undefined): { [K in Key]?: Date } {
  return (text === undefined ? {} : { [key]: new Date(text) }) as { [K in Key]?: Date };
}

const orders = router({
  paid: merchantProcedure.input(schemas.ordersPaidInput).mutation(async ({ ctx, input }) => {
    const { paidAt, ...order } = input;
    const result = await orderPaid(ctx.ledger, { ...order, merchantId: ctx.merchantId, ...instantField('paidAt', paidAt) });
    ctx.metrics.eventIngested('orders.paid');
    ctx.metrics.pointsIssued(result.earned.points, 'order');
    if (result.captured) {
      ctx.metrics.pointsRedeemed(result.captured.points, 'checkout');
      ctx.metrics.holdOutcome('captured');
    }
    return result;
  }),
  completed: merchantProcedure.input(schemas.ordersCompletedInput).mutation(async ({ ctx, input }) => {
    const { completedAt, ...event } = input;
    const result = await orderCompleted(ctx.ledger, { ...event, merchantId: ctx.merchantId, ...instantField('completedAt', completedAt) });
    ctx.metrics.eventIngested('orders.completed');
    if ('pool' in result && result.pool) ctx.metrics.pointsIssued(result.pool.minted, 'order');
    return result;
  }),
  refunded: merchantProcedure.input(schemas.ordersRefundedInput).mutation(async ({ ctx, input }) => {
    const result = await orderRefunded(ctx.ledger, { ...input, merchantId: ctx.merchantId });
    ctx.metrics.eventIngested('orders.refunded');
    return result;
  }),
  cancelled: merchantProcedure.input(schemas.ordersCancelledInput).mutation(async ({ ctx, input }) => {
    const result = await orderCancelled(ctx.ledger, { ...input, merchantId: ctx.merchantId });
    ctx.metrics.eventIngested('orders.cancelled');
    return result;
  }),
});

const merchantShoppers = router({
  token: merchantProcedure
    .input(schemas.shoppersTokenInput)
    .mutation(({ ctx, input }) =>
      issueShopperToken(ctx.ledger.db, { merchantId: ctx.merchantId, shopperId: input.shopperId, ttlSeconds: input.ttlSeconds, now: ctx.ledger.now() }),
    ),
  get: merchantProcedure.input(schemas.shoppersGetInput).query(({ ctx, input }) => getShopper(ctx.ledger.db, ctx.merchantId, input.shopperId, ctx.ledger.now())),
  adjust: merchantProcedure.input(schemas.shoppersAdjustInput).mutation(async ({ ctx, input }) => {
    const result = await adjustPoints(ctx.ledger, { ...input, merchantId: ctx.merchantId });
    ctx.metrics.pointsIssued(result.points, 'adjustment');
    return result;
  }),
  setVip: merchantProcedure.input(schemas.shoppersSetVipInput).mutation(({ ctx, input }) => setVip(ctx.ledger, { ...input, merchantId: ctx.merchantId })),
});

const behaviour = router({
  record: merchantProcedure.input(schemas.behaviourRecordInput).mutation(async ({ ctx, input }) => {
    if (input.kind === 'referral') {
      const result = await setReferrer(ctx.ledger, { merchantId: ctx.merchantId, shopperId: input.shopperId, referredBy: input.referredBy });
      ctx.metrics.eventIngested('behaviour.referral');
      return { kind: 'referral' as const, ...result };
    }
    const result = await recordBehaviour(ctx.ledger, { merchantId: ctx.merchantId, shopperId: input.shopperId, kind: input.kind, ref: input.ref });
    ctx.metrics.eventIngested(`behaviour.${input.kind}`);
    ctx.metrics.pointsIssued(result.points, input.kind);
    return result;
  }),
});

const program = router({
  get: merchantProcedure.input(schemas.programGetInput).query(({ ctx, input }) => getProgram(ctx.ledger.db, ctx.merchantId, input?.version)),
  update: merchantProcedure.input(schemas.programUpdateInput).mutation(({ ctx, input }) => updateProgram(ctx.ledger, ctx.merchantId, input.program)),
});

const merchantCoupons = router({
  templates: router({
    list: merchantProcedure.input(schemas.couponTemplatesListInput).query(({ ctx }) => listTemplates(ctx.ledger.db, ctx.merchantId)),
    upsert: merchantProcedure
      .input(schemas.couponTemplatesUpsertInput)
      .mutation(({ ctx, input }) => upsertTemplate(ctx.ledger, { merchantId: ctx.merchantId, template: input.template })),
  }),
  validate: merchantProcedure
    .input(schemas.couponsValidateInput)
    .query(({ ctx, input }) => validateCoupon(ctx.ledger.db, { ...input, merchantId: ctx.merchantId }, ctx.ledger.now())),
  redeem: merchantProcedure.input(schemas.couponsRedeemInput).mutation(({ ctx, input }) => redeemCoupon(ctx.ledger, { ...input, merchantId: ctx.merchantId })),
});

const keys = router({
  list: merchantProcedure.input(schemas.keysListInput).query(({ ctx }) => listApiKeys(ctx.ledger.db, ctx.merchantId)),
  rotate: merchantProcedure.input(schemas.keysRotateInput).mutation(({ ctx }) => rotateApiKey(ctx.ledger, ctx.merchantId)),
  revoke: merchantProcedure.input(schemas.keysRevokeInput).mutation(async ({ ctx, input }) => {
    await revokeApiKey(ctx.ledger, ctx.merchantId, input.keyId);
    return { keyId: input.keyId, revoked: true };
  }),
});

const approvals = router({
  list: merchantProcedure.input(schemas.approvalsListInput).query(({ ctx, input }) => listPendingApprovals(ctx.ledger.db, ctx.merchantId, { limit: input?.limit ?? 50 })),
  approve: merchantProcedure.input(schemas.approvalsApproveInput).mutation(({ ctx, input }) => approveRedemption(ctx.ledger, { merchantId: ctx.merchantId, holdId: input.holdId })),
});

const merchantRouter = router({
  orders,
  shoppers: merchantShoppers,
  behaviour,
  program,
  coupons: merchantCoupons,
  reports: router({
    summary: merchantProcedure.input(schemas.reportsSummaryInput).query(({ ctx }) => reportsSummary(ctx.ledger.db, ctx.merchantId, ctx.ledger.now())),
  }),
  // A mutation only so that clients POST it: the candidate program is too big for a GET URL. It writes nothing.
  simulate: merchantProcedure
    .input(schemas.simulateInput)
    .mutation(({ ctx, input }) =>
      simulateOrders(ctx.ledger.db, { merchantId: ctx.merchantId, program: input.program, ...(input.days === undefined ? {} : { days: input.days }), now: ctx.ledger.now() }),
    ),
  keys,
  approvals,
});

const checkout = router({
  quote: shopperProcedure
    .input(schemas.checkoutQuoteInput)
    .query(({ ctx, input }) => quoteCheckout(ctx.ledger.db, { ...input, merchantId: ctx.merchantId, shopperId: ctx.shopperId }, ctx.ledger.now())),
  reserve: shopperProcedure.input(schemas.checkoutReserveInput).mutation(async ({ ctx, input }) => {
    const result = await reserveHold(ctx.ledger, { ...input, merchantId: ctx.merchantId, shopperId: ctx.shopperId });
    ctx.metrics.holdOutcome('held');
    return result;
  }),
  release: shopperProcedure.input(schemas.checkoutReleaseInput).mutation(async ({ ctx, input }) => {
    const result = await releaseHold(ctx.ledger, { merchantId: ctx.merchantId, shopperId: ctx.shopperId, holdId: input.holdId });
    ctx.metrics.holdOutcome('released');
    return result;
  }),
});

const shopperCoupons = router({
  catalog: shopperProcedure
    .input(schemas.couponsCatalogInput)
    .query(({ ctx }) => catalog(ctx.ledger.db, { merchantId: ctx.merchantId, shopperId: ctx.shopperId }, ctx.ledger.now())),
  exchange: shopperProcedure.input(schemas.couponsExchangeInput).mutation(async ({ ctx, input }) => {
    const result = await exchangeCoupon(ctx.ledger, { ...input, merchantId: ctx.merchantId, shopperId: ctx.shopperId });
    ctx.metrics.pointsRedeemed(result.pointsCost, 'coupon');
    return result;
  }),
  mine: shopperProcedure
    .input(schemas.couponsMineInput)
    .query(({ ctx }) => myCoupons(ctx.ledger.db, { merchantId: ctx.merchantId, shopperId: ctx.shopperId }, ctx.ledger.now())),
  cancel: shopperProcedure
    .input(schemas.couponsCancelInput)
    .mutation(({ ctx, input }) => cancelCoupon(ctx.ledger, { merchantId: ctx.merchantId, shopperId: ctx.shopperId, code: input.code })),
});

const shopperRouter = router({
  me: shopperProcedure.input(schemas.meInput).query(({ ctx }) => shopperMe(ctx.ledger.db, ctx.merchantId, ctx.shopperId, ctx.ledger.now())),
  activity: shopperProcedure
    .input(schemas.activityInput)
    .query(({ ctx, input }) =>
      shopperActivity(ctx.ledger.db, ctx.merchantId, ctx.shopperId, { limit: input?.limit ?? 50, ...(input?.before === undefined ? {} : { before: input.before }) }),
    ),
  checkout,
  coupons: shopperCoupons,
  expiry: router({
    upcoming: shopperProcedure
      .input(schemas.expiryUpcomingInput)
      .query(({ ctx, input }) =>
        upcomingExpiries(ctx.ledger.db, { merchantId: ctx.merchantId, shopperId: ctx.shopperId, now: ctx.ledger.now(), ...(input?.days === undefined ? {} : { days: input.days }) }),
      ),
  }),
  checkin: shopperProcedure.input(schemas.checkinInput).mutation(async ({ ctx }) => {
    const result = await checkIn(ctx.ledger, { merchantId: ctx.merchantId, shopperId: ctx.shopperId });
    ctx.metrics.pointsIssued(result.points, 'checkin');
    return result;
  }),
  pool: router({
    history: shopperProcedure.input(schemas.poolHistoryInput).query(({ ctx, input }) => poolHistory(ctx.ledger.db, ctx.merchantId, { limit: input?.limit ?? 30 })),
  }),
});

export const appRouter = router({
  merchant: merchantRouter,
  shopper: shopperRouter,
});

export type AppRouter = typeof appRouter;
