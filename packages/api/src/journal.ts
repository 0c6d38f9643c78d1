import type { Database, JifenDialect } from '@jifen/db';
import type { Kysely } from 'kysely';
import { canonicalJson, sha256Hex } from './canonical';

/**
 * The append-only journal (SPEC §4). Each entry carries the hash of its merchant's previous entry,
 * so editing, deleting or inserting any row breaks the chain at that row. Sequence numbers are
 * assigned here, inside the write transaction, from the merchant's `journal_heads` row — never from
 * a database sequence, which leaves gaps on rollback.
 */

export const GENESIS_HASH = '0'.repeat(64);

/** What a service records; `points` is the signed change to the shopper's points (available + held + pending). */
export interface JournalEntryInput {
  shopperId: string | null;
  kind: JournalKind;
  points: number;
  /** Signed money change, minor units (pool contributions and payouts); 0 otherwise. */
  amount?: number;
  /** The caller's id the entry answers to: order, refund, hold, coupon code, adjustment key. */
  ref: string;
  lotId?: string | null;
  /** The seq of the entry this one compensates (refunds, releases, clawbacks), never an edit of it. */
  compensates?: number | null;
  programVersion: number;
  detail?: Record<string, unknown>;
}

export type JournalKind =
  | 'earn'
  | 'earn.available'
  | 'earn.cancel'
  | 'behaviour'
  | 'checkin'
  | 'referral'
  | 'adjust'
  | 'hold.place'
  | 'hold.capture'
  | 'hold.release'
  | 'hold.expire'
  | 'hold.approve'
  | 'coupon.exchange'
  | 'coupon.cancel'
  | 'refund.clawback'
  | 'refund.restore'
  | 'debt.settle'
  | 'expire'
  | 'pool.contribute'
  | 'pool.mint'
  | 'pool.payout'
  | 'pool.burn'
  | 'pool.release'
  | 'capout';

export interface JournalEntry extends Required<Omit<JournalEntryInput, 'detail'>> {
  merchantId: string;
  seq: number;
  detail: Record<string, unknown>;
  createdAt: number;
  prevHash: string;
  hash: string;
}

/** The fields a hash covers, in canonical form. Changing this breaks every existing chain. */
export function entryHash(prevHash: string, entry: Omit<JournalEntry, 'prevHash' | 'hash'>): string {
  const body = canonicalJson({
    merchantId: entry.merchantId,
    seq: entry.seq,
    shopperId: entry.shopperId,
    kind: entry.kind,
    points: entry.points,
    amount: entry.amount,
    ref: entry.ref,
    lotId: entry.lotId,
    compensates: entry.compensates,
    programVersion: entry.programVersion,
    detail: entry.detail,
    createdAt: entry.createdAt,
  });
  return sha256Hex(`${prevHash}\n${body}`);
}

interface Head {
  seq: number;
  hash: string;
  dirty: boolean;
}

/**
 * Appends entries for one transaction. The first append for a merchant locks its head row (Postgres
 * `FOR UPDATE`; on SQLite the transaction already holds the write lock since `BEGIN IMMEDIATE`), so
 * services should journal at the end of their work to keep that lock short. `finish()` writes the
 * heads back; the ledger calls it before commit.
 */
export class JournalWriter {
  private readonly heads = new Map<string, Head>();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: JifenDialect,
    private readonly now: Date,
  ) {}

  async append(merchantId: string, input: JournalEntryInput): Promise<JournalEntry> {
    const [entry] = await this.appendMany(merchantId, [input]);
    return entry!;
  }

  /** Appends in order, inserting in chunks (the sweep journals thousands of expiries at once). */
  async appendMany(merchantId: string, inputs: readonly JournalEntryInput[]): Promise<JournalEntry[]> {
    if (inputs.length === 0) return [];
    const head = await this.lockHead(merchantId);
    const createdAt = this.now.getTime();
    const entries: JournalEntry[] = inputs.map((input) => {
      const unsealed = {
        merchantId,
        seq: head.seq + 1,
        shopperId: input.shopperId,
        kind: input.kind,
        points: input.points,
        amount: input.amount ?? 0,
        ref: input.ref,
        lotId: input.lotId ?? null,
        compensates: input.compensates ?? null,
        programVersion: input.programVersion,
        detail: input.detail ?? {},
        createdAt,
      };
      const hash = entryHash(head.hash, unsealed);
      const entry = { ...unsealed, prevHash: head.hash, hash };
      head.seq = entry.seq;
      head.hash = hash;
      return entry;
    });
    head.dirty = true;
    // SQLite binds at most 32766 variables per statement; 13 columns a row → 1000 rows a chunk stays well within.
    for (let start = 0; start < entries.length; start += 1000) {
      await this.db
        .insertInto('journal')
        .values(entries.slice(start, start + 1000).map(toJournalRow))
        .execute();
    }
    return entries;
  }

  /** Writes every touched head back. Called once, just before commit. */
  async finish(): Promise<void> {
    for (const [merchantId, head] of this.heads) {
      if (!head.dirty) continue;
      await this.db.updateTable('journal_heads').set({ seq: head.seq, hash: head.hash }).where('merchant_id', '=', merchantId).execute();
      head.dirty = false;
    }
  }

  private async lockHead(merchantId: string): Promise<Head> {
    const cached = this.heads.get(merchantId);
    if (cached) return cached;
    let query = this.db.selectFrom('journal_heads').select(['seq', 'hash']).where('merchant_id', '=', merchantId);
    // SQLite has no FOR UPDATE; its BEGIN IMMEDIATE already made this transaction the only writer.
    if (this.dialect === 'postgres') query = query.forUpdate();
    const row = await query.executeTakeFirst();
    if (!row) throw new Error('jifen invariant: every merchant has a journal head');
    const head = { seq: Number(row.seq), hash: row.hash, dirty: false };
    this.heads.set(merchantId, head);
    return head;
  }
}

function toJournalRow(entry: JournalEntry) {
  return {
    merchant_id: entry.merchantId,
    seq: entry.seq,
    shopper_id: entry.shopperId,
    kind: entry.kind,
    points: entry.points,
    amount: entry.amount,
    ref: entry.ref,
    lot_id: entry.lotId,
    compensates: entry.compensates,
    program_version: entry.programVersion,
    detail: canonicalJson(entry.detail),
    created_at: entry.createdAt,
    prev_hash: entry.prevHash,
    hash: entry.hash,
  };
}

/** A stored journal row as the domain entry (both engines return numbers for int8 after `createDb`). */
export function fromJournalRow(row: {
  merchant_id: string;
  seq: number;
  shopper_id: string | null;
  kind: string;
  points: number;
  amount: number;
  ref: string;
  lot_id: string | null;
  compensates: number | null;
  program_version: number;
  detail: string;
  created_at: number;
  prev_hash: string;
  hash: string;
}): JournalEntry {
  return {
    merchantId: row.merchant_id,
    seq: Number(row.seq),
    shopperId: row.shopper_id,
    kind: row.kind as JournalKind,
    points: Number(row.points),
    amount: Number(row.amount),
    ref: row.ref,
    lotId: row.lot_id,
    compensates: row.compensates === null ? null : Number(row.compensates),
    programVersion: Number(row.program_version),
    detail: JSON.parse(row.detail) as Record<string, unknown>,
    createdAt: Number(row.created_at),
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

export interface ChainBreak {
  seq: number;
  problem: 'hash' | 'link' | 'gap' | 'head';
  detail: string;
}

/**
 * Walks a merchant's chain in seq order, page by page, and names the first bad entry: an edited row
 * fails its hash, a deleted row leaves a gap, an inserted row breaks the link or the numbering.
 */
export async function verifyChain(db: Kysely<Database>, merchantId: string, pageSize = 5000): Promise<ChainBreak | null> {
  const head = await db.selectFrom('journal_heads').select(['seq', 'hash']).where('merchant_id', '=', merchantId).executeTakeFirst();
  const headSeq = head ? Number(head.seq) : 0;
  let expectedSeq = 1;
  let prevHash = GENESIS_HASH;
  for (;;) {
    const rows = await db
      .selectFrom('journal')
      .selectAll()
      .where('merchant_id', '=', merchantId)
      .where('seq', '>=', expectedSeq)
      .orderBy('seq')
      .limit(pageSize)
      .execute();
    for (const row of rows) {
      const entry = fromJournalRow(row);
      if (entry.seq !== expectedSeq) return { seq: expectedSeq, problem: 'gap', detail: `entry ${expectedSeq} is missing (next is ${entry.seq})` };
      if (entry.seq > headSeq) return { seq: entry.seq, problem: 'head', detail: `entry ${entry.seq} lies beyond the chain head (${headSeq})` };
      if (entry.prevHash !== prevHash) return { seq: entry.seq, problem: 'link', detail: `entry ${entry.seq} does not follow entry ${entry.seq - 1}` };
      const { prevHash: _prev, hash: _hash, ...unsealed } = entry;
      if (entryHash(prevHash, unsealed) !== entry.hash) return { seq: entry.seq, problem: 'hash', detail: `entry ${entry.seq} was altered` };
      prevHash = entry.hash;
      expectedSeq += 1;
    }
    if (rows.length < pageSize) break;
  }
  const lastSeq = expectedSeq - 1;
  if (lastSeq < headSeq) return { seq: lastSeq + 1, problem: 'gap', detail: `entries ${lastSeq + 1}..${headSeq} are missing` };
  if (head && head.hash !== prevHash) return { seq: lastSeq, problem: 'head', detail: `the chain head does not match entry ${lastSeq}` };
  return null;
}
