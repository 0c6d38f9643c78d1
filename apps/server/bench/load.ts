import { fork } from 'node:child_process';
import { Agent, request } from 'node:http';
import { fileURLToPath } from 'node:url';

/**
 * A closed-loop load generator over keep-alive connections: `connections` requests in flight at
 * all times, for `seconds`, after a warm-up. Returns the rate and latency percentiles. `body` may
 * be a function, called once per request, for writes that need a new id each time.
 */
export interface LoadResult {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
}

export interface LoadOptions {
  port: number;
  path: string;
  body: string | (() => string);
  headers?: Record<string, string>;
  connections: number;
  seconds: number;
  warmupSeconds?: number;
}

export async function load(options: LoadOptions): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: options.connections });
  const nextBody = typeof options.body === 'string' ? () => options.body as string : options.body;
  const once = () =>
    new Promise<number>((resolve) => {
      const body = nextBody();
      const headers = { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), ...options.headers };
      const started = performance.now();
      const outgoing = request({ host: '127.0.0.1', port: options.port, path: options.path, method: 'POST', agent, headers }, (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode === 200 ? performance.now() - started : -1));
      });
      outgoing.on('error', () => resolve(-1));
      outgoing.end(body);
    });
  const run = async (seconds: number) => {
    const latencies: number[] = [];
    let errors = 0;
    const until = performance.now() + seconds * 1000;
    await Promise.all(
      Array.from({ length: options.connections }, async () => {
        while (performance.now() < until) {
          const latency = await once();
          if (latency < 0) errors += 1;
          else latencies.push(latency);
        }
      }),
    );
    return { latencies, errors };
  };
  await run(options.warmupSeconds ?? 1);
  const { latencies, errors } = await run(options.seconds);
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const at = (share: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * share))] ?? 0;
  return { requestsPerSecond: latencies.length / options.seconds, p50Ms: at(0.5), p99Ms: at(0.99), errors };
}

/** What a target reports once it listens: its port, and any credential the load needs. */
export interface TargetInfo {
  port: number;
  authorization?: string;
}

/** Starts `targets.ts <name> [...args]` in a child process and resolves to what it reports and a way to stop it. */
export function startTarget(name: string, args: readonly string[] = []): Promise<TargetInfo & { stop: () => void }> {
  const child = fork(fileURLToPath(new URL('./targets.ts', import.meta.url)), [name, ...args], { execArgv: ['--import', 'tsx'], stdio: 'inherit' });
  return new Promise((resolve, reject) => {
    child.once('message', (message: TargetInfo) => resolve({ ...message, stop: () => child.kill() }));
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`bench target ${name} exited with ${String(code)} before it listened`)));
  });
}
