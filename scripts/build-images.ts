/**
 * `npm run build:images`: one esbuild build per container image, written exactly where the
 * Dockerfiles in docker/ COPY them from (dist/images/<image>/): `index.mjs`, and one chunk per
 * model provider under `chunks/`, loaded with `import()` only when the config names it. Also
 * writes the OpenAPI document for the static site (dist/site/openapi.json) and prints sizes.
 */
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { build, type Metafile, type Plugin } from 'esbuild';
import { scriptArgs } from '../src/local/cli';

const ROOT = path.resolve(__dirname, '..');

export const USAGE = `Usage: npm run build:images

Bundles each container image's entry with esbuild (Node 24, ES modules, minified, one chunk per
model provider; the local-only servers and the offline engines are never included) into
dist/images/<image>/ — index.mjs plus chunks/, and prompts/ (the bundled prompts, the prompt
service's fallback) — exactly where the Dockerfiles in docker/ COPY
it from, writes dist/images/sizes.json and dist/site/openapi.json, and prints each size:
  story-text-regen   src/lambda/text-regen.ts
  story-image-regen  src/lambda/image-regen.ts
  data-ops           src/lambda/data-ops.ts
  story-agent        agent/main.ts
scripts/rebuild_and_deploy.sh runs it before building the images. Exits 1 if a build fails.

Arguments: none.  -h, --help  prints this text.
Environment: none.
`;

/** Image name -> entry file. The Lambda bundles export `handler`. */
export const IMAGES = {
  'story-text-regen': 'src/lambda/text-regen.ts',
  'story-image-regen': 'src/lambda/image-regen.ts',
  'data-ops': 'src/lambda/data-ops.ts',
  'story-agent': 'agent/main.ts',
} as const;
export type ImageName = keyof typeof IMAGES;

export function imageDir(image: ImageName): string {
  return path.join(ROOT, 'dist', 'images', image);
}

export function bundlePath(image: ImageName): string {
  return path.join(imageDir(image), 'index.mjs');
}

export const OPENAPI_PATH = path.join(ROOT, 'dist', 'site', 'openapi.json');

export interface BundleSize {
  /** index.mjs and every chunk it imports statically: what module initialisation loads. */
  initial: number;
  /** Each chunk loaded on demand (a provider), with what it pulls in beyond `initial`. */
  onDemand: Record<string, number>;
  /** Every file of the image. */
  total: number;
}

/**
 * zod ships its messages in ~50 languages (~290 KB minified) behind one `locales` namespace;
 * Story42 answers in English only, so the bundles get the English locale alone.
 */
const englishZodOnly: Plugin = {
  name: 'zod-english-only',
  setup(b) {
    b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) => (args.importer.includes(`${path.sep}zod${path.sep}`) ? { path: path.join(args.resolveDir, '../locales/index.js'), namespace: 'zod-english-only' } : undefined));
    b.onLoad({ filter: /.*/, namespace: 'zod-english-only' }, (args) => ({
      contents: "export { default as en } from './en.js';",
      resolveDir: path.dirname(args.path),
      loader: 'js',
    }));
  },
};

/** Sizes from the metafile: what initialisation loads, and what each on-demand chunk adds. */
function sizesOf(meta: Metafile, outdir: string): BundleSize {
  const outputs = meta.outputs;
  const closure = (start: string, seen = new Set<string>()): Set<string> => {
    if (seen.has(start)) return seen;
    seen.add(start);
    for (const imp of outputs[start]?.imports ?? []) if (imp.kind === 'import-statement' && outputs[imp.path]) closure(imp.path, seen);
    return seen;
  };
  const bytes = (files: Iterable<string>) => [...files].reduce((n, f) => n + (outputs[f]?.bytes ?? 0), 0);
  const entry = Object.keys(outputs).find((f) => outputs[f]?.entryPoint && f.endsWith('index.mjs'));
  if (!entry) throw new Error('no entry output');
  const initial = closure(entry);
  const onDemand: Record<string, number> = {};
  for (const f of Object.keys(outputs)) {
    for (const imp of outputs[f]?.imports ?? []) {
      if (imp.kind !== 'dynamic-import' || !outputs[imp.path] || initial.has(imp.path)) continue;
      const extra = [...closure(imp.path)].filter((x) => !initial.has(x));
      onDemand[path.relative(outdir, imp.path)] = bytes(extra);
    }
  }
  return { initial: bytes(initial), onDemand, total: bytes(Object.keys(outputs).filter((f) => !f.endsWith('.map'))) };
}

export interface BuiltImage {
  size: BundleSize;
  /** Every source file in the image (relative to the repository; packages as node_modules/...). */
  inputs: string[];
  /** What the image's code imports from outside it (Node built-ins, optional modules). */
  externals: string[];
}

export async function buildImage(image: ImageName): Promise<BuiltImage> {
  const outdir = imageDir(image);
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });
  const result = await build({
    entryPoints: { index: path.join(ROOT, IMAGES[image]) },
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    outExtension: { '.js': '.mjs' },
    chunkNames: 'chunks/[name]-[hash]',
    platform: 'node',
    target: 'node24',
    minify: true,
    sourcemap: false,
    legalComments: 'none',
    metafile: true,
    // Prefer packages' ES module builds: esbuild tree-shakes them (the AWS SDK shrinks ~30%).
    mainFields: ['module', 'main'],
    // CommonJS dependencies inside an ES module bundle still call require() for Node built-ins.
    // `__story42BundleDir`: the bundle's folder, where src/platform/bundled-prompts.ts finds prompts/.
    banner: { js: "import { createRequire as __story42Require } from 'node:module'; const require = __story42Require(import.meta.url); const __story42BundleDir = import.meta.dirname;" },
    logLevel: 'warning',
    plugins: [englishZodOnly],
    // Local-only servers are never part of a deployed image.
    external: ['s3rver', 'dynalite', 'cognito-local'],
  });
  const externals = new Set(Object.values(result.metafile.outputs).flatMap((o) => o.imports.filter((i) => i.external).map((i) => i.path)));
  // The bundled prompts (the prompt service's fallback) next to the bundle.
  cpSync(path.join(ROOT, 'prompts'), path.join(outdir, 'prompts'), { recursive: true });
  return { size: sizesOf(result.metafile, outdir), externals: [...externals].sort(), inputs: Object.keys(result.metafile.inputs).map((f) => path.relative(ROOT, path.resolve(ROOT, f.replace(/^[\w-]+:/, '')))) };
}

export async function buildImages(only?: ImageName[]): Promise<Record<string, BuiltImage>> {
  const built: Record<string, BuiltImage> = {};
  for (const image of Object.keys(IMAGES) as ImageName[]) {
    if (only && !only.includes(image)) continue;
    built[image] = await buildImage(image);
  }
  const sizes = Object.fromEntries(Object.entries(built).map(([image, b]) => [image, b.size]));
  writeFileSync(path.join(ROOT, 'dist', 'images', 'sizes.json'), `${JSON.stringify(sizes, null, 2)}\n`);
  const { buildOpenApi } = await import('../src/core/openapi.js');
  const { ROUTES } = await import('../src/core/routes.js');
  mkdirSync(path.dirname(OPENAPI_PATH), { recursive: true });
  writeFileSync(OPENAPI_PATH, `${JSON.stringify(buildOpenApi(ROUTES), null, 2)}\n`);
  return built;
}

const kib = (n: number) => `${(n / 1024).toFixed(0)} KiB`;

if (require.main === module && scriptArgs(USAGE)) {
  buildImages()
    .then((built) => {
      for (const [image, { size: s }] of Object.entries(built)) {
        // Our provider chunks (the SDKs' own lazily loaded credential providers are left out of the line).
        const providers = Object.entries(s.onDemand)
          .map(([f, n]) => [path.basename(f).replace(/-[A-Z0-9]+\.mjs$/, ''), n] as const)
          .filter(([name]) => /^(bedrock-text|bedrock-image|gemini-image|model-clients)$/.test(name))
          .map(([name, n]) => `${name} +${kib(n)}`);
        process.stdout.write(`${image.padEnd(18)} dist/images/${image}/  loads ${kib(s.initial)} at start, ${kib(s.total)} in all${providers.length ? `; on demand: ${providers.join(', ')}` : ''}\n`);
      }
      process.stdout.write(`openapi            ${path.relative(ROOT, OPENAPI_PATH)}\n`);
    })
    .catch((err: unknown) => {
      process.stderr.write(`build failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    });
}
