/**
 * Vite for Story42 Studio. `npm run build:web` writes web/dist; `npm run dev:web` serves the
 * app with hot reload and forwards every API path of the route table to the local platform
 * (`npm start`, PORT 3042 unless STORY42_API_URL says otherwise), so the app talks to the
 * same origin in both.
 */
import path from 'node:path';
import { defineConfig } from 'vite';
import { readFileSync } from 'node:fs';

// The route table's paths (web/src/api/paths.json, generated with the API types by npm run gen:web-api).
const ROUTE_PATHS = JSON.parse(readFileSync(path.join(import.meta.dirname, 'src', 'api', 'paths.json'), 'utf8')) as string[];

const api = process.env.STORY42_API_URL ?? `http://127.0.0.1:${process.env.PORT ?? '3042'}`;
// The first segment of every route's path (/jobs, /agent, /admin, /generate-story, …) and the runtime config.
const prefixes = [...new Set(ROUTE_PATHS.map((p) => `/${p.split('/')[1] ?? ''}`)), '/config.json'];
// App pages share two first segments with the API (/agent/<session>, /admin): only the API's own paths go there.
const apiPath = new RegExp(`^(${ROUTE_PATHS.map((p) => p.replace(/\{\w+\}/g, '[^/]+').replace(/[.-]/g, '\\$&')).join('|')}|/config\\.json)(\\?.*)?$`);

export default defineConfig({
  root: import.meta.dirname,
  publicDir: path.join(import.meta.dirname, 'public'),
  build: {
    outDir: path.join(import.meta.dirname, 'dist'),
    emptyOutDir: true,
    sourcemap: true,
    chunkSizeWarningLimit: 2000,
    rolldownOptions: {
      // Mantine marks its modules "use client" for React Server Components; a browser bundle has no use for it.
      onLog(level, log, handler) {
        if (log.code !== 'MODULE_LEVEL_DIRECTIVE') handler(level, log);
      },
    },
  },
  server: {
    host: '127.0.0.1',
    port: 5173,
    proxy: Object.fromEntries(prefixes.map((p) => [p, { target: api, changeOrigin: false, bypass: (req) => (apiPath.test(req.url ?? '') ? undefined : '/index.html') }])),
  },
  oxc: { jsx: { runtime: 'automatic' } },
});
