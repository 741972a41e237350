/**
 * `npm run synth [-- <stack | env | env/region>]`: synthesizes one stack per environment file
 * into `cdktf.out/stacks/<stack name>/cdk.tf.json`. `IMAGES_READY=true|false` overrides the
 * files' `images_ready`, and `IMAGE_TAG=<tag>` their `image_tag`, for this synth.
 */
import path from 'node:path';
import { App } from 'cdktf';
import { EnvironmentError, loadEnvironments, overridesFromEnv, stackName } from './environment';
import { Story42Stack } from './stack';

const ROOT = path.resolve(__dirname, '..');

function main(): void {
  const only = process.argv[2];
  const envs = loadEnvironments(path.join(ROOT, 'environments'), only, overridesFromEnv(process.env));
  const app = new App({ outdir: path.join(ROOT, 'cdktf.out') });
  for (const cfg of envs) new Story42Stack(app, cfg);
  app.synth();
  for (const cfg of envs) {
    process.stdout.write(`synthesized ${stackName(cfg)} (phase ${cfg.images_ready ? 2 : 1}) -> cdktf.out/stacks/${stackName(cfg)}/cdk.tf.json\n`);
  }
}

try {
  main();
} catch (err) {
  process.stderr.write(`${err instanceof EnvironmentError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
}
