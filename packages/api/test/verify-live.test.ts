import { describeEachDialect, useTestDb } from '@jifen/db/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Ledger } from '../src/ledger';
import { type VerifyReport, verifyMerchant } from '../src/verify';
import { type WorkerBundle, bundleWorker, startWorker } from './harness/worker-bundle';
import { aShop } from './support-orders';

/**
 * `jifen verify` is meant to run on a schedule against a live ledger (docs/ledger.md "Running
 * verify"): every statement it runs must read the same moment of the ledger, or an order committed
 * between two of them — after the chain head was read and before the journal was — reads as a
 * broken chain. Here another process pays orders while verify runs, as the server would.
 */

let bundle: WorkerBundle;

beforeAll(async () => {
  bundle = await bundleWorker('order-writer');
}, 120_000);

afterAll(() => bundle?.remove());

describeEachDialect('verify beside a live writer', (dialect) => {
  const store = useTestDb(dialect);

  it('passes every time while another process pays orders, because it reads one snapshot', async () => {
    const merchantId = await aShop(new Ledger(store()));
    const writer = startWorker(bundle, [store().url, merchantId]);
    let paid = 0;
    const stderr: string[] = [];
    writer.stdout?.on('data', (chunk: Buffer) => {
      const last = chunk.toString().trim().split('\n').pop() ?? '';
      if (last.startsWith('paid ')) paid = Number(last.slice('paid '.length));
    });
    writer.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
    const exited = new Promise<void>((resolve) => writer.on('exit', () => resolve()));

    const failed: VerifyReport[] = [];
    let overlapped = 0;
    let runs = 0;
    try {
      const startedBy = Date.now() + 20_000;
      while (paid < 5) {
        if (Date.now() > startedBy || writer.exitCode !== null) throw new Error(`the writer did not start paying: ${stderr.join('')}`);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      // Until enough runs had orders committed while they read (or 200 runs, which fails below).
      while (overlapped < 10 && runs < 200) {
        const before = paid;
        const report = await verifyMerchant(store().db, merchantId);
        runs += 1;
        await new Promise((resolve) => setImmediate(resolve)); // lets the writer's last lines in
        if (paid > before) overlapped += 1;
        if (report.chain !== null || report.violations.length > 0) failed.push(report);
      }
    } finally {
      writer.kill('SIGKILL');
      await exited;
    }
    expect(stderr.join(''), 'the writer ran without errors').toBe('');
    expect(overlapped, `orders were committed while verify read, in ${runs} runs`).toBeGreaterThanOrEqual(10);
    expect(failed).toEqual([]);
    expect(await verifyMerchant(store().db, merchantId)).toMatchObject({ chain: null, violations: [] });
  }, 60_000);
});
