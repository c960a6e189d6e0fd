/**
 * Access tokens in the session: building the stored form from oxd's answers, expiry, and
 * the transparent refresh `requireAuth()` and `fetchUserInfo()` rely on.
 */
import { debuglog } from 'node:util';
import { OxdCommandError, OxdProtocolError } from '../errors';
import type { OxdIncomingMessage, OxdSession, OxdSessionData, OxdSessionTokens } from '../session';
import type { OxdRuntime } from './runtime';

const debug = debuglog('express-oxd');

interface TokenReply {
  access_token?: unknown;
  expires_in?: unknown;
  refresh_token?: unknown;
  id_token?: unknown;
}

function nonEmptyString(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/**
 * The stored tokens from a `get_tokens_by_code` / `get_access_token_by_refresh_token` reply.
 * `expires_in` of -1 or absent (the OP did not say) means no known expiry. Tokens the reply
 * lacks are kept from `previous` (a refresh usually returns no ID token, maybe no new
 * refresh token).
 */
export function tokensFromReply(
  command: string,
  reply: TokenReply,
  now: number,
  previous?: OxdSessionTokens,
): OxdSessionTokens {
  const accessToken = nonEmptyString(reply.access_token);
  if (!accessToken) {
    throw new OxdProtocolError(`oxd ${command} answered without an access_token`);
  }
  const expiresIn = Number(reply.expires_in);
  const tokens: OxdSessionTokens = { access_token: accessToken };
  const idToken = nonEmptyString(reply.id_token) ?? previous?.id_token;
  if (idToken) tokens.id_token = idToken;
  const refreshToken = nonEmptyString(reply.refresh_token) ?? previous?.refresh_token;
  if (refreshToken) tokens.refresh_token = refreshToken;
  if (Number.isFinite(expiresIn) && expiresIn > 0) tokens.expires_at = now + expiresIn * 1000;
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
  return tokensFromReply('get_access_token_by_refresh_token', reply, runtime.clock(), previous);
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
