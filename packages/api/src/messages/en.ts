import type { MessageCatalogue } from '../errors';

const amount = (value: unknown) => (typeof value === 'number' ? value.toLocaleString('en') : String(value));

/** English messages by reason; each names the limit or the figures behind the refusal. */
export const en: MessageCatalogue = {
  INVALID_INPUT: (facts) => String(facts.detail ?? 'is invalid'),
  INVALID_PROGRAM: (facts) => `the program is invalid: ${String(facts.summary ?? '')}`,
  INVALID_TEMPLATE: (facts) => `the coupon template is invalid: ${String(facts.summary ?? '')}`,
  CURRENCY_MISMATCH: (facts) => `must be ${String(facts.expected)}, the merchant's currency`,
  UNAUTHORIZED: (facts) => String(facts.detail ?? 'a valid credential is required'),
  FORBIDDEN: () => 'this credential may not do that',
  NOT_FOUND: (facts) => `no such ${String(facts.what ?? 'record')}`,
  IDEMPOTENCY_CONFLICT: (facts) =>
    `differs from the first request with ${String(facts.scope)} id "${String(facts.key)}"; a replay must repeat it exactly, and a new request needs a new id`,
  ORDER_CANCELLED: () => 'the order was cancelled',
  HOLD_NOT_ACTIVE: (facts) => `the hold is already ${String(facts.status)}`,
  ALREADY_CHECKED_IN: () => 'already checked in today',
  INSUFFICIENT_POINTS: (facts) => `needs ${amount(facts.requested)} points but only ${amount(facts.available)} are available`,
  PAYLOAD_TOO_LARGE: (facts) => `the request body is larger than ${amount(facts.limit)} bytes`,
  RATE_LIMITED: (facts) => `too many requests; retry after ${String(facts.retryAfterSeconds)} s`,
};
