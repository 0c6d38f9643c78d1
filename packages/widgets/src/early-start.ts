import type { Locale } from '@jifen/rules';
import { type FirstCall, type FirstCallKind, URL_LENGTH_MAX, callKey, firstCalls, trpcUrl } from './first-calls';
import { resolveLocale } from './locale';
import { type TokenSource, createTokenSource } from './token-source';

/**
 * The widgets' first calls, started as soon as an element is on the page (issue 5: first paint
 * within 300 ms). Without this, a script-tag page waits for the widget chunk to load and React to
 * render before the token is even asked for, then for the token before any figure is. Here the
 * loader, the moment an element with a `token-endpoint` connects, asks the endpoint for the token
 * and then jifen for every first call of the page's widgets in one batched request — all while the
 * widget chunk is still downloading. The widgets' client (client.ts) takes these answers instead of
 * asking again.
 *
 * Only elements that fetch their token from an endpoint start early: a `token` property wins over
 * the endpoint (SPEC §6) and is the page's own business. The token source is the one every widget
 * of that endpoint shares (one request, cached, renewed before expiry), so starting early adds no
 * request. An early answer serves the widgets' first render only: each is taken at most once per
 * element that wanted it, is dropped `EARLY_ANSWER_MAX_AGE_MS` after it arrived, and every answer
 * not yet taken is dropped when a widget writes (a mutation). One that failed is never shown: the
 * widget then asks jifen itself, with its usual retry of a refused token.
 */

/** How long an answer fetched ahead may wait for the widget code (a slow network, a busy phone). */
export const EARLY_ANSWER_MAX_AGE_MS = 10_000;
/** Well under the server's calls per batch (apps/server: 20); a page with more widgets asks the rest itself. */
const BATCH_CALLS_MAX = 10;

export interface EarlyAnswers {
  /** The answer fetched ahead for this call (it rejects if that call failed), or null: ask jifen. */
  take(path: string, input: unknown): Promise<unknown> | null;
  /** Like `take`, but only an answer that has already arrived, so a widget can render it at once; null otherwise (nothing is taken). */
  takeArrived(path: string, input: unknown): { value: unknown } | null;
  /** Drops every answer not taken yet: something was written, so they may be out of date. */
  forget(): void;
}

/** One API base, token endpoint and language: the token source and answers its widgets share. */
export interface EarlyConnection {
  tokens: TokenSource;
  answers: EarlyAnswers;
}

/** An element as the early start reads it (JifenHostElement, without importing it). */
export interface EarlyElement extends Element {
  readonly token: string | null;
}

export interface EarlyStart {
  /** Starts an element's token request and first calls, once per element; nothing for one with a `token` property or no `token-endpoint`. */
  start(element: EarlyElement, kind: FirstCallKind, apiBase: string): void;
  /** The shared token source and early answers for a connection (created on first use). */
  connection(apiBase: string, tokenEndpoint: string, locale: Locale): EarlyConnection;
}

interface Entry {
  answer: Promise<unknown>;
  /** Elements that wanted it and have not taken it yet. */
  claims: number;
  /** When it arrived (or failed); null while in flight. */
  settledAt: number | null;
  /** The answer once it arrived; null while in flight or when the call failed. */
  arrived: { value: unknown } | null;
}

interface ConnectionState extends EarlyConnection {
  want(call: FirstCall): void;
}

export function createEarlyStart(options: { now?: () => number } = {}): EarlyStart {
  const now = options.now ?? (() => Date.now());
  const connections = new Map<string, ConnectionState>();
  const started = new WeakSet<Element>();

  function connectionState(apiBase: string, tokenEndpoint: string, locale: Locale): ConnectionState {
    const key = JSON.stringify([apiBase, tokenEndpoint, locale]);
    const existing = connections.get(key);
    if (existing) return existing;
    const tokens = createTokenSource({ tokenEndpoint });
    const entries = new Map<string, Entry>();
    let pending: Array<FirstCall & { key: string; claims: number }> = [];

    const isFresh = (entry: Entry) => entry.settledAt === null || now() - entry.settledAt <= EARLY_ANSWER_MAX_AGE_MS;

    function flush() {
      const calls = pending;
      pending = [];
      const base = `${trpcUrl(apiBase)}/`;
      while (calls.length > 0) {
        const batch = [calls.shift()!];
        while (calls.length > 0 && batch.length < BATCH_CALLS_MAX && urlFor(base, [...batch, calls[0]!]).length <= URL_LENGTH_MAX) batch.push(calls.shift()!);
        // A single call too long for a URL is left to the widget (its client sends it in a batch of its own).
        const url = urlFor(base, batch);
        if (url.length <= URL_LENGTH_MAX) send(url, batch);
      }
    }

    function send(url: string, batch: Array<FirstCall & { key: string; claims: number }>) {
      const settlers = batch.map((call) => {
        let settle!: { resolve: (value: unknown) => void; reject: (error: unknown) => void };
        const answer = new Promise<unknown>((resolve, reject) => (settle = { resolve, reject }));
        // Nobody may take a failed answer; that is not an error of the page's.
        answer.catch(() => {});
        const entry: Entry = { answer, claims: call.claims, settledAt: null, arrived: null };
        entries.set(call.key, entry);
        return {
          resolve: (value: unknown) => {
            entry.settledAt = now();
            entry.arrived = { value };
            settle.resolve(value);
          },
          reject: (error: unknown) => {
            entry.settledAt = now();
            settle.reject(error);
          },
        };
      });
      tokens
        .get()
        .then((token) => globalThis.fetch(url, { headers: { authorization: `Bearer ${token}`, 'accept-language': locale } }))
        .then((response) => response.json() as Promise<unknown>)
        .then((body) => {
          // tRPC's batch envelope: one `{ result: { data } }` or `{ error }` per call, in order.
          const results = Array.isArray(body) ? (body as Array<{ result?: { data?: unknown } } | null>) : [];
          settlers.forEach((settler, index) => {
            const result = results[index]?.result;
            if (result && 'data' in result) settler.resolve(result.data);
            else settler.reject(new Error(`jifen: the early call ${batch[index]!.path} failed`));
          });
        })
        .catch((error: unknown) => {
          for (const settler of settlers) settler.reject(error);
        });
    }

    /** The entry for a call if it may still be used, after `isUsable` says this use is possible; taking one claim of it. */
    function claim(path: string, input: unknown, isUsable: (entry: Entry) => boolean): Entry | null {
      const key = callKey(path, input);
      const entry = entries.get(key);
      if (!entry) return null;
      if (!isFresh(entry)) {
        entries.delete(key);
        return null;
      }
      if (!isUsable(entry)) return null;
      entry.claims -= 1;
      if (entry.claims <= 0) entries.delete(key);
      return entry;
    }

    const state: ConnectionState = {
      tokens,
      answers: {
        take: (path, input) => claim(path, input, () => true)?.answer ?? null,
        takeArrived: (path, input) => claim(path, input, (entry) => entry.arrived !== null)?.arrived ?? null,
        forget() {
          entries.clear();
          pending = [];
        },
      },
      want(call) {
        const key = callKey(call.path, call.input);
        const entry = entries.get(key);
        if (entry && isFresh(entry)) {
          entry.claims += 1;
          return;
        }
        const waiting = pending.find((candidate) => candidate.key === key);
        if (waiting) {
          waiting.claims += 1;
          return;
        }
        // Every element connected in this task (the loader defines them all at once) goes in one batch.
        if (pending.length === 0) queueMicrotask(flush);
        pending.push({ ...call, key, claims: 1 });
      },
    };
    connections.set(key, state);
    return state;
  }

  let isIntlWarm = false;

  return {
    start(element, kind, apiBase) {
      if (!isIntlWarm) {
        isIntlWarm = true;
        warmIntl(resolveLocale(element.getAttribute('locale'), element));
      }
      // After the script that put the element in the page has run: it may set `token` right after inserting it.
      queueMicrotask(() => {
        const tokenEndpoint = element.getAttribute('token-endpoint');
        if (started.has(element) || !element.isConnected || element.token !== null || !tokenEndpoint) return;
        started.add(element);
        const connection = connectionState(apiBase, tokenEndpoint, resolveLocale(element.getAttribute('locale'), element));
        // The token first: the calls wait for it, and a failure here is the widget's to report when it asks.
        connection.tokens.get().catch(() => {});
        for (const call of firstCalls(kind, element)) connection.want(call);
      });
    },
    connection: connectionState,
  };
}

/**
 * A page's first Intl formatter costs tens of milliseconds (loading the locale data; the ones after
 * it well under one), and every figure a widget shows goes through one. Made in a task of its own
 * while the widget code downloads, after the requests above have gone out, it is off the widgets'
 * first render.
 */
function warmIntl(locale: Locale): void {
  setTimeout(() => {
    new Intl.NumberFormat(locale).format(0);
    new Intl.DateTimeFormat(locale).format(0);
  }, 0);
}

/** The URL `httpBatchLink` would send for these queries: `/trpc/a,b?batch=1&input={"0":…,"1":…}`. */
function urlFor(base: string, calls: readonly FirstCall[]): string {
  const inputs = Object.fromEntries(calls.map((call, index) => [String(index), call.input]));
  return `${base}${calls.map((call) => call.path).join(',')}?batch=1&input=${encodeURIComponent(JSON.stringify(inputs))}`;
}
