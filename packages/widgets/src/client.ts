import type { AppRouter } from '@jifen/api';
import { type TRPCClient, TRPCClientError, type TRPCLink, createTRPCClient, httpBatchLink, retryLink } from '@trpc/client';
import { type Unsubscribable, observable } from '@trpc/server/observable';
import type { EarlyAnswers } from './early-start';
import { URL_LENGTH_MAX, trpcUrl } from './first-calls';
import type { Locale } from './i18n';
import { type TokenSource, type TokenSourceOptions, createTokenSource } from './token-source';

/**
 * The widgets' tRPC client (SPEC §5): plain JSON (no transformer), calls made in the same tick go
 * out as one batched request, every call carries the shopper token. The server renders its error
 * messages in the shopper's language from `Accept-Language`.
 */

export type JifenClient = TRPCClient<AppRouter>;

export interface JifenClientOptions extends TokenSourceOptions {
  /** Where jifen serves its API, e.g. `https://points.example.com`; `''` for the page's own origin. */
  apiBase: string;
  locale?: Locale;
  /** A token source shared with others (the elements' early start); else one is made from the token options. */
  tokenSource?: TokenSource;
  /** Answers to first calls already asked for (early-start.ts): a query finds its answer there before asking jifen. */
  early?: EarlyAnswers;
}

/** The early answers each client takes its first answers from (`earlyAnswer`). */
const earlyAnswersOf = new WeakMap<JifenClient, EarlyAnswers>();

/**
 * How far the shopper's clock is from jifen's, read off each answer's `Date` header. A hold's
 * `expiresAt` is the server's instant: a browser clock 20 minutes fast would otherwise see a fresh
 * 15-minute hold as already expired. The header has whole seconds, so offsets under 2 s count as 0.
 */
class ServerClock {
  #offsetMs = 0;

  observe(date: string | null): void {
    if (date === null) return;
    const server = Date.parse(date);
    if (Number.isNaN(server)) return;
    // The header truncates to the second: the answer left somewhere in the half second after it, on average.
    const offset = server + 500 - Date.now();
    this.#offsetMs = Math.abs(offset) < 2_000 ? 0 : offset;
  }

  now(): number {
    return Date.now() + this.#offsetMs;
  }
}

const clocksOf = new WeakMap<JifenClient, ServerClock>();

/** jifen's time now as the client last read it (its local time where it has read nothing). */
export function serverNow(client: JifenClient): number {
  return clocksOf.get(client)?.now() ?? Date.now();
}

export function createJifenClient(options: JifenClientOptions): JifenClient {
  const tokens = options.tokenSource ?? createTokenSource(options);
  const clock = new ServerClock();
  const observingFetch: typeof fetch = async (input, init) => {
    const response = await (options.fetch ?? globalThis.fetch)(input, init);
    clock.observe(response.headers.get('date'));
    return response;
  };
  const client = createTRPCClient<AppRouter>({
    links: [
      ...(options.early ? [earlyAnswersLink(options.early)] : []),
      // A token from the endpoint may have been revoked or expired early: fetch a fresh one once.
      // Retrying is safe: a refused token writes nothing.
      retryLink({
        retry: ({ error, attempts }) => {
          if (error.data?.code !== 'UNAUTHORIZED' || attempts > 1 || !tokens.isRenewable) return false;
          tokens.invalidate();
          return true;
        },
      }),
      httpBatchLink({
        url: trpcUrl(options.apiBase),
        maxURLLength: URL_LENGTH_MAX,
        fetch: observingFetch,
        headers: async () => ({
          authorization: `Bearer ${await tokens.get()}`,
          ...(options.locale ? { 'accept-language': options.locale } : {}),
        }),
      }),
    ],
  });
  if (options.early) earlyAnswersOf.set(client, options.early);
  clocksOf.set(client, clock);
  return client;
}

/**
 * A first call's answer that the early start already has (early-start.ts), for a widget's first
 * render: the widget then shows its figures at once instead of "loading" and a second render.
 * Undefined when there is none yet; the widget asks as usual (and may still get it from there).
 * The answer is what jifen sent for `path` and `input`, the procedure's output as the client types it.
 */
export function earlyAnswer<T>(client: JifenClient, path: string, input?: unknown): T | undefined {
  return earlyAnswersOf.get(client)?.takeArrived(path, input)?.value as T | undefined;
}

/**
 * Answers a query from the answers fetched ahead, when there is one; anything else, or an early
 * answer that failed, goes on to jifen. A mutation drops the answers not taken yet: they may no
 * longer be true.
 */
function earlyAnswersLink(early: EarlyAnswers): TRPCLink<AppRouter> {
  return () =>
    ({ op, next }) =>
      observable((observer) => {
        if (op.type === 'mutation') early.forget();
        let forwarded: Unsubscribable | null = null;
        let isClosed = false;
        const forward = () => {
          if (!isClosed) forwarded = next(op).subscribe(observer);
        };
        const answer = op.type === 'query' ? early.take(op.path, op.input) : null;
        if (answer === null) forward();
        else
          answer.then((data) => {
            if (isClosed) return;
            observer.next({ result: { type: 'data', data } });
            observer.complete();
          }, forward);
        return () => {
          isClosed = true;
          forwarded?.unsubscribe();
        };
      });
}

/** What a failed call tells the shopper: the server's message (in their language) and its domain reason. */
export interface CallFailure {
  /** The server's sentence, or null when the server was not reached (the widget says so in its own words). */
  message: string | null;
  /** The domain code (`INSUFFICIENT_POINTS`, `HOLD_NOT_ACTIVE`, …), or null when the server was not reached. */
  reason: string | null;
  facts: Record<string, unknown>;
  /** The error as thrown, for the host page's `jifen:error` listeners and logs. */
  error: unknown;
}

export function describeFailure(error: unknown): CallFailure {
  // Only an answer from jifen carries `data.reason` (its error formatter, SPEC §5); anything else
  // (offline, a proxy's HTML page, a token endpoint refusing) is "could not reach".
  const data = error instanceof TRPCClientError ? (error.data as { reason?: unknown; facts?: unknown } | undefined) : undefined;
  if (error instanceof TRPCClientError && typeof data?.reason === 'string') {
    return {
      message: error.message,
      reason: data.reason,
      facts: typeof data.facts === 'object' && data.facts !== null ? (data.facts as Record<string, unknown>) : {},
      error,
    };
  }
  return { message: null, reason: null, facts: {}, error };
}
