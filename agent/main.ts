/** Starts the story agent: `PORT` (default 8080), configuration from the environment. */
import { TokenVerifier } from '../src/platform/auth';
import { ConfigError, loadConfig } from '../src/platform/config';
import { createPlatform } from '../src/platform/platform';
import { AWS_IMAGE } from '../src/platform/image-providers';
import { AWS_SPEECH } from '../src/platform/speech-providers';
import { AWS_TEXT } from '../src/platform/text-providers';
import { createAgentApp } from './app';
import { strandsAgent } from './strands-runner';

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  if (!config.auth) {
    throw new ConfigError('Invalid configuration:\n  - STORY42_COGNITO_USER_POOL_ID (or STORY42_COGNITO_ISSUER) and STORY42_COGNITO_CLIENT_ID are required: the agent verifies ID tokens itself');
  }
  const platform = createPlatform(config, { text: AWS_TEXT, image: AWS_IMAGE, speech: AWS_SPEECH }, { service: 'story42-agent', agent: strandsAgent(config) });
  await platform.ready();
  const app = createAgentApp({ platform, verifier: new TokenVerifier(config.auth) });
  const port = Number(process.env.PORT ?? 8080);
  const stopFlushing = platform.telemetry.startAutoFlush(60_000);
  const server = app.listen(port, () => {
    platform.telemetry.log('info', 'story agent listening', { port, node: process.version, ...platform.story.provider, agent: platform.services.agent?.model });
  });
  // Idle keep-alive connections outlive the ALB's idle timeout (at most 4,000 s), so the ALB, not
  // this server, always closes them first (otherwise a request can meet a closing socket: a 502).
  server.keepAliveTimeout = 4_005_000;
  server.headersTimeout = 4_010_000;
  const stop = () => {
    stopFlushing();
    platform.telemetry.flush();
    server.close(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`story agent could not start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(2);
});
