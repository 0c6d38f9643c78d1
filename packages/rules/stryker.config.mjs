// Mutation testing for the rules engine (issue 2: a score of at least 80%), run outside CI with
// `npm run mutation` in this package. Every source file is mutated except the barrel; each mutant
// runs only the tests that cover it (perTest coverage through the Vitest runner).
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  plugins: ['@stryker-mutator/vitest-runner'],
  vitest: { configFile: 'vitest.config.ts' },
  coverageAnalysis: 'perTest',
  mutate: ['src/**/*.ts', '!src/**/*.test.ts', '!src/index.ts'],
  // Module-level constants (schemas, tables) would each need the whole suite; their behaviour is
  // covered through the functions that use them.
  ignoreStatic: true,
  // The machine is shared: two workers, and a generous timeout for the property tests.
  concurrency: 2,
  timeoutMS: 30_000,
  // Reruns reuse earlier results for unchanged code and tests (reports/ is gitignored).
  incremental: true,
  incrementalFile: 'reports/stryker-incremental.json',
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  thresholds: { high: 90, low: 80, break: 80 },
};
