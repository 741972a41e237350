/**
 * `npm run token`: prints the demo user's ID token (and nothing else) on stdout.
 * It asks the running platform on PORT where its Cognito is.
 */
import { z } from 'zod';
import { DEMO_USER, idTokenFor } from './services';

const healthSchema = z.object({ cognito: z.object({ endpoint: z.string(), client_id: z.string() }) });

async function main(): Promise<void> {
  const port = Number(process.env.PORT ?? 3042);
  let health: z.infer<typeof healthSchema>;
  try {
    const res = await fetch(`http://127.0.0.1:${port}/health`);
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
