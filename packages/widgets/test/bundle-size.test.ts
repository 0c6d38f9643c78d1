// @vitest-environment node
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOADER_GZIP_BYTES_MAX, TOTAL_GZIP_BYTES_MAX, budgetBreaches, measureEmbed } from '../scripts/check-size.mjs';

/**
 * The embed's budgets, enforced by the test run (SPEC §6): the loader ≤ 10 KiB gzipped and all the
 * JavaScript a page with the three widgets loads ≤ 100 KiB gzipped, React included. Built with the
 * package's own vite.config.ts into a temporary folder, so a build here never races `npm run build`.
 */

const packageRoot = fileURLToPath(new URL('..', import.meta.url));
let outDir = '';

beforeAll(async () => {
  outDir = await mkdtemp(join(tmpdir(), 'jifen-embed-'));
  await build({ root: packageRoot, configFile: join(packageRoot, 'vite.config.ts'), logLevel: 'silent', build: { outDir, emptyOutDir: true } });
}, 120_000);

afterAll(async () => {
  if (outDir) await rm(outDir, { recursive: true, force: true });
});

describe('the embed bundle', () => {
  it('keeps the loader within 10 KiB and everything a page loads within 100 KiB, gzipped', async () => {
    const size = await measureEmbed(outDir);
    expect(size.loaderGzipBytes).toBeLessThanOrEqual(LOADER_GZIP_BYTES_MAX);
    expect(size.totalGzipBytes).toBeLessThanOrEqual(TOTAL_GZIP_BYTES_MAX);
    expect(budgetBreaches(size)).toEqual([]);
  });

  it('loads React and the widgets only when an element asks, from a chunk beside the loader', async () => {
    const size = await measureEmbed(outDir);
    const loader = await readFile(join(outDir, 'jifen.js'), 'utf8');
    const chunks = size.files.filter((file) => file.name !== 'jifen.js');
    expect(chunks.length).toBeGreaterThan(0);
    expect(loader).not.toContain('react.dev/errors');
    expect(loader).toMatch(/import\(`\.\/jifen-elements-[\w-]+\.js`\)/);
    for (const name of ['jifen-points-checkout', 'jifen-coupon-exchange', 'jifen-expiry-banner']) expect(loader).toContain(name);
  });

  it('prices points with the rules and leaves their config schema (zod) out of the browser', async () => {
    const size = await measureEmbed(outDir);
    const code = (await Promise.all(size.files.map((file) => readFile(join(outDir, file.name), 'utf8')))).join('\n');
    // The rules' own assertion text: `splitFor` and the exact arithmetic ship with the widgets.
    expect(code).toContain('point units must be a safe integer');
    expect(code).not.toMatch(/ZodError|\$ZodType/);
  });

  it('reports a budget it exceeds', () => {
    const breaches = budgetBreaches({ files: [], loaderGzipBytes: LOADER_GZIP_BYTES_MAX + 1, totalGzipBytes: TOTAL_GZIP_BYTES_MAX + 1 });
    expect(breaches).toEqual([
      'jifen.js is 10.00 KiB gzipped; the budget is 10.00 KiB',
      'the embed is 100.00 KiB gzipped in all; the budget is 100.00 KiB',
    ]);
  });
});
