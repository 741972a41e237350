/** Lambda entrypoint: the two image routes. */
import { platformFromEnv } from './apigw';
import { storyRoutesHandler } from './story-routes';

export const IMAGE_ROUTES = ['/generate-story-image', '/regenerate-segment-image'] as const;
export const handler = storyRoutesHandler(IMAGE_ROUTES, platformFromEnv);
