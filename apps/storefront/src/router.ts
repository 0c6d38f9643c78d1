import { useSyncExternalStore } from 'react';

/**
 * The shop's few pages on the History API. Every same-origin link in the page — the shop's own and
 * the ones the widgets render (the banner's link to the coupon exchange) — navigates in place;
 * the server's own pages (`/embed.html`, the API) load as pages. `jifen start` answers any page
 * path with the shop's index.html (apps/server/src/http/static.ts), so a reload works anywhere.
 */

const listeners = new Set<() => void>();
const SERVER_PATHS = /^\/(?:embed\.html|widgets\/|trpc\/|demo\/|healthz|metrics|openapi\.json)/;

function notify(): void {
  for (const listener of listeners) listener();
}

export function navigate(to: string, options: { replace?: boolean } = {}): void {
  if (options.replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  notify();
}

export function useLocation(): string {
  return useSyncExternalStore(
    (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    () => location.pathname + location.search,
  );
}

export function installLinkNavigation(): void {
  window.addEventListener('popstate', notify);
  document.addEventListener('click', (event) => {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const anchor = event.target instanceof Element ? event.target.closest('a') : null;
    if (!anchor || anchor.target || anchor.hasAttribute('download') || anchor.origin !== location.origin) return;
    if (SERVER_PATHS.test(anchor.pathname)) return;
    event.preventDefault();
    navigate(anchor.pathname + anchor.search + anchor.hash);
  });
}
