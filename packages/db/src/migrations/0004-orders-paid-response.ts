import type { Kysely, Migration } from 'kysely';

/**
 * A paid order keeps its first answer on its own row (`orders.paid_response`, the canonical
 * `{"request":…,"result":…}` an idempotency record holds), so `merchant.orders.paid` — most of a
 * shop's writes — no longer writes an idempotency record: a replay finds the order by its id, which
 * is the idempotency key. That is two b-trees (the record's table and its key index) fewer in
 * every order's commit (docs/performance.md "The paid order's answer on its row"). Orders paid
 * before this migration have a null answer and keep answering replays from their records.
 * Frozen in time like every migration.
 */
export const ordersPaidResponseMigration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable('orders').addColumn('paid_response', 'text').execute();
  },

  async down(db: Kysely<any>) {
    await db.schema.alterTable('orders').dropColumn('paid_response').execute();
  },
};
