/**
 * The browser globals the suite's in-page functions (`page.evaluate`, init scripts) touch, typed
 * here: the server's tsconfig has no DOM library, and should not, since server code runs in Node.
 * An in-page function reads them as `(globalThis as unknown as PageGlobals)`.
 */

export interface PageElement {
  localName: string;
  shadowRoot: { querySelector(selector: string): unknown } | null;
  children: { length: number };
}

export interface PageGlobals {
  document: {
    documentElement: { lang: string };
    querySelector(selector: string): PageElement | null;
    addEventListener(type: string, listener: () => void): void;
  };
  location: { href: string };
  performance: {
    now(): number;
    getEntriesByName(name: string): Array<{ responseEnd: number }>;
    getEntriesByType(type: 'navigation'): Array<{ startTime: number; loadEventEnd: number }>;
    getEntriesByType(type: 'resource'): Array<{ name: string; startTime: number; responseEnd: number }>;
  };
  requestAnimationFrame(callback: () => void): number;
  React?: unknown;
  axe?: {
    run(context: unknown, options: unknown): Promise<{ violations: Array<{ id: string; impact?: string | null; nodes: Array<{ target: unknown[] }> }> }>;
  };
  /** Set by the first-paint benchmark's init script. */
  jifenFirstPaint?: number;
}
