/**
 * "Dismiss for today" for the expiry banner: one localStorage entry per shopper holding the
 * merchant-zone day it was dismissed, so it comes back tomorrow and never piles up a key a day.
 * Storage can be missing or refuse writes (private windows, sandboxed frames); then a dismissal
 * lasts as long as the page.
 */
const KEY_PREFIX = 'jifen.expiry-banner.dismissed.';

export function isDismissedOn(shopperId: string, day: string): boolean {
  try {
    return globalThis.localStorage?.getItem(KEY_PREFIX + shopperId) === day;
  } catch {
    return false;
  }
}

export function dismissOn(shopperId: string, day: string): void {
  try {
    globalThis.localStorage?.setItem(KEY_PREFIX + shopperId, day);
  } catch {
    // Storage refused: the banner stays dismissed until the page reloads, which is what the shopper sees anyway.
  }
}

export const dismissalKey = (shopperId: string) => KEY_PREFIX + shopperId;
