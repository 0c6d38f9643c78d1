import { type JifenClient, describeFailure } from '@jifen/widgets';
import { useEffect, useState } from 'react';
import { type Translate, formatDate, formatDateTime, formatMoney, formatNumber, kindKey } from '../messages';
import { lastReceipt } from '../receipt';
import { useShop } from '../shop';
import { SignInRequired } from './sign-in-required';

type Me = Awaited<ReturnType<JifenClient['shopper']['me']['query']>>;
type Activity = Awaited<ReturnType<JifenClient['shopper']['activity']['query']>>;

/** "My points": the order just paid, the balance (available, pending, reserved) and the latest journal entries. */
export function AccountPage() {
  const { t, locale, client } = useShop();
  const [figures, setFigures] = useState<{ me: Me; activity: Activity } | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const receipt = lastReceipt();

  useEffect(() => {
    if (!client) return;
    let isCurrent = true;
    setFigures(null);
    setFailure(null);
    Promise.all([client.shopper.me.query(), client.shopper.activity.query({ limit: 10 })]).then(
      ([me, activity]) => {
        if (isCurrent) setFigures({ me, activity });
      },
      (error: unknown) => {
        if (isCurrent) setFailure(describeFailure(error).message ?? String(error));
      },
    );
    return () => {
      isCurrent = false;
    };
  }, [client]);

  if (!client) return <SignInRequired title={t('accountTitle')} />;

  return (
    <>
      <h1 tabIndex={-1}>{t('accountTitle')}</h1>
      {receipt ? (
        <section className="receipt" aria-labelledby="receipt-title">
          <h2 id="receipt-title">{t('paidTitle')}</h2>
          <p>{t('paidSummary', { orderId: receipt.orderId, cash: formatMoney(receipt.cashPaid, locale) })}</p>
          {receipt.captured ? <p>{t('paidPoints', { points: formatNumber(receipt.captured.points, locale), money: formatMoney(receipt.captured.value, locale) })}</p> : null}
          <p>
            {receipt.earned.points > 0
              ? t('earnedPending', { points: formatNumber(receipt.earned.points, locale), date: receipt.earned.availableAt ? formatDate(receipt.earned.availableAt, locale) : '—' })
              : t('earnedNone')}
          </p>
        </section>
      ) : null}
      {failure ? <p role="alert">{t('loadFailed', { message: failure })}</p> : null}
      {figures === null && failure === null ? <p role="status">{t('loading')}</p> : null}
      {figures ? (
        <>
          <section aria-labelledby="balance-title">
            <h2 id="balance-title">{t('balanceTitle')}</h2>
            <dl className="balance">
              <div>
                <dt>{t('available')}</dt>
                <dd data-balance="available">{formatNumber(figures.me.balance.available, locale)}</dd>
              </div>
              <div>
                <dt>{t('pending')}</dt>
                <dd data-balance="pending">{formatNumber(figures.me.balance.pending, locale)}</dd>
              </div>
              <div>
                <dt>{t('held')}</dt>
                <dd data-balance="held">{formatNumber(figures.me.balance.held, locale)}</dd>
              </div>
            </dl>
          </section>
          <section aria-labelledby="activity-title">
            <h2 id="activity-title">{t('activityTitle')}</h2>
            <ActivityTable activity={figures.activity} t={t} locale={locale} />
          </section>
        </>
      ) : null}
    </>
  );
}

/**
 * A reservation moves no points in the journal — it moves them between available and held — so its
 * size is in the entry's detail: the placed request's points, or the released points.
 */
function reservedPoints(detail: Record<string, unknown>): number | null {
  if (typeof detail.points === 'number') return detail.points;
  const request = detail.request;
  return typeof request === 'object' && request !== null && 'points' in request && typeof request.points === 'number' ? request.points : null;
}

function ActivityTable(props: { activity: Activity; t: Translate; locale: 'zh-CN' | 'en' }) {
  const { activity, t, locale } = props;
  if (activity.entries.length === 0) return <p>{t('activityEmpty')}</p>;
  return (
    <table className="activity">
      <thead>
        <tr>
          <th scope="col">{t('when')}</th>
          <th scope="col">{t('what')}</th>
          <th scope="col" className="number">
            {t('points')}
          </th>
        </tr>
      </thead>
      <tbody>
        {activity.entries.map((entry) => {
          const reserved = reservedPoints(entry.detail);
          const shown = entry.points !== 0 ? `${entry.points > 0 ? '+' : ''}${formatNumber(entry.points, locale)}` : reserved !== null ? `(${formatNumber(reserved, locale)})` : '';
          return (
            <tr key={entry.seq} data-kind={entry.kind}>
              <td>{formatDateTime(entry.createdAt, locale)}</td>
              <td>{t(kindKey(entry.kind))}</td>
              <td className="number">{shown}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
