import type { Locale } from './messages';

/**
 * The demo shop's goods. Their categories are the ones the seeded order history uses
 * (apps/server/src/cli/seed.ts), so a merchant's category rules (excluded categories, pool shares)
 * apply to them as to the seeded orders. Prices in fen.
 */

export interface Product {
  sku: string;
  category: 'food' | 'home' | 'electronics' | 'books' | 'furniture';
  priceMinor: number;
  name: Record<Locale, string>;
  description: Record<Locale, string>;
  /** A picture without an image file: one emoji, decorative. */
  symbol: string;
}

export const PRODUCTS: readonly Product[] = [
  {
    sku: 'tea-longjing-100g',
    category: 'food',
    priceMinor: 9_800,
    name: { 'zh-CN': '明前龙井 100 克', en: 'Longjing green tea, 100 g' },
    description: { 'zh-CN': '西湖产区，清明前采摘。', en: 'West Lake, picked before Qingming.' },
    symbol: '🍵',
  },
  {
    sku: 'mug-celadon',
    category: 'home',
    priceMinor: 3_000,
    name: { 'zh-CN': '青瓷马克杯', en: 'Celadon mug' },
    description: { 'zh-CN': '龙泉窑，350 毫升。', en: 'Longquan kiln, 350 ml.' },
    symbol: '☕',
  },
  {
    sku: 'mooncake-gift-box',
    category: 'food',
    priceMinor: 16_800,
    name: { 'zh-CN': '流心奶黄月饼礼盒', en: 'Custard mooncake gift box' },
    description: { 'zh-CN': '八枚装。', en: 'Box of eight.' },
    symbol: '🥮',
  },
  {
    sku: 'book-three-body',
    category: 'books',
    priceMinor: 6_800,
    name: { 'zh-CN': '《三体》全集', en: 'The Three-Body Problem trilogy' },
    description: { 'zh-CN': '刘慈欣著，三册。', en: 'By Liu Cixin, three volumes.' },
    symbol: '📚',
  },
  {
    sku: 'earbuds-anc',
    category: 'electronics',
    priceMinor: 39_900,
    name: { 'zh-CN': '无线降噪耳机', en: 'Noise-cancelling earbuds' },
    description: { 'zh-CN': '续航 30 小时。', en: '30 hours of battery.' },
    symbol: '🎧',
  },
  {
    sku: 'lamp-bamboo',
    category: 'furniture',
    priceMinor: 25_900,
    name: { 'zh-CN': '竹编台灯', en: 'Woven bamboo desk lamp' },
    description: { 'zh-CN': '手工编织，暖光。', en: 'Hand-woven, warm light.' },
    symbol: '🪔',
  },
];

export function productBySku(sku: string): Product | undefined {
  return PRODUCTS.find((product) => product.sku === sku);
}
