/**
 * A fake jifen at the network boundary: a `fetch` that answers tRPC's HTTP protocol the way the
 * real server does (batched GET queries and POST mutations, `{ result: { data } }` envelopes, errors
 * in jifen's shape with `data.reason`), so the widgets run with their real client. Tests say what
 * each procedure answers and read back what was asked.
 */

export interface FakeCall {
  path: string;
  input: unknown;
  method: string;
  headers: Headers;
}

/** A refusal as the server's error formatter shapes it (packages/api `formatError`). */
export class Refusal {
  constructor(
    readonly reason: string,
    readonly message: string,
    readonly facts: Record<string, unknown> = {},
    readonly code: keyof typeof RPC_CODES = 'UNPROCESSABLE_CONTENT',
  ) {}
}

const RPC_CODES = {
  BAD_REQUEST: [-32600, 400],
  UNAUTHORIZED: [-32001, 401],
  FORBIDDEN: [-32003, 403],
  NOT_FOUND: [-32004, 404],
  CONFLICT: [-32009, 409],
  UNPROCESSABLE_CONTENT: [-32022, 422],
  TOO_MANY_REQUESTS: [-32029, 429],
  INTERNAL_SERVER_ERROR: [-32603, 500],
} as const;

type Handler = (input: unknown, call: FakeCall) => unknown;

export interface FakeJifen {
  fetch: typeof fetch;
  /** Every procedure call, in order. */
  calls: FakeCall[];
  /** HTTP requests made to the tRPC endpoint (a batch is one). */
  requests: { url: string; method: string; headers: Headers }[];
  on(path: string, handler: Handler | unknown): FakeJifen;
  /** Makes the next answers wait until `release()` (to see loading states). */
  pause(): { release: () => void };
  callsTo(path: string): FakeCall[];
  /** Extra endpoints outside tRPC (a merchant's token endpoint). */
  route(url: string, answer: (request: Request) => Response | Promise<Response>): FakeJifen;
}

export const API_BASE = 'https://jifen.test';

/**
 * `serverNow`: jifen's own clock; when given, each answer carries it in a `Date` header, as the real
 * server's do (a test can then set the shopper's clock apart from it).
 */
export function fakeJifen(options: { serverNow?: () => number } = {}): FakeJifen {
  const handlers = new Map<string, Handler>();
  const routes = new Map<string, (request: Request) => Response | Promise<Response>>();
  const calls: FakeCall[] = [];
  const requests: FakeJifen['requests'] = [];
  let gate: Promise<void> | null = null;

  async function answer(path: string, input: unknown, call: FakeCall): Promise<unknown> {
    const handler = handlers.get(path);
    try {
      if (!handler) throw new Refusal('NOT_FOUND', `No procedure ${path} in this test`, {}, 'NOT_FOUND');
      return { result: { data: await handler(input, call) } };
    } catch (error) {
      const refusal = error instanceof Refusal ? error : new Refusal('INTERNAL', String(error), {}, 'INTERNAL_SERVER_ERROR');
      const [rpcCode, httpStatus] = RPC_CODES[refusal.code];
      return {
        error: {
          message: refusal.message,
          code: rpcCode,
          data: { code: refusal.code, httpStatus, path, reason: refusal.reason, param: null, facts: refusal.facts },
        },
      };
    }
  }

  const fetcher = async (resource: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const request = new Request(resource, init);
    const url = new URL(request.url);
    const route = routes.get(`${url.origin}${url.pathname}`) ?? routes.get(url.pathname);
    if (route) return route(request);
    if (!url.pathname.startsWith('/trpc/')) return new Response('not found', { status: 404 });
    requests.push({ url: request.url, method: request.method, headers: request.headers });
    if (gate) await gate;
    const paths = decodeURIComponent(url.pathname.slice('/trpc/'.length)).split(',');
    const inputs: Record<string, unknown> =
      request.method === 'GET' ? JSON.parse(url.searchParams.get('input') ?? '{}') : JSON.parse((await request.text()) || '{}');
    const results = await Promise.all(
      paths.map((path, index) => {
        const call: FakeCall = { path, input: inputs[String(index)], method: request.method, headers: request.headers };
        calls.push(call);
        return answer(path, call.input, call);
      }),
    );
    const statuses = results.map((result) => ((result as { error?: { data: { httpStatus: number } } }).error?.data.httpStatus ?? 200));
    const status = statuses.every((value) => value === statuses[0]) ? (statuses[0] ?? 200) : 207;
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (options.serverNow !== undefined) headers.date = new Date(options.serverNow()).toUTCString();
    return new Response(JSON.stringify(results), { status, headers });
  };

  const fake: FakeJifen = {
    fetch: fetcher as typeof fetch,
    calls,
    requests,
    on(path, handler) {
      handlers.set(path, typeof handler === 'function' ? (handler as Handler) : () => handler);
      return fake;
    },
    pause() {
      let release = () => {};
      gate = new Promise<void>((resolve) => {
        release = () => {
          gate = null;
          resolve();
        };
      });
      return { release };
    },
    callsTo(path) {
      return calls.filter((call) => call.path === path);
    },
    route(url, respond) {
      routes.set(url, respond);
      return fake;
    },
  };
  return fake;
}
