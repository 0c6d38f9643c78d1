import { describe, expect, test } from 'vitest';
import { isRetryableTransactionError, isUniqueViolation } from './database-errors';

const withCode = (code: string) => Object.assign(new Error('driver error'), { code });

describe('isRetryableTransactionError', () => {
  test('serialization failures, deadlocks and SQLite busy are retryable', () => {
    for (const code of ['40001', '40P01', 'SQLITE_BUSY', 'SQLITE_BUSY_SNAPSHOT']) {
      expect(isRetryableTransactionError(withCode(code))).toBe(true);
    }
  });

  test('constraint violations and errors without a code are not', () => {
    for (const error of [withCode('23505'), withCode('SQLITE_CONSTRAINT_UNIQUE'), new Error('x'), 'busy', null]) {
      expect(isRetryableTransactionError(error)).toBe(false);
    }
  });

  test('a driver error kept as the cause of a service error is still recognised', () => {
    expect(isRetryableTransactionError(new Error('reserve failed', { cause: withCode('40001') }))).toBe(true);
  });
});

describe('isUniqueViolation', () => {
  test('Postgres 23505 and SQLite primary-key and unique collisions are unique violations', () => {
    for (const code of ['23505', 'SQLITE_CONSTRAINT_PRIMARYKEY', 'SQLITE_CONSTRAINT_UNIQUE']) {
      expect(isUniqueViolation(withCode(code))).toBe(true);
    }
  });

  test('other constraint failures are not', () => {
    for (const code of ['23502', '23514', 'SQLITE_CONSTRAINT_NOTNULL', 'SQLITE_CONSTRAINT_CHECK', 'SQLITE_BUSY']) {
      expect(isUniqueViolation(withCode(code))).toBe(false);
    }
  });
});
