/**
 * OpenID Connect Back-Channel Logout 1.0: the OP POSTs a signed `logout_token` to this route
 * when a user's OP session ends. The token is checked (signature against the OP's keys from
 * oxd's `get_jwks` on 4.x or the OP's discovery document on 3.x, see `op-jwks.ts`; `iss`,
 * `aud`, `iat`, `events`, `sid`/`sub`, no `nonce`, `jti` used once) and this instance's
 * matching logins are ended in the application's session store.
 *
 * No store lookup happens on ordinary requests: at login, small records `sid → session ids`
 * and `sub → session ids` are written into the same store (see `logout-records.ts`), and
 * this route ends the logins of this instance in the sessions they name, by id.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { debuglog } from 'node:util';
import { ERROR_CODES, OxdError, sessionStoreUnavailable } from '../errors';
import { sendJson } from '../http/response';
import { isPlainObject } from '../option-check';
import { AnsweredOutcome, reportFailure } from '../report';
import type { TelemetrySpan } from '../telemetry';
import { loginClaims, loginIssuer, loginSid, type StoredLogin } from '../session/login';
import { type OxdIncomingMessage } from '../session/store';
import { LogoutBodyError, readLogoutForm } from './backchannel-body';
import {
  audienceOf,
  call,
  endLoginIn,
  forgetIds,
  keepRecordsFor,
  loginRecordKeys,
  record,
  recordKey,
  storeOf,
  type SessionStore,
  type StoreRecord,
} from './logout-records';
import { expectedIssuer, sameIssuer, trimIssuer } from './issuer';
import {
  BACKCHANNEL_LOGOUT_EVENT,
  LogoutTokenError,
  verifiedPayload,
  type KeySource,
} from './logout-token';
import { checkKeySource, fetchOpJwks, keysFromDiscovery, KeysUnavailableError } from './op-jwks';
import { expiredBeyondTolerance, iatOutOfWindow, jtiMemoryMs } from './clock-tolerance';
import type { OxdRuntime } from './runtime';

const debug = debuglog('express-oxd');

/** Refetch the OP's keys for an unknown `kid` at most this often. */
const JWKS_REFRESH_MS = 60 * 1000;
/** How long posts wait for a key fetch under way before answering 503. */
const KEY_WAIT_MS = 5_000;

/** Resolves true once `promise` settles, or false after `ms` (at least 0). */
function settlesWithin(promise: Promise<void>, ms: number): Promise<boolean> {
  if (ms <= 0) return Promise.resolve(false);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    void promise.then(() => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/**
 * The OP client id of the site on oxd 4.x (registered or configured). On 3.x it is not
 * known: `register_site` does not return it, and `setup_client`'s `client_id` is the setup
 * client's, not the site's. The token's `aud` is then checked against the client id each
 * login recorded from its ID token.
 */
function knownClientId(runtime: OxdRuntime): string | undefined {
  if (keysFromDiscovery(runtime)) return undefined;
  const clientId =
    (runtime.client as { clientId?: unknown }).clientId ?? runtime.config.client.clientId;
  return typeof clientId === 'string' && clientId !== '' ? clientId : undefined;
}

interface OpKey {
  kid: string | undefined;
  alg: string | undefined;
  key: KeyObject;
}

/**
 * The OP's signing keys by `kid`, fetched through oxd (4.x) or from the OP (3.x), and
 * refetched for an unknown id at most once a minute, failed attempts included. While the key
 * set cannot be had (the last attempt failed, or one is under way for longer than
 * `KEY_WAIT_MS`), a token no known key fits gets `KeysUnavailableError` (503) at once.
 */
export class OpKeys implements KeySource {
  #keys: OpKey[] = [];
  #attemptedAt = Number.NEGATIVE_INFINITY;
  #failed = false;
  #pending: Promise<void> | undefined;
  /** When the fetch under way started, by the wall clock (bounds how long posts wait). */
  #pendingSince = 0;

  constructor(private readonly runtime: OxdRuntime) {
    checkKeySource(runtime);
    keepRecordsFor(runtime.sessionKey);
  }

  async find(kid: string | undefined, alg: string): Promise<KeyObject[]> {
    const found = this.#matching(kid, alg);
    if (found.length > 0) return found;
    const now = this.runtime.clock();
    if (this.#pending === undefined && now - this.#attemptedAt >= JWKS_REFRESH_MS) {
      this.#attemptedAt = now;
      this.#pendingSince = Date.now();
      this.#pending = this.#fetch().then(
        () => {
          this.#failed = false;
        },
        (err: unknown) => {
          this.#failed = true;
          debug('back-channel logout: could not fetch the OP keys (%s)', (err as Error).message);
        },
      );
      void this.#pending.finally(() => {
        this.#pending = undefined;
      });
    }
    if (this.#pending !== undefined) {
      const left = KEY_WAIT_MS - (Date.now() - this.#pendingSince);
      if (!(await settlesWithin(this.#pending, left))) {
        throw new KeysUnavailableError('the OP keys are still being fetched');
      }
    }
    if (this.#failed) throw new KeysUnavailableError('the OP keys cannot be fetched right now');
    return this.#matching(kid, alg);
  }

  #matching(kid: string | undefined, alg: string): KeyObject[] {
    return this.#keys
      .filter(
        (entry) => (kid === undefined || entry.kid === kid) && (!entry.alg || entry.alg === alg),
      )
      .map((entry) => entry.key);
  }

  async #fetch(): Promise<void> {
    const jwks = await fetchOpJwks(this.runtime);
    const keys: OpKey[] = [];
    for (const jwk of jwks) {
      if (jwk.use !== undefined && jwk.use !== 'sig') continue;
      try {
        const key = createPublicKey({ key: jwk as never, format: 'jwk' });
        keys.push({
          kid: typeof jwk.kid === 'string' ? jwk.kid : undefined,
          alg: typeof jwk.alg === 'string' ? jwk.alg : undefined,
          key,
        });
      } catch {
        debug('back-channel logout: skipping a key of the OP that node:crypto cannot read');
      }
    }
    this.#keys = keys;
  }
}

/**
 * Verifies the token's signature (an algorithm bound to its key type, see `logout-token.ts`)
 * and claims; resolves its claims.
 */
async function verifyLogoutToken(
  runtime: OxdRuntime,
  keys: OpKeys,
  token: string,
): Promise<Record<string, unknown>> {
  const claims = await verifiedPayload(keys, token);
  const expected = expectedIssuer(runtime);
  if (
    typeof claims.iss !== 'string' ||
    (expected !== undefined && !sameIssuer(claims.iss, expected))
  ) {
    throw new LogoutTokenError('the logout_token iss is not the configured OP');
  }
  const clientId = knownClientId(runtime);
  const aud = audienceOf(claims);
  if (clientId === undefined ? aud.length === 0 : !aud.includes(clientId)) {
    throw new LogoutTokenError('the logout_token aud does not name this client');
  }
  const now = runtime.clock() / 1000;
  if (typeof claims.iat !== 'number' || iatOutOfWindow(runtime, claims.iat, now)) {
    throw new LogoutTokenError('the logout_token iat is missing or too far from now');
  }
  if (typeof claims.exp === 'number' && expiredBeyondTolerance(runtime, claims.exp, now)) {
    throw new LogoutTokenError('the logout_token has expired');
  }
  if (!isPlainObject(claims.events) || !isPlainObject(claims.events[BACKCHANNEL_LOGOUT_EVENT])) {
    throw new LogoutTokenError('the logout_token events do not hold the back-channel logout event');
  }
  if (typeof claims.sid !== 'string' && typeof claims.sub !== 'string') {
    throw new LogoutTokenError('the logout_token has neither sid nor sub');
  }
  if ('nonce' in claims) throw new LogoutTokenError('the logout_token must not carry a nonce');
  if (typeof claims.jti !== 'string' || claims.jti === '') {
    throw new LogoutTokenError('the logout_token has no jti');
  }
  return claims;
}

function refuse(res: ServerResponse, description: string): void {
  res.setHeader('Cache-Control', 'no-store');
  sendJson(res, 400, { error: 'invalid_request', error_description: description });
}

/** 503: the OP sends the token again later (keys or store unavailable for now). */
function unavailable(res: ServerResponse, description: string, code?: string): void {
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Retry-After', '60');
  sendJson(res, 503, {
    error: 'temporarily_unavailable',
    error_description: description,
    ...(code ? { code } : {}),
  });
}

const REFUSED = new AnsweredOutcome('refused');

/**
 * Handles `POST <backchannelLogout>` with `logout_token` (form-encoded). Resolves with how a
 * post that did not end in 200 was answered (400 `refused`, 503 `failure`).
 */
export async function handleBackchannelLogout(
  runtime: OxdRuntime,
  keys: OpKeys,
  req: OxdIncomingMessage,
  res: ServerResponse,
  span?: TelemetrySpan,
): Promise<AnsweredOutcome | undefined> {
  const store = storeOf(req);
  if (!store) {
    refuse(res, 'this site has no session store to end sessions in');
    return REFUSED;
  }
  let claims: Record<string, unknown>;
  try {
    const type = String(req.headers['content-type'] ?? '')
      .split(';')[0]
      ?.trim()
      .toLowerCase();
    if (type !== 'application/x-www-form-urlencoded') {
      throw new LogoutTokenError('send logout_token as application/x-www-form-urlencoded');
    }
    const tokens = (await readLogoutForm(req)).getAll('logout_token');
    if (tokens.length !== 1 || !tokens[0]) throw new LogoutTokenError('logout_token is missing');
    claims = await verifyLogoutToken(runtime, keys, tokens[0]);
  } catch (err) {
    if (err instanceof KeysUnavailableError) {
      debug('back-channel logout: answered 503 (%s)', err.message);
      // Answered here, not thrown: reported here, once.
      const failure = new OxdError(ERROR_CODES.TRANSPORT_FAILED, err.message, {
        status: 503,
        cause: err,
      });
      reportFailure(failure, { operation: 'backchannel_logout', runtime, span });
      unavailable(res, err.message);
      return new AnsweredOutcome('failure', failure);
    }
    if (err instanceof LogoutBodyError) res.setHeader('Connection', 'close');
    else if (!(err instanceof LogoutTokenError)) throw err;
    debug('back-channel logout: refused (%s)', err.message);
    refuse(res, err.message);
    return REFUSED;
  }
  try {
    const audience = knownClientId(runtime) === undefined ? audienceOf(claims) : undefined;
    return (await endSessionsOf(runtime, store, claims, audience, res)) ? undefined : REFUSED;
  } catch (err) {
    const failure = sessionStoreUnavailable(err);
    if (failure.code !== ERROR_CODES.SESSION_STORE_UNAVAILABLE) throw err;
    debug('back-channel logout: the session store failed (%s)', failure.message);
    reportFailure(failure, { operation: 'backchannel_logout', runtime, span });
    unavailable(res, 'the session store failed; send the token again later', failure.code);
    return new AnsweredOutcome('failure', failure);
  }
}

/**
 * `jti` keys taken, per `oxdAuth()` instance, with when they may be forgotten (ms since the
 * epoch). Instances share what they know only through the `refreshLock` and the store.
 */
const takenByInstance = new WeakMap<OxdRuntime, Map<string, number>>();

/**
 * Takes a token's `jti` for this delivery, atomically where that is possible: at once within
 * this instance (before any await, so two deliveries of one token cannot both pass), and
 * across instances through the app's `refreshLock` when one is configured (Redis `SET NX`).
 * Without a lock, instances see each other's deliveries only through the store's `jti`
 * record (a read, then a write once the sessions ended). Resolves `undefined` when the token
 * is taken already, else a function that gives it back (processing failed; the OP may retry).
 */
async function claimToken(
  runtime: OxdRuntime,
  jtiKey: string,
): Promise<(() => Promise<void>) | undefined> {
  const now = runtime.clock();
  let taken = takenByInstance.get(runtime);
  if (taken === undefined) {
    taken = new Map();
    takenByInstance.set(runtime, taken);
  }
  for (const [key, until] of taken) if (until <= now) taken.delete(key);
  if (taken.has(jtiKey)) return undefined;
  const memoryMs = jtiMemoryMs(runtime);
  taken.set(jtiKey, now + memoryMs);
  const mine = taken;
  const lock = runtime.refreshLock;
  const lockKey = jtiKey.replace(/^express-oxd:/, '');
  let owner: string | undefined;
  const unclaim = async (): Promise<void> => {
    mine.delete(jtiKey);
    if (owner !== undefined) await lock?.release(lockKey, owner);
  };
  if (lock) {
    try {
      owner = await lock.acquire(lockKey, memoryMs);
    } catch (err) {
      await unclaim();
      throw err;
    }
    if (owner === undefined) return undefined;
  }
  return unclaim;
}

/** A rejection handler that gives a taken `jti` back, then rethrows. */
function undo(unclaim: () => Promise<void>): (err: unknown) => Promise<never> {
  return async (err) => {
    await unclaim();
    throw err;
  };
}

/**
 * Ends the sessions a verified token names and answers 200 (resolves true), or refuses a
 * replayed token with 400 (false). The `jti` is kept as used only once they have ended, so
 * a token whose processing failed can be sent again. `audience`: the token's `aud`, when the
 * client id was not known to check it (only records of logins issued to one of them are
 * ended).
 */
async function endSessionsOf(
  runtime: OxdRuntime,
  store: SessionStore,
  claims: Record<string, unknown>,
  audience: string[] | undefined,
  res: ServerResponse,
): Promise<boolean> {
  const iss = trimIssuer(claims.iss as string);
  const jtiKey = recordKey('jti', iss, claims.jti as string);
  const unclaim = await claimToken(runtime, jtiKey);
  if (!unclaim || (await call((done) => store.get(jtiKey, done)).catch(undo(unclaim)))) {
    debug('back-channel logout: refused a replayed jti');
    refuse(res, 'this logout_token was already used');
    return false;
  }
  let ended: number;
  try {
    ended = await endMatchingLogins(runtime, store, claims, audience);
    await call((done) => store.set(jtiKey, record(jtiMemoryMs(runtime)), done));
  } catch (err) {
    await unclaim();
    throw err;
  }
  debug('back-channel logout: %d login(s) ended', ended);
  res.setHeader('Cache-Control', 'no-store');
  res.statusCode = 200;
  res.end();
  return true;
}

/**
 * Ends this instance's logins the token names (by `sid`, else every one of its `sub`), and
 * drops the ended sessions' ids from their records. Resolves with how many ended.
 */
async function endMatchingLogins(
  runtime: OxdRuntime,
  store: SessionStore,
  claims: Record<string, unknown>,
  audience: string[] | undefined,
): Promise<number> {
  const iss = trimIssuer(claims.iss as string);
  const sid = typeof claims.sid === 'string' ? claims.sid : undefined;
  const sub = typeof claims.sub === 'string' ? claims.sub : undefined;
  const key =
    sid !== undefined
      ? recordKey('sid', iss, sid, runtime.sessionKey)
      : recordKey('sub', iss, sub as string, runtime.sessionKey);
  const found = await call<StoreRecord>((done) => store.get(key, done));
  const ids = found?.oxdSessionIds ?? [];
  if (ids.length === 0) return 0;
  if (audience && !(found?.oxdClientId && audience.includes(found.oxdClientId))) return 0;
  const matches = (data: StoredLogin): boolean =>
    trimIssuer(loginIssuer(data) ?? '') === iss &&
    (sid !== undefined ? loginSid(data) === sid : loginClaims(data).sub === sub);
  const ended = new Map<string, StoredLogin>();
  for (const id of ids) {
    const data = await endLoginIn(store, runtime, id, matches);
    if (data) ended.set(id, data);
  }
  const keys = new Set([key]);
  for (const data of ended.values()) {
    for (const other of loginRecordKeys(data, runtime.sessionKey)) keys.add(other);
  }
  // The named record keeps the logout's time: a login copied into another session while
  // the record still named the old one ends when a request brings it to the new session.
  await forgetIds(store, runtime.refreshLock, [...keys], ids, { key, at: runtime.clock() });
  return ended.size;
}
