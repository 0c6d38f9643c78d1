import { type JifenClient, createJifenClient } from '@jifen/widgets';
import { type ReactNode, createContext, useCallback, useContext, useEffect, useMemo, useState } from 'react';
import { type DemoSession, TOKEN_ENDPOINT, readSession, signIn, signOut } from './demo-backend';
import { type Locale, type Translate, translator, useLocale } from './messages';

/**
 * What every page needs: the language, the demo session and one jifen client for the signed-in
 * shopper. One client per shopper and language, so the page's widgets share one token request and
 * their calls made together go out as one batch; a new shopper gets a new client, since a cached
 * token is the previous shopper's.
 */

export interface Shop {
  locale: Locale;
  t: Translate;
  /** undefined while loading; null when this server has no demo backend. */
  session: DemoSession | null | undefined;
  shopperId: string | null;
  client: JifenClient | null;
  /** Bumped when the shop knows the shopper's points moved (an exchange, a hold, a payment): views that show them ask again. */
  ledgerRevision: number;
  touchLedger(): void;
  signIn(shopperId: string): Promise<void>;
  signOut(): Promise<void>;
}

const ShopContext = createContext<Shop | null>(null);

export function ShopProvider(props: { children: ReactNode }) {
  const locale = useLocale();
  const [session, setSession] = useState<DemoSession | null | undefined>(undefined);
  const [ledgerRevision, setLedgerRevision] = useState(0);
  const touchLedger = useCallback(() => setLedgerRevision((revision) => revision + 1), []);

  useEffect(() => {
    readSession().then(setSession, () => setSession(null));
  }, []);

  const shopperId = session?.shopperId ?? null;
  const client = useMemo(() => (shopperId === null ? null : createJifenClient({ apiBase: '', tokenEndpoint: TOKEN_ENDPOINT, locale })), [shopperId, locale]);

  const doSignIn = useCallback(async (id: string) => {
    await signIn(id);
    setSession((current) => (current ? { ...current, shopperId: id } : current));
  }, []);
  const doSignOut = useCallback(async () => {
    await signOut();
    setSession((current) => (current ? { ...current, shopperId: null } : current));
  }, []);

  const shop = useMemo<Shop>(
    () => ({ locale, t: translator(locale), session, shopperId, client, ledgerRevision, touchLedger, signIn: doSignIn, signOut: doSignOut }),
    [locale, session, shopperId, client, ledgerRevision, touchLedger, doSignIn, doSignOut],
  );
  return <ShopContext.Provider value={shop}>{props.children}</ShopContext.Provider>;
}

export function useShop(): Shop {
  const shop = useContext(ShopContext);
  if (!shop) throw new Error('useShop outside <ShopProvider>');
  return shop;
}
