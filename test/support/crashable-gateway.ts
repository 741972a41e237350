/**
 * A local gateway in a process of its own, over the local servers named in the environment
 * (STORY42_* as `startLocalServices` gives them): the fault tests kill it mid-request.
 * Prints its URL on stdout once it listens.
 */
import { serveGateway } from '../../src/local/platform';
import { createLocalPlatform } from '../../src/local/providers';
import { loadConfig } from '../../src/platform/config';

async function main(): Promise<void> {
  const platform = createLocalPlatform(loadConfig(process.env));
  const gateway = await serveGateway(platform);
  process.stdout.write(`${gateway.url}\n`);
}

void main();
