import type { JifenDialect } from '@jifen/db';
import { type TestDb, useTestDb } from '@jifen/db/testing';
import { afterEach, beforeEach } from 'vitest';
import { Ledger } from '../src/ledger';
import { assertLedgerInvariants } from '../src/verify';

/** A clock a test moves by hand; the ledger reads it through `read`. */
export interface ShopClock {
  read: () => Date;
}

export interface ShopSetup<C extends ShopClock> {
  /** Makes the clock for each test (for example `() => aClock('2025-03-01T02:00:00Z')`). */
  clock: () => C;
  /** Makes the merchant under test before each test; leave it out when the suite's own `beforeEach` sets `shop.merchantId`. */
  merchant?: (ledger: Ledger) => Promise<string>;
  /** Whether to check the ledger invariants for `shop.merchantId` after each test; default true. */
  assertInvariants?: boolean;
}

/** What a suite's tests work on; read it inside tests and hooks only. */
export interface Shop<C extends ShopClock> {
  /** The suite's migrated test database, one for all its tests. */
  readonly database: () => TestDb;
  /** This test's clock. */
  readonly clock: C;
  /** This test's ledger on `database()`, reading `clock`. */
  readonly ledger: Ledger;
  /** The merchant under test; a suite or test that makes another merchant sets it, and the invariants are checked for it. */
  merchantId: string;
}

/**
 * Sets up the shop a ledger suite's tests work on. Call it inside `describeEachDialect` (or a
 * `describe`): it makes the test database for the suite; before each test a fresh clock, a
 * ledger reading it and, given `merchant`, a merchant; after each test, unless
 * `assertInvariants` is false, it asserts the ledger invariants for `shop.merchantId`.
 */
export function useShop<C extends ShopClock>(dialect: JifenDialect, setup: ShopSetup<C>): Shop<C> {
  const database = useTestDb(dialect);
  let current: { clock: C; ledger: Ledger } | undefined;
  const inTest = () => {
    if (current === undefined) throw new Error('useShop: the shop exists only inside tests');
    return current;
  };
  const shop: Shop<C> = {
    database,
    get clock() {
      return inTest().clock;
    },
    get ledger() {
      return inTest().ledger;
    },
    merchantId: '',
  };

  beforeEach(async () => {
    const clock = setup.clock();
    const ledger = new Ledger(database(), { clock: clock.read });
    current = { clock, ledger };
    if (setup.merchant !== undefined) shop.merchantId = await setup.merchant(ledger);
  });

  if (setup.assertInvariants ?? true) {
    afterEach(async () => {
      await assertLedgerInvariants(shop.ledger.db, shop.merchantId);
    });
  }

  return shop;
}
