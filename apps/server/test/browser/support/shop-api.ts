/**
 * What the browser suite asks jifen directly, to check what the pages showed against the ledger:
 * a shopper's figures and journal through the shopper API (a token from the demo backend, as the
 * widgets get it), the merchant's view with the demo API key.
 */

export interface ShopperFigures {
  balance: { available: number; pending: number; held: number };
  expiring: { date: string; points: number } | null;
}

export interface JournalEntry {
  seq: number;
  kind: string;
  points: number;
  ref: string;
  detail: Record<string, unknown>;
}

async function call<T>(url: string, procedure: string, authorization: string, input?: unknown): Promise<T> {
  const response = await fetch(`${url}/trpc/${procedure}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${authorization}`, 'content-type': 'application/json' },
    body: input === undefined ? '' : JSON.stringify(input),
  });
  const body = (await response.json()) as { result?: { data: T }; error?: { message: string } };
  if (!response.ok || !body.result) throw new Error(`${procedure} answered ${response.status}: ${body.error?.message ?? 'no result'}`);
  return body.result.data;
}

export interface ShopApi {
  me(): Promise<ShopperFigures>;
  activity(): Promise<JournalEntry[]>;
  coupons(): Promise<Array<{ code: string; templateId: string; status: string }>>;
  merchantView(): Promise<{ balance: { available: number; pending: number; held: number } }>;
}

export async function shopApi(url: string, apiKey: string, shopperId: string): Promise<ShopApi> {
  const answer = await fetch(`${url}/demo/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ shopperId }) });
  const { token } = (await answer.json()) as { token: string };
  return {
    me: () => call(url, 'shopper.me', token),
    activity: async () => (await call<{ entries: JournalEntry[] }>(url, 'shopper.activity', token, { limit: 100 })).entries,
    coupons: () => call(url, 'shopper.coupons.mine', token),
    merchantView: () => call(url, 'merchant.shoppers.get', apiKey, { shopperId }),
  };
}
