/**
 * `npm start`: the Story42 platform on this machine, no AWS account needed.
 */
import path from 'node:path';
import { routeNamed } from '../core/routes';
import { ConfigError, loadConfig } from '../platform/config';
import { startLocalPlatform } from './platform';
import { assertPortFree, DEMO_USER, PortInUseError } from './services';
import { scriptArgs } from './cli';

const USAGE = `Usage: npm start

Runs the whole Story42 platform on this machine, no AWS account needed: local S3 (s3rver),
DynamoDB (dynalite) and Cognito (cognito-local) servers with the images bucket, the sessions
table and a demo user, and the API on http://127.0.0.1:PORT (GET ${routeNamed('health').path} answers 200 once
everything is ready). Data survives restarts. Ctrl-C stops everything.
Then \`export TOKEN=$(npm run --silent token)\` gives the demo user's ID token.

Arguments: none.  -h, --help  prints this text.

Environment:
  PORT                     API port (default 3042)
  STORY42_S3_PORT          local S3 port (default PORT+1)
  STORY42_DYNAMODB_PORT    local DynamoDB port (default PORT+2)
  STORY42_COGNITO_PORT     local Cognito port (default PORT+3)
  STORY42_DATA_DIR         where the local servers keep their data (default .data)
  STORY42_TEXT_PROVIDER    offline (default) | bedrock
  STORY42_IMAGE_PROVIDER   offline (default) | bedrock | gemini
  STORY42_*                the other settings in README.md (Configuration, Model providers);
                           all are validated before anything starts
`;

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
  if (!scriptArgs(USAGE)) return;
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
    `  API:            ${url}   (GET ${url}${routeNamed('health').path}; the API described: ${url}${routeNamed('openapi').path})`,
    `  Node:           ${process.version}`,
    `  Providers:      text=${platform.story.provider.text}  image=${platform.story.provider.image}`,
    `  Data directory: ${dataDir}`,
    `  Local AWS:      S3 :${services.ports.s3}  DynamoDB :${services.ports.dynamodb}  Cognito :${services.ports.cognito}`,
    '',
    `  Demo user:      ${DEMO_USER.email} / ${DEMO_USER.password}`,
    `  Get a token:    TOKEN=$(PORT=${local.port} npm run --silent token)`,
    `  Try it:         curl -s -X POST ${url}${routeNamed('generate_topics_ideas').path} -H "Authorization: Bearer $TOKEN" \\`,
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
