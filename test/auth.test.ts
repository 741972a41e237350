/**
 * Identity: only verified Cognito ID tokens get in (401 otherwise), and a caller can touch
 * only their own images and jobs (403 otherwise).
 */
import { readFileSync } from 'node:fs';
import { InitiateAuthCommand } from '@aws-sdk/client-cognito-identity-provider';
import { exportJWK, generateKeyPair, importJWK, SignJWT, type JWK } from 'jose';
import { cognitoClient, DEMO_USER } from '../src/local/services';
import { OTHER_USER } from './support/users';
import { claimsOf, jobId, startTestGateway, testState, tokenFor, type TestGateway } from './support/local';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(() => gw.stop());

/** cognito-local signs with this published key; signing with it is how its tokens are made. */
async function cognitoLocalKey() {
  const raw = JSON.parse(readFileSync(require.resolve('cognito-local/lib/keys/cognitoLocal.private.json'), 'utf8')) as { jwk: JWK };
  return importJWK(raw.jwk, 'RS256');
}

async function sign(claims: Record<string, unknown>, key: Parameters<SignJWT['sign']>[0], kid = 'CognitoLocal') {
  return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid }).sign(key);
}

const body = { genre: 'fiction', topics: 'owls' };

describe('401 Unauthorized', () => {
  let valid: Record<string, unknown>;
  beforeAll(async () => {
    valid = claimsOf(await tokenFor());
  });

  const cases: Array<[string, () => Promise<string | null>]> = [
    ['missing token', async () => null],
    ['garbage token', async () => 'not-a-jwt'],
    ['expired token', async () => sign({ ...valid, iat: Math.floor(Date.now() / 1000) - 7200, exp: Math.floor(Date.now() / 1000) - 3600 }, await cognitoLocalKey())],
    ['forged signature (other key, same kid)', async () => sign(valid, (await generateKeyPair('RS256')).privateKey)],
    ['wrong audience', async () => sign({ ...valid, aud: 'some-other-client' }, await cognitoLocalKey())],
    ['wrong issuer', async () => sign({ ...valid, iss: 'http://127.0.0.1:1/local_evil' }, await cognitoLocalKey())],
    ['access token instead of ID token', async () => sign({ ...valid, token_use: 'access' }, await cognitoLocalKey())],
    ['alg none', async () => `${Buffer.from('{"alg":"none","kid":"CognitoLocal"}').toString('base64url')}.${Buffer.from(JSON.stringify(valid)).toString('base64url')}.`],
  ];

  it.each(cases)('%s', async (_name, make) => {
    const res = await gw.call('POST', '/generate-topics-ideas', { token: await make(), body });
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ message: 'Unauthorized' });
  });

  it('a re-signed valid token with the real key is accepted (the cases above fail for their defect only)', async () => {
    const res = await gw.call('POST', '/generate-topics-ideas', { token: await sign(valid, await cognitoLocalKey()), body });
    expect(res.status).toBe(200);
  });

  it('a real access token from Cognito is rejected', async () => {
    const out = await cognitoClient(testState().ports.cognito).send(
      new InitiateAuthCommand({ ClientId: testState().clientId, AuthFlow: 'USER_PASSWORD_AUTH', AuthParameters: { USERNAME: DEMO_USER.email, PASSWORD: DEMO_USER.password } }),
    );
    const res = await gw.call('POST', '/generate-topics-ideas', { token: out.AuthenticationResult?.AccessToken ?? 'x', body });
    expect(res.status).toBe(401);
  });

  it('also guards the data-ops routes', async () => {
    expect((await gw.call('GET', '/jobs', { token: null })).status).toBe(401);
    expect((await gw.call('DELETE', '/jobs/anything', { token: 'x.y.z' })).status).toBe(401);
  });
});

describe('403 for other users\' resources', () => {
  it('cannot regenerate from another user\'s image, and the image stays intact', async () => {
    const job = jobId('own');
    const made = await gw.call('POST', '/generate-story-image', {
      body: { story_segments: [{ story_segment_content: 'A lighthouse at dusk.', story_segment_number: 1 }], art_style: 'noir', number_of_panels: 1, job_id: job },
    });
    expect(made.status).toBe(200);
    const seg = (made.body.result as { story_segments: Array<{ image_s3_uri: string; image_presigned_url: string }> }).story_segments[0];
    if (!seg) throw new Error('no image');
    const other = await tokenFor(OTHER_USER);
    for (const uri of [seg.image_s3_uri, seg.image_s3_uri.replace(/users\/[^/]+\//, `users/${String(claimsOf(other).sub)}/../${String(claimsOf(await tokenFor()).sub)}/`)]) {
      const res = await gw.call('POST', '/regenerate-segment-image', { token: other, body: { user_request: 'steal', original_segment_image_s3_uri: uri, job_id: job } });
      expect(res.status).toBe(403);
      expect(String(res.body.error)).toContain('another user');
    }
    expect((await fetch(seg.image_presigned_url)).status).toBe(200);
  });

  it('cannot read or delete another user\'s job; the owner still can', async () => {
    const job = jobId('own');
    expect((await gw.call('POST', '/generate-topics-ideas', { body: { ...body, job_id: job } })).status).toBe(200);
    const other = await tokenFor(OTHER_USER);
    const read = await gw.call('GET', `/jobs/${job}`, { token: other });
    expect(read.status).toBe(403);
    const del = await gw.call('DELETE', `/jobs/${job}`, { token: other });
    expect(del.status).toBe(403);
    const mine = await gw.call('GET', `/jobs/${job}`);
    expect(mine.status).toBe(200);
    expect((mine.body.result as { records: unknown[] }).records).toHaveLength(1);
  });
});
