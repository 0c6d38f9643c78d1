import { webcrypto } from 'node:crypto';
import type { Database } from '@jifen/db';
import { SignJWT, decodeJwt, decodeProtectedHeader, errors as joseErrors, jwtVerify } from 'jose';
import type { Kysely } from 'kysely';
import { JifenError } from './errors';
import { type MerchantSettings, getMerchant, merchantForApiKey } from './merchants';
import { mapsPerDatabase } from './per-database';

/**
 * Who is calling (SPEC §5, issue 4 "Authentication and isolation").
 *
 * - Merchant backends send their API key; it is looked up by its hash (`merchants.ts`) on every
 *   call, so a revoked key stops working at once on every replica.
 * - Shoppers send a short-lived JWT signed (HS256) with their merchant's widget secret. The
 *   merchant comes from the token's `iss` — never from the input — and the token is then verified
 *   with THAT merchant's secret, so a token signed by merchant A can only ever name A's shoppers.
 *
 * A shopper token: header `{ alg: 'HS256' }`, claims `iss` = merchant id, `sub` = shopper id,
 * `aud` = `jifen:shopper`, `iat`, `exp` (at most 60 minutes after `iat`). The HMAC key is the UTF-8
 * bytes of the widget secret string.
 */

export const SHOPPER_TOKEN_AUDIENCE = 'jifen:shopper';
export const SHOPPER_TOKEN_ALGORITHM = 'HS256';
export const SHOPPER_TOKEN_TTL_SECONDS_DEFAULT = 15 * 60;
export const SHOPPER_TOKEN_TTL_SECONDS_MAX = 60 * 60;
/** A real token is ~300 bytes; anything near this is an attack on the parser, refused unread. */
export const SHOPPER_TOKEN_LENGTH_MAX = 2048;
/** Skew tolerated between the merchant backend's clock (which signs) and jifen's (which verifies). */
export const SHOPPER_TOKEN_CLOCK_TOLERANCE_SECONDS = 30;
/** Merchant and shopper ids, as the id schemas bound them. */
const ID_PATTERN = /^[\x21-\x7e]{1,128}$/;
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

export interface ShopperToken {
  token: string;
  /** ISO 8601 instant. */
  expiresAt: string;
}

export interface MintShopperTokenInput {
  merchantId: string;
  shopperId: string;
  widgetSecret: string;
  now: Date;
  ttlSeconds?: number;
}

/** Signs a shopper token, for backends that prefer not to sign themselves (`merchant.shoppers.token`). */
export async function mintShopperToken(input: MintShopperTokenInput): Promise<ShopperToken> {
  const ttlSeconds = input.ttlSeconds ?? SHOPPER_TOKEN_TTL_SECONDS_DEFAULT;
  if (!Number.isSafeInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > SHOPPER_TOKEN_TTL_SECONDS_MAX) {
    throw new JifenError('INVALID_INPUT', { detail: `must be a whole number of seconds between 1 and ${SHOPPER_TOKEN_TTL_SECONDS_MAX}` }, 'ttlSeconds');
  }
  const issuedAt = Math.floor(input.now.getTime() / 1000);
  const expiresAt = issuedAt + ttlSeconds;
  const token = await new SignJWT({})
    .setProtectedHeader({ alg: SHOPPER_TOKEN_ALGORITHM, typ: 'JWT' })
    .setIssuer(input.merchantId)
    .setSubject(input.shopperId)
    .setAudience(SHOPPER_TOKEN_AUDIENCE)
    .setIssuedAt(issuedAt)
    .setExpirationTime(expiresAt)
    .sign(secretKey(input.widgetSecret));
  return { token, expiresAt: new Date(expiresAt * 1000).toISOString() };
}

/** `merchant.shoppers.token`: a token for one of the merchant's shoppers, signed with its widget secret. */
export async function issueShopperToken(
  db: Kysely<Database>,
  input: { merchantId: string; shopperId: string; ttlSeconds?: number | undefined; now: Date },
): Promise<ShopperToken> {
  const merchant = await getMerchant(db, input.merchantId);
  if (!merchant) throw new JifenError('NOT_FOUND', { what: 'merchant' }, 'merchantId');
  return mintShopperToken({
    merchantId: merchant.merchantId,
    shopperId: input.shopperId,
    widgetSecret: merchant.widgetSecret,
    now: input.now,
    ...(input.ttlSeconds === undefined ? {} : { ttlSeconds: input.ttlSeconds }),
  });
}

export interface ShopperIdentity {
  merchantId: string;
  shopperId: string;
  /** The merchant's settings, read while verifying (the CORS check needs its storefront origins). */
  merchant: MerchantSettings;
}

/**
 * Verifies a shopper token at `now` and returns whose it is. Every failure is one UNAUTHORIZED
 * naming what is wrong with the token; an unknown merchant reads like a bad signature, so a token
 * cannot probe which merchant ids exist.
 */
export async function verifyShopperToken(db: Kysely<Database>, token: string, now: Date): Promise<ShopperIdentity> {
  if (token.length > SHOPPER_TOKEN_LENGTH_MAX) throw unauthorized(`the shopper token is longer than ${SHOPPER_TOKEN_LENGTH_MAX} characters`);
  // A token in the cache passed every check below when it was stored, the pattern included.
  const verified = verifiedTokens(db);
  const known = verified.get(token);
  if (known !== undefined && isWithinLifetime(known, now)) {
    if (performance.now() - known.merchantReadAt < MERCHANT_RECHECK_MS) {
      return { merchantId: known.merchantId, shopperId: known.shopperId, merchant: known.merchant };
    }
    const merchant = await getMerchant(db, known.merchantId);
    if (merchant !== null && merchant.widgetSecret === known.merchant.widgetSecret) {
      known.merchant = merchant;
      known.merchantReadAt = performance.now();
      return { merchantId: merchant.merchantId, shopperId: known.shopperId, merchant };
    }
  }
  // Expired, or the merchant's secret changed: verify afresh, which says precisely why it fails.
  if (known !== undefined) verified.delete(token);
  if (!COMPACT_JWS.test(token)) throw unauthorized('the shopper token is not a signed JWT (header.payload.signature)');
  let issuer: unknown;
  try {
    const header = decodeProtectedHeader(token);
    if (header.alg !== SHOPPER_TOKEN_ALGORITHM) throw unauthorized(`the shopper token must be signed with ${SHOPPER_TOKEN_ALGORITHM}`);
    issuer = decodeJwt(token).iss;
  } catch (error) {
    if (error instanceof JifenError) throw error;
    throw unauthorized('the shopper token cannot be decoded');
  }
  if (typeof issuer !== 'string' || !ID_PATTERN.test(issuer)) throw unauthorized('the shopper token has no valid "iss" claim (the merchant id)');
  const merchant = await getMerchant(db, issuer);
  if (!merchant) throw badSignature();

  let claims;
  try {
    ({ payload: claims } = await jwtVerify(token, await verificationKey(merchant.widgetSecret), {
      algorithms: [SHOPPER_TOKEN_ALGORITHM],
      issuer: merchant.merchantId,
      audience: SHOPPER_TOKEN_AUDIENCE,
      requiredClaims: ['iss', 'sub', 'aud', 'iat', 'exp'],
      maxTokenAge: SHOPPER_TOKEN_TTL_SECONDS_MAX,
      clockTolerance: SHOPPER_TOKEN_CLOCK_TOLERANCE_SECONDS,
      currentDate: now,
    }));
  } catch (error) {
    throw unauthorized(describeJoseFailure(error));
  }
  const { sub, iat, exp } = claims;
  if (typeof sub !== 'string' || !ID_PATTERN.test(sub)) throw unauthorized('the shopper token\'s "sub" claim must be a shopper id of 1 to 128 visible ASCII characters');
  // jose has checked both are numeric dates; the lifetime cap is ours (issue 4: never more than 60 minutes).
  if (exp! - iat! > SHOPPER_TOKEN_TTL_SECONDS_MAX) {
    throw unauthorized(`the shopper token lives longer than ${SHOPPER_TOKEN_TTL_SECONDS_MAX / 60} minutes (exp − iat)`);
  }
  verified.set(token, { merchantId: merchant.merchantId, shopperId: sub, issuedAt: iat!, expiresAt: exp!, merchant, merchantReadAt: performance.now() });
  return { merchantId: merchant.merchantId, shopperId: sub, merchant };
}

/**
 * Tokens whose signature and claims were verified, by their exact text, per database: a widget
 * sends one token for up to its whole lifetime (every quote while the slider moves), and the HMAC
 * through WebCrypto costs more than the rest of a quote's checks. A hit re-checks the lifetime
 * against `now` as jose does; any other token — one character changed — is a miss and is verified
 * in full.
 *
 * A hit also trusts the merchant settings it was verified with for MERCHANT_RECHECK_MS, then reads
 * the merchant again and drops the token if the widget secret changed. Reading the merchant on every
 * call was a fifth of a quote's cost (issue 4 "Benchmarks"); jifen itself never changes a widget
 * secret or the storefront origins after creation, so the delay applies only to an operator's edit
 * of the `merchants` row, which takes effect within a second (docs/api.md, the shopper token).
 */
interface VerifiedToken {
  merchantId: string;
  shopperId: string;
  issuedAt: number;
  expiresAt: number;
  /** The merchant as last read; its widget secret is the one that verified the token. */
  merchant: MerchantSettings;
  /** `performance.now()` when `merchant` was read. */
  merchantReadAt: number;
}

/** How long a verified token's merchant settings are trusted before they are read again. */
export const MERCHANT_RECHECK_MS = 1_000;

// Per database handle, so a token verified against one database is never taken by another.
const verifiedTokens = mapsPerDatabase<VerifiedToken>(10_000);

/** jose's `exp`, `iat` and `maxTokenAge` checks, with the same tolerance, at `now`. */
function isWithinLifetime(token: VerifiedToken, now: Date): boolean {
  const at = Math.floor(now.getTime() / 1000);
  const tolerance = SHOPPER_TOKEN_CLOCK_TOLERANCE_SECONDS;
  return token.expiresAt > at - tolerance && token.issuedAt <= at + tolerance && at - token.issuedAt - tolerance <= SHOPPER_TOKEN_TTL_SECONDS_MAX;
}

/** The merchant an API key belongs to; UNAUTHORIZED for an unknown or revoked key. */
export async function authenticateMerchant(db: Kysely<Database>, apiKey: string): Promise<string> {
  const merchantId = await merchantForApiKey(db, apiKey);
  if (merchantId === null) throw unauthorized('the API key is unknown or revoked');
  return merchantId;
}

/** The credential in `Authorization: Bearer <credential>`, or UNAUTHORIZED naming what to send. */
export function bearerCredential(authorization: string | null | undefined, expected: 'API key' | 'shopper token'): string {
  const match = authorization ? /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization) : null;
  if (!match) throw unauthorized(`send the ${expected} as "Authorization: Bearer <${expected}>"`);
  return match[1]!;
}

function describeJoseFailure(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) {
    return error.claim === 'iat' ? 'the shopper token was issued too long ago' : 'the shopper token has expired';
  }
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    if (error.reason === 'missing') return `the shopper token has no "${error.claim}" claim`;
    if (error.claim === 'iat') return 'the shopper token is issued in the future';
    if (error.claim === 'aud') return `the shopper token's "aud" claim must be "${SHOPPER_TOKEN_AUDIENCE}"`;
    return `the shopper token's "${error.claim}" claim is invalid`;
  }
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return `the shopper token must be signed with ${SHOPPER_TOKEN_ALGORITHM}`;
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return badSignature().facts.detail as string;
  return 'the shopper token is malformed';
}

function badSignature(): JifenError {
  return unauthorized('the shopper token\'s signature does not verify with its merchant\'s widget secret');
}

function unauthorized(detail: string): JifenError {
  return new JifenError('UNAUTHORIZED', { detail }, 'authorization');
}

const encoder = new TextEncoder();

// Importing raw bytes as an HMAC key costs about as much as the verification itself, on every call:
// each widget secret is imported once (a process sees few merchants; the map is bounded anyway).
const verificationKeys = new Map<string, Promise<webcrypto.CryptoKey>>();
const VERIFICATION_KEYS_MAX = 10_000;

function verificationKey(widgetSecret: string): Promise<webcrypto.CryptoKey> {
  let key = verificationKeys.get(widgetSecret);
  if (key === undefined) {
    if (verificationKeys.size >= VERIFICATION_KEYS_MAX) verificationKeys.clear();
    key = webcrypto.subtle.importKey('raw', secretKey(widgetSecret), { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
    verificationKeys.set(widgetSecret, key);
    key.catch(() => verificationKeys.delete(widgetSecret));
  }
  return key;
}

function secretKey(widgetSecret: string): Uint8Array {
  return encoder.encode(widgetSecret);
}
