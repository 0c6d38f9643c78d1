import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

/**
 * Debian's Chromium for the browser suite and the first-paint benchmark (issue 5). Never a
 * downloaded browser: `CHROMIUM_PATH`, else `chromium` on the PATH. Under `CI=true` a missing
 * browser fails the run; elsewhere the suite is skipped with a warning, so a laptop without
 * Chromium can still run `npm test`.
 */

export const isCi = process.env.CI === 'true';

export function findChromium(): string | null {
  const configured = process.env.CHROMIUM_PATH;
  if (configured) return existsSync(configured) ? configured : null;
  for (const name of ['chromium', 'chromium-browser']) {
    try {
      const path = execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim();
      if (path) return path;
    } catch {
      // Not on the PATH: try the next name.
    }
  }
  return null;
}

/** Why there is no browser, said once and loudly; under CI the caller fails instead. */
export function missingChromiumMessage(): string {
  return 'Chromium not found (set CHROMIUM_PATH or install Debian\'s chromium): the browser suite cannot run';
}

// Headless, no GPU, no QUIC, and none of the background traffic a profile would start (updates,
// sync, component downloads), so timings measure the page alone. Playwright gives every launch a
// fresh temporary --user-data-dir of its own and deletes it on close.
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function launchChromium(executablePath: string): Promise<Browser> {
  return chromium.launch({ executablePath, headless: true, args: CHROMIUM_ARGS, timeout: 30_000 });
}
