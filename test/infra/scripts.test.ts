/**
 * The deploy scripts end to end with fake `aws`, `docker`, `npm` and `terraform` on PATH that
 * record their argv; we assert the order and the arguments.
 */
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const ROOT = path.resolve(__dirname, '../..');
const run = promisify(execFile);
const PREFIX = 'story-42-dev-us-west-2';
const REGISTRY = '123456789012.dkr.ecr.us-west-2.amazonaws.com';
const FAKES = ['aws', 'docker', 'npm', 'terraform'];

let bin: string;
let log: string;

/** One fake for every tool: logs "<tool> <args>" and answers the few calls whose output is read. */
const FAKE = `#!/usr/bin/env bash
printf '%s %s\\n' "$(basename "$0")" "$*" >> "$FAKE_LOG"
case "$(basename "$0") $1 $2" in
  "aws sts get-caller-identity") echo 123456789012 ;;
  "aws ecr get-login-password") echo fake-password ;;
  "aws ecs describe-task-definition") echo '{"family":"${PREFIX}-story-agent","taskDefinitionArn":"arn:old","revision":3,"status":"ACTIVE","registeredAt":"2025-01-01","containerDefinitions":[{"name":"story-agent","image":"old:tag"}]}' ;;
  "aws ecs register-task-definition") echo "arn:aws:ecs:us-west-2:123456789012:task-definition/${PREFIX}-story-agent:4" ;;
  "docker login --username") cat > /dev/null ;;
esac
if [ "$(basename "$0")" = terraform ] && [ "$2 $3 $4" = "output -raw api_endpoint" ]; then printf '%s' "\${FAKE_API_ENDPOINT:-Not deployed - set images_ready = true}"; fi
exit 0
`;

beforeEach(() => {
  mkdirSync(path.join(ROOT, '.tmp'), { recursive: true });
  bin = mkdtempSync(path.join(ROOT, '.tmp', 'fake-bin-'));
  log = path.join(bin, 'calls.log');
  writeFileSync(log, '');
  for (const name of FAKES) {
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

/** The two sides of the ECR login pipe run at the same time: their order in the log is free. */
const loginSorted = (calls: string[]) => {
  const i = calls.findIndex((c) => c.startsWith('aws ecr get-login-password') || c.startsWith('docker login'));
  return i < 0 ? calls : [...calls.slice(0, i), ...calls.slice(i, i + 2).sort(), ...calls.slice(i + 2)];
};
const buildx = (image: string) => `docker buildx build --platform linux/amd64 --provenance=false -f docker/${image}/Dockerfile -t ${REGISTRY}/${PREFIX}-${image}:abc123 --push ${ROOT}`;
const IMAGES = ['story-text-regen', 'story-image-regen', 'data-ops', 'story-agent'];

describe('scripts/rebuild_and_deploy.sh', () => {
  it('builds, logs in, pushes every image, updates each Lambda and rolls the agent, in order', async () => {
    const { calls, stdout } = await script('rebuild_and_deploy.sh', ['dev', 'us-west-2']);
    expect(loginSorted(calls)).toEqual([
      'aws sts get-caller-identity --query Account --output text',
      'npm run --silent build:images',
      'aws ecr get-login-password --region us-west-2',
      `docker login --username AWS --password-stdin ${REGISTRY}`,
      ...IMAGES.map(buildx),
      ...['story-text-regen', 'story-image-regen', 'data-ops'].flatMap((image) => [
        `aws lambda update-function-code --function-name ${PREFIX}-${image} --image-uri ${REGISTRY}/${PREFIX}-${image}:abc123 --region us-west-2`,
        `aws lambda wait function-updated --function-name ${PREFIX}-${image} --region us-west-2`,
      ]),
      `aws ecs describe-task-definition --task-definition ${PREFIX}-story-agent --region us-west-2 --query taskDefinition --output json`,
      expect.stringMatching(/^aws ecs register-task-definition --region us-west-2 --cli-input-json \{.*\} --query taskDefinition\.taskDefinitionArn --output text$/),
      `aws ecs update-service --cluster ${PREFIX}-ecs-cluster --service ${PREFIX}-story-generator --task-definition arn:aws:ecs:us-west-2:123456789012:task-definition/${PREFIX}-story-agent:4 --force-new-deployment --region us-west-2`,
      `aws ecs wait services-stable --cluster ${PREFIX}-ecs-cluster --services ${PREFIX}-story-generator --region us-west-2`,
    ]);
    // The new revision: the old one's definition with only the image changed, read-only fields dropped.
    const register = calls.find((c) => c.startsWith('aws ecs register')) ?? '';
    const json = JSON.parse(/--cli-input-json (\{.*\}) --query/.exec(register)?.[1] ?? '{}') as Record<string, unknown>;
    expect(json).toEqual({ family: `${PREFIX}-story-agent`, containerDefinitions: [{ name: 'story-agent', image: `${REGISTRY}/${PREFIX}-story-agent:abc123` }] });
    for (const n of [1, 2, 3, 4]) expect(stdout).toContain(`==> [${n}/4]`);
    expect(stdout).toContain(`Deployed tag abc123 to ${PREFIX}.`);
    // Terraform pins another tag: the operator is told how to keep the next apply from rolling back.
    expect(stdout).toContain('terraform still pins image_tag "dev-initial"');
    expect(stdout).toContain('IMAGE_TAG=abc123');
  });

  it('--only limits the work to the named components', async () => {
    const { calls } = await script('rebuild_and_deploy.sh', ['dev', 'us-west-2', '--only', 'data-ops']);
    expect(calls.filter((c) => c.startsWith('docker buildx'))).toEqual([buildx('data-ops')]);
    expect(calls.filter((c) => c.startsWith('aws lambda update-function-code'))).toEqual([expect.stringContaining(`--function-name ${PREFIX}-data-ops `)]);
    expect(calls.some((c) => c.startsWith('aws ecs'))).toBe(false);

    const agent = await script('rebuild_and_deploy.sh', ['dev', 'us-west-2', '--only', 'agent', '--only', 'text-regen']);
    const after = agent.calls.slice(calls.length);
    expect(after.filter((c) => c.startsWith('docker buildx'))).toEqual([buildx('story-agent'), buildx('story-text-regen')]);
    expect(after.filter((c) => c.startsWith('aws lambda update-function-code'))).toEqual([expect.stringContaining(`${PREFIX}-story-text-regen`)]);
    expect(after.filter((c) => c.startsWith('aws ecs')).map((c) => c.split(' ').slice(0, 3).join(' '))).toEqual([
      'aws ecs describe-task-definition', 'aws ecs register-task-definition', 'aws ecs update-service', 'aws ecs wait',
    ]);
  });

  it('--push-only stops after pushing', async () => {
    const { calls, stdout } = await script('rebuild_and_deploy.sh', ['dev', 'us-west-2', '--push-only']);
    expect(calls.filter((c) => c.startsWith('docker buildx'))).toEqual(IMAGES.map(buildx));
    expect(calls.some((c) => c.startsWith('aws lambda') || c.startsWith('aws ecs'))).toBe(false);
    expect(stdout).toContain('==> [3/3]');
    expect(stdout).toContain('Pushed tag abc123 (push only).');
  });

  it('--dry-run prints the plan for the env/region and runs nothing', async () => {
    const { calls, stdout } = await script('rebuild_and_deploy.sh', ['prod', 'us-east-1', '--dry-run']);
    expect(calls).toEqual([]);
    expect(stdout).toContain('dry run');
    const plan = stdout.split('\n').filter((l) => l.startsWith('+ '));
    const reg = '<account-id>.dkr.ecr.us-east-1.amazonaws.com';
    const prod = 'story-42-prod-us-east-1';
    expect(plan).toEqual([
      '+ npm run --silent build:images',
      `+ aws ecr get-login-password --region us-east-1 | docker login --username AWS --password-stdin ${reg}`,
      ...IMAGES.map((image) => `+ docker buildx build --platform linux/amd64 --provenance=false -f docker/${image}/Dockerfile -t ${reg}/${prod}-${image}:abc123 --push ${ROOT}`),
      ...['story-text-regen', 'story-image-regen', 'data-ops'].flatMap((image) => [
        `+ aws lambda update-function-code --function-name ${prod}-${image} --image-uri ${reg}/${prod}-${image}:abc123 --region us-east-1`,
        `+ aws lambda wait function-updated --function-name ${prod}-${image} --region us-east-1`,
      ]),
      expect.stringContaining(`+ aws ecs describe-task-definition --task-definition ${prod}-story-agent`),
      `+ aws ecs update-service --cluster ${prod}-ecs-cluster --service ${prod}-story-generator --task-definition <new task definition revision> --force-new-deployment --region us-east-1`,
      `+ aws ecs wait services-stable --cluster ${prod}-ecs-cluster --services ${prod}-story-generator --region us-east-1`,
    ]);
  });

  it('without TAG, tags with the git commit', async () => {
    const { stdout } = await script('rebuild_and_deploy.sh', ['dev', 'us-west-2', '--dry-run', '--only', 'data-ops'], { TAG: '' });
    const { stdout: sha } = await run('git', ['-C', ROOT, 'rev-parse', '--short=12', 'HEAD']);
    expect(stdout).toMatch(new RegExp(`tag ${sha.trim()}(-dirty-\\d+)?, components: data-ops`));
  });

  it('rejects an unknown component, a missing environment file and missing arguments', async () => {
    await expect(script('rebuild_and_deploy.sh', ['dev', 'us-west-2', '--only', 'frontend'])).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining("unknown component 'frontend'") });
    await expect(script('rebuild_and_deploy.sh', ['qa', 'eu-west-1'])).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('no environment file') });
    await expect(script('rebuild_and_deploy.sh', ['--dry-run'])).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('rebuild_and_deploy.sh <env> <region>') });
    expect(readFileSync(log, 'utf8')).toBe('');
  });

  it('names every missing prerequisite before doing anything', async () => {
    // A PATH with the fakes minus docker and terraform, and only the basic tools the scripts use
    // (so a real docker elsewhere on this machine cannot be found).
    rmSync(path.join(bin, 'docker'));
    rmSync(path.join(bin, 'terraform'));
    const basics = path.join(bin, 'basics');
    mkdirSync(basics);
    const dirs = (process.env.PATH ?? '').split(':').filter(Boolean);
    for (const tool of ['bash', 'env', 'sed', 'node', 'git', 'dirname', 'date', 'cat', 'basename']) {
      const found = dirs.map((d) => path.join(d, tool)).find((f) => existsSync(f));
      if (found) symlinkSync(found, path.join(basics, tool));
    }
    const PATH = `${bin}:${basics}`;
    await expect(script('rebuild_and_deploy.sh', ['dev', 'us-west-2'], { PATH })).rejects.toMatchObject({ stderr: expect.stringContaining('missing prerequisites: docker (see README.md, Deploying to AWS)') });
    await expect(script('deploy.sh', ['dev', 'us-west-2'], { PATH })).rejects.toMatchObject({ stderr: expect.stringContaining('missing prerequisites: terraform docker') });
    expect(readFileSync(log, 'utf8')).toBe('');
  });
});

describe('scripts/deploy.sh', () => {
  it('runs phase 1, pushes images, then phase 2 with the pushed tag, and reads outputs, showing progress', async () => {
    const { calls, stdout } = await script('deploy.sh', ['dev', 'us-west-2']);
    const dir = path.join(ROOT, 'cdktf.out', 'stacks', PREFIX);
    expect(loginSorted(calls)).toEqual([
      'npm run --silent synth -- dev/us-west-2',
      `terraform -chdir=${dir} init -input=false`,
      `terraform -chdir=${dir} output -raw api_endpoint`,
      `terraform -chdir=${dir} apply -input=false -auto-approve`,
      'aws sts get-caller-identity --query Account --output text',
      'npm run --silent build:images',
      'aws ecr get-login-password --region us-west-2',
      `docker login --username AWS --password-stdin ${REGISTRY}`,
      ...IMAGES.map(buildx),
      'npm run --silent synth -- dev/us-west-2',
      `terraform -chdir=${dir} init -input=false`,
      `terraform -chdir=${dir} apply -input=false -auto-approve`,
      `terraform -chdir=${dir} output`,
    ]);
    for (const n of [1, 2, 3, 4, 5]) expect(stdout).toContain(`==> [${n}/5]`);
    // The synths differ only in the environment they get (the fake npm does not log it).
    expect(stdout).toContain('+ env IMAGES_READY=false npm run --silent synth -- dev/us-west-2');
    expect(stdout).toContain('+ env IMAGES_READY=true IMAGE_TAG=abc123 npm run --silent synth -- dev/us-west-2');
    expect(stdout).toContain('aws secretsmanager put-secret-value');
    expect(calls.some((c) => c.startsWith('aws lambda') || c.startsWith('aws ecs'))).toBe(false);
  });

  it('on a live environment, does not apply phase 1 alone (that would remove the compute)', async () => {
    const { calls, stdout } = await script('deploy.sh', ['dev', 'us-west-2'], { FAKE_API_ENDPOINT: 'https://abc.execute-api.us-west-2.amazonaws.com/dev' });
    const applies = calls.map((c, i) => [c, i] as const).filter(([c]) => c.endsWith('apply -input=false -auto-approve'));
    expect(applies).toHaveLength(1);
    const push = calls.findIndex((c) => c.startsWith('docker buildx'));
    expect(applies[0]?.[1]).toBeGreaterThan(push);
    expect(stdout).toContain('phase 2 is already deployed (https://abc.execute-api.us-west-2.amazonaws.com/dev)');
  });

  it('--dry-run prints both phases and the nested image plan, and runs nothing', async () => {
    const { calls, stdout } = await script('deploy.sh', ['prod', 'us-east-1', '--dry-run']);
    expect(calls).toEqual([]);
    const steps = stdout.split('\n').filter((l) => l.startsWith('==> '));
    expect(steps).toEqual([
      '==> [1/5] Phase 1: foundation (ECR, VPC, S3, DynamoDB, Cognito, Secrets, CloudFront)',
      '==> [2/5] Container images -> ECR (tag abc123)',
      '==> [1/3] Build the bundles the Dockerfiles copy',
      expect.stringContaining('==> [2/3] Log in to ECR'),
      '==> [3/3] Build and push linux/amd64 images',
      '==> [3/5] Phase 2: compute (Lambda, API Gateway, ECS, ALB) with image tag abc123',
      '==> [4/5] Outputs',
      '==> [5/5] Done',
    ]);
    expect(stdout).toContain(`+ terraform -chdir=${path.join(ROOT, 'cdktf.out', 'stacks', 'story-42-prod-us-east-1')} apply -input=false -auto-approve`);
  });

  it('the real synth the deploy runs writes the stack where terraform looks, in the phase asked', async () => {
    const stackDir = path.join(ROOT, '.tmp', 'synth-out');
    rmSync(stackDir, { recursive: true, force: true });
    const env = { ...process.env, CDKTF_OUTDIR: stackDir, CHECKPOINT_DISABLE: '1' };
    const phases: Array<[string, boolean]> = [['false', false], ['true', true]];
    for (const [ready, compute] of phases) {
      const { stdout } = await run('npm', ['run', '--silent', 'synth', '--', 'dev/us-west-2'], { cwd: ROOT, env: { ...env, IMAGES_READY: ready, IMAGE_TAG: 'abc123' } });
      expect(stdout).toContain(`synthesized ${PREFIX} (phase ${compute ? 2 : 1}, image tag abc123)`);
      const json = JSON.parse(readFileSync(path.join(stackDir, 'stacks', PREFIX, 'cdk.tf.json'), 'utf8')) as { resource: Record<string, unknown> };
      expect(['aws_lambda_function' in json.resource, 'aws_ecs_service' in json.resource]).toEqual([compute, compute]);
    }
    rmSync(stackDir, { recursive: true, force: true });
  }, 60_000);
});
