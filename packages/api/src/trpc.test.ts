import { TRPCError } from '@trpc/server';
import { describe, expect, it } from 'vitest';
import { JifenError } from './errors';
import { ordersPaidInput } from './schemas';
import { formatError, isAllowedOrigin, localeFor } from './trpc';

describe('the error formatter', () => {
  it('maps a refusal to its category, keeping tRPC’s code and status beside reason, param and facts', () => {
    const error = new TRPCError({ code: 'INTERNAL_SERVER_ERROR', cause: new JifenError('INSUFFICIENT_POINTS', { available: 120, requested: 500 }, 'points') });
    expect(formatError(error, undefined, 'shopper.checkout.reserve', 500)).toEqual({
      message: 'points: needs 500 points but only 120 are available',
      code: -32022,
      data: {
        code: 'UNPROCESSABLE_CONTENT',
        httpStatus: 422,
        path: 'shopper.checkout.reserve',
        reason: 'INSUFFICIENT_POINTS',
        param: 'points',
        facts: { available: 120, requested: 500 },
      },
    });
  });

  it('turns a zod refusal into BAD_REQUEST / INVALID_INPUT naming the first field', () => {
    const parsed = ordersPaidInput.safeParse({ orderId: '1', shopperId: '2', amount: -1, currency: 'CNY' });
    const error = new TRPCError({ code: 'BAD_REQUEST', cause: parsed.error });
    const shape = formatError(error, undefined, 'merchant.orders.paid', 400);
    expect(shape.data).toMatchObject({ code: 'BAD_REQUEST', httpStatus: 400, reason: 'INVALID_INPUT', param: 'amount' });
    expect(shape.message).toMatch(/^amount: /);
  });

  it('hides an unexpected error behind a generic message with the request id', () => {
    const error = new TRPCError({ code: 'INTERNAL_SERVER_ERROR', cause: new Error('SQLITE_CORRUPT: select * from lots') });
    const shape = formatError(error, { requestId: 'req-1', locale: 'en' } as never, 'shopper.me', 500);
    expect(shape.message).toBe('internal error (request id req-1); the request may be retried');
    expect(JSON.stringify(shape)).not.toMatch(/SQLITE|select|stack/i);
    expect(shape.data).toMatchObject({ code: 'INTERNAL_SERVER_ERROR', httpStatus: 500, reason: 'INTERNAL' });
  });

  it('keeps tRPC’s own refusals as they are', () => {
    const shape = formatError(new TRPCError({ code: 'NOT_FOUND', message: 'No procedure found on path "x"' }), undefined, 'x', 404);
    expect(shape).toMatchObject({ message: 'No procedure found on path "x"', data: { code: 'NOT_FOUND', httpStatus: 404, reason: 'NOT_FOUND', param: null } });
  });
});

describe('locales', () => {
  it('prefers Chinese when the caller ranks any Chinese above English', () => {
    expect(localeFor('zh-CN,zh;q=0.9,en;q=0.8')).toBe('zh-CN');
    expect(localeFor('zh-TW')).toBe('zh-CN');
    expect(localeFor('en-US,zh;q=0.5')).toBe('en');
    expect(localeFor('fr-FR, zh;q=0.3')).toBe('zh-CN');
    expect(localeFor('fr-FR')).toBe('en');
    expect(localeFor(undefined)).toBe('en');
    expect(localeFor('zh;q=0, en')).toBe('en');
  });
});

describe('storefront origins', () => {
  it('matches configured origins in their serialized form and never Origin: null', () => {
    const configured = ['https://Shop.example:443/', 'http://localhost:5173'];
    expect(isAllowedOrigin('https://shop.example', configured)).toBe(true);
    expect(isAllowedOrigin('http://localhost:5173', configured)).toBe(true);
    expect(isAllowedOrigin('http://shop.example', configured)).toBe(false);
    expect(isAllowedOrigin('https://shop.example.evil.example', configured)).toBe(false);
    expect(isAllowedOrigin('null', [...configured, 'null'])).toBe(false);
  });
});
