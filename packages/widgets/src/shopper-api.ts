import type { JifenClient } from './client';

/**
 * The shopper procedures' outputs the widgets read (SPEC §5, Appendix A), as the router declares
 * them: inferred from `AppRouter`, so a change on the server fails the widgets' typecheck.
 */

type Shopper = JifenClient['shopper'];

/**
 * `shopper.me`. The merchant's currency, time zone and valuation are read when the server sends
 * them; until then the element attributes (`currency`, `time-zone`) and the pool history stand in.
 */
export type ShopperMe = Awaited<ReturnType<Shopper['me']['query']>> & {
  currency?: string;
  timeZone?: string;
  valuation?: 'fixed' | 'pool';
};
export type CheckoutQuote = Awaited<ReturnType<Shopper['checkout']['quote']['query']>>;
export type Hold = Awaited<ReturnType<Shopper['checkout']['reserve']['mutate']>>;
export type CatalogEntry = Awaited<ReturnType<Shopper['coupons']['catalog']['query']>>[number];
export type CouponDiscount = CatalogEntry['discount'];
export type Coupon = Awaited<ReturnType<Shopper['coupons']['mine']['query']>>[number];
export type PoolPricePoint = Awaited<ReturnType<Shopper['pool']['history']['query']>>[number];
/** A cart line as `shopper.checkout.quote` takes it. */
export type OrderLine = NonNullable<Parameters<Shopper['checkout']['quote']['query']>[0]['items']>[number];

/** One day of `shopper.expiry.upcoming`: the rules' `ExpiryGroup` with its instant as epoch ms. */
export interface ExpiryGroup {
  date: string;
  expiresAt: number;
  points: number;
}

/**
 * `shopper.expiry` as the router declares it. While the router does not have it yet, the SPEC §5
 * procedure as the widgets expect it; once it lands its own type takes over, and any difference
 * fails the typecheck here rather than in a shopper's browser.
 */
export type ShopperExpiry = Shopper extends { expiry: infer Expiry } ? Expiry : { upcoming: { query: () => Promise<ExpiryGroup[]> } };
export type UpcomingExpiries = Awaited<ReturnType<ShopperExpiry['upcoming']['query']>>;

export function shopperExpiry(client: JifenClient): ShopperExpiry {
  // tRPC's client is a proxy over procedure paths: `shopper.expiry` exists at run time either way.
  return (client.shopper as unknown as { expiry: ShopperExpiry }).expiry;
}
