import { type ChildProcess, fork } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/**
 * Child processes for the multi-process tests. A worker entry (`race-worker.ts`, `ingest-worker.ts`, `order-writer.ts`)
 * is bundled once per test file with esbuild into one ES module and started with plain `node`.
 * `node --import tsx` works too, but it transpiles the api, db and rules sources on every start
 * (about 2 s of CPU here), and the crash test starts a child 21 times on 2 shared cores; a bundle
 * starts in about 0.2 s. The bundle lives under this package's node_modules so that `pg` and
 * `better-sqlite3` (native, kept external) resolve from it exactly as they do for the tests.
 */

const harnessFolder = dirname(fileURLToPath(import.meta.url));
const bundleFolder = join(harnessFolder, '..', '..', 'node_modules', '.cache', 'jifen-test-harness');

export type WorkerEntry = 'race-worker' | 'ingest-worker' | 'order-writer' | 'sweeper';

export interface WorkerBundle {
  path: string;
  /** Deletes the bundle file. */
  remove(): void;
}

export async function bundleWorker(entry: WorkerEntry): Promise<WorkerBundle> {
  mkdirSync(bundleFolder, { recursive: true });
  const path = join(bundleFolder, `${entry}-${process.pid}-${Date.now().toString(36)}.mjs`);
  await build({
    entryPoints: [join(harnessFolder, `${entry}.ts`)],
    outfile: path,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: ['better-sqlite3', 'pg', 'pg-native'],
    // pg and better-sqlite3 are CommonJS and call require(); an ES module bundle needs one.
    banner: { js: "import { createRequire as jifenCreateRequire } from 'node:module'; const require = jifenCreateRequire(import.meta.url);" },
    logLevel: 'error',
  });
  return { path, remove: () => rmSync(path, { force: true }) };
}

/**
 * Starts a bundled worker with an IPC channel and piped stdout/stderr. `execArgv` is emptied: the
 * test runner's own loader flags must not reach the child.
 */
export function startWorker(bundle: WorkerBundle, args: readonly string[], env: Record<string, string> = {}): ChildProcess {
  return fork(bundle.path, [...args], {
    execArgv: [],
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    env: { ...process.env, ...env },
  });
}
