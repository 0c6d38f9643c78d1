import type { ViteUserConfig } from 'vitest/config';
export declare function definePackageConfig(test?: ViteUserConfig['test']): ViteUserConfig;
