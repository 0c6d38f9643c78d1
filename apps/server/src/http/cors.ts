import { type Ledger, normalizeOrigin } from '@jifen/api';

/**
 * Which browser origins may call which procedures (issue 4 "CORS restricted to each merchant's
 * configured storefront origins").
 *
 * - Shopper procedures: the origin must be one of the token's merchant's `storefront_origins`. The
 *   shopper middleware checks it on every call (a call from any other origin is refused before it
 *   runs) and tells this layer to echo the origin back.
 * - A preflight carries no token, so it cannot know the merchant: it is allowed for an origin that
 *   some merchant lists. The real call is still checked against the token's own merchant.
 * - Merchant procedures: API keys belong on servers, so only the configured console origins.
 * - `Origin: null` and every other origin get no allow header at all.
 */

export const ALLOWED_METHODS = 'GET, POST, OPTIONS';
export const ALLOWED_HEADERS = 'authorization, content-type, accept-language, x-request-id, trpc-accept';
// `date`: the widgets time a hold by jifen's clock, not the shopper's (widgets client.ts `serverNow`).
export const EXPOSED_HEADERS = 'x-request-id, retry-after, date';
const PREFLIGHT_MAX_AGE_SECONDS = 600;
const STOREFRONT_CACHE_MS = 10_000;

export interface CorsPolicy {
  /** Headers for an OPTIONS preflight of `procedures` from `origin` (empty: not allowed). */
  preflight(origin: string, procedures: readonly string[]): Promise<Record<string, string>>;
  /** Whether a merchant-procedure call from `origin` may be read by the page. */
  isConsoleOrigin(origin: string): boolean;
}

export function createCorsPolicy(ledger: Ledger, consoleOrigins: readonly string[]): CorsPolicy {
  const consoles = new Set(consoleOrigins.map(normalizeOrigin).filter((origin): origin is string => origin !== null));
  let storefronts: { origins: Set<string>; readAt: number } | null = null;

  async function storefrontOrigins(): Promise<Set<string>> {
    const now = performance.now();
    if (storefronts && now - storefronts.readAt < STOREFRONT_CACHE_MS) return storefronts.origins;
    const rows = await ledger.db.selectFrom('merchants').select('storefront_origins').execute();
    const origins = new Set<string>();
    for (const row of rows) {
      for (const configured of JSON.parse(row.storefront_origins) as string[]) {
        const origin = normalizeOrigin(configured);
        if (origin) origins.add(origin);
      }
    }
    storefronts = { origins, readAt: now };
    return origins;
  }

  return {
    async preflight(origin, procedures): Promise<Record<string, string>> {
      if (origin === 'null' || procedures.length === 0) return {};
      const isShopper = procedures.every((path) => path.startsWith('shopper.'));
      const isMerchant = procedures.every((path) => path.startsWith('merchant.'));
      const allowed = (isShopper && (await storefrontOrigins()).has(origin)) || (isMerchant && consoles.has(origin));
      if (!allowed) return {};
      return {
        'access-control-allow-origin': origin,
        'access-control-allow-methods': ALLOWED_METHODS,
        'access-control-allow-headers': ALLOWED_HEADERS,
        'access-control-max-age': String(PREFLIGHT_MAX_AGE_SECONDS),
      };
    },
    isConsoleOrigin: (origin) => consoles.has(origin),
  };
}
