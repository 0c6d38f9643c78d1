import { waitFor, within } from '@testing-library/dom';
import userEvent from '@testing-library/user-event';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { aCatalogEntry, aCoupon, aQuote, aShopper } from '../test/builders';
import { API_BASE, type FakeJifen, Refusal, fakeJifen } from '../test/fake-jifen';
import { createJifenClient } from './client';
import { EARLY_ANSWER_MAX_AGE_MS, createEarlyStart } from './early-start';
import { widgetModule } from './elements';
import type { JifenHostElement, WidgetModule } from './host-element';
import { defineJifenHosts } from './host-element';

/**
 * The script-tag loader's early start (issue 5, first paint): an element with a `token-endpoint`
 * asks for its token and its widget's first calls the moment it connects, while the widget code is
 * still loading, and the widgets then take those answers instead of asking again. Here the widget
 * code "loads" when the test says so, as the loader's `import()` would.
 */

const TOKEN_ENDPOINT = 'https://shop.test/jifen-token';
const CART_ITEMS = '[{"sku":"tea-100g","category":"food","amount":9800},{"sku":"mug","amount":3000}]';

let shop: FakeJifen;
let tokenRequests: number;
let releaseWidgetCode: () => void;
let widgetCode: Promise<WidgetModule>;

function aShop(): FakeJifen {
  return fakeJifen()
    .on('shopper.me', aShopper({ expiring: { date: '2099-01-01', expiresAt: 0, points: 100 } }))
    .on('shopper.checkout.quote', (input: unknown) => aQuote({ ...(input as { cartAmount: number }), availablePoints: 5_000 }))
    .on('shopper.coupons.catalog', [aCatalogEntry()])
    .on('shopper.coupons.mine', [])
    .on('shopper.coupons.exchange', aCoupon())
    .on('shopper.pool.history', []);
}

beforeAll(() => {
  // The loader's definition: the widget code arrives only when `releaseWidgetCode` is called.
  defineJifenHosts({ load: () => widgetCode, apiBaseDefault: API_BASE, early: createEarlyStart() });
});

beforeEach(() => {
  widgetCode = new Promise((resolve) => (releaseWidgetCode = () => resolve(widgetModule)));
  tokenRequests = 0;
  shop = aShop().route(TOKEN_ENDPOINT, () => {
    tokenRequests += 1;
    return Response.json({ token: `from-endpoint-${tokenRequests}`, expiresAt: new Date(Date.now() + 600_000).toISOString() });
  });
  vi.stubGlobal('fetch', shop.fetch);
});

afterEach(async () => {
  document.body.innerHTML = '';
  await new Promise((resolve) => setTimeout(resolve, 0));
  vi.unstubAllGlobals();
});

const shadowOf = (element: Element) => within(element.shadowRoot as unknown as HTMLElement);
const host = (selector: string) => document.querySelector(selector) as JifenHostElement;

let pages = 0;

/** The three widgets as /embed.html has them; each test's own `api-base` keeps its connection (and so its caches) its own. */
function threeWidgets(extra = ''): void {
  pages += 1;
  const connection = `api-base="https://jifen-${pages}.test" token-endpoint="${TOKEN_ENDPOINT}" locale="en"`;
  document.body.innerHTML = `
    <jifen-expiry-banner ${connection} window-days="36500"></jifen-expiry-banner>
    <jifen-points-checkout ${connection} cart-amount="12800" items='${CART_ITEMS}' ${extra}></jifen-points-checkout>
    <jifen-coupon-exchange ${connection}></jifen-coupon-exchange>`;
}

async function widgetsShowTheirFigures(): Promise<void> {
  await shadowOf(host('jifen-points-checkout')).findByRole('slider');
  await shadowOf(host('jifen-coupon-exchange')).findByText('You have no coupons yet.');
  await shadowOf(host('jifen-expiry-banner')).findByRole('region');
}

describe('the early start', () => {
  it('asks for the token and every first call in one batch before the widget code has loaded, and the widgets ask nothing again', async () => {
    threeWidgets();
    await waitFor(() => expect(shop.requests).toHaveLength(1));
    expect(tokenRequests).toBe(1);
    expect(shop.requests[0]?.headers.get('authorization')).toBe('Bearer from-endpoint-1');
    expect(shop.requests[0]?.headers.get('accept-language')).toBe('en');
    // `shopper.me` once for the three widgets, and each widget's own first calls, with the inputs the widgets use.
    expect(shop.calls.map((call) => call.path).sort()).toEqual(
      ['shopper.checkout.quote', 'shopper.coupons.catalog', 'shopper.coupons.mine', 'shopper.me', 'shopper.pool.history'].sort(),
    );
    expect(shop.callsTo('shopper.checkout.quote')[0]?.input).toEqual({ cartAmount: 12800, items: JSON.parse(CART_ITEMS) });
    expect(shop.callsTo('shopper.pool.history')[0]?.input).toEqual({ limit: 30 });
    expect(host('jifen-points-checkout').container.childElementCount).toBe(0);

    releaseWidgetCode();
    await widgetsShowTheirFigures();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(shop.requests).toHaveLength(1);
    expect(tokenRequests).toBe(1);
  });

  it('renders figures that arrived before the widget code in its first render, with no loading line', async () => {
    threeWidgets();
    await waitFor(() => expect(shop.calls).toHaveLength(5));
    await new Promise((resolve) => setTimeout(resolve, 0));
    const coupons = host('jifen-coupon-exchange');
    const shown: string[] = [];
    new MutationObserver(() => shown.push(coupons.container.textContent ?? '')).observe(coupons.container, { childList: true, subtree: true, characterData: true });
    releaseWidgetCode();
    await shadowOf(coupons).findByText('You have no coupons yet.');
    expect(shown.length).toBeGreaterThan(0);
    expect(shown[0]).toContain('You have 5,000 points.');
    expect(shown.some((text) => text.includes('Loading…'))).toBe(false);
  });

  it('lets a token property set as the element is put in the page win over the token endpoint, asking nothing early', async () => {
    document.body.innerHTML = `<jifen-coupon-exchange token-endpoint="${TOKEN_ENDPOINT}" locale="zh"></jifen-coupon-exchange>`;
    const element = host('jifen-coupon-exchange');
    element.token = 'property-token';
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(shop.requests.filter((request) => request.headers.get('authorization') !== 'Bearer property-token')).toEqual([]);
    releaseWidgetCode();
    await shadowOf(element).findByText('您还没有优惠券。');
    expect(tokenRequests).toBe(0);
    expect(shop.requests.length).toBeGreaterThan(0);
    expect(shop.requests.every((request) => request.headers.get('authorization') === 'Bearer property-token')).toBe(true);
  });

  it('does not start a widget whose token property was set before the loader ran', async () => {
    document.body.innerHTML = `<div></div>`;
    const element = document.createElement('jifen-expiry-banner') as JifenHostElement;
    element.token = 'property-token';
    element.setAttribute('token-endpoint', TOKEN_ENDPOINT);
    element.setAttribute('locale', 'zh-CN');
    element.setAttribute('window-days', '36500');
    document.body.append(element);
    releaseWidgetCode();
    await shadowOf(element).findByRole('region');
    expect(tokenRequests).toBe(0);
    expect(shop.requests.every((request) => request.headers.get('authorization') === 'Bearer property-token')).toBe(true);
  });

  it('asks jifen itself for a first call whose early answer failed', async () => {
    let catalogAnswers = 0;
    shop.on('shopper.coupons.catalog', () => {
      catalogAnswers += 1;
      if (catalogAnswers === 1) throw new Refusal('INTERNAL', 'the database was busy', {}, 'INTERNAL_SERVER_ERROR');
      return [aCatalogEntry()];
    });
    threeWidgets();
    await waitFor(() => expect(shop.calls).toHaveLength(5));
    releaseWidgetCode();
    await widgetsShowTheirFigures();
    expect(shadowOf(host('jifen-coupon-exchange')).queryByRole('alert')).toBeNull();
    expect(shop.callsTo('shopper.coupons.catalog')).toHaveLength(2);
    // Only the failed call was asked again.
    expect(shop.requests).toHaveLength(2);
    expect(tokenRequests).toBe(1);
  });

  it('asks again after a write: an exchange refreshes the catalogue from jifen, not from the early answers', async () => {
    const user = userEvent.setup();
    threeWidgets();
    releaseWidgetCode();
    await widgetsShowTheirFigures();
    const before = shop.calls.length;
    await user.click(await shadowOf(host('jifen-coupon-exchange')).findByRole('button', { name: /^Exchange 1,000 points/ }));
    await user.click(await shadowOf(host('jifen-coupon-exchange')).findByRole('button', { name: 'Exchange now' }));
    await waitFor(() => expect(shop.callsTo('shopper.coupons.exchange')).toHaveLength(1));
    await waitFor(() => expect(shop.calls.slice(before).map((call) => call.path)).toEqual(expect.arrayContaining(['shopper.me', 'shopper.coupons.catalog', 'shopper.coupons.mine'])));
  });
});

describe('early answers', () => {
  function started(now: () => number, elements = 1) {
    const early = createEarlyStart({ now });
    for (let count = 0; count < elements; count += 1) {
      const element = document.createElement('div') as unknown as HTMLElement & { token: string | null };
      element.token = null;
      element.setAttribute('token-endpoint', TOKEN_ENDPOINT);
      element.setAttribute('locale', 'en');
      document.body.append(element);
      early.start(element, 'coupon-exchange', API_BASE);
    }
    return { early, connection: early.connection(API_BASE, TOKEN_ENDPOINT, 'en'), answers: early.connection(API_BASE, TOKEN_ENDPOINT, 'en').answers };
  }

  it('are dropped when the client writes, so nothing read before the write is shown after it', async () => {
    const { connection, answers } = started(() => 0, 2);
    await waitFor(() => expect(shop.calls).toHaveLength(3));
    const client = createJifenClient({ apiBase: API_BASE, locale: 'en', tokenSource: connection.tokens, early: connection.answers });
    await expect(client.shopper.coupons.mine.query()).resolves.toEqual([]);
    expect(shop.requests).toHaveLength(1);
    await client.shopper.coupons.exchange.mutate({ templateId: 'tpl-1', idempotencyKey: 'key-1' });
    expect(answers.take('shopper.coupons.mine', undefined)).toBeNull();
    await expect(client.shopper.coupons.mine.query()).resolves.toEqual([]);
    expect(shop.callsTo('shopper.coupons.mine')).toHaveLength(2);
  });

  it('serves each call once per element that wanted it', async () => {
    const { answers } = started(() => 0);
    await waitFor(() => expect(shop.calls).toHaveLength(3));
    await expect(answers.take('shopper.coupons.catalog', undefined)).resolves.toEqual([aCatalogEntry()]);
    expect(answers.take('shopper.coupons.catalog', undefined)).toBeNull();
    expect(answers.take('shopper.coupons.catalog', { another: 'input' })).toBeNull();
  });

  it('drops an answer older than its age limit, and every answer after a write', async () => {
    let clock = 1_000;
    const { answers } = started(() => clock);
    await waitFor(() => expect(answers.takeArrived('shopper.me', undefined)).not.toBeNull());
    clock += EARLY_ANSWER_MAX_AGE_MS + 1;
    expect(answers.take('shopper.coupons.catalog', undefined)).toBeNull();
    answers.forget();
    clock = 1_000;
    expect(answers.take('shopper.coupons.mine', undefined)).toBeNull();
  });

  it('gives only an answer that has arrived to the first render, and takes nothing otherwise', async () => {
    const gate = shop.pause();
    const { answers } = started(() => 0);
    await waitFor(() => expect(shop.requests).toHaveLength(1));
    expect(answers.takeArrived('shopper.me', undefined)).toBeNull();
    gate.release();
    await waitFor(() => expect(answers.takeArrived('shopper.me', undefined)).toEqual({ value: aShopper({ expiring: { date: '2099-01-01', expiresAt: 0, points: 100 } }) }));
    expect(answers.takeArrived('shopper.me', undefined)).toBeNull();
  });
});
