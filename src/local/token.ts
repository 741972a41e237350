/**
 * `npm run token [admin]`: prints the demo user's (or the admin's) ID token, and nothing else, on stdout.
 * It finds the local Cognito in the pid file `npm start` keeps in its data directory
 * (GET /health names no pool or client ids).
 */
import path from 'node:path';
import { readRunFile, runOwner, runFilePath } from './run-file';
import { ADMIN_USER, DEMO_USER, idTokenFor } from './services';
import { scriptArgs } from './cli';

const USAGE = `Usage: npm run --silent token [-- admin]

Prints the demo user's Cognito ID token, and nothing else, on stdout — with \`admin\`, the local
admin's (the \`admin\` group, for the admin routes). It finds the local
Cognito of the Story42 platform that \`npm start\` runs with the same data directory, so start
that first:
  export TOKEN=$(npm run --silent token)
  export ADMIN=$(npm run --silent token -- admin)
Exits 1 when no platform runs with that data directory.

Arguments: [admin]  the local admin instead of the demo user.  -h, --help  prints this text.

Environment:
  STORY42_DATA_DIR   the running platform's data directory (default .data)
`;

function notRunning(dataDir: string): never {
  process.stderr.write(
    `No Story42 platform is running with the data directory ${dataDir} (no live run in ${runFilePath(dataDir)}). ` +
      `Start it with \`npm start\` (or set STORY42_DATA_DIR to the directory it uses).\n`,
  );
  process.exit(1);
}

async function main(): Promise<void> {
  const args = scriptArgs(USAGE, 1);
  if (!args) return;
  if (args[0] !== undefined && args[0] !== 'admin') {
    process.stderr.write(`unknown user "${args[0]}" (give admin, or nothing for the demo user)\n\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  const user = args[0] === 'admin' ? ADMIN_USER : DEMO_USER;
  const dataDir = path.resolve(process.env.STORY42_DATA_DIR ?? '.data');
  const run = readRunFile(dataDir);
  if (typeof run !== 'object' || !runOwner(run) || !run.cognito) return notRunning(dataDir);
  let token: string;
  try {
    token = await idTokenFor(Number(new URL(run.cognito.endpoint).port), run.cognito.clientId, user);
  } catch (err) {
    // A Cognito answer (e.g. NotAuthorizedException) says it runs but refused; anything else, that it is gone.
    if (err instanceof Error && err.name.endsWith('Exception')) {
      process.stderr.write(`The local Cognito at ${run.cognito.endpoint} did not give ${user.email} a token: ${err.name}: ${err.message}\n`);
      process.exit(1);
    }
    return notRunning(dataDir);
  }
  process.stdout.write(`${token}\n`);
}

void main();
