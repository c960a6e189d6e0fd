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
import { createHash, createPublicKey, verify, type KeyObject, constants } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { debuglog } from 'node:util';
import { loginClaims, loginIssuer, loginSid, type StoredLogin } from '../session/login';
import { type OxdIncomingMessage } from '../session/store';
import { sessionStoreUnavailable } from '../errors';
import { sendJson } from '../http/response';
import type { OxdRuntime } from './runtime';

const debug = debuglog('express-oxd');

const EVENT = 'http://schemas.openid.net/event/backchannel-logout';
/** Largest request body read; logout tokens are a few kilobytes. */
const MAX_BODY_BYTES = 64 * 1024;
/** How far `iat` may be from now (clock skew and delivery delay), in seconds. */
const IAT_WINDOW_S = 5 * 60;
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

class LogoutTokenError extends Error {}

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
    run((err, value) => (err ? reject(sessionStoreUnavailable(err)) : resolve(value)));
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

function trimIssuer(value: string): string {
  return value.endsWith('/') ? value.slice(0, -1) : value;
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
export class OpKeys {
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

/** node:crypto parameters of the JWS algorithms accepted (asymmetric only; never `none`). */
const ALGORITHMS: Readonly<
  Record<string, { hash: string; padding?: number; dsaEncoding?: 'ieee-p1363' }>
> = {
  RS256: { hash: 'sha256' },
  RS384: { hash: 'sha384' },
  RS512: { hash: 'sha512' },
  PS256: { hash: 'sha256', padding: constants.RSA_PKCS1_PSS_PADDING },
  PS384: { hash: 'sha384', padding: constants.RSA_PKCS1_PSS_PADDING },
  PS512: { hash: 'sha512', padding: constants.RSA_PKCS1_PSS_PADDING },
  ES256: { hash: 'sha256', dsaEncoding: 'ieee-p1363' },
  ES384: { hash: 'sha384', dsaEncoding: 'ieee-p1363' },
  ES512: { hash: 'sha512', dsaEncoding: 'ieee-p1363' },
};

function decodeJson(part: string, what: string): Record<string, unknown> {
  try {
    const value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as unknown;
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      return value as Record<string, unknown>;
    }
  } catch {
    // fall through
  }
  throw new LogoutTokenError(`the logout_token ${what} is not a JSON object`);
}

/** Verifies the token's signature and claims; resolves its claims. */
async function verifyLogoutToken(
  runtime: OxdRuntime,
  keys: OpKeys,
  token: string,
): Promise<Record<string, unknown>> {
  const parts = token.split('.');
  if (parts.length !== 3 || parts.some((part) => !/^[\w-]+$/.test(part))) {
    throw new LogoutTokenError('the logout_token is not a signed JWT');
  }
  const [head = '', body = '', signature = ''] = parts;
  const header = decodeJson(head, 'header');
  const alg = typeof header.alg === 'string' ? header.alg : '';
  const spec = ALGORITHMS[alg];
  if (!spec)
    throw new LogoutTokenError(`the logout_token algorithm ${alg || '(none)'} is not accepted`);
  const kid = typeof header.kid === 'string' ? header.kid : undefined;
  const candidates = await keys.find(kid, alg);
  const data = Buffer.from(`${head}.${body}`);
  const sig = Buffer.from(signature, 'base64url');
  const valid = candidates.some((key) =>
    verify(
      spec.hash,
      data,
      {
        key,
        ...(spec.padding === undefined
          ? {}
          : { padding: spec.padding, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }),
        ...(spec.dsaEncoding ? { dsaEncoding: spec.dsaEncoding } : {}),
      },
      sig,
    ),
  );
  if (!valid)
    throw new LogoutTokenError('the logout_token signature does not verify with the OP keys');

  const claims = decodeJson(body, 'payload');
  const expected = runtime.config.client.opHost;
  if (
    typeof claims.iss !== 'string' ||
    (expected && trimIssuer(claims.iss) !== trimIssuer(expected))
  ) {
    throw new LogoutTokenError('the logout_token iss is not the configured OP');
  }
  const clientId =
    (runtime.client as { clientId?: unknown }).clientId ?? runtime.config.client.clientId;
  const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (typeof clientId !== 'string' || !aud.includes(clientId)) {
    throw new LogoutTokenError('the logout_token aud does not name this client');
  }
  const now = runtime.clock() / 1000;
  if (typeof claims.iat !== 'number' || Math.abs(now - claims.iat) > IAT_WINDOW_S) {
    throw new LogoutTokenError('the logout_token iat is missing or too far from now');
  }
  if (typeof claims.exp === 'number' && claims.exp < now - 60) {
    throw new LogoutTokenError('the logout_token has expired');
  }
  const events = claims.events;
  if (
    typeof events !== 'object' ||
    events === null ||
    typeof (events as Record<string, unknown>)[EVENT] !== 'object'
  ) {
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
  if (await call((done) => store.get(jtiKey, done))) {
    debug('back-channel logout: refused a replayed jti');
    refuse(res, 'this logout_token was already used');
    return;
  }
  await call((done) => store.set(jtiKey, record(JTI_TTL_MS), done));

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
