/**
 * Signing in with the Cognito user pool from the browser, through Cognito's own API (the AWS
 * SDK's Cognito client: InitiateAuth with USER_PASSWORD_AUTH, the NEW_PASSWORD_REQUIRED
 * challenge of admin-created users, REFRESH_TOKEN_AUTH, RevokeToken). The local platform's
 * Cognito stand-in answers the same calls. The session is kept in localStorage so the studio
 * remembers its user tomorrow; the ID token is refreshed a minute before it expires.
 */
import {
  CognitoIdentityProviderClient,
  InitiateAuthCommand,
  RespondToAuthChallengeCommand,
  RevokeTokenCommand,
  type AuthenticationResultType,
} from '@aws-sdk/client-cognito-identity-provider';
import { z } from 'zod';
import type { StudioConfig } from './config';

const STORAGE_KEY = 'story42.session';
const REFRESH_MARGIN_MS = 60_000;

const sessionSchema = z.object({
  idToken: z.string().max(20_000),
  accessToken: z.string().max(20_000),
  refreshToken: z.string().max(20_000),
  expiresAt: z.number(),
  username: z.string().max(256),
});
export type AuthSession = z.infer<typeof sessionSchema>;

/** What the ID token says about its user (for display only: the API checks the token itself). */
export interface Identity {
  username: string;
  email: string;
  groups: string[];
}

export class AuthError extends Error {}

/** Cognito asks for a new password (a user the admin created signs in for the first time). */
export interface NewPasswordChallenge {
  username: string;
  session: string;
}

function claims(token: string): Record<string, unknown> {
  const part = token.split('.')[1] ?? '';
  const json = atob(part.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(part.length / 4) * 4, '='));
  const parsed: unknown = JSON.parse(new TextDecoder().decode(Uint8Array.from(json, (c) => c.charCodeAt(0))));
  return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
}

function words(err: unknown): string {
  const name = err instanceof Error ? err.name : '';
  if (name === 'NotAuthorizedException') return 'Incorrect username or password.';
  if (name === 'UserNotFoundException') return 'Incorrect username or password.';
  if (name === 'PasswordResetRequiredException') return 'Your password must be reset by an administrator.';
  if (name === 'InvalidPasswordException') return err instanceof Error ? err.message : 'That password does not meet the rules.';
  if (name === 'TooManyRequestsException' || name === 'LimitExceededException') return 'Too many attempts: wait a minute and try again.';
  if (err instanceof TypeError) return 'The sign-in service cannot be reached. Check your connection and try again.';
  return err instanceof Error && err.message ? err.message : 'Sign-in failed.';
}

export class Auth {
  private readonly client: CognitoIdentityProviderClient;
  private session: AuthSession | undefined;
  private refreshing: Promise<AuthSession | undefined> | undefined;
  private readonly listeners = new Set<() => void>();

  constructor(private readonly config: StudioConfig) {
    this.client = new CognitoIdentityProviderClient({
      region: config.region === 'local' ? 'us-east-1' : config.region,
      ...(config.cognitoEndpoint ? { endpoint: config.cognitoEndpoint } : {}),
      maxAttempts: 2,
    });
    try {
      const parsed = sessionSchema.safeParse(JSON.parse(localStorage.getItem(STORAGE_KEY) ?? 'null'));
      this.session = parsed.success ? parsed.data : undefined;
    } catch {
      this.session = undefined;
    }
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  get signedIn(): boolean {
    return this.session !== undefined;
  }

  identity(): Identity | undefined {
    if (!this.session) return undefined;
    const c = claims(this.session.idToken);
    const groups = Array.isArray(c['cognito:groups']) ? c['cognito:groups'].filter((g): g is string => typeof g === 'string') : [];
    return { username: this.session.username, email: typeof c.email === 'string' ? c.email : this.session.username, groups };
  }

  private store(session: AuthSession | undefined): void {
    this.session = session;
    if (session) localStorage.setItem(STORAGE_KEY, JSON.stringify(session));
    else localStorage.removeItem(STORAGE_KEY);
    for (const l of this.listeners) l();
  }

  private keep(username: string, result: AuthenticationResultType | undefined, refreshToken?: string): void {
    if (!result?.IdToken || !result.AccessToken) throw new AuthError('Cognito answered without tokens.');
    const refresh = result.RefreshToken ?? refreshToken;
    if (!refresh) throw new AuthError('Cognito answered without a refresh token.');
    this.store({ idToken: result.IdToken, accessToken: result.AccessToken, refreshToken: refresh, expiresAt: Date.now() + (result.ExpiresIn ?? 3600) * 1000, username });
  }

  /** Signs in; answers a challenge when Cognito wants a new password first. */
  async signIn(username: string, password: string): Promise<NewPasswordChallenge | undefined> {
    try {
      const out = await this.client.send(new InitiateAuthCommand({ AuthFlow: 'USER_PASSWORD_AUTH', ClientId: this.config.userPoolClientId, AuthParameters: { USERNAME: username, PASSWORD: password } }));
      if (out.ChallengeName === 'NEW_PASSWORD_REQUIRED' && out.Session) return { username, session: out.Session };
      if (out.ChallengeName) throw new AuthError(`Cognito asks for ${out.ChallengeName}, which the studio does not support yet.`);
      this.keep(username, out.AuthenticationResult);
      return undefined;
    } catch (err) {
      throw err instanceof AuthError ? err : new AuthError(words(err));
    }
  }

  async setNewPassword(challenge: NewPasswordChallenge, newPassword: string): Promise<void> {
    try {
      const out = await this.client.send(
        new RespondToAuthChallengeCommand({ ChallengeName: 'NEW_PASSWORD_REQUIRED', ClientId: this.config.userPoolClientId, Session: challenge.session, ChallengeResponses: { USERNAME: challenge.username, NEW_PASSWORD: newPassword } }),
      );
      this.keep(challenge.username, out.AuthenticationResult);
    } catch (err) {
      throw err instanceof AuthError ? err : new AuthError(words(err));
    }
  }

  /** Forgets the session here and revokes its refresh token at Cognito. */
  async signOut(): Promise<void> {
    const session = this.session;
    this.store(undefined);
    if (session) await this.client.send(new RevokeTokenCommand({ ClientId: this.config.userPoolClientId, Token: session.refreshToken })).catch(() => undefined);
  }

  /** A valid ID token, refreshed first when it expires within a minute; undefined when signed out. */
  async idToken(): Promise<string | undefined> {
    const s = this.session;
    if (!s) return undefined;
    if (s.expiresAt - Date.now() > REFRESH_MARGIN_MS) return s.idToken;
    this.refreshing ??= this.refresh(s).finally(() => (this.refreshing = undefined));
    return (await this.refreshing)?.idToken;
  }

  /** Refreshes the tokens now (also after a 401). */
  async refreshNow(): Promise<boolean> {
    const s = this.session;
    if (!s) return false;
    this.refreshing ??= this.refresh(s).finally(() => (this.refreshing = undefined));
    return (await this.refreshing) !== undefined;
  }

  private async refresh(s: AuthSession): Promise<AuthSession | undefined> {
    try {
      const out = await this.client.send(new InitiateAuthCommand({ AuthFlow: 'REFRESH_TOKEN_AUTH', ClientId: this.config.userPoolClientId, AuthParameters: { REFRESH_TOKEN: s.refreshToken } }));
      this.keep(s.username, out.AuthenticationResult, s.refreshToken);
      return this.session;
    } catch (err) {
      // A refresh token Cognito refuses (expired, revoked): the user signs in again.
      if (err instanceof Error && err.name === 'NotAuthorizedException') this.store(undefined);
      return undefined;
    }
  }
}
