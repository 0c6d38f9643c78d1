import { waitFor, within } from '@testing-library/dom';
import userEvent from '@testing-library/user-event';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { expectNoSeriousViolations } from '../test/axe';
import { aCatalogEntry, aCoupon, aHold, aQuote, aShopper } from '../test/builders';
import { API_BASE, type FakeJifen, Refusal, fakeJifen } from '../test/fake-jifen';
import { defineJifenElements } from './elements';
import type { JifenHostElement } from './host-element';

/**
 * The custom elements as a plain HTML page uses them: markup, attributes, the `token` property and
 * `jifen:*` events, with the real widgets rendering into shadow roots and a fake jifen behind `fetch`.
 */

function aShop(): FakeJifen {
  return fakeJifen()
    .on('shopper.me', aShopper({ expiring: { date: '2099-01-01', expiresAt: 0, points: 100 } }))
    .on('shopper.checkout.quote', (input: unknown) => aQuote({ ...(input as { cartAmount: number }), availablePoints: 5_000 }))
    .on('shopper.checkout.reserve', (input: unknown) => {
      const { points, cartAmount } = input as { points: number; cartAmount: number };
      return aHold({ points, value: points, cashDue: cartAmount - points });
    })
    .on('shopper.coupons.catalog', [aCatalogEntry()])
    .on('shopper.coupons.mine', [])
    .on('shopper.coupons.exchange', aCoupon())
    .on('shopper.pool.history', []);
}

let shop: FakeJifen;
beforeAll(() => defineJifenElements());
beforeEach(() => {
  shop = aShop();
  vi.stubGlobal('fetch', shop.fetch);
});
afterEach(() => {
  document.body.innerHTML = '';
  document.documentElement.removeAttribute('lang');
  vi.unstubAllGlobals();
});

/** Puts markup on the page, as a merchant's HTML would. */
function page(html: string): HTMLElement {
  document.body.innerHTML = html;
  return document.body;
}

const shadowOf = (element: Element) => within(element.shadowRoot as unknown as HTMLElement);
const host = (selector: string) => document.querySelector(selector) as JifenHostElement;

function eventsOf(type: string): CustomEvent[] {
  const events: CustomEvent[] = [];
  document.addEventListener(type, (event) => events.push(event as CustomEvent));
  return events;
}

describe('custom elements', () => {
  it('renders the checkout into a shadow root with its styles inside and says it is ready', async () => {
    const ready = eventsOf('jifen:ready');
    page(`<jifen-points-checkout api-base="${API_BASE}" locale="en" cart-amount="10000"></jifen-points-checkout>`);
    const element = host('jifen-points-checkout');
    element.token = 'shopper-token';
    const slider = await shadowOf(element).findByRole('slider', { name: 'Points to use' });
    expect(slider.getAttribute('max')).toBe('5000');
    expect(element.shadowRoot?.querySelector('style')?.textContent).toContain(':host');
    expect([...(element.shadowRoot?.querySelectorAll('style') ?? [])].some((style) => style.textContent?.includes('--jifen-accent'))).toBe(true);
    expect(document.querySelector('[role=slider]')).toBeNull();
    await waitFor(() => expect(ready).toHaveLength(1));
    expect(ready[0]?.target).toBe(element);
    expect(ready[0]?.detail).toEqual({ widget: 'points-checkout' });
    expect([ready[0]?.bubbles, ready[0]?.composed]).toEqual([true, true]);
  });

  it('re-renders when an attribute changes, with no refresh call', async () => {
    page(`<jifen-points-checkout api-base="${API_BASE}" locale="en" cart-amount="10000"></jifen-points-checkout>`);
    const element = host('jifen-points-checkout');
    element.token = 'shopper-token';
    const view = shadowOf(element);
    await view.findByRole('slider');

    element.setAttribute('cart-amount', '6000');
    await waitFor(() => expect(view.getByRole('slider').getAttribute('max')).toBe('3000'));
    element.setAttribute('items', '[{"sku":"tea","amount":2000}]');
    await waitFor(() => expect(view.getByRole('slider').getAttribute('max')).toBe('2000'));
    expect(shop.callsTo('shopper.checkout.quote').map((call) => call.input)).toEqual([
      { cartAmount: 10_000 },
      { cartAmount: 6_000 },
      { cartAmount: 6_000, items: [{ sku: 'tea', amount: 2_000 }] },
    ]);

    element.setAttribute('locale', 'zh-CN');
    expect(await view.findByRole('heading', { name: '积分抵现' })).toBeTruthy();
  });

  it('tells the page the reserved split with a bubbling, composed jifen:points-change', async () => {
    const user = userEvent.setup();
    const changes = eventsOf('jifen:points-change');
    page(`<form><jifen-points-checkout api-base="${API_BASE}" locale="en" cart-amount="10000" checkout-id="order-7"></jifen-points-checkout></form>`);
    const element = host('jifen-points-checkout');
    element.token = 'shopper-token';
    await user.click(await shadowOf(element).findByRole('button', { name: 'Use 5,000 points' }));
    await waitFor(() => expect(changes).toHaveLength(1));
    expect(changes[0]?.target).toBe(element);
    expect(changes[0]?.detail).toEqual({ points: 5_000, value: 5_000, cashDue: 5_000, holdId: expect.stringMatching(/^h_/) });
    expect((shop.callsTo('shopper.checkout.reserve')[0]?.input as { checkoutId: string }).checkoutId).toMatch(/^order-7\./);
  });

  it('tells the page about an exchanged coupon with jifen:coupon-exchanged', async () => {
    const user = userEvent.setup();
    const exchanged = eventsOf('jifen:coupon-exchanged');
    page(`<jifen-coupon-exchange api-base="${API_BASE}" locale="en"></jifen-coupon-exchange>`);
    const element = host('jifen-coupon-exchange');
    element.token = 'shopper-token';
    const view = shadowOf(element);
    await user.click(await view.findByRole('button', { name: 'Exchange 1,000 points for ¥10 off coupon' }));
    await user.click(view.getByRole('button', { name: 'Exchange now' }));
    await waitFor(() => expect(exchanged).toHaveLength(1));
    expect(exchanged[0]?.detail).toMatchObject({ code: 'K7Q2M9X4P8RT', templateId: 'ten-off', pointsCost: 1_000 });
    expect(exchanged[0]?.target).toBe(element);
  });

  it("speaks the page's language and links the banner to the exchange-href", async () => {
    document.documentElement.lang = 'zh-CN';
    page(`<jifen-expiry-banner api-base="${API_BASE}" exchange-href="/coupons" window-days="36500"></jifen-expiry-banner>`);
    const element = host('jifen-expiry-banner');
    element.token = 'shopper-token';
    const view = shadowOf(element);
    expect(await view.findByRole('link', { name: '去兑换优惠券' })).toBeTruthy();
    expect(view.getByRole('link').getAttribute('href')).toBe('/coupons');
    const bannerRequest = shop.requests.find((request) => request.url.includes('shopper.pool.history'));
    expect(bannerRequest?.headers.get('accept-language')).toBe('zh-CN');
  });

  it('fetches one token from the token endpoint for every widget on the page', async () => {
    let tokenRequests = 0;
    shop.route('https://shop.test/jifen-token', () => {
      tokenRequests += 1;
      return Response.json({ token: 'from-endpoint', expiresAt: new Date(Date.now() + 600_000).toISOString() });
    });
    page(`
      <jifen-expiry-banner api-base="${API_BASE}" token-endpoint="https://shop.test/jifen-token" locale="en" window-days="36500"></jifen-expiry-banner>
      <jifen-coupon-exchange api-base="${API_BASE}" token-endpoint="https://shop.test/jifen-token" locale="en"></jifen-coupon-exchange>
      <jifen-points-checkout api-base="${API_BASE}" token-endpoint="https://shop.test/jifen-token" locale="en" cart-amount="10000"></jifen-points-checkout>`);
    await shadowOf(host('jifen-points-checkout')).findByRole('slider');
    await shadowOf(host('jifen-coupon-exchange')).findByText('You have no coupons yet.');
    await shadowOf(host('jifen-expiry-banner')).findByRole('region');
    expect(tokenRequests).toBe(1);
    expect(shop.requests.every((request) => request.headers.get('authorization') === 'Bearer from-endpoint')).toBe(true);
  });

  it('reports server failures and bad attributes with jifen:error', async () => {
    const errors = eventsOf('jifen:error');
    shop.on('shopper.coupons.catalog', () => {
      throw new Refusal('UNAUTHORIZED', 'shopper token: expired', {}, 'UNAUTHORIZED');
    });
    page(`<jifen-coupon-exchange api-base="${API_BASE}" locale="en"></jifen-coupon-exchange><jifen-points-checkout api-base="${API_BASE}" cart-amount="12.5"></jifen-points-checkout>`);
    host('jifen-coupon-exchange').token = 'stale';
    expect((await shadowOf(host('jifen-coupon-exchange')).findByRole('alert')).textContent).toContain('shopper token: expired');
    await waitFor(() => expect(errors.map((event) => event.detail.reason)).toEqual(expect.arrayContaining(['INVALID_ATTRIBUTE', 'UNAUTHORIZED'])));
    const invalid = errors.find((event) => event.detail.reason === 'INVALID_ATTRIBUTE');
    expect(invalid?.detail.message).toContain('cart-amount="12.5" must be a whole number');
    expect(invalid?.target).toBe(host('jifen-points-checkout'));
  });

  it('tells the page why it cannot call jifen when it has neither a token nor a token endpoint', async () => {
    const errors = eventsOf('jifen:error');
    page(`<jifen-coupon-exchange api-base="${API_BASE}" locale="en"></jifen-coupon-exchange>`);
    expect((await shadowOf(host('jifen-coupon-exchange')).findByRole('alert')).textContent).toContain('could not be reached');
    await waitFor(() => expect(errors.length).toBeGreaterThan(0));
    expect(errors[0]?.detail).toMatchObject({ reason: null, message: expect.stringContaining('no shopper token') });
    expect(shop.requests).toEqual([]);
  });

  it('keeps its state when the page moves it elsewhere', async () => {
    const user = userEvent.setup();
    page(`<div id="a"><jifen-points-checkout api-base="${API_BASE}" locale="en" cart-amount="10000"></jifen-points-checkout></div><div id="b"></div>`);
    const element = host('jifen-points-checkout');
    element.token = 'shopper-token';
    await user.click(await shadowOf(element).findByRole('button', { name: 'Use 5,000 points' }));
    await shadowOf(element).findByRole('button', { name: "Don't use points" });
    document.getElementById('b')?.append(element);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(shadowOf(element).getByRole('button', { name: "Don't use points" })).toBeTruthy();
    expect(shop.callsTo('shopper.checkout.quote')).toHaveLength(1);
  });

  it('unmounts when removed from the page and renders again when put back', async () => {
    page(`<div id="slot"><jifen-coupon-exchange api-base="${API_BASE}" locale="en"></jifen-coupon-exchange></div>`);
    const element = host('jifen-coupon-exchange');
    element.token = 'shopper-token';
    await shadowOf(element).findByRole('heading', { name: 'Exchange points for coupons' });
    element.remove();
    await waitFor(() => expect(element.container.childElementCount).toBe(0));
    document.getElementById('slot')?.append(element);
    expect(await shadowOf(element).findByRole('heading', { name: 'Exchange points for coupons' })).toBeTruthy();
  });

  it('has no serious or critical accessibility violations inside the shadow roots', async () => {
    page(`
      <main>
        <jifen-expiry-banner api-base="${API_BASE}" locale="en" window-days="36500" exchange-href="/coupons"></jifen-expiry-banner>
        <jifen-points-checkout api-base="${API_BASE}" locale="en" cart-amount="10000"></jifen-points-checkout>
        <jifen-coupon-exchange api-base="${API_BASE}" locale="en"></jifen-coupon-exchange>
      </main>`);
    for (const element of document.querySelectorAll<JifenHostElement>('jifen-expiry-banner, jifen-points-checkout, jifen-coupon-exchange')) element.token = 'shopper-token';
    await shadowOf(host('jifen-points-checkout')).findByRole('slider');
    await shadowOf(host('jifen-coupon-exchange')).findByRole('list');
    await shadowOf(host('jifen-expiry-banner')).findByRole('region');
    await expectNoSeriousViolations(document.querySelector('main')!);
  });
});
