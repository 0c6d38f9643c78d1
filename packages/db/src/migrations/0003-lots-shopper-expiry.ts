import { type Kysely, type Migration, sql } from 'kysely';

/**
 * A shopper's lots by expiry, without the partial condition `remaining > 0` that
 * `lots_shopper_open_idx` had. The expiry sweep sets a due lot's `remaining` to what its holds keep,
 * which made SQLite delete the lot's entry from that index — one more page, keyed by shopper and so
 * scattered across the file, for every lot the sweep expired (docs/performance.md, "The sweep").
 * SQLite and Postgres leave an index alone when an update changes none of its columns and nothing
 * in its condition, so the sweep now writes no page of this one. Readers step over the lots a
 * shopper spent in full or saw expire (docs/storage.md). Frozen in time like every migration.
 */
export const lotsShopperExpiryMigration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.dropIndex('lots_shopper_open_idx').execute();
    // A shopper's lots: `where merchant_id = ? and shopper_id = ?` (allocation for holds and spends,
    // quotes, a refund's clawback) and `... and expires_at > ? order by expires_at` (the expiry banner).
    await db.schema.createIndex('lots_shopper_expiry_idx').on('lots').columns(['merchant_id', 'shopper_id', 'expires_at']).execute();
  },

  async down(db: Kysely<any>) {
    await db.schema.dropIndex('lots_shopper_expiry_idx').execute();
    await db.schema
      .createIndex('lots_shopper_open_idx')
      .on('lots')
      .columns(['merchant_id', 'shopper_id', 'expires_at'])
      .where(sql<boolean>`remaining > 0`)
      .execute();
  },
};
