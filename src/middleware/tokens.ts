/**
 * Access tokens in the session: building the stored form from oxd's answers, expiry, and
 * the transparent refresh `requireAuth()` and `fetchUserInfo()` rely on.
 */
import { debuglog } from 'node:util';
import { OxdCommandError } from '../errors';
import type { ResultOf } from '../oxd/commands';
import {
  keepClaimsAcrossTokens,
  type OxdIncomingMessage,
  type OxdSession,
  type OxdSessionTokens,
  type StoredLogin,
} from '../session';
import type { OxdRuntime } from './runtime';

const debug = debuglog('express-oxd');

/** The token fields of a (checked) `get_tokens_by_code` / refresh result. */
type TokenReply = ResultOf<'getAccessTokenByRefreshToken'> & { id_token?: string };

/**
 * The stored tokens from a `get_tokens_by_code` / `get_access_token_by_refresh_token` reply.
 * `expires_in` of -1 or absent (the OP did not say) means no known expiry. Tokens the reply
 * lacks (or sends empty) are kept from `previous` (a refresh usually returns no ID token,
 * maybe no new refresh token).
 */
export function tokensFromReply(
  reply: TokenReply,
  now: number,
  previous?: OxdSessionTokens,
): OxdSessionTokens {
  const tokens: OxdSessionTokens = { access_token: reply.access_token };
  const idToken = reply.id_token || previous?.id_token;
  if (idToken) tokens.id_token = idToken;
  const refreshToken = reply.refresh_token || previous?.refresh_token;
  if (refreshToken) tokens.refresh_token = refreshToken;
  const expiresIn = reply.expires_in;
  if (expiresIn !== undefined && expiresIn > 0) tokens.expires_at = now + expiresIn * 1000;
  return tokens;
}

/** True when the access token's known expiry has passed. */
export function isExpired(tokens: OxdSessionTokens, now: number): boolean {
  return tokens.expires_at !== undefined && tokens.expires_at <= now;
}

async function requestRefresh(
  runtime: OxdRuntime,
  previous: OxdSessionTokens,
  refreshToken: string,
): Promise<OxdSessionTokens> {
  const reply = await runtime.client.getAccessTokenByRefreshToken({ refresh_token: refreshToken });
  return tokensFromReply(reply, runtime.clock(), previous);
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
 * True when oxd's error says the refresh token was refused: an OAuth error, or the OP's
 * token endpoint answering 4xx (oxd passes it on as `http_status_4xx`), except 408 and 429,
 * which say "not now". Everything else (`internal_error` when oxd cannot reach the OP,
 * `http_status_5xx`, unknown errors) is an outage: the refresh token may still be good.
 */
export function isRefusedRefresh(err: OxdCommandError): boolean {
  if (REFUSALS.has(err.error)) return true;
  const status = /^http_status_(\d{3})$/.exec(err.error)?.[1];
  if (status === undefined) return false;
  const code = Number(status);
  return code >= 400 && code < 500 && code !== 408 && code !== 429;
}

/**
 * Refreshes an expired access token with the refresh token, sharing one oxd call between
 * concurrent requests of the same session. Resolves `true` when the session's tokens are
 * usable (refreshed, or there is no refresh token to use), `false` when the OP refused the
 * refresh token (see {@link isRefusedRefresh}): the login is then removed from the session.
 * Rejects, keeping the login, when oxd cannot be reached or the OP is failing (an outage,
 * not a logout); an OP failure passed on by oxd rejects with status 503.
 */
export async function refreshTokens(
  runtime: OxdRuntime,
  req: OxdIncomingMessage,
  session: OxdSession,
  data: StoredLogin,
): Promise<boolean> {
  const refreshToken = data.tokens.refresh_token;
  if (!refreshToken) return true;
  const key = req.sessionID;
  let pending = key === undefined ? undefined : runtime.refreshes.get(key);
  if (!pending) {
    pending = requestRefresh(runtime, data.tokens, refreshToken);
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
    if (!isRefusedRefresh(err)) {
      debug('refresh: failed (%s), the login is kept', err.error);
      throw new OxdCommandError(
        err.command,
        {
          error: err.error,
          ...(err.error_description === undefined
            ? {}
            : { error_description: err.error_description }),
          details: err.details,
          ...(err.httpStatus === undefined ? {} : { httpStatus: err.httpStatus }),
        },
        { status: 503, cause: err },
      );
    }
    debug('refresh: refused by the OP (%s), the login ends', err.error);
    if (session.oxd === data) delete session.oxd;
    return false;
  }
}
