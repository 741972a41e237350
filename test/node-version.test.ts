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

  it('npm, run by the machine\'s own Node, prints no engine warning for the project', () => {
    const PATH = (process.env.PATH ?? '').split(path.delimiter).filter((p) => !p.includes(`node_modules${path.sep}.bin`)).join(path.delimiter);
    const out = spawnSync('npm', ['install', '--dry-run', '--no-audit', '--no-fund', '--loglevel=warn'], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, PATH } });
    expect(out.status).toBe(0);
    expect(`${out.stdout}${out.stderr}`).not.toMatch(/EBADENGINE|Unsupported engine/);
  });
});
