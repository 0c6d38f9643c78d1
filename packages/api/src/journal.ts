import { type Database, type JournalRow as StoredJournalRow, insertMany, prepareLockingRead, prepareQuery } from '@jifen/db';
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
  return sha256Hex(`${prevHash}\n${hashedBody(entry, canonicalJson(entry.detail))}`);
}

/**
 * `canonicalJson` of the hashed fields, byte for byte, written out directly: the keys in canonical
 * (sorted) order around the detail's own encoding. A sweep journals thousands of entries at once;
 * this way each detail is encoded once (the row stores the same text) and no object is built to be
 * sorted. A field that is not a plain value falls back to `canonicalJson` itself.
 */
function hashedBody(entry: Omit<JournalEntry, 'prevHash' | 'hash'>, detailJson: string): string {
  const amount = canonicalScalar(entry.amount);
  const compensates = canonicalScalar(entry.compensates);
  const createdAt = canonicalScalar(entry.createdAt);
  const kind = canonicalScalar(entry.kind);
  const lotId = canonicalScalar(entry.lotId);
  const merchantId = canonicalScalar(entry.merchantId);
  const points = canonicalScalar(entry.points);
  const programVersion = canonicalScalar(entry.programVersion);
  const ref = canonicalScalar(entry.ref);
  const seq = canonicalScalar(entry.seq);
  const shopperId = canonicalScalar(entry.shopperId);
  if (
    amount === undefined ||
    compensates === undefined ||
    createdAt === undefined ||
    kind === undefined ||
    lotId === undefined ||
    merchantId === undefined ||
    points === undefined ||
    programVersion === undefined ||
    ref === undefined ||
    seq === undefined ||
    shopperId === undefined
  ) {
    return canonicalJson({
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
  }
  return `{"amount":${amount},"compensates":${compensates},"createdAt":${createdAt},"detail":${detailJson},"kind":${kind},"lotId":${lotId},"merchantId":${merchantId},"points":${points},"programVersion":${programVersion},"ref":${ref},"seq":${seq},"shopperId":${shopperId}}`;
}

/** A value as `canonicalJson` encodes it, or undefined when it is not null, a string, a boolean or a number. */
function canonicalScalar(value: unknown): string | undefined {
  if (value === null) return 'null';
  if (typeof value === 'string' || typeof value === 'boolean') return JSON.stringify(value);
  if (typeof value === 'number') return canonicalJson(value);
  return undefined;
}

interface Head {
  seq: number;
  hash: string;
  dirty: boolean;
}

const readHead = prepareLockingRead((db, head: { merchantId: string }) => db.selectFrom('journal_heads').select(['seq', 'hash']).where('merchant_id', '=', head.merchantId));

const writeHead = prepareQuery((db, head: { merchantId: string; seq: number; hash: string }) =>
  db.updateTable('journal_heads').set({ seq: head.seq, hash: head.hash }).where('merchant_id', '=', head.merchantId),
);

/**
 * The chain heads a transaction has read and moved, written back once just before it commits. A
 * group-commit batch shares one across its writes — one head read and one head write per batch
 * rather than per write — and a write rolled back to its savepoint returns the heads to their mark.
 */
export class JournalHeads {
  private readonly heads = new Map<string, Head>();

  /** The merchant's head, read (and on Postgres locked) the first time this transaction needs it. */
  async lock(db: Kysely<Database>, merchantId: string): Promise<Head> {
    const cached = this.heads.get(merchantId);
    if (cached) return cached;
    // FOR UPDATE on Postgres; SQLite's BEGIN IMMEDIATE already made this transaction the only writer.
    const row = await readHead.executeTakeFirst(db, { merchantId });
    if (!row) throw new Error('jifen invariant: every merchant has a journal head');
    const head = { seq: Number(row.seq), hash: row.hash, dirty: false };
    this.heads.set(merchantId, head);
    return head;
  }

  /**
   * A head the caller read and locked itself, in a statement with another row (orders.ts reads the
   * month's budget and the head together on Postgres). Taken only if this transaction has not read
   * the head yet: once it has, its own copy is ahead of the stored row (group commit writes heads
   * back at the end of the batch).
   */
  adopt(merchantId: string, row: { seq: number; hash: string }): void {
    if (!this.heads.has(merchantId)) this.heads.set(merchantId, { seq: Number(row.seq), hash: row.hash, dirty: false });
  }

  /** Where the heads are now, to return to if the write that follows is rolled back. */
  mark(): ReadonlyMap<string, Head> {
    return new Map([...this.heads].map(([merchantId, head]) => [merchantId, { ...head }]));
  }

  rewind(mark: ReadonlyMap<string, Head>): void {
    this.heads.clear();
    for (const [merchantId, head] of mark) this.heads.set(merchantId, { ...head });
  }

  /** Writes every moved head back. */
  async write(db: Kysely<Database>): Promise<void> {
    for (const [merchantId, head] of this.heads) {
      if (!head.dirty) continue;
      await writeHead.executeDeferred(db, { merchantId, seq: head.seq, hash: head.hash });
      head.dirty = false;
    }
  }
}

/**
 * Appends entries for one transaction. The first append for a merchant locks its head row (Postgres
 * `FOR UPDATE`; on SQLite the transaction already holds the write lock since `BEGIN IMMEDIATE`), so
 * services should journal at the end of their work to keep that lock short. `finish()` writes the
 * heads back; the ledger calls it before commit.
 */
export class JournalWriter {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly now: Date,
    private readonly heads: JournalHeads = new JournalHeads(),
  ) {}

  /** The merchant's head as the caller read and locked it (see `JournalHeads.adopt`). */
  adoptHead(merchantId: string, row: { seq: number; hash: string }): void {
    this.heads.adopt(merchantId, row);
  }

  async append(merchantId: string, input: JournalEntryInput): Promise<JournalEntry> {
    const [entry] = await this.appendMany(merchantId, [input]);
    return entry!;
  }

  /** Appends in order, inserting in chunks (the sweep journals thousands of expiries at once). */
  async appendMany(merchantId: string, inputs: readonly JournalEntryInput[]): Promise<JournalEntry[]> {
    if (inputs.length === 0) return [];
    const head = await this.heads.lock(this.db, merchantId);
    const createdAt = this.now.getTime();
    const rows: JournalRow[] = new Array(inputs.length);
    const entries: JournalEntry[] = new Array(inputs.length);
    // A plain loop and one object per entry, its hash filled in once computed: a sweep journals
    // thousands of entries a batch, and each intermediate object was a share of its time.
    for (let index = 0; index < inputs.length; index++) {
      const input = inputs[index]!;
      const entry: JournalEntry = {
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
        prevHash: head.hash,
        hash: '',
      };
      const detailJson = canonicalJson(entry.detail);
      entry.hash = sha256Hex(`${head.hash}\n${hashedBody(entry, detailJson)}`);
      rows[index] = toJournalRow(entry, detailJson);
      entries[index] = entry;
      head.seq = entry.seq;
      head.hash = entry.hash;
    }
    head.dirty = true;
    await insertMany(this.db, 'journal', rows, { deferred: true });
    return entries;
  }

  /** Writes every touched head back. Called once, just before commit. */
  async finish(): Promise<void> {
    await this.heads.write(this.db);
  }
}

type JournalRow = ReturnType<typeof toJournalRow>;

function toJournalRow(entry: JournalEntry, detailJson: string) {
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
    detail: detailJson,
    created_at: entry.createdAt,
    prev_hash: entry.prevHash,
    hash: entry.hash,
  };
}

/** A stored journal row as the domain entry (both engines return numbers for int8 after `createDb`). */
export function fromJournalRow(row: StoredJournalRow): JournalEntry {
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

/** Which of a shopper's entries to find: the entries of one kind recorded for one caller's id. */
export interface EntryKey {
  merchantId: string;
  shopperId: string;
  kind: JournalKind;
  ref: string;
}

/** A found entry: its seq, the program version it was made under and its parsed detail. */
export interface FoundEntry<Detail> {
  seq: number;
  programVersion: number;
  detail: Detail;
}

/**
 * A shopper's entries of `kind` for `ref`, oldest first — what a compensation links to
 * (`compensates`) and reads back (a hold's cash due and the rules it was placed under, the lots an
 * exchange spent).
 */
export async function entriesFor<Detail = Record<string, unknown>>(db: Kysely<Database>, key: EntryKey): Promise<FoundEntry<Detail>[]> {
  const rows = await db
    .selectFrom('journal')
    .select(['seq', 'program_version', 'detail'])
    .where('merchant_id', '=', key.merchantId)
    .where('shopper_id', '=', key.shopperId)
    .where('kind', '=', key.kind)
    .where('ref', '=', key.ref)
    .orderBy('seq')
    .execute();
  return rows.map((row) => ({ seq: Number(row.seq), programVersion: Number(row.program_version), detail: JSON.parse(row.detail) as Detail }));
}

/** The one entry of `kind` for `ref` (a hold's placement, a coupon's exchange); its absence is a broken ledger. */
export async function entryFor<Detail = Record<string, unknown>>(db: Kysely<Database>, key: EntryKey): Promise<FoundEntry<Detail>> {
  const [entry] = await entriesFor<Detail>(db, key);
  if (!entry) throw new Error(`the journal has no ${key.kind} entry for ${key.ref}`);
  return entry;
}

/**
 * The hash a stored row should carry after `prevHash`; null when its fields cannot be read back as
 * an entry — a detail edited into text that is not JSON, or not canonical (a float) — which is an
 * alteration too, named as one rather than failing the walk.
 */
function rowHash(row: StoredJournalRow, prevHash: string): string | null {
  try {
    const { prevHash: _prev, hash: _hash, ...unsealed } = fromJournalRow(row);
    return entryHash(prevHash, unsealed);
  } catch {
    return null;
  }
}

export interface ChainBreak {
  seq: number;
  problem: 'hash' | 'link' | 'gap' | 'head';
  detail: string;
}

/**
 * Walks a merchant's chain in seq order, page by page, and names the first bad entry: an edited row
 * fails its hash, a deleted row leaves a gap, an inserted row breaks the link or the numbering —
 * including one numbered below 1, before the chain's first entry, which the walk from 1 would not
 * reach while `verify`'s sums would still count its points.
 */
export async function verifyChain(db: Kysely<Database>, merchantId: string, pageSize = 5000): Promise<ChainBreak | null> {
  const head = await db.selectFrom('journal_heads').select(['seq', 'hash']).where('merchant_id', '=', merchantId).executeTakeFirst();
  const headSeq = head ? Number(head.seq) : 0;
  const beforeFirst = await db.selectFrom('journal').select('seq').where('merchant_id', '=', merchantId).where('seq', '<', 1).orderBy('seq').limit(1).executeTakeFirst();
  if (beforeFirst) {
    const seq = Number(beforeFirst.seq);
    return { seq, problem: 'link', detail: `entry ${seq} lies before the chain's first entry (1)` };
  }
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
      const seq = Number(row.seq);
      if (seq !== expectedSeq) return { seq: expectedSeq, problem: 'gap', detail: `entry ${expectedSeq} is missing (next is ${seq})` };
      if (seq > headSeq) return { seq, problem: 'head', detail: `entry ${seq} lies beyond the chain head (${headSeq})` };
      if (row.prev_hash !== prevHash) return { seq, problem: 'link', detail: `entry ${seq} does not follow entry ${seq - 1}` };
      if (rowHash(row, prevHash) !== row.hash) return { seq, problem: 'hash', detail: `entry ${seq} was altered` };
      prevHash = row.hash;
      expectedSeq += 1;
    }
    if (rows.length < pageSize) break;
  }
  const lastSeq = expectedSeq - 1;
  if (lastSeq < headSeq) return { seq: lastSeq + 1, problem: 'gap', detail: `entries ${lastSeq + 1}..${headSeq} are missing` };
  if (head && head.hash !== prevHash) return { seq: lastSeq, problem: 'head', detail: `the chain head does not match entry ${lastSeq}` };
  return null;
}
