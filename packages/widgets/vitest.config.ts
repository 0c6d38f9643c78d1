import { definePackageConfig } from '@jifen/vitest-config';

// Widgets render in jsdom. The bundle-size suite builds with Vite and says `@vitest-environment node` itself.
export default definePackageConfig({ environment: 'jsdom', setupFiles: ['./test/setup.ts'] });
