import { formatMoney as formatWidgetMoney } from '@jifen/widgets';
import { useSyncExternalStore } from 'react';

/**
 * What the demo shop says, in zh-CN first and en (SPEC §6's two languages), and which one the
 * shopper chose: kept in localStorage, written to `<html lang>` so the page and the widgets agree.
 */

export type Locale = 'zh-CN' | 'en';

const zhCN = {
  shopName: '积分 Demo Shop',
  skipToContent: '跳到主要内容',
  navigation: '主导航',
  navProducts: '商品',
  navCart: '购物车（{count}）',
  navCoupons: '积分兑券',
  navAccount: '我的积分',
  navEmbed: '纯 HTML 演示',
  switchLanguage: 'English',
  switchLanguageLabel: 'Switch to English',
  signIn: '登录',
  signOut: '退出',
  signedInAs: '当前顾客：{name}',
  productsTitle: '商品',
  productsIntro: '下单即得积分；积分可抵现，也可兑换优惠券。',
  addToCart: '加入购物车',
  addToCartLabel: '将{name}加入购物车',
  added: '已加入购物车：{name}',
  cartTitle: '购物车',
  cartEmpty: '购物车是空的。',
  browseProducts: '去逛逛',
  product: '商品',
  quantity: '数量',
  quantityOf: '{name}的数量',
  lineTotal: '小计',
  remove: '移除',
  removeLabel: '移除{name}',
  total: '合计',
  toCheckout: '去结算',
  checkoutTitle: '结算',
  orderSummary: '订单',
  cashDue: '现金支付',
  pointsOff: '积分抵扣',
  pay: '支付 {money}',
  paying: '正在支付…',
  cancelCheckout: '取消结算',
  cancelling: '正在取消…',
  payFailed: '支付失败：{message}',
  couponsTitle: '积分兑券',
  accountTitle: '我的积分',
  paidTitle: '支付成功',
  paidSummary: '订单 {orderId} 已支付：现金 {cash}。',
  paidPoints: '使用 {points} 积分抵扣 {money}。',
  earnedPending: '本单获得 {points} 积分，待入账，预计 {date} 可用。',
  earnedNone: '本单没有获得积分。',
  balanceTitle: '积分余额',
  available: '可用',
  pending: '待入账',
  held: '已预留',
  activityTitle: '积分明细',
  activityEmpty: '暂无积分记录。',
  when: '时间',
  what: '事项',
  points: '积分',
  loading: '加载中…',
  loadFailed: '积分服务暂时无法访问：{message}',
  signInTitle: '登录演示账号',
  signInIntro: '选择一位演示顾客。真实商城里，这一步是商城自己的登录；商城后端再向 jifen 申请顾客令牌。',
  signInAs: '以{name}登录',
  signInRequired: '请先登录演示账号。',
  demoUnavailable: '演示登录只在 `npm start`（jifen start）下提供。',
  notFoundTitle: '页面不存在',
  backHome: '返回首页',
  footer: 'jifen 积分 — 开源积分引擎的演示商城。金额以分计，积分规则由服务器最终核算。',
  kind_earn: '购物获得积分',
  'kind_earn.available': '积分已入账',
  'kind_earn.cancel': '订单取消，积分收回',
  kind_behaviour: '互动奖励',
  kind_checkin: '签到奖励',
  kind_referral: '邀请奖励',
  kind_adjust: '商家调整',
  'kind_hold.place': '预留积分',
  'kind_hold.capture': '积分抵现',
  'kind_hold.release': '释放预留积分',
  'kind_hold.expire': '预留到期释放',
  'kind_coupon.exchange': '兑换优惠券',
  'kind_coupon.cancel': '优惠券退还',
  'kind_refund.clawback': '退款扣回积分',
  'kind_refund.restore': '退款退回积分',
  kind_expire: '积分过期',
  kind_other: '其他',
};

export type MessageKey = keyof typeof zhCN;

const en: Record<MessageKey, string> = {
  shopName: 'jifen Demo Shop',
  skipToContent: 'Skip to main content',
  navigation: 'Main',
  navProducts: 'Products',
  navCart: 'Cart ({count})',
  navCoupons: 'Coupons for points',
  navAccount: 'My points',
  navEmbed: 'Plain HTML demo',
  switchLanguage: '中文',
  switchLanguageLabel: '切换到中文',
  signIn: 'Sign in',
  signOut: 'Sign out',
  signedInAs: 'Shopping as {name}',
  productsTitle: 'Products',
  productsIntro: 'Every order earns points; pay with them at checkout or exchange them for coupons.',
  addToCart: 'Add to cart',
  addToCartLabel: 'Add {name} to the cart',
  added: 'Added to the cart: {name}',
  cartTitle: 'Cart',
  cartEmpty: 'Your cart is empty.',
  browseProducts: 'Browse products',
  product: 'Product',
  quantity: 'Quantity',
  quantityOf: 'Quantity of {name}',
  lineTotal: 'Subtotal',
  remove: 'Remove',
  removeLabel: 'Remove {name}',
  total: 'Total',
  toCheckout: 'Check out',
  checkoutTitle: 'Checkout',
  orderSummary: 'Your order',
  cashDue: 'Cash due',
  pointsOff: 'Points pay',
  pay: 'Pay {money}',
  paying: 'Paying…',
  cancelCheckout: 'Cancel checkout',
  cancelling: 'Cancelling…',
  payFailed: 'The payment failed: {message}',
  couponsTitle: 'Coupons for points',
  accountTitle: 'My points',
  paidTitle: 'Payment received',
  paidSummary: 'Order {orderId} is paid: {cash} in cash.',
  paidPoints: '{points} points paid {money}.',
  earnedPending: 'It earned {points} points, pending until about {date}.',
  earnedNone: 'This order earned no points.',
  balanceTitle: 'Balance',
  available: 'Available',
  pending: 'Pending',
  held: 'Reserved',
  activityTitle: 'Activity',
  activityEmpty: 'No activity yet.',
  when: 'When',
  what: 'What',
  points: 'Points',
  loading: 'Loading…',
  loadFailed: 'The points service could not be reached: {message}',
  signInTitle: 'Sign in to the demo',
  signInIntro: "Choose a demo shopper. In a real shop this is the shop's own sign-in; its backend then asks jifen for the shopper's token.",
  signInAs: 'Sign in as {name}',
  signInRequired: 'Sign in to a demo account first.',
  demoUnavailable: 'The demo sign-in is available under `npm start` (jifen start) only.',
  notFoundTitle: 'Page not found',
  backHome: 'Back to the shop',
  footer: 'jifen 积分 — the demo shop of an open-source loyalty-points engine. Money in fen; the server has the final word on every figure.',
  kind_earn: 'Points earned on an order',
  'kind_earn.available': 'Points now available',
  'kind_earn.cancel': 'Order cancelled, points taken back',
  kind_behaviour: 'Reward',
  kind_checkin: 'Check-in reward',
  kind_referral: 'Referral reward',
  kind_adjust: 'Adjusted by the shop',
  'kind_hold.place': 'Points reserved',
  'kind_hold.capture': 'Paid with points',
  'kind_hold.release': 'Reservation released',
  'kind_hold.expire': 'Reservation expired',
  'kind_coupon.exchange': 'Exchanged for a coupon',
  'kind_coupon.cancel': 'Coupon returned',
  'kind_refund.clawback': 'Taken back for a refund',
  'kind_refund.restore': 'Restored by a refund',
  kind_expire: 'Points expired',
  kind_other: 'Other',
};

const catalogues: Record<Locale, Record<MessageKey, string>> = { 'zh-CN': zhCN, en };

export type Translate = (key: MessageKey, values?: Record<string, string | number>) => string;

export function translator(locale: Locale): Translate {
  const messages = catalogues[locale];
  return (key, values = {}) => messages[key].replace(/\{(\w+)\}/g, (whole, name: string) => (name in values ? String(values[name]) : whole));
}

/** The message for a journal entry's kind, or "other" for kinds the shop does not name. */
export function kindKey(kind: string): MessageKey {
  const key = `kind_${kind}`;
  return key in zhCN ? (key as MessageKey) : 'kind_other';
}

const STORAGE_KEY = 'jifen-demo-locale';
const listeners = new Set<() => void>();

function storedLocale(): Locale {
  return globalThis.localStorage?.getItem(STORAGE_KEY) === 'en' ? 'en' : 'zh-CN';
}

let current: Locale = storedLocale();

export function setLocale(locale: Locale): void {
  current = locale;
  localStorage.setItem(STORAGE_KEY, locale);
  document.documentElement.lang = locale;
  for (const listener of listeners) listener();
}

export function useLocale(): Locale {
  return useSyncExternalStore(
    (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    () => current,
  );
}

/** Money in minor units (fen) as the shopper reads it, exactly as the widgets write it (never a float). */
export function formatMoney(amountMinor: number, locale: Locale, currency = 'CNY'): string {
  return formatWidgetMoney(amountMinor, currency, locale);
}

export function formatNumber(value: number, locale: Locale): string {
  return new Intl.NumberFormat(locale).format(value);
}

export function formatDateTime(epochMs: number, locale: Locale, timeZone = 'Asia/Shanghai'): string {
  return new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short', timeZone }).format(new Date(epochMs));
}

export function formatDate(epochMs: number, locale: Locale, timeZone = 'Asia/Shanghai'): string {
  return new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeZone }).format(new Date(epochMs));
}
