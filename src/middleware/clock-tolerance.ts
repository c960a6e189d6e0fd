/**
 * `clockTolerance` in the checks of times other servers stamped: the back-channel logout
 * token's `iat` and `exp` (access-token expiry takes it where the tokens are stored).
 */
import type { OxdRuntime } from './runtime';

/** How long a logout token may take to arrive (on top of the clock tolerance), in seconds. */
export const LOGOUT_TOKEN_DELIVERY_S = 4 * 60;

/**
 * True when a logout token issued at `iat` (seconds) cannot be accepted at `now` (seconds):
 * issued more than the tolerance in the future, or longer ago than its delivery allows.
 */
export function iatOutOfWindow(runtime: OxdRuntime, iat: number, now: number): boolean {
  const tolerance = runtime.clockToleranceMs / 1000;
  return iat > now + tolerance || iat < now - LOGOUT_TOKEN_DELIVERY_S - tolerance;
}

/** True when `exp` (seconds) has passed at `now` (seconds), beyond the tolerance. */
export function expiredBeyondTolerance(runtime: OxdRuntime, exp: number, now: number): boolean {
  return exp < now - runtime.clockToleranceMs / 1000;
}
