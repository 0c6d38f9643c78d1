import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

/**
 * The embed bundle `jifen serve` publishes under `/widgets/` (SPEC §6): `jifen.js`, the loader a
 * page puts in a script tag, and the chunks it imports on first use. ES modules, relative chunk
 * URLs (so it works under any path), no modulepreload polyfill. Budgets: scripts/check-size.mjs.
 */
export default defineConfig({
  plugins: [react()],
  base: './',
  // The embed is always React's production build, whatever NODE_ENV the build runs under (a test sets "test").
  define: { 'process.env.NODE_ENV': JSON.stringify('production') },
  build: {
    outDir: 'dist/embed',
    emptyOutDir: true,
    target: 'es2022',
    modulePreload: false,
    rolldownOptions: {
      input: { jifen: 'src/loader.ts' },
      output: { format: 'es', entryFileNames: 'jifen.js', chunkFileNames: 'jifen-[name]-[hash].js' },
    },
  },
});
