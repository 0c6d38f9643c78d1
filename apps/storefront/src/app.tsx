import { ExpiryBanner } from '@jifen/widgets';
import { type ReactNode, useEffect, useRef } from 'react';
import { useCart } from './cart';
import { setLocale } from './messages';
import { AccountPage } from './pages/account-page';
import { CartPage } from './pages/cart-page';
import { CheckoutPage } from './pages/checkout-page';
import { CouponsPage } from './pages/coupons-page';
import { ProductsPage } from './pages/products-page';
import { SignInPage } from './pages/sign-in-page';
import { useLocation } from './router';
import { useShop } from './shop';

/** The shop's frame: header with navigation, language and session; the expiry banner on every page; the page. */
export function App() {
  const { t, locale, session, shopperId, client, ledgerRevision, signOut } = useShop();
  const cart = useCart();
  const location = useLocation();
  const pathname = location.split('?')[0] ?? '/';
  const main = useRef<HTMLElement>(null);
  const isFirstRender = useRef(true);

  useEffect(() => {
    document.title = t('shopName');
  }, [t]);

  // A new page moves focus to its content, as a full page load would for a screen reader.
  useEffect(() => {
    if (isFirstRender.current) {
      isFirstRender.current = false;
      return;
    }
    main.current?.querySelector<HTMLElement>('h1')?.focus();
    window.scrollTo(0, 0);
  }, [pathname]);

  const shopper = session?.shoppers.find((candidate) => candidate.shopperId === shopperId);
  const nav: Array<[string, string]> = [
    ['/', t('navProducts')],
    ['/cart', t('navCart', { count: cart.count })],
    ['/coupons', t('navCoupons')],
    ['/account', t('navAccount')],
  ];

  return (
    <>
      <a className="skip-link" href="#main">
        {t('skipToContent')}
      </a>
      <header className="site-header">
        <a className="brand" href="/">
          {t('shopName')}
        </a>
        <nav aria-label={t('navigation')}>
          <ul>
            {nav.map(([href, label]) => (
              <li key={href}>
                <a href={href} aria-current={pathname === href ? 'page' : undefined}>
                  {label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div className="session">
          <button type="button" className="link-button" lang={locale === 'zh-CN' ? 'en' : 'zh-CN'} aria-label={t('switchLanguageLabel')} onClick={() => setLocale(locale === 'zh-CN' ? 'en' : 'zh-CN')}>
            {t('switchLanguage')}
          </button>
          {shopper ? (
            <>
              <span>{t('signedInAs', { name: shopper.shopperId })}</span>
              <button type="button" className="link-button" onClick={() => void signOut()}>
                {t('signOut')}
              </button>
            </>
          ) : session ? (
            <a href={`/sign-in?return=${encodeURIComponent(location)}`}>{t('signIn')}</a>
          ) : null}
        </div>
      </header>
      <main id="main" ref={main}>
        {client ? (
          <div className="banner-slot">
            {/* A new key asks again: the soonest expiry moves when points are spent or reserved. */}
            <ExpiryBanner key={ledgerRevision} client={client} locale={locale} exchangeHref="/coupons" />
          </div>
        ) : null}
        <Page pathname={pathname} />
      </main>
      <footer className="site-footer">
        <p>{t('footer')}</p>
        <p>
          <a href="/embed.html">{t('navEmbed')}</a>
        </p>
      </footer>
    </>
  );
}

function Page(props: { pathname: string }): ReactNode {
  switch (props.pathname) {
    case '/':
      return <ProductsPage />;
    case '/cart':
      return <CartPage />;
    case '/checkout':
      return <CheckoutPage />;
    case '/coupons':
      return <CouponsPage />;
    case '/account':
      return <AccountPage />;
    case '/sign-in':
      return <SignInPage />;
    default:
      return <NotFound />;
  }
}

function NotFound() {
  const { t } = useShop();
  return (
    <>
      <h1 tabIndex={-1}>{t('notFoundTitle')}</h1>
      <p>
        <a href="/">{t('backHome')}</a>
      </p>
    </>
  );
}
