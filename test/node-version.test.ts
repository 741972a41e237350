/** The project's own Node 24 (the `node` package in devDependencies) runs the tests, whatever Node the machine has. */
import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..');

describe('Node 24', () => {
  it('runs jest', () => {
    expect(process.version).toMatch(/^v24\./);
  });

  it('is the first `node` on the PATH npm scripts get, and the one package.json pins', () => {
    const pinned = (require(path.join(ROOT, 'package.json')) as { devDependencies: Record<string, string>; engines: { node: string } });
    expect(pinned.devDependencies.node).toMatch(/^24\./);
    expect(pinned.engines.node).toBe('>=24');
    expect(execFileSync('node', ['--version'], { encoding: 'utf8' }).trim()).toBe(`v${pinned.devDependencies.node}`);
  });

  // npm runs under the machine's Node (20 here) before the project's Node 24 exists, so it warns
  // about dependencies that need a newer Node than its own (the Strands SDK needs 22). They only
  // ever run under the project's Node 24: every warning must name a range Node 24 satisfies.
  it("npm, run by the machine's own Node, warns about no engine the project's Node 24 does not satisfy", () => {
    const PATH = (process.env.PATH ?? '').split(path.delimiter).filter((p) => !p.includes(`node_modules${path.sep}.bin`)).join(path.delimiter);
    const out = spawnSync('npm', ['install', '--dry-run', '--no-audit', '--no-fund', '--loglevel=warn'], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, PATH } });
    expect(out.status).toBe(0);
    const text = `${out.stdout}${out.stderr}`;
    const required = [...text.matchAll(/required: \{ node: '([^']+)'/g)].map((m) => m[1] as string);
    expect(text.match(/EBADENGINE Unsupported engine/g)?.length ?? 0).toBe(required.length);
    const pinned = (require(path.join(ROOT, 'package.json')) as { devDependencies: Record<string, string> }).devDependencies.node as string;
    for (const range of required) expect({ range, satisfiedBy24: satisfiesMinimum(pinned, range) }).toEqual({ range, satisfiedBy24: true });
  });
});

/** Whether `version` meets a `>=X[.Y[.Z]]` range (the only form our dependencies use; anything else counts as unmet). */
function satisfiesMinimum(version: string, range: string): boolean {
  const m = /^>=\s*(\d+)(?:\.(\d+))?(?:\.(\d+))?$/.exec(range.trim());
  if (!m) return false;
  const want = [Number(m[1]), Number(m[2] ?? 0), Number(m[3] ?? 0)];
  const have = version.split('.').map(Number);
  for (let i = 0; i < 3; i++) {
    if ((have[i] ?? 0) !== want[i]) return (have[i] ?? 0) > (want[i] as number);
  }
  return true;
}
