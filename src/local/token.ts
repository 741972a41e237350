/**
 * `npm run token`: prints the demo user's ID token (and nothing else) on stdout.
 * It asks the running platform on PORT where its Cognito is.
 */
import { z } from 'zod';
import { routeNamed } from '../core/routes';
import { DEMO_USER, idTokenFor } from './services';
import { scriptArgs } from './cli';

const USAGE = `Usage: npm run --silent token

Prints the demo user's Cognito ID token, and nothing else, on stdout. It asks the Story42
platform that \`npm start\` runs on PORT where its Cognito is, so start that first:
  export TOKEN=$(npm run --silent token)
Exits 1 when no platform answers on PORT.

Arguments: none.  -h, --help  prints this text.

Environment:
  PORT   port of the running platform's API (default 3042)
`;

const healthSchema = z.object({ cognito: z.object({ endpoint: z.string(), client_id: z.string() }) });

async function main(): Promise<void> {
  if (!scriptArgs(USAGE)) return;
  const port = Number(process.env.PORT ?? 3042);
  let health: z.infer<typeof healthSchema>;
  try {
    const res = await fetch(`http://127.0.0.1:${port}${routeNamed('health').path}`);
    health = healthSchema.parse(await res.json());
  } catch {
    process.stderr.write(`No Story42 platform answers on port ${port}. Start it with \`npm start\` (or set PORT to where it runs).\n`);
    process.exit(1);
  }
  const cognitoPort = Number(new URL(health.cognito.endpoint).port);
  const token = await idTokenFor(cognitoPort, health.cognito.client_id, DEMO_USER);
  process.stdout.write(`${token}\n`);
}

void main();
