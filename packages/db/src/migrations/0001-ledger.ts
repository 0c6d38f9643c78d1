import { type ColumnDefinitionBuilder, type CreateTableBuilder, type Kysely, type Migration, SqliteAdapter, sql } from 'kysely';

/**
 * The ledger's tables (SPEC §4). Frozen in time: a later change is a new numbered migration, and
 * nothing here imports the application's types, so this file means today what it meant when it ran.
 *
 * Every amount, point count, sequence number and `*_at` epoch-milliseconds column is a 64-bit
 * integer; JSON is text; booleans are integer 0/1. Composite primary keys start with `merchant_id`.
 */
export const ledgerMigration: Migration = {
  async up(db: Kysely<any>) {
    // The one dialect branch. SQLite tables are STRICT, so a REAL (a float on a money path) or a
    // string in an integer column is refused as Postgres refuses it, instead of being stored as is.
    // STRICT admits only the type names INTEGER, REAL, TEXT, BLOB and ANY, so the 64-bit integer is
    // spelled `integer` there; a SQLite INTEGER is always stored as up to 8 bytes, like `bigint`.
    const isSqlite = db.getExecutor().adapter instanceof SqliteAdapter;
    const int8 = isSqlite ? 'integer' : 'bigint';
    const finish = (table: CreateTableBuilder<string, never>) => (isSqlite ? table.modifyEnd(sql`strict`) : table);
    const required = (column: ColumnDefinitionBuilder) => column.notNull();

    await db.schema
      .createTable('merchants')
      .addColumn('id', 'text', (column) => column.notNull().primaryKey())
      .addColumn('name', 'text', required)
      .addColumn('widget_secret', 'text', required)
      .addColumn('storefront_origins', 'text', required)
      .addColumn('webhook_url', 'text')
      .addColumn('webhook_secret', 'text')
      .addColumn('program_version', 'integer', required)
      .addColumn('created_at', int8, required)
      .$call(finish)
      .execute();

    await db.schema
      .createTable('api_keys')
      .addColumn('id', 'text', (column) => column.notNull().primaryKey())
      .addColumn('merchant_id', 'text', required)
      .addColumn('key_hash', 'text', required)
      .addColumn('key_prefix', 'text', required)
      .addColumn('created_at', int8, required)
      .addColumn('revoked_at', int8)
      .$call(finish)
      .execute();
    // Authenticating a request: `where key_hash = ?` (a key is looked up by its hash, never stored plain).
    await db.schema.createIndex('api_keys_key_hash_key').unique().on('api_keys').column('key_hash').execute();

    await db.schema
      .createTable('program_versions')
      .addColumn('merchant_id', 'text', required)
      .addColumn('version', 'integer', required)
      .addColumn('config', 'text', required)
      .addColumn('created_at', int8, required)
      .addPrimaryKeyConstraint('program_versions_pkey', ['merchant_id', 'version'])
      .$call(finish)
      .execute();

    await db.schema
      .createTable('journal_heads')
      .addColumn('merchant_id', 'text', (column) => column.notNull().primaryKey())
      .addColumn('seq', int8, required)
      .addColumn('hash', 'text', required)
      .$call(finish)
      .execute();

    await db.schema
      .createTable('journal')
      .addColumn('merchant_id', 'text', required)
      .addColumn('seq', int8, required)
      .addColumn('shopper_id', 'text')
      .addColumn('kind', 'text', required)
      .addColumn('points', int8, required)
      .addColumn('amount', int8, required)
      .addColumn('ref', 'text', required)
      .addColumn('lot_id', 'text')
      .addColumn('compensates', int8)
      .addColumn('program_version', 'integer', required)
      .addColumn('detail', 'text', required)
      .addColumn('created_at', int8, required)
      .addColumn('prev_hash', 'text', required)
      .addColumn('hash', 'text', required)
      .addPrimaryKeyConstraint('journal_pkey', ['merchant_id', 'seq'])
      .$call(finish)
      .execute();
    // A shopper's entries in order: `where merchant_id = ? and shopper_id = ? order by seq`
    // (activity, proofs, the per-shopper sum `verify` compares with the balance).
    await db.schema.createIndex('journal_shopper_idx').on('journal').columns(['merchant_id', 'shopper_id', 'seq']).execute();

    await db.schema
      .createTable('shoppers')
      .addColumn('merchant_id', 'text', required)
      .addColumn('shopper_id', 'text', required)
      .addColumn('created_at', int8, required)
      .addColumn('is_vip', 'integer', required)
      .addColumn('referred_by', 'text')
      .addColumn('referral_rewarded', 'integer', required)
      .addColumn('first_paid_at', int8)
      .addColumn('available', int8, required)
      .addColumn('pending', int8, required)
      .addColumn('held', int8, required)
      .addColumn('debt', int8, required)
      .addColumn('tier_id', 'text', required)
      .addColumn('tier_confirmed_at', int8, required)
      .addColumn('checkin_date', 'text')
      .addColumn('checkin_streak', 'integer', required)
      .addColumn('capout_basis', int8, required)
      .addColumn('capout_trigger', int8)
      .addColumn('completed_referrals', 'integer', required)
      .addColumn('flagged', 'integer', required)
      .addPrimaryKeyConstraint('shoppers_pkey', ['merchant_id', 'shopper_id'])
      .$call(finish)
      .execute();
    // Cap-out: the holders whose trigger price the pool has reached,
    // `where merchant_id = ? and capout_trigger <= ?`, found without scanning every holder.
    await db.schema
      .createIndex('shoppers_capout_trigger_idx')
      .on('shoppers')
      .columns(['merchant_id', 'capout_trigger'])
      .where(sql<boolean>`capout_trigger is not null`)
      .execute();

    await db.schema
      .createTable('orders')
      .addColumn('merchant_id', 'text', required)
      .addColumn('order_id', 'text', required)
      .addColumn('shopper_id', 'text', required)
      .addColumn('status', 'text', required)
      .addColumn('amount', int8, required)
      .addColumn('currency', 'text', required)
      .addColumn('items', 'text', required)
      .addColumn('shipping', int8, required)
      .addColumn('tax', int8, required)
      .addColumn('coupon_codes', 'text', required)
      .addColumn('hold_id', 'text')
      .addColumn('paid_at', int8, required)
      .addColumn('completed_at', int8)
      .addColumn('cancelled_at', int8)
      .addColumn('eligible_amount', int8, required)
      .addColumn('earned_points', int8, required)
      .addColumn('earned_status', 'text', required)
      .addColumn('points_paid', int8, required)
      .addColumn('points_paid_value', int8, required)
      .addColumn('refunded_amount', int8, required)
      .addColumn('clawed_back', int8, required)
      .addColumn('restored_points', int8, required)
      .addColumn('pool_contribution', int8, required)
      .addColumn('minted', int8, required)
      .addColumn('program_version', 'integer', required)
      .addColumn('payload_hash', 'text', required)
      .addPrimaryKeyConstraint('orders_pkey', ['merchant_id', 'order_id'])
      .addCheckConstraint('orders_status_check', sql`status in ('paid', 'completed', 'cancelled')`)
      .addCheckConstraint('orders_earned_status_check', sql`earned_status in ('none', 'pending', 'available', 'cancelled')`)
      .$call(finish)
      .execute();
    // A shopper's orders over time: `where merchant_id = ? and shopper_id = ? order by paid_at`
    // (the shopper's history, first paid order, spend windows for tiers).
    await db.schema.createIndex('orders_shopper_idx').on('orders').columns(['merchant_id', 'shopper_id', 'paid_at']).execute();

    await db.schema
      .createTable('order_events')
      .addColumn('merchant_id', 'text', required)
      .addColumn('event_id', 'text', required)
      .addColumn('order_id', 'text', required)
      .addColumn('kind', 'text', required)
      .addColumn('payload', 'text', required)
      .addColumn('payload_hash', 'text', required)
      .addColumn('received_at', int8, required)
      .addColumn('applied_at', int8)
      .addPrimaryKeyConstraint('order_events_pkey', ['merchant_id', 'event_id'])
      .$call(finish)
      .execute();
    // Events that arrived before their order ('completed' before 'paid') and wait for it:
    // `where merchant_id = ? and order_id = ? and applied_at is null`, read when 'paid' arrives.
    await db.schema
      .createIndex('order_events_waiting_idx')
      .on('order_events')
      .columns(['merchant_id', 'order_id'])
      .where(sql<boolean>`applied_at is null`)
      .execute();

    await db.schema
      .createTable('refunds')
      .addColumn('merchant_id', 'text', required)
      .addColumn('refund_id', 'text', required)
      .addColumn('order_id', 'text', required)
      .addColumn('amount', int8, required)
      .addColumn('points_clawed', int8, required)
      .addColumn('points_restored', int8, required)
      .addColumn('debt_added', int8, required)
      .addColumn('created_at', int8, required)
      .addColumn('payload_hash', 'text', required)
      .addPrimaryKeyConstraint('refunds_pkey', ['merchant_id', 'refund_id'])
      .$call(finish)
      .execute();

    await db.schema
      .createTable('lots')
      .addColumn('id', 'text', (column) => column.notNull().primaryKey())
      .addColumn('merchant_id', 'text', required)
      .addColumn('shopper_id', 'text', required)
      .addColumn('source', 'text', required)
      .addColumn('source_ref', 'text', required)
      .addColumn('program_version', 'integer', required)
      .addColumn('points', int8, required)
      .addColumn('remaining', int8, required)
      .addColumn('held', int8, required)
      .addColumn('status', 'text', required)
      .addColumn('earned_at', int8, required)
      .addColumn('available_at', int8, required)
      .addColumn('expires_at', int8)
      .addColumn('release_periods', 'integer', required)
      .addColumn('release_period_days', 'integer', required)
      .addColumn('released', int8, required)
      .addCheckConstraint(
        'lots_source_check',
        sql`source in ('order', 'review', 'share', 'checkin', 'referral', 'adjustment', 'restore')`,
      )
      .addCheckConstraint('lots_status_check', sql`status in ('pending', 'available', 'expired', 'cancelled')`)
      // SPEC §4: no lot remainder below 0. The services guarantee it; the engine refuses to store a bug.
      .addCheckConstraint('lots_remaining_check', sql`remaining >= 0`)
      .$call(finish)
      .execute();
    // The expiry sweep: `where merchant_id = ? and expires_at <= ? and remaining > 0`
    // (set-based; reads only lots that still hold points and can expire).
    await db.schema
      .createIndex('lots_expiry_due_idx')
      .on('lots')
      .columns(['merchant_id', 'expires_at'])
      .where(sql<boolean>`remaining > 0 and expires_at is not null`)
      .execute();
    // A shopper's open lots, earliest expiry first: `where merchant_id = ? and shopper_id = ? and
    // remaining > 0 order by expires_at` (allocation for holds and spends, balance, expiry banner).
    await db.schema
      .createIndex('lots_shopper_open_idx')
      .on('lots')
      .columns(['merchant_id', 'shopper_id', 'expires_at'])
      .where(sql<boolean>`remaining > 0`)
      .execute();
    // Pending → available: `where merchant_id = ? and status = 'pending' and available_at <= ?`.
    await db.schema
      .createIndex('lots_pending_idx')
      .on('lots')
      .columns(['merchant_id', 'available_at'])
      .where(sql<boolean>`status = 'pending'`)
      .execute();
    // An order's lots on refund or cancellation: `where merchant_id = ? and source = ? and source_ref = ?`.
    await db.schema.createIndex('lots_source_idx').on('lots').columns(['merchant_id', 'source', 'source_ref']).execute();

    await db.schema
      .createTable('holds')
      .addColumn('merchant_id', 'text', required)
      .addColumn('hold_id', 'text', required)
      .addColumn('shopper_id', 'text', required)
      .addColumn('checkout_id', 'text', required)
      .addColumn('points', int8, required)
      .addColumn('value', int8, required)
      .addColumn('cart_amount', int8, required)
      .addColumn('status', 'text', required)
      .addColumn('created_at', int8, required)
      .addColumn('expires_at', int8, required)
      .addColumn('resolved_at', int8)
      .addColumn('order_id', 'text')
      .addColumn('payload_hash', 'text', required)
      .addPrimaryKeyConstraint('holds_pkey', ['merchant_id', 'hold_id'])
      .addCheckConstraint('holds_status_check', sql`status in ('held', 'captured', 'released', 'expired')`)
      .$call(finish)
      .execute();
    // One hold per checkout: a replayed reserve finds its hold by
    // `where merchant_id = ? and shopper_id = ? and checkout_id = ?`, and a racing one is refused.
    await db.schema
      .createIndex('holds_checkout_key')
      .unique()
      .on('holds')
      .columns(['merchant_id', 'shopper_id', 'checkout_id'])
      .execute();
    // Hold expiry across merchants: `where status = 'held' and expires_at <= ?`.
    await db.schema.createIndex('holds_expiry_idx').on('holds').column('expires_at').where(sql<boolean>`status = 'held'`).execute();

    await db.schema
      .createTable('hold_lots')
      .addColumn('merchant_id', 'text', required)
      .addColumn('hold_id', 'text', required)
      .addColumn('lot_id', 'text', required)
      .addColumn('points', int8, required)
      .addPrimaryKeyConstraint('hold_lots_pkey', ['merchant_id', 'hold_id', 'lot_id'])
      .$call(finish)
      .execute();

    await db.schema
      .createTable('coupon_templates')
      .addColumn('merchant_id', 'text', required)
      .addColumn('template_id', 'text', required)
      .addColumn('config', 'text', required)
      .addColumn('points_cost', int8, required)
      .addColumn('stock_total', int8)
      .addColumn('issued', int8, required)
      .addColumn('per_shopper_limit', 'integer')
      .addColumn('active_from', int8)
      .addColumn('active_to', int8)
      .addColumn('created_at', int8, required)
      .addColumn('updated_at', int8, required)
      .addPrimaryKeyConstraint('coupon_templates_pkey', ['merchant_id', 'template_id'])
      // SPEC §4: coupon stock ≥ 0 and issued ≤ stock — a racing exchange that would oversell fails here.
      .addCheckConstraint('coupon_templates_stock_check', sql`issued >= 0 and (stock_total is null or issued <= stock_total)`)
      .$call(finish)
      .execute();

    await db.schema
      .createTable('coupons')
      .addColumn('merchant_id', 'text', required)
      .addColumn('code', 'text', required)
      .addColumn('template_id', 'text')
      .addColumn('shopper_id', 'text', required)
      .addColumn('source', 'text', required)
      .addColumn('status', 'text', required)
      .addColumn('points_cost', int8, required)
      .addColumn('value', int8, required)
      .addColumn('idempotency_key', 'text')
      .addColumn('issued_at', int8, required)
      .addColumn('expires_at', int8)
      .addColumn('redeemed_at', int8)
      .addColumn('order_id', 'text')
      .addPrimaryKeyConstraint('coupons_pkey', ['merchant_id', 'code'])
      .addCheckConstraint('coupons_source_check', sql`source in ('exchange', 'capout')`)
      .addCheckConstraint('coupons_status_check', sql`status in ('issued', 'redeemed', 'cancelled', 'expired')`)
      .$call(finish)
      .execute();
    // A replayed exchange: `where merchant_id = ? and shopper_id = ? and idempotency_key = ?`; unique, so
    // a racing replay is refused (null keys, as cap-out coupons have, never collide).
    await db.schema
      .createIndex('coupons_idempotency_key')
      .unique()
      .on('coupons')
      .columns(['merchant_id', 'shopper_id', 'idempotency_key'])
      .execute();
    // A shopper's coupons, and per template for the per-shopper limit:
    // `where merchant_id = ? and shopper_id = ? [and template_id = ?]`.
    await db.schema
      .createIndex('coupons_shopper_template_idx')
      .on('coupons')
      .columns(['merchant_id', 'shopper_id', 'template_id'])
      .execute();

    await db.schema
      .createTable('pool_state')
      .addColumn('merchant_id', 'text', (column) => column.notNull().primaryKey())
      .addColumn('amount', int8, required)
      .addColumn('supply', int8, required)
      .addColumn('contributions', int8, required)
      .addColumn('payouts', int8, required)
      .addColumn('minted', int8, required)
      .addColumn('burned', int8, required)
      .addColumn('updated_at', int8, required)
      .$call(finish)
      .execute();

    await db.schema
      .createTable('pool_history')
      .addColumn('merchant_id', 'text', required)
      .addColumn('journal_seq', int8, required)
      .addColumn('at', int8, required)
      .addColumn('amount', int8, required)
      .addColumn('supply', int8, required)
      .addPrimaryKeyConstraint('pool_history_pkey', ['merchant_id', 'journal_seq'])
      .$call(finish)
      .execute();

    await db.schema
      .createTable('budget_months')
      .addColumn('merchant_id', 'text', required)
      .addColumn('month', 'text', required)
      .addColumn('gmv', int8, required)
      .addColumn('issued_value', int8, required)
      .addColumn('shortfall_value', int8, required)
      .addPrimaryKeyConstraint('budget_months_pkey', ['merchant_id', 'month'])
      .$call(finish)
      .execute();

    await db.schema
      .createTable('shopper_days')
      .addColumn('merchant_id', 'text', required)
      .addColumn('shopper_id', 'text', required)
      .addColumn('day', 'text', required)
      .addColumn('earned_points', int8, required)
      .addPrimaryKeyConstraint('shopper_days_pkey', ['merchant_id', 'shopper_id', 'day'])
      .$call(finish)
      .execute();

    await db.schema
      .createTable('outbox')
      .addColumn('id', 'text', (column) => column.notNull().primaryKey())
      .addColumn('merchant_id', 'text', required)
      .addColumn('kind', 'text', required)
      .addColumn('dedupe_key', 'text', required)
      .addColumn('payload', 'text', required)
      .addColumn('created_at', int8, required)
      .addColumn('next_attempt_at', int8, required)
      .addColumn('attempts', 'integer', required)
      .addColumn('delivered_at', int8)
      .addColumn('last_error', 'text')
      .$call(finish)
      .execute();
    // A notification is queued once: `insert … on conflict (merchant_id, dedupe_key) do nothing`.
    await db.schema.createIndex('outbox_dedupe_key').unique().on('outbox').columns(['merchant_id', 'dedupe_key']).execute();
    // The delivery worker: `where delivered_at is null and next_attempt_at <= ? order by next_attempt_at`.
    await db.schema
      .createIndex('outbox_due_idx')
      .on('outbox')
      .column('next_attempt_at')
      .where(sql<boolean>`delivered_at is null`)
      .execute();

    await db.schema
      .createTable('idempotency')
      .addColumn('merchant_id', 'text', required)
      .addColumn('scope', 'text', required)
      .addColumn('key', 'text', required)
      .addColumn('request_hash', 'text', required)
      .addColumn('response', 'text', required)
      .addColumn('created_at', int8, required)
      .addPrimaryKeyConstraint('idempotency_pkey', ['merchant_id', 'scope', 'key'])
      .$call(finish)
      .execute();
  },

  async down(db: Kysely<any>) {
    for (const table of [
      'idempotency', 'outbox', 'shopper_days', 'budget_months', 'pool_history', 'pool_state', 'coupons',
      'coupon_templates', 'hold_lots', 'holds', 'lots', 'refunds', 'order_events', 'orders', 'shoppers',
      'journal', 'journal_heads', 'program_versions', 'api_keys', 'merchants',
    ]) {
      await db.schema.dropTable(table).execute();
    }
  },
};
