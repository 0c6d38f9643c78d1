import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { appRouter, createCallerFactory, createRequestContext, formatError, getProgram, issueShopperToken, localeFor, schemas } from '@jifen/api';
import { TRPCError } from '@trpc/server';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import type { RouteContext, RouteHandler } from './http/server';

/**
 * The demo merchant's backend (SPEC §8, issue 5 "a demo sign-in … from a small demo route, as a
 * merchant backend would"). A real shop signs its shoppers in and keeps jifen's API key on its own
 * server; under `jifen start` these routes play that part for the demo shop and `/embed.html`:
 *
 * - `GET /demo/session` — the demo shoppers to choose from and who is signed in.
 * - `POST /demo/token {shopperId}` — signs in as a demo shopper (a session cookie) and answers
 *   their shopper token `{ token, expiresAt }`, signed with the demo merchant's widget secret.
 * - `GET /demo/token` — the signed-in shopper's token: the token endpoint of docs/widgets.md.
 * - `POST /demo/sign-out` — forgets the session.
 * - `POST /demo/pay {shopperId, cartAmount, items, holdId}` — "the payment went through": calls
 *   `merchant.orders.paid` with the demo API key, which never leaves the server, capturing the hold.
 *
 * They exist only for the demo merchant, only its listed shoppers, and only when `jifen start`
 * mounts them; the session cookie is a name, not a secret — anyone may be any demo shopper.
 */

export interface DemoShopper {
  shopperId: string;
  name: { 'zh-CN': string; en: string };
}

export interface DemoOptions {
  merchantId: string;
  /** The demo merchant's API key, held here as a merchant backend holds it; null when it is not known (paying is refused). */
  apiKey: string | null;
  shoppers: readonly DemoShopper[];
}

const SESSION_COOKIE = 'jifen_demo_shopper';
const SESSION_MAX_AGE_SECONDS = 7 * 86_400;

const signInInput = schemas.ordersPaidInput.pick({ shopperId: true });
const payInput = schemas.checkoutQuoteInput.pick({ cartAmount: true, items: true }).extend({
  shopperId: schemas.ordersPaidInput.shape.shopperId,
  holdId: schemas.ordersPaidInput.shape.holdId.nullable(),
});

const createCaller = createCallerFactory(appRouter);

export function createDemoRoutes(options: DemoOptions): RouteHandler {
  const shopperIds = new Set(options.shoppers.map((shopper) => shopper.shopperId));

  async function tokenFor(context: RouteContext, shopperId: string) {
    const { ledger } = context.services;
    return issueShopperToken(ledger.db, { merchantId: options.merchantId, shopperId, now: ledger.now() });
  }

  return async (request, response, context) => {
    const { pathname } = context;
    if (!pathname.startsWith('/demo/')) return null;
    const method = request.method ?? 'GET';
    const signedIn = sessionShopper(request, shopperIds);
    const locale = localeFor(header(request, 'accept-language'));

    if (pathname === '/demo/session' && method === 'GET') {
      return answer(response, context, 200, { merchantId: options.merchantId, shopperId: signedIn, shoppers: options.shoppers, canPay: options.apiKey !== null });
    }

    if (pathname === '/demo/token' && method === 'GET') {
      if (signedIn === null) return refuse(response, context, 401, 'UNAUTHORIZED', 'sign in first: POST /demo/token {"shopperId"}');
      return answer(response, context, 200, await tokenFor(context, signedIn));
    }

    if (pathname === '/demo/sign-out' && method === 'POST') {
      return answer(response, context, 200, { shopperId: null }, { 'set-cookie': sessionCookie(null) });
    }

    if ((pathname === '/demo/token' || pathname === '/demo/pay') && method === 'POST') {
      // A JSON body: a cross-site form cannot send one, and SameSite=Lax keeps the cookie home.
      if (!String(header(request, 'content-type') ?? '').startsWith('application/json')) {
        return refuse(response, context, 415, 'UNSUPPORTED_MEDIA_TYPE', 'send the body as application/json');
      }
      const body = await context.readBody();
      if (body === null) return refuse(response, context, 413, 'PAYLOAD_TOO_LARGE', 'the body is too large');
      let json: unknown;
      try {
        json = JSON.parse(body);
      } catch {
        return refuse(response, context, 400, 'INVALID_INPUT', 'the body is not JSON');
      }

      if (pathname === '/demo/token') {
        const parsed = signInInput.safeParse(json);
        if (!parsed.success) return refuse(response, context, 400, 'INVALID_INPUT', schemas.describeInputIssue(parsed.error.issues[0]!, locale).message);
        if (!shopperIds.has(parsed.data.shopperId)) {
          return refuse(response, context, 404, 'NOT_FOUND', `shopperId: the demo shoppers are ${[...shopperIds].join(', ')}`);
        }
        return answer(response, context, 200, await tokenFor(context, parsed.data.shopperId), { 'set-cookie': sessionCookie(parsed.data.shopperId) });
      }

      const parsed = payInput.safeParse(json);
      if (!parsed.success) return refuse(response, context, 400, 'INVALID_INPUT', schemas.describeInputIssue(parsed.error.issues[0]!, locale).message);
      const { shopperId, cartAmount, items, holdId } = parsed.data;
      // The backend pays for the shopper signed in to the shop, and only for them.
      if (signedIn !== shopperId) return refuse(response, context, 403, 'FORBIDDEN', 'shopperId: pay as the signed-in demo shopper');
      if (options.apiKey === null) {
        return refuse(response, context, 503, 'UNAVAILABLE', "the demo merchant's API key is not known to this server (its demo-credentials.json is missing)");
      }
      return pay(response, context, request, { shopperId, cartAmount, items, holdId: holdId ?? null });
    }

    return null;
  };

  async function pay(
    response: ServerResponse,
    context: RouteContext,
    request: IncomingMessage,
    order: { shopperId: string; cartAmount: number; items: Array<{ sku?: string; category?: string; amount: number }> | undefined; holdId: string | null },
  ): Promise<number> {
    const ctx = createRequestContext(context.services, {
      requestId: context.requestId,
      authorization: `Bearer ${options.apiKey}`,
      acceptLanguage: header(request, 'accept-language'),
    });
    const { program } = await getProgram(context.services.ledger.db, options.merchantId);
    const orderId = `shop-${randomUUID()}`;
    try {
      const result = await createCaller(ctx).merchant.orders.paid({
        orderId,
        shopperId: order.shopperId,
        amount: order.cartAmount,
        currency: program.currency,
        ...(order.items === undefined ? {} : { items: order.items }),
        ...(order.holdId === null ? {} : { holdId: order.holdId }),
      });
      const pointsValue = result.captured?.value ?? 0;
      return answer(response, context, 200, { orderId, amount: order.cartAmount, cashPaid: order.cartAmount - pointsValue, captured: result.captured, earned: result.earned });
    } catch (error) {
      if (!(error instanceof TRPCError)) throw error;
      const shape = formatError(error, ctx, 'merchant.orders.paid', getHTTPStatusCodeFromError(error));
      return answer(response, context, shape.data.httpStatus, { error: shape });
    }
  }
}

function answer(response: ServerResponse, context: RouteContext, status: number, body: unknown, extra: Record<string, string> = {}): number {
  response.writeHead(status, { ...context.headers, ...extra, 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body));
  return status;
}

/** The server's own error shape for a refusal outside tRPC (server.ts answers a missing route the same way). */
function refuse(response: ServerResponse, context: RouteContext, status: number, reason: string, message: string): number {
  return answer(response, context, status, { error: { message, data: { httpStatus: status, reason } } });
}

function sessionCookie(shopperId: string | null): string {
  const value = shopperId === null ? '' : encodeURIComponent(shopperId);
  return `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${shopperId === null ? 0 : SESSION_MAX_AGE_SECONDS}`;
}

function sessionShopper(request: IncomingMessage, shopperIds: ReadonlySet<string>): string | null {
  for (const part of String(request.headers.cookie ?? '').split(';')) {
    const [name, ...rest] = part.trim().split('=');
    if (name !== SESSION_COOKIE) continue;
    let value: string;
    try {
      value = decodeURIComponent(rest.join('='));
    } catch {
      return null;
    }
    return shopperIds.has(value) ? value : null;
  }
  return null;
}

function header(request: IncomingMessage, name: string): string | null {
  const value = request.headers[name];
  if (value === undefined) return null;
  return Array.isArray(value) ? (value[0] ?? null) : value;
}
