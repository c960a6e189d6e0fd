/**
 * Checks of single `oxdAuth()` options the options table (`options.ts`) calls: the session
 * key, the refresh lock, and numbers of seconds.
 */
import { OxdConfigError } from '../errors';
import { type Fail, failFor } from '../option-check';
import type { RefreshLock } from './refresh-lock';

const fail: Fail = failFor('oxdAuth', OxdConfigError);

/**
 * The largest `clockTolerance`: it widens every check of another server's time (a logout
 * token is accepted, and its `jti` remembered, for its delivery time plus twice the
 * tolerance; see `clock-tolerance.ts`).
 */
const MAX_CLOCK_TOLERANCE_S = 5 * 60;

/** Session properties express-session or express-oxd use for something else. */
const RESERVED_SESSION_KEYS: ReadonlySet<string> = new Set([
  'cookie',
  'id',
  'req',
  'save',
  'regenerate',
  'destroy',
  'reload',
  'touch',
  'resetMaxAge',
  'oxdUma',
]);

export function resolveSessionKey(value: unknown): string {
  if (value === undefined) return 'oxd';
  if (typeof value !== 'string' || !/^[A-Za-z_$][\w$]{0,63}$/.test(value)) {
    fail('sessionKey', 'must be a property name such as "oxdAdmin" (letters, digits, _ or $)');
  }
  if (RESERVED_SESSION_KEYS.has(value) || value in Object.prototype) {
    fail('sessionKey', `"${value}" is used by the session itself; choose another name`);
  }
  return value;
}

export function resolveRefreshLock(value: unknown): RefreshLock | undefined {
  const lock = value as Partial<RefreshLock> | undefined;
  if (
    lock !== undefined &&
    (typeof lock !== 'object' ||
      lock === null ||
      typeof lock.acquire !== 'function' ||
      typeof lock.release !== 'function')
  ) {
    fail('refreshLock', 'must be an object with acquire(key, ttlMs) and release(key, owner)');
  }
  return lock as RefreshLock | undefined;
}

export function resolveLeeway(value: unknown, key: string, fallback: number): number {
  const leeway = value ?? fallback;
  if (typeof leeway !== 'number' || !Number.isFinite(leeway) || leeway < 0) {
    fail(key, 'must be a number of seconds, 0 or more');
  }
  return leeway;
}

/** `clockTolerance`: seconds, 0 to 300, default 60. */
export function resolveClockTolerance(value: unknown): number {
  const seconds = resolveLeeway(value, 'clockTolerance', 60);
  if (seconds > MAX_CLOCK_TOLERANCE_S) {
    fail('clockTolerance', `must be at most ${MAX_CLOCK_TOLERANCE_S} seconds`);
  }
  return seconds;
}
