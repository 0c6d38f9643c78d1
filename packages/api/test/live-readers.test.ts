import { describeEachDialect, useTestDb } from '@jifen/db/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Ledger } from '../src/ledger';
import { reportsSummary } from '../src/reports';
import { type VerifyReport, verifyMerchant } from '../src/verify';
import { type WorkerBundle, bundleWorker, startWorker } from './harness/worker-bundle';
import { aPoolShopProgram, aShop } from './support-orders';

/**
 * Readers of several statements beside a live server: `jifen verify`, meant to run on a schedule
 * (docs/ledger.md "Running verify"), and the merchant's report. Each must read one moment of the
 * ledger, or a write committed between two of its statements shows as a broken chain, or as figures
 * that do not add up. Here another process pays orders while they read, as the server would.
 */

let bundle: WorkerBundle;

beforeAll(async () => {
  bundle = await bundleWorker('order-writer');
}, 120_000);

afterAll(() => bundle?.remove());

/**
 * Runs `read` again and again while a second process pays orders (`order-writer.ts`), until ten runs
 * had an order committed while they read; fails if 200 runs did not get there.
 */
async function whileOrdersArePaid(url: string, merchantId: string, writerArgs: string[], read: () => Promise<void>): Promise<void> {
  const writer = startWorker(bundle, [url, merchantId, ...writerArgs]);
  let paid = 0;
  const stderr: string[] = [];
  writer.stdout?.on('data', (chunk: Buffer) => {
    const last = chunk.toString().trim().split('\n').pop() ?? '';
    if (last.startsWith('paid ')) paid = Number(last.slice('paid '.length));
  });
  writer.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
  const exited = new Promise<void>((resolve) => writer.on('exit', () => resolve()));
  let overlapped = 0;
  let runs = 0;
  try {
    const startedBy = Date.now() + 20_000;
    while (paid < 5) {
      if (Date.now() > startedBy || writer.exitCode !== null) throw new Error(`the writer did not start paying: ${stderr.join('')}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    while (overlapped < 10 && runs < 200) {
      const before = paid;
      await read();
      runs += 1;
      await new Promise((resolve) => setImmediate(resolve)); // lets the writer's last lines in
      if (paid > before) overlapped += 1;
    }
  } finally {
    writer.kill('SIGKILL');
    await exited;
  }
  expect(stderr.join(''), 'the writer ran without errors').toBe('');
  // Not vacuous: orders were committed while the reader read.
  expect(overlapped, `orders were committed while the reader read, in ${runs} runs`).toBeGreaterThanOrEqual(10);
}

describeEachDialect('readers beside a live writer', (dialect) => {
  const store = useTestDb(dialect);

  it('verify passes every time while another process pays orders, because it reads one snapshot', async () => {
    const merchantId = await aShop(new Ledger(store()));
    const failed: VerifyReport[] = [];
    await whileOrdersArePaid(store().url, merchantId, [], async () => {
      const report = await verifyMerchant(store().db, merchantId);
      if (report.chain !== null || report.violations.length > 0) failed.push(report);
    });
    expect(failed).toEqual([]);
    expect(await verifyMerchant(store().db, merchantId)).toMatchObject({ chain: null, violations: [] });
  }, 60_000);

  it("the report's figures are of one moment: in a pool program the outstanding points are the pool's supply", async () => {
    const ledger = new Ledger(store());
    const merchantId = await aShop(ledger, aPoolShopProgram());
    const mismatches: string[] = [];
    await whileOrdersArePaid(store().url, merchantId, ['complete'], async () => {
      const summary = await reportsSummary(store().db, merchantId, ledger.now());
      // Every outstanding pool point was minted by a completed order: supply = Σ lots = Σ balances.
      if (summary.pool === null || summary.pool.supply !== summary.liability.points) {
        mismatches.push(`liability ${summary.liability.points} points, pool supply ${summary.pool?.supply}`);
      }
    });
    expect(mismatches).toEqual([]);
    const last = await reportsSummary(store().db, merchantId, ledger.now());
    expect(last.liability.points).toBeGreaterThan(0);
  }, 60_000);
});
