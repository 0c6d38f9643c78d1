import type { Migration } from 'kysely';
import { ledgerMigration } from './0001-ledger';
import { poolMigration } from './0002-pool';
import { lotsShopperExpiryMigration } from './0003-lots-shopper-expiry';
import { ordersPaidResponseMigration } from './0004-orders-paid-response';
import { couponsRedeemedMigration } from './0005-coupons-redeemed';

/**
 * Every migration, by name, in the order they run. A static record rather than a folder scan, so
 * migrations run the same under tsx, inside a bundle and in tests. Append; never rename or edit.
 */
export const migrations: Record<string, Migration> = {
  '0001-ledger': ledgerMigration,
  '0002-pool': poolMigration,
  '0003-lots-shopper-expiry': lotsShopperExpiryMigration,
  '0004-orders-paid-response': ordersPaidResponseMigration,
  '0005-coupons-redeemed': couponsRedeemedMigration,
};
