import { assert } from '@jifen/rules';

/**
 * The one place rows become domain values and back. Both engines already hand every 64-bit integer
 * back as a number (`create-db.ts` refuses any beyond ±(2^53 − 1)); `requireSafeInteger` states the
 * same guarantee where a service turns a column into `Minor` or `PointUnits`, and accepts the
 * bigint or digit text a raw query may produce.
 */

export function requireSafeInteger(value: unknown, column: string): number {
  const number =
    typeof value === 'number' ? value
    : typeof value === 'bigint' ? Number(value)
    : typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value)
    : Number.NaN;
  // Any integer beyond ±(2^53 − 1) converts to a number outside that range, so the check is exact.
  assert(Number.isSafeInteger(number), `${column} must be a safe integer`);
  return number === 0 ? 0 : number;
}

/** Booleans are integer 0/1 in both dialects; anything else is a corrupt row. */
export function toBool(flag: number): boolean {
  assert(flag === 0 || flag === 1, 'a boolean column holds 0 or 1');
  return flag === 1;
}

export function fromBool(value: boolean): 0 | 1 {
  return value ? 1 : 0;
}

/** Instants are stored as epoch milliseconds. */
export function toDate(epochMs: number): Date {
  return new Date(requireSafeInteger(epochMs, 'an instant'));
}

export function toDateOrNull(epochMs: number | null): Date | null {
  return epochMs === null ? null : toDate(epochMs);
}

export function fromDate(date: Date): number {
  const epochMs = date.getTime();
  assert(Number.isSafeInteger(epochMs), 'an instant must be a valid date');
  return epochMs;
}

export function fromDateOrNull(date: Date | null): number | null {
  return date === null ? null : fromDate(date);
}

/** JSON columns are text; the caller validates the parsed shape (zod) where it matters. */
export function parseJson(text: string): unknown {
  return JSON.parse(text);
}

export function stringifyJson(value: unknown): string {
  const text = JSON.stringify(value) as string | undefined;
  assert(typeof text === 'string', 'a JSON column needs a JSON value');
  return text;
}
