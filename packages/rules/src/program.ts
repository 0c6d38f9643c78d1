import { z } from 'zod';
import { hasRateDecimals } from './arithmetic';
import { type Result, ok, refuse } from './result';
import { isLocalDate } from './time';

/**
 * The loyalty program (SPEC §3, Appendix A): one validated config object per merchant, versioned by
 * the ledger. Every field has a default, so `parseProgram({})` is a working classic program.
 * Rates and multipliers are decimals with at most four places; rules turn them into exact ratios
 * (`ratioFromDecimal`) before any arithmetic.
 */

export type Locale = 'zh-CN' | 'en';
export const LOCALES: readonly Locale[] = ['zh-CN', 'en'];

const rate = (max: number) =>
  z.number().min(0).max(max).refine(hasRateDecimals, { params: { reason: 'decimals' } });

const share = rate(1);
const multiplier = rate(100);
const amount = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const positiveAmount = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);
const identifier = z.string().min(1).max(64).regex(/^[A-Za-z0-9_.:-]+$/);
const category = z.string().min(1).max(64);
// A calendar date: 2026-02-30 is refused, where Date.parse would roll it over into March.
const localDate = z.string().refine(isLocalDate, { params: { reason: 'date' } });

/** Refuses two entries with one `id`, naming the second (`earning.tiers.2.id`): records and lookups go by id. */
function uniqueIds(entries: readonly { id: string }[], context: z.core.$RefinementCtx): void {
  const seen = new Set<string>();
  entries.forEach((entry, index) => {
    if (seen.has(entry.id)) context.addIssue({ code: 'custom', path: [index, 'id'], params: { reason: 'duplicateId' }, input: entry.id });
    seen.add(entry.id);
  });
}
/** Text a shopper reads: no control characters, nor half of a surrogate pair (as the API's `text`). */
export const displayText = z
  .string()
  .min(1)
  .max(64)
  .refine((value) => /^[^\p{Cc}\p{Cs}]*$/u.test(value), { params: { reason: 'text' } });
export const localizedName = z.strictObject({ 'zh-CN': displayText, en: displayText });

const currency = z.string().regex(/^[A-Z]{3}$/).refine((code) => supportedCurrencies().has(code), {
  params: { reason: 'currency' },
});
const timeZone = z.string().min(1).max(64).refine(isTimeZone, { params: { reason: 'timeZone' } });

export const tierSchema = z.strictObject({
  id: identifier,
  name: localizedName,
  /** Qualifying spend (minor units) over the trailing window that reaches this tier. */
  minSpend: amount,
  multiplier,
});

export const campaignSchema = z.strictObject({
  id: identifier,
  multiplier,
  /** ISO weekdays, 1 = Monday … 7 = Sunday, in the merchant's time zone. */
  weekdays: z.array(z.number().int().min(1).max(7)).max(7).optional(),
  /** Inclusive local dates (merchant's time zone). */
  from: localDate.optional(),
  to: localDate.optional(),
  /** When set, the multiplier applies only to these categories' lines. */
  categories: z.array(category).max(100).optional(),
}).refine((campaign) => campaign.from === undefined || campaign.to === undefined || campaign.from <= campaign.to, {
  path: ['to'],
  params: { reason: 'dateOrder' },
});

const defaultTiers: z.input<typeof tierSchema>[] = [
  { id: 'member', name: { 'zh-CN': '普通会员', en: 'Member' }, minSpend: 0, multiplier: 1.0 },
  { id: 'silver', name: { 'zh-CN': '银卡会员', en: 'Silver' }, minSpend: 100_000, multiplier: 1.2 },
  { id: 'gold', name: { 'zh-CN': '金卡会员', en: 'Gold' }, minSpend: 500_000, multiplier: 1.5 },
  { id: 'diamond', name: { 'zh-CN': '钻石会员', en: 'Diamond' }, minSpend: 2_000_000, multiplier: 2.0 },
];

export const earningSchema = z.strictObject({
  baseRate: share.default(0.05),
  minOrderAmount: amount.default(0),
  excludedCategories: z.array(category).max(100).default([]),
  perOrderCapRate: share.nullable().default(0.1),
  dailyCapPoints: amount.nullable().default(null),
  monthlyBudgetRate: share.nullable().default(0.05),
  /** Whether the part of an order paid with points also earns (SPEC §3.1, default off). */
  earnOnPointsPaid: z.boolean().default(false),
  pendingDays: z.number().int().min(0).max(365).default(7),
  tierWindowMonths: z.number().int().min(1).max(60).default(12),
  tiers: z
    .array(tierSchema)
    .min(1)
    .max(20)
    .default(defaultTiers as z.output<typeof tierSchema>[])
    .refine((tiers) => tiers[0]?.minSpend === 0, { params: { reason: 'firstTierZero' } })
    .refine((tiers) => tiers.every((tier, index) => index === 0 || tier.minSpend > tiers[index - 1]!.minSpend), {
      params: { reason: 'tiersAscending' },
    })
    .superRefine(uniqueIds),
  segments: z
    .strictObject({ new: multiplier.default(1.6), regular: multiplier.default(1.0), vip: multiplier.default(0.6) })
    .prefault({}),
  campaigns: z.array(campaignSchema).max(50).default([]).superRefine(uniqueIds),
});

export const behavioursSchema = z.strictObject({
  review: amount.default(50),
  photoReview: amount.default(100),
  share: amount.default(0),
  checkinStreak: z.array(amount).min(1).max(31).default([5, 5, 10, 10, 15, 15, 50]),
  referral: z.strictObject({ inviter: amount.default(500), invitee: amount.default(200) }).prefault({}),
});

export const redemptionSchema = z.strictObject({
  minPoints: amount.default(100),
  step: positiveAmount.default(1),
  maxShare: share.default(0.5),
  excludedCategories: z.array(category).max(100).default([]),
  holdTtlSeconds: z.number().int().min(30).max(86_400).default(900),
  restoreGraceDays: z.number().int().min(0).max(3650).default(30),
});

const reminderDays = z.array(z.number().int().min(1).max(365)).max(10).default([30, 7, 3, 1]);

export const expirySchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('rolling'), months: z.number().int().min(1).max(120).default(12), reminderDays }),
  /** Points earned in year Y expire at the end of `month`/`day` of year Y + `yearsAfter`. */
  z.strictObject({
    kind: z.literal('calendar'),
    month: z.number().int().min(1).max(12).default(12),
    day: z.number().int().min(1).max(31).default(31),
    yearsAfter: z.number().int().min(0).max(10).default(1),
    reminderDays,
  }),
  z.strictObject({ kind: z.literal('none') }),
]);

export const fixedValuationSchema = z.strictObject({
  kind: z.literal('fixed'),
  /** Point units per one major currency unit: 100 means 100 points = ¥1, so 1 point = 1 fen. */
  pointsPerCurrencyUnit: positiveAmount.max(1_000_000).default(100),
});

export const poolValuationSchema = z.strictObject({
  kind: z.literal('pool'),
  /** Minor currency units per whole displayed point while the supply is zero. */
  initialPrice: positiveAmount.max(1_000_000_000).default(100),
  poolShare: z
    .strictObject({ default: share.default(0.16), byCategory: z.record(category, share).default({}) })
    .prefault({}),
  mintRatio: share.default(0.7),
  retention: z
    .strictObject({ checkout: share.default(0), coupon: share.default(0), capOut: share.default(0.2) })
    .prefault({}),
  capMultiple: z.number().min(1.2).max(2).refine(hasRateDecimals, { params: { reason: 'decimals' } }).default(1.2),
  release: z
    .strictObject({
      periods: z.number().int().min(0).max(365).default(0),
      periodDays: z.number().int().min(1).max(365).default(1),
      referralBoost: z
        .strictObject({ invitees: z.number().int().min(1).max(1000).default(4), factor: rate(10).min(1).default(1.5) })
        .prefault({}),
    })
    .prefault({}),
  risk: z
    .strictObject({
      maxSupplyGrowth: rate(100).default(0.12),
      growthWindowDays: z.number().int().min(1).max(365).default(30),
      concentrationReview: share.default(0.04),
    })
    .prefault({}),
});

export const programSchema = z
  .object({
    currency: currency.default('CNY'),
    timeZone: timeZone.default('Asia/Shanghai'),
    /** 0 for classic programs; pool programs default to 2 (see `parseProgram`). */
    pointDecimals: z.number().int().min(0).max(6).optional(),
    valuation: z.discriminatedUnion('kind', [fixedValuationSchema, poolValuationSchema]).prefault({ kind: 'fixed' }),
    earning: earningSchema.prefault({}),
    behaviours: behavioursSchema.prefault({}),
    redemption: redemptionSchema.prefault({}),
    expiry: expirySchema.prefault({ kind: 'rolling' }),
  })
  .strict()
  .transform((program) => ({
    ...program,
    pointDecimals: program.pointDecimals ?? (program.valuation.kind === 'pool' ? 2 : 0),
  }));

export type ProgramInput = z.input<typeof programSchema>;
export type Program = z.output<typeof programSchema>;
export type Tier = z.output<typeof tierSchema>;
export type Campaign = z.output<typeof campaignSchema>;
export type Expiry = Program['expiry'];
export type FixedValuation = z.output<typeof fixedValuationSchema>;
export type PoolValuation = z.output<typeof poolValuationSchema>;
export type PoolUse = keyof PoolValuation['retention'];

/** A message in both shipped languages. */
export type LocalizedMessage = Record<Locale, string>;

export interface ProgramIssue {
  /** Dotted path of the offending field, e.g. `earning.baseRate` or `earning.tiers.1.minSpend`. */
  path: string;
  message: LocalizedMessage;
}

export interface InvalidProgram {
  code: 'INVALID_PROGRAM';
  issues: ProgramIssue[];
}

/** Validates a program config, filling every default; on failure lists every invalid field. */
export function parseProgram(input: unknown): Result<Program, InvalidProgram> {
  const parsed = programSchema.safeParse(input ?? {});
  if (parsed.success) return ok(parsed.data);
  return refuse({ code: 'INVALID_PROGRAM', issues: parsed.error.issues.map(describeIssue) });
}

/** The program every merchant starts with: all defaults (a classic program in CNY, Asia/Shanghai). */
export function defaultProgram(overrides: ProgramInput = {}): Program {
  const parsed = parseProgram(overrides);
  if (!parsed.ok) throw new Error(`invalid program: ${parsed.error.issues.map((issue) => issue.path).join(', ')}`);
  return parsed.value;
}

/** A zod issue as a field path and a message in both languages; other config schemas reuse it. */
export function describeIssue(issue: z.core.$ZodIssue): ProgramIssue {
  // An unknown field is named by its own path (`earning.bonus`), as the API names input fields.
  const segments = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0] ?? ''] : issue.path;
  const path = segments.map(String).join('.') || '(program)';
  return { path, message: localize(issue, path) };
}

function localize(issue: z.core.$ZodIssue, path: string): LocalizedMessage {
  switch (issue.code) {
    case 'invalid_type':
      return {
        en: `${path}: expected ${issue.expected}`,
        'zh-CN': `${path}：应为 ${issue.expected} 类型`,
      };
    case 'too_small':
      return {
        en: `${path}: must be at least ${String(issue.minimum)}${issue.origin === 'array' ? ' items' : issue.origin === 'string' ? ' characters' : ''}`,
        'zh-CN': `${path}：不能小于 ${String(issue.minimum)}`,
      };
    case 'too_big':
      return {
        en: `${path}: must be at most ${String(issue.maximum)}${issue.origin === 'array' ? ' items' : issue.origin === 'string' ? ' characters' : ''}`,
        'zh-CN': `${path}：不能大于 ${String(issue.maximum)}`,
      };
    case 'unrecognized_keys': {
      const others = issue.keys.slice(1);
      return {
        en: `${path}: unknown field${others.length > 0 ? ` (also unknown: ${others.join(', ')})` : ''}`,
        'zh-CN': `${path}：未知字段${others.length > 0 ? `（另有未知字段 ${others.join('、')}）` : ''}`,
      };
    }
    case 'invalid_union':
    case 'invalid_value':
      return { en: `${path}: not one of the allowed values`, 'zh-CN': `${path}：取值不在允许范围内` };
    case 'invalid_format':
      return { en: `${path}: has the wrong format`, 'zh-CN': `${path}：格式不正确` };
    case 'custom':
      return customMessage(String(issue.params?.reason ?? ''), path);
    default:
      return { en: `${path}: is invalid`, 'zh-CN': `${path}：无效` };
  }
}

function customMessage(reason: string, path: string): LocalizedMessage {
  switch (reason) {
    case 'decimals':
      return { en: `${path}: must be a decimal with at most 4 places`, 'zh-CN': `${path}：最多保留 4 位小数` };
    case 'currency':
      return { en: `${path}: is not a known ISO 4217 currency code`, 'zh-CN': `${path}：不是有效的 ISO 4217 货币代码` };
    case 'timeZone':
      return { en: `${path}: is not a known IANA time zone`, 'zh-CN': `${path}：不是有效的 IANA 时区` };
    case 'date':
      return { en: `${path}: must be a date YYYY-MM-DD`, 'zh-CN': `${path}：日期格式应为 YYYY-MM-DD` };
    case 'firstTierZero':
      return { en: `${path}: the first tier must start at minSpend 0`, 'zh-CN': `${path}：第一个等级的 minSpend 必须为 0` };
    case 'tiersAscending':
      return { en: `${path}: tiers must be in ascending minSpend order`, 'zh-CN': `${path}：等级须按 minSpend 递增排列` };
    case 'text':
      return { en: `${path}: must be text without control characters`, 'zh-CN': `${path}：不能包含控制字符` };
    case 'dateOrder':
      return { en: `${path}: must not be before from`, 'zh-CN': `${path}：不能早于 from` };
    case 'duplicateId':
      return { en: `${path}: another entry already has this id`, 'zh-CN': `${path}：与前面的条目 id 重复` };
    default:
      return { en: `${path}: is invalid`, 'zh-CN': `${path}：无效` };
  }
}

let currencies: Set<string> | undefined;
/** ISO 4217 codes the runtime's Intl knows; the same set in Node and browsers. */
export function supportedCurrencies(): Set<string> {
  currencies ??= new Set(Intl.supportedValuesOf('currency'));
  return currencies;
}

// Building an Intl.NumberFormat costs tens of microseconds and every fixed-value earning asks for
// its currency's digits; a currency's digits never change within a process.
const minorDigitsByCurrency = new Map<string, number>();

/** Digits of the currency's minor unit (CNY 2, JPY 0, KWD 3), from Intl. */
export function currencyMinorDigits(code: string): number {
  let digits = minorDigitsByCurrency.get(code);
  if (digits === undefined) {
    digits = new Intl.NumberFormat('en', { style: 'currency', currency: code }).resolvedOptions().maximumFractionDigits ?? 2;
    minorDigitsByCurrency.set(code, digits);
  }
  return digits;
}

export function isTimeZone(value: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: value });
    return true;
  } catch {
    return false;
  }
}
