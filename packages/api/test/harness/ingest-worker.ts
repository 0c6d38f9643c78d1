import { readFileSync, writeSync } from 'node:fs';
import { createDb } from '@jifen/db';
import type { KyselyPlugin } from 'kysely';
import { JifenError } from '../../src/errors';
import { Ledger } from '../../src/ledger';
import { type ShopEvent, applyShopEvent } from './shop-history';

/**
 * The crash test's child: a shop backend ingesting its event stream into the ledger, one event at a
 * time, each at the event's own instant. `argv`: database URL, merchant id, the events file (JSON),
 * the index to start from. It writes one line per answer to stdout, synchronously and only after the
 * service resolved (so after the commit): `ack <index>`; `refused <index> <reason>`; `done` at the end.
 *
 * To be killed at a given point, `JIFEN_CRASH_INSIDE` names an event, a stage and a query count.
 * Stage 'refund', or a sweep stage such as 'sweep:lots': on that query of that stage the child
 * prints `inside <stage>` and freezes its event loop, mid-transaction, until the parent's SIGKILL
 * arrives. Stage 'acknowledging': it freezes after the event committed, before answering it.
 */

interface CrashInside {
  eventId: string;
  stage: string;
  query: number;
}

const [url, merchantId, eventsPath, fromText] = process.argv.slice(2);
if (url === undefined || merchantId === undefined || eventsPath === undefined || fromText === undefined) {
  throw new Error('ingest-worker: pass the database URL, merchant id, events file and start index');
}
const events = JSON.parse(readFileSync(eventsPath, 'utf8')) as ShopEvent[];
const crashInside = process.env.JIFEN_CRASH_INSIDE ? (JSON.parse(process.env.JIFEN_CRASH_INSIDE) as CrashInside) : null;

let eventId = '';
let stage = '';
let queriesInStage = 0;

function say(line: string): void {
  writeSync(1, `${line}\n`);
}

/** Stops everything but the process itself: no statement, no commit, no answer, until SIGKILL. */
function freeze(): void {
  say(`inside ${stage}`);
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60_000);
}

const crashHook: KyselyPlugin = {
  transformQuery(args) {
    if (crashInside !== null && eventId === crashInside.eventId && stage === crashInside.stage) {
      queriesInStage += 1;
      // Frozen here, the transaction is open with its earlier statements run.
      if (queriesInStage === crashInside.query) freeze();
    }
    return args.node;
  },
  transformResult: async (args) => args.result,
};

const store = createDb({ url });
let now = new Date(0);
const ledger = new Ledger({ ...store, db: store.db.withPlugin(crashHook) }, { clock: () => now });

for (let index = Number(fromText); index < events.length; index += 1) {
  const event = events[index]!;
  eventId = event.id;
  stage = event.kind === 'refunded' ? 'refund' : event.kind;
  queriesInStage = 0;
  now = new Date(event.at);
  try {
    await applyShopEvent(ledger, merchantId, event, {
      onSweepStage: (next) => {
        stage = `sweep:${next}`;
        queriesInStage = 0;
      },
    });
  } catch (error) {
    if (!(error instanceof JifenError)) throw error;
    say(`refused ${index} ${error.reason}`);
    continue;
  }
  stage = 'acknowledging';
  if (crashInside !== null && eventId === crashInside.eventId && stage === crashInside.stage) freeze();
  say(`ack ${index}`);
}
say('done');
await store.close();
