import { TRPCError, initTRPC } from '@trpc/server';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import { TRPC_ERROR_CODES_BY_KEY, type TRPC_ERROR_CODE_KEY } from '@trpc/server/rpc';
import { OutOfRangeError } from '@jifen/rules';
import type { z } from 'zod';
import { authenticateMerchant, bearerCredential, verifyShopperToken } from './auth';
import { JifenError, type MessageLocale, renderMessage } from './errors';
import type { Ledger } from './ledger';
import { describeInputIssue } from './schemas';

/**
 * tRPC's one root (SPEC §5): plain JSON (no data transformer, so any HTTP client can call it), the
 * request context, the merchant and shopper procedures, and the one error formatter (STYLE.md
 * "Errors say what happened, once").
 */

/** Counters the HTTP server exports on `/metrics`; procedures bump them after a committed write. */
export interface ApiMetrics {
  eventIngested(kind: string): void;
  pointsIssued(points: number, source: string): void;
  pointsRedeemed(points: number, use: string): void;
  pointsExpired(points: number): void;
  holdOutcome(outcome: 'held' | 'captured' | 'released' | 'expired', count?: number): void;
}

export const noMetrics: ApiMetrics = {
  eventIngested: () => undefined,
  pointsIssued: () => undefined,
  pointsRedeemed: () => undefined,
  pointsExpired: () => undefined,
  holdOutcome: () => undefined,
};

export type RateDecision = { ok: true } | { ok: false; retryAfterSeconds: number };

/** What lives as long as the server: the ledger and the server's counters and limits. */
export interface ApiServices {
  ledger: Ledger;
  metrics: ApiMetrics;
  /** Takes one request from the caller's allowance (key: merchant id + shopper id); null: unlimited. */
  limitShopper: ((key: string) => RateDecision) | null;
}

/** Set by procedures, read by the HTTP layer when it writes the response headers. */
export interface ResponseHints {
  /** The `Origin` a shopper procedure accepted for its merchant: echoed as `Access-Control-Allow-Origin`. */
  allowOrigin: string | null;
  retryAfterSeconds: number | null;
}

export interface RequestContext extends ApiServices {
  requestId: string;
  locale: MessageLocale;
  /** The raw `Authorization` header. */
  authorization: string | null;
  /** The raw `Origin` header (a browser sends one on cross-origin calls; `null` is a real value). */
  origin: string | null;
  response: ResponseHints;
}

export interface RequestHeaders {
  requestId: string;
  authorization?: string | null | undefined;
  origin?: string | null | undefined;
  acceptLanguage?: string | null | undefined;
}

export function createRequestContext(services: ApiServices, request: RequestHeaders): RequestContext {
  // Field by field rather than `...services`: built on every request, and tRPC copies it again per middleware.
  return {
    ledger: services.ledger,
    metrics: services.metrics,
    limitShopper: services.limitShopper,
    requestId: request.requestId,
    locale: localeFor(request.acceptLanguage),
    authorization: request.authorization ?? null,
    origin: request.origin ?? null,
    response: { allowOrigin: null, retryAfterSeconds: null },
  };
}

/** `zh-CN` when the caller prefers any Chinese over English, else `en` (the two catalogues shipped). */
export function localeFor(acceptLanguage: string | null | undefined): MessageLocale {
  if (!acceptLanguage) return 'en';
  let best: { locale: MessageLocale; quality: number } | null = null;
  for (const part of acceptLanguage.split(',', 20)) {
    const [tag = '', ...parameters] = part.trim().toLowerCase().split(';');
    const qualityText = parameters.find((parameter) => parameter.trim().startsWith('q='))?.trim().slice(2);
    const quality = qualityText === undefined ? 1 : Number(qualityText);
    const locale: MessageLocale | null = tag.startsWith('zh') ? 'zh-CN' : tag.startsWith('en') || tag === '*' ? 'en' : null;
    if (locale && Number.isFinite(quality) && quality > 0 && (best === null || quality > best.quality)) best = { locale, quality };
  }
  return best?.locale ?? 'en';
}

/** `data` of every error jifen answers with: tRPC's `code` and `httpStatus`, plus the domain's triple. */
export interface JifenErrorData {
  code: TRPC_ERROR_CODE_KEY;
  httpStatus: number;
  path?: string;
  /** The stable domain code: `INSUFFICIENT_POINTS`, `INVALID_INPUT`, `UNAUTHORIZED`, … */
  reason: string;
  /** The offending input field (dotted path), or null. */
  param: string | null;
  /** The figures behind a refusal (`{ available, requested }`). */
  facts: Record<string, unknown>;
}

export interface JifenErrorShape {
  message: string;
  code: (typeof TRPC_ERROR_CODES_BY_KEY)[TRPC_ERROR_CODE_KEY];
  data: JifenErrorData;
}

/** tRPC's own status for a code, so jifen and the stock adapters can never disagree. */
function httpStatusOf(code: TRPC_ERROR_CODE_KEY): number {
  return getHTTPStatusCodeFromError(new TRPCError({ code }));
}

/** Builds the error shape for any failure; exported so the HTTP layer and tests share it. */
export function formatError(error: TRPCError, ctx: RequestContext | undefined, path: string | undefined, defaultHttpStatus: number): JifenErrorShape {
  const locale = ctx?.locale ?? 'en';
  const cause = error.cause;
  const shape = (code: TRPC_ERROR_CODE_KEY, httpStatus: number, message: string, reason: string, param: string | null, facts: Record<string, unknown>): JifenErrorShape => ({
    message,
    code: TRPC_ERROR_CODES_BY_KEY[code],
    data: { code, httpStatus, ...(path === undefined ? {} : { path }), reason, param, facts },
  });

  // A figure the request's amounts reach under its program that no number holds exactly: the
  // request's doing, refused as such (its transaction has rolled back), not an internal error.
  const refusal = cause instanceof OutOfRangeError ? new JifenError('AMOUNT_OUT_OF_RANGE') : cause;
  if (refusal instanceof JifenError) {
    const category = refusal.category;
    return shape(category, httpStatusOf(category), renderMessage(refusal.reason, refusal.facts, refusal.param, locale), refusal.reason, refusal.param ?? null, refusal.facts);
  }
  const issues = issuesOf(cause);
  if (error.code === 'BAD_REQUEST' && issues !== null && issues.length > 0) {
    const refusal = describeInputIssue(issues[0]!, locale);
    return shape('BAD_REQUEST', httpStatusOf('BAD_REQUEST'), refusal.message, 'INVALID_INPUT', refusal.param, { issues: issues.length });
  }
  if (error.code === 'INTERNAL_SERVER_ERROR') {
    // Never a stack, an SQL statement or a driver message: those stay in the server's log.
    const requestId = ctx?.requestId ?? null;
    const message =
      locale === 'zh-CN'
        ? `服务器内部错误（请求编号 ${requestId ?? '未知'}），请稍后重试`
        : `internal error (request id ${requestId ?? 'unknown'}); the request may be retried`;
    return shape('INTERNAL_SERVER_ERROR', httpStatusOf('INTERNAL_SERVER_ERROR'), message, 'INTERNAL', null, { requestId });
  }
  // tRPC's own refusals (no such procedure, GET to a mutation): its code and message, as they are.
  return shape(error.code, defaultHttpStatus, error.message, error.code, null, {});
}

function issuesOf(cause: unknown): z.core.$ZodIssue[] | null {
  if (typeof cause === 'object' && cause !== null && 'issues' in cause && Array.isArray(cause.issues)) return cause.issues as z.core.$ZodIssue[];
  return null;
}

const t = initTRPC.context<RequestContext>().create({
  // `isDev` would put stack traces into error responses; jifen never does.
  isDev: false,
  errorFormatter: ({ error, ctx, path, shape }) => formatError(error, ctx, path, shape.data.httpStatus),
});

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;
export const publicProcedure = t.procedure;

/** Merchant procedures: `Authorization: Bearer <API key>`; the merchant is the key's. */
export const merchantProcedure = t.procedure.use(async ({ ctx, next }) => {
  const apiKey = bearerCredential(ctx.authorization, 'API key');
  const merchantId = await authenticateMerchant(ctx.ledger.db, apiKey);
  return next({ ctx: { merchantId } });
});

/**
 * Shopper procedures: `Authorization: Bearer <shopper token>`. The merchant and the shopper come
 * from the verified token, never from the input; a browser call must come from one of that
 * merchant's storefront origins, and each shopper has a request allowance.
 */
export const shopperProcedure = t.procedure.use(async ({ ctx, next }) => {
  const token = bearerCredential(ctx.authorization, 'shopper token');
  const identity = await verifyShopperToken(ctx.ledger.db, token, ctx.ledger.now());
  if (ctx.origin !== null) {
    if (!isAllowedOrigin(ctx.origin, identity.merchant.storefrontOrigins)) {
      throw new JifenError('FORBIDDEN', { origin: ctx.origin }, 'origin');
    }
    ctx.response.allowOrigin = ctx.origin;
  }
  if (ctx.limitShopper) {
    const decision = ctx.limitShopper(`${identity.merchantId}\u0000${identity.shopperId}`);
    if (!decision.ok) {
      ctx.response.retryAfterSeconds = Math.max(ctx.response.retryAfterSeconds ?? 0, decision.retryAfterSeconds);
      throw new JifenError('RATE_LIMITED', { retryAfterSeconds: decision.retryAfterSeconds });
    }
  }
  return next({ ctx: { merchantId: identity.merchantId, shopperId: identity.shopperId } });
});

/**
 * Whether a browser `Origin` is one of the merchant's storefront origins. Configured origins are
 * compared in their serialized form (`https://shop.example`, no path, default port dropped);
 * `Origin: null` (sandboxed frames, `file:`) is never allowed.
 */
export function isAllowedOrigin(origin: string, allowed: readonly string[]): boolean {
  if (origin === 'null') return false;
  return allowed.some((candidate) => normalizeOrigin(candidate) === origin);
}

export function normalizeOrigin(value: string): string | null {
  try {
    const origin = new URL(value).origin;
    return origin === 'null' ? null : origin;
  } catch {
    return null;
  }
}

