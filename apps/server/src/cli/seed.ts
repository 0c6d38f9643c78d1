import { type Ledger, type MerchantCredentials, createMerchant, getMerchant, normalizeOrigin, orderCompleted, orderPaid, upsertTemplate } from '@jifen/api';
import type { DemoShopper } from '../demo-routes';

/**
 * The demo merchant `npm start` shows (SPEC §8): a classic program, a small coupon catalogue, three
 * shoppers with a few months of completed orders. Seeding happens only into an empty database, so
 * running it again never duplicates anything and never touches a real merchant's data.
 */

export const DEMO_MERCHANT_ID = 'demo';
/** Where the demo storefront runs in development (Vite) and where `npm start` serves it. */
export const DEMO_ORIGINS = ['http://localhost:5173', 'http://127.0.0.1:5173', 'http://localhost:8787', 'http://127.0.0.1:8787'];

/** The shoppers the demo sign-in offers (demo-routes.ts): the ones with an order history below. */
export const DEMO_SHOPPERS: readonly DemoShopper[] = [
  { shopperId: 'alice', name: { 'zh-CN': '爱丽丝（银卡会员，有积分即将过期）', en: 'Alice (Silver, points expiring soon)' } },
  { shopperId: 'bob', name: { 'zh-CN': '鲍勃（普通会员）', en: 'Bob (Member)' } },
  { shopperId: 'carol', name: { 'zh-CN': '卡罗尔（金卡会员）', en: 'Carol (Gold)' } },
];

const DAY_MS = 86_400_000;

const templates = [
  {
    id: 'five-off',
    name: { 'zh-CN': '满 50 减 5 元', en: '¥5 off ¥50' },
    discount: { kind: 'fixed', amountOff: 500 },
    pointsCost: 500,
    minSpend: 5000,
    validityDays: 30,
    stock: 1000,
    perShopperLimit: 5,
    isCancellable: true,
  },
  {
    id: 'ten-percent',
    name: { 'zh-CN': '九折券（最高减 20 元）', en: '10% off (up to ¥20)' },
    discount: { kind: 'percent', rateOff: 0.1, amountOffMax: 2000 },
    pointsCost: 1200,
    minSpend: 10000,
    validityDays: 14,
    stock: 200,
    perShopperLimit: 2,
  },
  {
    id: 'free-shipping',
    name: { 'zh-CN': '包邮券', en: 'Free shipping' },
    discount: { kind: 'freeShipping', amountOffMax: 1500 },
    pointsCost: 300,
    validityDays: 30,
  },
];

// [shopper, order amount in fen, days ago, category]. Alice's oldest points (12-month rolling expiry)
// lapse within the banner's 30-day window, so the demo shows the expiry banner.
const history: Array<[string, number, number, string]> = [
  ['alice', 128_000, 350, 'home'],
  ['alice', 45_900, 60, 'food'],
  ['alice', 219_900, 21, 'electronics'],
  ['bob', 9_900, 45, 'food'],
  ['bob', 36_800, 10, 'books'],
  ['carol', 560_000, 200, 'furniture'],
  ['carol', 18_800, 3, 'food'],
];

export interface SeedResult {
  credentials: MerchantCredentials;
  templates: number;
  shoppers: number;
  orders: number;
}

/** Seeds the demo into an empty database; null (and nothing written) when any merchant exists. */
export async function seedDemo(ledger: Ledger): Promise<SeedResult | null> {
  const existing = await ledger.db.selectFrom('merchants').select('id').limit(1).executeTakeFirst();
  if (existing) return null;
  const credentials = await createMerchant(ledger, {
    merchantId: DEMO_MERCHANT_ID,
    name: '积分 Demo Shop',
    storefrontOrigins: DEMO_ORIGINS,
    program: { earning: { campaigns: [{ id: 'friday-double', multiplier: 2, weekdays: [5] }] } },
  });
  for (const template of templates) await upsertTemplate(ledger, { merchantId: DEMO_MERCHANT_ID, template });
  const now = ledger.now().getTime();
  let orders = 0;
  for (const [shopperId, amount, daysAgo, category] of history) {
    orders += 1;
    const orderId = `demo-${1000 + orders}`;
    const paidAt = new Date(now - daysAgo * DAY_MS);
    await orderPaid(ledger, {
      merchantId: DEMO_MERCHANT_ID,
      orderId,
      shopperId,
      amount,
      currency: 'CNY',
      items: [{ sku: `${category}-${orders}`, category, amount }],
      paidAt,
    });
    // Delivered two days after payment, as a real shop would confirm it.
    if (daysAgo > 2) await orderCompleted(ledger, { merchantId: DEMO_MERCHANT_ID, orderId, completedAt: new Date(paidAt.getTime() + 2 * DAY_MS) });
  }
  return { credentials, templates: templates.length, shoppers: new Set(history.map(([shopperId]) => shopperId)).size, orders };
}

/**
 * Adds the origins the server is reached at to the demo merchant's storefront origins: browsers send
 * `Origin` on same-origin POSTs too, so the demo shop on another port would otherwise be refused.
 * Only ever the demo merchant; does nothing when it does not exist.
 */
export async function allowDemoOrigins(ledger: Ledger, origins: readonly string[]): Promise<string[]> {
  const merchant = await getMerchant(ledger.db, DEMO_MERCHANT_ID);
  if (!merchant) return [];
  const known = new Set(merchant.storefrontOrigins.map(normalizeOrigin));
  const added = [...new Set(origins.map(normalizeOrigin).filter((origin): origin is string => origin !== null && !known.has(origin)))];
  if (added.length === 0) return [];
  await ledger.write((tx) =>
    tx.db
      .updateTable('merchants')
      .set({ storefront_origins: JSON.stringify([...merchant.storefrontOrigins, ...added]) })
      .where('id', '=', DEMO_MERCHANT_ID)
      .execute(),
  );
  return added;
}
