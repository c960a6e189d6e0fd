/**
 * OpenID Connect Back-Channel Logout 1.0: the OP POSTs a signed `logout_token` to this route
 * when a user's OP session ends. The token is checked (signature against the OP's keys from
 * oxd's `get_jwks`, `iss`, `aud`, `iat`, `events`, `sid`/`sub`, no `nonce`, `jti` used once)
 * and the matching sessions are destroyed in the application's session store.
 *
 * No store lookup happens on ordinary requests: at login, small records `sid → session ids`
 * and `sub → session ids` are written into the same store (next to the sessions, with their
 * lifetime), and this route destroys the sessions they name, by id.
 */
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { debuglog } from 'node:util';
import { loginClaims, loginIssuer, loginSid, type StoredLogin } from '../session/login';
import { type OxdIncomingMessage } from '../session/store';
import { sendJson } from '../http/response';
import { trimIssuer } from './issuer';
import { IAT_WINDOW_S, LogoutTokenError, verifyLogoutToken, type KeySource } from './logout-token';
import type { OxdRuntime } from './runtime';

const debug = debuglog('express-oxd');

/** Largest request body read; logout tokens are a few kilobytes. */
const MAX_BODY_BYTES = 64 * 1024;
/** How long a used `jti` is remembered (longer than the `iat` window). */
const JTI_TTL_MS = 2 * IAT_WINDOW_S * 1000;
/** How long the login records live when the session cookie says nothing: one day. */
const DEFAULT_RECORD_TTL_MS = 24 * 60 * 60 * 1000;
/** Sessions kept per `sid` or `sub` record; the oldest go first. */
const MAX_SESSIONS_PER_RECORD = 20;
/** Refetch the OP's keys for an unknown `kid` at most this often. */
const JWKS_REFRESH_MS = 60 * 1000;

/** The express-session `Store` methods used here. */
interface SessionStore {
  get(sid: string, callback: (err: unknown, session?: never) => void): void;
  set(sid: string, session: unknown, callback?: (err?: unknown) => void): void;
  destroy(sid: string, callback?: (err?: unknown) => void): void;
}

interface StoreRecord {
  cookie: { originalMaxAge: number; expires: string };
  oxdSessionIds?: string[];
}

function storeOf(req: IncomingMessage): SessionStore | undefined {
  const store = (req as { sessionStore?: unknown }).sessionStore as SessionStore | undefined;
  return store &&
    typeof store.get === 'function' &&
    typeof store.set === 'function' &&
    typeof store.destroy === 'function'
    ? store
    : undefined;
}

function call<T>(
  run: (callback: (err: unknown, value?: T) => void) => void,
): Promise<T | undefined> {
  return new Promise((resolve, reject) => {
    run((err, value) => (err ? reject(err) : resolve(value)));
  });
}

function recordKey(kind: 'sid' | 'sub' | 'jti', iss: string, value: string): string {
  const digest = createHash('sha256').update(`${iss}\u0000${value}`).digest('base64url');
  return `express-oxd:backchannel:${kind}:${digest}`;
}

function record(ttlMs: number, ids?: string[]): StoreRecord {
  return {
    cookie: { originalMaxAge: ttlMs, expires: new Date(Date.now() + ttlMs).toISOString() },
    ...(ids ? { oxdSessionIds: ids } : {}),
  };
}

/**
 * At login: adds the new session's id to the `sid` and `sub` records of its login, so a
 * back-channel logout can find it. Failures are logged, not thrown: the login stands.
 */
export async function rememberLogin(req: OxdIncomingMessage, data: StoredLogin): Promise<void> {
  const store = storeOf(req);
  const id = req.sessionID;
  const iss = loginIssuer(data);
  const sid = loginSid(data);
  if (!store || !id || !iss) return;
  const maxAge = (req.session as { cookie?: { maxAge?: unknown } } | undefined)?.cookie?.maxAge;
  const ttl = typeof maxAge === 'number' && maxAge > 0 ? maxAge : DEFAULT_RECORD_TTL_MS;
  const sub = loginClaims(data).sub;
  const keys = [
    ...(sid ? [recordKey('sid', trimIssuer(iss), sid)] : []),
    ...(typeof sub === 'string' && sub !== '' ? [recordKey('sub', trimIssuer(iss), sub)] : []),
  ];
  try {
    for (const key of keys) {
      const found = (await call<StoreRecord>((done) => store.get(key, done))) ?? undefined;
      const ids = [...(found?.oxdSessionIds ?? []).filter((known) => known !== id), id];
      await call((done) => store.set(key, record(ttl, ids.slice(-MAX_SESSIONS_PER_RECORD)), done));
    }
  } catch (err) {
    debug('back-channel logout: could not record the login (%s)', (err as Error).message);
  }
}

interface OpKey {
  kid: string | undefined;
  alg: string | undefined;
  key: KeyObject;
}

/** The OP's signing keys by `kid`, fetched through oxd and refreshed for unknown ids. */
export class OpKeys implements KeySource {
  #keys: OpKey[] = [];
  #fetchedAt = 0;
  #pending: Promise<void> | undefined;

  constructor(private readonly runtime: OxdRuntime) {}

  async find(kid: string | undefined, alg: string): Promise<KeyObject[]> {
    let found = this.#matching(kid, alg);
    if (found.length === 0 && this.runtime.clock() - this.#fetchedAt >= JWKS_REFRESH_MS) {
      this.#pending ??= this.#fetch().finally(() => {
        this.#pending = undefined;
      });
      await this.#pending;
      found = this.#matching(kid, alg);
    }
    return found;
  }

  #matching(kid: string | undefined, alg: string): KeyObject[] {
    return this.#keys
      .filter(
        (entry) => (kid === undefined || entry.kid === kid) && (!entry.alg || entry.alg === alg),
      )
      .map((entry) => entry.key);
  }

  async #fetch(): Promise<void> {
    const { opHost, opDiscoveryPath, opConfigurationEndpoint } = this.runtime.config.client;
    const reply = await this.runtime.client.getJwks({
      ...(opHost ? { op_host: opHost } : {}),
      ...(opDiscoveryPath ? { op_discovery_path: opDiscoveryPath } : {}),
      ...(opConfigurationEndpoint ? { op_configuration_endpoint: opConfigurationEndpoint } : {}),
    });
    const keys: OpKey[] = [];
    for (const jwk of reply.keys) {
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
    this.#fetchedAt = this.runtime.clock();
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new LogoutTokenError('the request body is too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function refuse(res: ServerResponse, description: string): void {
  res.setHeader('Cache-Control', 'no-store');
  sendJson(res, 400, { error: 'invalid_request', error_description: description });
}

/**
 * `jti` keys used, per `oxdAuth()` instance, with when they may be forgotten (ms since the
 * epoch). Instances share what they know only through the `refreshLock` and the store.
 */
const usedByInstance = new WeakMap<OxdRuntime, Map<string, number>>();

/**
 * Marks a token's `jti` used, atomically where that is possible: at once in this instance
 * (before any await, so two deliveries of one token cannot both pass), with the app's
 * `refreshLock` across instances when one is configured (Redis `SET NX`), and in the
 * session store (a read and a write: across instances without a lock, only nearly atomic).
 * Resolves `undefined` when the token was used already, else a function that takes the mark
 * back (when ending the sessions failed and the OP should retry).
 */
async function markTokenUsed(
  runtime: OxdRuntime,
  store: SessionStore,
  jtiKey: string,
): Promise<(() => Promise<void>) | undefined> {
  const now = runtime.clock();
  let usedHere = usedByInstance.get(runtime);
  if (!usedHere) usedByInstance.set(runtime, (usedHere = new Map()));
  for (const [key, until] of usedHere) if (until <= now) usedHere.delete(key);
  if (usedHere.has(jtiKey)) return undefined;
  usedHere.set(jtiKey, now + JTI_TTL_MS);
  const lockKey = jtiKey.replace(/^express-oxd:/, '');
  let owner: string | undefined;
  let stored = false;
  const unmark = async (): Promise<void> => {
    usedHere?.delete(jtiKey);
    if (stored) await call((done) => store.destroy(jtiKey, done)).catch(() => undefined);
    if (owner !== undefined) await runtime.refreshLock?.release(lockKey, owner);
  };
  try {
    if (runtime.refreshLock) {
      owner = await runtime.refreshLock.acquire(lockKey, JTI_TTL_MS);
      if (owner === undefined) return undefined;
    }
    if (await call((done) => store.get(jtiKey, done))) return undefined;
    await call((done) => store.set(jtiKey, record(JTI_TTL_MS), done));
    stored = true;
  } catch (err) {
    await unmark().catch(() => undefined);
    throw err;
  }
  return unmark;
}

/** Handles `POST <backchannelLogout>` with `logout_token` (form-encoded). */
export async function handleBackchannelLogout(
  runtime: OxdRuntime,
  keys: OpKeys,
  req: OxdIncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const store = storeOf(req);
  if (!store) {
    refuse(res, 'this site has no session store to end sessions in');
    return;
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
    const form = new URLSearchParams(await readBody(req));
    const tokens = form.getAll('logout_token');
    if (tokens.length !== 1 || !tokens[0]) throw new LogoutTokenError('logout_token is missing');
    claims = await verifyLogoutToken(runtime, keys, tokens[0]);
  } catch (err) {
    if (!(err instanceof LogoutTokenError)) throw err;
    debug('back-channel logout: refused (%s)', err.message);
    refuse(res, err.message);
    return;
  }
  const iss = trimIssuer(claims.iss as string);
  const jtiKey = recordKey('jti', iss, claims.jti as string);
  const unmark = await markTokenUsed(runtime, store, jtiKey);
  if (!unmark) {
    debug('back-channel logout: refused a replayed jti');
    refuse(res, 'this logout_token was already used');
    return;
  }
  try {
    await endSessions(store, iss, claims, res);
  } catch (err) {
    // Nothing was ended for sure: the OP may deliver the same token again.
    await unmark();
    throw err;
  }
}

/** Ends the sessions the token's `sid` (else `sub`) records name, and answers 200. */
async function endSessions(
  store: SessionStore,
  iss: string,
  claims: Record<string, unknown>,
  res: ServerResponse,
): Promise<void> {
  const keysToEnd = [
    ...(typeof claims.sid === 'string' ? [recordKey('sid', iss, claims.sid)] : []),
    ...(typeof claims.sid !== 'string' && typeof claims.sub === 'string'
      ? [recordKey('sub', iss, claims.sub)]
      : []),
  ];
  let ended = 0;
  for (const key of keysToEnd) {
    const found = await call<StoreRecord>((done) => store.get(key, done));
    for (const id of found?.oxdSessionIds ?? []) {
      await call((done) => store.destroy(id, done));
      ended += 1;
    }
    await call((done) => store.destroy(key, done));
  }
  debug('back-channel logout: %d session(s) ended', ended);
  res.setHeader('Cache-Control', 'no-store');
  res.statusCode = 200;
  res.end();
}
