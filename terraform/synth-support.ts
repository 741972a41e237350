/**
 * Test support: every environment file synthesized in both phases, once per test file.
 * `targets()` lists them without synthesizing (cheap: for naming tests at collection time).
 */
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { App, Testing } from 'cdktf';
import { environmentFiles, environmentSchema, parseEnvironment, stackName, type EnvironmentConfig } from './environment';
import { Story42Stack } from './stack';

export type ResourceJson = Record<string, unknown>;

export interface Synthesized {
  name: string;
  phase: 1 | 2;
  /** "<stack> phase <n>": the name tests carry. */
  label: string;
  cfg: EnvironmentConfig;
  /** The raw cdk.tf.json text. */
  raw: string;
  json: {
    resource?: Record<string, Record<string, ResourceJson>>;
    data?: Record<string, Record<string, ResourceJson>>;
    output?: Record<string, { value: unknown }>;
    provider?: Record<string, ResourceJson[]>;
    terraform?: Record<string, unknown>;
  };
}

export interface Target {
  label: string;
  name: string;
  phase: 1 | 2;
  cfg: EnvironmentConfig;
}

export const ROOT = path.resolve(__dirname, '..');
export const ENVIRONMENTS_DIR = path.join(ROOT, 'environments');

/** Every environment file in both phases (phase from the test, not the file). */
export function targets(): Target[] {
  const out: Target[] = [];
  for (const phase of [1, 2] as const) {
    for (const file of environmentFiles(ENVIRONMENTS_DIR)) {
      const cfg = parseEnvironment(path.relative(ROOT, file), readFileSync(file, 'utf8'), { images_ready: phase === 2 });
      out.push({ label: `${stackName(cfg)} phase ${phase}`, name: stackName(cfg), phase, cfg });
    }
  }
  return out;
}

/**
 * `t` with some settings changed (a configuration no environment file has), validated by the
 * schema and labelled "<stack> phase <n> (<what>)".
 */
export function variant(t: Target, what: string, patch: Partial<EnvironmentConfig>): Target {
  return { ...t, label: `${t.label} (${what})`, cfg: environmentSchema.parse({ ...t.cfg, ...patch }) };
}

export function synthesize(t: Target): Synthesized {
  process.env.CHECKPOINT_DISABLE = '1';
  // An explicit outdir keeps Testing from making temp folders; nothing is written to it.
  const outdir = path.join(ROOT, '.tmp', 'cdktf-test');
  mkdirSync(outdir, { recursive: true });
  const stack = new Story42Stack(new App({ outdir, stackTraces: false }), t.cfg);
  const raw = Testing.synth(stack);
  return { ...t, raw, json: JSON.parse(raw) as Synthesized['json'] };
}

export function synthAll(extra: Target[] = []): Map<string, Synthesized> {
  return new Map([...targets(), ...extra].map((t) => [t.label, synthesize(t)]));
}

/** Resources of one type: [logical name, config]. */
export function resourcesOf(s: Synthesized, type: string): Array<[string, ResourceJson]> {
  return Object.entries(s.json.resource?.[type] ?? {});
}

/** `${type.name.attr}`: how one resource refers to another in the JSON. */
export const ref = (type: string, name: string, attr = 'id') => `\${${type}.${name}.${attr}}`;

export function countResources(s: Synthesized): number {
  return Object.values(s.json.resource ?? {}).reduce((n, byName) => n + Object.keys(byName).length, 0);
}
