/**
 * The web studio on the local platform: its files, index.html for its pages, config.json, the
 * security headers, and the gateway's own answers for everything that is not the studio's.
 */
import { mkdirSync, mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { serveGateway, type RunningGateway } from '../src/local/platform';
import { createLocalPlatform } from '../src/local/providers';
import { siteHandler, studioCsp } from '../src/local/site';
import { studioIsStale } from '../src/local/studio-build';
import { studioConfigSchema } from '../web/src/config';
import { quietTelemetry, testConfig, testState } from './support/local';

const HTML = { Accept: 'text/html,application/xhtml+xml' };

function builtStudio(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'studio-'));
  mkdirSync(path.join(dir, 'assets'));
  writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>Story42 Studio</title><div id="root"></div>');
  writeFileSync(path.join(dir, 'assets', 'index-abc123.js'), 'console.log(42)');
  return dir;
}

async function gatewayWith(dir: string): Promise<RunningGateway> {
  const { ports, userPoolId, clientId } = testState();
  const platform = createLocalPlatform(testConfig(), { telemetry: quietTelemetry() });
  const site = siteHandler({ dir, region: 'us-east-1', userPoolId, clientId, cognitoOrigin: `http://127.0.0.1:${ports.cognito}`, s3Origin: `http://127.0.0.1:${ports.s3}` });
  return serveGateway(platform, 0, '127.0.0.1', site);
}

describe('the studio served by the local gateway', () => {
  let gw: RunningGateway;
  beforeAll(async () => {
    gw = await gatewayWith(builtStudio());
  });
  afterAll(() => gw.stop());

  it('serves index.html at / and at every app page, with the security headers', async () => {
    for (const page of ['/', '/library', '/library/job-1', '/agent/abc', '/admin']) {
      const res = await fetch(`${gw.url}${page}`, { headers: HTML });
      expect([page, res.status]).toEqual([page, 200]);
      expect(await res.text()).toContain('<title>Story42 Studio</title>');
      expect(res.headers.get('cache-control')).toBe('no-cache');
      expect(res.headers.get('x-frame-options')).toBe('DENY');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    }
  });

  it('allows exactly this origin, the Cognito stand-in and the S3 server in its CSP', async () => {
    const { ports } = testState();
    const res = await fetch(`${gw.url}/`, { headers: HTML });
    const csp = res.headers.get('content-security-policy') ?? '';
    const directives = Object.fromEntries(csp.split('; ').map((d) => [d.split(' ')[0], d.split(' ').slice(1)]));
    expect(directives['default-src']).toEqual(["'self'"]);
    expect(directives['script-src']).toEqual(["'self'"]);
    expect(directives['connect-src']).toEqual(["'self'", `http://127.0.0.1:${ports.cognito}`, `http://127.0.0.1:${ports.s3}`]);
    expect(directives['img-src']).toEqual(["'self'", 'data:', 'blob:', `http://127.0.0.1:${ports.s3}`]);
    expect(directives['media-src']).toEqual(["'self'", 'blob:', `http://127.0.0.1:${ports.s3}`]);
    expect(directives['frame-ancestors']).toEqual(["'none'"]);
    expect(csp).not.toContain('*');
    expect(studioCsp(['https://a.example'], [])).toContain("connect-src 'self' https://a.example");
  });

  it('serves hashed assets as immutable', async () => {
    const res = await fetch(`${gw.url}/assets/index-abc123.js`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('console.log(42)');
    expect(res.headers.get('cache-control')).toContain('immutable');
  });

  it('names the local Cognito, this API and the app client in config.json, valid for the app', async () => {
    const { ports, userPoolId, clientId } = testState();
    const res = await fetch(`${gw.url}/config.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const config = studioConfigSchema.parse(await res.json());
    expect(config).toEqual({ apiUrl: gw.url, agentUrl: gw.url, region: 'us-east-1', userPoolId, userPoolClientId: clientId, cognitoEndpoint: `http://127.0.0.1:${ports.cognito}` });
  });

  it('leaves the API its routes and its own 404s', async () => {
    const api = await fetch(`${gw.url}/jobs`, { headers: HTML });
    expect(api.status).toBe(401);
    for (const [method, p, headers] of [
      ['GET', '/nope.js', {}],
      ['GET', '/missing', { Accept: 'application/json' }],
      ['POST', '/', HTML],
      ['GET', '/../package.json', HTML],
    ] as const) {
      const res = await fetch(`${gw.url}${p}`, { method, headers });
      expect([method, p, res.status]).toEqual([method, p, 404]);
      const body = (await res.json()) as Record<string, unknown>;
      expect(typeof body.error).toBe('string');
      expect(typeof body.request_id).toBe('string');
    }
  });
});

describe('a platform whose studio is not built', () => {
  it('says so with a 503 and Retry-After at its pages, and nothing breaks', async () => {
    const gw = await gatewayWith(mkdtempSync(path.join(tmpdir(), 'studio-empty-')));
    try {
      const res = await fetch(`${gw.url}/library`, { headers: HTML });
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('30');
      expect(((await res.json()) as { error: string }).error).toMatch(/npm run build:web/);
      expect((await fetch(`${gw.url}/health`)).status).toBe(200);
    } finally {
      await gw.stop();
    }
  });
});

describe('npm start builds the studio when it is stale', () => {
  it('is stale without a build, fresh after one, stale again when a source changes', () => {
    const root = mkdtempSync(path.join(tmpdir(), 'studio-root-'));
    mkdirSync(path.join(root, 'web', 'src'), { recursive: true });
    writeFileSync(path.join(root, 'web', 'src', 'main.tsx'), 'x');
    const old = new Date(Date.now() - 60_000);
    utimesSync(path.join(root, 'web', 'src', 'main.tsx'), old, old);
    utimesSync(path.join(root, 'web', 'src'), old, old);
    expect(studioIsStale(root)).toBe(true);
    mkdirSync(path.join(root, 'web', 'dist'));
    writeFileSync(path.join(root, 'web', 'dist', 'index.html'), '<!doctype html>');
    expect(studioIsStale(root)).toBe(false);
    writeFileSync(path.join(root, 'web', 'src', 'main.tsx'), 'y');
    const later = new Date(Date.now() + 60_000);
    utimesSync(path.join(root, 'web', 'src', 'main.tsx'), later, later);
    expect(studioIsStale(root)).toBe(true);
  });
});
