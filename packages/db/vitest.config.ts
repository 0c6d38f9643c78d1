import { definePackageConfig } from '@jifen/vitest-config';

export default definePackageConfig();
