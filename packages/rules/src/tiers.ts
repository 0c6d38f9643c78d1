import { type Minor, minor } from './arithmetic';
import { memoised } from './memo';
import type { Program, Tier } from './program';
import { assert } from './result';
import { type LocalDate, addDays, addMonths, localDate, startOfLocalDay } from './time';

/**
 * Tiers by qualifying spend over a trailing window (SPEC §3.1 "Tiers"): upgrade at once, downgrade
 * only at the window's end. docs/rules/earning.md#tiers states the rules with examples.
 */

/** A paid amount counted toward tiers (minor units); a refund is a negative amount. */
export interface TierSpend {
  at: Date;
  amount: number;
}

/** What the ledger stores for a shopper: the tier and when it was last reached or confirmed. */
export interface TierRecord {
  tierId: string;
  confirmedAt: Date;
}

export interface TierProgress {
  current: Tier;
  next: Tier | null;
  /** Qualifying spend still missing for `next` (0 when already enough), null at the top tier. */
  spendToNext: Minor | null;
}

export interface TierStatus {
  /** The tier that applies now. */
  tier: Tier;
  /** When `tier` was reached or last confirmed; store it with the tier id. */
  confirmedAt: Date;
  /** When the tier is next re-evaluated (a downgrade can only happen then); null on the lowest tier. */
  reviewAt: Date | null;
  /** Qualifying spend over the trailing window ending now. */
  qualifyingSpend: Minor;
  /** The tier the spend alone reaches now (lower than `tier` while a downgrade waits for `reviewAt`). */
  qualifiedTier: Tier;
  progress: TierProgress;
  /** Spend still needed before `reviewAt` to keep `tier` at the review; null on the lowest tier. */
  spendToKeep: Minor | null;
}

/**
 * The instant the trailing window ending at `at` opens: the start of the local day after the same
 * day `tierWindowMonths` earlier (month ends clamp: a window ending 31 March over one month opens on
 * 1 March). A spend counts for exactly `tierWindowMonths` months of local days.
 */
export function tierWindowStart(program: Program, at: Date): Date {
  return new Date(windowOpens(program, at.getTime()));
}

/** The instant a spend made at `at` leaves the trailing window (the first window that opens after it). */
export function tierWindowExit(program: Program, at: Date): Date {
  return new Date(windowExit(program, at.getTime()));
}

/**
 * Instant → instant per zone and window length, looked up by number rather than by a key string
 * built for every call: an order asks these a dozen times, most of them for instants seen before.
 */
class InstantMemo {
  readonly #byZone = new Map<string, Map<number, Map<number, number>>>();

  get(timeZone: string, months: number, atMs: number, compute: () => number): number {
    let byMonths = this.#byZone.get(timeZone);
    if (byMonths === undefined) this.#byZone.set(timeZone, (byMonths = new Map()));
    let byInstant = byMonths.get(months);
    if (byInstant === undefined) byMonths.set(months, (byInstant = new Map()));
    return memoised(byInstant, atMs, compute);
  }
}

/**
 * The zone conversions tiers repeat — each spend's window opening, each review instant — are pure
 * functions of (zone, window months, instant): an order asks `tierStatus` twice over the same
 * spends, and the shopper's next order over most of them again. Each is computed once per process
 * (a `TZDate` costs tens of µs) and kept as epoch ms, so no caller ever shares a `Date`.
 */
const windowOpensMemo = new InstantMemo();
const windowExitMemo = new InstantMemo();

/** The instant a local day starts (time.ts remembers it per zone and day). */
function dayStart(date: LocalDate, timeZone: string): number {
  return startOfLocalDay(date, timeZone).getTime();
}

function windowOpens(program: Program, atMs: number): number {
  const { timeZone } = program;
  const months = program.earning.tierWindowMonths;
  return windowOpensMemo.get(timeZone, months, atMs, () => dayStart(addDays(addMonths(localDate(new Date(atMs), timeZone), -months), 1), timeZone));
}

/**
 * The instant a spend made at `atMs` leaves the trailing window: the start of the first local day D
 * whose window (opening the day after D − `tierWindowMonths`) no longer holds it, i.e. the first D
 * with D − months ≥ the spend's own day. Month-end clamping makes D − months non-decreasing in D but
 * not one-to-one, so the search starts a few days before D = day + months and walks forward.
 */
function windowExit(program: Program, atMs: number): number {
  const { timeZone } = program;
  const months = program.earning.tierWindowMonths;
  return windowExitMemo.get(timeZone, months, atMs, () => {
    const day = localDate(new Date(atMs), timeZone);
    let exit = addDays(addMonths(day, months), -3);
    while (addMonths(exit, -months) < day) exit = addDays(exit, 1);
    return dayStart(exit, timeZone);
  });
}

/**
 * A tier confirmed at an instant is reviewed when that instant's day leaves the window — the same
 * day `tierWindowMonths` later, except at month ends: confirmed on 31 January with a one-month
 * window, the day still counts on 28 February (that window opens on 29 January), so the review is
 * at 00:00 on 1 March. Reviewing on the clamped 28 February found the confirming spend still in the
 * window and confirmed the tier for a whole window more.
 */
function reviewAtMs(program: Program, confirmedAtMs: number): number {
  return windowExit(program, confirmedAtMs);
}

/** Σ spends in the trailing window ending at `at` (inclusive), never below 0. */
export function qualifyingSpend(program: Program, spends: readonly TierSpend[], at: Date): Minor {
  const opens = windowOpens(program, at.getTime());
  const ends = at.getTime();
  let total = 0;
  for (const spend of spends) {
    const time = spend.at.getTime();
    if (time >= opens && time <= ends) total += spend.amount;
  }
  return minor(Math.max(0, total));
}

/** The highest tier whose `minSpend` the spend reaches (the first tier starts at 0). */
export function tierForSpend(program: Program, spend: number): Tier {
  return tierAt(program, tierIndexForSpend(program, spend));
}

/** The next tier after `current` and the spend still missing for it. */
export function tierProgress(program: Program, current: Tier, spend: number): TierProgress {
  const index = program.earning.tiers.findIndex((tier) => tier.id === current.id);
  const next = index >= 0 ? (program.earning.tiers[index + 1] ?? null) : null;
  return { current, next, spendToNext: next === null ? null : minor(Math.max(0, next.minSpend - spend)) };
}

/**
 * When a tier reached or confirmed at `confirmedAt` is next reviewed: the start of the same local
 * day `tierWindowMonths` later (clamped at month ends: confirmed 31 January, one-month window,
 * reviewed at the start of 28 February).
 */
export function tierReviewAt(program: Program, confirmedAt: Date): Date {
  return new Date(reviewAtMs(program, confirmedAt.getTime()));
}

/**
 * The tier that applies at `now`, from the stored record and the spend history (SPEC §3.1).
 * - Upgrade at once: whenever a spend — or a refund leaving the window — lifts the qualifying spend
 *   to a higher tier, that tier applies from that instant and is confirmed then.
 * - Downgrade only at the window's end: at `tierReviewAt(confirmedAt)` the tier becomes the one the
 *   qualifying spend reaches at that instant (which may be the same tier: confirmed again, or lower).
 * The history since the record is replayed in time order, so the answer is the same whether it is
 * asked daily or a year later. A record naming a tier the program no longer has is re-resolved from
 * the spend now; with no record the shopper starts on the lowest tier.
 */
export function tierStatus(program: Program, { record, spends, now }: { record: TierRecord | null; spends: readonly TierSpend[]; now: Date }): TierStatus {
  const tiers = program.earning.tiers;
  const known = record === null ? -1 : tiers.findIndex((tier) => tier.id === record.tierId);
  const qualifiedIndexAt = (at: Date) => tierIndexForSpend(program, qualifyingSpend(program, spends, at));

  let index = 0;
  let confirmedAt = now;
  let since = -Infinity;
  if (record !== null && known >= 0) {
    index = known;
    confirmedAt = record.confirmedAt;
    since = record.confirmedAt.getTime();
  } else if (record !== null) {
    index = qualifiedIndexAt(now);
    since = now.getTime();
  }

  const reviewUntil = (until: Date) => {
    for (let review = tierReviewAt(program, confirmedAt); index > 0 && review.getTime() <= until.getTime(); review = tierReviewAt(program, confirmedAt)) {
      index = qualifiedIndexAt(review);
      confirmedAt = review;
    }
  };
  const upgradeAt = (at: Date) => {
    const qualified = qualifiedIndexAt(at);
    if (qualified > index) {
      index = qualified;
      confirmedAt = at;
    }
  };

  // The qualifying spend rises when a spend is made, and when a refund (a negative spend) leaves
  // the window: both are moments an upgrade can happen, replayed in time order.
  const rises: number[] = [];
  for (const spend of spends) {
    const at = spend.at.getTime();
    if (at > since && at <= now.getTime()) rises.push(at);
    if (spend.amount < 0) {
      const exit = windowExit(program, at);
      if (exit > since && exit <= now.getTime()) rises.push(exit);
    }
  }
  rises.sort((a, b) => a - b);
  for (const at of rises) {
    const instant = new Date(at);
    reviewUntil(instant);
    upgradeAt(instant);
  }
  reviewUntil(now);
  // Thresholds lowered by a program change upgrade at once too, without waiting for a spend.
  upgradeAt(now);

  const tier = tierAt(program, index);
  const spend = qualifyingSpend(program, spends, now);
  const reviewAt = index > 0 ? tierReviewAt(program, confirmedAt) : null;
  return {
    tier,
    confirmedAt,
    reviewAt,
    qualifyingSpend: spend,
    qualifiedTier: tierForSpend(program, spend),
    progress: tierProgress(program, tier, spend),
    spendToKeep: reviewAt === null ? null : minor(Math.max(0, tier.minSpend - qualifyingSpend(program, spends, reviewAt))),
  };
}

function tierIndexForSpend(program: Program, spend: number): number {
  let index = 0;
  program.earning.tiers.forEach((tier, candidate) => {
    if (spend >= tier.minSpend) index = candidate;
  });
  return index;
}

function tierAt(program: Program, index: number): Tier {
  const tier = program.earning.tiers[index];
  assert(tier !== undefined, 'tier index within the program');
  return tier;
}
