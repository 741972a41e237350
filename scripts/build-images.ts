/**
 * `npm run build:images`: one esbuild bundle per container image, written exactly where the
 * Dockerfiles in docker/ COPY them from (dist/images/<image>/index.js). Prints each size.
 */
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';

const ROOT = path.resolve(__dirname, '..');

/** Image name -> entry file. The Lambda bundles export `handler`. */
export const IMAGES = {
  'story-text-regen': 'src/lambda/text-regen.ts',
  'story-image-regen': 'src/lambda/image-regen.ts',
  'data-ops': 'src/lambda/data-ops.ts',
  'story-agent': 'agent/main.ts',
} as const;
export type ImageName = keyof typeof IMAGES;

export function bundlePath(image: ImageName): string {
  return path.join(ROOT, 'dist', 'images', image, 'index.js');
}

export async function buildImages(only?: ImageName[]): Promise<Record<string, number>> {
  const sizes: Record<string, number> = {};
  for (const [image, entry] of Object.entries(IMAGES) as Array<[ImageName, string]>) {
    if (only && !only.includes(image)) continue;
    const outfile = bundlePath(image);
    mkdirSync(path.dirname(outfile), { recursive: true });
    await build({
      entryPoints: [path.join(ROOT, entry)],
      outfile,
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      minify: true,
      sourcemap: false,
      legalComments: 'none',
      // Prefer packages' ES module builds: esbuild tree-shakes them (the AWS SDK shrinks ~30%).
      mainFields: ['module', 'main'],
      logLevel: 'warning',
      // Local-only servers are never part of a deployed image.
      external: ['s3rver', 'dynalite', 'cognito-local'],
    });
    sizes[image] = statSync(outfile).size;
  }
  writeFileSync(path.join(ROOT, 'dist', 'images', 'sizes.json'), `${JSON.stringify(sizes, null, 2)}\n`);
  return sizes;
}

if (require.main === module) {
  buildImages()
    .then((sizes) => {
      for (const [image, bytes] of Object.entries(sizes)) {
        process.stdout.write(`${image.padEnd(18)} dist/images/${image}/index.js  ${(bytes / 1024).toFixed(0)} KiB\n`);
      }
    })
    .catch((err: unknown) => {
      process.stderr.write(`build failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    });
}
