/**
 * `npm run synth [-- <stack | env | env/region>]`: synthesizes one stack per environment file
 * into `cdktf.out/stacks/<stack name>/cdk.tf.json`. `IMAGES_READY=true|false` overrides the
 * files' `images_ready`, and `IMAGE_TAG=<tag>` their `image_tag`, for this synth.
 * Also the cdktf CLI's app (cdktf.json): it passes CDKTF_OUTDIR.
 */
import { copyFileSync } from 'node:fs';
import path from 'node:path';
import { App } from 'cdktf';
import { EnvironmentError, loadEnvironments, overridesFromEnv, stackName } from './environment';
import { scriptArgs } from '../src/local/cli';
import { LOCK_FILE, Story42Stack } from './stack';

const ROOT = path.resolve(__dirname, '..');

const USAGE = `Usage: npm run synth [-- <stack | env | env/region>]

Synthesizes one Terraform stack per environment file, environments/<env>/<region>.json, into
cdktf.out/stacks/<stack>/cdk.tf.json. Every file is validated, whichever stacks are written.

Arguments:
  <stack | env | env/region>  only this stack: its name (story-42-dev-us-west-2), an
                              environment (dev) or one env/region (dev/us-west-2); default all
  -h, --help                  prints this text

Environment:
  IMAGES_READY=true|false  overrides the files' images_ready for this synth (false = phase 1 only)
  IMAGE_TAG=<tag>          overrides the files' image_tag for this synth
  CDKTF_OUTDIR             output folder instead of cdktf.out (the cdktf CLI sets it)
`;

function main(): void {
  const args = scriptArgs(USAGE, 1);
  if (!args) return;
  const started = Date.now();
  const selector = args[0];
  const envs = loadEnvironments(path.join(ROOT, 'environments'), selector, overridesFromEnv(process.env));
  const outdir = process.env.CDKTF_OUTDIR ?? path.join(ROOT, 'cdktf.out');
  const app = new App({ outdir });
  for (const cfg of envs) new Story42Stack(app, cfg);
  app.synth();
  for (const cfg of envs) {
    // The committed provider lock file (official hashes of the pinned hashicorp/aws), where terraform init reads it.
    copyFileSync(LOCK_FILE, path.join(outdir, 'stacks', stackName(cfg), '.terraform.lock.hcl'));
    const where = path.relative(process.cwd(), path.join(outdir, 'stacks', stackName(cfg), 'cdk.tf.json'));
    process.stdout.write(`synthesized ${stackName(cfg)} (phase ${cfg.images_ready ? 2 : 1}, image tag ${cfg.image_tag}) -> ${where}\n`);
  }
  process.stdout.write(`synth took ${process.uptime().toFixed(1)} s (${((Date.now() - started) / 1000).toFixed(1)} s after loading)\n`);
}

try {
  main();
} catch (err) {
  process.stderr.write(`${err instanceof EnvironmentError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
}
