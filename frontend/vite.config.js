import { defineConfig } from 'vite';
import { radtrackServiceWorker } from './scripts/swbuild.mjs';

// The Go binary embeds frontend/dist (see frontend.go). Vite owns only
// dist/app: emptying it never touches dist/placeholder.txt.
export default defineConfig({
  base: '/',
  // public/ (manifest, icons) is copied as is; sw.js is written after the
  // build with the list of every built file (scripts/swbuild.mjs).
  plugins: [radtrackServiceWorker()],
  build: {
    outDir: 'dist/app',
    emptyOutDir: true,
    assetsDir: 'assets',
    sourcemap: false,
    chunkSizeWarningLimit: 2000,
  },
  server: {
    // `npm run dev` talks to a local radtrack serve.
    proxy: {
      '/api': { target: process.env.RADTRACK_URL || 'http://127.0.0.1:8080', changeOrigin: false, ws: true },
    },
  },
});
