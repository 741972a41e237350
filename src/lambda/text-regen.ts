/** Lambda entrypoint: the four text routes. */
import { platformFromEnv } from './apigw';
import { storyRoutesHandler } from './story-routes';

export const TEXT_ROUTES = ['/generate-topics-ideas', '/generate-story-outline', '/generate-story', '/regenerate-segment'] as const;
export const handler = storyRoutesHandler(TEXT_ROUTES, platformFromEnv);
