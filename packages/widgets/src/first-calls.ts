import type { OrderLine } from './shopper-api';

/**
 * What each widget asks jifen for before it can show its figures, read from its element's
 * attributes. The script-tag loader starts these calls while the widget code is still loading
 * (early-start.ts), and the widgets ask with the same inputs (these helpers), so the answers the
 * loader fetched are the ones they get. A call the two disagree on is not an error: the widget
 * just asks jifen itself.
 */

export type FirstCallKind = 'points-checkout' | 'coupon-exchange' | 'expiry-banner';

export interface FirstCall {
  /** The procedure, e.g. `shopper.me`. */
  path: string;
  /** Its input as the widget passes it; undefined for none. */
  input: unknown;
}

/** Queries travel as GET; a longer batch is split (or left to its own request) rather than sent past proxies' URL limits. */
export const URL_LENGTH_MAX = 4_000;

/** jifen's tRPC endpoint under an API base (`''` for the page's own origin). */
export function trpcUrl(apiBase: string): string {
  return `${apiBase.replace(/\/+$/, '')}/trpc`;
}

/** The pool price points the expiry banner asks for (a fixed-value program answers none). */
export const POOL_HISTORY_LIMIT = 30;

/** A whole number ≥ 0 from an attribute, or null when it is missing or not one. */
export function wholeNumber(value: string | null): number | null {
  if (value === null || !/^\s*\d+\s*$/.test(value)) return null;
  const number = Number(value);
  return Number.isSafeInteger(number) ? number : null;
}

/** The `items` attribute: null when absent or empty, `'invalid'` when it is not a JSON list. */
export function parseItems(text: string | null): OrderLine[] | null | 'invalid' {
  if (text === null || text.trim() === '') return null;
  try {
    const parsed: unknown = JSON.parse(text);
    if (Array.isArray(parsed)) return parsed as OrderLine[];
  } catch {
    // Not JSON: the same answer as any other shape that is not a list.
  }
  return 'invalid';
}

/** `shopper.checkout.quote`'s input for a cart, as the checkout widget asks it. */
export function cartInput(cartAmount: number, items: OrderLine[] | null | undefined, couponCode: string | null | undefined) {
  return { cartAmount, ...(items ? { items } : {}), ...(couponCode ? { couponCode } : {}) };
}

/** The calls a widget makes on its first render, from its element's attributes. */
export function firstCalls(kind: FirstCallKind, element: Element): FirstCall[] {
  const me: FirstCall = { path: 'shopper.me', input: undefined };
  switch (kind) {
    case 'points-checkout': {
      const cartAmount = wholeNumber(element.getAttribute('cart-amount'));
      if (cartAmount === null) return [];
      const items = parseItems(element.getAttribute('items'));
      return [me, { path: 'shopper.checkout.quote', input: cartInput(cartAmount, items === 'invalid' ? null : items, element.getAttribute('coupon-code')) }];
    }
    case 'coupon-exchange':
      return [me, { path: 'shopper.coupons.catalog', input: undefined }, { path: 'shopper.coupons.mine', input: undefined }];
    case 'expiry-banner':
      return [me, { path: 'shopper.pool.history', input: { limit: POOL_HISTORY_LIMIT } }];
  }
}

/** One key per procedure and input, whatever order the input's fields were written in. */
export function callKey(path: string, input: unknown): string {
  return `${path}\u0000${input === undefined ? '' : JSON.stringify(input, (_, value: unknown) => (isPlainObject(value) ? sortedCopy(value) : value))}`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function sortedCopy(value: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.keys(value).sort().map((key) => [key, value[key]]));
}
