import { JifenError } from '@jifen/api';
import { type AnyTRPCProcedure, type AnyTRPCRouter, TRPCError, getTRPCErrorFromUnknown, getTRPCErrorShape } from '@trpc/server';

/**
 * tRPC's wire format without tRPC's fetch-API request path (issue 4 "Benchmarks"). The stock Node
 * adapters turn every `IncomingMessage` into an undici `Request`, combine abort signals with
 * `AbortSignal.any` and stream the response body back — about 300 µs a call on Node 20, almost all
 * of the cost of a quote. This handler keeps tRPC's routers, procedures, middleware, error
 * formatter and JSON envelope, and calls the procedure directly, as `createCaller` does:
 *
 * - `POST /trpc/<path>` with the input as the JSON body, for mutations and queries alike (SPEC §5
 *   method override); `GET /trpc/<path>?input=<JSON>` for queries;
 * - batches as @trpc/client's `httpBatchLink` sends them: `/trpc/a,b?batch=1` with
 *   `{"0": inputA, "1": inputB}` as `?input=` or body, answered with an array in the same order;
 * - `{ result: { data } }` or `{ error: { message, code, data } }`, the status of the one call, or
 *   207 when a batch's calls end differently — exactly what `resolveResponse` sends.
 *
 * The HTTP server owns sockets, headers, body limits and CORS; this module owns the envelope.
 */

export interface TrpcRequest {
  method: 'GET' | 'POST';
  /** What follows `/trpc/` in the URL path, still URL-encoded. */
  path: string;
  query: URLSearchParams;
  /** The POST body as text ('' when empty); null for GET. */
  body: string | null;
}

export interface TrpcCall {
  /** The procedure path, or null when it names none (so metrics keep a bounded label set). */
  procedure: string | null;
  status: number;
  /** `OK` or tRPC's error code. */
  code: string;
  /** Set for failures of the server itself (status ≥ 500), for the log. */
  error: TRPCError | null;
}

export interface TrpcResponse {
  status: number;
  /** The JSON envelope, serialized. */
  body: string;
  /** `Allow` for a 405 (a GET to a mutation). */
  allow: string | null;
  calls: TrpcCall[];
}

export interface TrpcHandlerOptions<Router extends AnyTRPCRouter> {
  router: Router;
  /** Calls one batch may carry; more is a 400 (each call costs a transaction). */
  batchCallsMax?: number;
}

type Context<Router extends AnyTRPCRouter> = Router['_def']['_config']['$types']['ctx'];

interface Envelope {
  json: string;
  call: TrpcCall;
}

export function createTrpcHandler<Router extends AnyTRPCRouter>(options: TrpcHandlerOptions<Router>) {
  const { router } = options;
  const batchCallsMax = options.batchCallsMax ?? 20;
  const config = router._def._config;
  const procedures = router._def.procedures as Record<string, AnyTRPCProcedure>;

  function procedureAt(path: string): AnyTRPCProcedure | null {
    // Own keys only: `constructor` or `__proto__` must not reach Object.prototype.
    return Object.hasOwn(procedures, path) ? procedures[path]! : null;
  }

  function errorEnvelope(cause: unknown, ctx: Context<Router>, path: string | undefined, type: 'query' | 'mutation' | 'unknown', input: unknown): Envelope {
    const error = getTRPCErrorFromUnknown(cause);
    const shape = getTRPCErrorShape({ config, error, type, path, input, ctx }) as { data: { httpStatus: number; code: string } };
    const status = shape.data.httpStatus;
    const procedure = path !== undefined && procedureAt(path) ? path : null;
    return {
      json: JSON.stringify({ error: shape }),
      call: { procedure, status, code: shape.data.code, error: status >= 500 ? error : null },
    };
  }

  /** The whole request failed before any procedure ran: one error, not an array, as tRPC answers. */
  function requestFailed(cause: unknown, ctx: Context<Router>): TrpcResponse {
    const envelope = errorEnvelope(cause, ctx, undefined, 'unknown', undefined);
    return { status: envelope.call.status, body: envelope.json, allow: null, calls: [envelope.call] };
  }

  async function call(method: 'GET' | 'POST', path: string, input: unknown, ctx: Context<Router>, batchIndex: number): Promise<Envelope & { allow: string | null }> {
    const procedure = procedureAt(path);
    if (procedure === null) {
      return { ...errorEnvelope(new TRPCError({ code: 'NOT_FOUND', message: `No procedure found on path "${path}"` }), ctx, path, 'unknown', input), allow: null };
    }
    const type = procedure._def.type;
    if (type === 'subscription') {
      const refusal = new TRPCError({ code: 'METHOD_NOT_SUPPORTED', message: `"${path}" is a subscription; jifen serves none over HTTP` });
      return { ...errorEnvelope(refusal, ctx, path, 'unknown', input), allow: null };
    }
    // A GET must never write; a POST reaches queries too (SPEC §5 method override).
    if (method === 'GET' && type === 'mutation') {
      const refusal = new TRPCError({ code: 'METHOD_NOT_SUPPORTED', message: `Unsupported GET-request to mutation procedure at path "${path}"` });
      return { ...errorEnvelope(refusal, ctx, path, type, input), allow: 'POST' };
    }
    try {
      const data: unknown = await runProcedure(procedure, { path, getRawInput: () => Promise.resolve(input), ctx, type, signal: undefined, batchIndex });
      return { json: JSON.stringify({ result: { data } }), call: { procedure: path, status: 200, code: 'OK', error: null }, allow: null };
    } catch (cause) {
      return { ...errorEnvelope(cause, ctx, path, type, input), allow: null };
    }
  }

  return async function handleTrpc(request: TrpcRequest, ctx: Context<Router>): Promise<TrpcResponse> {
    const isBatch = request.query.get('batch') === '1';
    let paths: string[];
    let inputs: unknown[];
    try {
      paths = (isBatch ? request.path.split(',') : [request.path]).map(decodePath);
      if (paths.length > batchCallsMax) {
        throw new JifenError('INVALID_INPUT', { detail: `a batch may carry at most ${batchCallsMax} calls` }, 'batch');
      }
      inputs = splitInputs(parseInput(request), paths.length, isBatch);
    } catch (cause) {
      return requestFailed(cause, ctx);
    }

    if (!isBatch) {
      const outcome = await call(request.method, paths[0]!, inputs[0], ctx, 0);
      return { status: outcome.call.status, body: outcome.json, allow: outcome.allow, calls: [outcome.call] };
    }
    const outcomes = await Promise.all(paths.map((path, index) => call(request.method, path, inputs[index], ctx, index)));
    const statuses = new Set(outcomes.map((outcome) => outcome.call.status));
    return {
      status: statuses.size === 1 ? outcomes[0]!.call.status : 207,
      body: `[${outcomes.map((outcome) => outcome.json).join(',')}]`,
      allow: outcomes.find((outcome) => outcome.allow !== null)?.allow ?? null,
      calls: outcomes.map((outcome) => outcome.call),
    };
  };
}

/** What a tRPC middleware resolves to (tRPC's `MiddlewareResult`). */
type MiddlewareResult = { ok: true; data: unknown } | { ok: false; error: TRPCError };
type Middleware = (opts: MiddlewareOptions & { meta: unknown; next: (next?: NextOptions) => Promise<MiddlewareResult> }) => Promise<MiddlewareResult>;
interface MiddlewareOptions {
  path: string;
  type: 'query' | 'mutation' | 'subscription';
  ctx: unknown;
  input?: unknown;
  getRawInput: () => Promise<unknown>;
  signal: AbortSignal | undefined;
  batchIndex: number;
}
interface NextOptions {
  ctx?: object;
  input?: unknown;
  getRawInput?: () => Promise<unknown>;
}

/**
 * Calls a procedure as calling it directly does (tRPC 11's `createProcedureCaller` and
 * `callRecursive`: each middleware gets the options, `meta` and a `next` that merges the context
 * and input it is given; a throw anywhere becomes a failed result), with each middleware's options
 * written out field by field. tRPC's bundle spreads through a helper that defines properties one
 * at a time, and copies the options twice and the context once per middleware: ~10 µs of a
 * shopper quote's ~80 µs; native spreads of the options cost a few % of a quote more than the
 * fields written out (docs/performance.md). A procedure with its own `experimental_caller` is
 * called as it is.
 */
function runProcedure(procedure: AnyTRPCProcedure, opts: MiddlewareOptions): Promise<unknown> {
  const def = procedure._def as unknown as { middlewares?: Middleware[]; meta?: unknown; caller?: unknown };
  if (def.caller || !Array.isArray(def.middlewares)) return procedure(opts);
  const { middlewares, meta } = def;
  // Each middleware gets a fresh object, as tRPC gives them, written out field by field (one shape,
  // no spread of the options: a quote passes through several middlewares).
  const callFrom = async (index: number, options: MiddlewareOptions): Promise<MiddlewareResult> => {
    try {
      return await middlewares[index]!({
        path: options.path,
        type: options.type,
        ctx: options.ctx,
        input: options.input,
        getRawInput: options.getRawInput,
        signal: options.signal,
        batchIndex: options.batchIndex,
        meta,
        next: (next) =>
          callFrom(index + 1, {
            path: options.path,
            type: options.type,
            ctx: next?.ctx ? { ...(options.ctx as object), ...next.ctx } : options.ctx,
            input: next && 'input' in next ? next.input : options.input,
            getRawInput: next?.getRawInput ?? options.getRawInput,
            signal: options.signal,
            batchIndex: options.batchIndex,
          }),
      });
    } catch (cause) {
      return { ok: false, error: getTRPCErrorFromUnknown(cause) };
    }
  };
  return callFrom(0, opts).then((result) => {
    if (!(result as MiddlewareResult | undefined)) {
      throw new TRPCError({ code: 'INTERNAL_SERVER_ERROR', message: 'No result from middlewares - did you forget to `return next()`?' });
    }
    if (!result.ok) throw result.error;
    return result.data;
  });
}

function decodePath(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    throw new JifenError('INVALID_INPUT', { detail: 'the procedure path is not valid URL-encoding' }, 'path');
  }
}

function parseInput(request: TrpcRequest): unknown {
  const [text, param] = request.method === 'GET' ? [request.query.get('input'), 'input'] : [request.body, 'body'];
  if (text === null || text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // The parser's own message quotes the input back; a fixed sentence says enough.
    throw new JifenError('INVALID_INPUT', { detail: `is not valid JSON${param === 'input' ? ' (URL-encode the JSON in ?input=)' : ''}` }, param);
  }
}

function splitInputs(input: unknown, count: number, isBatch: boolean): unknown[] {
  if (!isBatch) return [input];
  if (input === undefined) return Array.from({ length: count }, () => undefined);
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new JifenError('INVALID_INPUT', { detail: 'a batch input must be an object keyed by call index: {"0": …, "1": …}' }, 'input');
  }
  const byIndex = input as Record<string, unknown>;
  return Array.from({ length: count }, (_, index) => (Object.hasOwn(byIndex, String(index)) ? byIndex[String(index)] : undefined));
}
