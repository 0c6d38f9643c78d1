import { createHash, randomBytes } from 'node:crypto';

/**
 * The canonical encoding hashed by the journal chain and by idempotency records: JSON with object keys
 * sorted, `undefined` fields dropped, integers only (a float or a bigint here is a bug, so it throws).
 * Two payloads that mean the same encode to the same bytes, whatever order their keys arrived in.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(canonicalize(value));
}

function canonicalize(value: unknown): unknown {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new Error('jifen invariant: canonical values are safe integers');
    return value;
  }
  if (Array.isArray(value)) return value.map((item) => (item === undefined ? null : canonicalize(item)));
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return Object.fromEntries(entries.map(([key, item]) => [key, canonicalize(item)]));
  }
  throw new Error(`jifen invariant: cannot encode a ${typeof value} canonically`);
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** An unguessable URL-safe id (128 bits by default) for lots, holds, outbox rows and coupon codes. */
export function randomId(bytes = 16): string {
  return randomBytes(bytes).toString('base64url');
}

/** The first top-level field whose canonical value differs between two requests (for CONFLICT messages). */
export function firstDifferentField(a: Record<string, unknown>, b: Record<string, unknown>): string | undefined {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return keys.find((key) => canonicalJson(a[key] ?? null) !== canonicalJson(b[key] ?? null));
}
