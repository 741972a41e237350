/** Lambda entrypoint: jobs, projects and their prompt cards, chat history, health and the API description (the route table's `data-ops` routes); no model providers. */
import { lambdaHandler, platformFromEnv } from './adapter';

export const handler = lambdaHandler('data-ops', platformFromEnv('data-ops', {}));
