/**
 * `npm run upload-prompts -- <bucket> <region> [--dry-run]` (scripts/upload-prompts.sh finds a
 * stack's bucket and runs it): validates the bundled prompts as the admin API does, then uploads
 * each one whose MD5 differs from the stored object's ETag, as a new version.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { S3Client } from '@aws-sdk/client-s3';
import { localCredentials } from '../src/aws/clients';
import { PROMPT_HISTORY_MODES, S3PromptSource, type PromptHistoryMode } from '../src/aws/s3-prompt-source';
import { decodePromptBytes, PROMPT_IDS, promptSpec, promptTextProblem, splitPromptId } from '../src/core/prompt-catalogue';
import { PROMPT_MAX_BYTES, PROMPT_NAME_PATTERN, promptKey } from '../src/core/prompt-store';
import { findPromptsDir } from '../src/platform/bundled-prompts';

export const USAGE = `Usage: npm run upload-prompts -- <bucket> <region> [--dry-run]

Validates the bundled prompts — every file prompts/<assistant>/<name>.md is a prompt of the
catalogue (src/core/prompt-catalogue.ts), at most ${PROMPT_MAX_BYTES} bytes of UTF-8 without NUL, using
only its known placeholders, and every prompt of the catalogue has a file — then uploads each
one whose MD5 differs from the stored object's ETag to prompts/<assistant>/<name>.md in the
bucket, as a new version (unchanged files are skipped). Running processes serve a new version
within their cache TTL (STORY42_PROMPT_CACHE_TTL_MS), or at once after POST /admin/prompts/reload.
scripts/upload-prompts.sh <env> <region> runs it with a stack's bucket.

Arguments:
  <bucket>     the prompts bucket
  <region>     its AWS region
  --dry-run    validates and reports what would be uploaded; reads the bucket, writes nothing
  -h, --help   prints this text.

Environment:
  STORY42_S3_ENDPOINT      an S3-compatible endpoint instead of AWS (on this machine: the local S3,
                           with its key pair)
  STORY42_PROMPTS_HISTORY  versioning (default: the bucket's S3 versioning) or objects (history
                           copies under prompt-history/, for a store without versioning: the local S3)
  STORY42_PROMPTS_DIR      the prompts folder (default: prompts/ of the repository)
Exits 1 when a prompt is invalid (nothing is uploaded) or the bucket cannot be read or written.
`;

export interface BundledFile {
  id: string;
  assistant: string;
  name: string;
  key: string;
  bytes: Buffer;
  text: string;
}

/** Every prompt file of the folder, checked: the files, and every problem found (none: all valid). */
export function validatePromptsDir(dir: string): { files: BundledFile[]; problems: string[] } {
  const files: BundledFile[] = [];
  const problems: string[] = [];
  for (const assistant of readdirSync(dir).sort()) {
    const assistantDir = path.join(dir, assistant);
    if (!statSync(assistantDir).isDirectory()) {
      problems.push(`${assistant}: a file outside any assistant's folder`);
      continue;
    }
    if (!PROMPT_NAME_PATTERN.test(assistant)) problems.push(`${assistant}/: not a valid assistant name`);
    for (const file of readdirSync(assistantDir).sort()) {
      const rel = `${assistant}/${file}`;
      const name = file.endsWith('.md') ? file.slice(0, -3) : '';
      if (!name || !statSync(path.join(assistantDir, file)).isFile()) {
        problems.push(`${rel}: not a prompt file (<name>.md)`);
        continue;
      }
      if (!PROMPT_NAME_PATTERN.test(assistant) || !PROMPT_NAME_PATTERN.test(name)) {
        problems.push(`${rel}: not a valid prompt name`);
        continue;
      }
      if (!promptSpec(assistant, name)) {
        problems.push(`${rel}: ${assistant}/${name} is not in the prompt catalogue`);
        continue;
      }
      const bytes = readFileSync(path.join(assistantDir, file));
      const decoded = decodePromptBytes(bytes);
      if ('problem' in decoded) {
        problems.push(`${rel}: ${decoded.problem}`);
        continue;
      }
      const problem = promptTextProblem(assistant, name, decoded.text);
      if (problem) {
        problems.push(`${rel}: ${problem}`);
        continue;
      }
      files.push({ id: `${assistant}/${name}`, assistant, name, key: promptKey(assistant, name), bytes, text: decoded.text });
    }
  }
  for (const id of PROMPT_IDS) {
    const { assistant, name } = splitPromptId(id);
    if (!files.some((f) => f.id === id) && !problems.some((p) => p.startsWith(`${assistant}/${name}.md:`))) problems.push(`${assistant}/${name}.md: missing (every prompt of the catalogue is bundled)`);
  }
  return { files, problems };
}

export type UploadOutcome = { id: string; action: 'unchanged' } | { id: string; action: 'uploaded'; version: string } | { id: string; action: 'would upload' };

/** Uploads the files whose MD5 differs from the stored ETag (a multipart ETag always differs). */
export async function uploadPrompts(source: S3PromptSource, files: readonly BundledFile[], dryRun: boolean): Promise<UploadOutcome[]> {
  const out: UploadOutcome[] = [];
  for (const f of files) {
    const md5 = `"${createHash('md5').update(f.bytes).digest('hex')}"`;
    const etag = await source.etag(f.key);
    if (etag === md5) out.push({ id: f.id, action: 'unchanged' });
    else if (dryRun) out.push({ id: f.id, action: 'would upload' });
    else {
      const stored = await source.put(f.key, f.text);
      out.push({ id: f.id, action: 'uploaded', version: stored.versionId ?? stored.etag });
    }
  }
  return out;
}

function parse(argv: string[]): { bucket: string; region: string; dryRun: boolean } | undefined {
  let parsed: ReturnType<typeof parseArgs<{ options: { help: { type: 'boolean'; short: 'h' }; 'dry-run': { type: 'boolean' } }; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args: argv, options: { help: { type: 'boolean', short: 'h' }, 'dry-run': { type: 'boolean' } }, allowPositionals: true, strict: true });
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`);
    process.exitCode = 2;
    return undefined;
  }
  if (parsed.values.help) {
    process.stdout.write(USAGE);
    return undefined;
  }
  const [bucket, region, extra] = parsed.positionals;
  if (!bucket || !region || extra !== undefined || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket) || !/^[a-z]{2}(-[a-z]+)+-\d$/.test(region)) {
    process.stderr.write(`${extra !== undefined ? `unexpected argument "${extra}"` : 'give the bucket name and its region'}\n\n${USAGE}`);
    process.exitCode = 2;
    return undefined;
  }
  return { bucket, region, dryRun: parsed.values['dry-run'] === true };
}

async function main(): Promise<void> {
  const args = parse(process.argv.slice(2));
  if (!args) return;
  const history = (process.env.STORY42_PROMPTS_HISTORY || 'versioning') as PromptHistoryMode;
  if (!(PROMPT_HISTORY_MODES as readonly string[]).includes(history)) throw new Error(`STORY42_PROMPTS_HISTORY must be one of: ${PROMPT_HISTORY_MODES.join(', ')}`);
  const dir = process.env.STORY42_PROMPTS_DIR ? path.resolve(process.env.STORY42_PROMPTS_DIR) : findPromptsDir(__dirname);
  if (!dir) throw new Error('no prompts/ folder found (set STORY42_PROMPTS_DIR)');
  const { files, problems } = validatePromptsDir(dir);
  if (problems.length > 0) {
    process.stderr.write(`The bundled prompts are not valid; nothing was uploaded:\n${problems.map((p) => `  - ${p}`).join('\n')}\n`);
    process.exitCode = 1;
    return;
  }
  process.stdout.write(`${files.length} prompts valid (${path.relative(process.cwd(), dir) || dir})\n`);
  const endpoint = process.env.STORY42_S3_ENDPOINT || undefined;
  // Deadlines: each attempt must connect and answer in time, and there are at most three.
  const client = new S3Client({
    region: args.region,
    maxAttempts: 3,
    requestHandler: { connectionTimeout: 5000, requestTimeout: 15_000, throwOnRequestTimeout: true },
    ...(endpoint ? { endpoint, forcePathStyle: true, credentials: localCredentials(endpoint) } : {}),
  });
  const outcomes = await uploadPrompts(new S3PromptSource(client, args.bucket, { history }), files, args.dryRun);
  for (const o of outcomes) process.stdout.write(`  ${o.action.padEnd(12)} ${o.id}${o.action === 'uploaded' ? `  (version ${o.version})` : ''}\n`);
  const changed = outcomes.filter((o) => o.action !== 'unchanged').length;
  process.stdout.write(`${args.dryRun ? `Dry run: ${changed} would be uploaded to` : `${changed} uploaded to`} s3://${args.bucket}/prompts/, ${outcomes.length - changed} unchanged.\n`);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`upload-prompts failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
}
