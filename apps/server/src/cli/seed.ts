import { type Ledger, type MerchantCredentials, createMerchant, orderCompleted, orderPaid, upsertTemplate } from '@jifen/api';

/**
 * The demo merchant `npm start` shows (SPEC §8): a classic program, a small coupon catalogue, three
 * shoppers with a few months of completed orders. Seeding happens only into an empty database, so
 * running it again never duplicates anything and never touches a real merchant's data.
 */

export const DEMO_MERCHANT_ID = 'demo';
/** Where the demo storefront runs in development (Vite) and where `npm start` serves it. */
export const DEMO_ORIGINS = ['http://localhost:5173', 'http://127.0.0.1:5173', 'http://localhost:8787', 'http://127.0.0.1:8787'];

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

// [shopper, order amount in fen, days ago, category]
const history: Array<[string, number, number, string]> = [
  ['alice', 128_000, 120, 'home'],
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
