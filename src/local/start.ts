/**
 * `npm start`: the Story42 platform on this machine, no AWS account needed.
 */
import path from 'node:path';
import { ConfigError, loadConfig } from '../platform/config';
import { startLocalPlatform } from './platform';
import { assertPortFree, DEMO_USER, PortInUseError } from './services';

function portFrom(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 65535) {
    process.stderr.write(`${name} must be a port number between 1 and 65535 (got "${raw}")\n`);
    process.exit(2);
  }
  return n;
}

async function main(): Promise<void> {
  const port = portFrom('PORT', 3042);
  const ports = {
    s3: portFrom('STORY42_S3_PORT', port + 1),
    dynamodb: portFrom('STORY42_DYNAMODB_PORT', port + 2),
    cognito: portFrom('STORY42_COGNITO_PORT', port + 3),
  };
  const dataDir = path.resolve(process.env.STORY42_DATA_DIR ?? '.data');
  // Validate provider choices and sizes before anything starts (placeholders for the stores).
  loadConfig({ STORY42_IMAGES_BUCKET: 'placeholder', STORY42_SESSIONS_TABLE: 'placeholder', ...process.env });
  await assertPortFree(port, 'PORT');

  const local = await startLocalPlatform({ dataDir, port, ports });
  const { url, services, platform } = local;
  const banner = [
    '',
    '  Story42 is running locally',
    `  API:            ${url}   (GET ${url}/health)`,
    `  Providers:      text=${platform.story.provider.text}  image=${platform.story.provider.image}`,
    `  Data directory: ${dataDir}`,
    `  Local AWS:      S3 :${services.ports.s3}  DynamoDB :${services.ports.dynamodb}  Cognito :${services.ports.cognito}`,
    '',
    `  Demo user:      ${DEMO_USER.email} / ${DEMO_USER.password}`,
    `  Get a token:    TOKEN=$(PORT=${local.port} npm run token)`,
    `  Try it:         curl -s -X POST ${url}/generate-topics-ideas -H "Authorization: Bearer $TOKEN" \\`,
    `                    -H 'Content-Type: application/json' -d '{"genre":"fiction","topics":"dragons, friendship"}'`,
    '',
    '  Ctrl-C stops everything.',
    '',
  ];
  process.stdout.write(`${banner.join('\n')}\n`);

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`\n  ${signal}: stopping Story42...\n`);
    local
      .stop()
      .then(() => process.exit(0))
      .catch((err: unknown) => {
        process.stderr.write(`error while stopping: ${String(err)}\n`);
        process.exit(1);
      });
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((err: unknown) => {
  if (err instanceof PortInUseError || err instanceof ConfigError) {
    process.stderr.write(`\nStory42 could not start: ${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`\nStory42 could not start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
