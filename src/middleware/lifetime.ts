/**
 * How long a login lasts: `absoluteDuration` bounds it from the moment it completed, however
 * active the user is, and `rollingDuration` (when set) ends it after that long without a
 * request that reads it. A login past its end is treated as no login at all (browsers are
 * sent to log in, API clients get 401) and is removed from the session the first time a
 * request finds it so. Both are measured on this server's clock alone, so `clockTolerance`
 * does not enter.
 */
import { loginExpiresAt, type StoredLogin } from '../session/login';
import { sessionLogin, type OxdSession } from '../session/store';
import type { OxdRuntime } from './runtime';

/** Longest time between two writes of a login's `seenAt` (the idle clock's resolution). */
const MAX_SEEN_STEP_MS = 60_000;

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
  if (expiresAt > now && !idle(runtime, data, now)) return data;
  if (session !== undefined && session[runtime.sessionKey] === data) {
    delete session[runtime.sessionKey];
  }
  return undefined;
}

/**
 * With a `rollingDuration`: true when the login has not been used for that long; else its
 * `seenAt` moves to now when it is a step old (a tenth of the duration, at most a minute),
 * so that ordinary requests in between change nothing the session store has to write.
 */
function idle(runtime: OxdRuntime, data: StoredLogin, now: number): boolean {
  const rolling = runtime.rollingDurationMs;
  if (rolling === undefined) return false;
  const seen = data.seenAt ?? data.startedAt ?? now;
  if (now - seen >= rolling) return true;
  if (now - seen >= Math.min(MAX_SEEN_STEP_MS, rolling / 10)) data.seenAt = now;
  return false;
}
