import { rmSync } from 'node:fs';
import type { LocalServices } from '../../src/local/services';

export default async function globalTeardown(): Promise<void> {
  const g = globalThis as Record<string, unknown>;
  const services = g.__story42Services as LocalServices | undefined;
  await services?.stop();
  const dataDir = g.__story42DataDir;
  if (typeof dataDir === 'string') rmSync(dataDir, { recursive: true, force: true });
}
