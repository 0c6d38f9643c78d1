import type { PaidOrder } from './demo-backend';

/** The order just paid, shown once on "My points" (kept for the tab, so a reload still shows it). */
const STORAGE_KEY = 'jifen-demo-receipt';

export function keepReceipt(order: PaidOrder): void {
  sessionStorage.setItem(STORAGE_KEY, JSON.stringify(order));
}

export function lastReceipt(): PaidOrder | null {
  try {
    return JSON.parse(sessionStorage.getItem(STORAGE_KEY) ?? 'null') as PaidOrder | null;
  } catch {
    return null;
  }
}
