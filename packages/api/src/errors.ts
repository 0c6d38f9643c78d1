import { en } from './messages/en';
import { zhCN } from './messages/zh-CN';

/**
 * One error type for every refusal a service makes (STYLE.md "Errors say what happened, once").
 * `reason` is the stable domain code (`INSUFFICIENT_POINTS`), `param` the offending input field,
 * `facts` the numbers behind it. The router's error formatter maps `reason` to a tRPC code once
 * and renders the message from the catalogues in `messages/`.
 */
export class JifenError extends Error {
  readonly reason: string;
  readonly facts: Record<string, unknown>;
  readonly param: string | undefined;

  constructor(reason: string, facts: Record<string, unknown> = {}, param?: string) {
    super(renderMessage(reason, facts, param, 'en'));
    this.name = 'JifenError';
    this.reason = reason;
    this.facts = facts;
    this.param = param;
  }

  get category(): ErrorCategory {
    return categoryOf(this.reason);
  }
}

/** The tRPC error codes jifen answers with (each has a fixed HTTP status in tRPC). */
export type ErrorCategory =
  | 'BAD_REQUEST'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'PRECONDITION_FAILED'
  | 'PAYLOAD_TOO_LARGE'
  | 'TOO_MANY_REQUESTS'
  | 'UNPROCESSABLE_CONTENT';

const categories: Record<string, ErrorCategory> = {
  INVALID_INPUT: 'BAD_REQUEST',
  INVALID_PROGRAM: 'BAD_REQUEST',
  INVALID_TEMPLATE: 'BAD_REQUEST',
  CURRENCY_MISMATCH: 'BAD_REQUEST',
  UNAUTHORIZED: 'UNAUTHORIZED',
  FORBIDDEN: 'FORBIDDEN',
  NOT_FOUND: 'NOT_FOUND',
  IDEMPOTENCY_CONFLICT: 'CONFLICT',
  ORDER_CANCELLED: 'CONFLICT',
  ORDER_ALREADY_COMPLETED: 'CONFLICT',
  HOLD_NOT_ACTIVE: 'CONFLICT',
  ALREADY_CHECKED_IN: 'CONFLICT',
  // The referral is recorded once per shopper: another referrer for the same shopper conflicts with it.
  REFERRER_ALREADY_SET: 'CONFLICT',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  RATE_LIMITED: 'TOO_MANY_REQUESTS',
};

/** Every other refusal is a business rule saying no to a well-formed request. */
export function categoryOf(reason: string): ErrorCategory {
  return categories[reason] ?? 'UNPROCESSABLE_CONTENT';
}

export type MessageLocale = 'en' | 'zh-CN';
export type MessageCatalogue = Record<string, (facts: Record<string, unknown>, param: string | undefined) => string>;

const catalogues: Record<MessageLocale, MessageCatalogue> = { en, 'zh-CN': zhCN };

/** The sentence for a refusal, naming the field first when there is one. */
export function renderMessage(reason: string, facts: Record<string, unknown>, param: string | undefined, locale: MessageLocale): string {
  const render = catalogues[locale][reason] ?? catalogues.en[reason];
  const sentence = render ? render(facts, param) : reason.toLowerCase().replaceAll('_', ' ');
  return param && !sentence.startsWith(`${param}:`) ? `${param}: ${sentence}` : sentence;
}

export function notFound(param: string, what: string): JifenError {
  return new JifenError('NOT_FOUND', { what }, param);
}

export function invalid(param: string, detail: string): JifenError {
  return new JifenError('INVALID_INPUT', { detail }, param);
}
