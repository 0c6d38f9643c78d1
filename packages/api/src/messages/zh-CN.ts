import type { MessageCatalogue } from '../errors';

const amount = (value: unknown) => (typeof value === 'number' ? value.toLocaleString('zh-CN') : String(value));

/** 配置校验的各项问题（规则引擎已给出中英两种说法）；没有时退回英文摘要。 */
function chineseSummary(facts: Record<string, unknown>): string {
  const issues = Array.isArray(facts.issues) ? (facts.issues as { message?: { 'zh-CN'?: unknown } }[]) : [];
  const messages = issues.map((issue) => issue.message?.['zh-CN']).filter((message): message is string => typeof message === 'string');
  return messages.length > 0 ? messages.join('；') : String(facts.summary ?? '');
}

/** 简体中文提示，按 reason 索引；与 en.ts 一一对应。 */
export const zhCN: MessageCatalogue = {
  INVALID_INPUT: (facts) => String(facts.detail ?? '无效'),
  INVALID_PROGRAM: (facts) => `积分规则无效：${chineseSummary(facts)}`,
  INVALID_TEMPLATE: (facts) => `优惠券模板无效：${chineseSummary(facts)}`,
  CURRENCY_MISMATCH: (facts) => `必须为商户币种 ${String(facts.expected)}`,
  PROGRAM_LOCKED: (facts) => `已有积分发放，不能从 ${String(facts.from)} 改为 ${String(facts.to)}：已存的数额都以它计`,
  UNAUTHORIZED: () => '需要有效的凭证',
  FORBIDDEN: () => '该凭证无权执行此操作',
  NOT_FOUND: (facts) => `未找到该${String(facts.what ?? '记录')}`,
  IDEMPOTENCY_CONFLICT: (facts) => `与编号 "${String(facts.key)}"（${String(facts.scope)}）的首次请求不一致；重放须完全相同，新请求请使用新编号`,
  ORDER_CANCELLED: () => '订单已取消',
  ORDER_ALREADY_COMPLETED: () => '订单已完成，请改为发送退款',
  REFUND_EXCEEDS_ORDER: (facts) => `退款将超过订单金额：${amount(facts.orderAmount)} 中最多还可退 ${amount(facts.refundable)}`,
  SELF_REFERRAL: () => '不能推荐自己',
  REFERRER_ALREADY_SET: (facts) => `该顾客已由 "${String(facts.referredBy)}" 推荐`,
  REFERRAL_AFTER_FIRST_ORDER: () => '只能在顾客首笔支付订单之前设置推荐人',
  HOLD_NOT_ACTIVE: (facts) => `该积分预占已是 ${String(facts.status)} 状态`,
  AMOUNT_OUT_OF_RANGE: () => '按当前积分方案，本请求的金额会产生超出精确计数范围（2^53）的数值；请检查金额与积分方案',
  HOLD_EXCEEDS_ORDER: (facts) => `该预占积分抵扣 ${amount(facts.value)}，但本订单积分最多可抵 ${amount(facts.valueCap)}；请释放预占后不用积分支付，或按本订单重新预占`,
  REDEMPTION_AWAITING_APPROVAL: (facts) => `该笔积分使用需经商家审核通过（预占 ${String(facts.holdId)}）`,
  ALREADY_CHECKED_IN: () => '今天已签到',
  BALANCE_LIMIT: (facts) => `会使积分余额 ${amount(facts.balance)} 超出上限 ${amount(facts.limit)}（本次 ${amount(facts.requested)}）`,
  INSUFFICIENT_POINTS: (facts) => `需要 ${amount(facts.requested)} 积分，可用仅 ${amount(facts.available)}`,
  PAYLOAD_TOO_LARGE: (facts) => `请求体超过 ${amount(facts.limit)} 字节`,
  RATE_LIMITED: (facts) => `请求过于频繁，请 ${String(facts.retryAfterSeconds)} 秒后重试`,
  POINTS_OUT_OF_RANGE: (facts) => `本单可用积分为 ${amount(facts.minPoints)} 至 ${amount(facts.maxPoints)}（请求 ${amount(facts.requested)}）`,
  POINTS_OFF_STEP: (facts) => `积分须为 ${amount(facts.step)} 的整数倍（请求 ${amount(facts.requested)}）`,
  ITEMS_EXCEED_CART: (facts) => `商品金额合计 ${amount(facts.itemsAmount)}，超过购物车金额 ${amount(facts.cartAmount)}`,
  NOTHING_TO_REDEEM: () => '本单无法使用积分抵扣',
  CAP_BELOW_MINIMUM: (facts) => `本单最多可用 ${amount(facts.pointsCap)} 积分，低于起用门槛 ${amount(facts.minPoints)}`,
  BELOW_MINIMUM: (facts) => `至少需要 ${amount(facts.minPoints)} 积分才能抵扣，可用仅 ${amount(facts.available)}`,
  NOT_ACTIVE: () => '该优惠券当前不在兑换期内',
  OUT_OF_STOCK: (facts) => `该优惠券已兑完（共 ${amount(facts.stock)} 张）`,
  LIMIT_REACHED: (facts) => `每人限兑 ${amount(facts.perShopperLimit)} 张`,
  COUPON_NOT_USABLE: (facts) => `该优惠券状态为 ${String(facts.status)}，不可使用`,
  COUPON_EXPIRED: (facts) => `该优惠券已于 ${String(facts.expiresAt)} 过期`,
  BELOW_MIN_SPEND: (facts) => `该优惠券需满 ${amount(facts.minSpend)} 可用（本单 ${amount(facts.amount)}）`,
  NOT_CANCELLABLE: () => '该优惠券不可退回积分',
  REDEMPTION_IN_REVIEW: () => '商家正在审核该账户的积分使用，请待审核通过后再试',
  STOCK_BELOW_ISSUED: (facts) => `不能设为 ${amount(facts.stock)}：已发放 ${amount(facts.issued)} 张`,
  TEMPLATE_IN_USE: (facts) => `已有 ${amount(facts.issued)} 张该券在外，不能修改优惠内容、最低消费或退券规则；请新建模板`,
};
