/**
 * Lambda entrypoint: the media routes (the route table's `image-regen` routes) — panel images
 * (Bedrock or Gemini) and narration (Polly or the external TTS API). Both turn a written story
 * into files under the job's prefix, run for minutes and need the same S3 grants, so they share
 * one function; only this function (and the agent) may call Polly or read the TTS key.
 */
import { AWS_IMAGE } from '../platform/image-providers';
import { AWS_SPEECH } from '../platform/speech-providers';
import { lambdaHandler, platformFromEnv } from './adapter';

export const handler = lambdaHandler('image-regen', platformFromEnv('image-regen', { image: AWS_IMAGE, speech: AWS_SPEECH }));
