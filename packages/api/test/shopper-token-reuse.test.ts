import { describeEachDialect, useTestDb } from '@jifen/db/testing';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { MERCHANT_RECHECK_MS, mintShopperToken, verifyShopperToken } from '../src/auth';
import { JifenError } from '../src/errors';
import { Ledger } from '../src/ledger';
import { createMerchant } from '../src/merchants';

/**
 * A token verified once is remembered by its exact text (auth.ts), so a widget's many calls with one
 * token skip the HMAC. Remembering must never stretch what the token allows: it stops at `exp`, at
 * the lifetime cap and before `iat` as a fresh verification would, and dies with the secret — at
 * once when it is next verified in full, within MERCHANT_RECHECK_MS for a token already remembered.
 */
describeEachDialect('a shopper token used again', (dialect) => {
  const database = useTestDb(dialect);
  const issuedAt = new Date('2026-11-11T04:00:00Z');
  let ledger: Ledger;
  let merchantId: string;
  let token: string;

  const at = (seconds: number) => new Date(issuedAt.getTime() + seconds * 1000);
  async function refusal(when: Date): Promise<string> {
    const error = await verifyShopperToken(ledger.db, token, when).then(
      () => null,
      (failure: unknown) => failure,
    );
    expect(error).toBeInstanceOf(JifenError);
    expect((error as JifenError).reason).toBe('UNAUTHORIZED');
    return String((error as JifenError).facts.detail);
  }

  afterEach(() => {
    vi.restoreAllMocks();
  });

  beforeEach(async () => {
    ledger = new Ledger(database());
    const shop = await createMerchant(ledger, { name: 'Token shop' });
    merchantId = shop.merchantId;
    ({ token } = await mintShopperToken({ merchantId, shopperId: '42', widgetSecret: shop.widgetSecret, now: issuedAt, ttlSeconds: 900 }));
    expect(await verifyShopperToken(ledger.db, token, at(1))).toMatchObject({ merchantId, shopperId: '42' });
  });

  it('answers the same shopper again within its lifetime, to the last tolerated second', async () => {
    expect((await verifyShopperToken(ledger.db, token, at(60))).shopperId).toBe('42');
    expect((await verifyShopperToken(ledger.db, token, at(900 + 29))).shopperId).toBe('42');
  });

  it('refuses it once it has expired, as a first verification would', async () => {
    expect(await refusal(at(900 + 30))).toBe('the shopper token has expired');
    expect(await refusal(at(900 + 31))).toBe('the shopper token has expired');
  });

  it('refuses it at a time before it was issued (a clock set back)', async () => {
    expect(await refusal(at(-31))).toBe('the shopper token is issued in the future');
  });

  it("refuses it once the merchant's widget secret is no longer the one that signed it, within a second", async () => {
    let clock = 5_000;
    vi.spyOn(performance, 'now').mockImplementation(() => clock);
    const shop = await createMerchant(ledger, { name: 'Rotating shop' });
    ({ token } = await mintShopperToken({ merchantId: shop.merchantId, shopperId: '7', widgetSecret: shop.widgetSecret, now: issuedAt, ttlSeconds: 900 }));
    expect((await verifyShopperToken(ledger.db, token, at(1))).shopperId).toBe('7');
    await ledger.db.updateTable('merchants').set({ widget_secret: 'another-secret-entirely-another-one' }).where('id', '=', shop.merchantId).execute();

    // The merchant settings the token was verified with are trusted for MERCHANT_RECHECK_MS, no longer.
    clock += MERCHANT_RECHECK_MS - 1;
    expect((await verifyShopperToken(ledger.db, token, at(60))).shopperId).toBe('7');
    clock += 1;
    expect(await refusal(at(60))).toBe("the shopper token's signature does not verify with its merchant's widget secret");
    // Dropped from the cache: refused again even with the clock back inside the window.
    clock -= 1;
    expect(await refusal(at(60))).toBe("the shopper token's signature does not verify with its merchant's widget secret");
  });

  it('is not taken by another database that holds a merchant of the same id', async () => {
    // The cache is per Kysely handle: a second handle on the same file starts empty.
    const other = ledger.db.withoutPlugins();
    expect(other).not.toBe(ledger.db);
    await ledger.db.updateTable('merchants').set({ widget_secret: 'another-secret-entirely-another-one' }).where('id', '=', merchantId).execute();
    expect(await verifyShopperToken(other, token, at(60)).catch((failure: unknown) => (failure as JifenError).reason)).toBe('UNAUTHORIZED');
  });

  it('treats a token differing in one character as a stranger, verified in full', async () => {
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const tampered = `${header}.${payload}.${signature[0] === 'A' ? 'B' : 'A'}${signature.slice(1)}`;
    const error = await verifyShopperToken(ledger.db, tampered, at(60)).catch((failure: unknown) => failure);
    expect((error as JifenError).reason).toBe('UNAUTHORIZED');
  });
});
