/**
 * `npm start`: the Story42 platform on this machine, no AWS account needed.
 */
import { lookup } from 'node:dns/promises';
import path from 'node:path';
import { routeNamed } from '../core/routes';
import { ConfigError, loadConfig } from '../platform/config';
import { isLoopbackAddress } from './http-util';
import { startLocalPlatform, type LocalPlatformOptions } from './platform';
import { launchers, watchProcesses } from './processes';
import { AlreadyRunningError, reclaimStaleRun, updateRunFile } from './run-file';
import { assertPortFree, COGNITO_BIN, DEMO_USER, PortInUseError } from './services';
import { scriptArgs } from './cli';
import { buildStudioIfNeeded } from './studio-build';

const USAGE = `Usage: npm start

Runs the whole Story42 platform on this machine, no AWS account needed: local S3 (s3rver),
DynamoDB (dynalite) and Cognito (cognito-local) servers with the images bucket, the sessions
table and a demo user, and the API and the web studio (built first if needed) on http://127.0.0.1:PORT (GET ${routeNamed('health').path} answers 200 once
everything is ready). Data survives restarts. Ctrl-C stops everything; so does the end of
the process that started it. After a run that was killed (kill -9), the next start ends what
that run left behind and says so.
Then \`export TOKEN=$(npm run --silent token)\` gives the demo user's ID token.

Arguments: none.  -h, --help  prints this text.

Environment:
  PORT                     API port (default 3042)
  STORY42_HOST             the API's bind address (default 127.0.0.1); loopback only: the local
                           Cognito signs tokens with a key that ships publicly in its npm package
  STORY42_S3_PORT          local S3 port (default PORT+1)
  STORY42_DYNAMODB_PORT    local DynamoDB port (default PORT+2)
  STORY42_COGNITO_PORT     local Cognito port (default PORT+3)
  STORY42_DATA_DIR         where the local servers keep their data (default .data)
  STORY42_STUDIO_DIR       serve the web studio from this build instead of web/dist (not rebuilt)
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

/** The key the local Cognito stand-in signs every token with: public, inside its npm package. */
const PUBLIC_KEY_FILE = path.relative(process.cwd(), path.resolve(path.dirname(COGNITO_BIN), '..', 'keys', 'cognitoLocal.private.json'));

/** Every address `host` names is a loopback address of this machine. */
async function loopbackOnly(host: string): Promise<boolean> {
  if (isLoopbackAddress(host)) return true;
  try {
    const all = await lookup(host, { all: true });
    return all.length > 0 && all.every((a) => isLoopbackAddress(a.address));
  } catch {
    return false;
  }
}

function hostFrom(name: string, port: number): Promise<string> {
  const raw = process.env[name];
  const host = raw === undefined || raw === '' ? '127.0.0.1' : raw;
  return loopbackOnly(host).then((ok) => {
    if (ok) return host;
    process.stderr.write(
      `\nStory42 could not start: ${name}=${host} is not a loopback address, and the local platform only listens on this machine.\n` +
        `Its Cognito stand-in (cognito-local) signs every ID token with a private key that ships publicly inside its npm package\n` +
        `(${PUBLIC_KEY_FILE}), so anyone who can reach the API could forge a token for any user.\n` +
        `Use 127.0.0.1 (the default), ::1 or localhost. To reach it from another machine, tunnel to it (ssh -L ${port}:127.0.0.1:${port} <this machine>);\n` +
        `to serve other people, deploy to AWS, where real Cognito signs the tokens.\n`,
    );
    process.exit(2);
  });
}

async function main(): Promise<void> {
  if (!scriptArgs(USAGE)) return;
  // A terminal or pipe that went away must not stop the clean shutdown half-way.
  process.stdout.on('error', () => undefined);
  process.stderr.on('error', () => undefined);
  const port = portFrom('PORT', 3042);
  const ports = {
    s3: portFrom('STORY42_S3_PORT', port + 1),
    dynamodb: portFrom('STORY42_DYNAMODB_PORT', port + 2),
    cognito: portFrom('STORY42_COGNITO_PORT', port + 3),
  };
  const host = await hostFrom('STORY42_HOST', port);
  const dataDir = path.resolve(process.env.STORY42_DATA_DIR ?? '.data');
  // Validate provider choices and sizes before anything starts (placeholders for the stores).
  loadConfig({ STORY42_IMAGES_BUCKET: 'placeholder', STORY42_SESSIONS_TABLE: 'placeholder', ...process.env });
  // Who started us (sh -c, npm): when they are gone (kill -9), we stop too.
  const startedBy = launchers(__filename);
  // Stop requests (Ctrl-C, SIGTERM, SIGHUP, the launcher gone) are heard from here on. `npm start`
  // runs this file in one Node process (`node --import tsx`), so a signal reaches these handlers
  // itself: the tsx CLI would run it as a child and SIGKILL it (exiting 130) whenever it had not
  // answered a relayed SIGINT within 30 ms, as on a busy machine. Until the
  // platform runs (the studio's build, the servers starting) stopping just ends this process: its
  // child servers end with it, and the next start reclaims whatever a kill left.
  let stop = (reason: string): void => {
    process.stdout.write(`\n  ${reason}: Story42 stops before it started\n`);
    process.exit(0);
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGHUP', () => stop('SIGHUP'));
  watchProcesses(startedBy, (gone) => stop(`the process that started Story42 (pid ${gone.pid}) ended`));
  // A previous run killed with kill -9: end what it left behind (or say that it still runs).
  await reclaimStaleRun(dataDir, { markers: [COGNITO_BIN], log: (line) => void process.stdout.write(`\n  ${line}\n`) });
  await assertPortFree(port, 'PORT');

  // The web studio at `/`: built first when its sources changed since the last build (unless
  // STORY42_STUDIO_DIR names a build of its own).
  const studioDir = process.env.STORY42_STUDIO_DIR ? path.resolve(process.env.STORY42_STUDIO_DIR) : undefined;
  if (!studioDir) await buildStudioIfNeeded((line) => void process.stdout.write(`  ${line}\n`));
  const options: LocalPlatformOptions = { dataDir, port, host, ports, ...(studioDir ? { studioDir } : {}) };
  const local = await startLocalPlatform(options);
  const { url, services, platform } = local;
  updateRunFile(dataDir, (run) => ({ ...run, api: { url } }));
  const tokenCommand = dataDir === path.resolve('.data') ? 'npm run --silent token' : `STORY42_DATA_DIR=${dataDir} npm run --silent token`;
  const banner = [
    '',
    '  Story42 is running locally',
    `  Studio:         ${url}/   (sign in as the demo user below; npm run dev:web for hot reload)`,
    `  API:            ${url}   (GET ${url}${routeNamed('health').path}; the API described: ${url}${routeNamed('openapi').path})`,
    `  Node:           ${process.version}`,
    `  Providers:      text=${platform.story.provider.text}  image=${platform.story.provider.image}  speech=${platform.story.provider.speech}`,
    `  Story agent:    ${platform.services.agent?.model ?? 'off'}  search=${platform.config.search.provider}`,
    `  Data directory: ${dataDir}`,
    `  Local AWS:      S3 :${services.ports.s3}  DynamoDB :${services.ports.dynamodb}  Cognito :${services.ports.cognito}`,
    '',
    `  Demo user:      ${DEMO_USER.email} / ${DEMO_USER.password}`,
    `  Get a token:    TOKEN=$(${tokenCommand})`,
    `  Try it:         curl -s -X POST ${url}${routeNamed('generate_topics_ideas').path} -H "Authorization: Bearer $TOKEN" \\`,
    `                    -H 'Content-Type: application/json' -d '{"genre":"fiction","topics":"dragons, friendship"}'`,
    `  The agent:      SID=$(curl -s -X POST ${url}${routeNamed('create_agent_session').path} -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d '{}' | jq -r .result.session_id)`,
    `                  curl -N -X POST ${url}${routeNamed('agent_message').path.replace('{session_id}', '$SID')} -H "Authorization: Bearer $TOKEN" -H 'Accept: text/event-stream' \\`,
    `                    -H 'Content-Type: application/json' -d '{"message":"Make me a 6-panel illustrated story about a brave snail, and narrate it"}'`,
    '',
    '  Ctrl-C stops everything.',
    '',
  ];
  process.stdout.write(`${banner.join('\n')}\n`);

  let stopping = false;
  stop = (reason: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`\n  ${reason}: stopping Story42...\n`);
    local
      .stop()
      .then(() => process.exit(0))
      .catch((err: unknown) => {
        process.stderr.write(`error while stopping: ${String(err)}\n`);
        process.exit(1);
      });
  };
}

main().catch((err: unknown) => {
  if (err instanceof PortInUseError || err instanceof ConfigError || err instanceof AlreadyRunningError) {
    process.stderr.write(`\nStory42 could not start: ${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`\nStory42 could not start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
