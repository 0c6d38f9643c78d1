import Database from 'better-sqlite3';

/** A backlog of due lots written straight into a SQLite file (as sweep-bench.ts seeds it), for `sweep-beside-server.test.ts`. */

const LOT_COLUMNS =
  'id, merchant_id, shopper_id, source, source_ref, program_version, points, remaining, held, status, earned_at, available_at, expires_at, release_periods, release_period_days, released';
const SHOPPER_COLUMNS =
  'merchant_id, shopper_id, created_at, is_vip, referred_by, referral_rewarded, first_paid_at, available, pending, held, debt, tier_id, tier_confirmed_at, checkin_date, checkin_streak, capout_basis, capout_trigger, completed_referrals, flagged';
const ROWS = 500;
const DAY_MS = 86_400_000;

/** `lots` available lots of 100 points each, all past their expiry at `now`, over `lots / 10` shoppers whose balances match. */
export function seedDueLots(path: string, merchantId: string, lots: number, now: number): void {
  const database = new Database(path, { timeout: 5_000 });
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = NORMAL');
  database.pragma('cache_size = -262144');
  const shoppers = Math.max(1, Math.floor(lots / 10));
  const lotRow = `(?, ?, ?, 'order', ?, 1, 100, 100, 0, 'available', ?, ?, ?, 0, 0, 100)`;
  const insert = (count: number) => database.prepare(`insert into lots (${LOT_COLUMNS}) values ${Array(count).fill(lotRow).join(', ')}`);
  const full = insert(ROWS);
  database.transaction(() => {
    for (let start = 0; start < lots; start += ROWS) {
      const count = Math.min(ROWS, lots - start);
      const values: unknown[] = [];
      for (let k = start; k < start + count; k++) {
        const expiresAt = now - DAY_MS + k;
        values.push(`l_seed_${k}`, merchantId, `seed-${k % shoppers}`, `seed-order-${k}`, expiresAt - 365 * DAY_MS, expiresAt - 365 * DAY_MS, expiresAt);
      }
      (count === ROWS ? full : insert(count)).run(values);
    }
    const shopperRow = `(?, ?, ?, 0, null, 0, null, ?, 0, 0, 0, 'member', ?, null, 0, 0, null, 0, 0)`;
    for (let start = 0; start < shoppers; start += ROWS) {
      const count = Math.min(ROWS, shoppers - start);
      const values: unknown[] = [];
      for (let s = start; s < start + count; s++) {
        const owned = Math.floor(lots / shoppers) + (s < lots % shoppers ? 1 : 0);
        values.push(merchantId, `seed-${s}`, now, owned * 100, now);
      }
      database.prepare(`insert into shoppers (${SHOPPER_COLUMNS}) values ${Array(count).fill(shopperRow).join(', ')}`).run(values);
    }
  })();
  database.pragma('wal_checkpoint(TRUNCATE)');
  database.close();
}
