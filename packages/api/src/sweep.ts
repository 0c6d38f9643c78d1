import { performance } from 'node:perf_hooks';
import type { Database } from '@jifen/db';
import {
  type Program,
  defaultProgram,
  expiryLocalDate,
  formatPointUnits,
  pointUnitValue,
  remindersDue,
  valueOfPoints,
} from '@jifen/rules';
import { type Kysely, sql } from 'kysely';
import { type BalanceDelta, changeBalancesMany, lockShoppers } from './accounts';
import { runCapOuts } from './capout';
import { readPool } from './pool-state';
import { type ExpireHoldsReport, expireHolds } from './holds';
import type { JournalEntryInput } from './journal';
import type { Ledger, WriteContext } from './ledger';
import { getProgram } from './merchants';
import { type OutboxMessage, enqueueMany } from './outbox';
import { releaseDuePending } from './pending';
import { poolBurnExpiredInTx } from './pool-ledger';
import { runReleases } from './release-job';

/**
 * The expiry sweep and the expiry reminders (SPEC §3.1 "Expiry"). Both work in bounded batches, each
 * its own short transaction, so a large backlog drains without one giant transaction and a sweep
 * that stops (crash, deploy) resumes where it stopped: whatever committed is done, whatever did not
 * is still due.
 */

export interface SweepProgress {
  merchantId: string;
  expiredLots: number;
  expiredPoints: number;
  batches: number;
}

export interface SweepOptions {
  /**
   * Lots one transaction takes at most. Unset, the sweep sizes its batches itself: it starts at
   * 250 lots and steers each next batch toward ~150 ms, so no transaction holds the write lock
   * long (writers wait for it; issue 3 allows 500 ms) while a quiet machine still commits in large
   * batches — which matters: a batch rewrites the pages of every shopper it touches, so larger
   * batches write fewer pages per lot.
   */
  batchSize?: number;
  merchantId?: string;
  onProgress?: (progress: SweepProgress) => void;
  /**
   * Milliseconds to wait, the write lock released, before each next batch. 0 (the default) inside the
   * server, whose other writes queue behind a batch and take their turn. A sweep in *another process*
   * on a SQLite file (`jifen sweep` beside `jifen serve`) needs it: a writer there waits for the lock by
   * polling — SQLite's busy handler sleeps up to 100 ms between tries — and a sweep that takes the lock
   * again a millisecond after its commit keeps it waiting for many batches (seconds, its event loop
   * blocked meanwhile). A pause longer than the poll interval lets it in after one batch.
   */
  pauseMs?: number;
}

export interface SweepReport {
  expiredLots: number;
  expiredPoints: number;
  batches: number;
  /** The longest write transaction, in milliseconds (the lock time other writers may wait). */
  longestBatchMs: number;
}

/**
 * Expires every lot past its expiry, batch by batch, until nothing is due. Only `remaining − held`
 * expires: points a checkout hold has taken are never expired (SPEC §3.1 "Holds"); a lot keeps its
 * held part, still 'available', and expires it in a later sweep if the hold is released. In pool
 * mode the expired points are burned with nothing paid out (SPEC §3.2), once per batch.
 */
export async function sweepExpiredLots(ledger: Ledger, options: SweepOptions = {}): Promise<SweepReport> {
  const report: SweepReport = { expiredLots: 0, expiredPoints: 0, batches: 0, longestBatchMs: 0 };
  const checkpoints = ledger.dialect === 'sqlite' ? await SweepCheckpoints.begin(ledger.db) : null;
  try {
    for (const merchantId of await merchantsToSweep(ledger, options.merchantId)) {
      const progress: SweepProgress = { merchantId, expiredLots: 0, expiredPoints: 0, batches: 0 };
      let batchSize = options.batchSize ?? SWEEP_BATCH_FIRST;
      for (;;) {
        const started = performance.now();
        const batch = await ledger.write((tx) => expireLotBatch(tx, merchantId, batchSize));
        const elapsedMs = performance.now() - started;
        report.longestBatchMs = Math.max(report.longestBatchMs, elapsedMs);
        report.batches += 1;
        report.expiredLots += batch.lots;
        report.expiredPoints += batch.points;
        progress.batches += 1;
        progress.expiredLots += batch.lots;
        progress.expiredPoints += batch.points;
        await checkpoints?.afterBatch(batch.lots);
        options.onProgress?.({ ...progress });
        if (batch.candidates < batchSize) break;
        if (options.batchSize === undefined) batchSize = nextBatchSize(batchSize, elapsedMs);
        await pause(options.pauseMs);
      }
    }
  } finally {
    await checkpoints?.end();
  }
  return report;
}

/** Lots the sweep expires between two WAL checkpoints of its own (SQLite): ~2 pages a lot, so a WAL of tens of MB. */
const SWEEP_CHECKPOINT_LOTS = 10_000;

/**
 * SQLite's WAL checkpoints during a sweep. By default SQLite checkpoints inside the commit that
 * takes the WAL past 1,000 pages — with sweep batches, every commit: each batch's pages were copied
 * into the database file (and the file synced) once per batch, the same hot index pages over and
 * over, and that copy counted in the batch's time although the write lock is already released. So
 * while a sweep runs, automatic checkpoints are off on this connection and the sweep checkpoints
 * itself between its transactions, every `SWEEP_CHECKPOINT_LOTS` lots: a page that many batches
 * rewrote is copied once. `PASSIVE`: it never waits for, nor blocks, readers or writers. Sweeps that
 * overlap in one process share the setting; the last one to finish restores it.
 */
interface SharedCheckpoints {
  /** Sweeps running on this database. */
  sweeps: number;
  /** The setting the first of them found, restored when the last one ends. */
  autocheckpoint: number;
  lotsSinceCheckpoint: number;
}

class SweepCheckpoints {
  private static readonly running = new WeakMap<Kysely<Database>, SharedCheckpoints>();
  /** Starting and ending sweeps take turns per database, so none reads the setting another has just turned off. */
  private static readonly turns = new WeakMap<Kysely<Database>, Promise<unknown>>();

  private constructor(
    private readonly db: Kysely<Database>,
    private readonly shared: SharedCheckpoints,
  ) {}

  static async begin(db: Kysely<Database>): Promise<SweepCheckpoints> {
    const shared = await SweepCheckpoints.inTurn(db, async () => {
      let found = SweepCheckpoints.running.get(db);
      if (found === undefined) {
        const { rows } = await sql<{ wal_autocheckpoint: number }>`pragma wal_autocheckpoint`.execute(db);
        const autocheckpoint = Number(rows[0]?.wal_autocheckpoint ?? 1000);
        await sql`pragma wal_autocheckpoint = 0`.execute(db);
        found = { sweeps: 0, autocheckpoint, lotsSinceCheckpoint: 0 };
        SweepCheckpoints.running.set(db, found);
      }
      found.sweeps += 1;
      return found;
    });
    return new SweepCheckpoints(db, shared);
  }

  async afterBatch(lots: number): Promise<void> {
    this.shared.lotsSinceCheckpoint += lots;
    if (this.shared.lotsSinceCheckpoint < SWEEP_CHECKPOINT_LOTS) return;
    this.shared.lotsSinceCheckpoint = 0;
    await sql`pragma wal_checkpoint(PASSIVE)`.execute(this.db);
  }

  async end(): Promise<void> {
    await SweepCheckpoints.inTurn(this.db, async () => {
      this.shared.sweeps -= 1;
      if (this.shared.sweeps > 0) return;
      SweepCheckpoints.running.delete(this.db);
      await sql.raw(`pragma wal_autocheckpoint = ${this.shared.autocheckpoint}`).execute(this.db);
      if (this.shared.lotsSinceCheckpoint > 0) await sql`pragma wal_checkpoint(PASSIVE)`.execute(this.db);
    });
  }

  private static inTurn<T>(db: Kysely<Database>, step: () => Promise<T>): Promise<T> {
    const next = (SweepCheckpoints.turns.get(db) ?? Promise.resolve()).then(step);
    SweepCheckpoints.turns.set(db, next.catch(() => undefined));
    return next;
  }
}

const SWEEP_BATCH_FIRST = 250;
const SWEEP_BATCH_MIN = 50;
const SWEEP_BATCH_MAX = 10_000;
/** What a sweep transaction aims to take: well under the 500 ms other writers may be kept waiting. */
const SWEEP_BATCH_TARGET_MS = 150;

/** The next batch, scaled toward the target time by the last one's pace, at most doubling or halving. */
function nextBatchSize(size: number, elapsedMs: number): number {
  const paced = Math.round((size * SWEEP_BATCH_TARGET_MS) / Math.max(elapsedMs, 1));
  return Math.min(SWEEP_BATCH_MAX, Math.max(SWEEP_BATCH_MIN, Math.min(size * 2, Math.max(Math.ceil(size / 2), paced))));
}

interface DueLot {
  id: string;
  shopper_id: string;
  remaining: number;
  held: number;
  status: string;
  program_version: number;
  expires_at: number | null;
  /** SQLite's rowid: selected on SQLite only. */
  row_id?: number;
}

async function expireLotBatch(tx: WriteContext, merchantId: string, batchSize: number): Promise<{ candidates: number; lots: number; points: number }> {
  const now = tx.now.getTime();
  // By the partial index lots(merchant_id, expires_at) where remaining > 0 and expires_at is not null.
  const candidates: DueLot[] = await tx.db
    .selectFrom('lots')
    .select(['id', 'shopper_id', 'remaining', 'held', 'status', 'program_version', 'expires_at'])
    // SQLite's own row key, for the update below; Postgres has none that is stable.
    .$if(tx.dialect === 'sqlite', (query) => query.select(sql<number>`rowid`.as('row_id')))
    .where('merchant_id', '=', merchantId)
    .where('remaining', '>', 0)
    .where('expires_at', 'is not', null)
    .where('expires_at', '<=', now)
    .whereRef('remaining', '>', 'held')
    .where('status', 'in', ['available', 'pending'])
    .orderBy('expires_at')
    .limit(batchSize)
    .execute();
  if (candidates.length === 0) return { candidates: 0, lots: 0, points: 0 };

  // Lock order shopper → lots, as every writer keeps it, so the sweep never deadlocks with a checkout
  // (locking the lots first would hold a lot a checkout of the same shopper is waiting to update).
  // Shoppers are taken in id order, so two sweepers queue on each other instead of deadlocking, and
  // the lots are read again under those locks, skipping what a concurrent sweeper or writer changed
  // meanwhile: nothing is expired twice. As the only writer (SQLite) the candidates are already current.
  let current = candidates;
  if (!tx.isOnlyWriter) {
    await lockShoppers(tx, merchantId, candidates.map((lot) => lot.shopper_id));
    // By primary key only: with the expiry predicates in SQL a planner may scan the whole due range instead.
    current = await tx
      .forUpdate(
        tx.db
          .selectFrom('lots')
          .select(['id', 'shopper_id', 'remaining', 'held', 'status', 'program_version', 'expires_at'])
          .where('id', 'in', candidates.map((lot) => lot.id)),
      )
      .execute();
  }
  const due = current.filter((lot) => isDue(lot, now));
  if (due.length === 0) return { candidates: candidates.length, lots: 0, points: 0 };

  await tx.db
    .updateTable('lots')
    .set((eb) => ({
      remaining: eb.ref('held'),
      status: eb.case().when('held', '=', 0).then('expired' as const).else(eb.ref('status')).end(),
    }))
    // On SQLite by rowid, in rowid order: straight to each row, without a probe of the text key's index.
    .$call((query) =>
      tx.dialect === 'sqlite'
        ? query.where(sql`rowid`, 'in', due.map((lot) => lot.row_id!).sort((a, b) => a - b))
        : query.where('id', 'in', due.map((lot) => lot.id)),
    )
    .execute();

  const deltas = new Map<string, BalanceDelta>();
  const entries: JournalEntryInput[] = [];
  let points = 0;
  for (const lot of due) {
    const expired = Number(lot.remaining) - Number(lot.held);
    const delta = deltas.get(lot.shopper_id) ?? {};
    if (lot.status === 'pending') delta.pending = (delta.pending ?? 0) - expired;
    else delta.available = (delta.available ?? 0) - expired;
    deltas.set(lot.shopper_id, delta);
    points += expired;
    entries.push({
      shopperId: lot.shopper_id,
      kind: 'expire',
      points: -expired,
      ref: lot.id,
      lotId: lot.id,
      programVersion: Number(lot.program_version),
      detail: { expiresAt: Number(lot.expires_at), keptHeld: Number(lot.held) },
    });
  }
  await changeBalancesMany(tx, merchantId, deltas);
  const { program, version } = await getProgram(tx.db, merchantId);
  if (program.valuation.kind === 'pool') {
    await poolBurnExpiredInTx(tx, { merchantId, points, ref: `expire:${due[0]!.id}`, programVersion: version });
  }
  await tx.journal.appendMany(merchantId, entries);
  return { candidates: candidates.length, lots: due.length, points };
}

function isDue(lot: DueLot, now: number): boolean {
  return (
    (lot.status === 'available' || lot.status === 'pending') &&
    lot.expires_at !== null &&
    Number(lot.expires_at) <= now &&
    Number(lot.remaining) > Number(lot.held)
  );
}

export interface RemindersReport {
  reminders: number;
  batches: number;
}

/** The outbox kind of an expiry reminder. */
export const EXPIRY_REMINDER_KIND = 'points.expiring';

/**
 * Queues expiry reminders (SPEC §3.1): for lots with unreserved points left whose reminder day has
 * begun, one outbox row per lot and offset, produced once (dedupe key `reminder:<lotId>:<days>`).
 * Which offset is due depends only on the expiry instant (rules `remindersDue`), and lots earned on
 * the same local day share it, so the work goes expiry instant by expiry instant, each in bounded
 * batches of lots. Reminder offsets are the current program's (a policy turned off keeps reminding
 * of points that still expire, with the default offsets).
 */
export async function emitReminders(ledger: Ledger, options: { merchantId?: string; limit?: number } = {}): Promise<RemindersReport> {
  const limit = options.limit ?? 1000;
  const report: RemindersReport = { reminders: 0, batches: 0 };
  for (const merchantId of await merchantsToSweep(ledger, options.merchantId)) {
    const { program } = await getProgram(ledger.db, merchantId);
    const reminderDays = reminderOffsets(program);
    if (reminderDays.length === 0) continue;
    const now = ledger.now();
    // Every offset's day begins at most (offset + 1) × 24 h + a DST hour before the expiry instant.
    const horizon = now.getTime() + (Math.max(...reminderDays) + 2) * 86_400_000;
    const instants = await ledger.db
      .selectFrom('lots')
      .select('expires_at')
      .distinct()
      .where('merchant_id', '=', merchantId)
      .where('remaining', '>', 0)
      .where('expires_at', 'is not', null)
      .where('expires_at', '>', now.getTime())
      .where('expires_at', '<=', horizon)
      .orderBy('expires_at')
      .execute();
    for (const { expires_at: expiresAtMs } of instants) {
      if (expiresAtMs === null) continue;
      const expiresAt = new Date(Number(expiresAtMs));
      const [days] = remindersDue({ expiresAt, reminderDays, timeZone: program.timeZone, now, alreadySent: [] });
      if (days === undefined) continue;
      let after = '';
      for (;;) {
        const batch = await ledger.write((tx) => remindBatch(tx, { merchantId, program, expiresAt, days, after, limit }));
        report.batches += 1;
        report.reminders += batch.queued;
        if (batch.lastLotId === null) break;
        after = batch.lastLotId;
      }
    }
  }
  return report;
}

async function remindBatch(
  tx: WriteContext,
  input: { merchantId: string; program: Program; expiresAt: Date; days: number; after: string; limit: number },
): Promise<{ queued: number; lastLotId: string | null }> {
  const lots = await tx.db
    .selectFrom('lots')
    .select(['id', 'shopper_id', 'remaining', 'held'])
    .where('merchant_id', '=', input.merchantId)
    .where('remaining', '>', 0)
    .where('expires_at', 'is not', null)
    .where('expires_at', '=', input.expiresAt.getTime())
    .whereRef('remaining', '>', 'held')
    .where('status', '=', 'available')
    .where('id', '>', input.after)
    .orderBy('id')
    .limit(input.limit)
    .execute();
  if (lots.length === 0) return { queued: 0, lastLotId: null };
  const unitValue = pointUnitValue(input.program, await readPool(tx.db, input.merchantId));
  const expiresOn = expiryLocalDate(input.expiresAt, input.program.timeZone);
  const messages: OutboxMessage[] = lots.map((lot) => {
    const points = Number(lot.remaining) - Number(lot.held);
    return {
      merchantId: input.merchantId,
      kind: EXPIRY_REMINDER_KIND,
      dedupeKey: `reminder:${lot.id}:${input.days}`,
      payload: {
        shopperId: lot.shopper_id,
        lotId: lot.id,
        points,
        pointsText: formatPointUnits(points, input.program.pointDecimals),
        value: valueOfPoints(points, unitValue),
        currency: input.program.currency,
        expiresAt: input.expiresAt.toISOString(),
        expiresOn,
        daysBefore: input.days,
      },
    };
  });
  const queued = await enqueueMany(tx, messages);
  return { queued, lastLotId: lots.length < input.limit ? null : lots[lots.length - 1]!.id };
}

function reminderOffsets(program: Program): readonly number[] {
  if (program.expiry.kind !== 'none') return program.expiry.reminderDays;
  const fallback = defaultProgram().expiry;
  return fallback.kind === 'none' ? [] : fallback.reminderDays;
}

export interface RunSweepReport {
  holds: ExpireHoldsReport;
  pending: Awaited<ReturnType<typeof releaseDuePending>>;
  releases: { lots: number; released: number; batches: number };
  lots: SweepReport;
  capOuts: { converted: number; batches: number };
  reminders: RemindersReport;
}

export type RunSweepStage = 'holds' | 'pending' | 'releases' | 'lots' | 'capouts' | 'reminders';

/**
 * `jifen sweep` (SPEC §8), in the order each step feeds the next: expire holds (their points return
 * to their lots), make due pending points available, vest staged pool releases, expire lots (the
 * released holds' points included), convert cap-outs (an expiry burn raises the pool price), and
 * queue reminders for what is left.
 */
export async function runSweep(
  ledger: Ledger,
  options: {
    merchantId?: string;
    batchSize?: number;
    /** See `SweepOptions.pauseMs`: between the batches of every stage that takes several. */
    pauseMs?: number;
    onStage?: (stage: RunSweepStage) => void;
    onProgress?: (progress: SweepProgress) => void;
  } = {},
): Promise<RunSweepReport> {
  const scope = options.merchantId === undefined ? {} : { merchantId: options.merchantId };
  const limit = options.batchSize === undefined ? {} : { limit: options.batchSize };
  options.onStage?.('holds');
  const holds = await expireHolds(ledger, { ...scope, ...limit });
  options.onStage?.('pending');
  const pending = await releaseDuePending(ledger, { ...scope, ...limit });
  options.onStage?.('releases');
  const releases = { lots: 0, released: 0, batches: 0 };
  for (;;) {
    const run = await runReleases(ledger, { ...scope, ...limit });
    releases.batches += 1;
    releases.lots += run.lots;
    releases.released += run.released;
    // Every lot a batch takes leaves it: its next release instant is after now (or none), even when
    // this period vested nothing of it (a small lot's share rounds to 0). So a full batch that moved
    // nothing is not the same batch again — the lots behind it may have vested. Stop when none is due.
    if (!run.hasMore || run.lots === 0) break;
    await pause(options.pauseMs);
  }
  options.onStage?.('lots');
  const lots = await sweepExpiredLots(ledger, {
    ...scope,
    ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize }),
    ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
    ...(options.pauseMs === undefined ? {} : { pauseMs: options.pauseMs }),
  });
  options.onStage?.('capouts');
  const capOuts = { converted: 0, batches: 0 };
  for (;;) {
    const run = await runCapOuts(ledger, { ...scope, ...limit });
    capOuts.batches += 1;
    capOuts.converted += run.converted;
    if (!run.hasMore || run.converted === 0) break;
    await pause(options.pauseMs);
  }
  options.onStage?.('reminders');
  const reminders = await emitReminders(ledger, { ...scope, ...limit });
  return { holds, pending, releases, lots, capOuts, reminders };
}

function pause(ms: number | undefined): Promise<void> | undefined {
  return ms === undefined || ms <= 0 ? undefined : new Promise((resolve) => setTimeout(resolve, ms));
}

async function merchantsToSweep(ledger: Ledger, merchantId: string | undefined): Promise<string[]> {
  if (merchantId !== undefined) return [merchantId];
  const rows = await ledger.db.selectFrom('merchants').select('id').orderBy('id').execute();
  return rows.map((row) => row.id);
}
