/** Test support: every environment file synthesized in both phases, once per test file. */
import path from 'node:path';
import { Testing } from 'cdktf';
import { loadEnvironments, stackName, type EnvironmentConfig } from './environment';
import { Story42Stack } from './stack';

export interface Synthesized {
  name: string;
  phase: 1 | 2;
  cfg: EnvironmentConfig;
  /** The raw cdk.tf.json text. */
  raw: string;
  json: { resource?: Record<string, Record<string, Record<string, unknown>>>; output?: Record<string, { value: unknown }>; terraform?: Record<string, unknown> };
}

export const ENVIRONMENTS_DIR = path.resolve(__dirname, '..', 'environments');

export function synthAll(): Synthesized[] {
  process.env.CHECKPOINT_DISABLE = '1';
  const out: Synthesized[] = [];
  for (const phase of [1, 2] as const) {
    for (const cfg of loadEnvironments(ENVIRONMENTS_DIR, undefined, { images_ready: phase === 2 })) {
      const stack = new Story42Stack(Testing.app(), cfg);
      const raw = Testing.synth(stack);
      out.push({ name: stackName(cfg), phase, cfg, raw, json: JSON.parse(raw) as Synthesized['json'] });
    }
  }
  return out;
}

/** Resources of one type: [logical name, config]. */
export function resourcesOf(s: Synthesized, type: string): Array<[string, Record<string, unknown>]> {
  return Object.entries(s.json.resource?.[type] ?? {});
}

export function countResources(s: Synthesized): number {
  return Object.values(s.json.resource ?? {}).reduce((n, byName) => n + Object.keys(byName).length, 0);
}
