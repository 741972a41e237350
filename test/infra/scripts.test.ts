/**
 * The deploy scripts end to end with fake `aws`, `docker`, `npm` and `terraform` on PATH that
 * record what they were asked; we assert the order and the arguments.
 */
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const ROOT = path.resolve(__dirname, '../..');
const run = promisify(execFile);
const PREFIX = 'story-42-dev-us-west-2';
const REGISTRY = '123456789012.dkr.ecr.us-west-2.amazonaws.com';

let bin: string;
let log: string;

const FAKE = `#!/usr/bin/env bash
printf '%s %s\\n' "$(basename "$0")" "$*" >> "$FAKE_LOG"
case "$(basename "$0") $1 $2" in
  "aws sts get-caller-identity") echo 123456789012 ;;
  "aws ecr get-login-password") echo fake-password ;;
  "aws ecs describe-task-definition") echo '{"family":"${PREFIX}-story-agent","taskDefinitionArn":"arn:old","revision":3,"status":"ACTIVE","containerDefinitions":[{"name":"story-agent","image":"old:tag"}]}' ;;
  "aws ecs register-task-definition") echo "arn:aws:ecs:us-west-2:123456789012:task-definition/${PREFIX}-story-agent:4" ;;
  "docker login --username") cat > /dev/null ;;
esac
exit 0
`;

beforeEach(() => {
  bin = mkdtempSync(path.join(ROOT, '.tmp', 'fake-bin-'));
  log = path.join(bin, 'calls.log');
  writeFileSync(log, '');
  for (const name of ['aws', 'docker', 'npm', 'terraform']) {
    writeFileSync(path.join(bin, name), FAKE);
    chmodSync(path.join(bin, name), 0o755);
  }
});
afterEach(() => rmSync(bin, { recursive: true, force: true }));

async function script(name: string, args: string[], env: Record<string, string> = {}) {
  const out = await run(path.join(ROOT, 'scripts', name), args, {
    cwd: ROOT,
    env: { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}`, FAKE_LOG: log, TAG: 'abc123', ...env },
  });
  return { stdout: out.stdout, calls: readFileSync(log, 'utf8').trim().split('\n').filter(Boolean) };
}

describe('scripts/rebuild_and_deploy.sh', () => {
  it('builds, logs in, pushes every image, updates each Lambda and rolls the agent, in order', async () => {
    const { calls: raw, stdout } = await script('rebuild_and_deploy.sh', ['dev', 'us-west-2']);
    // The two sides of the login pipe run at the same time: their order in the log is free.
    const calls = [...raw.slice(0, 2), ...raw.slice(2, 4).sort(), ...raw.slice(4)];
    expect(calls).toEqual([
      'aws sts get-caller-identity --query Account --output text',
      'npm run --silent build:images',
      'aws ecr get-login-password --region us-west-2',
      `docker login --username AWS --password-stdin ${REGISTRY}`,
      ...['story-text-regen', 'story-image-regen', 'data-ops', 'story-agent'].map(
        (image) => `docker buildx build --platform linux/amd64 -f docker/${image}/Dockerfile -t ${REGISTRY}/${PREFIX}-${image}:abc123 --push ${ROOT}`,
      ),
      ...['story-text-regen', 'story-image-regen', 'data-ops'].flatMap((image) => [
        `aws lambda update-function-code --function-name ${PREFIX}-${image} --image-uri ${REGISTRY}/${PREFIX}-${image}:abc123 --region us-west-2`,
        `aws lambda wait function-updated --function-name ${PREFIX}-${image} --region us-west-2`,
      ]),
      `aws ecs describe-task-definition --task-definition ${PREFIX}-story-agent --region us-west-2 --query taskDefinition --output json`,
      expect.stringMatching(/^aws ecs register-task-definition --region us-west-2 --cli-input-json \{.*"image":"123456789012\.dkr\.ecr\.us-west-2\.amazonaws\.com\/story-42-dev-us-west-2-story-agent:abc123".*\} --query/),
      `aws ecs update-service --cluster ${PREFIX}-ecs-cluster --service ${PREFIX}-story-generator --task-definition arn:aws:ecs:us-west-2:123456789012:task-definition/${PREFIX}-story-agent:4 --force-new-deployment --region us-west-2`,
      `aws ecs wait services-stable --cluster ${PREFIX}-ecs-cluster --services ${PREFIX}-story-generator --region us-west-2`,
    ]);
    expect(calls.find((c) => c.startsWith('aws ecs register'))).not.toContain('"revision"');
    expect(stdout).toContain('==> [4/4] Roll out');
  });

  it('--only limits the work to one component', async () => {
    const { calls } = await script('rebuild_and_deploy.sh', ['dev', 'us-west-2', '--only', 'data-ops']);
    expect(calls.filter((c) => c.startsWith('docker buildx'))).toEqual([expect.stringContaining('docker/data-ops/Dockerfile')]);
    expect(calls.filter((c) => c.startsWith('aws lambda update-function-code'))).toEqual([expect.stringContaining(`--function-name ${PREFIX}-data-ops `)]);
    expect(calls.some((c) => c.startsWith('aws ecs'))).toBe(false);
  });

  it('--dry-run prints the plan and runs nothing', async () => {
    const { calls, stdout } = await script('rebuild_and_deploy.sh', ['dev', 'us-west-2', '--dry-run']);
    expect(calls).toEqual([]);
    expect(stdout).toContain('dry run');
    expect(stdout).toContain(`+ docker buildx build --platform linux/amd64 -f docker/story-agent/Dockerfile -t <account-id>.dkr.ecr.us-west-2.amazonaws.com/${PREFIX}-story-agent:abc123 --push`);
    expect(stdout).toContain(`+ aws lambda update-function-code --function-name ${PREFIX}-story-text-regen`);
  });

  it('rejects an unknown component and a missing environment file', async () => {
    await expect(script('rebuild_and_deploy.sh', ['dev', 'us-west-2', '--only', 'frontend'])).rejects.toMatchObject({ stderr: expect.stringContaining("unknown component 'frontend'") });
    await expect(script('rebuild_and_deploy.sh', ['qa', 'eu-west-1'])).rejects.toMatchObject({ stderr: expect.stringContaining('no environment file') });
  });
});

describe('scripts/deploy.sh', () => {
  it('runs phase 1, pushes images, then phase 2 with the pushed tag, and reads outputs', async () => {
    const { calls, stdout } = await script('deploy.sh', ['dev', 'us-west-2']);
    const dir = path.join(ROOT, 'cdktf.out', 'stacks', PREFIX);
    // (the ECR login pipe's two sides are left out: their order is free)
    expect(calls.filter((c) => !c.startsWith('aws ecr') && !c.startsWith('docker login') && !c.startsWith('aws sts'))).toEqual([
      'npm run --silent synth -- dev/us-west-2',
      `terraform -chdir=${dir} init -input=false`,
      `terraform -chdir=${dir} apply -input=false -auto-approve`,
      'npm run --silent build:images',
      ...['story-text-regen', 'story-image-regen', 'data-ops', 'story-agent'].map((image) => expect.stringContaining(`${PREFIX}-${image}:abc123 --push`)),
      'npm run --silent synth -- dev/us-west-2',
      `terraform -chdir=${dir} apply -input=false -auto-approve`,
      `terraform -chdir=${dir} output`,
    ]);
    for (const n of [1, 2, 3, 4]) expect(stdout).toContain(`==> [${n}/4]`);
    expect(stdout).toContain('+ env IMAGES_READY=false npm run --silent synth -- dev/us-west-2');
    expect(stdout).toContain('+ env IMAGES_READY=true IMAGE_TAG=abc123 npm run --silent synth -- dev/us-west-2');
    expect(calls.some((c) => c.startsWith('aws lambda'))).toBe(false);
  });
});
