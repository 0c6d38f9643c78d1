import {
  type Minor,
  type PointUnits,
  type Ratio,
  RATIO_ONE,
  addRatios,
  allocateProportionally,
  divideFloor,
  formatRatio,
  isAmount,
  minor,
  multiplyCeil,
  multiplyFloor,
  multiplyRatios,
  pointUnits,
  ratio,
  ratioFromDecimal,
  toSafeNumber,
} from './arithmetic';
import type { Campaign, LocalizedMessage, Program, Tier } from './program';
import { memoised } from './memo';
import { assert } from './result';
import { addDays, endOfLocalDay, isoWeekday, localDate } from './time';
import { pointUnitValue } from './valuation';

/**
 * Earning on a paid order (SPEC §3.1 "Earning", "Segments", "Campaigns", "Pending points"):
 * the eligible amount, the multiplier base × tier × segment × campaign as one exact ratio with a
 * breakdown of its factors, the points (floored once), then the per-order cap, the daily cap and
 * the monthly budget. docs/rules/earning.md walks through every rule with an example.
 */

/** `new`: no earlier paid order; `vip`: flagged by the merchant; otherwise `regular` (SPEC §3.1). */
export type Segment = 'new' | 'regular' | 'vip';

/** The merchant's VIP flag wins over `new`: it is a deliberate choice, the other an inference. */
export function segmentOf({ hasEarlierPaidOrder, isVip }: { hasEarlierPaidOrder: boolean; isVip: boolean }): Segment {
  if (isVip) return 'vip';
  return hasEarlierPaidOrder ? 'regular' : 'new';
}

/** One line of a paid order, in minor units, before jifen coupons and points. */
export interface EarningOrderLine {
  sku?: string;
  category?: string;
  amount: number;
}

/**
 * A paid order as earning sees it (all minor units, safe integers ≥ 0).
 * - `amount`: the order total before jifen coupons and points: goods + shipping + tax.
 * - `items`: the goods. When present they decide what is bought; when their sum exceeds
 *   `amount − shipping − tax` the difference is a discount the merchant did not itemise and is
 *   spread over the lines like a coupon; anything `amount` has beyond items, shipping and tax earns nothing.
 * - `couponDiscount`: jifen coupons applied to this order; `pointsPaidValue`: the money paid with points.
 * The shopper paid `amount − couponDiscount − pointsPaidValue` in cash.
 */
export interface EarningOrder {
  amount: number;
  items?: readonly EarningOrderLine[];
  shipping?: number;
  tax?: number;
  couponDiscount?: number;
  pointsPaidValue?: number;
}

export interface EligibleLine {
  sku?: string;
  category?: string;
  /** The line's amount as sent. */
  amount: Minor;
  /** Its share of coupon and unitemised discounts. */
  discount: Minor;
  /** Its share of the value paid with points (deducted unless `earnOnPointsPaid`). */
  pointsPaid: Minor;
  /** The category is in `earning.excludedCategories`. */
  isExcluded: boolean;
  /** What this line contributes to the eligible amount. */
  eligible: Minor;
}

export interface EligibleAmount {
  /** Σ items, or `amount − shipping − tax` when there are no items. */
  goods: Minor;
  /** Coupon plus unitemised discounts, as spread over the lines (never more than the goods). */
  discount: Minor;
  /** Value paid with points that was taken off the eligible amount (0 under `earnOnPointsPaid`). */
  pointsPaidDeducted: Minor;
  /** Net amount of lines in excluded categories. */
  excluded: Minor;
  lines: EligibleLine[];
  /** The eligible amount: what the shopper paid in cash for goods that earn. */
  amount: Minor;
  /** Below `minOrderAmount`: nothing is earned (SPEC §3.1). */
  isBelowMinimum: boolean;
}

/**
 * The eligible amount of what an order kept after refunds: `eligible × kept / amount`, rounded down
 * (SPEC §2). A pool order refunded in part before it completes mints on what it kept, and its
 * per-order cap scales the same way (api orders.ts completion, simulate).
 */
export function keptEligibleAmount(eligible: number, orderAmount: number, keptAmount: number): number {
  return orderAmount === 0 ? 0 : toSafeNumber(multiplyFloor(eligible, ratio(keptAmount, orderAmount)));
}

/**
 * The eligible amount of a paid order (SPEC §3.1): goods minus discounts, minus the part paid with
 * points unless `earnOnPointsPaid`, without shipping, tax or excluded categories. Discounts are
 * spread over the lines to the fen (largest remainder) so that excluding a line removes exactly its
 * net amount: coupons over all lines in proportion to their amounts, points over the lines points
 * could pay for (not in `redemption.excludedCategories`) in proportion to what is left of them.
 */
export function eligibleAmount(program: Program, order: EarningOrder): EligibleAmount {
  const shipping = order.shipping ?? 0;
  const tax = order.tax ?? 0;
  const couponDiscount = order.couponDiscount ?? 0;
  const pointsPaidValue = order.pointsPaidValue ?? 0;
  assert([order.amount, shipping, tax, couponDiscount, pointsPaidValue].every(isAmount), 'order amounts must be safe integers ≥ 0');
  assert((order.items ?? []).every((item) => isAmount(item.amount)), 'item amounts must be safe integers ≥ 0');

  const hasItems = order.items !== undefined && order.items.length > 0;
  const goodsOfAmount = Math.max(0, order.amount - shipping - tax);
  const items: readonly EarningOrderLine[] = hasItems && order.items !== undefined ? order.items : [{ amount: goodsOfAmount }];
  const amounts = items.map((item) => item.amount);
  const goods = sum(amounts);
  const unitemized = hasItems ? Math.max(0, goods - goodsOfAmount) : 0;

  const discount = Math.min(goods, couponDiscount + unitemized);
  const discounts = allocateProportionally(discount, amounts);
  const afterDiscount = amounts.map((amount, index) => amount - nth(discounts, index));

  const redemptionExcluded = new Set(program.redemption.excludedCategories);
  const canPayWithPoints = items.map((item) => item.category === undefined || !redemptionExcluded.has(item.category));
  const pointsPaid = spreadPointsPaid(pointsPaidValue, afterDiscount, canPayWithPoints);
  const deductsPointsPaid = !program.earning.earnOnPointsPaid;
  const nets = afterDiscount.map((amount, index) => amount - (deductsPointsPaid ? nth(pointsPaid, index) : 0));

  const earningExcluded = new Set(program.earning.excludedCategories);
  const lines = items.map((item, index): EligibleLine => {
    const isExcluded = item.category !== undefined && earningExcluded.has(item.category);
    // Built field by field (sku and category only when sent, in this key order): spreading optional
    // fields into an object literal measured at ~10 µs a line in V8, more than the rest of the earning.
    const line: Partial<EligibleLine> = {};
    if (item.sku !== undefined) line.sku = item.sku;
    if (item.category !== undefined) line.category = item.category;
    line.amount = minor(item.amount);
    line.discount = minor(nth(discounts, index));
    line.pointsPaid = minor(nth(pointsPaid, index));
    line.isExcluded = isExcluded;
    line.eligible = minor(isExcluded ? 0 : nth(nets, index));
    return line as EligibleLine;
  });

  const amount = sum(lines.map((line) => line.eligible));
  return {
    goods: minor(goods),
    discount: minor(discount),
    pointsPaidDeducted: minor(deductsPointsPaid ? sum(pointsPaid) : 0),
    excluded: minor(sum(nets) - amount),
    lines,
    amount: minor(amount),
    isBelowMinimum: amount < program.earning.minOrderAmount,
  };
}

/**
 * Points pay first for the lines points may pay for; any value beyond those lines (a merchant
 * reporting more than the quote allowed) falls on the other lines, and never beyond what is left.
 */
function spreadPointsPaid(value: number, remaining: readonly number[], canPayWithPoints: readonly boolean[]): number[] {
  const payable = remaining.map((amount, index) => (canPayWithPoints[index] ? amount : 0));
  const first = allocateProportionally(Math.min(value, sum(payable)), payable);
  const rest = remaining.map((amount, index) => (canPayWithPoints[index] ? 0 : amount));
  const second = allocateProportionally(Math.min(value - sum(first), sum(rest)), rest);
  return first.map((share, index) => share + nth(second, index));
}

/** Is the campaign on at this instant: inclusive local dates and ISO weekdays in the merchant's zone? */
export function isCampaignActive(campaign: Campaign, at: Date, timeZone: string): boolean {
  const day = localDate(at, timeZone);
  if (campaign.from !== undefined && day < campaign.from) return false;
  if (campaign.to !== undefined && day > campaign.to) return false;
  const weekdays = campaign.weekdays ?? [];
  return weekdays.length === 0 || weekdays.includes(isoWeekday(at, timeZone));
}

/** Campaigns running at this instant, in program order. */
export function activeCampaigns(program: Program, at: Date): Campaign[] {
  return program.earning.campaigns.filter((campaign) => isCampaignActive(campaign, at, program.timeZone));
}

/**
 * The campaign that applies to a line of this category: of the active campaigns covering it (no
 * `categories`, or its category listed), the highest multiplier, the earliest listed on a tie.
 * Campaigns do not stack: two double-points promotions on one Friday do not make ×4.
 */
export function campaignForCategory(campaigns: readonly Campaign[], category: string | undefined): Campaign | null {
  let best: Campaign | null = null;
  for (const campaign of campaigns) {
    const categories = campaign.categories ?? [];
    const covers = categories.length === 0 || (category !== undefined && categories.includes(category));
    if (covers && (best === null || campaign.multiplier > best.multiplier)) best = campaign;
  }
  return best;
}

/** One factor of the earning multiplier, for the widgets and the console to explain it. */
export interface EarningFactor {
  kind: 'base' | 'tier' | 'segment' | 'campaign';
  /** `base`, the tier id, the segment, the campaign id, or `blended` when campaigns differ by line. */
  id: string;
  name: LocalizedMessage;
  /** The exact factor. */
  ratio: Ratio;
  /** The factor for display, at most four places ("0.05", "1.6", "2"). */
  decimal: string;
}

export interface EarningContext {
  tier: Tier;
  segment: Segment;
  /** When the order was paid; campaigns are read at this instant in the merchant's zone. */
  at: Date;
}

/**
 * The earning multiplier for a line of `category` (or an uncategorised order): baseRate × tier ×
 * segment × campaign as one exact ratio, with its factors. A campaign factor appears only when one
 * applies. Multiplying an eligible amount by it gives the points' value in minor units.
 */
export function earningMultiplier(program: Program, context: EarningContext & { category?: string }): { multiplier: Ratio; factors: EarningFactor[] } {
  const campaign = campaignForCategory(activeCampaigns(program, context.at), context.category);
  const campaignFactors = campaign === null ? [] : [campaignFactor(campaign)];
  return { multiplier: multiplierOf(baseMultiplier(program, context), campaignFactors), factors: [...baseFactors(program, context), ...campaignFactors] };
}

/**
 * Pool mode (SPEC §3.2): tier × segment × campaign, without the base rate, for a line of `category`.
 * pool.ts scales `mintRatio` by it, capped at 1 (`effectiveMintRatio`), so no order lowers the price.
 */
export function poolEarningMultiplier(program: Program, context: EarningContext & { category?: string }): Ratio {
  const { factors } = earningMultiplier(program, context);
  return multiplyRatios(...factors.filter((factor) => factor.kind !== 'base').map((factor) => factor.ratio));
}

/** The eligible amount one campaign (or none) multiplied. */
export interface CampaignShare {
  campaignId: string | null;
  ratio: Ratio;
  decimal: string;
  eligible: Minor;
}

export type EarningCapKind = 'perOrder' | 'daily' | 'monthlyBudget';

export interface AppliedCap {
  cap: EarningCapKind;
  /** Most points this cap allowed for this order. */
  limitPoints: PointUnits;
  /** Points the cap took away. */
  withheldPoints: PointUnits;
}

export interface CappedEarning {
  points: PointUnits;
  /** What the points are worth (rounded down, like any payout). */
  value: Minor;
  /** What the points count against the monthly budget (rounded up, so the budget is never exceeded). */
  budgetCharge: Minor;
  /** Caps that took points away, in the order applied. */
  capsApplied: AppliedCap[];
  /** Points (and their value) the monthly budget withheld: recorded, never issued later. */
  shortfall: { points: PointUnits; value: Minor };
  /** The monthly budget withheld points from this order: the ledger alerts the merchant. */
  budgetReached: boolean;
}

export interface EarningCapInput {
  /** Points before caps. */
  points: number;
  /** Minor units per point unit when issued: `pointUnitValue(program)`, or the pool price at the mint. */
  unitValue: Ratio;
  /** The order's eligible amount (minor); the per-order cap is a share of it. */
  eligible: number;
  /** Points this shopper already earned from orders today (merchant's local day). */
  earnedTodayPoints: number;
  /** Paid GMV of this local calendar month so far, this order included (minor). */
  paidThisMonth: number;
  /** Σ `budgetCharge` already issued this local month (minor). */
  issuedThisMonth: number;
}

/**
 * The caps of SPEC §3.1, in order: `perOrderCapRate` (points worth at most that share of the
 * eligible amount), `dailyCapPoints` per shopper, then `monthlyBudgetRate` (issued value at most
 * that share of the month's paid GMV). Only the budget produces a shortfall: the other caps are the
 * program's intended limits.
 *
 * It works in value terms through `unitValue`, so pool mode applies it to a mint (SPEC §3.2: "caps
 * and the monthly budget apply to the minted value"): mint the order uncapped (`mintForOrder`), cap
 * `minted` here with `unitValue: mint.price`, then mint for real with `maxMintedUnits: capped.points`.
 */
export function capEarning(program: Program, input: EarningCapInput): CappedEarning {
  const { unitValue } = input;
  assert(unitValue.numerator > 0n, 'a point unit must be worth something');
  assert([input.points, input.eligible, input.earnedTodayPoints, input.paidThisMonth, input.issuedThisMonth].every(isAmount), 'earning cap inputs must be safe integers ≥ 0');
  const perMinor = ratio(unitValue.denominator, unitValue.numerator);
  const { perOrderCapRate, dailyCapPoints, monthlyBudgetRate } = program.earning;
  const capsApplied: AppliedCap[] = [];
  let points = input.points;
  const limitBy = (cap: EarningCapKind, limit: number) => {
    if (points <= limit) return;
    capsApplied.push({ cap, limitPoints: pointUnits(limit), withheldPoints: pointUnits(points - limit) });
    points = limit;
  };

  if (perOrderCapRate !== null) {
    limitBy('perOrder', toSafeNumber(multiplyFloor(input.eligible, multiplyRatios(ratioFromDecimal(perOrderCapRate), perMinor))));
  }
  if (dailyCapPoints !== null) limitBy('daily', Math.max(0, dailyCapPoints - input.earnedTodayPoints));
  let shortfallPoints = 0;
  if (monthlyBudgetRate !== null) {
    const budget = toSafeNumber(multiplyFloor(input.paidThisMonth, ratioFromDecimal(monthlyBudgetRate)));
    const remaining = Math.max(0, budget - input.issuedThisMonth);
    const before = points;
    limitBy('monthlyBudget', toSafeNumber(multiplyFloor(remaining, perMinor)));
    shortfallPoints = before - points;
  }

  return {
    points: pointUnits(points),
    value: minor(toSafeNumber(multiplyFloor(points, unitValue))),
    budgetCharge: minor(toSafeNumber(multiplyCeil(points, unitValue))),
    capsApplied,
    shortfall: { points: pointUnits(shortfallPoints), value: minor(toSafeNumber(multiplyFloor(shortfallPoints, unitValue))) },
    budgetReached: shortfallPoints > 0,
  };
}

export interface EarningInput extends EarningContext {
  order: EarningOrder;
  earnedTodayPoints: number;
  paidThisMonth: number;
  issuedThisMonth: number;
}

export interface EarningBreakdown {
  /** Factors whose product is `multiplier`; the campaign factor is the eligible-weighted blend when lines differ. */
  factors: EarningFactor[];
  /** How much eligible amount each campaign (or none) multiplied. */
  campaigns: CampaignShare[];
  /** The exact points before rounding and caps: eligible × multiplier ÷ point unit value. */
  exactPoints: Ratio;
  /** floor(exactPoints), or 0 below the minimum order. */
  uncappedPoints: PointUnits;
}

export interface Earning extends CappedEarning {
  eligible: EligibleAmount;
  /** baseRate × tier × segment × campaign, exact. */
  multiplier: Ratio;
  multiplierDecimal: string;
  breakdown: EarningBreakdown;
}

/**
 * Points a fixed-value program grants for a paid order (SPEC §3.1):
 * `floor(eligible × baseRate × tier × segment × campaign ÷ pointUnitValue)`, then the caps.
 * With campaigns limited to categories, each line group is multiplied exactly and the sum is floored
 * once, so the total never exceeds the exact figure and loses less than one point unit to rounding.
 */
export function earnForOrder(program: Program, input: EarningInput): Earning {
  assert(program.valuation.kind === 'fixed', 'earnForOrder is for fixed-value programs; pool programs mint');
  const eligible = eligibleAmount(program, input.order);
  const campaigns = activeCampaigns(program, input.at);
  const shares = campaignShares(eligible.lines, campaigns);

  const campaignRatio = blendedCampaignRatio(shares, eligible.amount);
  const base = baseMultiplier(program, input);
  const campaignFactors = blendedCampaignFactor(shares, campaigns, campaignRatio);
  const factors = [...baseFactors(program, input), ...campaignFactors];
  const multiplier = multiplierOf(base, campaignFactors);

  const unitValue = pointUnitValue(program);
  const perMinor = ratio(unitValue.denominator, unitValue.numerator);
  const exactPoints = multiplyRatios(ratio(eligible.amount), multiplier, perMinor);
  const uncappedPoints = eligible.isBelowMinimum ? 0 : toSafeNumber(divideFloor(exactPoints.numerator, exactPoints.denominator));
  const capped = capEarning(program, {
    points: uncappedPoints,
    unitValue,
    eligible: eligible.amount,
    earnedTodayPoints: input.earnedTodayPoints,
    paidThisMonth: input.paidThisMonth,
    issuedThisMonth: input.issuedThisMonth,
  });

  return {
    ...capped,
    eligible,
    multiplier,
    multiplierDecimal: campaignFactors.length === 0 ? base.decimal : decimalOf(multiplier),
    breakdown: { factors, campaigns: shares, exactPoints, uncappedPoints: pointUnits(uncappedPoints) },
  };
}

/** Eligible amount per campaign, lines grouped by the campaign that applies to them. */
function campaignShares(lines: readonly EligibleLine[], campaigns: readonly Campaign[]): CampaignShare[] {
  const shares = new Map<string | null, CampaignShare>();
  for (const line of lines) {
    if (line.isExcluded) continue;
    const campaign = campaignForCategory(campaigns, line.category);
    const key = campaign?.id ?? null;
    const share = shares.get(key);
    if (share !== undefined) {
      share.eligible = minor(share.eligible + line.eligible);
      continue;
    }
    const factor = campaign === null ? RATE_ONE : rateOf(campaign.multiplier);
    shares.set(key, { campaignId: key, ratio: factor.ratio, decimal: factor.decimal, eligible: line.eligible });
  }
  return [...shares.values()];
}

/**
 * The campaign factor over the eligible amount: Σ (share × its factor) / eligible. One share — no
 * campaign, or one for every line — is its own factor exactly, without the bigint sums.
 */
function blendedCampaignRatio(shares: readonly CampaignShare[], eligible: number): Ratio {
  if (shares.length === 1 || eligible === 0) return shares[0]?.ratio ?? RATIO_ONE;
  const weighted = addRatios(...shares.map((share) => multiplyRatios(ratio(share.eligible), share.ratio)));
  return multiplyRatios(weighted, ratio(1, eligible));
}

function blendedCampaignFactor(shares: readonly CampaignShare[], campaigns: readonly Campaign[], blended: Ratio): EarningFactor[] {
  const applied = shares.filter((share) => share.campaignId !== null);
  if (applied.length === 0) return [];
  if (shares.length === 1) {
    const campaign = campaigns.find((candidate) => candidate.id === applied[0]?.campaignId);
    assert(campaign !== undefined, 'a campaign share names an active campaign');
    return [campaignFactor(campaign)];
  }
  return [
    {
      kind: 'campaign',
      id: 'blended',
      name: {
        en: `Campaigns on some items (${applied.map((share) => `${share.campaignId} ×${share.decimal}`).join(', ')})`,
        'zh-CN': `部分商品活动（${applied.map((share) => `${share.campaignId} ×${share.decimal}`).join('，')}）`,
      },
      ratio: blended,
      decimal: decimalOf(blended),
    },
  ];
}

const SEGMENT_NAMES: Record<Segment, LocalizedMessage> = {
  new: { en: 'New customer', 'zh-CN': '新客' },
  regular: { en: 'Regular customer', 'zh-CN': '老客' },
  vip: { en: 'VIP', 'zh-CN': 'VIP' },
};

function baseFactors(program: Program, { tier, segment }: EarningContext): EarningFactor[] {
  return [
    factor('base', 'base', { en: 'Base rate', 'zh-CN': '基础返点' }, rateOf(program.earning.baseRate)),
    factor('tier', tier.id, tier.name, rateOf(tier.multiplier)),
    factor('segment', segment, SEGMENT_NAMES[segment], rateOf(program.earning.segments[segment])),
  ];
}

function campaignFactor(campaign: Campaign): EarningFactor {
  return factor('campaign', campaign.id, { en: `Campaign ${campaign.id}`, 'zh-CN': `活动 ${campaign.id}` }, rateOf(campaign.multiplier));
}

function factor(kind: EarningFactor['kind'], id: string, name: LocalizedMessage, rate: Rate): EarningFactor {
  return { kind, id, name, ratio: rate.ratio, decimal: rate.decimal };
}

/** A config rate as an exact ratio with its display decimal. Shared between calls: never changed. */
interface Rate {
  ratio: Ratio;
  decimal: string;
}

const RATE_ONE: Rate = { ratio: RATIO_ONE, decimal: '1' };

/**
 * Every order multiplies by the program's few config rates — base rate, tier and segment
 * multipliers, campaigns — and shows each as a decimal. The ratios are remembered where they are
 * made (`ratioFromDecimal`); formatting the decimals and multiplying the base product cost more
 * than the rest of an order's earning, so they are remembered here, by the rates' values (memo.ts
 * bounds the maps).
 */
const rateMemo = new Map<number, Rate>();
const baseMultiplierMemo = new Map<string, Rate>();

function rateOf(value: number): Rate {
  return memoised(rateMemo, value, () => {
    const exact = ratioFromDecimal(value);
    return { ratio: exact, decimal: decimalOf(exact) };
  });
}

/** base rate × tier multiplier × segment multiplier, exact, with its display decimal: the same for every order of that tier and segment. */
function baseMultiplier(program: Program, { tier, segment }: EarningContext): Rate {
  const rates = [program.earning.baseRate, tier.multiplier, program.earning.segments[segment]] as const;
  return memoised(baseMultiplierMemo, rates.join('|'), () => {
    const product = multiplyRatios(...rates.map(ratioFromDecimal));
    return { ratio: product, decimal: decimalOf(product) };
  });
}

/** The whole multiplier: the base product, times the campaign factor when one applies. */
function multiplierOf(base: Rate, campaignFactors: readonly EarningFactor[]): Ratio {
  return campaignFactors.length === 0 ? base.ratio : multiplyRatios(base.ratio, ...campaignFactors.map((factor) => factor.ratio));
}

/** A ratio for display: four places at most, trailing zeros dropped ("0.05", "1.6", "2"). */
export function decimalOf(value: Ratio): string {
  return formatRatio(value, 4).replace(/(\.\d*?)0+$/, '$1').replace(/\.$/, '');
}

/**
 * When an order's pending points become available without a `completed` event (SPEC §3.1): at the
 * end of the merchant's local day `pendingDays` after the payment day, so the widget can say
 * "available on 8 June" and a daily sweep releases a whole day at once. `pendingDays` 0 means at once.
 */
export function pendingUntil(program: Program, paidAt: Date): Date {
  const { pendingDays } = program.earning;
  if (pendingDays === 0) return paidAt;
  return endOfLocalDay(addDays(localDate(paidAt, program.timeZone), pendingDays), program.timeZone);
}

/** Pending points are releasable once the order is completed or the pending window has ended, whichever first. */
export function isPendingReleasable(program: Program, { paidAt, completedAt, now }: { paidAt: Date; completedAt: Date | null; now: Date }): boolean {
  if (completedAt !== null && completedAt.getTime() <= now.getTime()) return true;
  return pendingUntil(program, paidAt).getTime() <= now.getTime();
}

function sum(values: readonly number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

function nth(values: readonly number[], index: number): number {
  const value = values[index];
  assert(value !== undefined, 'index within the order lines');
  return value;
}
