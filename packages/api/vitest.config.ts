import { definePackageConfig } from '@jifen/vitest-config';

// Database suites share one Postgres server and one CPU pair: files run in parallel, tests in a file in order.
export default definePackageConfig({ testTimeout: 60_000 });
