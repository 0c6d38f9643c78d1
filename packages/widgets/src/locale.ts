import type { Locale } from '@jifen/rules';

/**
 * Which of the two languages a widget speaks (SPEC §6), on its own so the script-tag loader can
 * resolve it too (it asks jifen for the first figures in that language) without the messages.
 */

/** zh-CN when asked for any Chinese, en for any English; null for anything else. */
function localeOf(tag: string | null | undefined): Locale | null {
  const lower = tag?.trim().toLowerCase() ?? '';
  if (lower.startsWith('zh')) return 'zh-CN';
  if (lower.startsWith('en')) return 'en';
  return null;
}

/**
 * The widget's language: the explicit choice, else the language of the element's nearest `lang`
 * (the page's), else the browser's, else zh-CN (jifen's home market and the program's default CNY).
 */
export function resolveLocale(explicit?: string | null, context?: Element | null): Locale {
  const fromPage = context?.closest('[lang]')?.getAttribute('lang') ?? globalThis.document?.documentElement.lang;
  return localeOf(explicit) ?? localeOf(fromPage) ?? localeOf(globalThis.navigator?.language) ?? 'zh-CN';
}
