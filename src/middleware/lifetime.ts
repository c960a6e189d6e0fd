/**
 * How long a login lasts: `absoluteDuration` bounds it from the moment it completed, however
 * active the user is. A login past its end is treated as no login at all (browsers are sent
 * to log in, API clients get 401) and is removed from the session the first time a request
 * finds it so.
 */
import { loginExpiresAt, type StoredLogin } from '../session/login';
import { sessionLogin, type OxdSession } from '../session/store';
import type { OxdRuntime } from './runtime';

/**
 * The session's login of `runtime` when it is still within its lifetime, else `undefined`
 * (an ended login is deleted from the session, which the session middleware then saves).
 * A login stored by an earlier version, without a start time, is given one now.
 */
export function activeLogin(
  runtime: OxdRuntime,
  session: OxdSession | undefined,
): StoredLogin | undefined {
  const data = sessionLogin(session, runtime.sessionKey);
  if (data === undefined) return undefined;
  const now = runtime.clock();
  const expiresAt = loginExpiresAt(data, runtime.absoluteDurationMs);
  if (expiresAt === undefined) {
    data.startedAt = now;
    return data;
  }
  if (expiresAt > now) return data;
  if (session !== undefined && session[runtime.sessionKey] === data) {
    delete session[runtime.sessionKey];
  }
  return undefined;
}
