import { type Database, prepareQuery } from '@jifen/db';
import { type Program, type ProgramInput, parseProgram } from '@jifen/rules';
import type { Kysely } from 'kysely';
import { randomId, sha256Hex } from './canonical';
import { JifenError, invalid } from './errors';
import { GENESIS_HASH } from './journal';
import type { Ledger, WriteContext } from './ledger';
import { mapsPerDatabase } from './per-database';
import { isId } from './schemas';

/**
 * Merchants, their API keys and their program versions. An API key is shown once, at creation or
 * rotation, and stored only as its SHA-256 (the key is 256 random bits, so a fast hash is enough:
 * there is nothing to brute-force). The widget secret signs shopper tokens (HS256).
 */

export interface MerchantCredentials {
  merchantId: string;
  apiKey: string;
  /** The API key's id, for `merchant.keys.revoke` once a rotated key replaces it. */
  keyId: string;
  widgetSecret: string;
  /** The secret webhooks are signed with (`jifen-signature`): the receiver checks it. */
  webhookSecret: string;
}

export interface CreateMerchantInput {
  name: string;
  merchantId?: string;
  program?: ProgramInput;
  storefrontOrigins?: string[];
  webhookUrl?: string | null;
}

const API_KEY_PREFIX = 'jf_';

export async function createMerchant(ledger: Ledger, input: CreateMerchantInput): Promise<MerchantCredentials> {
  const program = validProgram(input.program ?? {});
  // A shopper token carries the merchant id as its `iss`: an id no token can carry would leave the widgets locked out.
  if (input.merchantId !== undefined && !isId(input.merchantId)) throw invalid('merchantId', 'must be 1 to 128 visible ASCII characters (no spaces)');
  // Deliveries go to it for good: an address that is not http(s) would fail every one, retried for ever.
  if (input.webhookUrl !== undefined && input.webhookUrl !== null && !isHttpUrl(input.webhookUrl)) throw invalid('webhookUrl', 'must be an http or https URL');
  const merchantId = input.merchantId ?? `m_${randomId(9)}`;
  const apiKey = `${API_KEY_PREFIX}${randomId(32)}`;
  const widgetSecret = randomId(32);
  const webhookSecret = randomId(32);
  const keyId = await ledger.write(async (tx) => {
    const at = tx.now.getTime();
    // Inserted only if the id is free: two replicas creating one id at once both get here, and the
    // second waits for the first's insert, then inserts nothing (a check before the insert would let both through).
    const created = await tx.db
      .insertInto('merchants')
      .values({
        id: merchantId,
        name: input.name,
        widget_secret: widgetSecret,
        storefront_origins: JSON.stringify(input.storefrontOrigins ?? []),
        webhook_url: input.webhookUrl ?? null,
        webhook_secret: webhookSecret,
        program_version: 1,
        created_at: at,
      })
      .onConflict((conflict) => conflict.column('id').doNothing())
      .executeTakeFirst();
    if (Number(created.numInsertedOrUpdatedRows ?? 0) === 0) throw invalid('merchantId', 'is already taken by another merchant');
    const firstKeyId = await insertApiKey(tx, merchantId, apiKey);
    await tx.db.insertInto('program_versions').values({ merchant_id: merchantId, version: 1, config: JSON.stringify(program), created_at: at }).execute();
    await tx.db.insertInto('journal_heads').values({ merchant_id: merchantId, seq: 0, hash: GENESIS_HASH }).execute();
    await tx.db
      .insertInto('pool_state')
      .values({ merchant_id: merchantId, amount: 0, supply: 0, contributions: 0, payouts: 0, minted: 0, burned: 0, updated_at: at })
      .execute();
    return firstKeyId;
  });
  return { merchantId, apiKey, keyId, widgetSecret, webhookSecret };
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

export interface ApiKeyView {
  keyId: string;
  /** The key's first characters (`jf_AbCdE`), to tell keys apart; the key itself is never stored. */
  prefix: string;
  createdAt: number;
  revokedAt: number | null;
}

/** `merchant.keys.list`: every key of the merchant, oldest first, so one can be found and revoked. */
export async function listApiKeys(db: Kysely<Database>, merchantId: string): Promise<ApiKeyView[]> {
  const rows = await db
    .selectFrom('api_keys')
    .select(['id', 'key_prefix', 'created_at', 'revoked_at'])
    .where('merchant_id', '=', merchantId)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  return rows.map((row) => ({ keyId: row.id, prefix: row.key_prefix, createdAt: Number(row.created_at), revokedAt: row.revoked_at === null ? null : Number(row.revoked_at) }));
}

/** The merchant an API key belongs to, or null for an unknown or revoked key. */
export async function merchantForApiKey(db: Kysely<Database>, apiKey: string): Promise<string | null> {
  if (!apiKey.startsWith(API_KEY_PREFIX) || apiKey.length > 128) return null;
  const row = await db
    .selectFrom('api_keys')
    .select(['merchant_id', 'revoked_at'])
    .where('key_hash', '=', sha256Hex(apiKey))
    .executeTakeFirst();
  return row && row.revoked_at === null ? row.merchant_id : null;
}

/** Issues a new key; the old ones keep working until revoked, so a shop can roll keys without downtime. */
export async function rotateApiKey(ledger: Ledger, merchantId: string): Promise<{ apiKey: string; keyId: string }> {
  const apiKey = `${API_KEY_PREFIX}${randomId(32)}`;
  const keyId = await ledger.write((tx) => insertApiKey(tx, merchantId, apiKey));
  return { apiKey, keyId };
}

export async function revokeApiKey(ledger: Ledger, merchantId: string, keyId: string): Promise<void> {
  await ledger.write(async (tx) => {
    const result = await tx.db
      .updateTable('api_keys')
      .set({ revoked_at: tx.now.getTime() })
      .where('merchant_id', '=', merchantId)
      .where('id', '=', keyId)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) > 0) return;
    // Revoking is idempotent on the key id: a replay of a revocation that happened answers the same.
    const revoked = await tx.db.selectFrom('api_keys').select('id').where('merchant_id', '=', merchantId).where('id', '=', keyId).executeTakeFirst();
    if (!revoked) throw new JifenError('NOT_FOUND', { what: 'API key' }, 'keyId');
  });
}

async function insertApiKey(tx: WriteContext, merchantId: string, apiKey: string): Promise<string> {
  const keyId = `k_${randomId(9)}`;
  await tx.db
    .insertInto('api_keys')
    .values({ id: keyId, merchant_id: merchantId, key_hash: sha256Hex(apiKey), key_prefix: apiKey.slice(0, 8), created_at: tx.now.getTime(), revoked_at: null })
    .execute();
  return keyId;
}

export interface MerchantSettings {
  merchantId: string;
  name: string;
  widgetSecret: string;
  storefrontOrigins: string[];
  webhookUrl: string | null;
  webhookSecret: string | null;
  programVersion: number;
}

// Every shopper call reads its merchant (the token's secret, the storefront origins): prepared once.
const readMerchant = prepareQuery((db, key: { merchantId: string }) => db.selectFrom('merchants').selectAll().where('id', '=', key.merchantId));

export async function getMerchant(db: Kysely<Database>, merchantId: string): Promise<MerchantSettings | null> {
  const row = await readMerchant.executeTakeFirst(db, { merchantId });
  if (!row) return null;
  return {
    merchantId: row.id,
    name: row.name,
    widgetSecret: row.widget_secret,
    storefrontOrigins: JSON.parse(row.storefront_origins) as string[],
    webhookUrl: row.webhook_url,
    webhookSecret: row.webhook_secret,
    programVersion: Number(row.program_version),
  };
}

export interface VersionedProgram {
  version: number;
  program: Program;
}

// Parsing a program is the costly part of loading one; a stored config text always parses to the same
// program, so the cache is keyed by the text itself and can never serve another database's version.
const parsedPrograms = new Map<string, Program>();

const readCurrentProgram = prepareQuery((db, key: { merchantId: string }) =>
  db
    .selectFrom('merchants')
    .leftJoin('program_versions', (join) => join.onRef('program_versions.merchant_id', '=', 'merchants.id').onRef('program_versions.version', '=', 'merchants.program_version'))
    .select(['merchants.program_version as version', 'program_versions.config'])
    .where('merchants.id', '=', key.merchantId),
);

const readProgramVersion = prepareQuery((db, key: { merchantId: string; version: number }) =>
  db.selectFrom('program_versions').select('config').where('merchant_id', '=', key.merchantId).where('version', '=', key.version),
);

/** The merchant's current program (or a given version of it). */
export async function getProgram(db: Kysely<Database>, merchantId: string, version?: number): Promise<VersionedProgram> {
  // Every write starts here: the current version and its config in one statement.
  if (version === undefined) return currentProgramOf(await readCurrentProgram.executeTakeFirst(db, { merchantId }));
  const config = (await readProgramVersion.executeTakeFirst(db, { merchantId, version }))?.config;
  return { version, program: programOfConfig(config) };
}

/**
 * The program of a row of `merchants` left-joined to its current `program_versions` row (as
 * `getProgram` reads it, or a statement that reads it with something else): NOT_FOUND naming the
 * merchant when there is no row, the version when its config is missing.
 */
export function currentProgramOf(row: { version: number; config: string | null } | undefined): VersionedProgram {
  if (!row) throw new JifenError('NOT_FOUND', { what: 'merchant' }, 'merchantId');
  return { version: Number(row.version), program: programOfConfig(row.config) };
}

/** The program a stored config text holds (`program_versions.config`), parsed once per text; NOT_FOUND naming the version when there is none. */
function programOfConfig(config: string | null | undefined): Program {
  if (config === null || config === undefined) throw new JifenError('NOT_FOUND', { what: 'program version' }, 'version');
  let program = parsedPrograms.get(config);
  if (!program) {
    program = validProgram(JSON.parse(config));
    if (parsedPrograms.size > 1000) parsedPrograms.clear();
    parsedPrograms.set(config, program);
  }
  return program;
}

/** A program version as a caller has just read it from `merchants` + `program_versions`. */
export interface ProgramStamp {
  merchantId: string;
  version: number;
  /** The version's `created_at`; null when its row is missing (then reading it says NOT_FOUND). */
  createdAt: number | null;
}

/**
 * The program of a version the caller has just read, as `getProgram(db, merchantId, version)` reads
 * it, kept in memory per database handle. A stored version is never changed (an update inserts the
 * next one), so a caller that reads the merchant's current version number on every request — the
 * quote reads it with the pool and the lots — sees a new version at once without reading its
 * config. The key includes the version's creation instant, so a database restored under a running
 * server, whose version 3 may be another program than the one remembered, is read afresh.
 * Bounded: past 1,000 versions per handle the map starts afresh.
 */
export async function programAtVersion(db: Kysely<Database>, stamp: ProgramStamp): Promise<Program> {
  if (stamp.createdAt === null) return (await getProgram(db, stamp.merchantId, stamp.version)).program;
  const byVersion = programsByVersion(db);
  const key = `${stamp.version}\u0000${stamp.createdAt}\u0000${stamp.merchantId}`;
  let program = byVersion.get(key);
  if (program === undefined) {
    ({ program } = await getProgram(db, stamp.merchantId, stamp.version));
    byVersion.set(key, program);
  }
  return program;
}

// Per database handle, so two databases in one process (tests, a migration) never share versions.
const programsByVersion = mapsPerDatabase<Program>(1000);

/**
 * A program update creates a new version; ledger entries keep the version they were computed under,
 * and lots keep the expiry they were given (SPEC §3.1: a change of expiry policy is never retroactive).
 * The valuation kind cannot change once points exist: fixed and pool points are different money.
 */
export async function updateProgram(ledger: Ledger, merchantId: string, input: ProgramInput): Promise<VersionedProgram> {
  const program = validProgram(input);
  return ledger.write(async (tx) => {
    await lockMerchant(tx, merchantId);
    const current = await getProgram(tx.db, merchantId);
    const locked = lockedChange(current.program, program);
    if (locked !== null) {
      const issued = await tx.db.selectFrom('lots').select('id').where('merchant_id', '=', merchantId).limit(1).executeTakeFirst();
      if (issued) throw new JifenError('PROGRAM_LOCKED', { from: locked.from, to: locked.to }, locked.field);
    }
    const version = current.version + 1;
    await tx.db.insertInto('program_versions').values({ merchant_id: merchantId, version, config: JSON.stringify(program), created_at: tx.now.getTime() }).execute();
    await tx.db.updateTable('merchants').set({ program_version: version }).where('id', '=', merchantId).execute();
    if (program.valuation.kind === 'pool' && current.program.valuation.kind === 'pool' && program.valuation.capMultiple < current.program.valuation.capMultiple) {
      // Every stored cap-out key is now too high: the index would hide holders the lower multiple makes
      // due. Keys of 0 are found by the next cap-out checks, which convert the due and store the rest's
      // true keys (capout.ts) — one statement here, however many holders.
      await tx.db.updateTable('shoppers').set({ capout_trigger: 0 }).where('merchant_id', '=', merchantId).where('capout_trigger', 'is not', null).execute();
    }
    return { version, program };
  });
}

/**
 * What a program update may not change once points exist, because every stored figure is in it: the
 * valuation (fixed and pool points are different money), the point decimals (lots and balances count
 * units) and the currency (orders, lots' values and the pool count its minor units).
 */
function lockedChange(current: Program, next: Program): { field: string; from: string | number; to: string | number } | null {
  if (current.valuation.kind !== next.valuation.kind) return { field: 'valuation.kind', from: current.valuation.kind, to: next.valuation.kind };
  if (current.pointDecimals !== next.pointDecimals) return { field: 'pointDecimals', from: current.pointDecimals, to: next.pointDecimals };
  if (current.currency !== next.currency) return { field: 'currency', from: current.currency, to: next.currency };
  return null;
}

/**
 * Locks the merchant's row for a change to its configuration (a program version, a coupon template):
 * on Postgres two such changes — two replicas, a retried request — then run one after the other, the
 * second reading what the first wrote, instead of both reading the same state and inserting the same
 * key (SQLite's `BEGIN IMMEDIATE` already serialises them). No order or balance write locks this row.
 * NOT_FOUND when there is no such merchant.
 */
export async function lockMerchant(tx: WriteContext, merchantId: string): Promise<void> {
  const row = await tx.forUpdate(tx.db.selectFrom('merchants').select('id').where('id', '=', merchantId)).executeTakeFirst();
  if (!row) throw new JifenError('NOT_FOUND', { what: 'merchant' }, 'merchantId');
}

function validProgram(input: unknown): Program {
  const parsed = parseProgram(input);
  if (parsed.ok) return parsed.value;
  const first = parsed.error.issues[0];
  throw new JifenError(
    'INVALID_PROGRAM',
    { summary: parsed.error.issues.map((issue) => issue.message.en).join('; '), issues: parsed.error.issues },
    // The rules label an issue with the program as a whole '(program)': the field is then `program` itself.
    first && first.path !== '(program)' ? `program.${first.path}` : 'program',
  );
}
