/** Lambda entrypoint: GET /jobs, GET /jobs/{job_id}, DELETE /jobs/{job_id}. */
import { notFound } from '../core/errors';
import type { Platform } from '../platform/platform';
import { apiHandler, platformFromEnv, respond, routeOf, type RouteHandler } from './apigw';

export function dataOpsHandler(getPlatform: () => Platform): RouteHandler {
  return apiHandler(getPlatform, async (platform, event, caller, requestId) => {
    const route = routeOf(event);
    const jobId = event.pathParameters?.job_id;
    const query = event.queryStringParameters ?? {};
    if (route === '/jobs' && event.httpMethod === 'GET') return respond(200, await platform.jobs.list(caller, query, requestId));
    if (route === '/jobs/{job_id}' && event.httpMethod === 'GET') return respond(200, await platform.jobs.get(caller, jobId, requestId));
    if (route === '/jobs/{job_id}' && event.httpMethod === 'DELETE') return respond(200, await platform.jobs.delete(caller, jobId, requestId));
    throw notFound(`No route for ${event.httpMethod} ${route}`);
  });
}

export const handler = dataOpsHandler(platformFromEnv);
