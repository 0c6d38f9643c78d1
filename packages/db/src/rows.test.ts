import { describe, expect, test } from 'vitest';
import { fromBool, fromDate, parseJson, requireSafeInteger, stringifyJson, toBool, toDate, toDateOrNull } from './rows';

const LARGEST = Number.MAX_SAFE_INTEGER;

describe('requireSafeInteger', () => {
  test('accepts the number, bigint or digit text either engine may return', () => {
    expect(requireSafeInteger(LARGEST, 'amount')).toBe(LARGEST);
    expect(requireSafeInteger(BigInt(-LARGEST), 'amount')).toBe(-LARGEST);
    expect(requireSafeInteger('-42', 'amount')).toBe(-42);
    expect(Object.is(requireSafeInteger('-0', 'amount'), 0)).toBe(true);
  });

  test('refuses anything it cannot hold exactly, naming the column', () => {
    for (const value of [2 ** 53, 2n ** 53n + 1n, '9007199254740993', 1.5, '1.5', '', null, undefined, Number.NaN]) {
      expect(() => requireSafeInteger(value, 'lots.remaining')).toThrow('lots.remaining must be a safe integer');
    }
  });
});

describe('booleans', () => {
  test('0 and 1 are the only encodings, both ways', () => {
    expect([toBool(0), toBool(1)]).toEqual([false, true]);
    expect([fromBool(false), fromBool(true)]).toEqual([0, 1]);
    expect(() => toBool(2)).toThrow('a boolean column holds 0 or 1');
  });
});

describe('instants', () => {
  test('epoch milliseconds become the same Date and back', () => {
    const paidAt = new Date('2025-03-01T08:30:00.123Z');
    expect(toDate(fromDate(paidAt))).toEqual(paidAt);
    expect(toDateOrNull(null)).toBeNull();
  });

  test('an invalid Date is not written', () => {
    expect(() => fromDate(new Date('not a date'))).toThrow('an instant must be a valid date');
  });
});

describe('JSON columns', () => {
  test('a value survives the text column', () => {
    const items = [{ sku: 'tea', amount: 1999, quantity: 2 }];
    expect(parseJson(stringifyJson(items))).toEqual(items);
  });

  test('undefined is not a JSON value', () => {
    expect(() => stringifyJson(undefined)).toThrow('a JSON column needs a JSON value');
  });
});
