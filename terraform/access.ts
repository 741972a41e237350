/**
 * What each workload may do — only the actions and resources its code uses (the contract with
 * the application code). The policy suite checks the synthesized roles against its own copy.
 */
import type { SpeechProvider } from './environment';
import type { Statement } from './iam';

export interface AccessTargets {
  region: string;
  accountId: string;
  tableArn: string;
  /** The story agent's web search cache (src/aws/search-cache.ts). */
  searchCacheTableArn: string;
  imagesBucketArn: string;
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

export function dataAccess(workload: Workload, t: AccessTargets): Statement[] {
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
