/** Lambda entrypoint: the text routes (the route table's `text-regen` routes), Bedrock text. */
import { AWS_TEXT } from '../platform/text-providers';
import { lambdaHandler, platformFromEnv } from './adapter';

export const handler = lambdaHandler('text-regen', platformFromEnv('text-regen', { text: AWS_TEXT }));
