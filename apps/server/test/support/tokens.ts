import { createHmac } from 'node:crypto';
import { SignJWT, generateKeyPair } from 'jose';

/** Shopper tokens built by hand, honest and hostile, for the authentication suites. */

export interface Claims {
  iss?: unknown;
  sub?: unknown;
  aud?: unknown;
  iat?: unknown;
  exp?: unknown;
  [claim: string]: unknown;
}

const encoder = new TextEncoder();

export function base64url(value: string | Uint8Array): string {
  return Buffer.from(typeof value === 'string' ? encoder.encode(value) : value).toString('base64url');
}

/** Claims a merchant backend would sign for `shopperId` at `now`, living `ttlSeconds`. */
export function honestClaims(merchantId: string, shopperId: string, now: Date, ttlSeconds = 900): Claims {
  const iat = Math.floor(now.getTime() / 1000);
  return { iss: merchantId, sub: shopperId, aud: 'jifen:shopper', iat, exp: iat + ttlSeconds };
}

/** Signs `claims` as they are (no defaults filled in) with an HMAC algorithm. */
export function signHmac(claims: Claims, secret: string, alg: 'HS256' | 'HS384' | 'HS512' = 'HS256', header: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT(claims as Record<string, unknown>).setProtectedHeader({ ...header, alg }).sign(encoder.encode(secret));
}

/** Signs with a freshly generated asymmetric key: a different algorithm family altogether. */
export async function signAsymmetric(claims: Claims, alg: 'RS256' | 'ES256'): Promise<string> {
  const { privateKey } = await generateKeyPair(alg);
  return new SignJWT(claims as Record<string, unknown>).setProtectedHeader({ alg }).sign(privateKey);
}

/** An unsecured JWT (`alg: none`) with the given signature part (empty by the spec). */
export function unsigned(claims: Claims, signature = ''): string {
  return `${base64url(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${base64url(JSON.stringify(claims))}.${signature}`;
}

/** The token with its payload swapped for `claims`, keeping the original header and signature. */
export function withPayload(token: string, claims: Claims): string {
  const [header, , signature] = token.split('.');
  return `${header}.${base64url(JSON.stringify(claims))}.${signature}`;
}

/** HS256 over any header, including ones jose refuses to produce (`crit`, `b64`). */
export function signRawHs256(header: Record<string, unknown>, claims: Claims, secret: string): string {
  const signingInput = `${base64url(JSON.stringify({ ...header, alg: 'HS256' }))}.${base64url(JSON.stringify(claims))}`;
  return `${signingInput}.${createHmac('sha256', secret).update(signingInput).digest('base64url')}`;
}
