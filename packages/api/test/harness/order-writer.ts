import { writeSync } from 'node:fs';
import { createDb } from '@jifen/db';
import { releaseHold, reserveHold } from '../../src/holds';
import { Ledger } from '../../src/ledger';
import { orderCompleted, orderPaid } from '../../src/orders';

/**
 * A shop backend writing again and again until it is killed, as a live server writes beside a
 * scheduled `jifen verify` or a merchant's or shopper's read (`live-readers.test.ts`). `argv`:
 * database URL, merchant id, mode, and for the one-shopper modes the shopper:
 * - `pay`: pays an order, for seven shoppers in turn;
 * - `complete`: pays an order and completes it (a pool program mints then), for the shopper if one is named;
 * - `holds`: reserves 1,000 of the shopper's points for a checkout, then releases the hold.
 * It writes `done <n>` to stdout, synchronously, after each round committed.
 */

const [url, merchantId, mode = 'pay', shopperId] = process.argv.slice(2);
if (url === undefined || merchantId === undefined) throw new Error('order-writer: pass the database URL, merchant id and mode');
if (mode === 'holds' && shopperId === undefined) throw new Error('order-writer: the holds mode needs a shopper');

const ledger = new Ledger(createDb({ url }));
for (let round = 1; ; round += 1) {
  if (mode === 'holds') {
    const hold = await reserveHold(ledger, { merchantId, shopperId: shopperId!, checkoutId: `live-checkout-${round}`, points: 1_000, cartAmount: 100_000 });
    await releaseHold(ledger, { merchantId, shopperId: shopperId!, holdId: hold.holdId });
  } else {
    const orderId = `live-${round}`;
    await orderPaid(ledger, { merchantId, orderId, shopperId: shopperId ?? `shopper-${round % 7}`, amount: 1_000 + round, currency: 'CNY' });
    if (mode === 'complete') await orderCompleted(ledger, { merchantId, orderId });
  }
  writeSync(1, `done ${round}\n`);
}
