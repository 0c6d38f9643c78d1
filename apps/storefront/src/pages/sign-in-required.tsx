import { useLocation } from '../router';
import { useShop } from '../shop';

/** What a page that needs a shopper shows to nobody: the way to the demo sign-in, or why there is none. */
export function SignInRequired(props: { title: string }) {
  const { t, session } = useShop();
  const location = useLocation();
  return (
    <>
      <h1 tabIndex={-1}>{props.title}</h1>
      {session === undefined ? (
        <p role="status">{t('loading')}</p>
      ) : session === null ? (
        <p>{t('demoUnavailable')}</p>
      ) : (
        <p>
          {t('signInRequired')} <a href={`/sign-in?return=${encodeURIComponent(location)}`}>{t('signIn')}</a>
        </p>
      )}
    </>
  );
}
