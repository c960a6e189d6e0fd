/**
 * Access tokens in the session: building the stored form from oxd's answers, expiry, and
 * the refresh `requireAuth()`, `fetchUserInfo()` and `req.oxd.refresh()` rely on.
 *
 * Several instances of an application may serve one session (a shared session store behind
 * a load balancer), and an OP that rotates refresh tokens accepts each one once (replaying
 * it may revoke the whole grant). So a refresh is coordinated through the session store,
 * never in one process's memory alone: before asking the OP, the stored session is read
 * again and newer tokens another instance saved are adopted; with a `refreshLock` only one
 * instance at a time refreshes a session, saving the new tokens before it lets go, while
 * the others wait for them to appear in the store.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { debuglog } from 'node:util';
import { ERROR_CODES, OxdCommandError, OxdError, sessionStoreUnavailable } from '../errors';
import { keepLease, type Lease } from '../lease';
import type { ResultOf } from '../oxd/commands';
import { keepClaimsAcrossTokens, type OxdSessionTokens, type StoredLogin } from '../session/login';
import { saveSession, type OxdIncomingMessage, type OxdSession } from '../session/store';
import type { OxdRuntime } from './runtime';
import { traced } from '../report';
import { underRequest } from '../telemetry';

const debug = debuglog('express-oxd');

/** The token fields of a (checked) `get_tokens_by_code` / refresh result. */
type TokenReply = ResultOf<'getAccessTokenByRefreshToken'> & { id_token?: string };

/**
 * The stored tokens from a `get_tokens_by_code` / `get_access_token_by_refresh_token` reply.
 * `expires_in` of -1 or absent (the OP did not say) means no known expiry. Tokens the reply
 * lacks (or sends empty) are kept from `previous` (a refresh usually returns no ID token,
 * maybe no new refresh token). The expiry is kept `toleranceMs` (`clockTolerance`) ahead of
 * what the OP said, but never more than a tenth of the token's lifetime ahead, so that a server
 * whose clock runs ahead never sees a token this one thinks still valid expire.
 */
export function tokensFromReply(
  reply: TokenReply,
  now: number,
  previous?: OxdSessionTokens,
  toleranceMs = 0,
): OxdSessionTokens {
  const tokens: OxdSessionTokens = { access_token: reply.access_token };
  const idToken = reply.id_token || previous?.id_token;
  if (idToken) tokens.id_token = idToken;
  const refreshToken = reply.refresh_token || previous?.refresh_token;
  if (refreshToken) tokens.refresh_token = refreshToken;
  const expiresIn = reply.expires_in;
  if (expiresIn !== undefined && expiresIn > 0) {
    const lifetime = expiresIn * 1000;
    tokens.expires_at = now + lifetime - Math.min(toleranceMs, lifetime / 10);
  }
  return tokens;
}

/** True when the access token's known expiry has passed. */
export function isExpired(tokens: OxdSessionTokens, now: number): boolean {
  return tokens.expires_at !== undefined && tokens.expires_at <= now;
}

/** True when the access token expires within `leewayMs` (or has expired). */
export function isDue(tokens: OxdSessionTokens, now: number, leewayMs: number): boolean {
  return tokens.expires_at !== undefined && tokens.expires_at - leewayMs <= now;
}

/** Time on top of one oxd command's deadline for reading and saving the session. */
const LOCK_MARGIN_MS = 5_000;

/**
 * The lease of a session's refresh lock (and how long others wait for it): one oxd command
 * at the configured timeouts (connecting, then oxd's answer) plus the session reads and
 * writes around it. A lock with `extend()` renews it while the refresh runs.
 */
function refreshLeaseMs(runtime: Pick<OxdRuntime, 'config'>): number {
  const { connectTimeoutMs, responseTimeoutMs } = runtime.config.oxd;
  return connectTimeoutMs + responseTimeoutMs + LOCK_MARGIN_MS;
}

/** How often a waiting instance looks for the tokens the lock holder saves. */
const POLL_MS = 40;

interface StoreLike {
  get(sid: string, callback: (err: unknown, session?: unknown) => void): unknown;
}

/** The tokens the session store holds for this request's session now, if it can say. */
async function storedTokens(
  req: OxdIncomingMessage,
  key: string,
): Promise<OxdSessionTokens | undefined> {
  const store = (req as { sessionStore?: StoreLike }).sessionStore;
  const sid = req.sessionID;
  if (!store || typeof store.get !== 'function' || sid === undefined) return undefined;
  const stored = await new Promise<unknown>((resolve, reject) => {
    store.get(sid, (err, session) =>
      err ? reject(sessionStoreUnavailable(err)) : resolve(session),
    );
  });
  const login = (stored as Record<string, { tokens?: OxdSessionTokens } | undefined> | null)?.[key];
  const tokens = login?.tokens;
  return typeof tokens?.access_token === 'string' ? tokens : undefined;
}

/**
 * Tokens another instance saved after `used` was loaded: a different access token that is
 * not due for refresh (or, for a forced refresh, any different access token).
 */
async function newerStored(
  runtime: OxdRuntime,
  req: OxdIncomingMessage,
  used: OxdSessionTokens,
  force: boolean,
): Promise<OxdSessionTokens | undefined> {
  const stored = await storedTokens(req, runtime.sessionKey);
  if (!stored || stored.access_token === used.access_token) return undefined;
  if (!force && isDue(stored, runtime.clock(), runtime.refreshLeewayMs)) return undefined;
  return stored;
}

async function requestRefresh(
  runtime: OxdRuntime,
  previous: OxdSessionTokens,
  req: OxdIncomingMessage,
  scope?: readonly string[],
): Promise<OxdSessionTokens> {
  const refreshToken = previous.refresh_token;
  if (!refreshToken) return previous;
  const reply = await underRequest(req, () =>
    runtime.client.getAccessTokenByRefreshToken({
      refresh_token: refreshToken,
      ...(scope === undefined ? {} : { scope: [...scope] }),
    }),
  );
  return tokensFromReply(reply, runtime.clock(), previous, runtime.clockToleranceMs);
}

/**
 * New tokens for the session: adopted from the store when another instance refreshed
 * already, else obtained from the OP (under the shared lock when there is one) and saved to
 * the store at once, so that other instances find them instead of refreshing again.
 */
async function obtainTokens(
  runtime: OxdRuntime,
  req: OxdIncomingMessage,
  session: OxdSession,
  data: StoredLogin,
  force: boolean,
  scope?: readonly string[],
): Promise<OxdSessionTokens> {
  const used = data.tokens;
  // A refresh asking for a scope wants tokens of that scope: none adopted from elsewhere.
  const adopt = scope === undefined;
  const adopted = adopt ? await newerStored(runtime, req, used, force) : undefined;
  if (adopted) return adopted;
  const lock = runtime.refreshLock;
  const sid = req.sessionID;
  if (!lock || sid === undefined) return requestRefresh(runtime, used, req, scope);
  const key = `oxd-refresh:${sid}`;
  const ttlMs = refreshLeaseMs(runtime);
  const deadline = Date.now() + ttlMs;
  for (;;) {
    let owner: string | undefined;
    try {
      owner = await lock.acquire(key, ttlMs);
    } catch (err) {
      throw sessionStoreUnavailable(err);
    }
    if (owner !== undefined) {
      const held = owner;
      const lease =
        typeof lock.extend === 'function'
          ? keepLease({
              ttlMs,
              renew: () => (lock.extend as NonNullable<typeof lock.extend>)(key, held, ttlMs),
              onLost: (reason) => debug('refresh: lost the lock (%s)', reason),
            })
          : undefined;
      try {
        const meanwhile = adopt ? await newerStored(runtime, req, used, force) : undefined;
        if (meanwhile) return meanwhile;
        if (lease?.lost) throw lostLease(lease);
        // Once asked, the OP may rotate the refresh token: the answer is saved even if the
        // lease is lost meanwhile, since those are the only tokens that still work.
        const fresh = await requestRefresh(runtime, used, req, scope);
        if (session[runtime.sessionKey] === data) {
          keepClaimsAcrossTokens(data, fresh);
          data.tokens = fresh;
          await saveSession(session);
        }
        return fresh;
      } finally {
        lease?.stop();
        await lock.release(key, owner).catch((err: unknown) => {
          debug('refresh: could not release the lock (%s); it expires by itself', String(err));
        });
      }
    }
    await sleep(POLL_MS);
    const saved = adopt ? await newerStored(runtime, req, used, force) : undefined;
    if (saved) return saved;
    if (Date.now() >= deadline) {
      throw new OxdError(
        ERROR_CODES.RESPONSE_TIMEOUT,
        'another instance has been refreshing this session for too long; try again',
        { status: 503 },
      );
    }
  }
}

/** A refresh abandoned before asking the OP: its lock went to another instance. */
function lostLease(lease: Lease): OxdError {
  return new OxdError(
    ERROR_CODES.RESPONSE_TIMEOUT,
    'the refresh lock of this session was lost before the refresh started ' +
      `(${String((lease.signal.reason as Error | undefined)?.message)}); try again`,
    { status: 503 },
  );
}

/** OAuth 2.0 token endpoint errors (RFC 6749 §5.2, RFC 6750 §3.1) and oxd's own refusal. */
const REFUSALS: ReadonlySet<string> = new Set([
  'invalid_grant',
  'invalid_request',
  'invalid_client',
  'unauthorized_client',
  'unsupported_grant_type',
  'invalid_scope',
  'invalid_token',
  'access_denied',
  // oxd: the refresh token is missing or malformed.
  'bad_request',
]);

/**
 * True when oxd's error says the OP refused the grant (a refresh token, or a login's code):
 * an OAuth error, or the OP's token endpoint answering 4xx (oxd passes it on as `http_status_4xx`), except 408 and 429,
 * which say "not now". Everything else (`internal_error` when oxd cannot reach the OP,
 * `http_status_5xx`, unknown errors) is an outage: the grant may still be good.
 */
export function isRefusal(err: OxdCommandError): boolean {
  if (REFUSALS.has(err.error)) return true;
  const status = /^http_status_(\d{3})$/.exec(err.error)?.[1];
  if (status === undefined) return false;
  const code = Number(status);
  return code >= 400 && code < 500 && code !== 408 && code !== 429;
}

/** A refresh token the OP refused ends the login: an outcome of the refresh, not a failure. */
function refusedOutcome(err: unknown): string | undefined {
  return err instanceof OxdCommandError && isRefusal(err) ? 'refused' : undefined;
}

/** The error a refresh that failed for want of oxd or the OP becomes: 503, login kept. */
function outage(err: OxdCommandError): OxdCommandError {
  return new OxdCommandError(
    err.command,
    {
      error: err.error,
      ...(err.error_description === undefined ? {} : { error_description: err.error_description }),
      details: err.details,
      ...(err.httpStatus === undefined ? {} : { httpStatus: err.httpStatus }),
    },
    { status: 503, cause: err },
  );
}

/**
 * Whether an error oxd answered to a refresh ends the login. Every oxd release answers
 * `internal_error` both when the OP refuses the refresh token and when the OP cannot be
 * reached (`GetAccessTokenByRefreshTokenOperation`), so the two cannot be told apart: once
 * the access token has expired, any error oxd answered ends the login (the user logs in again,
 * which shows the OP's own failure if it is down). Before expiry only a refusal
 * ({@link isRefusal}) does; anything else keeps the still valid token for a later try.
 */
function endsLogin(err: OxdCommandError, used: OxdSessionTokens, now: number): boolean {
  return isRefusal(err) || (isExpired(used, now) && !oxdUnreachable(err));
}

/**
 * The refresh errors that ended the login, decided once where the refresh failed (with the
 * tokens it used and the clock then); every other oxd error of a refresh is the
 * {@link outage} it became. The log level and every request waiting for that refresh go by it.
 */
const ENDED_LOGIN = new WeakSet<OxdCommandError>();

/**
 * Answers that come from in front of oxd and say oxd itself could not be reached: a gateway's
 * 502/503/504, or the 3.x https-extension's 500 when its oxd-server is down (`RestResource`:
 * "Command client is not able to connect to oxd-server."). oxd never answers a refresh so.
 */
function oxdUnreachable(err: OxdCommandError): boolean {
  const status = err.httpStatus;
  if (status === 502 || status === 503 || status === 504) return true;
  return status === 500 && /not able to connect to oxd-server/i.test(err.error_description ?? '');
}

/**
 * Refreshes the session's access token with the refresh token, sharing one refresh between
 * concurrent requests of the session in this process and (see the top of this file) with
 * other instances through the session store. Resolves `true` when the session's tokens are
 * usable (refreshed, adopted from another instance, or there is no refresh token to use),
 * `false` when oxd answered the refresh with an error that ends the login (see
 * `endsLogin`) and no other instance saved newer tokens: the login is then removed from the
 * session. Rejects with status 503, keeping the login, when oxd cannot be reached or does not
 * answer in time, and when a refresh of a still valid token fails short of a refusal.
 *
 * @param force refresh even though the access token is not due (`req.oxd.refresh()`).
 * @param scope oxd's `scope` parameter (`req.oxd.refresh({ scope })`): such a refresh waits
 *   for one in flight for the session, then makes its own with the tokens that one got.
 */
export async function refreshTokens(
  runtime: OxdRuntime,
  req: OxdIncomingMessage,
  session: OxdSession,
  data: StoredLogin,
  force = false,
  scope?: readonly string[],
): Promise<boolean> {
  if (!data.tokens.refresh_token) return true;
  const key = req.sessionID;
  let pending = key === undefined ? undefined : runtime.refreshes.get(key);
  if (pending && scope !== undefined) {
    const earlier = await pending.catch(() => undefined);
    if (earlier && session[runtime.sessionKey] === data) {
      keepClaimsAcrossTokens(data, earlier);
      data.tokens = earlier;
    }
    pending = undefined;
  }
  const used = data.tokens;
  if (!pending) {
    // The failure is reported as the request sees it: an outage as the 503 it is answered
    // with; a warning when the request goes on without it (a refresh ahead of expiry, see
    // ensureFreshTokens(): the current token is still valid) or when it ends the login (the
    // request is answered as logged out, not with a 5xx).
    pending = traced(
      'refresh',
      req,
      runtime,
      () =>
        obtainTokens(runtime, req, session, data, force, scope).catch((err: unknown) => {
          if (!(err instanceof OxdCommandError)) throw err;
          if (!endsLogin(err, used, runtime.clock())) throw outage(err);
          ENDED_LOGIN.add(err);
          throw err;
        }),
      refusedOutcome,
      (err) =>
        (err instanceof OxdCommandError && ENDED_LOGIN.has(err)) ||
        (!force && !isExpired(data.tokens, runtime.clock()))
          ? 'warn'
          : 'error',
    );
    if (key !== undefined) {
      runtime.refreshes.set(key, pending);
      const forget = (): void => {
        if (runtime.refreshes.get(key) === pending) runtime.refreshes.delete(key);
      };
      pending.then(forget, forget);
    }
  }
  try {
    const fresh = await pending;
    keepClaimsAcrossTokens(data, fresh);
    data.tokens = fresh;
    debug('refresh: access token refreshed');
    return true;
  } catch (err) {
    if (!(err instanceof OxdCommandError)) throw err;
    if (!ENDED_LOGIN.has(err)) {
      // The outage (503) the refresh failed with, see above.
      debug('refresh: failed (%s) before expiry, the login is kept', err.error);
      throw err;
    }
    // Another instance may have used the refresh token first (rotation) and saved the
    // tokens it got: those are good, the login goes on.
    const saved = await newerStored(runtime, req, used, true);
    if (saved) {
      keepClaimsAcrossTokens(data, saved);
      data.tokens = saved;
      debug('refresh: refused, but another instance had refreshed; its tokens are used');
      return true;
    }
    debug('refresh: oxd answered %s for an expired token, the login ends', err.error);
    if (session[runtime.sessionKey] === data) delete session[runtime.sessionKey];
    return false;
  }
}

/**
 * Makes the session's access token usable for this request: refreshes it when it expires
 * within the `refreshLeeway`. A refresh ahead of expiry that fails for an outage keeps the
 * still valid token. Resolves `false` when the login ended (refresh token refused).
 */
export async function ensureFreshTokens(
  runtime: OxdRuntime,
  req: OxdIncomingMessage,
  session: OxdSession,
  data: StoredLogin,
): Promise<boolean> {
  if (!isDue(data.tokens, runtime.clock(), runtime.refreshLeewayMs)) return true;
  try {
    return await refreshTokens(runtime, req, session, data);
  } catch (err) {
    if (isExpired(data.tokens, runtime.clock())) throw err;
    debug('refresh: ahead of expiry failed (%s); the current token is still valid', String(err));
    return true;
  }
}
