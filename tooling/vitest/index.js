// The one Vitest preset every package extends (plain JS: Vitest loads config imports from
// node_modules without transpiling). Database and browser suites take longer than unit tests, so
// the timeouts are generous; nothing here hides a failure (no retries, no bail).
import { defineConfig } from 'vitest/config';

/** @param {import('vitest/config').ViteUserConfig['test']} [test] */
export function definePackageConfig(test = {}) {
  return defineConfig({
    test: {
      include: ['src/**/*.test.ts', 'src/**/*.test.tsx', 'test/**/*.test.ts', 'test/**/*.test.tsx'],
      testTimeout: 30_000,
      hookTimeout: 60_000,
      ...test,
    },
  });
}
