import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FRONTEND_FOLDERS } from '../http/static';

/**
 * `npm start` on a fresh clone (SPEC §8): the demo shop and the widget embed are Vite builds that a
 * clone does not have yet, so `jifen start` builds whichever is missing before it serves. An
 * existing build is served as it is; `npm run build` (Turborepo) rebuilds after a change.
 */

const REPOSITORY_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

/** The workspaces whose build output is missing. */
export function missingFrontends(folders: typeof FRONTEND_FOLDERS = FRONTEND_FOLDERS): string[] {
  const missing: string[] = [];
  if (!existsSync(join(folders.embed, 'jifen.js'))) missing.push('@jifen/widgets');
  if (!existsSync(join(folders.storefront, 'index.html'))) missing.push('@jifen/storefront');
  return missing;
}

/** Runs `npm run build` for `workspaces`, its output to `log`; resolves whether it succeeded. */
export function buildFrontends(workspaces: readonly string[], log: (text: string) => void): Promise<boolean> {
  if (workspaces.length === 0) return Promise.resolve(true);
  const args = ['run', 'build', ...workspaces.flatMap((workspace) => ['-w', workspace])];
  log(`building ${workspaces.join(' and ')} (npm ${args.join(' ')})…\n`);
  return new Promise((resolve) => {
    const child = spawn('npm', args, { cwd: REPOSITORY_ROOT, stdio: ['ignore', 'pipe', 'pipe'], shell: process.platform === 'win32' });
    child.stdout.on('data', (chunk: Buffer) => log(chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => log(chunk.toString()));
    child.on('error', (error) => {
      log(`cannot run npm: ${error.message}\n`);
      resolve(false);
    });
    child.on('close', (code) => resolve(code === 0));
  });
}
