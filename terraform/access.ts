/**
 * What each workload may do — only the actions and resources its code uses (the contract with
 * the application code). The policy suite checks the synthesized roles against its own copy.
 */
import type { SpeechProvider } from './environment';
import { PROJECT_TABLES, type ProjectTable } from './foundation';
import type { Statement } from './iam';

export interface AccessTargets {
  region: string;
  accountId: string;
  tableArn: string;
  /** The story agent's web search cache (src/aws/search-cache.ts). */
  searchCacheTableArn: string;
  imagesBucketArn: string;
  /** System prompts (`prompts/…`) and prompt cards' text (`<project_id>/<prompt_id>.txt`). */
  promptsBucketArn: string;
  /** The projects feature's tables (PROJECT_TABLES), by key. */
  projectTableArns: Readonly<Record<ProjectTable, string>>;
  imageKeySecretArn: string;
  /** The external TTS API's key (`<prefix>/tts-api-key`): read only when narration uses it. */
  ttsKeySecretArn: string;
  /** Narration's engine: Amazon Polly, or the external TTS API. */
  speechProvider: SpeechProvider;
  /** The text models the story routes may use (bare Bedrock ids: models or cross-region inference profiles). */
  textModels: readonly string[];
  /** The agent's own model (STORY42_AGENT_MODEL; one of `textModels`). */
  agentModel: string;
  /** The Bedrock image model (STORY42_BEDROCK_IMAGE_MODEL), in this region. */
  imageModel: string;
}

export type Workload = 'text-regen' | 'image-regen' | 'data-ops' | 'agent';

/**
 * The media bucket's key layout (`s3:prefix` patterns; the object ARNs are `<bucket>/<pattern>`):
 * story jobs (images, narration audio) under `users/<sub>/jobs/<job_id>/` (src/core/narration.ts
 * `jobPrefix`), agent sessions under `users/<sub>/sessions/<session_id>/` (src/core/artifacts.ts).
 * IAM's `*` also matches "/", so a pattern stands for "a key with this shape", not one folder depth.
 */
export const JOB_OBJECTS = 'users/*/jobs/*';
export const SESSION_OBJECTS = 'users/*/sessions/*';

/**
 * The prompts bucket's key layout: system prompts `prompts/<assistant>/<name>.md`
 * (src/core/prompt-store.ts `promptKey`), read by every workload and written by the admin
 * routes (data-ops) only; prompt cards' text `<project_id>/<prompt_id>.txt`
 * (src/aws/s3-card-text.ts), written by data-ops and read by the chat route (text-regen).
 * Project and card ids are lower-case UUIDs (src/core/projects.ts `UUID_PATTERN`), so a card's
 * key has an exact shape, `?` standing for one character: it can never be a `prompts/` key.
 */
export const PROMPT_OBJECTS = 'prompts/*';
const UUID_SHAPE = '????????-????-????-????-????????????';
export const CARD_OBJECTS = `${UUID_SHAPE}/${UUID_SHAPE}.txt`;
/** One project's cards' text (listed to delete them with the project). */
export const PROJECT_CARD_PREFIX = `${UUID_SHAPE}/`;

/** The workloads that serve the projects routes (CRUD on data-ops, chat on text-regen): the only ones with the project tables, and their STORY42_* names. */
export const PROJECT_WORKLOADS: readonly Workload[] = ['data-ops', 'text-regen'];

/**
 * The regions a system-defined cross-region inference profile (`<geography>.<model id>`) routes
 * to, as an ARN region pattern. AWS adds destination regions to a geography over time, so the
 * grant names the geography and the condition names the exact profile: the model is reachable in
 * those regions only through that profile of this account and region.
 */
export const PROFILE_GEOGRAPHIES: Readonly<Record<string, string>> = {
  us: 'us-*',
  ca: 'ca-*',
  eu: 'eu-*',
  apac: 'ap-*',
  jp: 'ap-northeast-*',
  au: 'ap-southeast-*',
  global: '*',
};

/** `us.amazon.nova-pro-v1:0` -> { geography: 'us', model: 'amazon.nova-pro-v1:0' }; a plain model id -> undefined. */
export function inferenceProfile(id: string): { geography: string; model: string } | undefined {
  const dot = id.indexOf('.');
  const geography = id.slice(0, dot);
  return dot > 0 && geography in PROFILE_GEOGRAPHIES ? { geography, model: id.slice(dot + 1) } : undefined;
}

const INVOKE = ['bedrock:InvokeModel', 'bedrock:InvokeModelWithResponseStream'];

/**
 * Bedrock grants for exactly these models. Converse/ConverseStream authorize as InvokeModel/
 * InvokeModelWithResponseStream. A plain model id is the foundation model in this region. A
 * cross-region inference profile id is the profile in this account and region, plus the
 * foundation model in the profile's geography, only when reached through that profile.
 */
export function modelGrants(models: readonly string[], sid: string, actions: readonly string[], t: Pick<AccessTargets, 'region' | 'accountId'>): Statement[] {
  const unique = [...new Set(models)];
  const profileArn = (id: string) => `arn:aws:bedrock:${t.region}:${t.accountId}:inference-profile/${id}`;
  const direct = unique.map((id) => (inferenceProfile(id) ? profileArn(id) : `arn:aws:bedrock:${t.region}::foundation-model/${id}`));
  const statements: Statement[] = [{ Sid: sid, Effect: 'Allow', Action: [...actions], Resource: direct }];
  let n = 0;
  for (const id of unique) {
    const profile = inferenceProfile(id);
    if (!profile) continue;
    n += 1;
    statements.push({
      Sid: `${sid}ViaInferenceProfile${n}`,
      Effect: 'Allow',
      Action: [...actions],
      Resource: `arn:aws:bedrock:${PROFILE_GEOGRAPHIES[profile.geography]}::foundation-model/${profile.model}`,
      Condition: { StringEquals: { 'bedrock:InferenceProfileArn': profileArn(id) } },
    });
  }
  return statements;
}

/** The ARNs of a project table's indexes (only Query applies to an index). */
function indexArns(t: AccessTargets, key: ProjectTable): string[] {
  return PROJECT_TABLES[key].schema.indexes.map((i: { name: string }) => `${t.projectTableArns[key]}/index/${i.name}`);
}

/**
 * The projects feature (issue 11). data-ops: project and card CRUD, deleting a project's cards
 * and chat history, reading history. text-regen (POST /projects/{id}/chat): the project, its
 * cards, and the chat's own history (written and read back).
 */
function projectAccess(workload: Workload, t: AccessTargets): Statement[] {
  const { projects, promptCards, chatHistory } = t.projectTableArns;
  // Every index the application's schemas declare (src/aws/projects-schema.ts), by name.
  const indexes = (Object.keys(PROJECT_TABLES) as ProjectTable[]).flatMap((key) => indexArns(t, key));
  switch (workload) {
    case 'data-ops':
      return [
        { Sid: 'Projects', Effect: 'Allow', Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:Query'], Resource: projects },
        { Sid: 'PromptCards', Effect: 'Allow', Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:Query', 'dynamodb:BatchWriteItem'], Resource: promptCards },
        // History reads, and a project's history deleted with it.
        { Sid: 'ChatHistory', Effect: 'Allow', Action: ['dynamodb:Query', 'dynamodb:BatchWriteItem', 'dynamodb:DeleteItem'], Resource: chatHistory },
        // A user's projects and a project's history (the projects' and chat history's indexes): Query is the only action on an index.
        ...(indexes.length > 0 ? [{ Sid: 'ProjectIndexes', Effect: 'Allow' as const, Action: 'dynamodb:Query', Resource: indexes }] : []),
      ];
    case 'text-regen':
      return [
        { Sid: 'ChatProject', Effect: 'Allow', Action: 'dynamodb:GetItem', Resource: projects },
        { Sid: 'ChatPromptCards', Effect: 'Allow', Action: 'dynamodb:Query', Resource: promptCards },
        { Sid: 'ChatHistory', Effect: 'Allow', Action: ['dynamodb:PutItem', 'dynamodb:Query'], Resource: chatHistory },
      ];
    default:
      return [];
  }
}

/**
 * The prompts bucket. Every workload reads the system prompts (GetObject, conditional on the
 * ETag) and nothing else there. data-ops also serves the admin routes (list, versions, write)
 * and the prompt cards' text (read, write, delete; a project's cards listed to delete them with
 * it); text-regen reads the cards' text for the chat.
 *
 * Cards and prompts share the bucket. Rather than the whole bucket's objects for the cards (an
 * allow-only policy cannot say "except prompts/*"), the cards' grants name the card keys' exact
 * shape (CARD_OBJECTS, PROJECT_CARD_PREFIX), which no `prompts/` key has: no grant to any
 * workload reaches a prompt except the reads and data-ops' admin writes, and nothing may delete
 * a prompt (the admin routes only add versions; the lifecycle rules expire old ones).
 */
function promptAccess(workload: Workload, t: AccessTargets): Statement[] {
  const prompts = `${t.promptsBucketArn}/${PROMPT_OBJECTS}`;
  const cards = `${t.promptsBucketArn}/${CARD_OBJECTS}`;
  const read: Statement = { Sid: 'Prompts', Effect: 'Allow', Action: 's3:GetObject', Resource: prompts };
  switch (workload) {
    case 'data-ops':
      return [
        read,
        // The admin routes (admin group, enforced in code): the keys under prompts/ (ListObjectsV2), a
        // prompt's versions (ListObjectVersions with the key as prefix), one version (GetObject with
        // VersionId), a new version (PutObject; a rollback writes an old version's text again).
        { Sid: 'ListPrompts', Effect: 'Allow', Action: ['s3:ListBucket', 's3:ListBucketVersions'], Resource: t.promptsBucketArn, Condition: { StringLike: { 's3:prefix': PROMPT_OBJECTS } } },
        { Sid: 'PromptsAdmin', Effect: 'Allow', Action: ['s3:GetObjectVersion', 's3:PutObject'], Resource: prompts },
        // Cards' text: read, written, deleted (DeleteObject, and DeleteObjects for a project's).
        { Sid: 'PromptCardText', Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'], Resource: cards },
        // Deleting a project lists its folder (ListObjects, prefix `<project_id>/`) and deletes what it finds.
        { Sid: 'ListProjectCardText', Effect: 'Allow', Action: 's3:ListBucket', Resource: t.promptsBucketArn, Condition: { StringLike: { 's3:prefix': PROJECT_CARD_PREFIX } } },
      ];
    case 'text-regen':
      return [read, { Sid: 'ChatPromptCardText', Effect: 'Allow', Action: 's3:GetObject', Resource: cards }];
    default:
      return [read];
  }
}

export function dataAccess(workload: Workload, t: AccessTargets): Statement[] {
  return [...storyAccess(workload, t), ...promptAccess(workload, t), ...projectAccess(workload, t)];
}

function storyAccess(workload: Workload, t: AccessTargets): Statement[] {
  const table = t.tableArn;
  const tableAndIndexes = [table, `${table}/index/*`];
  const jobObjects = `${t.imagesBucketArn}/${JOB_OBJECTS}`;
  const textModels = modelGrants(t.textModels, 'BedrockText', INVOKE, t);
  // Story images and narration audio (users/<sub>/jobs/<job_id>/, audio/ inside it).
  const images: Statement = { Sid: 'JobMedia', Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject'], Resource: jobObjects };
  const imageKey: Statement = { Sid: 'ImageModelKey', Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: t.imageKeySecretArn };
  const imageModel = modelGrants([t.imageModel], 'BedrockImage', ['bedrock:InvokeModel'], t);
  // Narration (POST /narrate-story, on the image Lambda and the agent): the configured engine
  // only. The audio lands under users/<sub>/jobs/<job_id>/audio/, covered by `images`.
  const speech: Statement =
    t.speechProvider === 'polly'
      ? // SynthesizeSpeech has no resource-level permissions (its only resource type is a
        // pronunciation lexicon, and we use none), so AWS requires Resource "*". Polly has no
        // condition keys of its own: the global aws:RequestedRegion keeps it to this region.
        { Sid: 'PollySpeech', Effect: 'Allow', Action: 'polly:SynthesizeSpeech', Resource: '*', Condition: { StringEquals: { 'aws:RequestedRegion': t.region } } }
      : { Sid: 'SpeechApiKey', Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: t.ttsKeySecretArn };

  switch (workload) {
    // Tracking rows and the job-owner claim are (conditional) puts: the story routes read nothing back.
    case 'text-regen':
      return [{ Sid: 'Sessions', Effect: 'Allow', Action: 'dynamodb:PutItem', Resource: table }, ...textModels];
    case 'image-regen':
      return [images, { Sid: 'Sessions', Effect: 'Allow', Action: 'dynamodb:PutItem', Resource: table }, imageKey, ...imageModel, speech];
    case 'data-ops':
      // The job routes: list, read (narration.json, presigned media) and delete a job's objects.
      return [
        { Sid: 'Sessions', Effect: 'Allow', Action: ['dynamodb:Query', 'dynamodb:GetItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'], Resource: tableAndIndexes },
        { Sid: 'ListJobMedia', Effect: 'Allow', Action: 's3:ListBucket', Resource: t.imagesBucketArn, Condition: { StringLike: { 's3:prefix': JOB_OBJECTS } } },
        { Sid: 'JobMedia', Effect: 'Allow', Action: ['s3:GetObject', 's3:DeleteObject'], Resource: jobObjects },
      ];
    case 'agent':
      // The story agent serves the text, image and narration routes (both Lambdas' access,
      // merged), and runs the Strands agent: its own model, web search through the cache table,
      // and sessions in the media bucket whose ids it claims in the sessions table.
      return [
        // Tracking rows, job claims and session claims (src/aws/dynamo-session-store.ts claimJob).
        { Sid: 'Sessions', Effect: 'Allow', Action: 'dynamodb:PutItem', Resource: table },
        // A session's owner item (`#job#agent-session:<id>`): read after the claim and on a
        // 403/404, deleted with the session (jobOwner, deleteJob) — not the story jobs' owners.
        {
          Sid: 'AgentSessionOwners',
          Effect: 'Allow',
          Action: ['dynamodb:GetItem', 'dynamodb:DeleteItem'],
          Resource: table,
          Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['#job#agent-session:*'] } },
        },
        // Deleting a session also deletes its records (deleteJob: a Query on the table, no index, then BatchWriteItem deletes).
        { Sid: 'AgentSessionRecords', Effect: 'Allow', Action: ['dynamodb:Query', 'dynamodb:BatchWriteItem'], Resource: table },
        // The web search cache: one item per normalised query, read then written (src/aws/search-cache.ts).
        { Sid: 'SearchCache', Effect: 'Allow', Action: ['dynamodb:GetItem', 'dynamodb:PutItem'], Resource: t.searchCacheTableArn },
        images,
        // Sessions (src/aws/s3-agent-sessions.ts): metadata.json, conversation.json, artifacts/,
        // logs/ read (GetObject, HeadObject, presigned GETs), written, and deleted (DeleteObjects).
        { Sid: 'AgentSessions', Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'], Resource: `${t.imagesBucketArn}/${SESSION_OBJECTS}` },
        // ListObjects under users/<sub>/sessions/ (with "/" as delimiter) and users/<sub>/sessions/<id>/[artifacts/].
        // It is also what makes S3 answer a missing session file with 404 (NoSuchKey/NotFound,
        // which the store treats as absent) instead of 403: S3 checks ListBucket with the key as s3:prefix.
        { Sid: 'ListAgentSessions', Effect: 'Allow', Action: 's3:ListBucket', Resource: t.imagesBucketArn, Condition: { StringLike: { 's3:prefix': SESSION_OBJECTS } } },
        imageKey,
        ...imageModel,
        speech,
        // The story routes' models and the agent's own (one of them: the environment schema checks it).
        ...modelGrants([t.agentModel, ...t.textModels], 'BedrockText', INVOKE, t),
      ];
  }
}
