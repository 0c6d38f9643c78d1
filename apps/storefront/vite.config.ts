import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

/**
 * The demo shop (SPEC §1, §8). `npm run build` writes `dist/`, which `jifen start` serves at `/`
 * beside the API, so every call is same-origin. `npm run dev` serves it on :5173 and passes the
 * API, the demo backend and the embed through to `jifen start` on its default port.
 */
const jifen = 'http://127.0.0.1:8787';

export default defineConfig({
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022' },
  server: { proxy: { '/trpc': jifen, '/demo': jifen, '/widgets': jifen, '/embed.html': jifen } },
});
