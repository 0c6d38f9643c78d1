/**
 * The demo merchant's backend, served by `jifen start` (apps/server/src/demo-routes.ts): who is
 * signed in, signing in as a demo shopper, and paying an order. A real shop has these routes on its
 * own server; the shopper token endpoint the widgets use is `GET /demo/token`.
 */

export const TOKEN_ENDPOINT = '/demo/token';

export interface DemoShopper {
  shopperId: string;
  name: { 'zh-CN': string; en: string };
}

export interface DemoSession {
  shopperId: string | null;
  shoppers: DemoShopper[];
  canPay: boolean;
}

export interface OrderLineInput {
  sku: string;
  category: string;
  amount: number;
  quantity: number;
}

export interface PaidOrder {
  orderId: string;
  amount: number;
  cashPaid: number;
  captured: { holdId: string; points: number; value: number } | null;
  earned: { points: number; status: string; availableAt: number | null };
}

export class DemoBackendError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'DemoBackendError';
  }
}

async function call<T>(path: string, init: RequestInit = {}): Promise<T> {
  const response = await fetch(path, {
    ...init,
    credentials: 'same-origin',
    headers: { accept: 'application/json', 'accept-language': document.documentElement.lang, ...(init.body ? { 'content-type': 'application/json' } : {}) },
  });
  const body = (await response.json().catch(() => null)) as { error?: { message?: string } } | null;
  if (!response.ok) throw new DemoBackendError(body?.error?.message ?? `${path} answered ${response.status}`, response.status);
  return body as T;
}

/** The session, or null when this server has no demo backend (`jifen serve` rather than `jifen start`). */
export async function readSession(): Promise<DemoSession | null> {
  try {
    return await call<DemoSession>('/demo/session');
  } catch (error) {
    if (error instanceof DemoBackendError && error.status === 404) return null;
    throw error;
  }
}

export function signIn(shopperId: string): Promise<{ token: string; expiresAt: string }> {
  return call(TOKEN_ENDPOINT, { method: 'POST', body: JSON.stringify({ shopperId }) });
}

export function signOut(): Promise<unknown> {
  return call('/demo/sign-out', { method: 'POST' });
}

export function payOrder(order: { shopperId: string; cartAmount: number; items: OrderLineInput[]; holdId: string | null }): Promise<PaidOrder> {
  return call('/demo/pay', { method: 'POST', body: JSON.stringify(order) });
}
