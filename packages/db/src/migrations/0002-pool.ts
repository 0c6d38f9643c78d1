import { type Kysely, type Migration, SqliteAdapter, sql } from 'kysely';

/**
 * Pool-backed points (SPEC §3.2): the staged-release clock on lots, the merchant's approval of a
 * flagged shopper's redemption on holds, and the indexes the pool's jobs and checks read. Frozen in
 * time like every migration; it imports nothing of the application.
 */
export const poolMigration: Migration = {
  async up(db: Kysely<any>) {
    const int8 = db.getExecutor().adapter instanceof SqliteAdapter ? 'integer' : 'bigint';

    // When a vesting lot next releases a portion (null: nothing left to release).
    await db.schema.alterTable('lots').addColumn('release_next_at', int8).execute();
    // The staged-release job: `where release_next_at <= ? order by release_next_at limit ?`
    // (reads only lots still vesting, in the order their portions fall due).
    await db.schema
      .createIndex('lots_release_due_idx')
      .on('lots')
      .column('release_next_at')
      .where(sql<boolean>`release_next_at is not null`)
      .execute();

    // When the merchant approved a flagged shopper's redemption (null: not approved).
    await db.schema.alterTable('holds').addColumn('approved_at', int8).execute();

    // Redemptions awaiting approval: `where merchant_id = ? and flagged = 1` (flagged holders are few).
    await db.schema
      .createIndex('shoppers_flagged_idx')
      .on('shoppers')
      .column('merchant_id')
      .where(sql<boolean>`flagged = 1`)
      .execute();

    // The supply-growth throttle: the supply when the trailing window started,
    // `where merchant_id = ? and at <= ? order by at desc limit 1`.
    await db.schema.createIndex('pool_history_at_idx').on('pool_history').columns(['merchant_id', 'at']).execute();
  },

  async down(db: Kysely<any>) {
    await db.schema.dropIndex('pool_history_at_idx').execute();
    await db.schema.dropIndex('shoppers_flagged_idx').execute();
    await db.schema.alterTable('holds').dropColumn('approved_at').execute();
    await db.schema.dropIndex('lots_release_due_idx').execute();
    await db.schema.alterTable('lots').dropColumn('release_next_at').execute();
  },
};
