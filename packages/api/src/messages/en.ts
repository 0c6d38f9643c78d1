import type { MessageCatalogue } from '../errors';

const amount = (value: unknown) => (typeof value === 'number' ? value.toLocaleString('en') : String(value));

/** English messages by reason; each names the limit or the figures behind the refusal. */
export const en: MessageCatalogue = {
  INVALID_INPUT: (facts) => String(facts.detail ?? 'is invalid'),
  INVALID_PROGRAM: (facts) => `the program is invalid: ${String(facts.summary ?? '')}`,
  INVALID_TEMPLATE: (facts) => `the coupon template is invalid: ${String(facts.summary ?? '')}`,
  CURRENCY_MISMATCH: (facts) => `must be ${String(facts.expected)}, the merchant's currency`,
  PROGRAM_LOCKED: (facts) => `cannot change from ${String(facts.from)} to ${String(facts.to)} once points exist: every stored figure is in it`,
  UNAUTHORIZED: (facts) => String(facts.detail ?? 'a valid credential is required'),
  FORBIDDEN: () => 'this credential may not do that',
  NOT_FOUND: (facts) => `no such ${String(facts.what ?? 'record')}`,
  IDEMPOTENCY_CONFLICT: (facts) =>
    `differs from the first request with ${String(facts.scope)} id "${String(facts.key)}"; a replay must repeat it exactly, and a new request needs a new id`,
  ORDER_CANCELLED: () => 'the order was cancelled',
  ORDER_ALREADY_COMPLETED: () => 'the order is already completed; send a refund instead',
  REFUND_EXCEEDS_ORDER: (facts) => `refunds would exceed the order: at most ${amount(facts.refundable)} of ${amount(facts.orderAmount)} is left to refund`,
  SELF_REFERRAL: () => 'a shopper cannot refer themselves',
  REFERRER_ALREADY_SET: (facts) => `the shopper was already referred by "${String(facts.referredBy)}"`,
  REFERRAL_AFTER_FIRST_ORDER: () => 'a referrer can only be set before the shopper\'s first paid order',
  HOLD_NOT_ACTIVE: (facts) => `the hold is already ${String(facts.status)}`,
  AMOUNT_OUT_OF_RANGE: () => 'a figure this request reaches under the program is larger than jifen counts exactly (2^53 point units or minor units); check the amounts and the program',
  HOLD_EXCEEDS_ORDER: (facts) =>
    `the hold's points pay ${amount(facts.value)} but this order lets points pay at most ${amount(facts.valueCap)}; release the hold and pay the order without it, or reserve again for this order`,
  REDEMPTION_AWAITING_APPROVAL: (facts) => `the merchant must approve this redemption first (hold ${String(facts.holdId)})`,
  ALREADY_CHECKED_IN: () => 'already checked in today',
  BALANCE_LIMIT: (facts) => `would carry the balance of ${amount(facts.balance)} points past the limit of ${amount(facts.limit)} (asked ${amount(facts.requested)})`,
  INSUFFICIENT_POINTS: (facts) => `needs ${amount(facts.requested)} points but only ${amount(facts.available)} are available`,
  PAYLOAD_TOO_LARGE: (facts) => `the request body is larger than ${amount(facts.limit)} bytes`,
  RATE_LIMITED: (facts) => `too many requests; retry after ${String(facts.retryAfterSeconds)} s`,
  POINTS_OUT_OF_RANGE: (facts) => `must be between ${amount(facts.minPoints)} and ${amount(facts.maxPoints)} points for this cart (asked ${amount(facts.requested)})`,
  POINTS_OFF_STEP: (facts) => `must be a multiple of ${amount(facts.step)} points (asked ${amount(facts.requested)})`,
  ITEMS_EXCEED_CART: (facts) => `the items add up to ${amount(facts.itemsAmount)}, more than the cart amount ${amount(facts.cartAmount)}`,
  NOTHING_TO_REDEEM: () => 'points cannot pay any part of this cart',
  CAP_BELOW_MINIMUM: (facts) => `points can pay at most ${amount(facts.pointsCap)} points on this cart, below the minimum of ${amount(facts.minPoints)}`,
  BELOW_MINIMUM: (facts) => `needs at least ${amount(facts.minPoints)} points to redeem, but only ${amount(facts.available)} are available`,
  NOT_ACTIVE: () => 'the coupon is not on offer at this time',
  OUT_OF_STOCK: (facts) => `the coupon is out of stock (all ${amount(facts.stock)} issued)`,
  LIMIT_REACHED: (facts) => `each shopper may take at most ${amount(facts.perShopperLimit)} of this coupon`,
  COUPON_NOT_USABLE: (facts) => `the coupon is ${String(facts.status)}`,
  COUPON_EXPIRED: (facts) => `the coupon expired at ${String(facts.expiresAt)}`,
  BELOW_MIN_SPEND: (facts) => `the coupon needs a spend of at least ${amount(facts.minSpend)} (the order has ${amount(facts.amount)})`,
  NOT_CANCELLABLE: () => 'this coupon cannot be cancelled for its points',
  REDEMPTION_IN_REVIEW: () => "the shop is reviewing this account's redemptions; try again after its approval",
  STOCK_BELOW_ISSUED: (facts) => `cannot be ${amount(facts.stock)}: ${amount(facts.issued)} coupons were already issued`,
  TEMPLATE_IN_USE: (facts) => `cannot change: ${amount(facts.issued)} coupons of this template are out; create a new template instead`,
};
