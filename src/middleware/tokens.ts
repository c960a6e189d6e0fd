/**
 * Access tokens in the session: building the stored form from oxd's answers, expiry, and
 * the transparent refresh `requireAuth()` and `fetchUserInfo()` rely on.
 */
import { debuglog } from 'node:util';
import { OxdCommandError } from '../errors';
import type { ResultOf } from '../oxd/commands';
import type { OxdIncomingMessage, OxdSession, OxdSessionData, OxdSessionTokens } from '../session';
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

/**
 * Refreshes an expired access token with the refresh token, sharing one oxd call between
 * concurrent requests of the same session. Resolves `true` when the session's tokens are
 * usable (refreshed, or there is no refresh token to use), `false` when oxd or the OP
 * refused the refresh: the login is then removed from the session. Rejects when oxd cannot
 * be reached, which is an outage, not a logout.
 */
export async function refreshTokens(
  runtime: OxdRuntime,
  req: OxdIncomingMessage,
  session: OxdSession,
  data: OxdSessionData,
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
    data.tokens = await pending;
    debug('refresh: access token refreshed');
    return true;
  } catch (err) {
    if (!(err instanceof OxdCommandError)) throw err;
    debug('refresh: refused by oxd (%s), the login ends', err.error);
    if (session.oxd === data) delete session.oxd;
    return false;
  }
}
