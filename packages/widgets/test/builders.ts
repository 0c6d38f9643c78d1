import { type ProgramInput, type RedemptionLine, defaultProgram, pointUnitValue, quoteRedemption } from '@jifen/rules';
import type { CatalogEntry, CheckoutQuote, Coupon, ExpiryGroup, Hold, PoolPricePoint, ShopperMe } from '../src/shopper-api';

/**
 * Small named builders for what the shopper procedures answer. Quotes are computed by the rules'
 * own `quoteRedemption` and shaped as packages/api `quoteCheckout` shapes them, so a test's figures
 * are the figures the server would send.
 */

export function aShopper(overrides: Partial<ShopperMe> = {}): ShopperMe {
  return {
    shopperId: 'shopper-1',
    balance: { available: 5_000, pending: 0, held: 0, debt: 0 },
    tier: { id: 'member', multiplier: 1 },
    tierProgress: { id: 'member', name: { 'zh-CN': '普通会员', en: 'Member' }, multiplier: 1, qualifyingSpend: 0, next: { id: 'silver', minSpend: 100_000, spendToNext: 100_000 }, reviewAt: null },
    pointValue: { minor: 1, perPoints: 1 },
    pointPrice: '1.0000',
    pointDecimals: 0,
    currency: 'CNY',
    timeZone: 'Asia/Shanghai',
    valuation: 'fixed',
    expiring: null,
    ...overrides,
  };
}

export interface QuoteOptions {
  cartAmount: number;
  availablePoints: number;
  items?: RedemptionLine[];
  couponDiscount?: number;
  program?: ProgramInput;
}

export function aQuote(options: QuoteOptions): CheckoutQuote {
  const program = defaultProgram(options.program ?? {});
  const result = quoteRedemption({
    program,
    cartAmount: options.cartAmount,
    availablePoints: options.availablePoints,
    couponDiscount: options.couponDiscount ?? 0,
    ...(options.items ? { items: options.items } : {}),
  });
  const unitValue = pointUnitValue(program);
  return {
    cartAmount: options.cartAmount,
    coupon: null,
    payable: options.cartAmount - Math.min(options.couponDiscount ?? 0, options.cartAmount),
    availablePoints: options.availablePoints,
    pointValue: { minor: Number(unitValue.numerator), perPoints: Number(unitValue.denominator) },
    unitValue: { numerator: unitValue.numerator.toString(), denominator: unitValue.denominator.toString() },
    redeemable: result.ok
      ? {
          minPoints: result.value.minPoints,
          maxPoints: result.value.maxPoints,
          step: result.value.step,
          maxValue: result.value.maxValue,
          valueCap: result.value.valueCap,
          pointsEligibleAmount: result.value.pointsEligibleAmount,
          cashDueAtMax: result.value.payable - result.value.maxValue,
          lines: result.value.lines.map((line) => ({ ...line })),
        }
      : null,
    refusal: result.ok ? null : { ...result.error },
  };
}

let holdCount = 0;
export function aHold(overrides: Partial<Hold> & Pick<Hold, 'points' | 'value' | 'cashDue'>): Hold {
  holdCount += 1;
  return {
    holdId: `h_${holdCount}`,
    checkoutId: `checkout-${holdCount}`,
    expiresAt: new Date(Date.now() + 15 * 60_000).toISOString(),
    status: 'held',
    ...overrides,
  };
}

export function aCatalogEntry(overrides: Partial<CatalogEntry> = {}): CatalogEntry {
  return {
    templateId: 'ten-off',
    name: { 'zh-CN': '10元优惠券', en: '¥10 off coupon' },
    discount: { kind: 'fixed', amountOff: 1_000 },
    pointsCost: 1_000,
    value: 1_000,
    minSpend: 5_000,
    validityDays: 30,
    isCancellable: false,
    activeFrom: null,
    activeTo: null,
    stockLeft: 20,
    perShopperLimit: 2,
    shopperIssued: 0,
    reason: null,
    ...overrides,
  };
}

export function aCoupon(overrides: Partial<Coupon> = {}): Coupon {
  return {
    code: 'K7Q2M9X4P8RT',
    templateId: 'ten-off',
    source: 'exchange',
    value: 1_000,
    pointsCost: 1_000,
    issuedAt: '2026-11-20T02:00:00.000Z',
    expiresAt: '2026-12-19T16:00:00.000Z',
    status: 'issued',
    orderId: null,
    redeemedAt: null,
    ...overrides,
  };
}

export function anExpiryGroup(date: string, points: number): ExpiryGroup {
  // The exclusive end of that day in Asia/Shanghai (UTC+8): 16:00 UTC on the same date.
  return { date, expiresAt: Date.parse(`${date}T16:00:00Z`), points };
}

export function aPricePoint(at: string, price: string, seq: number): PoolPricePoint {
  return { at: Date.parse(at), seq, amount: 0, supply: 0, price };
}
