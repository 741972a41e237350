/**
 * `npm start`'s entry as a user runs it: boots, serves, hands out a token, keeps data
 * across a restart, stops cleanly on Ctrl-C, explains a taken port, answers /health without
 * ids and refuses to listen beyond loopback.
 */
import { routeNamed } from '../src/core/routes';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { freePort } from '../src/local/services';
import { OFFLINE_VOICE_IDS } from '../src/offline/speech-voices';
import { boot, endAllStarted, launch, portOpen, ready, ROOT } from './support/boot';


afterAll(endAllStarted);

function token(dataDir: string, silent = true): string {
  // Exactly as a user or a tool runs it: `npm run --silent token` prints the token and nothing else.
  const out = spawnSync('npm', ['run', ...(silent ? ['--silent'] : []), 'token'], { cwd: ROOT, env: { ...process.env, STORY42_DATA_DIR: dataDir }, encoding: 'utf8' });
  expect(out.status).toBe(0);
  return out.stdout;
}

describe('npm start', () => {
  const dataDir = mkdtempSync(path.join(ROOT, '.tmp', 'start-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('boots, serves a route with the demo token, keeps data across a restart, and stops cleanly', async () => {
    const port = await freePort();
    const ports = { STORY42_S3_PORT: String(await freePort()), STORY42_DYNAMODB_PORT: String(await freePort()), STORY42_COGNITO_PORT: String(await freePort()) };
    const env = { PORT: String(port), STORY42_DATA_DIR: dataDir, ...ports };

    const first = boot(env);
    await ready(port, first);
    expect(first.output()).toContain(`http://127.0.0.1:${port}`);
    expect(first.output()).toContain('demo@story42.local');
    expect(first.output()).toContain(`STORY42_DATA_DIR=${dataDir} npm run --silent token`);

    expect(first.output()).toMatch(/Node: +v24\./);
    const raw = token(dataDir);
    expect(raw).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    // npm itself is not silenced: without --silent it announces the script, and the token is the last line.
    const loud = token(dataDir, false);
    expect(loud).toContain('> story42@');
    expect(loud.trim().split('\n').at(-1)).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    const healthText = await (await fetch(`http://127.0.0.1:${port}/health`)).text();
    const health = JSON.parse(healthText) as Record<string, unknown>;
    expect(health.node).toMatch(/^v24\./);
    // Without a token, /health tells where nothing is: no user pool, no app client, no Cognito.
    const claims = JSON.parse(Buffer.from(raw.split('.')[1] ?? '', 'base64url').toString('utf8')) as { aud: string; iss: string };
    expect(Object.keys(health).sort()).toEqual(['agent', 'counters', 'node', 'providers', 'speech_voices', 'status']);
    expect(health.agent).toBe('bedrock/us.amazon.nova-pro-v1:0 (local Bedrock server)');
    // The voices narration may cast (the studio's voice pickers): the offline synthesizer's, the narrator's first.
    expect(health.speech_voices).toEqual(OFFLINE_VOICE_IDS);
    // The web studio at /, built by npm start when it was missing or stale, and its runtime config.
    const studio = await fetch(`http://127.0.0.1:${port}/`, { headers: { Accept: 'text/html' } });
    expect(studio.status).toBe(200);
    expect(await studio.text()).toMatch(/<title>Story42 Studio<\/title>[\s\S]*<script type="module"[^>]+src="\/assets\/index-[\w-]+\.js"/);
    expect(((await (await fetch(`http://127.0.0.1:${port}/config.json`)).json()) as { apiUrl: string }).apiUrl).toBe(`http://127.0.0.1:${port}`);
    for (const secretish of ['user_pool_id', 'client_id', 'pool', 'client', 'cognito', claims.aud, claims.iss.split('/').at(-1) ?? claims.aud]) expect(healthText.toLowerCase()).not.toContain(secretish.toLowerCase());
    const res = await fetch(`http://127.0.0.1:${port}/generate-topics-ideas`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${raw.trim()}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ genre: 'fiction', topics: 'comets', job_id: 'restart-job' }),
    });
    expect(res.status).toBe(200);
    // The story agent answers there too, its session kept across the restart.
    const auth = { Authorization: `Bearer ${raw.trim()}`, 'Content-Type': 'application/json' };
    const created = await fetch(`http://127.0.0.1:${port}${routeNamed('create_agent_session').path}`, { method: 'POST', headers: auth, body: '{}' });
    expect(created.status).toBe(200);
    const sessionId = ((await created.json()) as { result: { session_id: string } }).result.session_id;
    const told = await fetch(`http://127.0.0.1:${port}${routeNamed('agent_message').path.replace('{session_id}', sessionId)}`, { method: 'POST', headers: auth, body: JSON.stringify({ message: 'Write an outline for a story about comets.' }) });
    expect(told.status).toBe(200);

    first.child.kill('SIGINT');
    expect(await first.exited).toBe(0);
    for (const p of [port, ...Object.values(ports).map(Number)]) expect(await portOpen(p)).toBe(false);

    const second = boot(env);
    try {
      await ready(port, second);
      const job = await fetch(`http://127.0.0.1:${port}/jobs/restart-job`, { headers: { Authorization: `Bearer ${token(dataDir).trim()}` } });
      expect(job.status).toBe(200);
      const session = await fetch(`http://127.0.0.1:${port}${routeNamed('get_agent_session').path.replace('{session_id}', sessionId)}`, { headers: { Authorization: `Bearer ${token(dataDir).trim()}` } });
      expect(session.status).toBe(200);
      expect(((await session.json()) as { result: { messages: Array<{ text: string }> } }).result.messages[0]?.text).toBe('Write an outline for a story about comets.');
    } finally {
      second.child.kill('SIGINT');
      expect(await second.exited).toBe(0);
    }
  });

  it('`npm start` itself runs on the project\'s Node 24 (not the machine\'s)', async () => {
    const port = await freePort();
    const env = { PORT: String(port), STORY42_DATA_DIR: mkdtempSync(path.join(ROOT, '.tmp', 'start-npm-')), STORY42_S3_PORT: String(await freePort()), STORY42_DYNAMODB_PORT: String(await freePort()), STORY42_COGNITO_PORT: String(await freePort()) };
    const run = launch('npm', ['start'], env);
    const { child } = run;
    try {
      await ready(port, run);
      const health = (await (await fetch(`http://127.0.0.1:${port}/health`)).json()) as { node: string };
      expect(health.node).toMatch(/^v24\./);
      expect(run.output()).not.toMatch(/EBADENGINE|Unsupported engine|NodeVersionSupportWarning/);
    } finally {
      if (child.pid) process.kill(-child.pid, 'SIGINT');
      await run.exited;
      rmSync(env.STORY42_DATA_DIR, { recursive: true, force: true });
    }
  });

  it('says which port is taken and how to change it', async () => {
    const blocker = net.createServer();
    const port = await freePort();
    await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', () => resolve()));
    try {
      const run = boot({ PORT: String(port), STORY42_DATA_DIR: dataDir });
      expect(await run.exited).toBe(2);
      expect(run.output()).toContain(`Port ${port} is already in use. Set PORT`);
    } finally {
      blocker.close();
    }
  });

  it('refuses to listen beyond loopback (STORY42_HOST), explaining the public signing key', async () => {
    const port = await freePort();
    for (const host of ['0.0.0.0', '::']) {
      const run = boot({ PORT: String(port), STORY42_DATA_DIR: dataDir, STORY42_HOST: host });
      expect(await run.exited).toBe(2);
      expect(run.output()).toContain(`STORY42_HOST=${host} is not a loopback address`);
      expect(run.output()).toContain('node_modules/cognito-local/lib/keys/cognitoLocal.private.json');
      expect(run.output()).toMatch(/forge a token/);
      expect(run.output()).not.toContain('is running locally');
    }
    expect(await portOpen(port)).toBe(false);
    // The key it names is there, and it is a private key anyone who installs cognito-local has.
    const key = JSON.parse(readFileSync(path.join(ROOT, 'node_modules/cognito-local/lib/keys/cognitoLocal.private.json'), 'utf8')) as { pem: string };
    expect(key.pem).toContain('PRIVATE KEY');
  });

  it('refuses an unknown provider, listing the valid ones', async () => {
    const run = boot({ PORT: String(await freePort()), STORY42_DATA_DIR: dataDir, STORY42_TEXT_PROVIDER: 'magic' });
    expect(await run.exited).toBe(2);
    expect(run.output()).toContain('STORY42_TEXT_PROVIDER must be one of: offline');
  });
});
