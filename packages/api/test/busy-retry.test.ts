import { spawn } from 'node:child_process';
import { useTestDb } from '@jifen/db/testing';
import { describe, expect, it } from 'vitest';
import { Ledger } from '../src/ledger';
import { orderPaid } from '../src/orders';
import { aShop } from './support-orders';

/**
 * Another process holds the SQLite write lock a little longer than the busy timeout (5 s) — a
 * `jifen migrate` building an index on a large file, a `jifen sweep --batch-size 100000`, a second
 * server's long transaction. The Ledger treats SQLITE_BUSY as retryable (`isRetryableTransactionError`)
 * and the write goes through once the lock is free — alone, and in a group commit's batch, what
 * `jifen serve` runs by default (GROUP_COMMIT=true), whose BEGIN IMMEDIATE once rejected every
 * write of the batch instead.
 */

const HOLD_MS = 6_500;

/** A second OS process that takes the write lock, says `locked`, and keeps it for `HOLD_MS`. */
function holdWriteLock(path: string): Promise<{ done: Promise<void> }> {
  const script = `
    const Database = require('better-sqlite3');
    const db = new Database(process.argv[1], { timeout: 5000 });
    db.exec('begin immediate');
    process.stdout.write('locked\\n');
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ${HOLD_MS});
    db.exec('commit');
    db.close();`;
  const child = spawn(process.execPath, ['-e', script, path], { stdio: ['ignore', 'pipe', 'inherit'] });
  const done = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('locked')) resolve({ done });
    });
    child.on('exit', (code) => reject(new Error(`the lock holder exited (${code}) before locking`)));
  });
}

describe('a write waiting for another process past the busy timeout (sqlite)', () => {
  const store = useTestDb('sqlite');

  it('without group commit: retried, and paid once the lock is free', async () => {
    const ledger = new Ledger(store(), { groupCommit: false });
    const merchantId = await aShop(ledger);
    const holder = await holdWriteLock(store().sqlitePath!);
    const paid = await orderPaid(ledger, { merchantId, orderId: 'alone-1', shopperId: 'alice', amount: 10_000, currency: 'CNY' });
    expect(paid.orderId).toBe('alone-1');
    await holder.done;
  }, 30_000);

  it("with group commit, as `jifen serve` runs: the same write is paid too, not refused with SQLITE_BUSY", async () => {
    const ledger = new Ledger(store(), { groupCommit: true });
    const merchantId = await aShop(ledger);
    const holder = await holdWriteLock(store().sqlitePath!);
    let outcome: string;
    try {
      const paid = await orderPaid(ledger, { merchantId, orderId: 'grouped-1', shopperId: 'alice', amount: 10_000, currency: 'CNY' });
      outcome = `paid ${paid.orderId}`;
    } catch (error) {
      outcome = `${(error as { code?: string }).code}: ${(error as Error).message}`;
    }
    await holder.done;
    expect(outcome).toBe('paid grouped-1');
  }, 30_000);
});
