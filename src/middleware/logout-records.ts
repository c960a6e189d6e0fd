/**
 * The records back-channel logout finds sessions by, kept in the application's session store
 * next to the sessions: `sid → session ids` and `sub → session ids` per login (so ordinary
 * requests never look anything up), and the logins' ending.
 *
 * - A record is written at login and changed when the session id changes under a login
 *   and when logins end; never on ordinary requests. The id changes when another `oxdAuth()`
 *   instance's login regenerates the session and carries this login over (followed at once),
 *   or when the application regenerates the session itself and copies the login over: the
 *   login keeps the id its records name (`recordedIn`), and the first request that shows
 *   another id brings the records to it (one compare per request; writes only on a change;
 *   see `moved-login.ts`).
 *   Each write drops the ids of sessions that have ended, so a record holds the user's live
 *   sessions only, however many.
 * - A back-channel logout leaves its mark on the record it named (`oxdEndedAt`) for as long
 *   as the record lives: a login copied into a new session before the logout arrived, whose
 *   records still named the old one, is ended when a request brings it to the new id.
 * - It lives as long as the logins it names can: until the newest one's absolute expiry
 *   (`absoluteDuration` after it completed, `loginExpiresAt`). A rolling session cookie is
 *   renewed without any record write, so the record cannot follow it: it covers the login's
 *   absolute lifetime instead, which no session outlives with its login.
 * - Changes are serialised per record within the process; across instances they hold the
 *   application's `refreshLock` (e.g. Redis `SET NX`) when one is configured. Without a
 *   shared lock, two instances adding a session to the same record at the same moment can
 *   lose one of the two ids (see the docs).
 * - Ending a login removes only that `oxdAuth()` instance's login from the session when the
 *   session holds other instances' logins (`sessionKey`); otherwise the session is destroyed.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { debuglog } from 'node:util';
import { sessionStoreUnavailable } from '../errors';
import {
  loginClaims,
  loginIdTokenClaims,
  loginExpiresAt,
  loginIssuer,
  loginSid,
  type StoredLogin,
} from '../session/login';
import { holdsOtherLogins, sessionLogin, type OxdSession } from '../session/store';
import { trimIssuer } from './issuer';
import type { RefreshLock } from './refresh-lock';

const debug = debuglog('express-oxd');

/** How long a record lock is held at most, and how long a change waits for it. */
const LOCK_TTL_MS = 10_000;
const LOCK_WAIT_MS = 5_000;

/** The express-session `Store` methods used here. */
export interface SessionStore {
  get(sid: string, callback: (err: unknown, session?: never) => void): void;
  set(sid: string, session: unknown, callback?: (err?: unknown) => void): void;
  destroy(sid: string, callback?: (err?: unknown) => void): void;
}

export interface StoreRecord {
  cookie: { originalMaxAge: number; expires: string };
  oxdSessionIds?: string[];
  /**
   * When a back-channel logout last named this record (by the ending instance's clock): a
   * login that began before it and that the record did not name by its current id has ended.
   */
  oxdEndedAt?: number;
  /** The client id the logins were issued to (checked when the middleware does not know it). */
  oxdClientId?: string;
}

/** What an `oxdAuth()` instance's records depend on. */
export interface RecordSettings {
  readonly sessionKey: string;
  readonly loginsKey: string;
  readonly refreshLock: RefreshLock | undefined;
  /** How long a login lasts at most (`absoluteDuration`), in milliseconds. */
  readonly absoluteDurationMs: number;
}

export function storeOf(req: IncomingMessage): SessionStore | undefined {
  const store = (req as { sessionStore?: unknown }).sessionStore as SessionStore | undefined;
  return store &&
    typeof store.get === 'function' &&
    typeof store.set === 'function' &&
    typeof store.destroy === 'function'
    ? store
    : undefined;
}

/** Runs a store method; a failure rejects with `OXD_SESSION_STORE_UNAVAILABLE` (503). */
export function call<T>(
  run: (callback: (err: unknown, value?: T) => void) => void,
): Promise<T | undefined> {
  return new Promise((resolve, reject) => {
    try {
      run((err, value) => (err ? reject(sessionStoreUnavailable(err)) : resolve(value)));
    } catch (err) {
      reject(sessionStoreUnavailable(err));
    }
  });
}

/**
 * The store key of a record. Logins kept under another `sessionKey` than the default have
 * records of their own, so each `oxdAuth()` instance ends only its own logins.
 */
export function recordKey(
  kind: 'sid' | 'sub' | 'jti',
  iss: string,
  value: string,
  sessionKey = 'oxd',
): string {
  const scope = sessionKey === 'oxd' ? '' : `\u0000${sessionKey}`;
  const digest = createHash('sha256').update(`${iss}\u0000${value}${scope}`).digest('base64url');
  return `express-oxd:backchannel:${kind}:${digest}`;
}

export function record(
  ttlMs: number,
  ids?: string[],
  clientId?: string,
  endedAt?: number,
): StoreRecord {
  return {
    cookie: { originalMaxAge: ttlMs, expires: new Date(Date.now() + ttlMs).toISOString() },
    ...(ids ? { oxdSessionIds: ids } : {}),
    ...(endedAt !== undefined ? { oxdEndedAt: endedAt } : {}),
    ...(clientId ? { oxdClientId: clientId } : {}),
  };
}

/** The `aud` of a token's claims as a list of strings. */
export function audienceOf(claims: Record<string, unknown>): string[] {
  const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  return aud.filter((value): value is string => typeof value === 'string' && value !== '');
}

/** The client id a login was issued to: its ID token's `azp`, else its single `aud`. */
function loginClientId(data: StoredLogin): string | undefined {
  const claims = loginIdTokenClaims(data);
  if (typeof claims?.azp === 'string') return claims.azp;
  const aud = claims === undefined ? [] : audienceOf(claims);
  return aud.length === 1 ? aud[0] : undefined;
}

/** The `sid` and `sub` record keys of a login kept under `sessionKey`. */
function loginRecordKeys(data: StoredLogin, sessionKey: string): string[] {
  const iss = loginIssuer(data);
  if (!iss) return [];
  const sid = loginSid(data);
  const sub = loginClaims(data).sub;
  return [
    ...(sid ? [recordKey('sid', trimIssuer(iss), sid, sessionKey)] : []),
    ...(typeof sub === 'string' && sub !== ''
      ? [recordKey('sub', trimIssuer(iss), sub, sessionKey)]
      : []),
  ];
}

/** How long a record of `data`, written now, lives: until the login's absolute expiry. */
function recordLifetimeMs(settings: RecordSettings, data: StoredLogin): number {
  const expiresAt = loginExpiresAt(data, settings.absoluteDurationMs);
  const left = expiresAt === undefined ? settings.absoluteDurationMs : expiresAt - Date.now();
  return Math.max(left, 1000);
}

/** Session keys whose logins have records: `oxdAuth()` instances with a back-channel route. */
const recordedKeys = new Set<string>();

export function keepRecordsFor(sessionKey: string): void {
  recordedKeys.add(sessionKey);
}

/** Whether logins kept under `sessionKey` have records. */
export function hasRecords(sessionKey: string): boolean {
  return recordedKeys.has(sessionKey);
}

const queues = new Map<string, Promise<unknown>>();

/** Runs `task` after the earlier tasks of this process on the same record. */
function serialised<T>(key: string, task: () => Promise<T>): Promise<T> {
  const result = (queues.get(key) ?? Promise.resolve()).then(task);
  const tail = result.then(
    () => undefined,
    () => undefined,
  );
  queues.set(key, tail);
  void tail.then(() => {
    if (queues.get(key) === tail) queues.delete(key);
  });
  return result;
}

/** Runs `task` holding the shared lock of `key`, when there is one (waits up to a bound). */
async function withSharedLock<T>(
  lock: RefreshLock | undefined,
  key: string,
  task: () => Promise<T>,
): Promise<T> {
  if (!lock) return task();
  const name = `backchannel-record:${key}`;
  const deadline = Date.now() + LOCK_WAIT_MS;
  let owner = await lock.acquire(name, LOCK_TTL_MS);
  for (
    let delay = 5;
    owner === undefined && Date.now() < deadline;
    delay = Math.min(delay * 2, 100)
  ) {
    await new Promise((resolve) => setTimeout(resolve, delay));
    owner = await lock.acquire(name, LOCK_TTL_MS);
  }
  if (owner === undefined) debug('back-channel logout: record lock not obtained, going on');
  try {
    return await task();
  } finally {
    if (owner !== undefined) await lock.release(name, owner).catch(() => undefined);
  }
}

/**
 * Read-modify-write of one record: `change` gets the record found and answers the one to
 * store (`undefined`: delete it; the record found itself: leave it as it is).
 */
export function changeRecord(
  store: SessionStore,
  lock: RefreshLock | undefined,
  key: string,
  change: (found: StoreRecord | undefined) => Promise<StoreRecord | undefined>,
): Promise<void> {
  return serialised(key, () =>
    withSharedLock(lock, key, async () => {
      const found = (await call<StoreRecord>((done) => store.get(key, done))) ?? undefined;
      const next = await change(found);
      if (next === found) return;
      if (next !== undefined) await call((done) => store.set(key, next, done));
      else if (found !== undefined) await call((done) => store.destroy(key, done));
    }),
  );
}

/** The ids among `ids` whose sessions are still in the store. */
async function liveIds(store: SessionStore, ids: readonly string[]): Promise<string[]> {
  const found = await Promise.all(ids.map((id) => call<unknown>((done) => store.get(id, done))));
  return ids.filter((_, i) => found[i] !== undefined && found[i] !== null);
}

/** The remaining lifetime of a record, at least `ttlMs`. */
function lifetime(found: StoreRecord | undefined, ttlMs: number): number {
  const left = found ? Date.parse(found.cookie?.expires ?? '') - Date.now() : Number.NaN;
  return Number.isFinite(left) && left > ttlMs ? left : ttlMs;
}

/**
 * Adds the session id `id` to the `sid` and `sub` records of its login `data` (dropping ids
 * of ended sessions), so a back-channel logout can find it. With `endedSince`, a record
 * that a back-channel logout named at or after that time is left as it is, and the call
 * resolves false: the login has ended.
 */
export async function recordSession(
  settings: RecordSettings,
  store: SessionStore,
  id: string,
  data: StoredLogin,
  endedSince?: number,
): Promise<boolean> {
  const ttl = recordLifetimeMs(settings, data);
  const clientId = loginClientId(data);
  let stands = true;
  await Promise.all(
    loginRecordKeys(data, settings.sessionKey).map((key) =>
      changeRecord(store, settings.refreshLock, key, async (found) => {
        const endedAt = found?.oxdEndedAt;
        if (endedSince !== undefined && endedAt !== undefined && endedAt >= endedSince) {
          stands = false;
          return found;
        }
        const known = (found?.oxdSessionIds ?? []).filter((other) => other !== id);
        const ids = [...(await liveIds(store, known)), id];
        return record(lifetime(found, ttl), ids, clientId ?? found?.oxdClientId, endedAt);
      }),
    ),
  );
  return stands;
}

/**
 * At login: adds the session's id to the `sid` and `sub` records of its login. Failures are
 * logged, not thrown: the login stands. Resolves false when the records could not be written
 * (the login is then left for its next request to record), true otherwise (written, or no
 * store to write them to).
 */
export async function rememberLogin(
  settings: RecordSettings,
  store: SessionStore | undefined,
  id: string | undefined,
  data: StoredLogin,
): Promise<boolean> {
  if (!store || !id) return true;
  try {
    await recordSession(settings, store, id, data);
    return true;
  } catch (err) {
    debug('back-channel logout: could not record the login (%s)', (err as Error).message);
    return false;
  }
}

/**
 * Removes `ids` from the records `keys` (a record left empty is deleted). `ended`: the
 * record a back-channel logout named keeps the logout's time (`oxdEndedAt`), empty or not.
 */
export function forgetIds(
  store: SessionStore,
  lock: RefreshLock | undefined,
  keys: readonly string[],
  ids: readonly string[],
  ended?: { key: string; at: number },
): Promise<void[]> {
  return Promise.all(
    keys.map((key) =>
      changeRecord(store, lock, key, async (found) => {
        if (!found) return found;
        const rest = (found.oxdSessionIds ?? []).filter((id) => !ids.includes(id));
        if (ended?.key === key) {
          const at = Math.max(found.oxdEndedAt ?? ended.at, ended.at);
          return { ...found, oxdSessionIds: rest, oxdEndedAt: at };
        }
        if (rest.length === (found.oxdSessionIds ?? []).length) return found;
        return rest.length > 0 ? { ...found, oxdSessionIds: rest } : undefined;
      }),
    ),
  );
}

/**
 * Ends the login under `settings.sessionKey` in the session `session` (id `id`) when
 * `matches` says it is the one to end: only that login is removed when the session holds
 * logins of other `oxdAuth()` instances, else the whole session is destroyed. Resolves with
 * the ended login, `undefined` when there was none to end.
 */
export async function endLoginIn(
  store: SessionStore,
  settings: RecordSettings,
  id: string,
  matches: (data: StoredLogin) => boolean,
): Promise<StoredLogin | undefined> {
  const session = (await call<OxdSession>((done) => store.get(id, done))) ?? undefined;
  const data = sessionLogin(session, settings.sessionKey);
  if (!session || !data || !matches(data)) return undefined;
  if (holdsOtherLogins(session, settings)) {
    const rest: Record<string, unknown> = { ...session };
    delete rest[settings.sessionKey];
    await call((done) => store.set(id, rest, done));
  } else {
    await call((done) => store.destroy(id, done));
  }
  return data;
}

/** After a login ended elsewhere than back-channel logout: its session id leaves its records. */
export async function forgetLogin(
  settings: RecordSettings,
  store: SessionStore | undefined,
  id: string | undefined,
  data: StoredLogin,
): Promise<void> {
  if (!store || !id || !hasRecords(settings.sessionKey)) return;
  try {
    await forgetIds(store, settings.refreshLock, loginRecordKeys(data, settings.sessionKey), [id]);
  } catch (err) {
    debug('back-channel logout: could not update the login records (%s)', (err as Error).message);
  }
}

export { loginRecordKeys };
