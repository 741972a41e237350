/**
 * The deploy scripts end to end with fake `aws`, `docker`, `npm` and `terraform` on PATH that
 * record their argv; we assert the order and the arguments.
 *
 * Each test runs the scripts from a scratch root (.tmp/fake-root-*): `scripts/` is a link to the
 * real scripts, `environments/` a copy, so what the scripts record in the environment files is
 * checked there and the repository's files are never touched.
 */
import { execFile } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { parseEnvironment } from '../../terraform/environment';

const ROOT = path.resolve(__dirname, '../..');
const run = promisify(execFile);
const PREFIX = 'story-42-dev-us-west-2';
const PROD = 'story-42-prod-us-east-1';
const ACCOUNT = '123456789012';
const REGISTRY = `${ACCOUNT}.dkr.ecr.us-west-2.amazonaws.com`;
const FAKES = ['aws', 'docker', 'npm', 'terraform'];
const DRY_RUN_DONE = 'Dry run: nothing was deployed.';

let root: string;
let bin: string;
let log: string;

/**
 * One fake for every tool: logs "<tool> <args>" and answers the calls whose output is read.
 *   FAKE_STS_FAIL=1             no credentials
 *   FAKE_ECR_TAGS="repo:tag …"  the images in ECR (describe-images, batch-get-image)
 *   FAKE_ECR_ERROR=<message>    describe-images fails with another error
 *   FAKE_STATE=<addresses>      `terraform state list` (no state file when empty)
 *   FAKE_STATE_ERROR=<message>  `terraform state list` cannot read the state
 *   FAKE_BUCKET=ours|theirs     `s3api head-bucket` (404 otherwise); FAKE_BUCKET_VERSIONING
 *   FAKE_TF_OUTPUT=<value>      \`terraform output -raw <name>\` (nothing otherwise); FAKE_TF_OUTPUT_<name> for one output
 *   FAKE_TF_OUTPUT_JSON=<json>  \`terraform output -json …\`
 *   FAKE_FAIL="<tool> <args>"   a call starting so fails
 */
const FAKE = `#!/usr/bin/env bash
tool="$(basename "$0")"
printf '%s %s\\n' "$tool" "$*" >> "$FAKE_LOG"
if [ -n "$FAKE_FAIL" ] && [[ "$tool $*" == "$FAKE_FAIL"* ]]; then echo "fake failure: $tool $*" >&2; exit 1; fi
case "$tool $1 $2" in
  "aws sts get-caller-identity")
    if [ -n "$FAKE_STS_FAIL" ]; then echo 'Unable to locate credentials. You can configure credentials by running "aws configure".' >&2; exit 255; fi
    echo ${ACCOUNT} ;;
  "aws ecr get-login-password") echo fake-password ;;
  "aws ecr describe-images"|"aws ecr batch-get-image")
    repo="$4"; tag="\${6#imageTag=}"
    if [ -n "$FAKE_ECR_ERROR" ]; then echo "$FAKE_ECR_ERROR" >&2; exit 254; fi
    if [[ " $FAKE_ECR_TAGS " == *" $repo:$tag "* ]]; then
      if [ "$2" = batch-get-image ]; then
        echo '{"images":[{"imageId":{"imageTag":"'"$tag"'"},"imageManifest":"{\\"schemaVersion\\":2,\\"config\\":{\\"digest\\":\\"sha256:'"$repo"'\\"}}","imageManifestMediaType":"application/vnd.docker.distribution.manifest.v2+json"}],"failures":[]}'
      else echo '{"imageDetails":[{"imageTags":["'"$tag"'"]}]}'; fi
    elif [ "$2" = batch-get-image ]; then echo '{"images":[],"failures":[{"failureCode":"ImageNotFound"}]}'
    else echo "An error occurred (ImageNotFoundException) when calling the DescribeImages operation: The image with imageId {imageDigest:'null', imageTag:'$tag'} does not exist within the repository with name '$repo' in the registry with id '${ACCOUNT}'" >&2; exit 254; fi ;;
  "aws ecs describe-task-definition") echo '{"family":"${PREFIX}-story-agent","taskDefinitionArn":"arn:old","revision":3,"status":"ACTIVE","registeredAt":"2025-01-01","containerDefinitions":[{"name":"story-agent","image":"old:tag"}]}' ;;
  "aws ecs register-task-definition") echo "arn:aws:ecs:us-west-2:${ACCOUNT}:task-definition/${PREFIX}-story-agent:4" ;;
  "docker login --username") cat > /dev/null ;;
  "aws s3api head-bucket")
    case "$FAKE_BUCKET" in
      ours) ;;
      theirs) echo 'An error occurred (403) when calling the HeadBucket operation: Forbidden' >&2; exit 254 ;;
      *) echo 'An error occurred (404) when calling the HeadBucket operation: Not Found' >&2; exit 254 ;;
    esac ;;
  "aws s3api get-bucket-versioning") echo "\${FAKE_BUCKET_VERSIONING:-Enabled}" ;;
  "aws s3api get-bucket-encryption") echo AES256 ;;
  "aws s3api get-public-access-block") printf 'True\\tTrue\\tTrue\\tTrue\\n' ;;
esac
if [ "$tool" = terraform ] && [ "$2 $3" = "output -raw" ]; then one="FAKE_TF_OUTPUT_$4"; printf '%s' "\${!one:-$FAKE_TF_OUTPUT}"; fi
if [ "$tool" = terraform ] && [ "$2 $3" = "output -json" ]; then printf '%s' "$FAKE_TF_OUTPUT_JSON"; fi
if [ "$tool" = terraform ] && [ "$2 $3" = "state list" ]; then
  if [ -n "$FAKE_STATE_ERROR" ]; then echo "$FAKE_STATE_ERROR" >&2; exit 1; fi
  if [ -z "$FAKE_STATE" ]; then printf 'No state file was found!\\n' >&2; exit 1; fi
  printf '%s\\n' "$FAKE_STATE"
fi
exit 0
`;

/** Resource addresses as `terraform state list` prints them, for a synthesized phase-1 or phase-2 stack. */
const PHASE1_STATE = ['data.aws_caller_identity.account', 'aws_ecr_repository.foundation_ecr-text-regen_0A1B2C3D', 'aws_s3_bucket.foundation_images_4E5F6A7B'].join('\n');
const PHASE2_STATE = [PHASE1_STATE, 'aws_lambda_function.compute_fn-text-regen_1A2B3C4D', 'aws_api_gateway_rest_api.compute_api_5E6F7A8B', 'aws_ecs_service.compute_service_9C0D1E2F'].join('\n');

beforeEach(() => {
  mkdirSync(path.join(ROOT, '.tmp'), { recursive: true });
  root = mkdtempSync(path.join(ROOT, '.tmp', 'fake-root-'));
  symlinkSync(path.join(ROOT, 'scripts'), path.join(root, 'scripts'));
  symlinkSync(path.join(ROOT, 'terraform'), path.join(root, 'terraform'));
  cpSync(path.join(ROOT, 'environments'), path.join(root, 'environments'), { recursive: true });
  bin = path.join(root, 'bin');
  mkdirSync(bin);
  log = path.join(bin, 'calls.log');
  writeFileSync(log, '');
  for (const name of FAKES) {
    writeFileSync(path.join(bin, name), FAKE);
    chmodSync(path.join(bin, name), 0o755);
  }
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const envPath = (env = 'dev', region = 'us-west-2') => path.join(root, 'environments', env, `${region}.json`);
const envText = (env?: string, region?: string) => readFileSync(envPath(env, region), 'utf8');
const envJson = (env?: string, region?: string) => JSON.parse(envText(env, region)) as Record<string, unknown>;
const calls = () => readFileSync(log, 'utf8').trim().split('\n').filter(Boolean);

/** Runs scripts/<name> from the scratch root (or from `at`) with the fakes first on PATH. */
async function script(name: string, args: string[], env: Record<string, string> = {}, at = root) {
  const out = await run(path.join(at, 'scripts', name), args, {
    cwd: at,
    env: { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}`, FAKE_LOG: log, TAG: 'abc123', AWS_REGION: '', AWS_DEFAULT_REGION: '', STORY42_NESTED: '', ...env },
  });
  return { stdout: out.stdout, stderr: out.stderr, calls: calls() };
}

/** The last non-empty line a script printed. */
const lastLine = (stdout: string) => stdout.trim().split('\n').pop();

/** The two sides of the ECR login pipe run at the same time: their order in the log is free. */
const loginSorted = (list: string[]) => {
  const i = list.findIndex((c) => c.startsWith('aws ecr get-login-password') || c.startsWith('docker login'));
  return i < 0 ? list : [...list.slice(0, i), ...list.slice(i, i + 2).sort(), ...list.slice(i + 2)];
};
const buildx = (image: string) => `docker buildx build --platform linux/amd64 --provenance=false -f docker/${image}/Dockerfile -t ${REGISTRY}/${PREFIX}-${image}:abc123 --push ${root}`;
const describeImages = (image: string, tag = 'abc123') => `aws ecr describe-images --repository-name ${PREFIX}-${image} --image-ids imageTag=${tag} --region us-west-2 --output json`;
const STS = 'aws sts get-caller-identity --region us-west-2 --query Account --output text';
const IMAGES = ['story-text-regen', 'story-image-regen', 'data-ops', 'story-agent'];
const LAMBDAS = ['story-text-regen', 'story-image-regen', 'data-ops'];
const ecrTags = (tag: string, images = IMAGES) => images.map((image) => `${PREFIX}-${image}:${tag}`).join(' ');

/** The file as it is, with only image_tag and images_ready changed: the layout is kept. */
const recorded = (text: string, tag: string | undefined, ready: boolean) => {
  let out = text.replace(/("images_ready":\s*)(true|false)/, `$1${ready}`);
  if (tag !== undefined) out = out.replace(/("image_tag":\s*)"[^"]*"/, `$1"${tag}"`);
  return out;
};

/**
 * The real synth, once: every stack in phase 1 and in phase 2, with the stdout of each run.
 * Several tests compare what the scripts do with what the stack really contains.
 */
interface Synth {
  stdout: Record<'phase1' | 'phase2', string>;
  stack: (phase: 'phase1' | 'phase2', name: string) => { resource: Record<string, Record<string, unknown>>; data?: Record<string, Record<string, unknown>>; terraform: { backend?: Record<string, Record<string, unknown>> } };
}
let synthRun: Promise<Synth> | undefined;
function synth(): Promise<Synth> {
  synthRun ??= (async () => {
    const outdir = path.join(ROOT, '.tmp', `scripts-test-synth-${process.pid}`);
    rmSync(outdir, { recursive: true, force: true });
    mkdirSync(outdir, { recursive: true }); // cdktf creates only the last folder of its outdir
    const stdout = { phase1: '', phase2: '' };
    const stacks: Record<string, string> = {};
    for (const phase of ['phase1', 'phase2'] as const) {
      const dir = path.join(outdir, phase);
      const env = { ...process.env, CDKTF_OUTDIR: dir, CHECKPOINT_DISABLE: '1', IMAGES_READY: String(phase === 'phase2'), IMAGE_TAG: 'abc123' };
      stdout[phase] = (await run('npm', ['run', '--silent', 'synth'], { cwd: ROOT, env })).stdout;
      for (const name of [PREFIX, PROD]) stacks[`${phase}/${name}`] = readFileSync(path.join(dir, 'stacks', name, 'cdk.tf.json'), 'utf8');
    }
    rmSync(outdir, { recursive: true, force: true });
    return { stdout, stack: (phase, name) => JSON.parse(stacks[`${phase}/${name}`] ?? '{}') as ReturnType<Synth['stack']> };
  })();
  return synthRun;
}
/** `terraform state list` of a stack once applied: its resources' and data sources' addresses. */
const stateList = (json: ReturnType<Synth['stack']>) => [
  ...Object.entries(json.data ?? {}).flatMap(([type, items]) => Object.keys(items).map((name) => `data.${type}.${name}`)),
  ...Object.entries(json.resource).flatMap(([type, items]) => Object.keys(items).map((name) => `${type}.${name}`)),
].join('\n');

describe('scripts/rebuild_and_deploy.sh', () => {
  it('checks, builds, logs in, pushes every image, updates each Lambda, rolls the agent, then records the tag, in order', async () => {
    const before = envText();
    const pinned = envJson().image_tag as string;
    const { calls, stdout } = await script('rebuild_and_deploy.sh', ['dev', 'us-west-2']);
    expect(loginSorted(calls)).toEqual([
      STS,
      ...IMAGES.map((image) => describeImages(image)),
      'npm run --silent build:images',
      'aws ecr get-login-password --region us-west-2',
      `docker login --username AWS --password-stdin ${REGISTRY}`,
      ...IMAGES.map(buildx),
      ...LAMBDAS.flatMap((image) => [
        `aws lambda update-function-code --function-name ${PREFIX}-${image} --image-uri ${REGISTRY}/${PREFIX}-${image}:abc123 --region us-west-2`,
        `aws lambda wait function-updated --function-name ${PREFIX}-${image} --region us-west-2`,
      ]),
      `aws ecs describe-task-definition --task-definition ${PREFIX}-story-agent --region us-west-2 --query taskDefinition --output json`,
      expect.stringMatching(/^aws ecs register-task-definition --region us-west-2 --cli-input-json \{.*\} --query taskDefinition\.taskDefinitionArn --output text$/),
      `aws ecs update-service --cluster ${PREFIX}-ecs-cluster --service ${PREFIX}-story-generator --task-definition arn:aws:ecs:us-west-2:${ACCOUNT}:task-definition/${PREFIX}-story-agent:4 --force-new-deployment --region us-west-2`,
      `aws ecs wait services-stable --cluster ${PREFIX}-ecs-cluster --services ${PREFIX}-story-generator --region us-west-2`,
    ]);
    // The new revision: the old one's definition with only the image changed, read-only fields dropped.
    const register = calls.find((c) => c.startsWith('aws ecs register')) ?? '';
    const json = JSON.parse(/--cli-input-json (\{.*\}) --query/.exec(register)?.[1] ?? '{}') as Record<string, unknown>;
    expect(json).toEqual({ family: `${PREFIX}-story-agent`, containerDefinitions: [{ name: 'story-agent', image: `${REGISTRY}/${PREFIX}-story-agent:abc123` }] });
    for (const n of [1, 2, 3, 4]) expect(stdout).toContain(`==> [${n}/4]`);
    expect(stdout).toContain(`Deployed tag abc123 to ${PREFIX}.`);
    // The tag is recorded where terraform reads it (the environment file's image_tag, with
    // images_ready true): the next apply keeps this code instead of rolling it back.
    expect(envText()).toBe(recorded(before, 'abc123', true));
    expect(parseEnvironment('environments/dev/us-west-2.json', envText())).toMatchObject({ image_tag: 'abc123', images_ready: true });
    expect(stdout).toContain(`recorded image_tag abc123 (was ${pinned}) in environments/dev/us-west-2.json`);
    expect(stdout).not.toContain('terraform still pins');
  });

  it('records nothing when the rollout fails (the file keeps naming what terraform deployed)', async () => {
    const before = envText();
    await expect(script('rebuild_and_deploy.sh', ['dev', 'us-west-2'], { FAKE_FAIL: `aws lambda update-function-code --function-name ${PREFIX}-story-image-regen` })).rejects.toMatchObject({ code: 1 });
    expect(envText()).toBe(before);
  });

  it('a re-run for the same commit skips the images already in ECR instead of failing on immutable tags', async () => {
    // All four there: nothing is built, logged in to or pushed; the rollout and the record still happen.
    const all = await script('rebuild_and_deploy.sh', ['dev', 'us-west-2'], { FAKE_ECR_TAGS: ecrTags('abc123') });
    expect(all.calls.filter((c) => c.startsWith('docker') || c.startsWith('npm') || c.startsWith('aws ecr get-login'))).toEqual([]);
    for (const image of IMAGES) expect(all.stdout).toContain(`${PREFIX}-${image}:abc123 already pushed, skipping`);
    expect(all.calls.filter((c) => c.startsWith('aws lambda update-function-code'))).toHaveLength(3);
    expect(envJson().image_tag).toBe('abc123');

    // Two there: only the other two are built and pushed.
    writeFileSync(log, '');
    const some = await script('rebuild_and_deploy.sh', ['dev', 'us-west-2'], { FAKE_ECR_TAGS: ecrTags('abc123', ['story-text-regen', 'story-agent']) });
    expect(some.calls.filter((c) => c.startsWith('docker buildx'))).toEqual([buildx('story-image-regen'), buildx('data-ops')]);
    expect(some.stdout).toContain(`${PREFIX}-story-text-regen:abc123 already pushed, skipping`);
    expect(some.stdout).toContain(`${PREFIX}-story-agent:abc123 already pushed, skipping`);
  });

  it('stops before building when ECR answers anything but "not found"', async () => {
    const FAKE_ECR_ERROR = 'An error occurred (RepositoryNotFoundException) when calling the DescribeImages operation: The repository does not exist';
    await expect(script('rebuild_and_deploy.sh', ['dev', 'us-west-2'], { FAKE_ECR_ERROR })).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining(`cannot tell whether ${PREFIX}-story-text-regen:abc123 is in ECR: An error occurred (RepositoryNotFoundException)`) });
    expect(calls().filter((c) => !c.startsWith('aws sts') && !c.startsWith('aws ecr describe-images'))).toEqual([]);
  });

  it('--only limits the build and rollout to the named components, and carries the others over to the new tag', async () => {
    const pinned = envJson().image_tag as string;
    const others = ['story-text-regen', 'story-image-regen', 'story-agent'];
    const { calls, stdout } = await script('rebuild_and_deploy.sh', ['dev', 'us-west-2', '--only', 'data-ops'], { FAKE_ECR_TAGS: ecrTags(pinned) });
    expect(calls.filter((c) => c.startsWith('docker buildx'))).toEqual([buildx('data-ops')]);
    expect(calls.filter((c) => c.startsWith('aws lambda update-function-code'))).toEqual([expect.stringContaining(`--function-name ${PREFIX}-data-ops `)]);
    expect(calls.some((c) => c.startsWith('aws ecs'))).toBe(false);
    // One tag names every image terraform deploys: the others get it on their recorded manifest.
    expect(calls.filter((c) => c.startsWith('aws ecr batch-get-image') || c.startsWith('aws ecr put-image'))).toEqual(
      others.flatMap((image) => [
        `aws ecr batch-get-image --repository-name ${PREFIX}-${image} --image-ids imageTag=${pinned} --region us-west-2 --output json`,
        `aws ecr put-image --repository-name ${PREFIX}-${image} --image-tag abc123 --image-manifest {"schemaVersion":2,"config":{"digest":"sha256:${PREFIX}-${image}"}} --image-manifest-media-type application/vnd.docker.distribution.manifest.v2+json --region us-west-2 --output json`,
      ]),
    );
    const lastPut = calls.map((c) => c.startsWith('aws ecr put-image')).lastIndexOf(true);
    expect(lastPut).toBeLessThan(calls.findIndex((c) => c.startsWith('aws lambda')));
    expect(stdout).toContain(`${PREFIX}-story-agent: tagging the recorded image ${pinned} as abc123 (not rebuilt)`);
    expect(envJson()).toMatchObject({ image_tag: 'abc123', images_ready: true });

    writeFileSync(log, '');
    const agent = await script('rebuild_and_deploy.sh', ['dev', 'us-west-2', '--only', 'agent', '--only', 'text-regen'], { FAKE_ECR_TAGS: ecrTags('abc123', ['story-image-regen', 'data-ops']) });
    expect(agent.calls.filter((c) => c.startsWith('docker buildx'))).toEqual([buildx('story-agent'), buildx('story-text-regen')]);
    expect(agent.calls.filter((c) => c.startsWith('aws lambda update-function-code'))).toEqual([expect.stringContaining(`${PREFIX}-story-text-regen`)]);
    expect(agent.calls.some((c) => c.startsWith('aws ecr put-image'))).toBe(false); // the others already have the tag
    expect(agent.calls.filter((c) => c.startsWith('aws ecs')).map((c) => c.split(' ').slice(0, 3).join(' '))).toEqual([
      'aws ecs describe-task-definition', 'aws ecs register-task-definition', 'aws ecs update-service', 'aws ecs wait',
    ]);
  });

  it('--only stops before the rollout when an image it must carry over is not in ECR', async () => {
    const before = envText();
    const pinned = envJson().image_tag as string;
    await expect(script('rebuild_and_deploy.sh', ['dev', 'us-west-2', '--only', 'data-ops'])).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining(`${PREFIX}-story-text-regen has no image ${pinned} (the tag environments/dev/us-west-2.json records) to carry over to abc123; rebuild every component (without --only)`),
    });
    expect(calls().some((c) => c.startsWith('aws lambda') || c.startsWith('aws ecs'))).toBe(false);
    expect(envText()).toBe(before);
  });

  it('--push-only stops after pushing and records nothing', async () => {
    const before = envText();
    const { calls, stdout } = await script('rebuild_and_deploy.sh', ['dev', 'us-west-2', '--push-only']);
    expect(calls.filter((c) => c.startsWith('docker buildx'))).toEqual(IMAGES.map(buildx));
    expect(calls.some((c) => c.startsWith('aws lambda') || c.startsWith('aws ecs'))).toBe(false);
    expect(stdout).toContain('==> [3/3]');
    expect(stdout).toContain('Pushed tag abc123 (push only).');
    expect(envText()).toBe(before);
  });

  it('--dry-run prints the plan for the env/region, runs nothing and says nothing was deployed', async () => {
    const before = envText('prod', 'us-east-1');
    const { calls, stdout } = await script('rebuild_and_deploy.sh', ['prod', 'us-east-1', '--dry-run']);
    expect(calls).toEqual([]);
    expect(stdout).toContain('dry run');
    const plan = stdout.split('\n').filter((l) => l.startsWith('+ '));
    const reg = '<account-id>.dkr.ecr.us-east-1.amazonaws.com';
    expect(plan).toEqual([
      ...IMAGES.map((image) => `+ aws ecr describe-images --repository-name ${PROD}-${image} --image-ids imageTag=abc123 --region us-east-1  (an image already there is not pushed again)`),
      '+ npm run --silent build:images',
      `+ aws ecr get-login-password --region us-east-1 | docker login --username AWS --password-stdin ${reg}`,
      ...IMAGES.map((image) => `+ docker buildx build --platform linux/amd64 --provenance=false -f docker/${image}/Dockerfile -t ${reg}/${PROD}-${image}:abc123 --push ${root}`),
      ...LAMBDAS.flatMap((image) => [
        `+ aws lambda update-function-code --function-name ${PROD}-${image} --image-uri ${reg}/${PROD}-${image}:abc123 --region us-east-1`,
        `+ aws lambda wait function-updated --function-name ${PROD}-${image} --region us-east-1`,
      ]),
      expect.stringContaining(`+ aws ecs describe-task-definition --task-definition ${PROD}-story-agent`),
      `+ aws ecs update-service --cluster ${PROD}-ecs-cluster --service ${PROD}-story-generator --task-definition <new task definition revision> --force-new-deployment --region us-east-1`,
      `+ aws ecs wait services-stable --cluster ${PROD}-ecs-cluster --services ${PROD}-story-generator --region us-east-1`,
      '+ set "image_tag": "abc123", "images_ready": true in environments/prod/us-east-1.json',
    ]);
    expect(lastLine(stdout)).toBe(DRY_RUN_DONE);
    expect(envText('prod', 'us-east-1')).toBe(before);
  });

  it('without TAG, tags with the last commit outside environments/ (what the images are built from)', async () => {
    const { stdout } = await script('rebuild_and_deploy.sh', ['dev', 'us-west-2', '--dry-run', '--only', 'data-ops'], { TAG: '' }, ROOT);
    const { stdout: sha } = await run('git', ['-C', ROOT, 'log', '-1', '--format=%H', '--', '.', ':(exclude)environments/']);
    expect(stdout).toMatch(new RegExp(`tag ${sha.trim().slice(0, 12)}(-dirty-\\d+)?, components: data-ops`));
  });

  it('a recorded (or committed) tag in the environment file does not change the next tag', async () => {
    // A fake git: HEAD is a commit that only recorded a tag, and that file is modified again.
    writeFileSync(
      path.join(bin, 'git'),
      `#!/usr/bin/env bash
printf 'git %s\\n' "$*" >> "$FAKE_LOG"
excluded=0; [[ " $* " == *" :(exclude)environments/ "* ]] && excluded=1
case "$3" in
  log) if [ $excluded = 1 ]; then echo aaaaaaaaaaaa1111111111111111111111111111; else echo bbbbbbbbbbbb2222222222222222222222222222; fi ;;
  rev-parse) echo bbbbbbbbbbbb2222222222222222222222222222 ;;
  status) [ $excluded = 1 ] || echo ' M environments/dev/us-west-2.json' ;;
esac
`,
    );
    chmodSync(path.join(bin, 'git'), 0o755);
    const { stdout } = await script('rebuild_and_deploy.sh', ['dev', 'us-west-2', '--dry-run', '--only', 'data-ops'], { TAG: '' });
    expect(stdout).toContain('tag aaaaaaaaaaaa, components: data-ops');
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
    for (const tool of ['bash', 'env', 'sed', 'node', 'git', 'dirname', 'date', 'cat', 'basename', 'mktemp', 'rm', 'grep']) {
      const found = dirs.map((d) => path.join(d, tool)).find((f) => existsSync(f));
      if (found) symlinkSync(found, path.join(basics, tool));
    }
    const PATH = `${bin}:${basics}`;
    await expect(script('rebuild_and_deploy.sh', ['dev', 'us-west-2'], { PATH })).rejects.toMatchObject({ stderr: expect.stringContaining('missing prerequisites: docker (see README.md, Deploying to AWS)') });
    await expect(script('deploy.sh', ['dev', 'us-west-2'], { PATH })).rejects.toMatchObject({ stderr: expect.stringContaining('missing prerequisites: terraform docker') });
    await expect(script('bootstrap-state.sh', ['prod', 'us-east-1'], { PATH: `${basics}` })).rejects.toMatchObject({ stderr: expect.stringContaining('missing prerequisites: aws') });
    expect(readFileSync(log, 'utf8')).toBe('');
    // Phase 1 alone needs no docker.
    await expect(script('deploy.sh', ['dev', 'us-west-2', '--foundation-only'], { PATH })).rejects.toMatchObject({ stderr: expect.stringMatching(/missing prerequisites: terraform \(/) });
  });
});

describe('scripts/deploy.sh', () => {
  const dir = () => path.join(root, 'cdktf.out', 'stacks', PREFIX);
  const WEB_CONFIG = { apiUrl: 'https://abc123.execute-api.us-west-2.amazonaws.com/dev', agentUrl: 'https://d111.cloudfront.net', region: 'us-west-2', userPoolId: 'us-west-2_abc', userPoolClientId: 'client123' };
  /** What the fake terraform answers for the web studio step. */
  const WEB = { FAKE_TF_OUTPUT_JSON: JSON.stringify(WEB_CONFIG), FAKE_TF_OUTPUT_site_bucket_name: 'site-bucket-1', FAKE_TF_OUTPUT_cloudfront_distribution_id: 'E123' };
  const webCalls = () => {
    const dist = path.join(root, 'web', 'dist');
    return [
      'npm run --silent build:web',
      `terraform -chdir=${dir()} output -json web_config`,
      `terraform -chdir=${dir()} output -raw site_bucket_name`,
      `terraform -chdir=${dir()} output -raw cloudfront_distribution_id`,
      `aws s3 sync ${dist}/assets/ s3://site-bucket-1/assets/ --region us-west-2 --cache-control public, max-age=31536000, immutable`,
      `aws s3 sync ${dist}/ s3://site-bucket-1/ --region us-west-2 --delete --exclude assets/* --cache-control no-cache`,
      `aws s3 sync ${dist}/assets/ s3://site-bucket-1/assets/ --region us-west-2 --delete --cache-control public, max-age=31536000, immutable`,
      'aws cloudfront create-invalidation --distribution-id E123 --paths /index.html /config.json',
    ];
  };
  // What npm run build:web leaves (the fake npm builds nothing).
  beforeEach(() => {
    mkdirSync(path.join(root, 'web', 'dist', 'assets'), { recursive: true });
    writeFileSync(path.join(root, 'web', 'dist', 'index.html'), '<!doctype html>');
  });

  it('checks, runs phase 1, pushes images, then phase 2 with the pushed tag, records it, publishes the web studio, and reads outputs, showing progress', async () => {
    const before = envText();
    const { calls, stdout } = await script('deploy.sh', ['dev', 'us-west-2'], WEB);
    expect(loginSorted(calls)).toEqual([
      STS,
      'npm run --silent synth -- dev/us-west-2',
      `terraform -chdir=${dir()} init -input=false`,
      `terraform -chdir=${dir()} state list`,
      `terraform -chdir=${dir()} apply -input=false -auto-approve`,
      STS,
      ...IMAGES.map((image) => describeImages(image)),
      'npm run --silent build:images',
      'aws ecr get-login-password --region us-west-2',
      `docker login --username AWS --password-stdin ${REGISTRY}`,
      ...IMAGES.map(buildx),
      'npm run --silent synth -- dev/us-west-2',
      `terraform -chdir=${dir()} init -input=false`,
      `terraform -chdir=${dir()} apply -input=false -auto-approve`,
      ...webCalls(),
      `terraform -chdir=${dir()} output`,
    ]);
    for (const n of [1, 2, 3, 4, 5, 6]) expect(stdout).toContain(`==> [${n}/6]`);
    // The app's config.json, from the stack's web_config output, as the app reads it.
    expect(JSON.parse(readFileSync(path.join(root, 'web', 'dist', 'config.json'), 'utf8'))).toEqual(WEB_CONFIG);
    // Every terraform init found the committed provider lock file in the stack's folder.
    expect(readFileSync(path.join(dir(), '.terraform.lock.hcl'), 'utf8')).toBe(readFileSync(path.join(ROOT, 'terraform', '.terraform.lock.hcl'), 'utf8'));
    // The synths differ only in the environment they get (the fake npm does not log it).
    expect(stdout).toContain('+ env IMAGES_READY=false npm run --silent synth -- dev/us-west-2');
    expect(stdout).toContain('+ env IMAGES_READY=true IMAGE_TAG=abc123 npm run --silent synth -- dev/us-west-2');
    expect(stdout).toContain('aws secretsmanager put-secret-value');
    expect(calls.some((c) => c.startsWith('aws lambda') || c.startsWith('aws ecs'))).toBe(false);
    // Phase 2 and its tag are recorded where a later plain synth + apply reads them.
    expect(envText()).toBe(recorded(before, 'abc123', true));
    expect(stdout).toContain('commit environments/dev/us-west-2.json');
    expect(stdout).not.toContain(DRY_RUN_DONE);
  });

  it('records nothing when the phase 2 apply fails', async () => {
    const before = envText();
    // The first apply (phase 1) is skipped on a live environment: the one apply is phase 2's.
    await expect(script('deploy.sh', ['dev', 'us-west-2'], { FAKE_STATE: PHASE2_STATE, FAKE_FAIL: `terraform -chdir=${dir()} apply` })).rejects.toMatchObject({ code: 1 });
    expect(envText()).toBe(before);
  });

  it('re-running a deploy of the same commit skips the pushes that already exist', async () => {
    const { calls, stdout } = await script('deploy.sh', ['dev', 'us-west-2'], { ...WEB, FAKE_STATE: PHASE2_STATE, FAKE_ECR_TAGS: ecrTags('abc123') });
    expect(calls.filter((c) => c.startsWith('docker'))).toEqual([]);
    expect(stdout.match(/already pushed, skipping/g)).toHaveLength(4);
    expect(calls.slice(-webCalls().length - 2)).toEqual([`terraform -chdir=${dir()} apply -input=false -auto-approve`, ...webCalls(), `terraform -chdir=${dir()} output`]);
  });

  it('on a live environment, does not apply phase 1 alone (that would remove the compute)', async () => {
    const { calls, stdout } = await script('deploy.sh', ['dev', 'us-west-2'], { ...WEB, FAKE_STATE: PHASE2_STATE });
    const applies = calls.map((c, i) => [c, i] as const).filter(([c]) => c.endsWith('apply -input=false -auto-approve'));
    expect(applies).toHaveLength(1);
    const push = calls.findIndex((c) => c.startsWith('docker buildx'));
    expect(applies[0]?.[1]).toBeGreaterThan(push);
    expect(stdout).toContain('phase 2 is already deployed (3 compute resources in the state)');
  });

  it('stops before any apply when the state cannot be read', async () => {
    const FAKE_STATE_ERROR = 'Error: Error loading state: AccessDenied: Access Denied';
    await expect(script('deploy.sh', ['dev', 'us-west-2'], { FAKE_STATE_ERROR })).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining(`cannot read the Terraform state of ${PREFIX}, so cannot tell which phase is deployed: Error: Error loading state`) });
    expect(calls().some((c) => c.includes(' apply ') || c.startsWith('docker'))).toBe(false);
  });

  describe('going back from phase 2 to phase 1', () => {
    it('--foundation-only is refused while the state holds phase 2, and nothing is applied', async () => {
      const before = envText();
      const err = await script('deploy.sh', ['dev', 'us-west-2', '--foundation-only'], { FAKE_STATE: PHASE2_STATE }).catch((e: { code: number; stderr: string }) => e);
      expect(err).toMatchObject({ code: 1 });
      const { stderr } = err as { stderr: string };
      expect(stderr).toContain(`phase 2 is deployed (3 compute resources in the state of ${PREFIX}): applying phase 1 alone would delete the Lambdas, the API (its URL changes), the agent service and the ALB`);
      expect(stderr).toContain('add --allow-phase-downgrade to remove the compute on purpose');
      expect(calls().filter((c) => c.includes(' apply ') || c.startsWith('docker') || c.startsWith('aws ecr'))).toEqual([]);
      expect(envText()).toBe(before);
    });

    it('--foundation-only --allow-phase-downgrade applies phase 1 and records images_ready false', async () => {
      writeFileSync(envPath(), recorded(envText(), 'abc123', true));
      const before = envText();
      const { calls, stdout } = await script('deploy.sh', ['dev', 'us-west-2', '--foundation-only', '--allow-phase-downgrade'], { FAKE_STATE: PHASE2_STATE });
      expect(calls).toEqual([
        STS,
        'npm run --silent synth -- dev/us-west-2',
        `terraform -chdir=${dir()} init -input=false`,
        `terraform -chdir=${dir()} state list`,
        `terraform -chdir=${dir()} apply -input=false -auto-approve`,
        `terraform -chdir=${dir()} output`,
      ]);
      expect(stdout).toContain('+ env IMAGES_READY=false npm run --silent synth -- dev/us-west-2');
      expect(stdout).toContain('--allow-phase-downgrade: phase 2 is deployed (3 compute resources); this apply removes it.');
      expect(envText()).toBe(recorded(before, undefined, false));
    });

    it('--foundation-only on a stack without phase 2 applies phase 1 and pushes nothing', async () => {
      const { calls } = await script('deploy.sh', ['dev', 'us-west-2', '--foundation-only'], { FAKE_STATE: PHASE1_STATE });
      expect(calls.filter((c) => c.includes(' apply '))).toEqual([`terraform -chdir=${dir()} apply -input=false -auto-approve`]);
      expect(calls.some((c) => c.startsWith('docker') || c.startsWith('aws ecr'))).toBe(false);
      expect(envJson().images_ready).toBe(false);
    });

    it('--allow-phase-downgrade without --foundation-only is a wrong invocation', async () => {
      await expect(script('deploy.sh', ['dev', 'us-west-2', '--allow-phase-downgrade'])).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('--allow-phase-downgrade goes with --foundation-only') });
      expect(calls()).toEqual([]);
    });

    it('tells phase 2 from phase 1 in the state of the real synthesized stack', async () => {
      const { stack } = await synth();
      const phase1 = stateList(stack('phase1', PREFIX));
      const phase2 = stateList(stack('phase2', PREFIX));
      await expect(script('deploy.sh', ['dev', 'us-west-2', '--foundation-only'], { FAKE_STATE: phase2 })).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('phase 2 is deployed') });
      expect(calls().some((c) => c.includes(' apply '))).toBe(false);
      writeFileSync(log, '');
      await script('deploy.sh', ['dev', 'us-west-2', '--foundation-only'], { FAKE_STATE: phase1 });
      expect(calls().some((c) => c.includes(' apply '))).toBe(true);
    }, 120_000);
  });

  describe('checks before it changes anything: one clear message each, exit 1', () => {
    it('credentials', async () => {
      await expect(script('deploy.sh', ['dev', 'us-west-2'], { FAKE_STS_FAIL: '1' })).rejects.toMatchObject({
        code: 1,
        stderr: "error: credentials: 'aws sts get-caller-identity' failed (Unable to locate credentials. You can configure credentials by running \"aws configure\".); sign in (aws sso login, AWS_PROFILE, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) and run again\n",
      });
      expect(calls()).toEqual([STS]);
    });

    it('region: the shell points at another region', async () => {
      await expect(script('deploy.sh', ['dev', 'us-west-2'], { AWS_REGION: 'us-east-1' })).rejects.toMatchObject({
        code: 1,
        stderr: 'error: region: AWS_REGION is us-east-1, but environments/dev/us-west-2.json deploys to us-west-2; unset AWS_REGION or set it to us-west-2\n',
      });
      await expect(script('deploy.sh', ['dev', 'us-west-2'], { AWS_DEFAULT_REGION: 'eu-west-1' })).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('region: AWS_DEFAULT_REGION is eu-west-1') });
      expect(calls()).toEqual([]);
      await script('deploy.sh', ['dev', 'us-west-2', '--dry-run'], { AWS_REGION: 'us-west-2' });
    });

    it('region: the environment file names another region than its path', async () => {
      writeFileSync(envPath(), envText().replace('"region": "us-west-2"', '"region": "us-east-2"'));
      await expect(script('deploy.sh', ['dev', 'us-west-2'])).rejects.toMatchObject({ code: 1, stderr: 'error: region: environments/dev/us-west-2.json deploys to "us-east-2", not us-west-2 (its "region" must match the file name)\n' });
      expect(calls()).toEqual([]);
    });

    it('tools (also in the nested image script)', async () => {
      // Covered with a bare PATH in "names every missing prerequisite"; here: the messages name the README.
      const PATH = `${bin}:/nonexistent`;
      rmSync(path.join(bin, 'terraform'));
      await expect(script('deploy.sh', ['dev', 'us-west-2'], { PATH: `${PATH}:${path.dirname(process.execPath)}:/usr/bin:/bin` })).rejects.toMatchObject({ code: 1, stderr: expect.stringMatching(/^error: missing prerequisites: terraform.* \(see README\.md, Deploying to AWS\)\n$/) });
      expect(calls()).toEqual([]);
    });

    it('with remote state, the state bucket exists (else: run bootstrap-state.sh)', async () => {
      await expect(script('deploy.sh', ['prod', 'us-east-1'], { AWS_REGION: 'us-east-1' })).rejects.toMatchObject({
        code: 1,
        stderr: 'error: state: the Terraform state bucket s3://story-42-terraform-state (state_backend in environments/prod/us-east-1.json) is missing or not this account\'s; create it with scripts/bootstrap-state.sh prod us-east-1\n',
      });
      expect(calls()).toEqual([
        'aws sts get-caller-identity --region us-east-1 --query Account --output text',
        `aws s3api head-bucket --bucket story-42-terraform-state --expected-bucket-owner ${ACCOUNT} --region us-east-1`,
      ]);
      writeFileSync(log, '');
      const { calls: ok } = await script('deploy.sh', ['prod', 'us-east-1', '--foundation-only'], { FAKE_BUCKET: 'ours' });
      expect(ok.some((c) => c.includes(' apply '))).toBe(true);
    });
  });

  it('--dry-run prints both phases and the nested image plan, runs nothing, and ends saying nothing was deployed', async () => {
    const before = envText('prod', 'us-east-1');
    const { calls, stdout } = await script('deploy.sh', ['prod', 'us-east-1', '--dry-run']);
    expect(calls).toEqual([]);
    const steps = stdout.split('\n').filter((l) => l.startsWith('==> '));
    expect(steps).toEqual([
      '==> [1/6] Phase 1: foundation (ECR, VPC, S3, DynamoDB, Cognito, Secrets, CloudFront)',
      '==> [2/6] Container images -> ECR (tag abc123)',
      '==> [1/3] Build the bundles the Dockerfiles copy',
      expect.stringContaining('==> [2/3] Log in to ECR'),
      '==> [3/3] Build and push linux/amd64 images',
      '==> [3/6] Phase 2: compute (Lambda, API Gateway, ECS, ALB) with image tag abc123',
      '==> [4/6] Web studio: build, config.json, sync to the site bucket, CloudFront invalidation',
      '==> [5/6] Outputs',
      '==> [6/6] Done',
    ]);
    expect(stdout).toContain(`+ terraform -chdir=${path.join(root, 'cdktf.out', 'stacks', PROD)} apply -input=false -auto-approve`);
    expect(stdout).toContain('+ set "image_tag": "abc123", "images_ready": true in environments/prod/us-east-1.json');
    // Said once, at the very end (the nested image script leaves it to deploy.sh).
    expect(stdout.split('\n').filter((l) => l === DRY_RUN_DONE)).toHaveLength(1);
    expect(lastLine(stdout)).toBe(DRY_RUN_DONE);
    expect(envText('prod', 'us-east-1')).toBe(before);
  });

  it('--dry-run shows the web studio: its build, config.json, the sync to the site bucket and the CloudFront invalidation, after phase 2', async () => {
    const { calls, stdout } = await script('deploy.sh', ['dev', 'us-west-2', '--dry-run']);
    expect(calls).toEqual([]);
    const plan = stdout.split('\n').filter((l) => l.startsWith('+ '));
    const at = (prefix: string) => plan.findIndex((l) => l.startsWith(prefix));
    const phase2 = plan.map((l, i) => [l, i] as const).filter(([l]) => l.includes(' apply ')).at(-1)?.[1] ?? -1;
    const build = at('+ npm run --silent build:web');
    const config = at(`+ terraform -chdir=${dir()} output -json web_config > web/dist/config.json`);
    const syncs = plan.filter((l) => l.startsWith('+ aws s3 sync'));
    const invalidation = at('+ aws cloudfront create-invalidation --distribution-id <cloudfront_distribution_id> --paths /index.html /config.json');
    expect(phase2).toBeGreaterThan(-1);
    expect([phase2 < build, build < config, config < at('+ aws s3 sync'), at('+ aws s3 sync') < invalidation]).toEqual([true, true, true, true]);
    expect(syncs).toEqual([
      `+ aws s3 sync ${root}/web/dist/assets/ s3://<site_bucket_name>/assets/ --region us-west-2 --cache-control public, max-age=31536000, immutable`,
      `+ aws s3 sync ${root}/web/dist/ s3://<site_bucket_name>/ --region us-west-2 --delete --exclude assets/* --cache-control no-cache`,
      `+ aws s3 sync ${root}/web/dist/assets/ s3://<site_bucket_name>/assets/ --region us-west-2 --delete --cache-control public, max-age=31536000, immutable`,
    ]);
    // The committed lock file goes in before every terraform init.
    const inits = plan.map((l, i) => [l, i] as const).filter(([l]) => l.includes(' init -input=false'));
    for (const [, i] of inits) expect(plan[i - 1]).toBe(`+ cp terraform/.terraform.lock.hcl ${dir()}/.terraform.lock.hcl`);
    expect(lastLine(stdout)).toBe(DRY_RUN_DONE);
  });

  it('stops before syncing anything when the stack\'s web_config output is not the app\'s config', async () => {
    await expect(script('deploy.sh', ['dev', 'us-west-2'], { ...WEB, FAKE_TF_OUTPUT_JSON: JSON.stringify({ ...WEB_CONFIG, apiUrl: 'http://api.example.com/dev/' }) })).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining('web studio: web_config is not the app config (check apiUrl)'),
    });
    expect(calls().some((c) => c.startsWith('aws s3') || c.startsWith('aws cloudfront'))).toBe(false);
  });

  it('the real synth the deploy runs writes the stack where terraform looks, in the phase asked', async () => {
    const { stdout, stack } = await synth();
    for (const [phase, compute] of [['phase1', false], ['phase2', true]] as const) {
      expect(stdout[phase]).toContain(`synthesized ${PREFIX} (phase ${compute ? 2 : 1}, image tag abc123)`);
      const json = stack(phase, PREFIX);
      expect(['aws_lambda_function' in json.resource, 'aws_ecs_service' in json.resource]).toEqual([compute, compute]);
    }
  }, 120_000);

  it('the image tag the scripts record is the one the synthesized stack deploys', async () => {
    // The stack deploys the environment's image_tag (IMAGE_TAG overrides that same field).
    const { stack } = await synth();
    const fns = Object.values(stack('phase2', PREFIX).resource.aws_lambda_function ?? {}) as Array<{ image_uri?: string }>;
    expect(fns.length).toBeGreaterThan(0);
    for (const fn of fns) expect(fn.image_uri).toMatch(/:abc123$/);
  }, 120_000);
});

describe('scripts/bootstrap-state.sh', () => {
  const BUCKET = 'story-42-terraform-state';
  const owner = `--expected-bucket-owner ${ACCOUNT}`;

  it('creates the bucket the stack\'s S3 backend uses: versioned, encrypted, public access blocked; no DynamoDB lock table (use_lockfile)', async () => {
    const { stack } = await synth();
    const backend = stack('phase1', PROD).terraform.backend?.s3 as { bucket: string; key: string; region: string; dynamodb_table?: string };
    expect(backend.bucket).toBe(BUCKET);

    const { calls, stdout } = await script('bootstrap-state.sh', ['prod', 'us-east-1']);
    const r = `--region ${backend.region}`;
    expect(calls).toEqual([
      'aws sts get-caller-identity --region us-east-1 --query Account --output text',
      `aws s3api head-bucket --bucket ${backend.bucket} ${owner} ${r}`,
      `aws s3api create-bucket --bucket ${backend.bucket} ${r} --object-ownership BucketOwnerEnforced`, // us-east-1 takes no LocationConstraint
      `aws s3api put-public-access-block --bucket ${backend.bucket} ${owner} ${r} --public-access-block-configuration BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true`,
      `aws s3api put-bucket-versioning --bucket ${backend.bucket} ${owner} ${r} --versioning-configuration Status=Enabled`,
      `aws s3api put-bucket-encryption --bucket ${backend.bucket} ${owner} ${r} --server-side-encryption-configuration {"Rules":[{"ApplyServerSideEncryptionByDefault":{"SSEAlgorithm":"AES256"}}]}`,
      expect.stringMatching(new RegExp(`^aws s3api put-bucket-policy --bucket ${backend.bucket} ${owner} ${r} --policy .*"aws:SecureTransport":"false"`)),
    ]);
    expect(backend.dynamodb_table).toBeUndefined();
    expect(stdout).toContain('==> [1/1]');
    // The state object the backend will write is in that bucket.
    expect(stdout).toContain(`State of ${PROD}: s3://${backend.bucket}/${backend.key} (locked by a lock file next to it).`);
    expect(stdout).toContain(`created s3://${BUCKET}: versioned, encrypted (AES256), public access blocked, TLS only.`);
  }, 120_000);

  it('outside us-east-1, and when the backend names its own region, creates the bucket there', async () => {
    const file = envJson('prod', 'us-east-1') as { state_backend: Record<string, string> };
    file.state_backend.region = 'eu-central-1';
    writeFileSync(envPath('prod', 'us-east-1'), JSON.stringify(file, null, 2));
    const { calls, stdout } = await script('bootstrap-state.sh', ['prod', 'us-east-1']);
    expect(calls).toContain(`aws s3api create-bucket --bucket ${BUCKET} --region eu-central-1 --create-bucket-configuration LocationConstraint=eu-central-1 --object-ownership BucketOwnerEnforced`);
    expect(stdout).toContain('==> [1/1]');
  });

  it('is idempotent: an existing bucket of this account is left alone and reported', async () => {
    const { calls, stdout } = await script('bootstrap-state.sh', ['prod', 'us-east-1'], { FAKE_BUCKET: 'ours' });
    expect(calls.some((c) => c.includes('create-') || c.includes('put-'))).toBe(false);
    expect(stdout).toContain(`s3://${BUCKET} already exists in account ${ACCOUNT}: left alone.`);
    expect(stdout).toContain('versioning: Enabled; default encryption: AES256; public access block: True\tTrue\tTrue\tTrue');
    expect(stdout).not.toContain('warning');

    const unversioned = await script('bootstrap-state.sh', ['prod', 'us-east-1'], { FAKE_BUCKET: 'ours', FAKE_BUCKET_VERSIONING: 'Suspended' });
    expect(unversioned.stdout).toContain('warning: versioning is not enabled');
  });

  it('stops when the name belongs to another account (bucket names are global)', async () => {
    await expect(script('bootstrap-state.sh', ['prod', 'us-east-1'], { FAKE_BUCKET: 'theirs' })).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining(`bucket: s3://${BUCKET} exists but is not this account's (${ACCOUNT}) or not readable by it. Bucket names are global: set another state_backend.bucket in environments/prod/us-east-1.json (for example ${BUCKET}-${ACCOUNT})`),
    });
    expect(calls().some((c) => c.includes('create-') || c.includes('put-'))).toBe(false);
  });

  it('checks the credentials first', async () => {
    await expect(script('bootstrap-state.sh', ['prod', 'us-east-1'], { FAKE_STS_FAIL: '1' })).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining("credentials: 'aws sts get-caller-identity' failed") });
    expect(calls()).toEqual(['aws sts get-caller-identity --region us-east-1 --query Account --output text']);
  });

  it('has nothing to create for an environment with local state', async () => {
    const { calls, stdout } = await script('bootstrap-state.sh', ['dev', 'us-west-2']);
    expect(calls).toEqual([]);
    expect(stdout).toContain(`environments/dev/us-west-2.json has no "state_backend": ${PREFIX} keeps its Terraform state locally, in terraform/state/${PREFIX}.tfstate. Nothing to create.`);
  });

  it('--dry-run prints the plan and runs nothing', async () => {
    const { calls, stdout } = await script('bootstrap-state.sh', ['prod', 'us-east-1', '--dry-run']);
    expect(calls).toEqual([]);
    expect(stdout).toContain(`+ aws s3api create-bucket --bucket ${BUCKET} --region us-east-1`);
    expect(stdout).not.toContain('dynamodb');
    expect(lastLine(stdout)).toBe(DRY_RUN_DONE);
  });

  it.each([[['--help']], [['-h']], [['prod', 'us-east-1', '--dry-run', '--help']]])('%j prints the usage on stdout, exits 0 and runs nothing', async (args) => {
    const { stdout, stderr } = await script('bootstrap-state.sh', args);
    expect(stderr).toBe('');
    expect(stdout).toContain('scripts/bootstrap-state.sh <env> <region> [--dry-run]');
    expect(stdout).toContain('-h, --help');
    expect(stdout).not.toContain('==>');
    expect(calls()).toEqual([]);
  });

  it.each([[[]], [['prod']], [['--dry-run']], [['prod', 'us-east-1', '--no-such-option']], [['prod', 'us-east-1', 'extra']]])('a wrong invocation (%j) prints the usage on stderr and exits 2', async (args) => {
    await expect(script('bootstrap-state.sh', args)).rejects.toMatchObject({ code: 2, stdout: '', stderr: expect.stringContaining('scripts/bootstrap-state.sh <env> <region>') });
    expect(calls()).toEqual([]);
  });
});

describe('scripts/upload-prompts.sh', () => {
  const upload = (bucket: string, dryRun: boolean) => `npm run --silent upload-prompts -- ${bucket} us-west-2${dryRun ? ' --dry-run' : ''}`;

  it('finds the stack\'s prompts bucket in its Terraform outputs, after the preflight, and runs the upload with it', async () => {
    const { calls, stdout } = await script('upload-prompts.sh', ['dev', 'us-west-2'], { FAKE_TF_OUTPUT: `${PREFIX}-prompts` });
    expect(calls).toEqual([STS, `terraform -chdir=${root}/cdktf.out/stacks/${PREFIX} output -raw prompts_bucket_name`, upload(`${PREFIX}-prompts`, false)]);
    expect(stdout).toContain(`Story42 prompts: s3://${PREFIX}-prompts/prompts/ (${PREFIX})`);
  });

  it('--dry-run passes on; PROMPTS_BUCKET names the bucket instead of the outputs', async () => {
    const { calls, stdout } = await script('upload-prompts.sh', ['dev', 'us-west-2', '--dry-run'], { PROMPTS_BUCKET: 'my-prompts' });
    expect(calls).toEqual([STS, upload('my-prompts', true)]);
    expect(stdout).toContain('(dry run: nothing is written)');
  });

  it('without the output (stack not deployed here) it stops with a clear message and uploads nothing', async () => {
    await expect(script('upload-prompts.sh', ['dev', 'us-west-2'])).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('cannot read the Terraform output prompts_bucket_name of story-42-dev-us-west-2') });
    expect(calls().some((c) => c.startsWith('npm'))).toBe(false);
  });

  it('a shell pointing at another region stops it before any call', async () => {
    await expect(script('upload-prompts.sh', ['dev', 'us-west-2'], { AWS_REGION: 'eu-west-1', FAKE_TF_OUTPUT: 'x' })).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('AWS_REGION is eu-west-1') });
    expect(calls()).toEqual([]);
  });
});

describe('every dry run ends saying nothing was deployed', () => {
  it.each([
    ['deploy.sh', ['dev', 'us-west-2', '--dry-run']],
    ['deploy.sh', ['prod', 'us-east-1', '--dry-run', '--foundation-only']],
    ['deploy.sh', ['prod', 'us-east-1', '--foundation-only', '--allow-phase-downgrade', '--dry-run']],
    ['rebuild_and_deploy.sh', ['dev', 'us-west-2', '--dry-run']],
    ['rebuild_and_deploy.sh', ['dev', 'us-west-2', '--dry-run', '--push-only']],
    ['rebuild_and_deploy.sh', ['prod', 'us-east-1', '--dry-run', '--only', 'agent']],
    ['bootstrap-state.sh', ['prod', 'us-east-1', '--dry-run']],
    ['bootstrap-state.sh', ['dev', 'us-west-2', '--dry-run']],
  ])('%s %j', async (name, args) => {
    const before = [envText(), envText('prod', 'us-east-1')];
    const { calls, stdout } = await script(name, args);
    expect(calls).toEqual([]);
    expect(lastLine(stdout)).toBe(DRY_RUN_DONE);
    expect([envText(), envText('prod', 'us-east-1')]).toEqual(before);
  });
});
