import { definePackageConfig } from '@jifen/vitest-config';

// HTTP suites start real servers on real databases (one Postgres server, two shared cores): files run
// in parallel, the tests inside a file in order.
export default definePackageConfig({ testTimeout: 60_000 });
