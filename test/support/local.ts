/**
 * Test helpers: the local servers started by the global setup, tokens for the test users,
 * and an in-process gateway in front of the Lambda handlers.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { serveGateway } from '../../src/local/platform';
import { DEMO_USER, idTokenFor, type LocalUser } from '../../src/local/services';
import { loadConfig, type Config } from '../../src/platform/config';
import type { Platform, PlatformParts } from '../../src/platform/platform';
import { createLocalPlatform } from '../../src/local/providers';
import { PlatformTelemetry } from '../../src/platform/telemetry';
import { stateFile } from './users';

const stateSchema = z.object({
  env: z.record(z.string(), z.string()),
  ports: z.object({ s3: z.number(), dynamodb: z.number(), cognito: z.number() }),
  clientId: z.string(),
  userPoolId: z.string(),
  dataDir: z.string(),
});
export type TestState = z.infer<typeof stateSchema>;

let state: TestState | undefined;
export function testState(): TestState {
  state ??= stateSchema.parse(JSON.parse(readFileSync(stateFile(), 'utf8')));
  return state;
}

export function testConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig({ STORY42_LOG_FORMAT: 'silent', STORY42_METRICS: 'off', ...testState().env, ...overrides });
}

/** Telemetry that writes nothing and counts everything. */
export const quietTelemetry = (): PlatformTelemetry => new PlatformTelemetry({ service: 'test', format: 'silent', metrics: false });

const tokens = new Map<string, Promise<string>>();
export function tokenFor(user: LocalUser = DEMO_USER): Promise<string> {
  let t = tokens.get(user.email);
  if (!t) {
    t = idTokenFor(testState().ports.cognito, testState().clientId, user);
    tokens.set(user.email, t);
  }
  return t;
}

export function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
}

export interface TestGateway {
  url: string;
  /** The demo user's `sub`: the default caller. */
  sub: string;
  platform: Platform;
  telemetry: PlatformTelemetry;
  stop(): Promise<void>;
  call(method: string, path: string, opts?: { token?: string | null; body?: unknown; raw?: string; headers?: Record<string, string> }): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }>;
}

/** A gateway on a free port in front of handlers built over a platform of the test's own. */
export async function startTestGateway(opts: { config?: Config; parts?: PlatformParts } = {}): Promise<TestGateway> {
  const telemetry = opts.parts?.telemetry ?? quietTelemetry();
  const platform = createLocalPlatform(opts.config ?? testConfig(), { ...opts.parts, telemetry });
  const gateway = await serveGateway(platform);
  const defaultToken = await tokenFor();
  return {
    url: gateway.url,
    sub: String(claimsOf(defaultToken).sub),
    platform,
    telemetry,
    stop: gateway.stop,
    async call(method, path, o = {}) {
      const token = o.token === undefined ? defaultToken : o.token;
      const res = await fetch(`${gateway.url}${path}`, {
        method,
        headers: {
          'Content-Type': 'application/json',
          ...(token ? { Authorization: `Bearer ${token}` } : {}),
          ...(o.headers ?? {}),
        },
        body: o.raw ?? (o.body === undefined ? undefined : JSON.stringify(o.body)),
      });
      const text = await res.text();
      return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {}, headers: res.headers };
    },
  };
}

let counter = 0;
/** A job id unique to this test run. */
export function jobId(prefix = 'job'): string {
  counter += 1;
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${counter}`;
}
