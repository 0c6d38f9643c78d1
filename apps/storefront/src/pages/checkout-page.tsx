import { type PointsChange, PointsCheckout, describeFailure } from '@jifen/widgets';
import { useCallback, useMemo, useState } from 'react';
import { clearCart, orderItems, useCart } from '../cart';
import { payOrder } from '../demo-backend';
import { formatMoney } from '../messages';
import { keepReceipt } from '../receipt';
import { navigate } from '../router';
import { useShop } from '../shop';
import { SignInRequired } from './sign-in-required';

type Activity = 'idle' | 'paying' | 'cancelling';

/**
 * Checkout: the cart, the points widget and the pay button. The widget reserves a hold and says
 * so through `onPointsChange` (the element's `jifen:points-change`); the page shows the cash due
 * from it and sends the hold with the order, and the demo backend captures it with
 * `merchant.orders.paid`. Cancelling the checkout releases the hold, since the widget keeps a hold
 * when it leaves the page (docs/widgets.md "Paying with the held points").
 */
export function CheckoutPage() {
  const { t, locale, client, shopperId, touchLedger } = useShop();
  const cart = useCart();
  const items = useMemo(() => orderItems(cart), [cart]);
  const checkoutId = useMemo(() => `cart-${crypto.randomUUID().slice(0, 8)}`, []);
  const [points, setPoints] = useState<PointsChange | null>(null);
  const onPointsChange = useCallback(
    (change: PointsChange) => {
      setPoints(change);
      touchLedger();
    },
    [touchLedger],
  );
  const [activity, setActivity] = useState<Activity>('idle');
  const [failure, setFailure] = useState<string | null>(null);

  if (!client || shopperId === null) return <SignInRequired title={t('checkoutTitle')} />;
  if (cart.lines.length === 0) {
    return (
      <>
        <h1 tabIndex={-1}>{t('checkoutTitle')}</h1>
        <p>
          {t('cartEmpty')} <a href="/">{t('browseProducts')}</a>
        </p>
      </>
    );
  }

  const holdId = points?.holdId ?? null;
  const cashDue = points?.cashDue ?? cart.amountMinor;

  async function pay() {
    setActivity('paying');
    setFailure(null);
    try {
      const paid = await payOrder({ shopperId: shopperId!, cartAmount: cart.amountMinor, items, holdId });
      keepReceipt(paid);
      clearCart();
      touchLedger();
      navigate('/account');
    } catch (error) {
      setFailure(t('payFailed', { message: error instanceof Error ? error.message : String(error) }));
      setActivity('idle');
    }
  }

  async function cancel() {
    setActivity('cancelling');
    setFailure(null);
    try {
      if (holdId !== null) await client!.shopper.checkout.release.mutate({ holdId });
      touchLedger();
      navigate('/cart');
    } catch (error) {
      setFailure(describeFailure(error).message ?? String(error));
      setActivity('idle');
    }
  }

  return (
    <>
      <h1 tabIndex={-1}>{t('checkoutTitle')}</h1>
      <div className="checkout">
        <section aria-labelledby="order-summary">
          <h2 id="order-summary">{t('orderSummary')}</h2>
          <ul className="summary">
            {cart.lines.map((line) => (
              <li key={line.product.sku}>
                <span>
                  {line.product.name[locale]} × {line.quantity}
                </span>
                <span>{formatMoney(line.amountMinor, locale)}</span>
              </li>
            ))}
          </ul>
          <dl className="totals">
            <dt>{t('total')}</dt>
            <dd>{formatMoney(cart.amountMinor, locale)}</dd>
            <dt>{t('pointsOff')}</dt>
            <dd>{formatMoney(-(points?.value ?? 0), locale)}</dd>
            <dt>{t('cashDue')}</dt>
            <dd>
              <output aria-live="polite" data-cash-due={cashDue}>
                {formatMoney(cashDue, locale)}
              </output>
            </dd>
          </dl>
        </section>
        <div className="checkout-points">
          <PointsCheckout client={client} locale={locale} checkoutId={checkoutId} cartAmount={cart.amountMinor} items={items} onPointsChange={onPointsChange} />
        </div>
      </div>
      <div className="actions">
        <button type="button" className="primary" disabled={activity !== 'idle'} onClick={() => void pay()}>
          {activity === 'paying' ? t('paying') : t('pay', { money: formatMoney(cashDue, locale) })}
        </button>
        <button type="button" className="secondary" disabled={activity !== 'idle'} onClick={() => void cancel()}>
          {activity === 'cancelling' ? t('cancelling') : t('cancelCheckout')}
        </button>
      </div>
      {failure ? <p role="alert">{failure}</p> : null}
    </>
  );
}
