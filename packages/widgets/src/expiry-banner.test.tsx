import { addDays } from '@jifen/rules';
import { cleanup, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { expectNoSeriousViolations } from '../test/axe';
import { aPricePoint, aShopper, anExpiryGroup } from '../test/builders';
import { API_BASE, type FakeJifen, Refusal, fakeJifen } from '../test/fake-jifen';
import { createJifenClient } from './client';
import { dismissalKey } from './dismissal';
import { ExpiryBanner, type ExpiryBannerProps } from './expiry-banner';
import { formatLocalDate, localDateIn } from './i18n';
import type { PoolPricePoint, ShopperMe } from './shopper-api';

beforeEach(() => localStorage.clear());
afterEach(cleanup);

const ZONE = 'Asia/Shanghai';
/** A merchant-zone day `days` from today. */
const dayIn = (days: number) => addDays(localDateIn(new Date(), ZONE), days);

function aShop(options: { me?: Partial<ShopperMe>; history?: PoolPricePoint[] } = {}): FakeJifen {
  return fakeJifen()
    .on('shopper.me', aShopper(options.me))
    .on('shopper.pool.history', options.history ?? []);
}

function renderBanner(shop: FakeJifen, props: Partial<ExpiryBannerProps> = {}) {
  let readyCount = 0;
  const locale = props.locale === 'zh-CN' ? 'zh-CN' : 'en';
  const client = createJifenClient({ apiBase: API_BASE, token: 'shopper-token', fetch: shop.fetch, locale });
  const view = render(<ExpiryBanner client={client} locale={locale} exchangeHref="/coupons" onReady={() => (readyCount += 1)} {...props} />);
  return { ...view, readyCount: () => readyCount };
}

describe('ExpiryBanner', () => {
  it('shows the soonest expiring points, their value, and their day relative and absolute', async () => {
    const shop = aShop({ me: { expiring: { date: dayIn(1), expiresAt: 0, points: 1_200 } } });
    renderBanner(shop);
    const banner = await screen.findByRole('region', { name: 'Points expiring' });
    expect(within(banner).getByText(`1,200 points worth ¥12.00 expire tomorrow, on ${formatLocalDate(dayIn(1), 'en')}.`)).toBeTruthy();
    expect(within(banner).getByRole('link', { name: 'Exchange them for a coupon' }).getAttribute('href')).toBe('/coupons');
    expect(shop.requests).toHaveLength(1);
  });

  it('says it in Chinese when the locale is zh-CN', async () => {
    renderBanner(aShop({ me: { expiring: { date: dayIn(5), expiresAt: 0, points: 300 } } }), { locale: 'zh-CN' });
    const banner = await screen.findByRole('region', { name: '积分到期提醒' });
    expect(within(banner).getByText(`300 积分（价值 ¥3.00）将于5天后（${formatLocalDate(dayIn(5), 'zh-CN')}）过期。`)).toBeTruthy();
    expect(within(banner).getByRole('button', { name: '今天不再提示' })).toBeTruthy();
  });

  it('stays hidden when nothing expires, or nothing within the window', async () => {
    const nothing = renderBanner(aShop({ me: { expiring: null } }));
    await waitFor(() => expect(nothing.readyCount()).toBe(1));
    expect(nothing.container.innerHTML).toBe('');
    cleanup();

    const later = renderBanner(aShop({ me: { expiring: { date: dayIn(31), expiresAt: 0, points: 500 } } }));
    await waitFor(() => expect(later.readyCount()).toBe(1));
    expect(later.container.innerHTML).toBe('');
    cleanup();

    renderBanner(aShop({ me: { expiring: { date: dayIn(31), expiresAt: 0, points: 500 } } }), { windowDays: 60 });
    expect(await screen.findByRole('region', { name: 'Points expiring' })).toBeTruthy();
  });

  it('is dismissed for the rest of the day for this shopper only', async () => {
    const user = userEvent.setup();
    const expiring = { date: dayIn(2), expiresAt: 0, points: 800 };
    renderBanner(aShop({ me: { shopperId: 'alice', expiring } }));
    await user.click(await screen.findByRole('button', { name: 'Dismiss for today' }));
    expect(screen.queryByRole('region')).toBeNull();
    expect(localStorage.getItem(dismissalKey('alice'))).toBe(dayIn(0));
    cleanup();

    const again = renderBanner(aShop({ me: { shopperId: 'alice', expiring } }));
    await waitFor(() => expect(again.readyCount()).toBe(1));
    expect(screen.queryByRole('region')).toBeNull();
    cleanup();

    renderBanner(aShop({ me: { shopperId: 'bob', expiring } }));
    expect(await screen.findByRole('region', { name: 'Points expiring' })).toBeTruthy();
    cleanup();

    localStorage.setItem(dismissalKey('alice'), dayIn(-1));
    renderBanner(aShop({ me: { shopperId: 'alice', expiring } }));
    expect(await screen.findByRole('region', { name: 'Points expiring' })).toBeTruthy();
  });

  it('unfolds the schedule of upcoming expiries grouped by date, asking the server only then', async () => {
    const user = userEvent.setup();
    const shop = aShop({ me: { expiring: { date: dayIn(3), expiresAt: 0, points: 100 } } }).on('shopper.expiry.upcoming', [
      anExpiryGroup(dayIn(3), 100),
      anExpiryGroup(dayIn(40), 2_500),
    ]);
    renderBanner(shop);
    const toggle = await screen.findByRole('button', { name: 'Show all upcoming expiries' });
    expect(toggle.getAttribute('aria-expanded')).toBe('false');
    expect(shop.callsTo('shopper.expiry.upcoming')).toEqual([]);

    await user.click(toggle);
    const list = await screen.findByRole('list');
    expect(within(list).getAllByRole('listitem').map((item) => item.textContent)).toEqual([
      `${formatLocalDate(dayIn(3), 'en')} (in 3 days): 100 points, ¥1.00`,
      `${formatLocalDate(dayIn(40), 'en')} (in 40 days): 2,500 points, ¥25.00`,
    ]);
    expect(toggle.getAttribute('aria-expanded')).toBe('true');
    expect(document.getElementById(toggle.getAttribute('aria-controls') ?? '')?.contains(list)).toBe(true);

    await user.click(screen.getByRole('button', { name: 'Hide upcoming expiries' }));
    expect(screen.queryByRole('list')).toBeNull();
    expect(shop.callsTo('shopper.expiry.upcoming')).toHaveLength(1);
  });

  it('shows the point value, its history and the disclosure in pool mode, in both languages', async () => {
    const history = [aPricePoint('2026-11-01T00:00:00Z', '100.0000', 1), aPricePoint('2026-11-10T00:00:00Z', '142.8571', 2), aPricePoint('2026-11-20T00:00:00Z', '168.4211', 3)];
    // ¥320 backing 190.00 points: ¥1.6842 a point.
    const me = { pointDecimals: 2, pointPrice: '168.4211', pointValue: { minor: 32_000, perPoints: 19_000 }, expiring: null };
    renderBanner(aShop({ me, history }));
    const banner = await screen.findByRole('region', { name: 'Points expiring' });
    expect(within(banner).getByText('1 point is worth ¥1.6842 now.')).toBeTruthy();
    expect(within(banner).getByRole('img', { name: 'Point value over the last 3 changes, from ¥1.0000 to ¥1.6842' })).toBeTruthy();
    expect(within(banner).getByText("Point value follows the shop's sales; points are not cash and their value is not guaranteed")).toBeTruthy();
    cleanup();

    renderBanner(aShop({ me, history }), { locale: 'zh-CN' });
    const zh = await screen.findByRole('region', { name: '积分到期提醒' });
    expect(within(zh).getByText('当前 1 积分价值 ¥1.6842。')).toBeTruthy();
    expect(within(zh).getByText('积分价值随经营波动，非现金，不保证兑付价值')).toBeTruthy();
  });

  it('values expiring pool points at the pool price, rounding down', async () => {
    // pool ¥320 over 190.00 points: 10.00 points (1,000 units) are worth floor(1000 × 32000 / 19000) = 1,684 fen.
    const me = { pointDecimals: 2, pointPrice: '168.4211', pointValue: { minor: 32_000, perPoints: 19_000 }, expiring: { date: dayIn(0), expiresAt: 0, points: 1_000 } };
    renderBanner(aShop({ me, history: [aPricePoint('2026-11-20T00:00:00Z', '168.4211', 1)] }));
    expect(await screen.findByText(`10.00 points worth ¥16.84 expire today, on ${formatLocalDate(dayIn(0), 'en')}.`)).toBeTruthy();
  });

  it('rounds the pool price to 4 decimals once, from its exact value (SPEC §2)', async () => {
    // ¥1.0000495 a point: the server's 4-place string in fen is "100.0050", which rounded again would read ¥1.0001.
    const me = { pointDecimals: 0, pointPrice: '100.0050', pointValue: { minor: 10_000_495, perPoints: 100_000 }, expiring: null };
    renderBanner(aShop({ me, history: [aPricePoint('2026-11-20T00:00:00Z', '100.0050', 1)] }));
    expect(await screen.findByText('1 point is worth ¥1.0000 now.')).toBeTruthy();
  });

  it('shows a server failure with a retry', async () => {
    const user = userEvent.setup();
    let isDown = true;
    const shop = fakeJifen()
      .on('shopper.me', () => {
        if (isDown) throw new Refusal('RATE_LIMITED', 'too many requests; retry in 5 seconds', { retryAfterSeconds: 5 }, 'TOO_MANY_REQUESTS');
        return aShopper({ expiring: { date: dayIn(1), expiresAt: 0, points: 100 } });
      })
      .on('shopper.pool.history', []);
    renderBanner(shop);
    expect((await screen.findByRole('alert')).textContent).toContain('too many requests; retry in 5 seconds');
    isDown = false;
    await user.click(screen.getByRole('button', { name: 'Try again' }));
    expect(await screen.findByText(/^100 points worth ¥1\.00 expire tomorrow/)).toBeTruthy();
  });

  it('has no serious or critical accessibility violations, folded and unfolded', async () => {
    const user = userEvent.setup();
    const history = [aPricePoint('2026-11-01T00:00:00Z', '100.0000', 1), aPricePoint('2026-11-10T00:00:00Z', '142.8571', 2)];
    const shop = aShop({ me: { expiring: { date: dayIn(3), expiresAt: 0, points: 100 } }, history }).on('shopper.expiry.upcoming', [anExpiryGroup(dayIn(3), 100)]);
    const { container } = renderBanner(shop);
    await screen.findByRole('region');
    await expectNoSeriousViolations(container);
    await user.click(screen.getByRole('button', { name: 'Show all upcoming expiries' }));
    await screen.findByRole('list');
    await expectNoSeriousViolations(container);
  });
});
