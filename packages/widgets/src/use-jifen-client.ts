import { useMemo } from 'react';
import { type CallFailure, type JifenClient, createJifenClient } from './client';
import { type Locale, resolveLocale } from './i18n';

/** How every widget reaches jifen and says what happened; the custom elements fill these from attributes. */
export interface ConnectionProps {
  /** A client shared by the page's widgets (one token fetch, batched calls); else one is made from the props below. */
  client?: JifenClient;
  /** Where jifen serves its API; defaults to the page's own origin. */
  apiBase?: string;
  /** The shopper token (a secret: pass it as a prop or property, never put it in markup). */
  token?: string | null;
  /** The merchant's endpoint answering `{ token, expiresAt }` for the signed-in shopper. */
  tokenEndpoint?: string | null;
  /** `zh-CN` or `en`; defaults to the page's `lang`. */
  locale?: string | null;
  /** The merchant's currency and time zone, when the server does not say them. */
  currency?: string | null;
  timeZone?: string | null;
  /** The first content is on screen. */
  onReady?: () => void;
  /** A call failed; the widget shows it too. */
  onError?: (failure: CallFailure) => void;
}

/**
 * The props' client, or one built from `apiBase` + token. A new token builds a new client, so the
 * widget asks again: it may be another shopper's.
 */
export function useJifenClient(props: ConnectionProps, locale: Locale): JifenClient {
  const { client, apiBase = '', token, tokenEndpoint } = props;
  return useMemo(
    () => client ?? createJifenClient({ apiBase, tokenEndpoint: tokenEndpoint ?? null, token: token ?? null, locale }),
    [client, apiBase, token, tokenEndpoint, locale],
  );
}

export function useLocale(props: Pick<ConnectionProps, 'locale'>): Locale {
  return resolveLocale(props.locale);
}
