import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * `jifen start` as a user runs it — the CLI in a child process, migrating and seeding a fresh
 * SQLite file and serving the demo shop, the embed and the demo backend — on a random port.
 */

export interface DemoServer {
  /** `http://127.0.0.1:PORT` */
  url: string;
  databasePath: string;
  credentials: { merchantId: string; apiKey: string; widgetSecret: string };
  /** What the server wrote to stderr (its banner, build output, warnings). */
  output(): string;
  stop(): Promise<void>;
}

const BIN = fileURLToPath(new URL('../../../bin/jifen.js', import.meta.url));
// A fresh clone builds the storefront and the embed on its first start.
const STARTUP_TIMEOUT_MS = 240_000;

export async function startDemoServer(): Promise<DemoServer> {
  const folder = mkdtempSync(join(tmpdir(), 'jifen-browser-'));
  const databasePath = join(folder, 'jifen.db');
  const child = spawn(process.execPath, [BIN, 'start', '--port', '0'], {
    cwd: folder,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      DATABASE_URL: databasePath,
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      JOB_INTERVAL_SECONDS: '0',
      // The browser suite makes more calls a second than a shopper would.
      SHOPPER_RATE_PER_SECOND: '1000',
      SHOPPER_RATE_BURST: '1000',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // A crashed test run must not leave a server behind.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  child.once('exit', () => process.off('exit', killOnExit));
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));

  let port: string;
  try {
    port = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`jifen start did not come up within ${STARTUP_TIMEOUT_MS / 1000} s:\n${output}`)), STARTUP_TIMEOUT_MS);
      const look = () => {
        const match = /jifen is running at http:\/\/[^:\s]+:(\d+)/.exec(output);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]!);
        }
      };
      child.stderr!.on('data', look);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`jifen start exited with ${code}:\n${output}`));
      });
    });
  } catch (error) {
    child.kill('SIGKILL');
    rmSync(folder, { recursive: true, force: true });
    throw error;
  }

  const credentials = JSON.parse(readFileSync(join(folder, 'demo-credentials.json'), 'utf8')) as DemoServer['credentials'];
  return {
    url: `http://127.0.0.1:${port}`,
    databasePath,
    credentials,
    output: () => output,
    stop: async () => {
      await stopChild(child);
      rmSync(folder, { recursive: true, force: true });
    },
  };
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
