/// <reference types="vitest/config" />
import { defineConfig } from 'vite';

// No @types/node just for this one global.
declare const process: { env: Record<string, string | undefined> };

// `rewind server` listens here by default; the dev server forwards API calls to it.
// Point it elsewhere with REWIND_SERVER=http://host:port npm run dev.
const target = process.env['REWIND_SERVER'] ?? 'http://127.0.0.1:8420';

export default defineConfig({
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // Hashed file names under /assets/ can be cached forever by the server.
    assetsDir: 'assets',
    sourcemap: false,
  },
  server: {
    proxy: {
      // `ws`: the live stream (`/api/v1/stream`) is a WebSocket.
      '/api': { target, changeOrigin: false, ws: true },
      '/healthz': { target, changeOrigin: false },
    },
  },
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
  },
});
