import { type ReactNode, useId, useLayoutEffect, useRef, useState } from 'react';
import { ratio, valueOfPoints } from '@jifen/rules';
import { type CallFailure, earlyAnswer } from './client';
import { dismissOn, isDismissedOn } from './dismissal';
import { POOL_HISTORY_LIMIT } from './first-calls';
import { type Display, daysUntil, localDateIn } from './i18n';
import { type PoolPricePoint, type ShopperMe, type UpcomingExpiries, shopperExpiry } from './shopper-api';
import { Sparkline } from './sparkline';
import { useDisplay } from './use-display';
import { type ConnectionProps, useJifenClient, useLocale } from './use-jifen-client';
import { identityOf, useRemote } from './use-remote';
import { Failure, WidgetFrame } from './widget-frame';

/**
 * The expiry banner (SPEC §3.1 "Expiry", §6): the soonest expiring points, their value and their
 * last day (relative and absolute, in the merchant's time zone), a link to the coupon exchange, a
 * "dismiss for today", and the whole schedule grouped by date on request. In pool mode (SPEC §3.2)
 * it also shows what a point is worth now, the price history and the disclosure line; those stay
 * on screen when nothing expires, since the disclosure must accompany the pool's figures.
 */

export interface ExpiryBannerProps extends ConnectionProps {
  /** Where the shop's coupon exchange lives; the banner links there. */
  exchangeHref?: string | null;
  /** Only expiries within this many days show (default 30, the first reminder of the default program). */
  windowDays?: number | null;
}

const WINDOW_DAYS_DEFAULT = 30;

export function ExpiryBanner(props: ExpiryBannerProps) {
  const locale = useLocale(props);
  const client = useJifenClient(props, locale);
  const clientKey = `${identityOf(client)}`;
  const callbacks = useRef(props);
  callbacks.current = props;
  const onFailure = (failure: CallFailure) => callbacks.current.onError?.(failure);

  const me = useRemote<ShopperMe>(() => client.shopper.me.query(), clientKey, { onFailure, initial: () => earlyAnswer(client, 'shopper.me') });
  // Asked in the same batch as `me`: a fixed-value program answers an empty history.
  const historyInput = { limit: POOL_HISTORY_LIMIT };
  const history = useRemote(() => client.shopper.pool.history.query(historyInput), clientKey, { onFailure, initial: () => earlyAnswer(client, 'shopper.pool.history', historyInput) });
  const display = useDisplay(me.value, props, locale);
  const { t } = display;
  const [isOpen, setOpen] = useState(false);
  const schedule = useRemote(() => shopperExpiry(client).upcoming.query(), clientKey, { isEnabled: isOpen, onFailure });
  const [dismissedDay, setDismissedDay] = useState<string | null>(null);
  const scheduleId = useId();

  const hasReported = useRef(false);
  // In the commit that puts the figures in the page, so the page hears it before they are painted, not a frame later.
  useLayoutEffect(() => {
    if (hasReported.current || me.value === undefined || history.value === undefined) return;
    hasReported.current = true;
    callbacks.current.onReady?.();
  }, [me.value, history.value]);

  const frame = (children: ReactNode) => (
    <WidgetFrame kind="expiry-banner" className="banner" title={t('bannerLabel')} isBusy={me.isLoading}>
      {children}
    </WidgetFrame>
  );

  const loadFailure = me.value === undefined ? me.failure : history.value === undefined ? history.failure : null;
  if (loadFailure) {
    return frame(
      <Failure
        t={t}
        failure={loadFailure}
        onRetry={() => {
          me.reload();
          history.reload();
        }}
      />,
    );
  }
  // Nothing to say until the figures are in: a banner does not flash a loading line on every page.
  if (me.value === undefined || history.value === undefined) return null;

  const now = new Date();
  const today = localDateIn(now, display.timeZone);
  if (dismissedDay === today || isDismissedOn(me.value.shopperId, today)) return null;

  const windowDays = props.windowDays ?? WINDOW_DAYS_DEFAULT;
  const expiring = me.value.expiring;
  const isExpiringSoon = expiring !== null && expiring.points > 0 && daysUntil(expiring.date, now, display.timeZone) <= windowDays;
  const isPool = me.value.valuation === 'pool' || history.value.length > 0;
  if (!isExpiringSoon && !isPool) return null;

  const shopperId = me.value.shopperId;
  return frame(
    <>
      {isExpiringSoon && expiring ? (
        <>
          <p>
            {t('expiring', {
              points: display.points(expiring.points),
              money: display.money(pointsValue(me.value, expiring.points)),
              relative: display.relativeDay(expiring.date, now),
              date: display.date(expiring.date),
            })}
          </p>
          <div className="row">
            {props.exchangeHref ? <a href={props.exchangeHref}>{t('useThemOnCoupon')}</a> : null}
            <button type="button" className="secondary" aria-expanded={isOpen} aria-controls={scheduleId} onClick={() => setOpen(!isOpen)}>
              {t(isOpen ? 'hideSchedule' : 'showSchedule')}
            </button>
          </div>
          <div id={scheduleId} hidden={!isOpen}>
            {isOpen ? <Schedule groups={schedule.value} failure={schedule.failure} onRetry={schedule.reload} me={me.value} display={display} now={now} /> : null}
          </div>
        </>
      ) : null}
      {isPool ? (
        <>
          <p>{t('pointValue', { price: display.exactPrice(me.value.pointValue.minor, me.value.pointValue.perPoints) })}</p>
          {history.value.length > 1 ? (
            <Sparkline
              values={history.value.map((point) => Number(point.price))}
              label={t('priceHistory', {
                count: display.count(history.value.length),
                first: historyPrice(history.value[0]!, display),
                last: historyPrice(history.value[history.value.length - 1]!, display),
              })}
            />
          ) : null}
          <p className="disclosure">{t('disclosure')}</p>
        </>
      ) : null}
      <button
        type="button"
        className="link"
        onClick={() => {
          dismissOn(shopperId, today);
          setDismissedDay(today);
        }}
      >
        {t('dismissForToday')}
      </button>
    </>,
  );
}

/** A price of the history from its exact pool and supply (rounded once); the server's string while nothing was outstanding. */
function historyPrice(point: PoolPricePoint, display: Display): string {
  return point.supply > 0 ? display.exactPrice(point.amount, point.supply) : display.price(point.price);
}

/** Money the points would pay now (rounded down, SPEC §2): `pointValue` is minor units per point unit. */
function pointsValue(me: ShopperMe, points: number): number {
  return valueOfPoints(points, ratio(BigInt(me.pointValue.minor), BigInt(me.pointValue.perPoints)));
}

function Schedule(props: { groups: UpcomingExpiries | undefined; failure: CallFailure | null; onRetry: () => void; me: ShopperMe; display: Display; now: Date }) {
  const { display } = props;
  const { t } = display;
  if (props.groups === undefined && props.failure) return <Failure t={t} failure={props.failure} onRetry={props.onRetry} />;
  if (props.groups === undefined) return <p role="status">{t('loading')}</p>;
  return (
    <>
      <h3>{t('scheduleTitle')}</h3>
      {props.groups.length === 0 ? (
        <p>{t('scheduleEmpty')}</p>
      ) : (
        <ul>
          {props.groups.map((group) => (
            <li key={group.date}>
              {display.date(group.date)} ({display.relativeDay(group.date, props.now)}): {display.points(group.points)}, {display.money(pointsValue(props.me, group.points))}
            </li>
          ))}
        </ul>
      )}
    </>
  );
}
