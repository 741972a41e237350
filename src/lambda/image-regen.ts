/** Lambda entrypoint: the image routes (the route table's `image-regen` routes), Bedrock or Gemini images. */
import { AWS_IMAGE } from '../platform/image-providers';
import { lambdaHandler, platformFromEnv } from './adapter';

export const handler = lambdaHandler('image-regen', platformFromEnv('image-regen', { image: AWS_IMAGE }));
