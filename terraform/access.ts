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
  imagesBucketArn: string;
  imageKeySecretArn: string;
  /** The external TTS API's key (`<prefix>/tts-api-key`): read only when narration uses it. */
  ttsKeySecretArn: string;
  /** Narration's engine: Amazon Polly, or the external TTS API. */
  speechProvider: SpeechProvider;
}

export type Workload = 'text-regen' | 'image-regen' | 'data-ops' | 'agent';

export function dataAccess(workload: Workload, t: AccessTargets): Statement[] {
  const table = t.tableArn;
  const tableAndIndexes = [table, `${table}/index/*`];
  const userImages = `${t.imagesBucketArn}/users/*`;
  const inRegionModels = `arn:aws:bedrock:${t.region}::foundation-model/*`;
  const inferenceProfiles = `arn:aws:bedrock:${t.region}:${t.accountId}:inference-profile/*`;
  // Converse/ConverseStream authorize as InvokeModel/InvokeModelWithResponseStream. A cross-
  // region inference profile (us.*) routes to the model in other regions of its geography, so
  // the model is allowed in any region, but only when reached through this region's profiles.
  const textModels: Statement[] = [
    { Sid: 'BedrockText', Effect: 'Allow', Action: ['bedrock:InvokeModel', 'bedrock:InvokeModelWithResponseStream'], Resource: [inRegionModels, inferenceProfiles] },
    {
      Sid: 'BedrockTextViaInferenceProfile',
      Effect: 'Allow',
      Action: ['bedrock:InvokeModel', 'bedrock:InvokeModelWithResponseStream'],
      Resource: 'arn:aws:bedrock:*::foundation-model/*',
      Condition: { StringLike: { 'bedrock:InferenceProfileArn': inferenceProfiles } },
    },
  ];
  const images: Statement = { Sid: 'UserImages', Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject'], Resource: userImages };
  const imageKey: Statement = { Sid: 'ImageModelKey', Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: t.imageKeySecretArn };
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
      return [
        images,
        { Sid: 'Sessions', Effect: 'Allow', Action: 'dynamodb:PutItem', Resource: table },
        imageKey,
        { Sid: 'BedrockImage', Effect: 'Allow', Action: 'bedrock:InvokeModel', Resource: inRegionModels },
        speech,
      ];
    case 'data-ops':
      return [
        { Sid: 'Sessions', Effect: 'Allow', Action: ['dynamodb:Query', 'dynamodb:GetItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'], Resource: tableAndIndexes },
        { Sid: 'ListUserImages', Effect: 'Allow', Action: 's3:ListBucket', Resource: t.imagesBucketArn, Condition: { StringLike: { 's3:prefix': 'users/*' } } },
        { Sid: 'UserImages', Effect: 'Allow', Action: ['s3:GetObject', 's3:DeleteObject'], Resource: userImages },
      ];
    case 'agent':
      // The story agent serves the text, image and narration routes: both Lambdas' access, merged.
      return [
        { Sid: 'Sessions', Effect: 'Allow', Action: 'dynamodb:PutItem', Resource: table },
        images,
        imageKey,
        speech,
        ...textModels,
      ];
  }
}
