import { useSyncExternalStore } from 'react';
import { type Product, productBySku } from './products';

/**
 * The shopper's cart, kept in localStorage so a reload keeps it. Amounts are whole fen: a line is
 * price × quantity, the cart amount their sum (no shipping in the demo), and the lines go to jifen
 * as the order's items so category rules apply per line.
 */

export interface CartLine {
  product: Product;
  quantity: number;
  amountMinor: number;
}

export interface Cart {
  lines: CartLine[];
  amountMinor: number;
  count: number;
}

const STORAGE_KEY = 'jifen-demo-cart';
const QUANTITY_MAX = 99;
const listeners = new Set<() => void>();

function readQuantities(): Record<string, number> {
  try {
    const parsed: unknown = JSON.parse(localStorage.getItem(STORAGE_KEY) ?? '{}');
    if (typeof parsed !== 'object' || parsed === null) return {};
    return Object.fromEntries(
      Object.entries(parsed).filter(([sku, quantity]) => productBySku(sku) !== undefined && Number.isInteger(quantity) && quantity > 0 && quantity <= QUANTITY_MAX),
    ) as Record<string, number>;
  } catch {
    return {};
  }
}

let quantities = readQuantities();
let snapshot = toCart(quantities);

function toCart(from: Record<string, number>): Cart {
  const lines = Object.entries(from).flatMap(([sku, quantity]) => {
    const product = productBySku(sku);
    return product ? [{ product, quantity, amountMinor: product.priceMinor * quantity }] : [];
  });
  return { lines, amountMinor: lines.reduce((sum, line) => sum + line.amountMinor, 0), count: lines.reduce((sum, line) => sum + line.quantity, 0) };
}

function save(next: Record<string, number>): void {
  quantities = next;
  snapshot = toCart(next);
  localStorage.setItem(STORAGE_KEY, JSON.stringify(next));
  for (const listener of listeners) listener();
}

export function addToCart(sku: string): void {
  save({ ...quantities, [sku]: Math.min(QUANTITY_MAX, (quantities[sku] ?? 0) + 1) });
}

export function setQuantity(sku: string, quantity: number): void {
  const next = { ...quantities };
  if (quantity <= 0) delete next[sku];
  else next[sku] = Math.min(QUANTITY_MAX, Math.floor(quantity));
  save(next);
}

export function clearCart(): void {
  save({});
}

export function useCart(): Cart {
  return useSyncExternalStore(
    (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    () => snapshot,
  );
}

/** The cart's lines as jifen's order items (`{ sku, category, amount, quantity }`, amounts in fen). */
export function orderItems(cart: Cart) {
  return cart.lines.map((line) => ({ sku: line.product.sku, category: line.product.category, amount: line.amountMinor, quantity: line.quantity }));
}
