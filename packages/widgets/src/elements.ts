import { type ReactElement, createElement } from 'react';
import { type Root, createRoot } from 'react-dom/client';
import { type CallFailure, type JifenClient, createJifenClient } from './client';
import { CouponExchange } from './coupon-exchange';
import { createEarlyStart } from './early-start';
import { ExpiryBanner } from './expiry-banner';
import { parseItems, wholeNumber } from './first-calls';
import {
  type HostOptions,
  type JifenHostElement,
  type MountedWidget,
  type WidgetKind,
  type WidgetModule,
  defineJifenHosts,
  dispatchJifenEvent,
} from './host-element';
import { type Locale, resolveLocale } from './i18n';
import { PointsCheckout } from './points-checkout';
import type { OrderLine } from './shopper-api';
import type { ConnectionProps } from './use-jifen-client';

/**
 * The custom elements `<jifen-points-checkout>`, `<jifen-coupon-exchange>` and
 * `<jifen-expiry-banner>` (SPEC §6): the React widgets rendered into each host's shadow root,
 * configured by attributes (a change re-renders), the token as a property, and the widgets'
 * callbacks turned into `jifen:*` events on the host that bubble and cross the shadow boundary.
 */

/**
 * Elements that fetch their token from the same endpoint share one client: one token request and
 * one batched call for everything the page's widgets ask in the same tick. With an early start
 * (the loader's), that client uses its token source and takes the first answers it fetched.
 */
const sharedClients = new Map<string, JifenClient>();

function clientFor(host: JifenHostElement, apiBase: string, tokenEndpoint: string | null, locale: Locale): JifenClient {
  const options = { apiBase, tokenEndpoint, locale, token: () => host.token };
  if (host.token !== null || tokenEndpoint === null) return createJifenClient(options);
  const key = JSON.stringify([apiBase, tokenEndpoint, options.locale]);
  let client = sharedClients.get(key);
  if (!client) {
    const early = host.early?.connection(apiBase, tokenEndpoint, locale);
    client = createJifenClient({ ...options, token: null, ...(early ? { tokenSource: early.tokens, early: early.answers } : {}) });
    sharedClients.set(key, client);
  }
  return client;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function invalidAttribute(host: JifenHostElement, name: string, expected: string): void {
  dispatchJifenEvent(host, 'jifen:error', {
    message: `jifen: <${host.localName}> ${name}="${host.getAttribute(name) ?? ''}" must be ${expected}`,
    reason: 'INVALID_ATTRIBUTE',
    facts: { attribute: name },
  });
}

function itemsOf(host: JifenHostElement): OrderLine[] | null {
  const items = parseItems(host.getAttribute('items'));
  if (items !== 'invalid') return items;
  invalidAttribute(host, 'items', 'a JSON list of order lines such as [{"sku":"tea","amount":4800}]');
  return null;
}

/** The props every widget takes, from the host's attributes, with its callbacks as events on the host. */
function connectionFor(host: JifenHostElement, kind: WidgetKind, client: JifenClient, locale: string): ConnectionProps {
  return {
    client,
    locale,
    currency: host.getAttribute('currency'),
    timeZone: host.getAttribute('time-zone'),
    onReady: () => dispatchJifenEvent(host, 'jifen:ready', { widget: kind }),
    // The shopper sees "could not be reached"; the page's developer hears what actually went wrong.
    onError: (failure: CallFailure) =>
      dispatchJifenEvent(host, 'jifen:error', { message: failure.message ?? messageOf(failure.error), reason: failure.reason, facts: failure.facts }),
  };
}

/** The widget for a host as it stands, or null while a required attribute is missing or malformed. */
function widgetFor(host: JifenHostElement, kind: WidgetKind, connection: ConnectionProps): ReactElement | null {
  switch (kind) {
    case 'points-checkout': {
      const cartAmount = wholeNumber(host.getAttribute('cart-amount'));
      if (cartAmount === null) {
        invalidAttribute(host, 'cart-amount', 'a whole number of minor currency units (fen, cents)');
        return null;
      }
      return createElement(PointsCheckout, {
        ...connection,
        cartAmount,
        items: itemsOf(host),
        couponCode: host.getAttribute('coupon-code'),
        checkoutId: host.getAttribute('checkout-id'),
        onPointsChange: (change) => dispatchJifenEvent(host, 'jifen:points-change', change),
      });
    }
    case 'coupon-exchange':
      return createElement(CouponExchange, { ...connection, onCouponExchanged: (exchanged) => dispatchJifenEvent(host, 'jifen:coupon-exchanged', exchanged) });
    case 'expiry-banner':
      return createElement(ExpiryBanner, { ...connection, exchangeHref: host.getAttribute('exchange-href'), windowDays: wholeNumber(host.getAttribute('window-days')) });
  }
}

export function mountWidget(host: JifenHostElement, kind: WidgetKind): MountedWidget {
  const root: Root = createRoot(host.container);
  let client: { key: string; value: JifenClient } | null = null;

  function render() {
    const apiBase = host.getAttribute('api-base') ?? host.apiBaseDefault;
    const tokenEndpoint = host.getAttribute('token-endpoint');
    const locale = resolveLocale(host.getAttribute('locale'), host);
    // A new token may be another shopper's: a new client, so every widget asks again.
    const key = JSON.stringify([apiBase, tokenEndpoint, locale, host.token]);
    if (client?.key !== key) client = { key, value: clientFor(host, apiBase, tokenEndpoint, locale) };
    root.render(widgetFor(host, kind, connectionFor(host, kind, client.value, locale)));
  }

  render();
  return { update: render, unmount: () => root.unmount() };
}

export const widgetModule: WidgetModule = { mountWidget };

/**
 * Registers the three elements with the widget code already loaded, for pages that bundle
 * `@jifen/widgets` themselves; a script-tag page uses `/widgets/jifen.js` instead.
 */
export function defineJifenElements(options: Omit<HostOptions, 'load'> = {}): void {
  defineJifenHosts({ early: createEarlyStart(), ...options, load: async () => widgetModule });
}
