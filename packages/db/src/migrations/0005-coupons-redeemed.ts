import { type Kysely, type Migration, SqliteAdapter } from 'kysely';

/**
 * A redeemed coupon keeps what it was redeemed against and what it took: the goods and shipping of
 * the request (minor units) and the discount. A redemption replayed on the same order — by
 * `merchant.coupons.redeem` after `orders.paid` redeemed it, or the other way round — answers with
 * that first discount, and the redeem API refuses other amounts as a CONFLICT; before, the discount
 * was worked out again from whatever amounts the replay carried. Null on coupons redeemed before
 * this migration (their replays keep the old reckoning). Frozen in time like every migration.
 */
export const couponsRedeemedMigration: Migration = {
  async up(db: Kysely<any>) {
    const int8 = db.getExecutor().adapter instanceof SqliteAdapter ? 'integer' : 'bigint';
    // One column a statement: SQLite's ALTER TABLE adds one at a time.
    for (const column of ['redeemed_amount', 'redeemed_shipping', 'redeemed_discount']) {
      await db.schema.alterTable('coupons').addColumn(column, int8).execute();
    }
  },

  async down(db: Kysely<any>) {
    for (const column of ['redeemed_discount', 'redeemed_shipping', 'redeemed_amount']) {
      await db.schema.alterTable('coupons').dropColumn(column).execute();
    }
  },
};
