import { useState } from 'react';
import { navigate, useLocation } from '../router';
import { useShop } from '../shop';

/** Where to go after signing in: a path on this site, never another origin. */
function returnPath(location: string): string {
  const target = new URLSearchParams(location.split('?')[1] ?? '').get('return') ?? '/';
  return target.startsWith('/') && !target.startsWith('//') ? target : '/';
}

export function SignInPage() {
  const { t, locale, session, signIn } = useShop();
  const location = useLocation();
  const [failure, setFailure] = useState<string | null>(null);
  const [isBusy, setBusy] = useState(false);

  async function choose(shopperId: string) {
    setBusy(true);
    setFailure(null);
    try {
      await signIn(shopperId);
      const target = returnPath(location);
      // The plain-HTML demo is a page of its own, not one of the shop's.
      if (target === '/embed.html') window.location.assign(target);
      else navigate(target, { replace: true });
    } catch (error) {
      setFailure(error instanceof Error ? error.message : String(error));
    } finally {
      setBusy(false);
    }
  }

  return (
    <>
      <h1 tabIndex={-1}>{t('signInTitle')}</h1>
      {session === undefined ? <p role="status">{t('loading')}</p> : null}
      {session === null ? <p>{t('demoUnavailable')}</p> : null}
      {session ? (
        <>
          <p>{t('signInIntro')}</p>
          <ul className="shoppers">
            {session.shoppers.map((shopper) => (
              <li key={shopper.shopperId}>
                <button type="button" disabled={isBusy} onClick={() => void choose(shopper.shopperId)}>
                  {t('signInAs', { name: shopper.name[locale] })}
                </button>
              </li>
            ))}
          </ul>
        </>
      ) : null}
      {failure ? <p role="alert">{failure}</p> : null}
    </>
  );
}
