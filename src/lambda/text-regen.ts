/** Lambda entrypoint: the text routes (the route table's `text-regen` routes, the project chat among them), Bedrock text. */
import { AWS_CHAT, AWS_TEXT } from '../platform/text-providers';
import { lambdaHandler, platformFromEnv } from './adapter';

export const handler = lambdaHandler('text-regen', platformFromEnv('text-regen', { text: AWS_TEXT, chat: AWS_CHAT }));
