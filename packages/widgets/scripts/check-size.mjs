#!/usr/bin/env node
// The embed's size budgets (SPEC §6, issue 5): the loader `jifen.js` at most 10 KiB gzipped, and
// all JavaScript a page with all three widgets loads — the loader and every chunk it can import,
// React included — at most 100 KiB gzipped. Run after `vite build`; exits 1 over budget.
// Usage: node scripts/check-size.mjs [dist/embed]
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

export const LOADER_FILE = 'jifen.js';
export const LOADER_GZIP_BYTES_MAX = 10 * 1024;
export const TOTAL_GZIP_BYTES_MAX = 100 * 1024;

/**
 * @typedef {{ name: string, bytes: number, gzipBytes: number }} FileSize
 * @typedef {{ files: FileSize[], loaderGzipBytes: number, totalGzipBytes: number }} EmbedSize
 */

/** @param {string} directory @returns {Promise<EmbedSize>} */
export async function measureEmbed(directory) {
  const names = (await readdir(directory)).filter((name) => name.endsWith('.js')).sort();
  const files = await Promise.all(
    names.map(async (name) => {
      const content = await readFile(join(directory, name));
      return { name, bytes: content.length, gzipBytes: gzipSync(content, { level: 9 }).length };
    }),
  );
  const loader = files.find((file) => file.name === LOADER_FILE);
  if (!loader) throw new Error(`${directory} has no ${LOADER_FILE}; build the embed first (npm run build -w @jifen/widgets)`);
  return { files, loaderGzipBytes: loader.gzipBytes, totalGzipBytes: files.reduce((sum, file) => sum + file.gzipBytes, 0) };
}

/** @param {EmbedSize} size @returns {string[]} one sentence per budget exceeded */
export function budgetBreaches(size) {
  const breaches = [];
  if (size.loaderGzipBytes > LOADER_GZIP_BYTES_MAX) breaches.push(`${LOADER_FILE} is ${kib(size.loaderGzipBytes)} gzipped; the budget is ${kib(LOADER_GZIP_BYTES_MAX)}`);
  if (size.totalGzipBytes > TOTAL_GZIP_BYTES_MAX) breaches.push(`the embed is ${kib(size.totalGzipBytes)} gzipped in all; the budget is ${kib(TOTAL_GZIP_BYTES_MAX)}`);
  return breaches;
}

/** @param {number} bytes */
const kib = (bytes) => `${(bytes / 1024).toFixed(2)} KiB`;

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const directory = resolve(process.argv[2] ?? join(fileURLToPath(new URL('..', import.meta.url)), 'dist', 'embed'));
  const size = await measureEmbed(directory);
  for (const file of size.files) console.log(`${file.name.padEnd(40)} ${kib(file.bytes).padStart(12)} ${kib(file.gzipBytes).padStart(12)} gzipped`);
  console.log(`${'loader'.padEnd(40)} ${kib(size.loaderGzipBytes).padStart(25)} gzipped (budget ${kib(LOADER_GZIP_BYTES_MAX)})`);
  console.log(`${'all'.padEnd(40)} ${kib(size.totalGzipBytes).padStart(25)} gzipped (budget ${kib(TOTAL_GZIP_BYTES_MAX)})`);
  const breaches = budgetBreaches(size);
  for (const breach of breaches) console.error(`over budget: ${breach}`);
  process.exitCode = breaches.length > 0 ? 1 : 0;
}
