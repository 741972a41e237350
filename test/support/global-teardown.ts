import { readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { LocalServices } from '../../src/local/services';

export default async function globalTeardown(): Promise<void> {
  const g = globalThis as Record<string, unknown>;
  const services = g.__story42Services as LocalServices | undefined;
  await services?.stop();
  const dataDir = g.__story42DataDir;
  if (typeof dataDir === 'string') rmSync(dataDir, { recursive: true, force: true });
  if (process.env.STORY42_TEST_STATE) rmSync(process.env.STORY42_TEST_STATE, { force: true });
  // cdktf's Testing helpers leave their synth folders in TMPDIR (.tmp inside the project).
  const tmp = path.resolve(__dirname, '../../.tmp');
  for (const name of readdirSync(tmp)) if (name.startsWith('cdktf.outdir')) rmSync(path.join(tmp, name), { recursive: true, force: true });
}
