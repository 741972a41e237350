/**
 * Story42 Studio on the local platform: the built app (web/dist) at `/`, `index.html` for the
 * app's own pages, and `/config.json` naming the local Cognito stand-in and this API — what
 * CloudFront and the deploy script's config.json do on AWS. The same security headers as the
 * CloudFront response-headers policy, with the local servers' origins in the CSP.
 */
import { existsSync } from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import express from 'express';
import { HttpError } from '../core/errors';
import { STUDIO_DIR } from './studio-build';

export interface SiteOptions {
  /** The built app (default web/dist). */
  dir?: string;
  region: string;
  userPoolId: string;
  clientId: string;
  /** The local Cognito stand-in and S3 server (their origins go into config.json and the CSP). */
  cognitoOrigin: string;
  s3Origin: string;
}

/** The Content-Security-Policy: this origin, the Cognito endpoint and the S3 origin of presigned URLs, nothing else. */
export function studioCsp(connect: readonly string[], media: readonly string[]): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    `connect-src 'self' ${connect.join(' ')}`,
    `img-src 'self' data: blob: ${media.join(' ')}`,
    `media-src 'self' blob: ${media.join(' ')}`,
    "font-src 'self' data:",
    "frame-ancestors 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "object-src 'none'",
  ].join('; ');
}

const LOOPBACK_HOST = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|localhost|\[::1\])(:\d{1,5})?$/;

export type SiteHandler = (req: http.IncomingMessage, res: http.ServerResponse, next: (err?: unknown) => void) => void;

export function siteHandler(opts: SiteOptions): SiteHandler {
  const dir = opts.dir ?? STUDIO_DIR;
  const csp = studioCsp([opts.cognitoOrigin, opts.s3Origin], [opts.s3Origin]);
  const app = express();
  app.disable('x-powered-by');
  app.use((_req, res, next) => {
    res.set({ 'Content-Security-Policy': csp, 'X-Content-Type-Options': 'nosniff', 'X-Frame-Options': 'DENY', 'Referrer-Policy': 'strict-origin-when-cross-origin' });
    next();
  });
  app.get('/config.json', (req, res) => {
    // The API is this origin, as the browser named it (a loopback name: the platform listens nowhere else).
    const host = req.headers.host ?? '';
    const origin = LOOPBACK_HOST.test(host) ? `http://${host}` : `http://127.0.0.1:${req.socket.localPort ?? ''}`;
    res.set('Cache-Control', 'no-store').json({ apiUrl: origin, agentUrl: origin, region: opts.region, userPoolId: opts.userPoolId, userPoolClientId: opts.clientId, cognitoEndpoint: opts.cognitoOrigin });
  });
  app.use(
    express.static(dir, {
      index: false,
      setHeaders: (res, file) => res.setHeader('Cache-Control', file.includes(`${path.sep}assets${path.sep}`) ? 'public, max-age=31536000, immutable' : 'no-cache'),
    }),
  );
  // The app's pages (/, /library/…, /agent/…): index.html, which routes in the browser. Anything
  // else goes back to the gateway (`next`), which answers its usual 404.
  app.use((req, res, next) => {
    const wantsPage = (req.method === 'GET' || req.method === 'HEAD') && !path.extname(req.path) && (req.headers.accept ?? '').includes('text/html');
    if (!wantsPage) return next();
    if (!existsSync(path.join(dir, 'index.html'))) return next(new HttpError(503, 'Story42 Studio is not built here: run npm run build:web (npm start builds it)', { 'Retry-After': '30' }));
    // Relative to its root: the build may sit under a dot-directory (.tmp), which send refuses in a full path.
    res.set('Cache-Control', 'no-cache').sendFile('index.html', { root: dir });
  });
  return app;
}
