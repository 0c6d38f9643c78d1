import { type LocalizedMessage, describeIssue, supportedCurrencies } from '@jifen/rules';
import { z } from 'zod';
import type { MessageLocale } from './errors';

/**
 * The input of every procedure in SPEC §5, validated at the boundary (SPEC §7): strict objects (an
 * unknown field is refused, not ignored), money as integers from 0 to `MONEY_MAX`, points as safe
 * integers ≥ 0, ids as bounded strings. A refusal names the field and the limit (`amount: must be a
 * whole number of fen between 0 and 10000000000000`); the messages live in `inputMessages`, in both
 * shipped languages, and the schemas refer to them by key so one schema serves both.
 */

const SAFE_MAX = Number.MAX_SAFE_INTEGER;
/**
 * The largest amount of money one input may carry: 10^13 minor units (100 billion yuan in fen). Far
 * beyond any real order, and 900 times below 2^53, so the figures the rules derive from orders —
 * points, a month's or a tier window's spend — stay exact safe integers under any sensible program.
 */
export const MONEY_MAX = 10_000_000_000_000;
export const ID_LENGTH_MAX = 128;
export const ITEMS_MAX = 200;
export const COUPON_CODES_MAX = 10;
export const TEXT_LENGTH_MAX = 200;
export const SHOPPER_TOKEN_TTL_SECONDS_MAX = 3600;

const ID_PATTERN = /^[\x21-\x7e]+$/;
// Printable text: no control characters (they hide in logs and break CSV exports), and no lone
// surrogate halves (not text at all: no encoder or database can store them faithfully).
const TEXT_PATTERN = /^[^\p{Cc}\p{Cs}]+$/u;

type MessageKey = keyof typeof inputMessages;

/** The input messages by key, each a sentence after `field: `. */
export const inputMessages = {
  required: { en: 'is required', 'zh-CN': '必填' },
  money: {
    en: `must be a whole number of fen between 0 and ${MONEY_MAX} (minor currency units)`,
    'zh-CN': `必须是 0 到 ${MONEY_MAX} 之间的整数（货币最小单位，如分）`,
  },
  points: {
    en: `must be a whole number of point units between 0 and ${SAFE_MAX}`,
    'zh-CN': `必须是 0 到 ${SAFE_MAX} 之间的整数积分单位`,
  },
  signedPoints: {
    en: `must be a whole number of point units between -${SAFE_MAX} and ${SAFE_MAX}, not 0`,
    'zh-CN': `必须是 -${SAFE_MAX} 到 ${SAFE_MAX} 之间的非零整数积分单位`,
  },
  id: {
    en: `must be a string of 1 to ${ID_LENGTH_MAX} visible ASCII characters (no spaces)`,
    'zh-CN': `必须是 1 到 ${ID_LENGTH_MAX} 个可见 ASCII 字符（不含空格）`,
  },
  text: {
    en: `must be a string of 1 to ${TEXT_LENGTH_MAX} characters without control characters`,
    'zh-CN': `必须是 1 到 ${TEXT_LENGTH_MAX} 个字符，且不含控制字符`,
  },
  category: { en: 'must be a string of 1 to 64 characters without control characters', 'zh-CN': '必须是 1 到 64 个字符，且不含控制字符' },
  currency: { en: 'must be a known ISO 4217 currency code such as CNY or USD', 'zh-CN': '必须是有效的 ISO 4217 货币代码，如 CNY、USD' },
  instant: {
    en: 'must be an ISO 8601 date-time with an offset, in the years 1970 to 2999, e.g. 2026-11-11T20:00:00+08:00',
    'zh-CN': '必须是 1970 至 2999 年间、带时区偏移的 ISO 8601 时间，如 2026-11-11T20:00:00+08:00',
  },
  items: { en: `must be a list of at most ${ITEMS_MAX} order lines`, 'zh-CN': `必须是最多 ${ITEMS_MAX} 行的订单明细列表` },
  itemsTotal: { en: `the line amounts must add up to at most ${MONEY_MAX}`, 'zh-CN': `各行金额之和不能超过 ${MONEY_MAX}` },
  couponCodes: { en: `must be a list of at most ${COUPON_CODES_MAX} coupon codes`, 'zh-CN': `必须是最多 ${COUPON_CODES_MAX} 个优惠券码的列表` },
  ttlSeconds: {
    en: `must be a whole number of seconds between 1 and ${SHOPPER_TOKEN_TTL_SECONDS_MAX}`,
    'zh-CN': `必须是 1 到 ${SHOPPER_TOKEN_TTL_SECONDS_MAX} 之间的整数秒`,
  },
  version: { en: `must be a whole number between 1 and ${SAFE_MAX}`, 'zh-CN': `必须是 1 到 ${SAFE_MAX} 之间的整数` },
  limit: { en: 'must be a whole number between 1 and 100', 'zh-CN': '必须是 1 到 100 之间的整数' },
  cursor: { en: `must be a whole number between 1 and ${SAFE_MAX}`, 'zh-CN': `必须是 1 到 ${SAFE_MAX} 之间的整数` },
  days: { en: 'must be a whole number of days between 1 and 366', 'zh-CN': '必须是 1 到 366 之间的整数天数' },
  expiryDays: { en: 'must be a whole number of days between 1 and 3660', 'zh-CN': '必须是 1 到 3660 之间的整数天数' },
  quantity: { en: 'must be a whole number between 1 and 1000000', 'zh-CN': '必须是 1 到 1000000 之间的整数' },
  isVip: { en: 'must be true or false', 'zh-CN': '必须是 true 或 false' },
  config: { en: 'must be a JSON object', 'zh-CN': '必须是 JSON 对象' },
  object: { en: 'must be a JSON object', 'zh-CN': '必须是 JSON 对象' },
  unknownField: { en: 'is not a field of this input', 'zh-CN': '不是该接口的字段' },
} satisfies Record<string, LocalizedMessage>;

const KEY_PREFIX = 'jifen:';

/** A zod error option that names a message key, and "is required" when the field is missing. */
function message(key: MessageKey) {
  return { error: (issue: { input?: unknown }) => `${KEY_PREFIX}${issue.input === undefined ? 'required' : key}` };
}

const isMoney = (value: number) => Number.isSafeInteger(value) && value >= 0 && value <= MONEY_MAX;
const isPoints = (value: number) => Number.isSafeInteger(value) && value >= 0;

// `.meta()` states in JSON Schema (the OpenAPI document) what the refinements check.
export const money = z
  .number(message('money'))
  .refine(isMoney, message('money'))
  .meta({ type: 'integer', minimum: 0, maximum: MONEY_MAX, description: 'money in minor units (fen, cents)' });
export const points = z
  .number(message('points'))
  .refine(isPoints, message('points'))
  .meta({ type: 'integer', minimum: 0, maximum: SAFE_MAX, description: 'point units' });
export const signedPoints = z
  .number(message('signedPoints'))
  .refine((value) => Number.isSafeInteger(value) && value !== 0, message('signedPoints'))
  .meta({ type: 'integer', minimum: -SAFE_MAX, maximum: SAFE_MAX, not: { const: 0 }, description: 'point units: positive credits, negative debits' });
/** An id as every procedure takes it: 1 to 128 visible ASCII characters (a shopper token's `iss` and `sub` too). */
export function isId(value: string): boolean {
  return value.length >= 1 && value.length <= ID_LENGTH_MAX && ID_PATTERN.test(value);
}

export const id = z
  .string(message('id'))
  .refine(isId, message('id'))
  .meta({ minLength: 1, maxLength: ID_LENGTH_MAX, pattern: ID_PATTERN.source });
export const text = z
  .string(message('text'))
  .refine((value) => value.length >= 1 && value.length <= TEXT_LENGTH_MAX && TEXT_PATTERN.test(value), message('text'))
  .meta({ minLength: 1, maxLength: TEXT_LENGTH_MAX });
export const category = z
  .string(message('category'))
  .refine((value) => value.length >= 1 && value.length <= 64 && TEXT_PATTERN.test(value), message('category'))
  .meta({ minLength: 1, maxLength: 64 });
export const currency = z
  .string(message('currency'))
  .refine((value) => /^[A-Z]{3}$/.test(value) && supportedCurrencies().has(value), message('currency'))
  .meta({ pattern: '^[A-Z]{3}$', description: 'ISO 4217 code; must be the merchant’s currency' });
/**
 * Instants a shop can mean: from 1970 to the end of 2999 (UTC). The calendar (expiry dates, local
 * days) works in four-digit years, and JavaScript's `Date` reads a year below 100 as 19xx, so a
 * timestamp off by centuries is refused here rather than turned into nonsense dates downstream.
 */
const INSTANT_MIN = '1970-01-01T00:00:00Z';
const INSTANT_END = '3000-01-01T00:00:00Z';
const INSTANT_MIN_MS = Date.parse(INSTANT_MIN);
const INSTANT_END_MS = Date.parse(INSTANT_END);
export const instant = z.iso
  .datetime({ offset: true, ...message('instant') })
  .refine((value) => {
    const ms = Date.parse(value);
    return ms >= INSTANT_MIN_MS && ms < INSTANT_END_MS;
  }, message('instant'))
  .meta({ description: `from ${INSTANT_MIN} to before ${INSTANT_END}` });
const wholeNumber = (key: MessageKey, min: number, max: number) =>
  z
    .number(message(key))
    .refine((value) => Number.isSafeInteger(value) && value >= min && value <= max, message(key))
    .meta({ type: 'integer', minimum: min, maximum: max });
/**
 * Merchant config (a program, a coupon template): an object here; its service validates the fields.
 * Checked, never copied: a copy (as `z.record` makes) would drop an own `__proto__` key on the way,
 * and the service's strict schema must see every key the caller sent to refuse it.
 */
export const config = z
  .custom<Record<string, unknown>>((value) => typeof value === 'object' && value !== null && !Array.isArray(value), message('config'))
  .meta({ type: 'object', description: 'a JSON object; its fields are validated by the service' });

const strict = <Shape extends z.core.$ZodLooseShape>(shape: Shape) => z.strictObject(shape, message('object'));
/** An input with no fields: absent, or `{}`. */
const nothing = strict({}).optional();

/** One order line: what it is and what it cost (minor units, before jifen coupons and points). */
export const orderLine = strict({ sku: id.optional(), category: category.optional(), amount: money, quantity: wholeNumber('quantity', 1, 1_000_000).optional() });
export const orderLines = z
  .array(orderLine, message('items'))
  .max(ITEMS_MAX, message('items'))
  // Each line is within the money limit; so must their sum be, or figures over the cart could leave the safe range.
  .refine((lines) => lines.reduce((sum, line) => sum + line.amount, 0) <= MONEY_MAX, message('itemsTotal'));

// Merchant procedures (SPEC §5), authenticated by the merchant's API key.

export const ordersPaidInput = strict({
  orderId: id,
  shopperId: id,
  amount: money,
  currency,
  items: orderLines.optional(),
  shipping: money.optional(),
  tax: money.optional(),
  paidAt: instant.optional(),
  holdId: id.optional(),
  couponCodes: z.array(id, message('couponCodes')).max(COUPON_CODES_MAX, message('couponCodes')).optional(),
});
export const ordersCompletedInput = strict({ orderId: id, completedAt: instant.optional() });
export const ordersRefundedInput = strict({ orderId: id, refundId: id, amount: money });
export const ordersCancelledInput = strict({ orderId: id });

export const shoppersTokenInput = strict({ shopperId: id, ttlSeconds: wholeNumber('ttlSeconds', 1, SHOPPER_TOKEN_TTL_SECONDS_MAX).optional() });
export const shoppersGetInput = strict({ shopperId: id });
export const shoppersAdjustInput = strict({ shopperId: id, points: signedPoints, reason: text, idempotencyKey: id });
export const shoppersSetVipInput = strict({ shopperId: id, isVip: z.boolean(message('isVip')) });

export const keysListInput = nothing;
export const keysRotateInput = nothing;
export const keysRevokeInput = strict({ keyId: id });

export const approvalsListInput = strict({ limit: wholeNumber('limit', 1, 100).optional() }).optional();
export const approvalsApproveInput = strict({ holdId: id });

/** A review or share (`ref`: the merchant's id of it, the idempotency key), or who invited the shopper. */
export const behaviourRecordInput = z.discriminatedUnion(
  'kind',
  [
    strict({ kind: z.enum(['review', 'photoReview', 'share']), shopperId: id, ref: id }),
    strict({ kind: z.literal('referral'), shopperId: id, referredBy: id }),
  ],
  { error: () => `${KEY_PREFIX}behaviourKind` },
);

export const programGetInput = strict({ version: wholeNumber('version', 1, SAFE_MAX).optional() }).optional();
export const programUpdateInput = strict({ program: config });

export const couponTemplatesListInput = nothing;
export const couponTemplatesUpsertInput = strict({ template: config });
/** `orderAmount`: the goods the coupon would discount; `shipping` for free-shipping coupons (minor units). */
export const couponsValidateInput = strict({ code: id, orderAmount: money, shipping: money.optional() });
export const couponsRedeemInput = strict({ code: id, orderId: id, orderAmount: money, shipping: money.optional(), shopperId: id.optional() });

export const reportsSummaryInput = nothing;
export const simulateInput = strict({ program: config, days: wholeNumber('days', 1, 366).optional() });

// Shopper procedures (SPEC §5), authenticated by a shopper token; the shopper is the token's `sub`.

export const meInput = nothing;
/** Newest first; `before` is the previous page's `nextBefore` (a journal seq). */
export const activityInput = strict({ before: wholeNumber('cursor', 1, SAFE_MAX).optional(), limit: wholeNumber('limit', 1, 100).optional() }).optional();
export const checkoutQuoteInput = strict({ cartAmount: money, items: orderLines.optional(), couponCode: id.optional() });
export const checkoutReserveInput = strict({ checkoutId: id, points, cartAmount: money, items: orderLines.optional(), couponCode: id.optional() });
export const checkoutReleaseInput = strict({ holdId: id });
export const couponsCatalogInput = nothing;
export const couponsExchangeInput = strict({ templateId: id, idempotencyKey: id });
export const couponsMineInput = nothing;
export const couponsCancelInput = strict({ code: id });
/** `days`: local days from today the schedule covers (default 366). */
export const expiryUpcomingInput = strict({ days: wholeNumber('expiryDays', 1, 3660).optional() }).optional();
export const checkinInput = nothing;
export const poolHistoryInput = strict({ limit: wholeNumber('limit', 1, 100).optional() }).optional();

/** What the error formatter needs to say about an invalid input: the field and a sentence. */
export interface InputRefusal {
  param: string;
  message: string;
}

/** The first zod issue as `param` (dotted path) and a message in `locale` that names it. */
export function describeInputIssue(issue: z.core.$ZodIssue, locale: MessageLocale): InputRefusal {
  const path = issue.path.map(String);
  if (issue.code === 'unrecognized_keys') {
    const param = [...path, issue.keys[0] ?? ''].join('.');
    return { param, message: `${param}: ${inputMessages.unknownField[locale]}` };
  }
  const param = path.join('.') || 'input';
  const key = issue.message.startsWith(KEY_PREFIX) ? issue.message.slice(KEY_PREFIX.length) : null;
  if (key === 'behaviourKind') {
    const sentence = locale === 'zh-CN' ? '必须是 review、photoReview、share 或 referral' : 'must be one of review, photoReview, share, referral';
    return { param, message: `${param}: ${sentence}` };
  }
  if (key !== null && key in inputMessages) return { param, message: `${param}: ${inputMessages[key as MessageKey][locale]}` };
  // Anything without a jifen message (enum values, nested unions) gets the rules' bilingual wording.
  const described = describeIssue(issue);
  const sentence = described.message[locale].slice(described.path.length).replace(/^[:：]\s*/, '');
  return { param, message: `${param}: ${sentence}` };
}
