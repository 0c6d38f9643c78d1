import { cleanup, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { aHold, aQuote, aShopper } from '../test/builders';
import { expectNoSeriousViolations } from '../test/axe';
import { API_BASE, type FakeJifen, Refusal, fakeJifen } from '../test/fake-jifen';
import { createJifenClient } from './client';
import { type PointsChange, PointsCheckout, type PointsCheckoutProps } from './points-checkout';

afterEach(cleanup);

/** A shopper with 5,000 points (1 point = 1 fen by the default program) and a ¥100 cart: up to 5,000 points. */
function aShop(options: { availablePoints?: number; quote?: (input: { cartAmount: number }) => unknown } = {}): FakeJifen {
  const availablePoints = options.availablePoints ?? 5_000;
  return fakeJifen()
    .on('shopper.me', aShopper({ balance: { available: availablePoints, pending: 0, held: 0, debt: 0 } }))
    .on('shopper.checkout.quote', options.quote ?? ((input: unknown) => aQuote({ ...(input as { cartAmount: number }), availablePoints })));
}

function renderCheckout(shop: FakeJifen, props: Partial<PointsCheckoutProps> = {}) {
  const changes: PointsChange[] = [];
  const client = createJifenClient({ apiBase: API_BASE, token: 'shopper-token', fetch: shop.fetch, locale: 'en' });
  const element = (extra: Partial<PointsCheckoutProps>) => (
    <PointsCheckout client={client} locale="en" cartAmount={10_000} onPointsChange={(change) => changes.push(change)} {...props} {...extra} />
  );
  const view = render(element({}));
  return { ...view, changes, client, rerenderWith: (extra: Partial<PointsCheckoutProps>) => view.rerender(element(extra)) };
}

const slider = () => screen.getByRole('slider', { name: 'Points to use' });
const numberInput = () => screen.getByRole('spinbutton', { name: 'Exact amount' });

function reserveAnswering(shop: FakeJifen) {
  return shop.on('shopper.checkout.reserve', (input: unknown) => {
    const { points, cartAmount } = input as { points: number; cartAmount: number };
    return aHold({ points, value: points, cashDue: cartAmount - points });
  });
}

describe('PointsCheckout', () => {
  it('shows a loading state, then the balance and its value from one batched request', async () => {
    const shop = aShop();
    const gate = shop.pause();
    renderCheckout(shop);
    expect(screen.getByRole('status').textContent).toBe('Loading…');
    gate.release();
    expect(await screen.findByText('You have 5,000 points, worth ¥50.00.')).toBeTruthy();
    expect(shop.requests).toHaveLength(1);
    expect(shop.callsTo('shopper.checkout.quote')[0]?.input).toEqual({ cartAmount: 10_000 });
  });

  it('sends the shopper token and the shopper language with every request', async () => {
    const shop = aShop();
    renderCheckout(shop);
    await screen.findByRole('slider');
    expect(shop.requests[0]?.headers.get('authorization')).toBe('Bearer shopper-token');
    expect(shop.requests[0]?.headers.get('accept-language')).toBe('en');
  });

  it('bounds the slider and the number input by the quote and speaks the slider value in money', async () => {
    const shop = aShop({ availablePoints: 3_000 });
    renderCheckout(shop);
    const range = await screen.findByRole('slider', { name: 'Points to use' });
    expect([range.getAttribute('min'), range.getAttribute('max'), range.getAttribute('step')]).toEqual(['100', '3000', '1']);
    expect(range.getAttribute('aria-valuetext')).toBe('3,000 points, ¥30.00 off');
    expect(numberInput().getAttribute('min')).toBe('100');
    expect(numberInput().getAttribute('max')).toBe('3000');
    expect(screen.getByText('Use 100 to 3,000 points, in steps of 1.')).toBeTruthy();
  });

  it('moves the choice with the keyboard and prices it in the browser without calling the server', async () => {
    const shop = aShop();
    const user = userEvent.setup();
    renderCheckout(shop);
    await screen.findByRole('slider');
    const callsBefore = shop.calls.length;

    slider().focus();
    await user.keyboard('{ArrowLeft}');
    expect((slider() as HTMLInputElement).value).toBe('4999');
    expect((numberInput() as HTMLInputElement).value).toBe('4999');
    await user.keyboard('{PageDown}');
    expect((slider() as HTMLInputElement).value).toBe('4509');
    await user.keyboard('{Home}');
    expect((slider() as HTMLInputElement).value).toBe('100');
    expect(slider().getAttribute('aria-valuetext')).toBe('100 points, ¥1.00 off');
    expect(screen.getByText('You pay').nextElementSibling?.textContent).toBe('¥99.00');
    await user.keyboard('{ArrowUp}{ArrowUp}');
    expect((slider() as HTMLInputElement).value).toBe('102');
    await user.keyboard('{End}');
    expect((slider() as HTMLInputElement).value).toBe('5000');
    expect(screen.getByText('Points pay').nextElementSibling?.textContent).toBe('¥50.00');
    expect(screen.getByText('You pay').nextElementSibling?.textContent).toBe('¥50.00');
    expect(shop.calls.length).toBe(callsBefore);
  });

  it('follows the number input typed by the shopper and refuses a choice off the range', async () => {
    const shop = aShop();
    const user = userEvent.setup();
    renderCheckout(shop);
    await screen.findByRole('slider');

    await user.clear(numberInput());
    await user.type(numberInput(), '1234');
    expect((slider() as HTMLInputElement).value).toBe('1234');
    expect(screen.getByText('You pay').nextElementSibling?.textContent).toBe('¥87.66');
    expect(screen.getByRole('button', { name: 'Use 1,234 points' })).toBeTruthy();

    await user.clear(numberInput());
    await user.type(numberInput(), '60');
    expect(numberInput().getAttribute('aria-invalid')).toBe('true');
    expect(screen.getByText('Enter 100 to 5,000 points, in steps of 1.')).toBeTruthy();
    expect((screen.getByRole('button', { name: /^Use / }) as HTMLButtonElement).disabled).toBe(true);
    expect((slider() as HTMLInputElement).value).toBe('1234');

    await user.type(numberInput(), '0');
    expect(numberInput().getAttribute('aria-invalid')).toBe('false');
    expect((slider() as HTMLInputElement).value).toBe('600');
  });

  it('reserves the chosen points and tells the host page the split and the hold', async () => {
    const shop = reserveAnswering(aShop());
    const user = userEvent.setup();
    const { changes } = renderCheckout(shop, { checkoutId: 'cart-42' });
    await screen.findByRole('slider');
    await user.clear(numberInput());
    await user.type(numberInput(), '2000');
    await user.click(screen.getByRole('button', { name: 'Use 2,000 points' }));

    await waitFor(() => expect(changes).toHaveLength(1));
    const reserve = shop.callsTo('shopper.checkout.reserve')[0]?.input as Record<string, unknown>;
    expect(reserve).toMatchObject({ points: 2_000, cartAmount: 10_000 });
    expect(String(reserve.checkoutId)).toMatch(/^cart-42\./);
    expect(shop.callsTo('shopper.checkout.reserve')[0]?.method).toBe('POST');
    expect(changes[0]).toEqual({ points: 2_000, value: 2_000, cashDue: 8_000, holdId: expect.stringMatching(/^h_/) });
    expect(screen.getByRole('status').textContent).toMatch(/^2,000 points reserved for this order \(¥20\.00 off\) until /);
    expect(screen.getByRole('button', { name: "Don't use points" })).toBeTruthy();
  });

  it('releases the previous hold before reserving a new choice', async () => {
    const shop = reserveAnswering(aShop()).on('shopper.checkout.release', (input: unknown) => ({ ...aHold({ points: 0, value: 0, cashDue: 0 }), ...(input as object), status: 'released' }));
    const user = userEvent.setup();
    const { changes } = renderCheckout(shop);
    await screen.findByRole('slider');
    await user.click(screen.getByRole('button', { name: 'Use 5,000 points' }));
    await waitFor(() => expect(changes).toHaveLength(1));

    slider().focus();
    await user.keyboard('{Home}');
    await user.click(screen.getByRole('button', { name: 'Use 100 points instead' }));
    await waitFor(() => expect(changes).toHaveLength(2));

    const firstHold = changes[0]?.holdId;
    expect(shop.callsTo('shopper.checkout.release').map((call) => call.input)).toEqual([{ holdId: firstHold }]);
    const order = shop.calls.map((call) => call.path).filter((path) => path !== 'shopper.me' && path !== 'shopper.checkout.quote');
    expect(order).toEqual(['shopper.checkout.reserve', 'shopper.checkout.release', 'shopper.checkout.reserve']);
    expect(changes[1]).toMatchObject({ points: 100, value: 100, cashDue: 9_900 });
    const reserves = shop.callsTo('shopper.checkout.reserve').map((call) => (call.input as { checkoutId: string }).checkoutId);
    expect(new Set(reserves).size).toBe(2);
  });

  it("gives the points back with \"Don't use points\" and tells the host page the order is all cash", async () => {
    const shop = reserveAnswering(aShop()).on('shopper.checkout.release', () => aHold({ points: 5_000, value: 5_000, cashDue: 5_000, status: 'released' }));
    const user = userEvent.setup();
    const { changes } = renderCheckout(shop);
    await user.click(await screen.findByRole('button', { name: 'Use 5,000 points' }));
    await user.click(await screen.findByRole('button', { name: "Don't use points" }));
    await waitFor(() => expect(changes).toHaveLength(2));
    expect(changes[1]).toEqual({ points: 0, value: 0, cashDue: 10_000, holdId: null });
    expect(screen.queryByRole('button', { name: "Don't use points" })).toBeNull();
  });

  it('says so when the shopper has no points to use', async () => {
    renderCheckout(aShop({ availablePoints: 0 }));
    expect(await screen.findByText('You have no points to use yet.')).toBeTruthy();
    expect(screen.queryByRole('slider')).toBeNull();
  });

  it('says how many points are needed when the shopper is below the minimum', async () => {
    renderCheckout(aShop({ availablePoints: 60 }));
    expect(await screen.findByText('You need at least 100 points to pay with points; you have 60 points.')).toBeTruthy();
    expect(screen.queryByRole('slider')).toBeNull();
  });

  it('says the order is too small when its cap is below the minimum', async () => {
    renderCheckout(aShop(), { cartAmount: 150 });
    expect(await screen.findByText('This order is too small to pay with points: at least 100 points are needed.')).toBeTruthy();
  });

  it('shows the server refusal in its own words and quotes again', async () => {
    const shop = aShop().on('shopper.checkout.reserve', () => {
      throw new Refusal('INSUFFICIENT_POINTS', 'points: only 4,000 points are available, 5,000 requested', { available: 4_000, requested: 5_000 });
    });
    const user = userEvent.setup();
    const errors: string[] = [];
    renderCheckout(shop, { onError: (failure) => errors.push(failure.reason ?? '') });
    await user.click(await screen.findByRole('button', { name: 'Use 5,000 points' }));
    expect((await screen.findByRole('alert')).textContent).toContain('points: only 4,000 points are available, 5,000 requested');
    await waitFor(() => expect(shop.callsTo('shopper.checkout.quote')).toHaveLength(2));
    expect(errors).toEqual(['INSUFFICIENT_POINTS']);
  });

  it('offers a retry when the server cannot be reached', async () => {
    let isOnline = false;
    const shop = aShop();
    const offlineFetch: typeof fetch = (resource, init) => (isOnline ? shop.fetch(resource, init) : Promise.reject(new TypeError('Failed to fetch')));
    const client = createJifenClient({ apiBase: API_BASE, token: 'shopper-token', fetch: offlineFetch });
    const user = userEvent.setup();
    render(<PointsCheckout client={client} locale="en" cartAmount={10_000} />);
    expect((await screen.findByRole('alert')).textContent).toContain('The points service could not be reached.');
    isOnline = true;
    await user.click(screen.getByRole('button', { name: 'Try again' }));
    expect(await screen.findByRole('slider')).toBeTruthy();
  });

  it('tells the shopper when the hold expired and reserves again on request', async () => {
    const shop = aShop().on('shopper.checkout.reserve', (input: unknown) => {
      const { points } = input as { points: number };
      const isFirst = shop.callsTo('shopper.checkout.reserve').length === 1;
      return aHold({ points, value: points, cashDue: 10_000 - points, expiresAt: new Date(Date.now() + (isFirst ? 60 : 900_000)).toISOString() });
    });
    const user = userEvent.setup();
    const { changes } = renderCheckout(shop);
    await user.click(await screen.findByRole('button', { name: 'Use 5,000 points' }));

    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toContain('Your points reservation has expired');
    expect(changes.at(-1)).toEqual({ points: 0, value: 0, cashDue: 10_000, holdId: null });
    await user.click(within(alert).getByRole('button', { name: 'Reserve 5,000 points again' }));
    await waitFor(() => expect(changes.at(-1)?.points).toBe(5_000));
    expect(shop.callsTo('shopper.checkout.reserve')).toHaveLength(2);
    expect(screen.queryByRole('alert')).toBeNull();
  });

  it('quotes again when the cart amount changes and keeps a choice that still fits', async () => {
    const shop = aShop();
    const user = userEvent.setup();
    const { rerenderWith } = renderCheckout(shop);
    await screen.findByRole('slider');
    await user.clear(numberInput());
    await user.type(numberInput(), '1500');

    rerenderWith({ cartAmount: 6_000 });
    await waitFor(() => expect(slider().getAttribute('max')).toBe('3000'));
    expect(shop.callsTo('shopper.checkout.quote').map((call) => call.input)).toEqual([{ cartAmount: 10_000 }, { cartAmount: 6_000 }]);
    expect((slider() as HTMLInputElement).value).toBe('1500');

    rerenderWith({ cartAmount: 2_000 });
    await waitFor(() => expect(slider().getAttribute('max')).toBe('1000'));
    expect((slider() as HTMLInputElement).value).toBe('1000');
  });

  it('moves a hold to the new cart when the cart changes under it', async () => {
    const shop = reserveAnswering(aShop()).on('shopper.checkout.release', () => aHold({ points: 5_000, value: 5_000, cashDue: 5_000, status: 'released' }));
    const user = userEvent.setup();
    const { changes, rerenderWith } = renderCheckout(shop);
    await user.click(await screen.findByRole('button', { name: 'Use 5,000 points' }));
    await waitFor(() => expect(changes).toHaveLength(1));

    rerenderWith({ cartAmount: 4_000 });
    await waitFor(() => expect(changes.at(-1)).toMatchObject({ points: 2_000, value: 2_000, cashDue: 2_000 }));
    expect(shop.callsTo('shopper.checkout.release')).toHaveLength(1);
    expect(shop.callsTo('shopper.checkout.reserve').map((call) => (call.input as { cartAmount: number }).cartAmount)).toEqual([10_000, 4_000]);
  });

  it('passes the items and the coupon to the quote and the reserve', async () => {
    const items = [{ sku: 'tea', category: 'food', amount: 8_000 }];
    const shop = reserveAnswering(aShop());
    const user = userEvent.setup();
    renderCheckout(shop, { items, couponCode: 'SAVE10' });
    await user.click(await screen.findByRole('button', { name: /^Use / }));
    await waitFor(() => expect(shop.callsTo('shopper.checkout.reserve')).toHaveLength(1));
    expect(shop.callsTo('shopper.checkout.quote')[0]?.input).toEqual({ cartAmount: 10_000, items, couponCode: 'SAVE10' });
    expect(shop.callsTo('shopper.checkout.reserve')[0]?.input).toMatchObject({ cartAmount: 10_000, items, couponCode: 'SAVE10' });
  });

  it('speaks Chinese with yuan when the locale is zh-CN', async () => {
    const shop = aShop();
    const client = createJifenClient({ apiBase: API_BASE, token: 't', fetch: shop.fetch, locale: 'zh-CN' });
    render(<PointsCheckout client={client} locale="zh-CN" cartAmount={10_000} />);
    expect(await screen.findByText('您有 5,000 积分，价值 ¥50.00。')).toBeTruthy();
    expect(screen.getByRole('heading', { name: '积分抵现' })).toBeTruthy();
    expect(screen.getByRole('slider', { name: '使用积分' }).getAttribute('aria-valuetext')).toBe('5,000 积分，抵扣 ¥50.00');
    expect(screen.getByRole('button', { name: '使用 5,000 积分' })).toBeTruthy();
  });

  it('shows points with the program decimals of a pool program', async () => {
    const program = { valuation: { kind: 'pool' as const } };
    const shop = fakeJifen()
      .on('shopper.me', aShopper({ pointDecimals: 2 }))
      .on('shopper.checkout.quote', aQuote({ cartAmount: 10_000, availablePoints: 1_250, program }));
    renderCheckout(shop);
    // initialPrice ¥1 per whole point: 12.50 points are worth ¥12.50.
    expect(await screen.findByText('You have 12.50 points, worth ¥12.50.')).toBeTruthy();
    expect(numberInput().getAttribute('step')).toBe('0.01');
  });

  it('has no serious or critical accessibility violations, with a hold and without', async () => {
    const shop = reserveAnswering(aShop());
    const user = userEvent.setup();
    const { container } = renderCheckout(shop);
    await screen.findByRole('slider');
    await expectNoSeriousViolations(container);
    await user.click(screen.getByRole('button', { name: 'Use 5,000 points' }));
    await screen.findByRole('button', { name: "Don't use points" });
    await expectNoSeriousViolations(container);
  });

  it('keeps the hold when the widget unmounts, since the page may be moving on to pay', async () => {
    const shop = reserveAnswering(aShop()).on('shopper.checkout.release', () => aHold({ points: 5_000, value: 5_000, cashDue: 5_000, status: 'released' }));
    const user = userEvent.setup();
    const { changes, unmount } = renderCheckout(shop);
    await user.click(await screen.findByRole('button', { name: 'Use 5,000 points' }));
    await waitFor(() => expect(changes).toHaveLength(1));
    unmount();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(changes).toHaveLength(1);
    expect(shop.callsTo('shopper.checkout.release')).toEqual([]);
  });
});

describe('PointsCheckout while the cart is being quoted again, and when a release fails', () => {
  it('acts on no figure of the old cart while the new one is being quoted', async () => {
    const shop = reserveAnswering(aShop());
    const user = userEvent.setup();
    const { rerenderWith } = renderCheckout(shop);
    await screen.findByRole('slider');
    const gate = shop.pause();
    // The new cart allows at most 1,000 points; the screen still shows the old cart's 5,000 until its quote arrives.
    rerenderWith({ cartAmount: 2_000 });
    const use = screen.getByRole('button', { name: /^Use / }) as HTMLButtonElement;
    expect(use.disabled).toBe(true);
    await user.click(use);
    gate.release();
    await waitFor(() => expect(shop.callsTo('shopper.checkout.quote')).toHaveLength(2));
    await screen.findByRole('button', { name: 'Use 1,000 points' });
    expect(shop.callsTo('shopper.checkout.reserve')).toEqual([]);
  });

  it('keeps telling the host page about a hold whose release failed', async () => {
    const shop = reserveAnswering(aShop()).on('shopper.checkout.release', () => {
      throw new Error('database is locked');
    });
    const user = userEvent.setup();
    const { changes } = renderCheckout(shop);
    await user.click(await screen.findByRole('button', { name: 'Use 5,000 points' }));
    await waitFor(() => expect(changes).toHaveLength(1));
    slider().focus();
    await user.keyboard('{Home}');
    await user.click(screen.getByRole('button', { name: 'Use 100 points instead' }));
    await screen.findByRole('alert');
    // The hold is still held on the server and in the widget: the host page was told nothing else.
    expect(screen.getByRole('status').textContent).toMatch(/^5,000 points reserved/);
    expect(changes).toEqual([expect.objectContaining({ points: 5_000, holdId: changes[0]!.holdId })]);
    expect(shop.callsTo('shopper.checkout.reserve')).toHaveLength(1);
  });
});

describe('PointsCheckout keeps keyboard focus in the widget', () => {
  it('moves focus from "Use N points" to "Don\'t use points" once reserved, and back once released', async () => {
    const shop = reserveAnswering(aShop()).on('shopper.checkout.release', () => aHold({ points: 5_000, value: 5_000, cashDue: 5_000, status: 'released' }));
    const user = userEvent.setup();
    renderCheckout(shop);
    (await screen.findByRole('button', { name: 'Use 5,000 points' })).focus();
    await user.keyboard('{Enter}');
    const dont = await screen.findByRole('button', { name: "Don't use points" });
    await waitFor(() => expect(document.activeElement).toBe(dont));
    await user.keyboard('{Enter}');
    // The "Use" button is back (enabled once the cart is quoted again) and has the focus.
    await waitFor(() => expect(document.activeElement).toBe(screen.getByRole('button', { name: 'Use 5,000 points' })));
  });
});

describe("PointsCheckout times a hold by jifen's clock", () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it("does not see a fresh 15-minute hold as expired when the shopper's clock runs 20 minutes fast", async () => {
    const realNow = Date.now.bind(Date);
    const shop = fakeJifen({ serverNow: realNow })
      .on('shopper.me', aShopper({ balance: { available: 5_000, pending: 0, held: 0, debt: 0 } }))
      .on('shopper.checkout.quote', (input: unknown) => aQuote({ ...(input as { cartAmount: number }), availablePoints: 5_000 }))
      .on('shopper.checkout.reserve', (input: unknown) => {
        const { points } = input as { points: number };
        return aHold({ points, value: points, cashDue: 10_000 - points, expiresAt: new Date(realNow() + 15 * 60_000).toISOString() });
      });
    const { changes } = renderCheckout(shop);
    const use = await screen.findByRole('button', { name: 'Use 5,000 points' });
    vi.spyOn(Date, 'now').mockImplementation(() => realNow() + 20 * 60_000);
    await userEvent.setup().click(use);
    await waitFor(() => expect(changes).toHaveLength(1));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(screen.queryByText(/reservation has expired/)).toBeNull();
    expect(changes).toEqual([expect.objectContaining({ points: 5_000, holdId: expect.any(String) })]);
  });
});
