/**
 * `npm start` serves the built studio: this builds it (Vite, web/ -> web/dist) when web/dist is
 * missing or older than any of the app's sources, the route table or the generated API types.
 */
import { existsSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
const WEB = path.join(ROOT, 'web');
/** Where the build goes (Vite's outDir) and where `npm start` serves it from. */
export const STUDIO_DIR = path.join(WEB, 'dist');

function newest(entry: string): number {
  const st = statSync(entry, { throwIfNoEntry: false });
  if (!st) return 0;
  if (!st.isDirectory()) return st.mtimeMs;
  return readdirSync(entry).reduce((max, name) => Math.max(max, newest(path.join(entry, name))), st.mtimeMs);
}

/** The sources the built app is made from (under `root`: the repository). */
const sources = (root: string) => ['web/src', 'web/public', 'web/index.html', 'web/vite.config.mts', 'package-lock.json'].map((p) => path.join(root, p));

/** web/dist is missing, or older than one of the app's sources. */
export function studioIsStale(root = ROOT): boolean {
  const built = statSync(path.join(root, 'web', 'dist', 'index.html'), { throwIfNoEntry: false })?.mtimeMs ?? 0;
  return sources(root).some((s) => newest(s) > built);
}

/** Builds the studio when it is stale; answers whether it built. */
export async function buildStudioIfNeeded(log: (line: string) => void): Promise<boolean> {
  if (!studioIsStale()) return false;
  log('building Story42 Studio (web/ -> web/dist) ...');
  const started = Date.now();
  const vite = await import('vite');
  // Built beside web/dist and moved into place: two starts building at once (or a server reading
  // web/dist meanwhile) never see a half-written or emptied folder.
  const fresh = `${STUDIO_DIR}.build-${process.pid}`;
  const old = `${STUDIO_DIR}.old-${process.pid}`;
  try {
    await vite.build({ configFile: path.join(WEB, 'vite.config.mts'), logLevel: 'warn', build: { outDir: fresh, emptyOutDir: true } });
    if (existsSync(STUDIO_DIR)) renameSync(STUDIO_DIR, old);
    try {
      renameSync(fresh, STUDIO_DIR);
    } catch (err) {
      // Another start moved its build (of the same sources) into place first: that one serves.
      if (!existsSync(path.join(STUDIO_DIR, 'index.html'))) throw err;
    }
  } finally {
    rmSync(fresh, { recursive: true, force: true });
    rmSync(old, { recursive: true, force: true });
  }
  log(`Story42 Studio built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return true;
}
