import { cleanup, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { expectNoSeriousViolations } from '../test/axe';
import { aCatalogEntry, aCoupon, aShopper } from '../test/builders';
import { API_BASE, type FakeJifen, Refusal, fakeJifen } from '../test/fake-jifen';
import { createJifenClient } from './client';
import { CouponExchange, type CouponExchangeProps, type CouponExchanged } from './coupon-exchange';
import type { CatalogEntry, Coupon } from './shopper-api';

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

function aShop(options: { available?: number; catalog?: CatalogEntry[]; mine?: Coupon[] } = {}): FakeJifen {
  return fakeJifen()
    .on('shopper.me', aShopper({ balance: { available: options.available ?? 5_000, pending: 0, held: 0, debt: 0 } }))
    .on('shopper.coupons.catalog', options.catalog ?? [aCatalogEntry()])
    .on('shopper.coupons.mine', options.mine ?? []);
}

function renderExchange(shop: FakeJifen, props: Partial<CouponExchangeProps> = {}) {
  const exchanged: CouponExchanged[] = [];
  const locale = props.locale === 'zh-CN' ? 'zh-CN' : 'en';
  const client = createJifenClient({ apiBase: API_BASE, token: 'shopper-token', fetch: shop.fetch, locale });
  const view = render(<CouponExchange client={client} locale={locale} onCouponExchanged={(event) => exchanged.push(event)} {...props} />);
  return { ...view, exchanged };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('CouponExchange', () => {
  it('lists each coupon with its cost, value, stock left and the shopper limit, from one batched request', async () => {
    const shop = aShop({ catalog: [aCatalogEntry({ stockLeft: 7, perShopperLimit: 2, shopperIssued: 1 })] });
    const gate = shop.pause();
    renderExchange(shop);
    expect(screen.getByRole('status').textContent).toBe('Loading…');
    gate.release();

    const item = await screen.findByRole('listitem', { name: '¥10 off coupon' });
    expect(within(item).getByText('¥10.00 off · On orders of ¥50.00 or more')).toBeTruthy();
    expect(within(item).getByText('Costs 1,000 points · 7 left · Limit 2 per shopper, you have 1 · Valid for 30 days')).toBeTruthy();
    expect(within(item).getByRole('button', { name: 'Exchange 1,000 points for ¥10 off coupon' })).toBeTruthy();
    expect(screen.getByText('You have 5,000 points.')).toBeTruthy();
    expect(shop.requests).toHaveLength(1);
  });

  it('says why a coupon cannot be taken and disables its exchange button', async () => {
    const catalog = [
      aCatalogEntry({ templateId: 'sold-out', name: { en: 'Sold out', 'zh-CN': '已兑完券' }, stockLeft: 0, reason: { code: 'OUT_OF_STOCK', stock: 20, issued: 20 } }),
      aCatalogEntry({ templateId: 'costly', name: { en: 'Costly', 'zh-CN': '高价券' }, pointsCost: 5_500, reason: { code: 'INSUFFICIENT_POINTS', available: 5_000, requested: 5_500 } }),
      aCatalogEntry({ templateId: 'limited', name: { en: 'Limited', 'zh-CN': '限兑券' }, perShopperLimit: 1, shopperIssued: 1, reason: { code: 'LIMIT_REACHED', perShopperLimit: 1, issued: 1 } }),
      aCatalogEntry({
        templateId: 'later',
        name: { en: 'Later', 'zh-CN': '未开始券' },
        activeFrom: '2026-12-01T00:00:00+08:00',
        reason: { code: 'NOT_ACTIVE', activeFrom: '2026-12-01T00:00:00+08:00', activeTo: null },
      }),
    ];
    renderExchange(aShop({ catalog }));
    const expectations: [string, string][] = [
      ['Sold out', 'Out of stock'],
      ['Costly', 'You need 500 more points'],
      ['Limited', 'You have reached the limit of 1'],
      ['Later', 'On offer from Dec 1, 2026'],
    ];
    for (const [name, reason] of expectations) {
      const item = await screen.findByRole('listitem', { name });
      const button = within(item).getByRole('button', { name: new RegExp(`for ${name}$`) }) as HTMLButtonElement;
      expect(button.disabled).toBe(true);
      expect(document.getElementById(button.getAttribute('aria-describedby') ?? '')?.textContent).toBe(reason);
    }
  });

  it('describes percent and free-shipping coupons in both languages', async () => {
    const catalog = [
      aCatalogEntry({ templateId: 'pct', name: { en: 'Percent', 'zh-CN': '折扣券' }, discount: { kind: 'percent', rateOff: 0.15, amountOffMax: 2_000 }, value: 2_000, minSpend: 0 }),
      aCatalogEntry({ templateId: 'ship', name: { en: 'Shipping', 'zh-CN': '包邮券' }, discount: { kind: 'freeShipping', amountOffMax: null }, value: null, minSpend: 0 }),
    ];
    renderExchange(aShop({ catalog }));
    expect(await screen.findByText('15% off, up to ¥20.00 · On any order')).toBeTruthy();
    expect(screen.getByText('Free shipping · On any order')).toBeTruthy();
    cleanup();

    renderExchange(aShop({ catalog }), { locale: 'zh-CN' });
    expect(await screen.findByText('8.5 折，最高减 ¥20.00 · 无门槛')).toBeTruthy();
    expect(screen.getByText('免运费 · 无门槛')).toBeTruthy();
    expect(screen.getByRole('heading', { name: '积分兑换优惠券' })).toBeTruthy();
  });

  it('asks for confirmation in a modal dialog that keeps focus and gives it back on Escape', async () => {
    const user = userEvent.setup();
    const shop = aShop();
    renderExchange(shop);
    const trigger = await screen.findByRole('button', { name: 'Exchange 1,000 points for ¥10 off coupon' });
    await user.click(trigger);

    const dialog = screen.getByRole('dialog', { name: 'Exchange points for this coupon?' });
    expect(dialog.getAttribute('aria-modal')).toBe('true');
    expect(within(dialog).getByText('Exchange 1,000 points for “¥10 off coupon”. Your balance will be 4,000 points.')).toBeTruthy();
    const confirm = within(dialog).getByRole('button', { name: 'Exchange now' });
    expect(document.activeElement).toBe(confirm);
    await user.tab();
    expect(document.activeElement).toBe(within(dialog).getByRole('button', { name: 'Cancel' }));
    await user.tab();
    expect(document.activeElement).toBe(confirm);
    await user.tab({ shift: true });
    expect(document.activeElement).toBe(within(dialog).getByRole('button', { name: 'Cancel' }));

    await user.keyboard('{Escape}');
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(document.activeElement).toBe(trigger);
    expect(shop.callsTo('shopper.coupons.exchange')).toEqual([]);
  });

  it('exchanges with an idempotency key, shows the code with a copy button and tells the host page', async () => {
    const user = userEvent.setup();
    const coupon = aCoupon();
    const shop = aShop().on('shopper.coupons.exchange', coupon);
    const { exchanged } = renderExchange(shop);
    await user.click(await screen.findByRole('button', { name: /^Exchange 1,000 points/ }));
    await user.click(screen.getByRole('button', { name: 'Exchange now' }));

    const heading = await screen.findByRole('heading', { name: 'Your coupon code' });
    expect(document.activeElement).toBe(heading);
    const input = shop.callsTo('shopper.coupons.exchange')[0]?.input as { templateId: string; idempotencyKey: string };
    expect(input.templateId).toBe('ten-off');
    expect(input.idempotencyKey).toMatch(UUID);
    expect(screen.getByText('K7Q2M9X4P8RT', { selector: 'p' })).toBeTruthy();
    expect(screen.getByText('“¥10 off coupon” is yours. Use this code at checkout by Dec 19, 2026.')).toBeTruthy();
    expect(exchanged).toEqual([{ code: 'K7Q2M9X4P8RT', templateId: 'ten-off', pointsCost: 1_000, value: 1_000, expiresAt: coupon.expiresAt }]);
    expect(screen.queryByRole('dialog')).toBeNull();

    await user.click(screen.getByRole('button', { name: 'Copy code' }));
    expect(await navigator.clipboard.readText()).toBe('K7Q2M9X4P8RT');
    expect(screen.getByText('Copied')).toBeTruthy();
    await waitFor(() => expect(shop.callsTo('shopper.coupons.mine')).toHaveLength(2));
    expect(shop.callsTo('shopper.coupons.catalog')).toHaveLength(2);
  });

  it('retries a confirm whose answer was lost with the same key, and a new confirm step with a new key', async () => {
    const user = userEvent.setup();
    const shop = aShop().on('shopper.coupons.exchange', aCoupon());
    let lostKey: string | null = null;
    const flakyFetch: typeof fetch = (resource, init) => {
      const isExchange = String(resource instanceof Request ? resource.url : resource).includes('shopper.coupons.exchange');
      if (isExchange && lostKey === null) {
        lostKey = (JSON.parse(String(init?.body)) as Record<string, { idempotencyKey: string }>)['0']!.idempotencyKey;
        return Promise.reject(new TypeError('Failed to fetch'));
      }
      return shop.fetch(resource, init);
    };
    const client = createJifenClient({ apiBase: API_BASE, token: 't', fetch: flakyFetch });
    render(<CouponExchange client={client} locale="en" />);
    await user.click(await screen.findByRole('button', { name: /^Exchange 1,000 points/ }));
    await user.click(screen.getByRole('button', { name: 'Exchange now' }));
    const dialog = screen.getByRole('dialog');
    expect((await within(dialog).findByRole('alert')).textContent).toContain('could not be reached');

    await user.click(within(dialog).getByRole('button', { name: 'Exchange now' }));
    await screen.findByRole('heading', { name: 'Your coupon code' });
    await user.click(screen.getByRole('button', { name: /^Exchange 1,000 points/ }));
    await user.click(screen.getByRole('button', { name: 'Exchange now' }));
    await waitFor(() => expect(shop.callsTo('shopper.coupons.exchange')).toHaveLength(2));

    const keys = shop.callsTo('shopper.coupons.exchange').map((call) => (call.input as { idempotencyKey: string }).idempotencyKey);
    expect(lostKey).toMatch(UUID);
    expect(keys[0]).toBe(lostKey);
    expect(keys[1]).not.toBe(lostKey);
  });

  it('shows the refusal inside the dialog and refreshes the catalogue', async () => {
    const user = userEvent.setup();
    const shop = aShop().on('shopper.coupons.exchange', () => {
      throw new Refusal('OUT_OF_STOCK', 'templateId: this coupon is out of stock', { stock: 20, issued: 20 });
    });
    const errors: (string | null)[] = [];
    renderExchange(shop, { onError: (failure) => errors.push(failure.reason) });
    await user.click(await screen.findByRole('button', { name: /^Exchange 1,000 points/ }));
    await user.click(screen.getByRole('button', { name: 'Exchange now' }));
    const alert = await within(screen.getByRole('dialog')).findByRole('alert');
    expect(alert.textContent).toBe('templateId: this coupon is out of stock');
    await waitFor(() => expect(shop.callsTo('shopper.coupons.catalog')).toHaveLength(2));
    expect(errors).toEqual(['OUT_OF_STOCK']);
  });

  it("connects with apiBase and token props, and asks again when another shopper's token arrives", async () => {
    const shop = aShop();
    vi.stubGlobal('fetch', shop.fetch);
    const view = render(<CouponExchange apiBase={API_BASE} token="alice-token" locale="en" />);
    await screen.findByText('You have 5,000 points.');
    view.rerender(<CouponExchange apiBase={API_BASE} token="bob-token" locale="en" />);
    await waitFor(() => expect(shop.requests.map((request) => request.headers.get('authorization'))).toEqual(['Bearer alice-token', 'Bearer bob-token']));
    expect(shop.requests[0]?.url.startsWith(`${API_BASE}/trpc/shopper.me,shopper.coupons.catalog,shopper.coupons.mine?`)).toBe(true);
  });

  it('says when nothing is on offer and the shopper has no coupons', async () => {
    renderExchange(aShop({ catalog: [], mine: [] }));
    expect(await screen.findByText('No coupons on offer right now.')).toBeTruthy();
    expect(screen.getByText('You have no coupons yet.')).toBeTruthy();
  });

  it("lists the shopper's coupons with their status and last day, in Chinese", async () => {
    const mine = [
      aCoupon(),
      aCoupon({ code: 'USEDCODE0001', status: 'redeemed', redeemedAt: '2026-11-21T02:00:00.000Z' }),
      aCoupon({ code: 'CAPOUT000001', source: 'capout', templateId: null, value: 12_345, expiresAt: null }),
    ];
    renderExchange(aShop({ mine }), { locale: 'zh-CN' });
    const table = await screen.findByRole('table');
    const rows = within(table).getAllByRole('row').slice(1);
    expect(rows.map((row) => within(row).getAllByRole('cell').map((cell) => cell.textContent))).toEqual([
      ['¥10.00', '可使用', '2026年12月19日'],
      ['¥10.00', '已使用', '2026年12月19日'],
      ['¥123.45', '可使用', '长期有效'],
    ]);
    expect(within(rows[0]!).getByRole('rowheader').textContent).toBe('K7Q2M9X4P8RT10元优惠券');
    expect(within(rows[2]!).getByRole('rowheader').textContent).toBe('CAPOUT000001购物金');
  });

  it('has no serious or critical accessibility violations in the catalogue, the dialog and the issued code', async () => {
    const user = userEvent.setup();
    const soldOut = aCatalogEntry({ templateId: 'x', name: { en: 'Sold out', 'zh-CN': '已兑完券' }, reason: { code: 'OUT_OF_STOCK' } });
    const shop = aShop({ mine: [aCoupon()], catalog: [aCatalogEntry(), soldOut] }).on('shopper.coupons.exchange', aCoupon());
    const { container } = renderExchange(shop);
    await user.click(await screen.findByRole('button', { name: 'Exchange 1,000 points for ¥10 off coupon' }));
    await expectNoSeriousViolations(container);
    await user.click(screen.getByRole('button', { name: 'Exchange now' }));
    await screen.findByRole('heading', { name: 'Your coupon code' });
    await expectNoSeriousViolations(container);
  });
});

describe('CouponExchange keeps keyboard focus in the widget', () => {
  it('moves focus to "My coupons" when the issued code is closed', async () => {
    const shop = aShop().on('shopper.coupons.exchange', aCoupon());
    const user = userEvent.setup();
    renderExchange(shop);
    await user.click(await screen.findByRole('button', { name: 'Exchange 1,000 points for ¥10 off coupon' }));
    await user.click(within(screen.getByRole('dialog')).getByRole('button', { name: 'Exchange now' }));
    (await screen.findByRole('button', { name: 'Close' })).focus();
    await user.keyboard('{Enter}');
    expect(screen.queryByRole('button', { name: 'Close' })).toBeNull();
    expect(document.activeElement).toBe(screen.getByRole('heading', { name: 'My coupons' }));
  });
});
