/**
 * An unguessable id for idempotency keys and checkout attempts. `crypto.randomUUID` exists only in
 * secure contexts (https, localhost); a shop tried over plain http on a LAN address still gets 122
 * random bits from `getRandomValues`, which every browser offers everywhere.
 */
export function randomId(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
}
