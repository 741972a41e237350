/**
 * Starts the local AWS servers (s3rver, dynalite, cognito-local) once per test run and
 * tells the test workers where they are through the environment and a state file.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ADMIN_USER, DEMO_USER, freePort, startLocalServices } from '../../src/local/services';
import { OTHER_USER, stateFile } from './users';

export default async function globalSetup(): Promise<void> {
  const root = path.resolve(__dirname, '../..');
  const dataDir = path.join(root, '.tmp', `test-data-${process.pid}`);
  rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(dataDir, { recursive: true });
  const ports = { s3: await freePort(), dynamodb: await freePort(), cognito: await freePort() };
  const services = await startLocalServices({ dataDir, ports, users: [DEMO_USER, ADMIN_USER, OTHER_USER] });
  (globalThis as Record<string, unknown>).__story42Services = services;
  (globalThis as Record<string, unknown>).__story42DataDir = dataDir;
  process.env.CHECKPOINT_DISABLE = '1';
  process.env.STORY42_TEST_STATE = stateFile();
  writeFileSync(
    process.env.STORY42_TEST_STATE,
    JSON.stringify({ env: services.env, ports: services.ports, clientId: services.clientId, userPoolId: services.userPoolId, dataDir }),
  );
}
