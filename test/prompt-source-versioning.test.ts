/**
 * The prompts bucket's AWS mode (`history: 'versioning'`): a versioned bucket's versions,
 * old versions by id and conditional GETs, against moto's S3 (s3rver, the suite's local S3,
 * has no bucket versioning). Moto is the Python AWS emulator the deploy rehearsal also uses.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { CreateBucketCommand, PutBucketVersioningCommand, S3Client } from '@aws-sdk/client-s3';
import { S3PromptSource } from '../src/aws/s3-prompt-source';
import { promptKey } from '../src/core/prompt-store';
import { freePort } from '../src/local/http-util';

let moto: ChildProcess | undefined;
let source: S3PromptSource;
let client: S3Client;

beforeAll(async () => {
  const probe = spawnSync('python3', ['-c', 'import moto.server'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) throw new Error(`moto (python3 -m moto.server) is needed for this test: ${probe.error?.message ?? probe.stderr.trim().split('\n').at(-1)}`);
  const port = await freePort();
  moto = spawn('python3', ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  const endpoint = `http://127.0.0.1:${port}`;
  // Moto takes a moment to listen: poll until it answers (readiness, not timing).
  for (let i = 0; ; i++) {
    if (await fetch(`${endpoint}/moto-api/`).then(() => true, () => false)) break;
    if (i > 300 || moto.exitCode !== null) throw new Error('moto did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  client = new S3Client({ region: 'us-east-1', endpoint, forcePathStyle: true, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' }, maxAttempts: 1 });
  await client.send(new CreateBucketCommand({ Bucket: 'prompts' }));
  await client.send(new PutBucketVersioningCommand({ Bucket: 'prompts', VersioningConfiguration: { Status: 'Enabled' } }));
  source = new S3PromptSource(client, 'prompts', { history: 'versioning' });
}, 60_000);

afterAll(() => {
  client?.destroy();
  moto?.kill('SIGTERM');
});

describe('the prompts bucket on a versioned bucket (AWS mode)', () => {
  const key = promptKey('story-writer', 'system');

  it('puts new versions, lists them newest first, and reads an old one by id', async () => {
    const first = await source.put(key, 'one {{genre}}');
    const second = await source.put(key, 'two {{genre}}');
    expect(first.versionId).toBeTruthy();
    expect(second.versionId).not.toBe(first.versionId);
    const versions = await source.versions(key, 10);
    expect(versions.map((v) => [v.version_id, v.is_latest])).toEqual([
      [second.versionId, true],
      [first.versionId, false],
    ]);
    const old = await source.getVersion(key, first.versionId as string);
    expect(old).toMatchObject({ kind: 'found', text: 'one {{genre}}', versionId: first.versionId });
    expect(await source.getVersion(key, 'no-such-version')).toEqual({ kind: 'missing' });
  });

  it('answers an unchanged prompt with not-modified (a 304) and a changed one with its text', async () => {
    const current = await source.get(key);
    if (current.kind !== 'found') throw new Error('the prompt should be there');
    expect(current.text).toBe('two {{genre}}');
    expect(await source.get(key, current.etag)).toEqual({ kind: 'not-modified' });
    await source.put(key, 'three {{genre}}');
    expect(await source.get(key, current.etag)).toMatchObject({ kind: 'found', text: 'three {{genre}}' });
    expect(await source.get(promptKey('story-writer', 'nothing-here'))).toEqual({ kind: 'missing' });
  });
});
