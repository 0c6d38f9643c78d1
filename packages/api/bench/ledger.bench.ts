import { type BenchFigure, compared, recordBenchResults } from '@jifen/bench';
import { postgresUnavailable } from './bench-databases';
import { capOutBench } from './capout-bench';
import { postgresIngest, sqliteGroupCommitIngest, sqliteIngest } from './ingest-bench';
import { SCALE, loadAverage, log } from './measure';
import { type SweepFigure, sweepBench } from './sweep-bench';

/**
 * The ledger's benchmarks (issue 3 "Benchmarks"), each figure beside a baseline measured in the
 * same run, into the repository's bench-results.json. docs/performance.md explains each one.
 *
 *   npm run bench                          every section, at full size
 *   npm run bench -- sweep capout          some sections
 *   JIFEN_BENCH_SCALE=0.1 npm run bench    every size ×0.1, for a quick look
 */

const SECTIONS = ['ingest', 'groupcommit', 'postgres', 'sweep', 'capout'] as const;
type Section = (typeof SECTIONS)[number];

const asked = process.argv.slice(2).filter((argument) => argument !== '--');
for (const section of asked) if (!SECTIONS.includes(section as Section)) throw new Error(`unknown section ${section}; choose from ${SECTIONS.join(', ')}`);
const sections = new Set<Section>(asked.length === 0 ? SECTIONS : (asked as Section[]));
const pgMissing = await postgresUnavailable();
if (pgMissing !== null) log(`Postgres figures skipped: ${pgMissing}`);

log(`scale ${SCALE}, load average ${loadAverage()} at the start`);

/** Notes carry the conditions, so a figure read later says what it was measured under. */
const conditions = () => `load ${loadAverage()}${SCALE === 1 ? '' : `, scale ${SCALE}`}`;
const eventsNote = (figure: { events: number; rounds: number }) => `median of ${figure.rounds} rounds of ${figure.events} events`;

if (sections.has('ingest')) {
  for (const synchronous of ['FULL', 'NORMAL'] as const) {
    const figure = await sqliteIngest(synchronous);
    recordBenchResults({
      [`ledger.ingest.sqlite.${synchronous.toLowerCase()}`]: compared(
        figure.services,
        figure.raw,
        'events/s',
        `orderPaid, one event per transaction; baseline: raw better-sqlite3 writing the order, its lot and two journal rows per transaction, synchronous=${synchronous}; ${eventsNote(figure)}; ${conditions()}`,
      ),
    });
  }
}

if (sections.has('groupcommit')) {
  const figure = await sqliteGroupCommitIngest(16);
  recordBenchResults({
    'ledger.ingest.sqlite.groupCommit16': compared(
      figure.services,
      figure.raw,
      'events/s',
      `orderPaid from 16 concurrent callers, group commit on, synchronous=FULL; baseline: raw better-sqlite3 one event per transaction at FULL; ${eventsNote(figure)}; ${conditions()}`,
    ),
  });
}

if (sections.has('postgres') && pgMissing === null) {
  const oneShop = await postgresIngest(8, 1);
  recordBenchResults({
    'ledger.ingest.postgres.concurrent8': compared(
      oneShop.services,
      oneShop.raw,
      'events/s',
      `orderPaid from 8 concurrent writers (pool of 8) for one shop, whose budget row and chain head every order locks; baseline: raw pg, 8 clients, the order, its lot and two journal rows per transaction; ${eventsNote(oneShop)}; ${conditions()}`,
    ),
  });
  const eightShops = await postgresIngest(8, 8);
  recordBenchResults({
    'ledger.ingest.postgres.concurrent8.eightShops': compared(
      eightShops.services,
      eightShops.raw,
      'events/s',
      `as ledger.ingest.postgres.concurrent8, each writer sending the orders of its own shop; ${eventsNote(eightShops)}; ${conditions()}`,
    ),
  });
}

function sweepFigures(dialect: 'sqlite' | 'postgres', figure: SweepFigure): Record<string, BenchFigure> {
  const loopSeconds = figure.due / figure.loopRate;
  return {
    [`ledger.sweep.${dialect}`]: compared(
      figure.sweepRate,
      figure.loopRate,
      'lots/s',
      `${figure.due} due of ${figure.lots} lots expired in ${figure.seconds.toFixed(2)} s (${figure.batches} transactions); baseline: a row-by-row loop (select, update lot, update shopper, journal, per lot) in transactions of ${figure.loopBatch} lots (the sweep's average batch), run on an identical copy of the database for its first ${figure.loopSampleDue} due lots and extrapolated per lot: ${loopSeconds.toFixed(1)} s for ${figure.due}; ${conditions()}`,
    ),
    [`ledger.sweep.${dialect}.seconds`]: { value: round(figure.seconds, 2), unit: 's', note: `the whole sweep of ${figure.lots} lots, ${figure.due} due; target ≤ 10 s on SQLite; ${conditions()}` },
    [`ledger.sweep.${dialect}.longestTransaction`]: {
      value: round(figure.longestTransactionMs, 1),
      unit: 'ms',
      note: `the longest of the sweep's ${figure.batches} write transactions (the lock other writers may wait for); target ≤ 500 ms; ${conditions()}`,
    },
  };
}

if (sections.has('sweep')) {
  recordBenchResults(sweepFigures('sqlite', await sweepBench('sqlite')));
  if (pgMissing === null) recordBenchResults(sweepFigures('postgres', await sweepBench('postgres')));
}

if (sections.has('capout')) {
  const figure = await capOutBench('sqlite');
  recordBenchResults({
    'ledger.capout.100k_vs_1k': compared(
      figure.largeMicroseconds,
      figure.smallMicroseconds,
      'µs/check',
      `the cap-out check an order runs, with ${figure.largeHolders} holders; baseline: the same check with ${figure.smallHolders} holders; lower is better, target ratio ≤ 2; SQLite; ${conditions()}`,
    ),
  });
  if (pgMissing === null) {
    const pgFigure = await capOutBench('postgres');
    recordBenchResults({
      'ledger.capout.postgres.100k_vs_1k': compared(
        pgFigure.largeMicroseconds,
        pgFigure.smallMicroseconds,
        'µs/check',
        `as ledger.capout.100k_vs_1k, on Postgres; ${conditions()}`,
      ),
    });
  }
}

log(`done; load average ${loadAverage()} at the end`);

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
