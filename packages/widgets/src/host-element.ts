import type { EarlyStart } from './early-start';

/**
 * The three custom elements' hosts (SPEC §6), without React: the shadow root, the observed
 * attributes, the `token` property and the lifecycle. What renders inside is loaded on first
 * connect, so the script-tag loader can register the names at once and stay tiny (≤ 10 KiB
 * gzipped) while the widget code arrives with the first element on the page.
 */

export type WidgetKind = 'points-checkout' | 'coupon-exchange' | 'expiry-banner';

export const ELEMENT_NAMES: Record<WidgetKind, string> = {
  'points-checkout': 'jifen-points-checkout',
  'coupon-exchange': 'jifen-coupon-exchange',
  'expiry-banner': 'jifen-expiry-banner',
};

const CONNECTION_ATTRIBUTES = ['api-base', 'token-endpoint', 'locale', 'currency', 'time-zone'];

/** Every attribute a change of which re-renders the widget (no refresh call, SPEC §6). */
export const OBSERVED_ATTRIBUTES: Record<WidgetKind, string[]> = {
  'points-checkout': [...CONNECTION_ATTRIBUTES, 'cart-amount', 'items', 'coupon-code', 'checkout-id'],
  'coupon-exchange': CONNECTION_ATTRIBUTES,
  'expiry-banner': [...CONNECTION_ATTRIBUTES, 'exchange-href', 'window-days'],
};

/** A widget rendered into a host; `update` re-reads the host's attributes and properties. */
export interface MountedWidget {
  update(): void;
  unmount(): void;
}

export interface WidgetModule {
  mountWidget(host: JifenHostElement, kind: WidgetKind): MountedWidget;
}

export interface HostOptions {
  /** Loads the widget code (the loader imports it on first connect; a bundle passes it directly). */
  load: () => Promise<WidgetModule>;
  /** Where jifen's API is when the element has no `api-base`: the loader passes the origin it was served from. */
  apiBaseDefault?: string;
  /** Starts each element's token request and first calls on connect, before the widget code runs (early-start.ts). */
  early?: EarlyStart;
}

/** The events every element sends to the page: they bubble and cross shadow boundaries. */
export function dispatchJifenEvent(target: EventTarget, type: string, detail: unknown): void {
  target.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true }));
}

export abstract class JifenHostElement extends HTMLElement {
  abstract readonly kind: WidgetKind;
  protected abstract readonly options: HostOptions;
  #token: string | null = null;
  #mounted: MountedWidget | null = null;
  /** The element inside the shadow root the widget renders into. */
  readonly container: HTMLDivElement;

  constructor() {
    super();
    const shadow = this.attachShadow({ mode: 'open' });
    const style = document.createElement('style');
    style.textContent = ':host{display:block}:host([hidden]){display:none}';
    this.container = document.createElement('div');
    shadow.append(style, this.container);
  }

  /** The shopper token. A secret, so a property and never an attribute (SPEC §6). */
  get token(): string | null {
    return this.#token;
  }

  set token(value: string | null) {
    this.#token = value || null;
    this.#mounted?.update();
  }

  get apiBaseDefault(): string {
    return this.options.apiBaseDefault ?? '';
  }

  /** The early start this element's calls began with, for the widget's client to take them from; null when there is none. */
  get early(): EarlyStart | null {
    return this.options.early ?? null;
  }

  connectedCallback(): void {
    // A page may set `token` before this element was defined: that own property hides the setter.
    if (Object.prototype.hasOwnProperty.call(this, 'token')) {
      const value = (this as { token?: string | null }).token ?? null;
      delete (this as { token?: string | null }).token;
      this.token = value;
    }
    // In parallel with the widget code: by the time React renders, the figures are on their way or here.
    this.options.early?.start(this, this.kind, this.getAttribute('api-base') ?? this.apiBaseDefault);
    this.options.load().then(
      (module) => {
        if (this.isConnected && this.#mounted === null) this.#mounted = module.mountWidget(this, this.kind);
      },
      (error: unknown) => dispatchJifenEvent(this, 'jifen:error', { message: `jifen: the widget code did not load (${String(error)})`, reason: null, facts: {} }),
    );
  }

  disconnectedCallback(): void {
    // A page moving the element (remove, then insert elsewhere in the same task) keeps its state: a
    // reserved hold must not be forgotten because a layout changed.
    queueMicrotask(() => {
      if (this.isConnected) return;
      this.#mounted?.unmount();
      this.#mounted = null;
    });
  }

  attributeChangedCallback(): void {
    this.#mounted?.update();
  }
}

/** Registers the three elements (once: a second script tag or bundle leaves the first definitions alone). */
export function defineJifenHosts(options: HostOptions, registry: CustomElementRegistry = customElements): void {
  for (const kind of Object.keys(ELEMENT_NAMES) as WidgetKind[]) {
    const name = ELEMENT_NAMES[kind];
    if (registry.get(name)) continue;
    registry.define(
      name,
      class extends JifenHostElement {
        static readonly observedAttributes = OBSERVED_ATTRIBUTES[kind];
        readonly kind = kind;
        protected readonly options = options;
      },
    );
  }
}
