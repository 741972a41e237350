/**
 * The web studio's CloudFront pieces that are plain data: its Content-Security-Policy and the
 * viewer-request function that serves /index.html for the app's routes.
 */

/** What the site's pages may connect to, besides their own origin. */
export interface CspSources {
  region: string;
  /** The images bucket's name: the app loads images and narration from presigned GET URLs on it. */
  imagesBucket: string;
  /** The REST API's origin (https://<id>.execute-api.<region>.amazonaws.com); absent in phase 1 (no API yet). */
  apiOrigin?: string;
  /** The agent's origin when it is not the site's own (an HTTPS host of its own); absent when CloudFront routes /agent/*. */
  agentOrigin?: string;
}

/** Cognito's user pool API the browser signs in with (InitiateAuth USER_PASSWORD_AUTH / REFRESH_TOKEN_AUTH). */
export const cognitoIdpOrigin = (region: string) => `https://cognito-idp.${region}.amazonaws.com`;

/**
 * The images bucket's origins as the application presigns them: AWS SDK v3 on AWS (no custom
 * endpoint, no path style, src/aws/clients.ts) uses the regional virtual-hosted name
 * `<bucket>.s3.<region>.amazonaws.com` in every region, us-east-1 included, never the legacy
 * global `<bucket>.s3.amazonaws.com`.
 */
export const imagesBucketOrigins = (bucket: string, region: string) => [`https://${bucket}.s3.${region}.amazonaws.com`];

/** The CSP directives, in order. */
export function cspDirectives(s: CspSources): Array<[string, string[]]> {
  const bucket = imagesBucketOrigins(s.imagesBucket, s.region);
  return [
    ['default-src', ["'self'"]],
    ['script-src', ["'self'"]],
    // UI libraries inject style elements at run time.
    ['style-src', ["'self'", "'unsafe-inline'"]],
    ['connect-src', ["'self'", ...(s.apiOrigin ? [s.apiOrigin] : []), cognitoIdpOrigin(s.region), ...(s.agentOrigin ? [s.agentOrigin] : []), ...bucket]],
    ['img-src', ["'self'", 'data:', 'blob:', ...bucket]],
    ['media-src', ["'self'", 'blob:', ...bucket]],
    ['frame-ancestors', ["'none'"]],
    ['base-uri', ["'self'"]],
    ['form-action', ["'self'"]],
    ['object-src', ["'none'"]],
  ];
}

export function siteCsp(s: CspSources): string {
  return cspDirectives(s)
    .map(([name, sources]) => `${name} ${sources.join(' ')}`)
    .join('; ');
}

/**
 * CloudFront Function (cloudfront-js-2.0), viewer request, on the default behaviour only: a path
 * whose last segment has no dot (an app route such as /projects/42) is served /index.html;
 * files (/assets/app-1a2b.js, /config.json) pass as they are. /agent/* has its own behaviour and
 * never runs it.
 */
export const SPA_REWRITE_FUNCTION = `function handler(event) {
  var request = event.request;
  var last = request.uri.split('/').pop();
  if (last.indexOf('.') === -1) {
    request.uri = '/index.html';
  }
  return request;
}
`;
