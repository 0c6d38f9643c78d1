import { type Compilable, CompiledQuery, type Kysely, sql } from 'kysely';
import { beforeAll, describe, expect, test } from 'vitest';
import type { Database, JifenDialect } from '../src';
import { describeEachDialect, useTestDb } from '../src/testing';
import { aLot } from './builders';

/**
 * Each hot query (docs/storage.md, "Indexes") uses the index written for it. The query shapes here
 * are the ones the services should keep. The constants of a partial index's condition are written
 * as literals (`sql.lit`), so the statement visibly matches the index and its plan never depends on
 * a value bound later.
 */
const now = 1_750_000_000_000;

function hotQueries(db: Kysely<Database>): Array<[index: string, query: Compilable]> {
  return [
    ['api_keys_key_hash_key', db.selectFrom('api_keys').selectAll().where('key_hash', '=', 'sha256:abc')],
    [
      'journal_shopper_idx',
      db.selectFrom('journal').selectAll().where('merchant_id', '=', 'm').where('shopper_id', '=', 's').orderBy('seq'),
    ],
    [
      'shoppers_capout_trigger_idx',
      db.selectFrom('shoppers').select('shopper_id').where('merchant_id', '=', 'm').where('capout_trigger', '<=', 4_200),
    ],
    [
      'orders_shopper_idx',
      db.selectFrom('orders').selectAll().where('merchant_id', '=', 'm').where('shopper_id', '=', 's').orderBy('paid_at'),
    ],
    [
      'order_events_waiting_idx',
      db.selectFrom('order_events').selectAll().where('merchant_id', '=', 'm').where('order_id', '=', 'o').where('applied_at', 'is', null),
    ],
    [
      'lots_expiry_due_idx',
      db.selectFrom('lots').select('id').where('merchant_id', '=', 'm').where('expires_at', '<=', now).where('remaining', '>', sql.lit(0)),
    ],
    [
      'lots_shopper_expiry_idx',
      db
        .selectFrom('lots')
        .selectAll()
        .where('merchant_id', '=', 'm')
        .where('shopper_id', '=', 's')
        .where('status', '=', sql.lit('available'))
        .where('remaining', '>', sql.lit(0)),
    ],
    [
      'lots_shopper_expiry_idx',
      db
        .selectFrom('lots')
        .select(['remaining', 'expires_at'])
        .where('merchant_id', '=', 'm')
        .where('shopper_id', '=', 's')
        .where('expires_at', '>', now)
        .orderBy('expires_at')
        .limit(500),
    ],
    [
      'lots_pending_idx',
      db.selectFrom('lots').select('id').where('merchant_id', '=', 'm').where('status', '=', sql.lit('pending')).where('available_at', '<=', now),
    ],
    [
      'lots_source_idx',
      db.selectFrom('lots').selectAll().where('merchant_id', '=', 'm').where('source', '=', 'order').where('source_ref', '=', 'o'),
    ],
    [
      'holds_checkout_key',
      db.selectFrom('holds').selectAll().where('merchant_id', '=', 'm').where('shopper_id', '=', 's').where('checkout_id', '=', 'c'),
    ],
    [
      'holds_expiry_idx',
      db.selectFrom('holds').select(['merchant_id', 'hold_id']).where('status', '=', sql.lit('held')).where('expires_at', '<=', now),
    ],
    [
      'coupons_idempotency_key',
      db.selectFrom('coupons').selectAll().where('merchant_id', '=', 'm').where('shopper_id', '=', 's').where('idempotency_key', '=', 'k'),
    ],
    [
      'coupons_shopper_template_idx',
      db.selectFrom('coupons').select('code').where('merchant_id', '=', 'm').where('shopper_id', '=', 's').where('template_id', '=', 't'),
    ],
    [
      'outbox_due_idx',
      db.selectFrom('outbox').selectAll().where('delivered_at', 'is', null).where('next_attempt_at', '<=', now).orderBy('next_attempt_at'),
    ],
  ];
}

async function plan(db: Kysely<Database>, dialect: JifenDialect, query: Compilable): Promise<string> {
  const { sql: text, parameters } = query.compile();
  if (dialect === 'sqlite') {
    const { rows } = await db.executeQuery<{ detail: string }>(CompiledQuery.raw(`explain query plan ${text}`, [...parameters]));
    return rows.map((row) => row.detail).join('\n');
  }
  // The test tables are empty, where a sequential scan is always cheapest; forbid it to see which
  // index the planner would use once they are not.
  return db.connection().execute(async (connection) => {
    await sql`set enable_seqscan = off`.execute(connection);
    try {
      const { rows } = await connection.executeQuery<{ 'QUERY PLAN': string }>(CompiledQuery.raw(`explain ${text}`, [...parameters]));
      return rows.map((row) => row['QUERY PLAN']).join('\n');
    } finally {
      await sql`reset enable_seqscan`.execute(connection);
    }
  });
}

/**
 * Lots and coupons spread over merchants, shoppers, dates and templates: these tables carry more
 * than one index that could answer a query, and on empty tables the planner sees them as equally
 * cheap, so it compares them on statistics here, as it will in production.
 */
async function seedRivalIndexes(db: Kysely<Database>): Promise<void> {
  const lots = Array.from({ length: 4_000 }, (_, index) =>
    aLot({
      id: `lot_${index}`,
      merchant_id: index % 4 === 0 ? 'm' : `m_${index % 4}`,
      shopper_id: `s_${index % 200}`,
      source_ref: `o_${index}`,
      remaining: index % 3 === 0 ? 0 : 100,
      status: index % 10 === 0 ? 'pending' : 'available',
      expires_at: index % 7 === 0 ? null : now + (index % 365) * 86_400_000,
    }),
  );
  const coupons = Array.from({ length: 4_000 }, (_, index) => ({
    merchant_id: index % 4 === 0 ? 'm' : `m_${index % 4}`,
    code: `C-${index}`,
    template_id: `t_${index % 5}`,
    shopper_id: `s_${index % 300}`,
    source: 'exchange' as const,
    status: 'issued' as const,
    points_cost: 500,
    value: 1_000,
    idempotency_key: `k_${index}`,
    issued_at: now,
  }));
  for (let start = 0; start < lots.length; start += 500) {
    await db.insertInto('lots').values(lots.slice(start, start + 500)).execute();
    await db.insertInto('coupons').values(coupons.slice(start, start + 500)).execute();
  }
  await sql`analyze`.execute(db);
}

describeEachDialect('hot queries use their indexes', (dialect) => {
  const testDb = useTestDb(dialect);
  beforeAll(async () => seedRivalIndexes(testDb().db));

  test('every index in docs/storage.md serves the query it was written for', async () => {
    const { db } = testDb();
    const plans = await Promise.all(
      hotQueries(db).map(async ([index, query]) => [index, await plan(db, dialect, query)] as const),
    );
    for (const [index, text] of plans) {
      expect(text, `${index} unused:\n${text}`).toContain(index);
    }
  });
});

describe('the expiry sweep writes no page of a shopper-keyed lots index (SQLite)', () => {
  const testDb = useTestDb('sqlite');

  /** Root pages of the indexes a statement's bytecode opens for writing. */
  async function indexesWritten(db: Kysely<Database>, statement: string): Promise<string[]> {
    const { rows: indexes } = await sql<{ name: string; rootpage: number }>`select name, rootpage from sqlite_master where type = 'index' and tbl_name = 'lots'`.execute(db);
    const { rows: program } = await db.executeQuery<{ opcode: string; p2: number }>(CompiledQuery.raw(`explain ${statement}`));
    const opened = new Set(program.filter((step) => step.opcode === 'OpenWrite').map((step) => step.p2));
    return indexes.filter((index) => opened.has(index.rootpage)).map((index) => index.name);
  }

  test('the sweep’s update (sweep.ts) maintains the due index only, never lots_shopper_expiry_idx', async () => {
    const written = await indexesWritten(
      testDb().db,
      `update lots set remaining = held, status = case when held = 0 then 'expired' else status end where rowid in (1, 2, 3)`,
    );
    // The due index is partial on `remaining > 0`: the update must take the lot out of it.
    expect(written).toContain('lots_expiry_due_idx');
    expect(written).not.toContain('lots_shopper_expiry_idx');
  });

  test('a spend’s update (accounts.ts takeFromLot) does not write it either', async () => {
    const written = await indexesWritten(testDb().db, `update lots set remaining = remaining - 5 where id = 'l' and merchant_id = 'm'`);
    expect(written).not.toContain('lots_shopper_expiry_idx');
  });
});
