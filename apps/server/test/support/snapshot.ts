import type { Ledger } from '@jifen/api';
import type { Database } from '@jifen/db';

/** Row counts of every ledger table: equal before and after a refused call means nothing was written. */
export async function ledgerSnapshot(ledger: Ledger): Promise<Record<string, number>> {
  const tables: (keyof Database)[] = [
    'shoppers',
    'orders',
    'lots',
    'holds',
    'journal',
    'coupons',
    'coupon_templates',
    'program_versions',
    'idempotency',
    'outbox',
    'api_keys',
  ];
  const counts: Record<string, number> = {};
  for (const table of tables) {
    const row = await ledger.db
      .selectFrom(table)
      .select((eb) => eb.fn.countAll<number>().as('count'))
      .executeTakeFirstOrThrow();
    counts[table] = Number(row.count);
  }
  const heads = await ledger.db.selectFrom('journal_heads').select(['merchant_id', 'seq', 'hash']).orderBy('merchant_id').execute();
  counts.journalHeads = heads.length;
  counts.journalHeadSeqs = heads.reduce((sum, head) => sum + Number(head.seq), 0);
  return counts;
}
