import type { AppRouter } from '@jifen/api';
import { type TRPCClient, TRPCClientError, createTRPCClient, httpBatchLink, retryLink } from '@trpc/client';
import type { Locale } from './i18n';
import { type TokenSourceOptions, createTokenSource } from './token-source';

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
}

/** Queries travel as GET; a long cart (items) goes in another batch rather than past proxies' URL limits. */
const URL_LENGTH_MAX = 4_000;

export function createJifenClient(options: JifenClientOptions): JifenClient {
  const tokens = createTokenSource(options);
  return createTRPCClient<AppRouter>({
    links: [
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
        url: `${options.apiBase.replace(/\/+$/, '')}/trpc`,
        maxURLLength: URL_LENGTH_MAX,
        ...(options.fetch ? { fetch: options.fetch } : {}),
        headers: async () => ({
          authorization: `Bearer ${await tokens.get()}`,
          ...(options.locale ? { 'accept-language': options.locale } : {}),
        }),
      }),
    ],
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
