import { within } from '@testing-library/dom';
import { afterEach, expect, it, vi } from 'vitest';
import { aCatalogEntry, aShopper } from '../test/builders';
import { API_BASE, fakeJifen } from '../test/fake-jifen';
import { defineJifenElements } from './elements';

/**
 * A page may set `token` on an element before the script that defines the elements has run (the
 * loader is a module script, so it runs late). That own property must not hide the real one. Its own
 * file, since here nothing may be defined yet.
 */

afterEach(async () => {
  // Disconnect the element so its React root unmounts while jsdom's window still exists.
  document.body.innerHTML = '';
  await new Promise((resolve) => setTimeout(resolve, 0));
  vi.unstubAllGlobals();
});

it('keeps a token set on the element before the elements were defined', async () => {
  const shop = fakeJifen().on('shopper.me', aShopper()).on('shopper.coupons.catalog', [aCatalogEntry()]).on('shopper.coupons.mine', []);
  vi.stubGlobal('fetch', shop.fetch);
  document.body.innerHTML = `<jifen-coupon-exchange api-base="${API_BASE}" locale="en"></jifen-coupon-exchange>`;
  const element = document.querySelector('jifen-coupon-exchange') as HTMLElement & { token?: string };
  element.token = 'early-token';
  expect(customElements.get('jifen-coupon-exchange')).toBeUndefined();

  defineJifenElements();
  await within(element.shadowRoot as unknown as HTMLElement).findByText('You have 5,000 points.');
  expect(shop.requests[0]?.headers.get('authorization')).toBe('Bearer early-token');
  expect(element.token).toBe('early-token');
  expect(Object.prototype.hasOwnProperty.call(element, 'token')).toBe(false);
  expect(element.hasAttribute('token')).toBe(false);
});
