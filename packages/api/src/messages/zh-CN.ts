import type { MessageCatalogue } from '../errors';

const amount = (value: unknown) => (typeof value === 'number' ? value.toLocaleString('zh-CN') : String(value));

/** 简体中文提示，按 reason 索引；与 en.ts 一一对应。 */
export const zhCN: MessageCatalogue = {
  INVALID_INPUT: (facts) => String(facts.detail ?? '无效'),
  INVALID_PROGRAM: (facts) => `积分规则无效：${String(facts.summary ?? '')}`,
  INVALID_TEMPLATE: (facts) => `优惠券模板无效：${String(facts.summary ?? '')}`,
  CURRENCY_MISMATCH: (facts) => `必须为商户币种 ${String(facts.expected)}`,
  UNAUTHORIZED: () => '需要有效的凭证',
  FORBIDDEN: () => '该凭证无权执行此操作',
  NOT_FOUND: (facts) => `未找到该${String(facts.what ?? '记录')}`,
  IDEMPOTENCY_CONFLICT: (facts) => `与编号 "${String(facts.key)}"（${String(facts.scope)}）的首次请求不一致；重放须完全相同，新请求请使用新编号`,
  ORDER_CANCELLED: () => '订单已取消',
  HOLD_NOT_ACTIVE: (facts) => `该积分预占已是 ${String(facts.status)} 状态`,
  ALREADY_CHECKED_IN: () => '今天已签到',
  INSUFFICIENT_POINTS: (facts) => `需要 ${amount(facts.requested)} 积分，可用仅 ${amount(facts.available)}`,
  PAYLOAD_TOO_LARGE: (facts) => `请求体超过 ${amount(facts.limit)} 字节`,
  RATE_LIMITED: (facts) => `请求过于频繁，请 ${String(facts.retryAfterSeconds)} 秒后重试`,
};
