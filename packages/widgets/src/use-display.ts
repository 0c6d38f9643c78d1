import { useMemo } from 'react';
import { type Display, type Locale, displayFor } from './i18n';
import type { ShopperMe } from './shopper-api';
import type { ConnectionProps } from './use-jifen-client';

/** Appendix A's defaults, for a server that does not say: a classic program in CNY, Asia/Shanghai. */
const CURRENCY_DEFAULT = 'CNY';
const TIME_ZONE_DEFAULT = 'Asia/Shanghai';

/** The formatters for this shopper's program: the server's figures first, then the page's settings. */
export function useDisplay(me: ShopperMe | undefined, props: Pick<ConnectionProps, 'currency' | 'timeZone'>, locale: Locale): Display {
  const currency = me?.currency ?? props.currency ?? CURRENCY_DEFAULT;
  const timeZone = me?.timeZone ?? props.timeZone ?? TIME_ZONE_DEFAULT;
  const pointDecimals = me?.pointDecimals ?? 0;
  return useMemo(() => displayFor({ locale, currency, timeZone, pointDecimals }), [locale, currency, timeZone, pointDecimals]);
}
