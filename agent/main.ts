/** Starts the story agent: `PORT` (default 8080), configuration from the environment. */
import { TokenVerifier } from '../src/platform/auth';
import { ConfigError, loadConfig } from '../src/platform/config';
import { createPlatform } from '../src/platform/platform';
import { createAgentApp } from './app';

function main(): void {
  const config = loadConfig(process.env);
  if (!config.auth) {
    throw new ConfigError('Invalid configuration:\n  - STORY42_COGNITO_USER_POOL_ID (or STORY42_COGNITO_ISSUER) and STORY42_COGNITO_CLIENT_ID are required: the agent verifies ID tokens itself');
  }
  const platform = createPlatform(config);
  const app = createAgentApp({ platform, verifier: new TokenVerifier(config.auth) });
  const port = Number(process.env.PORT ?? 8080);
  const server = app.listen(port, () => {
    platform.telemetry.log('info', 'story agent listening', { port, text: platform.story.provider.text, image: platform.story.provider.image });
  });
  const stop = () => server.close(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

try {
  main();
} catch (err) {
  process.stderr.write(`story agent could not start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(2);
}
