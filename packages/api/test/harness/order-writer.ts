import { writeSync } from 'node:fs';
import { createDb } from '@jifen/db';
import { Ledger } from '../../src/ledger';
import { orderCompleted, orderPaid } from '../../src/orders';

/**
 * A shop backend paying orders one after another until it is killed, as a live server writes
 * beside a scheduled `jifen verify` or a merchant's report. `argv`: database URL, merchant id, and
 * `complete` to complete each order after paying it (a pool program mints then). It writes
 * `paid <n>` to stdout, synchronously, after each order committed.
 */

const [url, merchantId, then] = process.argv.slice(2);
if (url === undefined || merchantId === undefined) throw new Error('order-writer: pass the database URL and merchant id');

const ledger = new Ledger(createDb({ url }));
for (let paid = 1; ; paid += 1) {
  await orderPaid(ledger, { merchantId, orderId: `live-${paid}`, shopperId: `shopper-${paid % 7}`, amount: 1_000 + paid, currency: 'CNY' });
  if (then === 'complete') await orderCompleted(ledger, { merchantId, orderId: `live-${paid}` });
  writeSync(1, `paid ${paid}\n`);
}
