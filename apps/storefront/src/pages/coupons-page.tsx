import { CouponExchange } from '@jifen/widgets';
import { useShop } from '../shop';
import { SignInRequired } from './sign-in-required';

export function CouponsPage() {
  const { t, locale, client, touchLedger } = useShop();
  if (!client) return <SignInRequired title={t('couponsTitle')} />;
  return (
    <>
      <h1 tabIndex={-1}>{t('couponsTitle')}</h1>
      <CouponExchange client={client} locale={locale} onCouponExchanged={touchLedger} />
    </>
  );
}
