/**
 * Driver errors the ledger reacts to, recognised by their stable codes on both engines rather than
 * by message text. A service wrapping a driver error keeps it as `cause`; the chain is followed.
 */

/** Worth retrying the whole transaction (a bounded number of times): Postgres serialization failure
 * (40001) or deadlock (40P01); SQLite busy past its timeout (SQLITE_BUSY and its extended codes). */
export function isRetryableTransactionError(error: unknown): boolean {
  return errorCodes(error).some(
    (code) => code === '40001' || code === '40P01' || code === 'SQLITE_BUSY' || code.startsWith('SQLITE_BUSY_'),
  );
}

/** A primary-key or unique-index collision: the row already exists, which makes an insert idempotent. */
export function isUniqueViolation(error: unknown): boolean {
  return errorCodes(error).some(
    (code) => code === '23505' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE',
  );
}

const CAUSE_DEPTH_MAX = 8;

function errorCodes(error: unknown): string[] {
  const codes: string[] = [];
  let current = error;
  for (let depth = 0; depth < CAUSE_DEPTH_MAX && typeof current === 'object' && current !== null; depth += 1) {
    const { code, cause } = current as { code?: unknown; cause?: unknown };
    if (typeof code === 'string') codes.push(code);
    current = cause;
  }
  return codes;
}
