/**
 * What express-oxd keeps in `req.session`, and typed access to it. Three keys are used:
 * `oxd` (the logged-in user: tokens and claims), `oxdLogins` (logins started but not
 * finished yet) and `oxdUma` (the UMA RPT and claims gatherings of `umaClaims()`). Nothing
 * else in the session is read or written, except that a login regenerates and a logout
 * destroys the whole session.
 *
 * Works with express-session and any middleware that provides the same `req.session`
 * contract (`save`, `regenerate`, `destroy` taking callbacks).
 */
import type { IncomingMessage } from 'node:http';
// Type-only: brings express-session's declarations in so they can be augmented below.
import type {} from 'express-session';
import { ERROR_CODES, OxdAuthError } from './errors';
import type { Claims } from './middleware/claims';
import type { OxdContext } from './middleware/context';
import { sessionStoreUnavailable } from './middleware/session-store';

/** Tokens of the logged-in user, wire names as oxd returns them. */
export interface OxdSessionTokens {
  access_token: string;
  id_token?: string | undefined;
  refresh_token?: string | undefined;
  /** When the access token expires, in milliseconds since the epoch; absent when unknown. */
  expires_at?: number | undefined;
}

/** Stored under `req.session.oxd` once the user has logged in. */
export interface OxdSessionData {
  tokens: OxdSessionTokens;
  /** UserInfo claims, normalised (one-element lists unwrapped). */
  claims: Claims;
  /** UserInfo claims exactly as oxd returned them. */
  rawClaims: Record<string, unknown>;
  /** ID-token claims, normalised, when oxd returned them. */
  idTokenClaims?: Claims | undefined;
  /** The OP's session id (`sid` of the ID token), matched by front-channel logout. */
  sid?: string | undefined;
  /** The issuer of the ID token (`iss`), matched by front-channel logout. */
  iss?: string | undefined;
}

/** One login that was started (redirected to the OP) and has not come back yet. */
export interface PendingLogin {
  state: string;
  nonce?: string | undefined;
  /** Same-origin path to go to after the login. */
  returnTo: string;
  /** Milliseconds since the epoch. */
  createdAt: number;
}

/** A UMA claims gathering that was started (user sent to the AS) and has not come back yet. */
export interface PendingUmaClaims {
  state: string;
  /** Same-origin path to go to once the RPT is obtained. */
  returnTo: string;
  /** Milliseconds since the epoch. */
  createdAt: number;
  /** Gathering rounds so far for this request (the AS may ask again). */
  round: number;
}

/** Stored under `req.session.oxdUma` by `umaClaims()`: the session's RPT and gatherings. */
export interface OxdUmaSessionData {
  /** The RPT obtained for this session (upgraded with each new permission). */
  rpt?: string | undefined;
  /** The persisted claims token of the last exchange. */
  pct?: string | undefined;
  pending?: PendingUmaClaims[] | undefined;
}

/** The part of a session object express-oxd relies on. */
export interface OxdSession {
  oxd?: OxdSessionData | undefined;
  oxdLogins?: PendingLogin[] | undefined;
  oxdUma?: OxdUmaSessionData | undefined;
  save(callback: (err?: unknown) => void): unknown;
  regenerate(callback: (err?: unknown) => void): unknown;
  destroy(callback: (err?: unknown) => void): unknown;
}

/** A node:http request as the middleware sees it under Express or Connect. */
export interface OxdIncomingMessage extends IncomingMessage {
  session?: OxdSession | undefined;
  sessionID?: string | undefined;
  /** Set by Express and Connect when the middleware is mounted under a path. */
  originalUrl?: string | undefined;
  oxd?: OxdContext | undefined;
}

declare module 'express-session' {
  interface SessionData {
    /** The logged-in user (express-oxd). */
    oxd: OxdSessionData;
    /** Logins in progress (express-oxd). */
    oxdLogins: PendingLogin[];
    /** UMA RPT and claims gatherings in progress (express-oxd). */
    oxdUma: OxdUmaSessionData;
  }
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** Login state and actions of this request, set by `oxdAuth()`. */
      oxd: OxdContext;
    }
  }
}

/** Runs a session method; a store failure rejects with `OXD_SESSION_STORE_UNAVAILABLE` (503). */
function callbackToPromise(run: (callback: (err?: unknown) => void) => unknown): Promise<void> {
  return new Promise((resolve, reject) => {
    run((err) => (err ? reject(sessionStoreUnavailable(err)) : resolve()));
  });
}

/** Persists the session now (before a redirect, so the next request sees the change). */
export function saveSession(session: OxdSession): Promise<void> {
  return callbackToPromise((done) => session.save(done));
}

/** Replaces the session with a new one under a new id; resolves with the new session. */
export async function regenerateSession(req: OxdIncomingMessage): Promise<OxdSession> {
  const session = req.session;
  if (!session) throw new TypeError('no session to regenerate');
  await callbackToPromise((done) => session.regenerate(done));
  const next = req.session;
  if (!next) throw new TypeError('the session middleware set no session after regenerate()');
  return next;
}

/** Deletes the session from the store. */
export function destroySession(session: OxdSession): Promise<void> {
  return callbackToPromise((done) => session.destroy(done));
}

/**
 * The request's session, or an `OxdAuthError` (`OXD_SESSION_MISSING`) explaining that a
 * session middleware has to run first.
 */
export function requireSession(req: OxdIncomingMessage): OxdSession {
  const session = req.session;
  if (session && typeof session.save === 'function') return session;
  throw new OxdAuthError(
    ERROR_CODES.SESSION_MISSING,
    'No session on the request. Add a session middleware before oxdAuth(), e.g. ' +
      'app.use(session({ secret, resave: false, saveUninitialized: false })) from express-session, ' +
      'then app.use(oxdAuth(...)).',
    // Fixed text naming no file or host: shown, so the developer sees what to add.
    { status: 500, expose: true },
  );
}
