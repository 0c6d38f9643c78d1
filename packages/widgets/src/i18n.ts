import { type Locale, formatPointUnits, formatRatio, ratio } from '@jifen/rules';

/**
 * What the widgets say and how they write numbers, money and dates (SPEC §6): zh-CN and en, chosen
 * by the `locale` prop/attribute or else the page's `lang`. Money arrives in minor units and is
 * shifted to major units as a decimal string, so Intl formats the exact amount (never a float on a
 * money path, SPEC §2). Dates are written in the merchant's time zone, since an expiry is "the end
 * of that day in the merchant's time zone" (SPEC §3.1).
 */

export type { Locale };

export { resolveLocale } from './locale';

/**
 * Intl's formatters, made once per language and options: building one costs far more than using
 * it. Built afresh for every figure, they took about a quarter of the widget code's time on
 * /embed.html's first render (a CPU profile in headless Chromium, docs/performance.md).
 */
const formatters = new Map<string, Intl.NumberFormat | Intl.DateTimeFormat | Intl.RelativeTimeFormat>();
const FORMATTERS_MAX = 500;

function cachedFormatter<T extends Intl.NumberFormat | Intl.DateTimeFormat | Intl.RelativeTimeFormat>(kind: string, locale: string, options: object, make: () => T): T {
  const key = `${kind}\u0000${locale}\u0000${JSON.stringify(options)}`;
  let formatter = formatters.get(key) as T | undefined;
  if (formatter === undefined) {
    formatter = make();
    if (formatters.size >= FORMATTERS_MAX) formatters.clear();
    formatters.set(key, formatter);
  }
  return formatter;
}

function numberFormat(locale: string, options: Intl.NumberFormatOptions = {}): Intl.NumberFormat {
  return cachedFormatter('number', locale, options, () => new Intl.NumberFormat(locale, options));
}

function dateTimeFormat(locale: string, options: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  return cachedFormatter('date', locale, options, () => new Intl.DateTimeFormat(locale, options));
}

/** Digits of a currency's minor unit (CNY 2, JPY 0), from Intl. */
export function currencyDigits(currency: string): number {
  return numberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
}

type NumberFormatOptions = Intl.NumberFormatOptions;
/** Intl's typings take numbers; browsers and Node 20 format exact decimal strings as well (Intl.NumberFormat v3). */
function formatDecimal(locale: Locale, decimal: string, options: NumberFormatOptions): string {
  return numberFormat(locale, options).format(decimal as unknown as number);
}

/** Money in minor units as the shopper reads it: 123456 fen → ¥1,234.56 (en) / ¥1,234.56 (zh-CN). */
export function formatMoney(amountMinor: number, currency: string, locale: Locale): string {
  const digits = currencyDigits(currency);
  // The shop's currency is plain from context: ¥ rather than en's "CN¥", $ rather than zh-CN's "US$".
  return formatDecimal(locale, formatPointUnits(amountMinor, digits), { style: 'currency', currency, currencyDisplay: 'narrowSymbol', minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** A decimal string of minor units per point (`"142.8571"`) in major units, 4 places (SPEC §2: prices show 4 decimals). */
export function formatPrice(priceMinor: string, currency: string, locale: Locale): string {
  const digits = currencyDigits(currency);
  return formatDecimal(locale, shiftDecimal(priceMinor, digits), { style: 'currency', currency, currencyDisplay: 'narrowSymbol', minimumFractionDigits: 4, maximumFractionDigits: 4 });
}

/**
 * A point's price from its exact value — `minor` minor units per `perUnits` point units — in major
 * units, rounded once to 4 decimals (SPEC §2). `formatPrice` of the server's 4-place string in minor
 * units would round twice: ¥1.0000495 arrives as "100.0050" fen and would show as ¥1.0001.
 */
export function formatExactPrice(value: { minor: number | bigint; perUnits: number | bigint }, pointDecimals: number, currency: string, locale: Locale): string {
  const scale = 10n ** BigInt(currencyDigits(currency));
  const perPoint = ratio(BigInt(value.minor) * 10n ** BigInt(pointDecimals), BigInt(value.perUnits) * scale);
  return formatDecimal(locale, formatRatio(perPoint, 4), { style: 'currency', currency, currencyDisplay: 'narrowSymbol', minimumFractionDigits: 4, maximumFractionDigits: 4 });
}

/** Point units as displayed points, with the program's `pointDecimals`. */
export function formatPointsNumber(units: number, pointDecimals: number, locale: Locale): string {
  return formatDecimal(locale, formatPointUnits(units, pointDecimals), { minimumFractionDigits: pointDecimals, maximumFractionDigits: pointDecimals });
}

export function formatCount(value: number, locale: Locale): string {
  return numberFormat(locale).format(value);
}

/** A decimal string divided by 10^places, exactly: ("142.8571", 2) → "1.428571". */
function shiftDecimal(decimal: string, places: number): string {
  const [whole = '0', fraction = ''] = decimal.split('.');
  const padded = whole.padStart(places + 1, '0');
  return `${padded.slice(0, padded.length - places)}.${padded.slice(padded.length - places)}${fraction}`;
}

/**
 * Displayed points typed by a shopper ("12.5") as point units, exactly; null when it is not a
 * non-negative number with at most `pointDecimals` places.
 */
export function parsePoints(text: string, pointDecimals: number): number | null {
  const match = /^\s*(\d+)(?:[.,](\d*))?\s*$/.exec(text);
  if (!match) return null;
  const fraction = match[2] ?? '';
  if (fraction.length > pointDecimals) return null;
  const units = Number(`${match[1]}${fraction.padEnd(pointDecimals, '0')}`);
  return Number.isSafeInteger(units) ? units : null;
}

/** The calendar day `YYYY-MM-DD` of an instant in a time zone. */
export function localDateIn(at: Date, timeZone: string): string {
  const parts = dateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(at);
  const part = (type: string) => parts.find((item) => item.type === type)?.value ?? '';
  return `${part('year')}-${part('month')}-${part('day')}`;
}

function utcNoon(date: string): Date {
  const [year = 1970, month = 1, day = 1] = date.split('-').map(Number);
  return new Date(Date.UTC(year, month - 1, day, 12));
}

/** A merchant-zone calendar day, written out: "24 Nov 2026" / "2026年11月24日". */
export function formatLocalDate(date: string, locale: Locale): string {
  // A calendar day has no zone of its own: noon UTC written in UTC is that day everywhere.
  return dateTimeFormat(locale, { dateStyle: 'medium', timeZone: 'UTC' }).format(utcNoon(date));
}

/** An instant as a date and time in the merchant's zone. */
export function formatInstant(at: Date, timeZone: string, locale: Locale): string {
  return dateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short', timeZone }).format(at);
}

/** An instant as a time of day in the merchant's zone ("14:05"). */
export function formatTime(at: Date, timeZone: string, locale: Locale): string {
  return dateTimeFormat(locale, { timeStyle: 'short', timeZone }).format(at);
}

/** Whole days from the merchant-zone day of `now` to `date` (negative when past). */
export function daysUntil(date: string, now: Date, timeZone: string): number {
  return Math.round((utcNoon(date).getTime() - utcNoon(localDateIn(now, timeZone)).getTime()) / 86_400_000);
}

/** "tomorrow", "in 5 days" / "明天", "5天后", counted in the merchant's calendar days. */
export function formatRelativeDay(date: string, now: Date, timeZone: string, locale: Locale): string {
  return cachedFormatter('relative', locale, { numeric: 'auto' }, () => new Intl.RelativeTimeFormat(locale, { numeric: 'auto' })).format(daysUntil(date, now, timeZone), 'day');
}

export function formatPercent(rate: number, locale: Locale): string {
  return numberFormat(locale, { style: 'percent', maximumFractionDigits: 2 }).format(rate);
}

/** A percent-off rate in the 折 a Chinese shopper reads: 0.15 off → "8.5", exactly at four places. */
export function formatZhe(rateOff: number): string {
  const keptTenThousandths = 10_000 - Math.round(rateOff * 10_000);
  return (keptTenThousandths / 1_000).toString();
}

/** Fills `{name}` placeholders. */
function fill(template: string, values: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (whole, key: string) => values[key] ?? whole);
}

const en = {
  loading: 'Loading…',
  retry: 'Try again',
  unreachable: 'The points service could not be reached. Check your connection and try again.',
  points: '{points} points',
  point: '{points} point',
  pendingPoints: '{points} points pending',
  pendingPoint: '{points} point pending',
  checkoutTitle: 'Pay with points',
  balance: 'You have {points}, worth {money}.',
  pointsToUse: 'Points to use',
  exactPoints: 'Exact amount',
  sliderValue: '{points}, {money} off',
  rangeHint: 'Use {min} to {max} points, in steps of {step}.',
  invalidPoints: 'Enter {min} to {max} points, in steps of {step}.',
  pointsPay: 'Points pay',
  youPay: 'You pay',
  usePoints: 'Use {points}',
  useInstead: 'Use {points} instead',
  reserving: 'Reserving your points…',
  reserved: '{points} reserved for this order ({money} off) until {time}.',
  dontUsePoints: "Don't use points",
  noPoints: 'You have no points to use yet.',
  nothingToRedeem: "Points can't be used on this order.",
  capBelowMinimum: 'This order is too small to pay with points: at least {min} are needed.',
  belowMinimum: 'You need at least {min} to pay with points; you have {available}.',
  holdExpired: 'Your points reservation has expired, so this order is back to full price.',
  reserveAgain: 'Reserve {points} again',
  couponsTitle: 'Exchange points for coupons',
  couponsBalance: 'You have {points}.',
  catalogEmpty: 'No coupons on offer right now.',
  amountOff: '{money} off',
  percentOff: '{percent} off',
  upTo: 'up to {money}',
  freeShipping: 'Free shipping',
  minSpend: 'On orders of {money} or more',
  noMinSpend: 'On any order',
  validFor: 'Valid for {days} days',
  stockLeft: '{count} left',
  limit: 'Limit {limit} per shopper, you have {issued}',
  cost: 'Costs {points}',
  exchange: 'Exchange',
  exchangeFor: 'Exchange {points} for {name}',
  reasonNotActive: 'Not on offer yet',
  reasonNotActiveFrom: 'On offer from {date}',
  reasonOutOfStock: 'Out of stock',
  reasonLimitReached: 'You have reached the limit of {limit}',
  reasonInsufficientPoints: 'You need {missing} more points',
  reasonInsufficientPoint: 'You need {missing} more point',
  reasonOther: 'Not available to you now',
  confirmTitle: 'Exchange points for this coupon?',
  confirmBody: 'Exchange {points} for “{name}”. Your balance will be {after}.',
  confirm: 'Exchange now',
  cancel: 'Cancel',
  exchanging: 'Exchanging…',
  issuedTitle: 'Your coupon code',
  issuedFor: '“{name}” is yours. Use this code at checkout by {date}.',
  copyCode: 'Copy code',
  copied: 'Copied',
  copyFailed: 'Copying is blocked here; select the code and copy it.',
  close: 'Close',
  mineTitle: 'My coupons',
  mineEmpty: 'You have no coupons yet.',
  code: 'Code',
  worth: 'Worth',
  status: 'Status',
  expires: 'Valid until',
  statusIssued: 'Ready to use',
  statusRedeemed: 'Used',
  statusCancelled: 'Cancelled',
  statusExpired: 'Expired',
  storeCredit: 'Store credit',
  noExpiry: 'No expiry',
  bannerLabel: 'Points expiring',
  expiring: '{points} worth {money} expire {relative}, on {date}.',
  useThemOnCoupon: 'Exchange them for a coupon',
  dismissForToday: 'Dismiss for today',
  showSchedule: 'Show all upcoming expiries',
  hideSchedule: 'Hide upcoming expiries',
  scheduleTitle: 'Upcoming expiries',
  scheduleEmpty: 'Nothing else expires.',
  pointValue: '1 point is worth {price} now.',
  priceHistory: 'Point value over the last {count} changes, from {first} to {last}',
  disclosure: "Point value follows the shop's sales; points are not cash and their value is not guaranteed",
};

export type Messages = typeof en;
export type MessageKey = keyof Messages;

const zhCN: Messages = {
  loading: '加载中…',
  retry: '重试',
  unreachable: '暂时无法连接积分服务，请检查网络后重试。',
  points: '{points} 积分',
  point: '{points} 积分',
  pendingPoints: '{points} 积分待入账',
  pendingPoint: '{points} 积分待入账',
  checkoutTitle: '积分抵现',
  balance: '您有 {points}，价值 {money}。',
  pointsToUse: '使用积分',
  exactPoints: '精确数量',
  sliderValue: '{points}，抵扣 {money}',
  rangeHint: '可使用 {min} 至 {max} 积分，以 {step} 为单位。',
  invalidPoints: '请输入 {min} 至 {max} 之间的积分，以 {step} 为单位。',
  pointsPay: '积分抵扣',
  youPay: '还需支付',
  usePoints: '使用 {points}',
  useInstead: '改为使用 {points}',
  reserving: '正在为您预留积分…',
  reserved: '已为本单预留 {points}（抵扣 {money}），保留至 {time}。',
  dontUsePoints: '不使用积分',
  noPoints: '您暂时没有可用积分。',
  nothingToRedeem: '本单不可使用积分抵扣。',
  capBelowMinimum: '订单金额过低，无法使用积分抵扣：至少需要 {min}。',
  belowMinimum: '至少需要 {min} 才能抵扣，您现有 {available}。',
  holdExpired: '积分预留已过期，本单已恢复原价。',
  reserveAgain: '重新预留 {points}',
  couponsTitle: '积分兑换优惠券',
  couponsBalance: '您有 {points}。',
  catalogEmpty: '暂无可兑换的优惠券。',
  amountOff: '减 {money}',
  percentOff: '{zhe} 折',
  upTo: '最高减 {money}',
  freeShipping: '免运费',
  minSpend: '满 {money} 可用',
  noMinSpend: '无门槛',
  validFor: '有效期 {days} 天',
  stockLeft: '剩余 {count} 张',
  limit: '每人限兑 {limit} 张，已兑 {issued} 张',
  cost: '需 {points}',
  exchange: '兑换',
  exchangeFor: '兑换（{points}）{name}',
  reasonNotActive: '尚未开始兑换',
  reasonNotActiveFrom: '{date} 开始兑换',
  reasonOutOfStock: '已兑完',
  reasonLimitReached: '已达兑换上限（{limit} 张）',
  reasonInsufficientPoints: '还差 {missing} 积分',
  reasonInsufficientPoint: '还差 {missing} 积分',
  reasonOther: '暂不可兑换',
  confirmTitle: '确认兑换这张优惠券？',
  confirmBody: '将用 {points} 兑换“{name}”，兑换后余额 {after}。',
  confirm: '确认兑换',
  cancel: '取消',
  exchanging: '兑换中…',
  issuedTitle: '您的优惠券码',
  issuedFor: '“{name}”已到账，结账时输入此券码即可使用，有效期至 {date}。',
  copyCode: '复制券码',
  copied: '已复制',
  copyFailed: '此处无法自动复制，请选中券码后手动复制。',
  close: '关闭',
  mineTitle: '我的优惠券',
  mineEmpty: '您还没有优惠券。',
  code: '券码',
  worth: '面值',
  status: '状态',
  expires: '有效期至',
  statusIssued: '可使用',
  statusRedeemed: '已使用',
  statusCancelled: '已取消',
  statusExpired: '已过期',
  storeCredit: '购物金',
  noExpiry: '长期有效',
  bannerLabel: '积分到期提醒',
  expiring: '{points}（价值 {money}）将于{relative}（{date}）过期。',
  useThemOnCoupon: '去兑换优惠券',
  dismissForToday: '今天不再提示',
  showSchedule: '查看全部即将过期积分',
  hideSchedule: '收起即将过期积分',
  scheduleTitle: '即将过期',
  scheduleEmpty: '没有其他即将过期的积分。',
  pointValue: '当前 1 积分价值 {price}。',
  priceHistory: '积分价值最近 {count} 次变化：从 {first} 到 {last}',
  disclosure: '积分价值随经营波动，非现金，不保证兑付价值',
};

const catalogues: Record<Locale, Messages> = { en, 'zh-CN': zhCN };

export const MESSAGE_KEYS = Object.keys(en) as MessageKey[];

/** A translator for one locale: `t('balance', { points, money })`. */
export function translator(locale: Locale): (key: MessageKey, values?: Record<string, string>) => string {
  const messages = catalogues[locale];
  return (key, values = {}) => fill(messages[key], values);
}

export type Translate = ReturnType<typeof translator>;

/** The merchant's program as the widgets display it. */
export interface DisplaySettings {
  locale: Locale;
  currency: string;
  timeZone: string;
  pointDecimals: number;
}

/** Every formatter a widget needs, bound to its locale, the merchant's currency, zone and point decimals. */
export function displayFor(settings: DisplaySettings) {
  const { locale, currency, timeZone, pointDecimals } = settings;
  const t = translator(locale);
  const pointsNumber = (units: number) => formatPointsNumber(units, pointDecimals, locale);
  /**
   * A message counting `units` points, filled in as `{<slot>}`: the `one` form when they read as
   * exactly one point ("1", not "1.00": English then takes the singular), else `other`.
   */
  const pointsMessage = (units: number, one: MessageKey, other: MessageKey, slot = 'points') => {
    const number = pointsNumber(units);
    return t(number === '1' ? one : other, { [slot]: number });
  };
  return {
    ...settings,
    t,
    money: (amountMinor: number) => formatMoney(amountMinor, currency, locale),
    price: (priceMinor: string) => formatPrice(priceMinor, currency, locale),
    /** A point's price from its exact value per point unit, rounded once (`formatExactPrice`). */
    exactPrice: (minor: number, perUnits: number) => formatExactPrice({ minor, perUnits }, pointDecimals, currency, locale),
    /** "1,234 points", "1 point" / "1,234 积分". */
    points: (units: number) => pointsMessage(units, 'point', 'points'),
    pointsMessage,
    pointsNumber,
    count: (value: number) => formatCount(value, locale),
    date: (date: string) => formatLocalDate(date, locale),
    dateOf: (at: Date) => formatLocalDate(localDateIn(at, timeZone), locale),
    /** The last merchant-zone day before an exclusive end (a coupon "expires at the end of that day"). */
    lastDayBefore: (end: Date) => formatLocalDate(localDateIn(new Date(end.getTime() - 1), timeZone), locale),
    relativeDay: (date: string, now: Date) => formatRelativeDay(date, now, timeZone, locale),
    instant: (at: Date) => formatInstant(at, timeZone, locale),
    time: (at: Date) => formatTime(at, timeZone, locale),
  };
}

export type Display = ReturnType<typeof displayFor>;
