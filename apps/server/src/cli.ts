import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { JifenError, Ledger, createMerchant, getMerchant, runSweep, simulateOrders, verifyMerchant } from '@jifen/api';
import { type CreateDbOptions, type JifenDb, createDb, migrateToLatest, parseDatabaseUrl } from '@jifen/db';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import type { Env } from './env';
import { buildFrontends, missingFrontends } from './cli/frontend-build';
import { progressBar } from './cli/progress';
import { DEMO_MERCHANT_ID, DEMO_SHOPPERS, allowDemoOrigins, seedDemo } from './cli/seed';
import { createDemoRoutes } from './demo-routes';
import type { RouteHandler } from './http/server';
import { frontendSites, serveStatic } from './http/static';
import { createLogger } from './logger';
import { type Serving, openDatabase, serve } from './serve';
import { replayWebhooks } from './webhooks';

/**
 * `jifen`, the command-line tool (SPEC §8). Results go to stdout as JSON (so scripts can read
 * them), progress and messages to stderr. Exit codes: 0 done, 1 the work found a problem (`verify`
 * found a broken invariant, a replay had failed deliveries) or failed, 2 bad usage or configuration.
 */

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

class UsageError extends Error {}

export interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

const processIo: Io = { stdout: (text) => process.stdout.write(text), stderr: (text) => process.stderr.write(text) };

/** The process environment, read once and only when a command needs it: `jifen --help` works with a broken one. */
async function processEnv(): Promise<Env> {
  try {
    return (await import('./env')).env;
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

function positiveInteger(name: string, max = Number.MAX_SAFE_INTEGER) {
  return wholeNumber(name, 1, max);
}

function wholeNumber(name: string, min: number, max: number) {
  return (value: string): number => {
    if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) throw new InvalidArgumentError(`${name} must be a whole number between ${min} and ${max}`);
    return Number(value);
  };
}

/**
 * `jifen sweep`'s pause between batches on SQLite (sweep.ts `SweepOptions.pauseMs`): longer than
 * SQLite's busy handler sleeps between two tries (100 ms), so a server writing to the same file
 * takes the lock after one batch instead of missing the gaps between them for seconds.
 */
const SWEEP_PAUSE_MS_SQLITE = 110;

function port(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 65_535) throw new InvalidArgumentError('the port must be a whole number between 0 and 65535');
  return Number(value);
}

/** A date (`2026-11-11`, UTC midnight) or a date-time with seconds optional and a zone (`Z` or `±HH:MM`). */
const ISO_INSTANT = /^(\d{4})-(\d{2})-(\d{2})(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?(?:Z|[+-]\d{2}:\d{2}))?$/;

function instantOption(name: string) {
  return (value: string): Date => {
    const match = ISO_INSTANT.exec(value);
    const at = new Date(value);
    // Date parsing rolls 2026-02-30 over into March and reads trailing junk leniently: the calendar date must be the one given.
    const [year, month, day] = (match ?? []).slice(1).map(Number);
    const calendar = match === null ? null : new Date(Date.UTC(year!, month! - 1, day!));
    const isCalendarDate = calendar !== null && calendar.getUTCFullYear() === year && calendar.getUTCMonth() === month! - 1 && calendar.getUTCDate() === day;
    if (!isCalendarDate || Number.isNaN(at.getTime())) {
      throw new InvalidArgumentError(`${name} must be an ISO 8601 date or date-time, e.g. 2026-11-11 or 2026-11-11T20:00:00+08:00`);
    }
    return at;
  };
}

function readJsonFile(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read the ${what} file ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new UsageError(`the ${what} file ${path} is not valid JSON`);
  }
}

/** Where the demo credentials are kept: next to the SQLite file, or in ./data for Postgres. */
export function demoCredentialsPath(databaseUrl: string): string {
  const location = parseDatabaseUrl(databaseUrl);
  const folder = location.dialect === 'sqlite' && location.path !== ':memory:' ? dirname(resolve(location.path)) : resolve('data');
  return join(folder, 'demo-credentials.json');
}

/** Keeps the demo keys for the storefront and the next `npm start` (they are shown only once otherwise). */
function saveCredentials(path: string, credentials: object): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600 });
}

/** How every command opens the database. */
function databaseOptions(env: Env): CreateDbOptions {
  return { url: env.DATABASE_URL, synchronous: env.SQLITE_SYNCHRONOUS, preparedStatements: env.PG_PREPARED_STATEMENTS };
}

/**
 * Opens the database and asks it one question, so a URL that cannot be reached (a bad port, a
 * database that does not exist, refused) is a configuration error — exit 2 — before the command's
 * work begins, not a failure of that work (exit 1; for `verify`, a broken ledger).
 *
 * `create`: whether the command may bring a new database into being. On SQLite opening a file
 * creates it, so a command that only reads or works on a ledger (`verify`, `sweep`, `simulate`,
 * `webhooks replay`) checks first that the file is there: a mistyped path is reported as such,
 * and no empty file is left behind.
 */
async function openReachable(env: Env, options: { migrate: boolean; create: boolean }): Promise<JifenDb> {
  const { migrate } = options;
  if (!options.create) requireSqliteFile(env.DATABASE_URL);
  let store: JifenDb | undefined;
  try {
    // openDatabase migrates, so it has reached the server; a bare createDb has not yet: probe it.
    store = migrate ? await openDatabase(databaseOptions(env)) : createDb(databaseOptions(env));
    if (!migrate) await store.db.selectNoFrom((eb) => eb.lit(1).as('one')).execute();
    return store;
  } catch (error) {
    await store?.close().catch(() => undefined);
    throw new UsageError(`cannot open the database (${redactUrl(env.DATABASE_URL)}): ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** Exit 2 when `url` names a SQLite file that does not exist (see `openReachable`). */
function requireSqliteFile(url: string): void {
  let location: ReturnType<typeof parseDatabaseUrl>;
  try {
    location = parseDatabaseUrl(url);
  } catch {
    return; // openReachable reports the bad URL itself
  }
  if (location.dialect === 'sqlite' && location.path !== ':memory:' && !existsSync(location.path)) {
    throw new UsageError(`no SQLite database at ${resolve(location.path)}: check DATABASE_URL, or create it with \`jifen migrate\` (or \`jifen start\`)`);
  }
}

/** `migrate: true` — the command brings the schema up to date first, creating the database if need be; false — it works on the database as it is, which must exist. */
async function withLedger<T>(env: Env, options: { migrate: boolean }, work: (ledger: Ledger) => Promise<T>): Promise<T> {
  const store = await openReachable(env, { migrate: options.migrate, create: options.migrate });
  try {
    return await work(new Ledger(store));
  } finally {
    await store.close();
  }
}

/** The demo merchant's API key from the credentials `start` kept; null when they are gone or another merchant's. */
function demoApiKey(credentialsFile: string): string | null {
  if (!existsSync(credentialsFile)) return null;
  try {
    const credentials = JSON.parse(readFileSync(credentialsFile, 'utf8')) as { merchantId?: unknown; apiKey?: unknown };
    return credentials.merchantId === DEMO_MERCHANT_ID && typeof credentials.apiKey === 'string' ? credentials.apiKey : null;
  } catch {
    return null;
  }
}

function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
}

function printUrls(io: Io, baseUrl: string, credentialsFile: string | null): void {
  io.stderr(
    [
      '',
      `  jifen is running at ${baseUrl}`,
      `  API        ${baseUrl}/trpc/<procedure>   (docs/api.md)`,
      `  Storefront ${baseUrl}/`,
      `  Embed demo ${baseUrl}/embed.html`,
      `  Widgets    ${baseUrl}/widgets/jifen.js`,
      `  Health     ${baseUrl}/healthz`,
      `  Metrics    ${baseUrl}/metrics`,
      ...(credentialsFile ? [`  Demo keys  ${credentialsFile}`] : []),
      '',
      '  Ctrl-C stops it (in-flight requests finish first).',
      '',
    ].join('\n') + '\n',
  );
}

async function serveUntilSignalled(serving: Serving, io: Io): Promise<number> {
  return new Promise((resolveExit) => {
    let signals = 0;
    const onSignal = (signal: NodeJS.Signals) => {
      signals += 1;
      if (signals > 1) {
        io.stderr(`${signal} again: exiting without waiting\n`);
        process.exit(EXIT_FAILED);
      }
      io.stderr(`${signal}: stopping…\n`);
      serving.stop().then(
        () => resolveExit(EXIT_OK),
        (error: unknown) => {
          io.stderr(`stopping failed: ${error instanceof Error ? error.message : String(error)}\n`);
          resolveExit(EXIT_FAILED);
        },
      );
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
}

async function startServing(env: Env, overrides: { port?: number; host?: string }, routes: readonly RouteHandler[]): Promise<Serving> {
  const serving = await serve({
    database: databaseOptions(env),
    port: overrides.port ?? env.PORT,
    host: overrides.host ?? env.HOST,
    logger: createLogger(env.LOG_LEVEL),
    groupCommit: env.GROUP_COMMIT,
    bodyLimitBytes: env.BODY_LIMIT_BYTES,
    shopperRate: { ratePerSecond: env.SHOPPER_RATE_PER_SECOND, burst: env.SHOPPER_RATE_BURST },
    consoleOrigins: env.CONSOLE_ORIGINS,
    jobIntervalMs: env.JOB_INTERVAL_SECONDS * 1000,
    shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_SECONDS * 1000,
    routes,
  }).catch((error: unknown) => {
    throw new UsageError(`cannot start the server: ${error instanceof Error ? error.message : String(error)}`);
  });
  return serving;
}

function publicUrl(env: Env, serving: Serving): string {
  if (env.PUBLIC_URL) return env.PUBLIC_URL.replace(/\/$/, '');
  const port = new URL(serving.url).port;
  return `http://localhost:${port}`;
}

export interface CliOptions {
  io?: Io;
  /** The configuration; tests pass one made by `parseEnv`, the process reads its environment. */
  env?: Env;
}

export function buildProgram(cli: CliOptions = {}): { program: Command; exitCode: () => number } {
  const io = cli.io ?? processIo;
  const readEnv = () => (cli.env ? Promise.resolve(cli.env) : processEnv());
  const program = new Command('jifen')
    .description('jifen (积分): a loyalty-points engine for online shops')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .exitOverride();
  // An action that finishes but found a problem sets its exit code here; main() returns it.
  let exitCode = EXIT_OK;
  const setExit = (code: number) => {
    exitCode = code;
  };

  program
    .command('serve')
    .description('serve the API (and the jobs) until SIGINT/SIGTERM; migrates the database first')
    .option('-p, --port <port>', 'port to listen on (default: PORT or 8787)', port)
    .option('--host <host>', 'address to bind (default: HOST or 127.0.0.1)')
    .action(async (options: { port?: number; host?: string }) => {
      const env = await readEnv();
      const serving = await startServing(env, options, [serveStatic(frontendSites())]);
      printUrls(io, publicUrl(env, serving), null);
      setExit(await serveUntilSignalled(serving, io));
    });

  program
    .command('start')
    .description('what `npm start` runs: migrate, seed the demo when the database is empty, serve and print the URLs')
    .option('-p, --port <port>', 'port to listen on (default: PORT or 8787)', port)
    .action(async (options: { port?: number }) => {
      const env = await readEnv();
      const credentialsFile = demoCredentialsPath(env.DATABASE_URL);
      const missing = missingFrontends();
      if (!(await buildFrontends(missing, io.stderr))) io.stderr(`could not build ${missing.join(' and ')}: serving the API without them\n`);
      const hasDemo = await withLedger(env, { migrate: true }, async (ledger) => {
        const seeded = await seedDemo(ledger);
        if (seeded) {
          saveCredentials(credentialsFile, seeded.credentials);
          io.stderr(`seeded the demo merchant "${DEMO_MERCHANT_ID}" (${seeded.orders} orders); its keys are in ${credentialsFile}\n`);
        }
        return (await getMerchant(ledger.db, DEMO_MERCHANT_ID)) !== null;
      });
      // The demo backend's routes exist only beside the demo merchant (demo-routes.ts).
      const routes = hasDemo
        ? [createDemoRoutes({ merchantId: DEMO_MERCHANT_ID, apiKey: demoApiKey(credentialsFile), shoppers: DEMO_SHOPPERS }), serveStatic(frontendSites())]
        : [serveStatic(frontendSites())];
      const serving = await startServing(env, options, routes);
      const baseUrl = publicUrl(env, serving);
      if (hasDemo) {
        const port = new URL(serving.url).port;
        await allowDemoOrigins(serving.ledger, [baseUrl, `http://localhost:${port}`, `http://127.0.0.1:${port}`]);
      }
      printUrls(io, baseUrl, credentialsFile);
      setExit(await serveUntilSignalled(serving, io));
    });

  program
    .command('migrate')
    .description('bring the database schema up to date')
    .action(async () => {
      const env = await readEnv();
      const store = await openReachable(env, { migrate: false, create: true });
      try {
        const applied = await migrateToLatest(store.db);
        io.stdout(`${JSON.stringify({ applied })}\n`);
        io.stderr(applied.length === 0 ? 'the schema was already up to date\n' : `applied ${applied.length} migration(s)\n`);
      } finally {
        await store.close();
      }
    });

  program
    .command('seed')
    .description('seed the demo merchant, catalogue, shoppers and orders — only into an empty database')
    .option('--credentials-file <path>', "where to keep the demo merchant's keys (default: data/demo-credentials.json next to the database)")
    .action(async (options: { credentialsFile?: string }) => {
      const env = await readEnv();
      await withLedger(env, { migrate: true }, async (ledger) => {
        const seeded = await seedDemo(ledger);
        if (!seeded) {
          io.stderr('the database already has merchants: nothing seeded\n');
          io.stdout(`${JSON.stringify({ seeded: false })}\n`);
          return;
        }
        const credentialsFile = options.credentialsFile ?? demoCredentialsPath(env.DATABASE_URL);
        saveCredentials(credentialsFile, seeded.credentials);
        io.stdout(`${JSON.stringify({ seeded: true, ...seeded.credentials, templates: seeded.templates, shoppers: seeded.shoppers, orders: seeded.orders })}\n`);
        io.stderr(`the demo keys are also in ${credentialsFile}\n`);
      });
    });

  const merchants = program.command('merchants').description('manage merchants');
  merchants
    .command('create')
    .description('create a merchant; prints {"merchantId","apiKey","keyId","widgetSecret","webhookSecret"} — the key is shown only once')
    .requiredOption('--name <name>', "the merchant's name")
    .option('--program <file>', 'a program JSON file (SPEC Appendix A); defaults fill every missing field')
    .option('--origin <url...>', 'storefront origins allowed to embed the widgets (repeatable)')
    .option('--webhook-url <url>', 'where webhooks are delivered')
    .option('--id <merchantId>', 'the merchant id (default: generated)')
    .action(async (options: { name: string; program?: string; origin?: string[]; webhookUrl?: string; id?: string }) => {
      const env = await readEnv();
      const programInput = options.program === undefined ? undefined : readJsonFile(options.program, 'program');
      for (const origin of options.origin ?? []) {
        if (!/^https?:\/\/[^/\s]+\/?$/.test(origin)) throw new UsageError(`--origin ${origin}: an origin is a scheme and a host, e.g. https://shop.example`);
      }
      await withLedger(env, { migrate: true }, async (ledger) => {
        const credentials = await createMerchant(ledger, {
          name: options.name,
          ...(options.id === undefined ? {} : { merchantId: options.id }),
          ...(programInput === undefined ? {} : { program: programInput as Record<string, unknown> }),
          storefrontOrigins: options.origin ?? [],
          ...(options.webhookUrl === undefined ? {} : { webhookUrl: options.webhookUrl }),
        });
        io.stdout(`${JSON.stringify(credentials)}\n`);
      });
    });

  program
    .command('sweep')
    .description('run the jobs once: expire holds, pending → available, staged releases, expire lots, cap-outs, reminders')
    .option('--merchant <merchantId>', 'only this merchant')
    .option('--batch-size <n>', 'rows per transaction', positiveInteger('--batch-size', 100_000))
    .option('--pause-ms <n>', `wait between batches, so a server on the same database can write (default ${SWEEP_PAUSE_MS_SQLITE} on SQLite, 0 on Postgres)`, wholeNumber('--pause-ms', 0, 60_000))
    .action(async (options: { merchant?: string; batchSize?: number; pauseMs?: number }) => {
      const env = await readEnv();
      await withLedger(env, { migrate: false }, async (ledger) => {
        // Postgres queues a waiting writer on the lock itself; only SQLite's writers poll for it.
        const pauseMs = options.pauseMs ?? (ledger.dialect === 'sqlite' ? SWEEP_PAUSE_MS_SQLITE : 0);
        const stages = ['holds', 'pending', 'releases', 'lots', 'capouts', 'reminders'];
        const bar = progressBar('sweep', stages.length);
        try {
          const report = await runSweep(ledger, {
            ...(options.merchant === undefined ? {} : { merchantId: options.merchant }),
            ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize }),
            pauseMs,
            onStage: (stage) => bar.update(stages.indexOf(stage), stage),
            onProgress: (progress) => bar.update(stages.indexOf('lots'), `lots: ${progress.expiredLots} expired`),
          });
          bar.update(stages.length, 'done');
          bar.stop();
          io.stdout(`${JSON.stringify(report)}\n`);
        } catch (error) {
          bar.stop();
          throw error;
        }
      });
    });

  program
    .command('verify')
    .description("check every invariant and the journal's hash chain; exit 1 naming the first bad entry")
    .option('--merchant <merchantId>', 'only this merchant')
    .action(async (options: { merchant?: string }) => {
      const env = await readEnv();
      await withLedger(env, { migrate: false }, async (ledger) => {
        let ids: string[];
        if (options.merchant !== undefined) {
          if (!(await getMerchant(ledger.db, options.merchant))) throw new UsageError(`no merchant "${options.merchant}"`);
          ids = [options.merchant];
        } else {
          ids = (await ledger.db.selectFrom('merchants').select('id').orderBy('id').execute()).map((row) => row.id);
        }
        const bar = progressBar('verify', ids.length);
        let entries = 0;
        for (const [index, merchantId] of ids.entries()) {
          bar.update(index, merchantId);
          const report = await verifyMerchant(ledger.db, merchantId);
          entries += report.journalEntries;
          const firstBad = report.chain
            ? { merchantId, invariant: 'journal hash chain', subject: `journal entry ${report.chain.seq}`, ...report.chain }
            : report.violations[0]
              ? { ...report.violations[0], more: report.violations.length - 1 }
              : null;
          if (firstBad) {
            bar.stop();
            io.stdout(`${JSON.stringify({ ok: false, firstBad })}\n`);
            io.stderr(`verify FAILED for merchant ${merchantId}: ${firstBad.invariant} (${firstBad.subject}): ${firstBad.detail}\n`);
            setExit(EXIT_FAILED);
            return;
          }
        }
        bar.update(ids.length, 'done');
        bar.stop();
        io.stdout(`${JSON.stringify({ ok: true, merchants: ids.length, journalEntries: entries })}\n`);
      });
    });

  program
    .command('simulate')
    .description("replay a merchant's past orders under a candidate program and print the outcome")
    .requiredOption('--program <file>', 'the candidate program JSON file')
    .option('--days <n>', 'days of history to replay (default 30, at most 366)', positiveInteger('--days', 366))
    .option('--merchant <merchantId>', 'the merchant (default: the only one in the database)')
    .action(async (options: { program: string; days?: number; merchant?: string }) => {
      const env = await readEnv();
      const candidate = readJsonFile(options.program, 'program') as Record<string, unknown>;
      await withLedger(env, { migrate: false }, async (ledger) => {
        let merchantId = options.merchant;
        if (merchantId === undefined) {
          const rows = await ledger.db.selectFrom('merchants').select('id').limit(2).execute();
          if (rows.length !== 1) throw new UsageError(rows.length === 0 ? 'the database has no merchant' : 'several merchants: choose one with --merchant');
          merchantId = rows[0]!.id;
        }
        const bar = progressBar('simulate', 1);
        const result = await simulateOrders(ledger.db, { merchantId, program: candidate, ...(options.days === undefined ? {} : { days: options.days }), now: ledger.now() });
        bar.update(1, 'done');
        bar.stop();
        io.stdout(`${JSON.stringify(result)}\n`);
      });
    });

  const webhooks = program.command('webhooks').description('webhook deliveries');
  webhooks
    .command('replay')
    .description('send again every webhook message created in [--from, --to), delivered or not')
    .requiredOption('--from <instant>', 'start (ISO 8601, inclusive)', instantOption('--from'))
    .requiredOption('--to <instant>', 'end (ISO 8601, exclusive)', instantOption('--to'))
    .option('--merchant <merchantId>', 'only this merchant')
    .action(async (options: { from: Date; to: Date; merchant?: string }) => {
      if (options.from.getTime() >= options.to.getTime()) throw new UsageError('--from must be before --to');
      const env = await readEnv();
      await withLedger(env, { migrate: false }, async (ledger) => {
        const bar = progressBar('replay', 0);
        const report = await replayWebhooks(ledger, {
          from: options.from,
          to: options.to,
          ...(options.merchant === undefined ? {} : { merchantId: options.merchant }),
          onProgress: (done, total) => {
            bar.setTotal(total);
            bar.update(done);
          },
        });
        bar.stop();
        io.stdout(`${JSON.stringify(report)}\n`);
        if (report.failed > 0) setExit(EXIT_FAILED);
      });
    });

  return { program, exitCode: () => exitCode };
}

/** Runs the CLI with `argv` (as `process.argv`) and resolves to the process exit code. */
export async function main(argv: readonly string[], cli: CliOptions = {}): Promise<number> {
  const io = cli.io ?? processIo;
  const { program, exitCode } = buildProgram(cli);
  try {
    await program.parseAsync([...argv]);
    return exitCode();
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    }
    // A refused input (a bad program file, an unknown merchant) is the caller's to fix.
    if (error instanceof UsageError || error instanceof JifenError) {
      io.stderr(`jifen: ${error.message}\n`);
      return EXIT_USAGE;
    }
    io.stderr(`jifen: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT_FAILED;
  }
}

