/** The Express story agent: same core, verifies tokens itself. */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { createAgentApp } from '../agent/app';
import { TokenVerifier } from '../src/platform/auth';
import { createLocalPlatform } from '../src/local/providers';
import { PlatformTelemetry } from '../src/platform/telemetry';
import { testConfig, tokenFor } from './support/local';

let server: Server;
let url: string;
beforeAll(async () => {
  const config = testConfig();
  if (!config.auth) throw new Error('no auth');
  const app = createAgentApp({ platform: createLocalPlatform(config, { telemetry: new PlatformTelemetry({ service: 'test', format: 'silent', metrics: false }) }), verifier: new TokenVerifier(config.auth) });
  server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((r) => server.close(r)));

const post = async (path: string, body: string, token?: string) => {
  const res = await fetch(`${url}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) }, body });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

describe('story agent', () => {
  it('answers /health', async () => {
    const res = await fetch(`${url}/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'ok' });
  });

  it('serves story routes for a verified caller, with the same envelope as the Lambdas', async () => {
    const res = await post('/generate-topics-ideas', JSON.stringify({ genre: 'fiction', topics: 'bees' }), await tokenFor());
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ success: true, route: 'generate_topics_ideas', authenticated_user: { email: 'demo@story42.local' } });
  });

  it('verifies the token before it reads the body: an oversized anonymous body is a 401, not a 413', async () => {
    const big = JSON.stringify({ genre: 'fiction', topics: 'x'.repeat(2 * 1024 * 1024) });
    expect(await post('/generate-topics-ideas', big)).toEqual({ status: 401, body: { message: 'Unauthorized' } });
    expect((await post('/generate-topics-ideas', big, await tokenFor())).status).toBe(413);
  });

  it('401 without a token; 400 for bad JSON and validation errors', async () => {
    expect(await post('/generate-topics-ideas', '{}')).toEqual({ status: 401, body: { message: 'Unauthorized' } });
    const token = await tokenFor();
    expect((await post('/generate-topics-ideas', '{oops', token)).body).toMatchObject({ error: 'Request body must be valid JSON' });
    expect((await post('/generate-topics-ideas', '{}', token)).body).toMatchObject({ error: 'Missing required parameters: genre, topics' });
  });
});
