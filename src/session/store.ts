/**
 * The session plumbing: the session properties express-oxd uses (`oxd`, `oxdLogins`,
 * `oxdUma`, or the names the `sessionKey` option gives), the logins and claims gatherings in
 * progress, and saving, regenerating and destroying the session. Nothing else in the session
 * is read or written, except that a login regenerates and a logout destroys the whole session.
 *
 * Works with express-session and any middleware that provides the same `req.session`
 * contract (`save`, `regenerate`, `destroy` taking callbacks).
 */
import type { IncomingMessage } from 'node:http';
// Type-only: brings express-session's declarations in so they can be augmented below.
import type {} from 'express-session';
import { ERROR_CODES, OxdAuthError, sessionStoreUnavailable } from '../errors';
import type { StoredLogin } from './login';

/** One login that was started (redirected to the OP) and has not come back yet. */
export interface PendingLogin {
  state: string;
  nonce?: string | undefined;
  /** Same-origin path to go to after the login. */
  returnTo: string;
  /** Milliseconds since the epoch. */
  createdAt: number;
  /** A `prompt=none` login: "no OP session" answers continue anonymously. */
  silent?: boolean | undefined;
  /** What `getLoginState` returned, for `afterCallback`. */
  appState?: Record<string, unknown> | undefined;
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

/**
 * The part of a session object express-oxd relies on. The login and the logins in progress
 * are under `oxd` / `oxdLogins` unless the `sessionKey` option names other properties.
 */
export interface OxdSession {
  [key: string]: unknown;
  oxd?: StoredLogin | undefined;
  oxdLogins?: PendingLogin[] | undefined;
  oxdUma?: OxdUmaSessionData | undefined;
  save(callback: (err?: unknown) => void): unknown;
  regenerate(callback: (err?: unknown) => void): unknown;
  destroy(callback: (err?: unknown) => void): unknown;
}

/**
 * A node:http request as the middleware sees it under Express or Connect. Its `oxd` field
 * (`req.oxd`) is declared next to the class it holds, in `middleware/context.ts`.
 */
export interface OxdIncomingMessage extends IncomingMessage {
  session?: OxdSession | undefined;
  sessionID?: string | undefined;
  /** Set by Express and Connect when the middleware is mounted under a path. */
  originalUrl?: string | undefined;
}

declare module 'express-session' {
  interface SessionData {
    /** The logged-in user (express-oxd). */
    oxd: StoredLogin;
    /** Logins in progress (express-oxd). */
    oxdLogins: PendingLogin[];
    /** UMA RPT and claims gatherings in progress (express-oxd). */
    oxdUma: OxdUmaSessionData;
  }
}

/** The login kept under `key` (the `sessionKey` option), if any. */
export function sessionLogin(
  session: OxdSession | undefined,
  key: string,
): StoredLogin | undefined {
  const data = session?.[key];
  return typeof data === 'object' && data !== null ? (data as StoredLogin) : undefined;
}

/** Session properties of every `oxdAuth()` created in this process (their logins survive). */
const sessionKeysInUse = new Set<string>();

/** Records the session properties of one `oxdAuth()`. */
export function registerSessionKeys(...keys: string[]): void {
  for (const key of keys) sessionKeysInUse.add(key);
}

/** The session properties of every `oxdAuth()` created in this process. */
export function registeredSessionKeys(): ReadonlySet<string> {
  return sessionKeysInUse;
}

/**
 * The values of other `oxdAuth()` instances' session properties, to carry into a session
 * regenerated at a login (so logging in at one does not log out of the other).
 */
export function otherLogins(session: OxdSession, own: readonly string[]): [string, unknown][] {
  const kept: [string, unknown][] = [];
  for (const key of sessionKeysInUse) {
    if (!own.includes(key) && session[key] !== undefined) kept.push([key, session[key]]);
  }
  return kept;
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

/** The session properties of one `oxdAuth()` instance: its login, its logins in progress. */
export interface OwnSessionKeys {
  readonly sessionKey: string;
  readonly loginsKey: string;
}

/**
 * Whether a session outlives the end of the login of the instance `own`: it holds logins of
 * other `oxdAuth()` instances, which stay. Otherwise ending the login ends the session.
 */
export function holdsOtherLogins(session: OxdSession, own: OwnSessionKeys): boolean {
  return otherLogins(session, [own.sessionKey, own.loginsKey]).length > 0;
}

/**
 * Ends the login of the instance `own` in the request's session: when the session holds other
 * instances' logins, only the properties `drop` are deleted and the session saved; otherwise
 * the whole session is destroyed.
 */
export async function endOwnLogin(
  session: OxdSession,
  own: OwnSessionKeys,
  drop: readonly string[],
): Promise<void> {
  if (!holdsOtherLogins(session, own)) {
    await destroySession(session);
    return;
  }
  for (const key of drop) delete session[key];
  await saveSession(session);
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

/**
 * The entries of a list of things in progress (logins, UMA claims gatherings) that are still
 * valid at `now`: well-formed, and started less than `ttlMs` ago. Order kept (newest last).
 */
export function livePending<T extends { state: string; createdAt: number }>(
  list: unknown,
  now: number,
  ttlMs: number,
): T[] {
  if (!Array.isArray(list)) return [];
  return list.filter(
    (entry): entry is T =>
      typeof entry === 'object' &&
      entry !== null &&
      typeof entry.state === 'string' &&
      typeof entry.createdAt === 'number' &&
      entry.createdAt <= now &&
      now - entry.createdAt < ttlMs,
  );
}
