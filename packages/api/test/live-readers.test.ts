import { describeEachDialect, useTestDb } from '@jifen/db/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Ledger } from '../src/ledger';
import { reserveHold } from '../src/holds';
import { orderCompleted, orderPaid } from '../src/orders';
import { reportsSummary } from '../src/reports';
import { listPendingApprovals } from '../src/risk-approvals';
import { shopperMe } from '../src/shoppers';
import { type VerifyReport, verifyMerchant } from '../src/verify';
import { type WorkerBundle, bundleWorker, startWorker } from './harness/worker-bundle';
import { aPoolShopProgram, aShop } from './support-orders';

/**
 * Readers of several statements beside a live server: `jifen verify`, meant to run on a schedule
 * (docs/ledger.md "Running verify"), the merchant's report and approvals list, and `shopper.me`. Each
 * must read one moment of the ledger (`readSnapshot`), or a write committed between two of its
 * statements shows as a broken chain, or as figures that contradict each other. Here another
 * process writes while they read, as the server would.
 */

let bundle: WorkerBundle;

beforeAll(async () => {
  bundle = await bundleWorker('order-writer');
}, 120_000);

afterAll(() => bundle?.remove());

/**
 * Runs `read` again and again while a second process writes (`order-writer.ts`, in `mode`), until
 * ten runs had a write committed while they read; fails if 20 s of runs did not get there (a short
 * read, such as the approvals list's, overlaps a write one run in twenty or so).
 */
async function whileOrdersArePaid(url: string, merchantId: string, writerArgs: string[], read: () => Promise<void>): Promise<void> {
  const writer = startWorker(bundle, [url, merchantId, ...writerArgs]);
  let paid = 0;
  const stderr: string[] = [];
  writer.stdout?.on('data', (chunk: Buffer) => {
    const last = chunk.toString().trim().split('\n').pop() ?? '';
    if (last.startsWith('done ')) paid = Number(last.slice('done '.length));
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
    const readUntil = Date.now() + 20_000;
    while (overlapped < 10 && Date.now() < readUntil) {
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
    await whileOrdersArePaid(store().url, merchantId, ['pay'], async () => {
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

  it("shopper.me never shows more points expiring than the balance it shows, while the shopper's checkout holds and releases points", async () => {
    const ledger = new Ledger(store());
    const merchantId = await aShop(ledger);
    // Paid at one instant, so every available point expires on one day: expiring = available, with no hold open.
    for (let n = 0; n < 10; n += 1) {
      await orderPaid(ledger, { merchantId, orderId: `past-${n}`, shopperId: 'alice', amount: 100_000, currency: 'CNY' });
      await orderCompleted(ledger, { merchantId, orderId: `past-${n}` });
    }
    const contradictions: string[] = [];
    await whileOrdersArePaid(store().url, merchantId, ['holds', 'alice'], async () => {
      const me = await shopperMe(store().db, merchantId, 'alice', new Date());
      if (me.expiring === null || me.expiring.points > me.balance.available) {
        contradictions.push(`balance.available ${me.balance.available}, expiring ${me.expiring?.points}`);
      }
    });
    expect(contradictions).toEqual([]);
  }, 60_000);

  it("the approvals list pairs a shopper's holdings with the supply of the same moment", async () => {
    // Alice is the shop's only holder, so any share above 50% flags her open hold for review.
    const ledger = new Ledger(store());
    const merchantId = await aShop(ledger, { ...aPoolShopProgram(), valuation: { kind: 'pool', risk: { concentrationReview: 0.5 } } });
    for (let n = 0; n < 10; n += 1) {
      await orderPaid(ledger, { merchantId, orderId: `past-${n}`, shopperId: 'alice', amount: 100_000, currency: 'CNY' });
      await orderCompleted(ledger, { merchantId, orderId: `past-${n}` });
    }
    await reserveHold(ledger, { merchantId, shopperId: 'alice', checkoutId: 'open-checkout', points: 1_000, cartAmount: 100_000 });
    const impossible: string[] = [];
    let listed = 0;
    await whileOrdersArePaid(store().url, merchantId, ['complete', 'alice'], async () => {
      const pending = await listPendingApprovals(store().db, merchantId);
      listed += pending.length;
      for (const approval of pending) if (approval.holdings !== approval.supply) impossible.push(`holdings ${approval.holdings}, supply ${approval.supply}`);
    });
    // Alice holds every point of the shop, so her holdings are the supply at every moment.
    expect(impossible).toEqual([]);
    expect(listed, 'her open hold was listed for review').toBeGreaterThan(0);
  }, 60_000);
});
