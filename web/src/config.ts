/**
 * The studio's runtime settings, read from /config.json on its own origin: written by
 * `scripts/deploy.sh` from the stack's outputs on AWS, and served by `npm start` locally.
 */
import { z } from 'zod';

const url = z.string().url().max(2048).transform((u) => u.replace(/\/+$/, ''));

export const studioConfigSchema = z.object({
  /** The API's base URL (API Gateway's stage URL; locally the platform's own origin). */
  apiUrl: url,
  /** The story agent's base URL (the ALB or the site's own origin). */
  agentUrl: url,
  region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/).or(z.literal('local')),
  userPoolId: z.string().min(1).max(128),
  userPoolClientId: z.string().min(1).max(128),
  /** Only locally: the Cognito stand-in's endpoint. On AWS, Cognito's regional endpoint. */
  cognitoEndpoint: url.optional(),
});
export type StudioConfig = z.infer<typeof studioConfigSchema>;

export async function loadStudioConfig(): Promise<StudioConfig> {
  const res = await fetch('/config.json', { cache: 'no-store' });
  if (!res.ok) throw new Error(`The studio's settings (/config.json) could not be read: HTTP ${res.status}`);
  const parsed = studioConfigSchema.safeParse(await res.json());
  if (!parsed.success) throw new Error(`The studio's settings (/config.json) are not valid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return parsed.data;
}
