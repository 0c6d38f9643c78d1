import { describe, expect, it } from 'vitest';
import { MONEY_MAX, checkoutQuoteInput, describeInputIssue, money, ordersPaidInput, shoppersTokenInput } from './schemas';

const firstIssue = (result: { success: boolean; error?: { issues: unknown[] } }) => {
  expect(result.success).toBe(false);
  return result.error!.issues[0] as Parameters<typeof describeInputIssue>[0];
};

describe('input schemas', () => {
  const order = { orderId: '1001', shopperId: '42', amount: 100_000, currency: 'CNY' };

  it('accepts money from 0 to 10^13 minor units', () => {
    for (const amount of [0, 1, MONEY_MAX]) expect(money.safeParse(amount).success).toBe(true);
  });

  it('refuses negative, fractional, unsafe, non-finite and non-numeric money with one message naming the limit', () => {
    for (const amount of [-1, 0.5, MONEY_MAX + 1, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 1, Number.NaN, Number.POSITIVE_INFINITY, '100', null]) {
      const issue = firstIssue(ordersPaidInput.safeParse({ ...order, amount }));
      expect(describeInputIssue(issue, 'en')).toEqual({
        param: 'amount',
        message: 'amount: must be a whole number of fen between 0 and 10000000000000 (minor currency units)',
      });
    }
  });

  it('takes instants from 1970 to the end of 2999, with any offset, and refuses one centuries off naming the field', () => {
    for (const paidAt of ['1970-01-01T00:00:00Z', '2026-11-11T20:00:00+08:00', '2999-12-31T23:59:59.999Z', '3000-01-01T07:59:59+08:00']) {
      expect(ordersPaidInput.safeParse({ ...order, paidAt }).success).toBe(true);
    }
    for (const paidAt of ['0050-06-15T12:00:00Z', '1969-12-31T23:59:59.999Z', '1970-01-01T07:59:59+08:00', '3000-01-01T00:00:00Z', '9999-12-31T23:59:59Z']) {
      expect(describeInputIssue(firstIssue(ordersPaidInput.safeParse({ ...order, paidAt })), 'en')).toEqual({
        param: 'paidAt',
        message: 'paidAt: must be an ISO 8601 date-time with an offset, in the years 1970 to 2999, e.g. 2026-11-11T20:00:00+08:00',
      });
    }
  });

  it('says a missing field is required', () => {
    const { amount: _amount, ...withoutAmount } = order;
    expect(describeInputIssue(firstIssue(ordersPaidInput.safeParse(withoutAmount)), 'en')).toEqual({ param: 'amount', message: 'amount: is required' });
  });

  it('names an unknown field by its own path', () => {
    const issue = firstIssue(ordersPaidInput.safeParse({ ...order, items: [{ amount: 1, price: 1 }] }));
    expect(describeInputIssue(issue, 'en')).toEqual({ param: 'items.0.price', message: 'items.0.price: is not a field of this input' });
  });

  it('names nested fields with a dotted path, in Chinese when asked', () => {
    const issue = firstIssue(ordersPaidInput.safeParse({ ...order, items: [{ amount: -1 }] }));
    expect(describeInputIssue(issue, 'zh-CN')).toEqual({ param: 'items.0.amount', message: 'items.0.amount: 必须是 0 到 10000000000000 之间的整数（货币最小单位，如分）' });
  });

  it('refuses unknown and lowercase currencies', () => {
    for (const currency of ['XYZ', 'cny', 'CN', 'CNYY']) {
      expect(describeInputIssue(firstIssue(ordersPaidInput.safeParse({ ...order, currency })), 'en').param).toBe('currency');
    }
  });

  it('bounds ids to 1–128 visible ASCII characters', () => {
    for (const orderId of ['', 'x'.repeat(129), 'has space', 'tab\there', '订单']) {
      expect(describeInputIssue(firstIssue(ordersPaidInput.safeParse({ ...order, orderId })), 'en').param).toBe('orderId');
    }
    expect(ordersPaidInput.safeParse({ ...order, orderId: 'x'.repeat(128) }).success).toBe(true);
  });

  it('refuses lines whose amounts add up past the money limit', () => {
    const issue = firstIssue(checkoutQuoteInput.safeParse({ cartAmount: 1, items: [{ amount: MONEY_MAX }, { amount: 1 }] }));
    expect(describeInputIssue(issue, 'en')).toEqual({ param: 'items', message: 'items: the line amounts must add up to at most 10000000000000' });
  });

  it('caps shopper token lifetimes at an hour', () => {
    expect(shoppersTokenInput.safeParse({ shopperId: '42', ttlSeconds: 3600 }).success).toBe(true);
    const issue = firstIssue(shoppersTokenInput.safeParse({ shopperId: '42', ttlSeconds: 3601 }));
    expect(describeInputIssue(issue, 'en').message).toBe('ttlSeconds: must be a whole number of seconds between 1 and 3600');
  });

  it('describes a wrong input type at the root as "input"', () => {
    expect(describeInputIssue(firstIssue(ordersPaidInput.safeParse('an order')), 'en')).toEqual({ param: 'input', message: 'input: must be a JSON object' });
  });
});
