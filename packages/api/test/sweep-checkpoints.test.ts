import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite from 'better-sqlite3';
import { type Kysely, sql } from 'kysely';
import type { Database } from '@jifen/db';
import { beforeEach, describe, expect, it } from 'vitest';
import { sweepExpiredLots } from '../src/sweep';
import { assertLedgerInvariants } from '../src/verify';
import { MINUTE_MS, aClock, aMerchant, balanceOf, givePoints } from './support-holds';
import { useShop } from './support-shop';

async function autocheckpoint(db: Kysely<Database>): Promise<number> {
  const { rows } = await sql<{ wal_autocheckpoint: number }>`pragma wal_autocheckpoint`.execute(db);
  return Number(rows[0]?.wal_autocheckpoint);
}

/** Expired lots as the database file alone has them, without its WAL: what checkpoints copied into it. */
function expiredLotsInTheFile(sqlitePath: string): number {
  const folder = mkdtempSync(join(tmpdir(), 'jifen-checkpoint-'));
  try {
    copyFileSync(sqlitePath, join(folder, 'copy.db'));
    const copy = new BetterSqlite(join(folder, 'copy.db'), { readonly: true });
    try {
      return Number(copy.prepare(`select count(*) as expired from lots where status = 'expired'`).pluck().get());
    } finally {
      copy.close();
    }
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

describe('the sweep checkpoints the WAL itself (sqlite)', () => {
  const shop = useShop('sqlite', { clock: () => aClock('2025-01-15T02:00:00Z'), merchant: aMerchant, assertInvariants: false });

  beforeEach(async () => {
    for (let index = 0; index < 12; index += 1) {
      await givePoints(shop.ledger, { merchantId: shop.merchantId, shopperId: `s${index % 4}`, points: 10 + index, expiresAt: new Date(Date.parse('2025-01-15T02:05:00Z') + index * MINUTE_MS) });
    }
    shop.clock.advance(60 * MINUTE_MS);
  });

  it('turns automatic checkpoints off for its batches, then restores the setting and leaves nothing in the WAL', async () => {
    await sql`pragma wal_autocheckpoint = 777`.execute(shop.ledger.db);
    const report = await sweepExpiredLots(shop.ledger, { merchantId: shop.merchantId, batchSize: 5 });
    expect(report).toMatchObject({ expiredLots: 12, batches: 3 });
    expect(await autocheckpoint(shop.ledger.db)).toBe(777);
    // A WAL of a few pages is far below the automatic threshold: only the sweep's own checkpoint copied it.
    expect(expiredLotsInTheFile(shop.database().sqlitePath!)).toBe(12);
    expect(await balanceOf(shop.ledger.db, shop.merchantId, 's0')).toEqual({ available: 0, held: 0, pending: 0 });
    await assertLedgerInvariants(shop.ledger.db, shop.merchantId);
  });

  it('restores automatic checkpoints when a sweep stops half way', async () => {
    await sql`pragma wal_autocheckpoint = 555`.execute(shop.ledger.db);
    const stopped = sweepExpiredLots(shop.ledger, {
      merchantId: shop.merchantId,
      batchSize: 5,
      onProgress: () => {
        throw new Error('deploy');
      },
    });
    await expect(stopped).rejects.toThrow('deploy');
    expect(await autocheckpoint(shop.ledger.db)).toBe(555);
    // Whatever committed stays done; the rest is still due and a later sweep takes it.
    const rest = await sweepExpiredLots(shop.ledger, { merchantId: shop.merchantId, batchSize: 5 });
    expect(rest.expiredLots).toBe(7);
    expect(await autocheckpoint(shop.ledger.db)).toBe(555);
    await assertLedgerInvariants(shop.ledger.db, shop.merchantId);
  });

  it('overlapping sweeps in one process restore the setting only when the last one ends', async () => {
    await sql`pragma wal_autocheckpoint = 321`.execute(shop.ledger.db);
    const [first, second] = await Promise.all([sweepExpiredLots(shop.ledger, { merchantId: shop.merchantId, batchSize: 2 }), sweepExpiredLots(shop.ledger, { merchantId: shop.merchantId, batchSize: 2 })]);
    expect(first.expiredLots + second.expiredLots).toBe(12);
    expect(await autocheckpoint(shop.ledger.db)).toBe(321);
    await assertLedgerInvariants(shop.ledger.db, shop.merchantId);
  });
});
