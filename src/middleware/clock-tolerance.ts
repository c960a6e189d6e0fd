/**
 * `clockTolerance` in the checks of times other servers stamped: the back-channel logout
 * token's `iat` and `exp` (access-token expiry takes it where the tokens are stored), and how
 * long a logout token's `jti` is remembered so it cannot be replayed within that window.
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

/** How much longer than the window a logout token is accepted in its `jti` is remembered. */
const JTI_MARGIN_S = 60;

/**
 * How long a used logout token's `jti` is remembered, in milliseconds: the whole time a token
 * is accepted in, from the tolerance before its `iat` (the earliest it can arrive) to its
 * delivery time plus the tolerance after (see `iatOutOfWindow`), plus a margin. Any replay the
 * `iat` check would let through finds the `jti` still remembered.
 */
export function jtiMemoryMs(runtime: Pick<OxdRuntime, 'clockToleranceMs'>): number {
  return (LOGOUT_TOKEN_DELIVERY_S + JTI_MARGIN_S) * 1000 + 2 * runtime.clockToleranceMs;
}

/** True when `exp` (seconds) has passed at `now` (seconds), beyond the tolerance. */
export function expiredBeyondTolerance(runtime: OxdRuntime, exp: number, now: number): boolean {
  return exp < now - runtime.clockToleranceMs / 1000;
}
