import { readFileSync, writeSync } from 'node:fs';
import { type Database, createDb } from '@jifen/db';
import type { KyselyPlugin, Transaction } from 'kysely';
import { JifenError } from '../../src/errors';
import { Ledger } from '../../src/ledger';
import { type ShopEvent, applyShopEvent } from './shop-history';

/**
 * The crash test's child: a shop backend ingesting its event stream into the ledger, one event at a
 * time, each at the event's own instant. `argv`: database URL, merchant id, the events file (JSON),
 * the index to start from. It writes one line per answer to stdout, synchronously and only after the
 * service resolved (so after the commit): `ack <index>`; `refused <index> <reason>`; `done` at the end.
 *
 * To be killed at a given point, `JIFEN_CRASH_INSIDE` names an event, a stage and a statement count.
 * Stage 'refund', or a sweep stage such as 'sweep:lots': once that many statements of that stage's
 * write transaction have run — or, if the transaction runs fewer, once its work is done and just
 * before its commit — the child prints `inside <stage>` and freezes its event loop, mid-transaction,
 * until the parent's SIGKILL arrives. Stage 'acknowledging': it freezes after the event committed,
 * before answering it.
 *
 * Statements are counted where every one of them passes: a plugin's `transformResult`, called as each
 * statement's result comes back. `transformQuery` would miss most of them — the services' prepared
 * queries (@jifen/db `prepareQuery`) are compiled once and never go through it — so the count would
 * depend on which statements happen to be prepared. Only statements inside a write transaction count
 * (a sweep also runs statements between its transactions), and the end of the transaction's work is
 * seen by wrapping `transaction().execute`, the path by which the ledger opens and commits each write.
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
/** True while a write transaction's work runs: between its `begin` and its `commit`. */
let inTransaction = false;

function say(line: string): void {
  writeSync(1, `${line}\n`);
}

/** Stops everything but the process itself: no statement, no commit, no answer, until SIGKILL. */
function freeze(): void {
  say(`inside ${stage}`);
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60_000);
}

function inTargetStage(): boolean {
  return crashInside !== null && eventId === crashInside.eventId && stage === crashInside.stage;
}

const crashHook: KyselyPlugin = {
  transformQuery: (args) => args.node,
  transformResult: async (args) => {
    if (inTransaction && inTargetStage()) {
      queriesInStage += 1;
      // Frozen here, the transaction is open with this statement and the earlier ones run.
      if (queriesInStage === crashInside!.query) freeze();
    }
    return args.result;
  },
};

const store = createDb({ url });
let now = new Date(0);
const db = store.db.withPlugin(crashHook);
const openTransaction = db.transaction.bind(db);
db.transaction = () => {
  const builder = openTransaction();
  const execute = builder.execute.bind(builder);
  builder.execute = <T>(work: (trx: Transaction<Database>) => Promise<T>): Promise<T> =>
    execute(async (trx) => {
      inTransaction = true;
      try {
        const value = await work(trx);
        // Every statement of the transaction has run and the commit is not sent: a target stage
        // whose transaction ran fewer statements than planned (a small refund) freezes here.
        if (inTargetStage() && queriesInStage > 0) freeze();
        return value;
      } finally {
        inTransaction = false;
      }
    });
  return builder;
};
const ledger = new Ledger({ ...store, db }, { clock: () => now });

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
