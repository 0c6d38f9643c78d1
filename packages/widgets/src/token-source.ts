/**
 * Where a widget's shopper token comes from (SPEC §5, §6): a token the page hands over as a
 * property (a secret is never an attribute), or the merchant's own token endpoint, which answers
 * `{ token, expiresAt }` like `merchant.shoppers.token` for the signed-in shopper. Endpoint tokens
 * are cached until shortly before they expire, and one request serves every widget asking at once.
 */

export interface TokenSourceOptions {
  /** The token itself, or a function that reads the current one (an element's `token` property). */
  token?: string | (() => string | null | undefined) | null;
  /** The merchant's endpoint answering `{ token, expiresAt? }` as JSON. */
  tokenEndpoint?: string | null;
  fetch?: typeof fetch;
  /** The clock, for the cache; tests pass their own. */
  now?: () => number;
}

export interface TokenSource {
  get(): Promise<string>;
  /** Forgets a cached endpoint token (after the server said it is not valid). */
  invalidate(): void;
  /** Whether a fresh token can be fetched, so a refused call is worth one retry. */
  readonly isRenewable: boolean;
}

/** Renew this long before the token's own expiry, for clock skew and the request's flight time. */
const RENEW_BEFORE_MS = 30_000;

export class MissingTokenError extends Error {
  constructor() {
    super('jifen: no shopper token: set the `token` property or the `token-endpoint` attribute');
    this.name = 'MissingTokenError';
  }
}

export function createTokenSource(options: TokenSourceOptions): TokenSource {
  const now = options.now ?? (() => Date.now());
  let cached: { token: string; renewAt: number } | null = null;
  let inFlight: Promise<string> | null = null;

  const given = () => (typeof options.token === 'function' ? options.token() : options.token) ?? null;

  async function fetchToken(endpoint: string): Promise<string> {
    const fetcher = options.fetch ?? globalThis.fetch.bind(globalThis);
    // The endpoint is the merchant's own, behind the shopper's session cookie.
    const response = await fetcher(endpoint, { credentials: 'include', headers: { accept: 'application/json' } });
    if (!response.ok) throw new Error(`jifen: the token endpoint answered ${response.status}`);
    const body = (await response.json()) as { token?: unknown; expiresAt?: unknown };
    if (typeof body.token !== 'string' || body.token.length === 0) throw new Error('jifen: the token endpoint answered without a `token`');
    const expiresAt = typeof body.expiresAt === 'string' ? Date.parse(body.expiresAt) : Number.NaN;
    cached = { token: body.token, renewAt: Number.isNaN(expiresAt) ? Number.POSITIVE_INFINITY : expiresAt - RENEW_BEFORE_MS };
    return body.token;
  }

  return {
    get isRenewable() {
      return given() === null && Boolean(options.tokenEndpoint);
    },
    async get() {
      const token = given();
      if (token) return token;
      const endpoint = options.tokenEndpoint;
      if (!endpoint) throw new MissingTokenError();
      if (cached && now() < cached.renewAt) return cached.token;
      inFlight ??= fetchToken(endpoint).finally(() => {
        inFlight = null;
      });
      return inFlight;
    },
    invalidate() {
      cached = null;
    },
  };
}
