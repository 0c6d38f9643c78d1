import { type ReactNode, useEffect, useLayoutEffect, useRef, useState } from 'react';
import { type RedemptionQuote, minor, pointUnits, ratio, splitFor, valueOfPoints } from '@jifen/rules';
import { type CallFailure, describeFailure, earlyAnswer, serverNow } from './client';
import { cartInput } from './first-calls';
import type { Display } from './i18n';
import { PointsPicker, isValidChoice, snapToQuote } from './points-picker';
import { randomId } from './random-id';
import type { CheckoutQuote, Hold, OrderLine } from './shopper-api';
import { useDisplay } from './use-display';
import { type ConnectionProps, useJifenClient, useLocale } from './use-jifen-client';
import { identityOf, useRemote } from './use-remote';
import { Failure, Loading, WidgetFrame } from './widget-frame';

/**
 * Points + cash at checkout (SPEC §3.1 "Redemption", §6). The server quotes the cart once; every
 * move of the slider is priced in the browser by the rules' `splitFor` (no round trip per
 * keystroke); "Use N points" reserves a hold, and changing one's mind releases it first. The host
 * page learns the reserved split from `onPointsChange` (the element's `jifen:points-change`).
 *
 * Reserving on a button rather than on every pause of the slider keeps the ledger free of a trail of
 * placed-and-released holds, and makes "these points are now set aside" an act the shopper chose.
 * Unmounting does not release the hold: the page may be moving on to pay, and the merchant backend
 * captures the hold by its id; an abandoned hold expires after `holdTtlSeconds`.
 */

/** What the host page's total needs: the reserved points, what they pay, the cash left and the hold to capture. */
export interface PointsChange {
  points: number;
  value: number;
  cashDue: number;
  holdId: string | null;
}

export interface PointsCheckoutProps extends ConnectionProps {
  /** Everything the shopper would pay before coupons and points (minor units), shipping included. */
  cartAmount: number;
  /** The cart's goods; lines in excluded categories cannot be paid with points. */
  items?: OrderLine[] | null;
  /** A coupon already applied to this cart (coupons apply before points). */
  couponCode?: string | null;
  /** The host's checkout id; each reservation gets its own id under it. */
  checkoutId?: string | null;
  onPointsChange?: (change: PointsChange) => void;
}

/** Refusals after which the server's figures have moved: quote again. */
const REQUOTE_REASONS = new Set(['POINTS_OUT_OF_RANGE', 'POINTS_OFF_STEP', 'INSUFFICIENT_POINTS', 'BELOW_MINIMUM', 'CAP_BELOW_MINIMUM', 'NOTHING_TO_REDEEM']);

/** The server's quote as the rules' `RedemptionQuote`, so `splitFor` prices any choice exactly as the server will. */
export function toRulesQuote(quote: CheckoutQuote): RedemptionQuote | null {
  const range = quote.redeemable;
  if (range === null) return null;
  return {
    minPoints: pointUnits(range.minPoints),
    maxPoints: pointUnits(range.maxPoints),
    step: pointUnits(range.step),
    unitValue: ratio(BigInt(quote.unitValue.numerator), BigInt(quote.unitValue.denominator)),
    payable: minor(quote.payable),
    pointsEligibleAmount: minor(range.pointsEligibleAmount),
    valueCap: minor(range.valueCap),
    maxValue: minor(range.maxValue),
    lines: range.lines.map((line) => ({
      ...line,
      amount: minor(line.amount),
      couponDiscount: minor(line.couponDiscount),
      pointsEligibleAmount: minor(line.pointsEligibleAmount),
    })),
  };
}

interface ActiveHold {
  view: Hold;
  /** The cart it was reserved for; a new cart moves the hold. */
  cartKey: string;
}

type Activity = 'idle' | 'reserving' | 'releasing';

export function PointsCheckout(props: PointsCheckoutProps) {
  const locale = useLocale(props);
  const client = useJifenClient(props, locale);
  const clientKey = identityOf(client);
  const { cartAmount, items, couponCode } = props;
  const cartKey = JSON.stringify([cartAmount, items ?? null, couponCode ?? null]);
  const callbacks = useRef(props);
  callbacks.current = props;
  const onFailure = (failure: CallFailure) => callbacks.current.onError?.(failure);

  // Held points leave `available`, so the quote is asked again only when the ledger moved for
  // another reason (a release, an expiry, a refusal): never right after our own reserve.
  const [ledgerRevision, setLedgerRevision] = useState(0);
  const me = useRemote(() => client.shopper.me.query(), `${clientKey}`, { onFailure, initial: () => earlyAnswer(client, 'shopper.me') });
  const cart = cartInput(cartAmount, items, couponCode);
  const quote = useRemote(() => client.shopper.checkout.quote.query(cart), `${clientKey}\u0000${cartKey}\u0000${ledgerRevision}`, {
    onFailure,
    initial: () => earlyAnswer(client, 'shopper.checkout.quote', cart),
  });
  const display = useDisplay(me.value, props, locale);
  const rulesQuote = quote.value ? toRulesQuote(quote.value) : null;

  const [chosen, setChosen] = useState<number | null>(null);
  const [isChoiceValid, setChoiceValid] = useState(true);
  const [hold, setHold] = useState<ActiveHold | null>(null);
  const [activity, setActivity] = useState<Activity>('idle');
  const [expired, setExpired] = useState<{ points: number } | null>(null);
  const [failure, setFailure] = useState<CallFailure | null>(null);
  /** Points to reserve again once the new cart is quoted (the cart changed under a hold). */
  const [moving, setMoving] = useState<{ points: number; afterRevision: number } | null>(null);
  const baseCheckoutId = useRef(props.checkoutId ?? `co_${randomId()}`);
  /**
   * "Use N points" and "Don't use points" each leave the page once they did their work. When the
   * one pressed had the keyboard focus, it moves to the button that replaced it, not to <body>.
   */
  const refocus = useRef<'none' | 'pressed' | 'done'>('none');
  const useButton = useRef<HTMLButtonElement>(null);
  const releaseButton = useRef<HTMLButtonElement>(null);
  /** The reserve being tried: a retry of the same choice reuses its checkout id, so a lost answer cannot reserve twice. */
  const attempt = useRef<{ key: string; checkoutId: string } | null>(null);

  const payable = quote.value?.payable ?? cartAmount;
  const emit = (change: PointsChange) => callbacks.current.onPointsChange?.(change);
  const emitNone = () => emit({ points: 0, value: 0, cashDue: payable, holdId: null });

  useEffect(() => {
    if (props.checkoutId) baseCheckoutId.current = props.checkoutId;
  }, [props.checkoutId]);

  // Every new quote keeps the shopper's choice when it still fits, else the nearest that does; the first starts at the most.
  useEffect(() => {
    if (rulesQuote === null || quote.isLoading) return;
    setChosen((current) => (current === null ? rulesQuote.maxPoints : snapToQuote(rulesQuote, current)));
  }, [quote.value, quote.isLoading]);

  const hasReported = useRef(false);
  // In the commit that puts the figures in the page, so the page hears it before they are painted, not a frame later.
  useLayoutEffect(() => {
    if (hasReported.current || me.value === undefined || quote.value === undefined) return;
    hasReported.current = true;
    callbacks.current.onReady?.();
  }, [me.value, quote.value]);

  async function releaseHold(holdId: string): Promise<void> {
    try {
      await client.shopper.checkout.release.mutate({ holdId });
    } catch (error) {
      // Captured, expired or already released: either way nothing is held any more.
      if (describeFailure(error).reason !== 'HOLD_NOT_ACTIVE') throw error;
    }
  }

  function fail(error: unknown) {
    const described = describeFailure(error);
    setFailure(described);
    onFailure(described);
    if (described.reason !== null && REQUOTE_REASONS.has(described.reason)) setLedgerRevision((value) => value + 1);
  }

  async function reserve(points: number) {
    refocus.current = document.activeElement?.tagName === 'BUTTON' ? 'pressed' : 'none';
    setActivity('reserving');
    setFailure(null);
    setExpired(null);
    // Set once the old hold is gone: a release that failed leaves it held, and the host page is not told otherwise.
    let releasedHold = false;
    try {
      if (hold) {
        await releaseHold(hold.view.holdId);
        releasedHold = true;
        setHold(null);
      }
      const key = JSON.stringify([points, cartKey]);
      if (attempt.current?.key !== key) attempt.current = { key, checkoutId: `${baseCheckoutId.current.slice(0, 90)}.${randomId().slice(0, 12)}` };
      const view = await client.shopper.checkout.reserve.mutate({ checkoutId: attempt.current.checkoutId, points, ...cart });
      attempt.current = null;
      setHold({ view, cartKey });
      emit({ points: view.points, value: view.value, cashDue: view.cashDue, holdId: view.holdId });
    } catch (error) {
      if (releasedHold) emitNone();
      fail(error);
    } finally {
      if (refocus.current === 'pressed') refocus.current = 'done';
      setActivity('idle');
    }
  }

  async function release() {
    if (!hold) return;
    refocus.current = document.activeElement?.tagName === 'BUTTON' ? 'pressed' : 'none';
    setActivity('releasing');
    setFailure(null);
    try {
      await releaseHold(hold.view.holdId);
      setHold(null);
      emitNone();
      setLedgerRevision((value) => value + 1);
    } catch (error) {
      fail(error);
    } finally {
      if (refocus.current === 'pressed') refocus.current = 'done';
      setActivity('idle');
    }
  }

  useEffect(() => {
    if (refocus.current !== 'done' || activity !== 'idle') return;
    const active = document.activeElement;
    // Focus is somewhere already (the pressed button is still there, or the shopper moved on).
    if (active !== null && active !== document.body) {
      refocus.current = 'none';
      return;
    }
    // A button disabled while the cart is quoted again takes focus once it is enabled.
    const target = hold ? releaseButton.current : useButton.current;
    if (target && !target.disabled) {
      target.focus();
      refocus.current = 'none';
    }
  });

  // A hold lasts `holdTtlSeconds` (SPEC §3.1): when it lapses, the order is back to full price.
  useEffect(() => {
    if (!hold) return;
    const timer = setTimeout(() => {
      setHold(null);
      setExpired({ points: hold.view.points });
      emitNone();
      setLedgerRevision((value) => value + 1);
    }, Math.max(0, Date.parse(hold.view.expiresAt) - serverNow(client)));
    return () => clearTimeout(timer);
  }, [hold]);

  // The cart changed under a hold: release it, quote the new cart with those points free, reserve again.
  useEffect(() => {
    if (!hold || hold.cartKey === cartKey || activity !== 'idle') return;
    const points = hold.view.points;
    setActivity('releasing');
    releaseHold(hold.view.holdId).then(
      () => {
        setHold(null);
        setMoving({ points, afterRevision: ledgerRevision + 1 });
        setLedgerRevision((value) => value + 1);
        setActivity('idle');
      },
      (error: unknown) => {
        setActivity('idle');
        fail(error);
      },
    );
  }, [cartKey, hold, activity]);

  useEffect(() => {
    if (!moving || quote.isLoading || ledgerRevision < moving.afterRevision || quote.value === undefined) return;
    setMoving(null);
    if (rulesQuote === null) {
      emitNone();
      return;
    }
    const points = snapToQuote(rulesQuote, moving.points);
    setChosen(points);
    void reserve(points);
  }, [moving, quote.isLoading, quote.value, ledgerRevision]);

  const frame = (children: ReactNode) => (
    <WidgetFrame kind="points-checkout" title={display.t('checkoutTitle')} isBusy={quote.isLoading || activity !== 'idle'}>
      {children}
    </WidgetFrame>
  );

  const loadFailure = me.value === undefined ? me.failure : quote.value === undefined ? quote.failure : null;
  if (loadFailure) {
    return frame(
      <Failure
        t={display.t}
        failure={loadFailure}
        onRetry={() => {
          me.reload();
          quote.reload();
        }}
      />,
    );
  }
  if (me.value === undefined || quote.value === undefined) return frame(<Loading t={display.t} />);

  const available = quote.value.availablePoints;
  const unitValue = ratio(BigInt(quote.value.unitValue.numerator), BigInt(quote.value.unitValue.denominator));
  const balance = (
    <>
      <p>{display.t('balance', { points: display.points(available), money: display.money(valueOfPoints(available, unitValue)) })}</p>
      {me.value.balance.pending > 0 ? <p className="muted">{display.pointsMessage(me.value.balance.pending, 'pendingPoint', 'pendingPoints')}</p> : null}
    </>
  );

  if (rulesQuote === null) {
    return frame(
      <>
        {balance}
        <p>{refusalMessage(quote.value, display)}</p>
        {failure ? <Failure t={display.t} failure={failure} /> : null}
      </>,
    );
  }

  const points = chosen === null ? rulesQuote.maxPoints : isValidChoice(rulesQuote, chosen) ? chosen : snapToQuote(rulesQuote, chosen);
  const split = splitFor(rulesQuote, points);
  const preview = split.ok ? split.value : { points, value: 0, cashDue: rulesQuote.payable };
  // While a new cart is being quoted the figures on screen are the old cart's: nothing acts on them.
  const isBusy = activity !== 'idle' || moving !== null || quote.isLoading;
  const isHeldAsChosen = hold !== null && hold.view.points === points;
  const pointsLabel = display.points(points);

  return frame(
    <>
      {balance}
      <PointsPicker quote={rulesQuote} points={points} display={display} isDisabled={isBusy} onChange={setChosen} onValidityChange={setChoiceValid} />
      <dl className="split">
        <dt>{display.t('pointsPay')}</dt>
        <dd>{display.money(preview.value)}</dd>
        <dt>{display.t('youPay')}</dt>
        <dd>{display.money(preview.cashDue)}</dd>
      </dl>
      <div className="row">
        {isHeldAsChosen ? null : (
          <button type="button" ref={useButton} disabled={isBusy || !isChoiceValid} onClick={() => void reserve(points)}>
            {display.t(hold ? 'useInstead' : 'usePoints', { points: pointsLabel })}
          </button>
        )}
        {hold ? (
          <button type="button" className="secondary" ref={releaseButton} disabled={isBusy} onClick={() => void release()}>
            {display.t('dontUsePoints')}
          </button>
        ) : null}
      </div>
      <p role="status">
        {activity === 'reserving' || moving
          ? display.t('reserving')
          : hold
            ? display.t('reserved', { points: display.points(hold.view.points), money: display.money(hold.view.value), time: display.time(new Date(hold.view.expiresAt)) })
            : ''}
      </p>
      {expired ? (
        <div role="alert">
          <p>{display.t('holdExpired')}</p>
          <button type="button" disabled={isBusy} onClick={() => void reserve(snapToQuote(rulesQuote, expired.points))}>
            {display.t('reserveAgain', { points: display.points(snapToQuote(rulesQuote, expired.points)) })}
          </button>
        </div>
      ) : null}
      {failure ? <Failure t={display.t} failure={failure} /> : null}
    </>,
  );
}

/** Why points cannot be used on this cart, in the shopper's words (the quote's refusal, SPEC §3.1). */
function refusalMessage(quote: CheckoutQuote, display: Display): string {
  const refusal = quote.refusal;
  const minPoints = typeof refusal?.minPoints === 'number' ? refusal.minPoints : 0;
  if (quote.availablePoints === 0) return display.t('noPoints');
  if (refusal?.code === 'BELOW_MINIMUM') return display.t('belowMinimum', { min: display.points(minPoints), available: display.points(quote.availablePoints) });
  if (refusal?.code === 'CAP_BELOW_MINIMUM') return display.t('capBelowMinimum', { min: display.points(minPoints) });
  return display.t('nothingToRedeem');
}
