import { type ReactNode, type RefObject, useEffect, useId, useLayoutEffect, useRef, useState } from 'react';
import { type CallFailure, describeFailure, earlyAnswer } from './client';
import { ConfirmDialog } from './confirm-dialog';
import { CopyButton } from './copy-button';
import { type Display, formatPercent, formatZhe } from './i18n';
import { randomId } from './random-id';
import type { CatalogEntry, Coupon, CouponDiscount } from './shopper-api';
import { useDisplay } from './use-display';
import { type ConnectionProps, useJifenClient, useLocale } from './use-jifen-client';
import { identityOf, useRemote } from './use-remote';
import { Failure, Loading, WidgetFrame } from './widget-frame';

/**
 * Points for coupons (SPEC §3.1 "Coupons", §6): the catalogue with each coupon's cost, value, stock
 * left, the shopper's own limit and, when it cannot be taken, why; a confirm step; the exchange with
 * an idempotency key made when the confirm step opens, so a retried confirm (a lost answer, a double
 * click) exchanges once; the issued code with a copy button; and the shopper's coupons.
 */

/** What the host page hears when a coupon is issued (`jifen:coupon-exchanged`). */
export interface CouponExchanged {
  code: string;
  templateId: string | null;
  pointsCost: number;
  value: number | null;
  expiresAt: string | null;
}

export interface CouponExchangeProps extends ConnectionProps {
  onCouponExchanged?: (exchanged: CouponExchanged) => void;
}

interface Confirming {
  entry: CatalogEntry;
  idempotencyKey: string;
  trigger: HTMLElement | null;
}

export function CouponExchange(props: CouponExchangeProps) {
  const locale = useLocale(props);
  const client = useJifenClient(props, locale);
  const clientKey = `${identityOf(client)}`;
  const callbacks = useRef(props);
  callbacks.current = props;
  const onFailure = (failure: CallFailure) => callbacks.current.onError?.(failure);

  const me = useRemote(() => client.shopper.me.query(), clientKey, { onFailure, initial: () => earlyAnswer(client, 'shopper.me') });
  const catalog = useRemote(() => client.shopper.coupons.catalog.query(), clientKey, { onFailure, initial: () => earlyAnswer(client, 'shopper.coupons.catalog') });
  const mine = useRemote(() => client.shopper.coupons.mine.query(), clientKey, { onFailure, initial: () => earlyAnswer(client, 'shopper.coupons.mine') });
  const display = useDisplay(me.value, props, locale);
  const { t } = display;

  const [confirming, setConfirming] = useState<Confirming | null>(null);
  const [isExchanging, setExchanging] = useState(false);
  const [failure, setFailure] = useState<CallFailure | null>(null);
  const [issued, setIssued] = useState<{ coupon: Coupon; name: string } | null>(null);
  const issuedHeading = useRef<HTMLHeadingElement>(null);
  /** Where focus goes when the issued code's card closes: the list the new coupon is now in. */
  const mineHeading = useRef<HTMLHeadingElement>(null);
  const issuedTitleId = useId();

  const hasReported = useRef(false);
  // In the commit that puts the figures in the page, so the page hears it before they are painted, not a frame later.
  useLayoutEffect(() => {
    if (hasReported.current || me.value === undefined || catalog.value === undefined || mine.value === undefined) return;
    hasReported.current = true;
    callbacks.current.onReady?.();
  }, [me.value, catalog.value, mine.value]);

  useEffect(() => {
    if (issued) issuedHeading.current?.focus();
  }, [issued]);

  const refresh = () => {
    me.reload();
    catalog.reload();
    mine.reload();
  };

  async function exchange(current: Confirming) {
    setExchanging(true);
    setFailure(null);
    try {
      const coupon = await client.shopper.coupons.exchange.mutate({ templateId: current.entry.templateId, idempotencyKey: current.idempotencyKey });
      setConfirming(null);
      setIssued({ coupon, name: current.entry.name[locale] });
      callbacks.current.onCouponExchanged?.({
        code: coupon.code,
        templateId: coupon.templateId,
        pointsCost: coupon.pointsCost,
        value: coupon.value,
        expiresAt: coupon.expiresAt,
      });
      refresh();
    } catch (error) {
      const described = describeFailure(error);
      setFailure(described);
      onFailure(described);
      // A refusal means the catalogue moved under the shopper (stock, limit, balance): show it as it is now.
      if (described.reason !== null) refresh();
    } finally {
      setExchanging(false);
    }
  }

  const frame = (children: ReactNode) => (
    <WidgetFrame kind="coupon-exchange" title={t('couponsTitle')} isBusy={catalog.isLoading || isExchanging}>
      {children}
    </WidgetFrame>
  );

  const loadFailure = [me, catalog, mine].find((remote) => remote.value === undefined && remote.failure)?.failure;
  if (loadFailure) return frame(<Failure t={t} failure={loadFailure} onRetry={refresh} />);
  if (me.value === undefined || catalog.value === undefined || mine.value === undefined) return frame(<Loading t={t} />);

  const available = me.value.balance.available;
  const names = new Map(catalog.value.map((entry) => [entry.templateId, entry.name[locale]]));

  return frame(
    <>
      <p>{t('couponsBalance', { points: display.points(available) })}</p>
      {issued ? (
        <div className="card" role="group" aria-labelledby={issuedTitleId}>
          <h3 id={issuedTitleId} ref={issuedHeading} tabIndex={-1}>
            {t('issuedTitle')}
          </h3>
          <p className="code">{issued.coupon.code}</p>
          <p>{t('issuedFor', { name: issued.name, date: issued.coupon.expiresAt ? display.lastDayBefore(new Date(issued.coupon.expiresAt)) : t('noExpiry') })}</p>
          <div className="row">
            <CopyButton text={issued.coupon.code} t={t} />
            <button
              type="button"
              className="link"
              onClick={() => {
                // The card and this button leave the page: keep a keyboard user in the widget.
                mineHeading.current?.focus();
                setIssued(null);
              }}
            >
              {t('close')}
            </button>
          </div>
        </div>
      ) : null}
      {catalog.value.length === 0 ? (
        <p>{t('catalogEmpty')}</p>
      ) : (
        <ul>
          {catalog.value.map((entry) => (
            <CatalogItem
              key={entry.templateId}
              entry={entry}
              display={display}
              available={available}
              onExchange={(trigger) => {
                setFailure(null);
                setConfirming({ entry, idempotencyKey: randomId(), trigger });
              }}
            />
          ))}
        </ul>
      )}
      <MyCoupons coupons={mine.value} names={names} display={display} headingRef={mineHeading} />
      {confirming ? (
        <ConfirmDialog
          title={t('confirmTitle')}
          confirmLabel={isExchanging ? t('exchanging') : t('confirm')}
          cancelLabel={t('cancel')}
          isBusy={isExchanging}
          returnFocusTo={confirming.trigger}
          onConfirm={() => void exchange(confirming)}
          onCancel={() => setConfirming(null)}
        >
          <p>
            {t('confirmBody', {
              points: display.points(confirming.entry.pointsCost),
              name: confirming.entry.name[locale],
              after: display.points(Math.max(0, available - confirming.entry.pointsCost)),
            })}
          </p>
          {failure ? <Failure t={t} failure={failure} /> : null}
        </ConfirmDialog>
      ) : null}
    </>,
  );
}

function CatalogItem(props: { entry: CatalogEntry; display: Display; available: number; onExchange: (trigger: HTMLElement) => void }) {
  const { entry, display } = props;
  const { t, locale } = display;
  const nameId = useId();
  const reasonId = useId();
  const name = entry.name[locale];
  const reason = entry.reason ? reasonText(entry, props.available, display) : null;
  const facts = [
    t('cost', { points: display.points(entry.pointsCost) }),
    entry.stockLeft === null ? null : t('stockLeft', { count: display.count(entry.stockLeft) }),
    entry.perShopperLimit === null ? null : t('limit', { limit: display.count(entry.perShopperLimit), issued: display.count(entry.shopperIssued) }),
    t('validFor', { days: display.count(entry.validityDays) }),
  ].filter((fact) => fact !== null);

  return (
    <li className="card" aria-labelledby={nameId}>
      <h3 id={nameId}>{name}</h3>
      <p>
        {describeDiscount(entry.discount, display)} · {entry.minSpend > 0 ? t('minSpend', { money: display.money(entry.minSpend) }) : t('noMinSpend')}
      </p>
      <p className="muted">{facts.join(' · ')}</p>
      {reason ? (
        <p id={reasonId} className="error">
          {reason}
        </p>
      ) : null}
      <button
        type="button"
        disabled={reason !== null}
        aria-label={t('exchangeFor', { points: display.points(entry.pointsCost), name })}
        aria-describedby={reason ? reasonId : undefined}
        onClick={(event) => props.onExchange(event.currentTarget)}
      >
        {t('exchange')}
      </button>
    </li>
  );
}

/** A coupon's discount as a shopper reads it: "¥10.00 off", "15% off, up to ¥20.00" / "8.5 折，最高减 ¥20.00". */
export function describeDiscount(discount: CouponDiscount, display: Display): string {
  const { t, locale } = display;
  const ceiling = 'amountOffMax' in discount && discount.amountOffMax !== null ? `, ${t('upTo', { money: display.money(discount.amountOffMax) })}` : '';
  switch (discount.kind) {
    case 'fixed':
      return t('amountOff', { money: display.money(discount.amountOff) });
    case 'percent':
      return `${t('percentOff', { percent: formatPercent(discount.rateOff, locale), zhe: formatZhe(discount.rateOff) })}${locale === 'zh-CN' ? ceiling.replace(', ', '，') : ceiling}`;
    case 'freeShipping':
      return `${t('freeShipping')}${locale === 'zh-CN' ? ceiling.replace(', ', '，') : ceiling}`;
  }
}

/** Why this shopper cannot take the coupon now (the catalogue's `reason`, from the rules' `exchangeEligibility`). */
function reasonText(entry: CatalogEntry, available: number, display: Display): string {
  const { t } = display;
  const reason = entry.reason;
  switch (reason?.code) {
    case 'NOT_ACTIVE':
      return entry.activeFrom ? t('reasonNotActiveFrom', { date: display.dateOf(new Date(entry.activeFrom)) }) : t('reasonNotActive');
    case 'OUT_OF_STOCK':
      return t('reasonOutOfStock');
    case 'LIMIT_REACHED':
      return t('reasonLimitReached', { limit: display.count(entry.perShopperLimit ?? entry.shopperIssued) });
    case 'INSUFFICIENT_POINTS': {
      const held = typeof reason.available === 'number' ? reason.available : available;
      const missing = Math.max(0, entry.pointsCost - held);
      return display.pointsMessage(missing, 'reasonInsufficientPoint', 'reasonInsufficientPoints', 'missing');
    }
    default:
      return t('reasonOther');
  }
}

function MyCoupons(props: { coupons: Coupon[]; names: Map<string, string>; display: Display; headingRef: RefObject<HTMLHeadingElement | null> }) {
  const { t } = props.display;
  const titleId = useId();
  const statusKey = { issued: 'statusIssued', redeemed: 'statusRedeemed', cancelled: 'statusCancelled', expired: 'statusExpired' } as const;
  return (
    <section aria-labelledby={titleId}>
      <h3 id={titleId} ref={props.headingRef} tabIndex={-1}>
        {t('mineTitle')}
      </h3>
      {props.coupons.length === 0 ? (
        <p>{t('mineEmpty')}</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">{t('code')}</th>
              <th scope="col">{t('worth')}</th>
              <th scope="col">{t('status')}</th>
              <th scope="col">{t('expires')}</th>
            </tr>
          </thead>
          <tbody>
            {props.coupons.map((coupon) => (
              <tr key={coupon.code}>
                <th scope="row">
                  <span className="code">{coupon.code}</span>
                  <br />
                  <span className="muted">{coupon.source === 'capout' ? t('storeCredit') : (props.names.get(coupon.templateId ?? '') ?? '')}</span>
                </th>
                <td>{coupon.value === null || coupon.value === 0 ? '—' : props.display.money(coupon.value)}</td>
                <td>{t(statusKey[coupon.status])}</td>
                <td>{coupon.expiresAt ? props.display.lastDayBefore(new Date(coupon.expiresAt)) : t('noExpiry')}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
