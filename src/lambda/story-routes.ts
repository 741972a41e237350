/** Lambda handler factory for a set of story routes (text-regen and image-regen share it). */
import { notFound } from '../core/errors';
import { isStoryPath, type StoryPath } from '../core/story-service';
import type { Platform } from '../platform/platform';
import { apiHandler, parseJsonBody, respond, routeOf, type RouteHandler } from './apigw';

export function storyRoutesHandler(paths: readonly StoryPath[], getPlatform: () => Platform): RouteHandler {
  return apiHandler(getPlatform, async (platform, event, caller, requestId) => {
    const path = routeOf(event);
    if (event.httpMethod !== 'POST' || !isStoryPath(path) || !paths.includes(path)) throw notFound(`No route for ${event.httpMethod} ${path}`);
    const body = parseJsonBody(event, platform.config.maxBodyBytes);
    const out = await platform.story.call(path, body, { caller, requestId });
    return respond(200, out);
  });
}
