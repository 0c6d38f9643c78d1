import { randomUUID } from 'node:crypto';
import { type IncomingMessage, type Server, type ServerResponse, createServer as createNodeServer } from 'node:http';
import { type ApiServices, JifenError, type Ledger, type RequestContext, appRouter, createRequestContext, formatError } from '@jifen/api';
import { TRPCError } from '@trpc/server';
import type { Logger } from '../logger';
import { ServerMetrics } from '../metrics';
import { openApiDocument } from '../openapi';
import { EXPOSED_HEADERS, createCorsPolicy } from './cors';
import { createTokenBuckets } from './rate-limit';
import { type TrpcResponse, createTrpcHandler } from './trpc-handler';

/**
 * jifen's HTTP server on plain `node:http` (SPEC §5, issue 4): `/trpc/*` through the lean tRPC
 * handler, `GET /healthz`, `GET /metrics`, and `/`. Request ids in and out, one structured log
 * line per request, a body limit, CORS, and a shutdown that lets in-flight requests finish.
 */

export interface ServerOptions {
  ledger: Ledger;
  logger: Logger;
  metrics?: ServerMetrics;
  /** Largest request body accepted; larger is a 413 before the body is read. Default 64 KiB. */
  bodyLimitBytes?: number;
  /** Per merchant + shopper allowance on shopper procedures; null turns it off. */
  shopperRate?: { ratePerSecond: number; burst: number } | null;
  /** Origins (the merchant console) allowed to call merchant procedures from a browser. */
  consoleOrigins?: readonly string[];
  /** Calls one batch may carry. Default 20. */
  batchCallsMax?: number;
  /** What `GET /` answers (HTML) when no route does; defaults to a page linking the API docs. */
  homePage?: string;
  /** Tried in order for any path the API does not serve: the demo routes, then the built files (static.ts). */
  routes?: readonly RouteHandler[];
}

/** What a route outside the API is handed besides the request and the response. */
export interface RouteContext {
  requestId: string;
  pathname: string;
  search: string;
  /** Headers every answer carries: the request id, and `connection: close` while shutting down. */
  headers: Record<string, string>;
  services: ApiServices;
  /** The body as text; null when it is over the server's body limit. */
  readBody(): Promise<string | null>;
}

/** Answers a request and resolves to the status sent, or resolves to null (nothing sent) to let the next route try. */
export type RouteHandler = (request: IncomingMessage, response: ServerResponse, context: RouteContext) => Promise<number | null>;

export interface JifenServer extends Server {
  readonly metrics: ServerMetrics;
  /** Stops accepting, lets in-flight requests finish (closing their connections), then resolves. */
  shutdown(timeoutMs?: number): Promise<void>;
}

const BODY_LIMIT_DEFAULT = 64 * 1024;
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function createServer(options: ServerOptions): JifenServer {
  const { ledger, logger } = options;
  const metrics = options.metrics ?? new ServerMetrics();
  const bodyLimitBytes = options.bodyLimitBytes ?? BODY_LIMIT_DEFAULT;
  const shopperRate = options.shopperRate === undefined ? { ratePerSecond: 20, burst: 60 } : options.shopperRate;
  const services: ApiServices = {
    ledger,
    metrics,
    limitShopper: shopperRate === null ? null : createTokenBuckets(shopperRate),
  };
  const cors = createCorsPolicy(ledger, options.consoleOrigins ?? []);
  const handleTrpc = createTrpcHandler({ router: appRouter, batchCallsMax: options.batchCallsMax ?? 20 });
  const homePage = options.homePage ?? defaultHomePage;
  const routes = options.routes ?? [];
  let isClosing = false;
  let openApi: string | undefined;

  async function serveTrpc(request: IncomingMessage, response: ServerResponse, requestId: string, path: string, search: string, startedAt: number): Promise<number> {
    const origin = header(request, 'origin');
    const headers: Record<string, string> = { 'x-request-id': requestId, vary: 'Origin', 'cache-control': 'no-store' };
    // Only CORS reads the procedure names, and only for a request that names an origin.
    const procedures = origin === null ? [] : path.split(',').map(safeDecode);

    if (request.method === 'OPTIONS') {
      Object.assign(headers, origin === null ? {} : await cors.preflight(origin, procedures));
      response.writeHead(204, headers).end();
      return 204;
    }

    const ctx = createRequestContext(services, {
      requestId,
      authorization: header(request, 'authorization'),
      origin,
      acceptLanguage: header(request, 'accept-language'),
    });
    let result: TrpcResponse;
    if (request.method !== 'GET' && request.method !== 'POST') {
      headers.allow = 'GET, POST, OPTIONS';
      result = failed(new TRPCError({ code: 'METHOD_NOT_SUPPORTED', message: `${request.method ?? 'this method'} is not served; use POST, or GET for queries` }), ctx, 405);
    } else if (request.method === 'POST') {
      const body = await readBody(request, bodyLimitBytes);
      if (body === null) {
        headers.connection = 'close';
        result = failed(new JifenError('PAYLOAD_TOO_LARGE', { limit: bodyLimitBytes }), ctx, 413);
      } else {
        result = await handleTrpc({ method: 'POST', path, query: new URLSearchParams(search), body }, ctx);
      }
    } else {
      result = await handleTrpc({ method: 'GET', path, query: new URLSearchParams(search), body: null }, ctx);
    }

    corsHeaders(headers, origin, ctx, procedures);
    if (ctx.response.retryAfterSeconds !== null) headers['retry-after'] = String(ctx.response.retryAfterSeconds);
    if (result.allow !== null) headers.allow = result.allow;
    headers['content-type'] = 'application/json';
    // A request that was in flight when shutdown began still gets its answer, on a connection that then closes.
    if (isClosing) headers.connection = 'close';
    response.writeHead(result.status, headers).end(result.body);

    const seconds = (performance.now() - startedAt) / 1000;
    for (const call of result.calls) {
      metrics.callAnswered(call.procedure ?? 'unknown', call.code, seconds);
      if (call.error) logger.error({ requestId, procedure: call.procedure, err: call.error.cause ?? call.error }, 'procedure failed');
    }
    return result.status;
  }

  /** A failure the HTTP layer itself decides (method, body size), in tRPC's single-error envelope. */
  function failed(cause: JifenError | TRPCError, ctx: RequestContext, httpStatus: number): TrpcResponse {
    const error = cause instanceof TRPCError ? cause : new TRPCError({ code: 'INTERNAL_SERVER_ERROR', cause });
    const shape = formatError(error, ctx, undefined, httpStatus);
    const status = shape.data.httpStatus;
    return { status, body: JSON.stringify({ error: shape }), allow: null, calls: [{ procedure: null, status, code: shape.data.code, error: null }] };
  }

  function corsHeaders(headers: Record<string, string>, origin: string | null, ctx: RequestContext, procedures: readonly string[]): void {
    if (origin === null || origin === 'null') return;
    const allowed = ctx.response.allowOrigin === origin || (procedures.every((path) => path.startsWith('merchant.')) && cors.isConsoleOrigin(origin));
    if (!allowed) return;
    headers['access-control-allow-origin'] = origin;
    headers['access-control-expose-headers'] = EXPOSED_HEADERS;
  }

  async function serveHealth(response: ServerResponse, headers: Record<string, string>): Promise<number> {
    if (isClosing) {
      response.writeHead(503, { ...headers, 'content-type': 'application/json' }).end(JSON.stringify({ status: 'shutting down' }));
      return 503;
    }
    try {
      // Any indexed read proves the database answers; the merchants table always exists.
      await ledger.db.selectFrom('merchants').select('id').limit(1).execute();
      response.writeHead(200, { ...headers, 'content-type': 'application/json' }).end(JSON.stringify({ status: 'ok', database: ledger.dialect }));
      return 200;
    } catch (error) {
      logger.error({ err: error }, 'health check: the database does not answer');
      response.writeHead(503, { ...headers, 'content-type': 'application/json' }).end(JSON.stringify({ status: 'database unavailable' }));
      return 503;
    }
  }

  async function route(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const startedAt = performance.now();
    const requestId = requestIdOf(request);
    const url = request.url ?? '/';
    const queryAt = url.indexOf('?');
    const pathname = queryAt === -1 ? url : url.slice(0, queryAt);
    const search = queryAt === -1 ? '' : url.slice(queryAt + 1);
    const headers: Record<string, string> = { 'x-request-id': requestId };
    if (isClosing) headers.connection = 'close';
    let status: number;
    let routed: number | null;
    try {
      if (pathname.startsWith('/trpc/')) {
        status = await serveTrpc(request, response, requestId, pathname.slice('/trpc/'.length), search, startedAt);
      } else if (pathname === '/healthz' && (request.method === 'GET' || request.method === 'HEAD')) {
        status = await serveHealth(response, headers);
      } else if (pathname === '/metrics' && request.method === 'GET') {
        const text = await metrics.render();
        response.writeHead(200, { ...headers, 'content-type': metrics.contentType() }).end(text);
        status = 200;
      } else if (pathname === '/openapi.json' && request.method === 'GET') {
        openApi ??= JSON.stringify(openApiDocument(appRouter, { serverUrl: '/' }));
        response.writeHead(200, { ...headers, 'content-type': 'application/json', 'access-control-allow-origin': '*' }).end(openApi);
        status = 200;
      } else if ((routed = await answerByRoutes(request, response, { requestId, pathname, search, headers, services, readBody: () => readBody(request, bodyLimitBytes) })) !== null) {
        status = routed;
      } else if (pathname === '/' && request.method === 'GET') {
        response.writeHead(200, { ...headers, 'content-type': 'text/html; charset=utf-8' }).end(homePage);
        status = 200;
      } else {
        response.writeHead(404, { ...headers, 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: `no route ${pathname}`, data: { httpStatus: 404 } } }));
        status = 404;
      }
    } catch (error) {
      if (error instanceof ClientGone) {
        logger.info({ requestId, path: pathname }, error.message);
        response.destroy();
        return;
      }
      logger.error({ requestId, err: error }, 'request failed');
      if (!response.headersSent) {
        const body = JSON.stringify({ error: { message: `internal error (request id ${requestId})`, code: -32603, data: { code: 'INTERNAL_SERVER_ERROR', httpStatus: 500, reason: 'INTERNAL' } } });
        response.writeHead(500, { ...headers, 'content-type': 'application/json' }).end(body);
      } else {
        response.destroy();
      }
      status = 500;
    }
    if (logger.isLevelEnabled('info')) {
      logger.info({ requestId, method: request.method, path: pathname, status, ms: Math.round((performance.now() - startedAt) * 1000) / 1000 }, 'request');
    }
  }

  async function answerByRoutes(request: IncomingMessage, response: ServerResponse, context: RouteContext): Promise<number | null> {
    for (const handler of routes) {
      const status = await handler(request, response, context);
      if (status !== null) return status;
    }
    return null;
  }

  const server = createNodeServer((request, response) => {
    void route(request, response);
  }) as JifenServer;

  Object.defineProperty(server, 'metrics', { value: metrics });
  server.shutdown = (timeoutMs = 10_000) => {
    isClosing = true;
    return new Promise<void>((resolve) => {
      const force = setTimeout(() => server.closeAllConnections(), timeoutMs);
      force.unref();
      server.close(() => {
        clearTimeout(force);
        resolve();
      });
      // Idle keep-alive sockets close now; busy ones close after their response (`connection: close`).
      server.closeIdleConnections();
    });
  };
  return server;
}

function requestIdOf(request: IncomingMessage): string {
  const given = request.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

function header(request: IncomingMessage, name: string): string | null {
  const value = request.headers[name];
  if (value === undefined) return null;
  return Array.isArray(value) ? (value[0] ?? null) : value;
}

function safeDecode(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

/**
 * The body as text, or null when it is larger than `limit` bytes. A declared length over the limit
 * is refused unread; a chunked body is cut off as soon as it passes the limit.
 */
function readBody(request: IncomingMessage, limit: number): Promise<string | null> {
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    request.resume();
    return Promise.resolve(null);
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let isOver = false;
    request.on('data', (chunk: Buffer) => {
      if (isOver) return;
      size += chunk.length;
      if (size > limit) {
        isOver = true;
        chunks.length = 0;
        resolve(null);
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => {
      if (!isOver) resolve(chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8'));
    });
    request.on('error', () => reject(new ClientGone()));
    // A client that hangs up mid-body never sends 'end'; without this the request would wait forever.
    request.on('close', () => {
      if (!request.complete) reject(new ClientGone());
    });
  });
}

/** The client closed the connection before its request body arrived: nothing to answer. */
class ClientGone extends Error {
  constructor() {
    super('the client closed the connection before sending the whole body');
  }
}

const defaultHomePage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>jifen</title></head>
<body>
<h1>jifen 积分</h1>
<p>The jifen API is running. The demo storefront is not built yet.</p>
<ul>
<li>API documentation: <code>docs/api.md</code> in the repository; the merchant API as <a href="/openapi.json">OpenAPI 3.1</a></li>
<li><a href="/healthz">/healthz</a> — health</li>
<li><a href="/metrics">/metrics</a> — Prometheus metrics</li>
</ul>
</body></html>
`;
