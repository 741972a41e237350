/**
 * ID-token verification the way API Gateway's Cognito authorizer does it: RS256 signature
 * against the pool's JWKS, issuer, audience (the app client id), `token_use` = id, expiry.
 * Works with real Cognito and with cognito-local (whose pool ids look like `local_XXXX`).
 *
 * Why `jose` rather than `aws-jwt-verify`: aws-jwt-verify's `CognitoJwtVerifier` only accepts
 * real pool ids and issuers (cognito-local's are neither), so it would mean its generic
 * `JwtVerifier` plus the same `token_use` check we make here — no check gained, one more
 * dependency. jose is well kept, verifies RS256 against a cached JWKS with a fetch deadline
 * (`timeoutDuration`) and a refetch cooldown, and runs the same in every door.
 */
import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload } from 'jose';
import { DependencyUnavailableError } from '../core/errors';
import { isNetworkFailure } from './failures';

export interface AuthSettings {
  issuer: string;
  clientId: string;
  jwksUri: string;
  /** Deadline of a JWKS fetch (STORY42_JWKS_TIMEOUT_MS). */
  timeoutMs: number;
}

export class TokenVerifier {
  private readonly jwks: ReturnType<typeof createRemoteJWKSet>;

  constructor(private readonly settings: AuthSettings) {
    this.jwks = createRemoteJWKSet(new URL(settings.jwksUri), { timeoutDuration: settings.timeoutMs, cooldownDuration: 30_000, cacheMaxAge: 600_000 });
  }

  /**
   * The verified claims, or `undefined` for any token that is not a valid ID token. When the
   * key set cannot be fetched (Cognito down, slow or unreachable) it throws a 503 instead: the
   * token may well be valid.
   */
  async verify(authorization: string | undefined): Promise<JWTPayload | undefined> {
    if (!authorization) return undefined;
    const token = authorization.replace(/^Bearer\s+/i, '').trim();
    if (!token || token.split('.').length !== 3) return undefined;
    try {
      const { payload } = await jwtVerify(token, this.jwks, {
        issuer: this.settings.issuer,
        audience: this.settings.clientId,
        algorithms: ['RS256'],
        requiredClaims: ['sub', 'exp', 'iat'],
      });
      if (payload.token_use !== 'id') return undefined;
      return payload;
    } catch (err) {
      const keySetFailed = err instanceof errors.JWKSTimeout || err instanceof errors.JWKSInvalid || (err instanceof errors.JOSEError && err.message.includes('JSON Web Key Set'));
      if (keySetFailed || isNetworkFailure(err)) throw new DependencyUnavailableError('The sign-in service is unavailable; try again shortly');
      return undefined;
    }
  }
}

/** Claims as API Gateway's Cognito authorizer hands them to a Lambda: every value a string. */
export function claimsAsStrings(payload: JWTPayload): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(payload)) {
    if (v === undefined || v === null) continue;
    if (k === 'exp' || k === 'iat' || k === 'auth_time') {
      out[k] = typeof v === 'number' ? new Date(v * 1000).toUTCString() : String(v);
    } else if (Array.isArray(v)) {
      out[k] = v.map(String).join(',');
    } else {
      out[k] = typeof v === 'object' ? JSON.stringify(v) : String(v);
    }
  }
  return out;
}
