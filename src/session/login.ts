/**
 * The stored login: what `oxdAuth()` keeps under `req.session.oxd` (tokens, and the user's
 * claims only when the ID token does not hold them), and the claims derived from it on access.
 */
import { claimString, isClaimName, normaliseClaims, setClaim, type Claims } from '../claims';

/** Tokens of the logged-in user, wire names as oxd returns them. */
export interface OxdSessionTokens {
  access_token: string;
  id_token?: string | undefined;
  refresh_token?: string | undefined;
  /** When the access token expires, in milliseconds since the epoch; absent when unknown. */
  expires_at?: number | undefined;
}

/**
 * A completed login as the application's `afterCallback` hook sees it: every field filled
 * in. Also what older versions stored under `req.session.oxd` (read as is).
 */
export interface OxdSessionData {
  tokens: OxdSessionTokens;
  /** UserInfo claims, normalised (one-element lists unwrapped). */
  claims: Claims;
  /** UserInfo claims exactly as oxd returned them. */
  rawClaims?: Record<string, unknown> | undefined;
  /** ID-token claims, normalised, when oxd returned an ID token. */
  idTokenClaims?: Claims | undefined;
  /** The OP's session id (`sid` of the ID token), matched by front-channel logout. */
  sid?: string | undefined;
  /** The issuer of the ID token (`iss`), matched by front-channel logout. */
  iss?: string | undefined;
}

/**
 * What the session keeps about a login: each thing once. The UserInfo claims are stored as
 * `claims` (normalised) when the raw answer can be rebuilt from them, else as `rawClaims`
 * (and normalised on access); neither is stored when they are exactly the user claims of
 * the stored ID token, which is then their only copy. The ID-token claims, `sid` and `iss`
 * are read from the stored `id_token` on access. `idTokenClaims`, `sid` and `iss` are stored
 * only by older versions or when an `afterCallback` hook set values that cannot be derived.
 */
export interface StoredLogin {
  tokens: OxdSessionTokens;
  claims?: Claims | undefined;
  rawClaims?: Record<string, unknown> | undefined;
  idTokenClaims?: Claims | undefined;
  sid?: string | undefined;
  iss?: string | undefined;
  /**
   * When the login completed, in milliseconds since the epoch: the start of its
   * `absoluteDuration`. Absent in logins stored by earlier versions (stamped on first read).
   */
  startedAt?: number | undefined;
  /**
   * When the login was last used, in milliseconds since the epoch: kept only with a
   * `rollingDuration`, and written at most once per step of it, not on every request.
   */
  seenAt?: number | undefined;
  /**
   * The session id the login's back-channel logout records name; kept only by an `oxdAuth()`
   * instance with a back-channel route. A request whose session has another id (the
   * application regenerated the session and copied the login into it) brings the records
   * to that id once.
   */
  recordedIn?: string | undefined;
}

/**
 * The absolute expiry of a login, in milliseconds since the epoch: `absoluteDurationMs`
 * after it began; `undefined` when its start is not known (a login stored by an earlier
 * version, before a request has read it). Whatever is kept about a login (records of its
 * OP session, for instance) need not outlive this.
 */
export function loginExpiresAt(data: StoredLogin, absoluteDurationMs: number): number | undefined {
  const started = data.startedAt;
  return typeof started === 'number' && Number.isFinite(started)
    ? started + absoluteDurationMs
    : undefined;
}

/**
 * Claims an ID token carries about the authentication rather than the user (OpenID Connect
 * Core §2, RFC 7519 §4.1, front-channel logout `sid`); the rest are user claims.
 */
const ID_TOKEN_ONLY_CLAIMS: ReadonlySet<string> = new Set([
  'iss',
  'aud',
  'exp',
  'iat',
  'nbf',
  'jti',
  'nonce',
  'auth_time',
  'acr',
  'amr',
  'azp',
  'at_hash',
  'c_hash',
  's_hash',
  'sid',
  'cnf',
]);

/** Values derived on access, per stored login object (one per request's session). */
const derivedClaims = new WeakMap<StoredLogin, Claims>();
const derivedIdTokenClaims = new WeakMap<StoredLogin, Claims | null>();

/**
 * The claims of a JWT's payload, normalised, without checking its signature: oxd validated
 * the ID token when the login completed, and the session is trusted storage. `undefined`
 * when the token is not a readable JWT.
 */
export function jwtPayloadClaims(jwt: string | undefined): Claims | undefined {
  if (typeof jwt !== 'string') return undefined;
  const start = jwt.indexOf('.');
  const end = jwt.indexOf('.', start + 1);
  if (start < 0 || end < 0) return undefined;
  try {
    const payload: unknown = JSON.parse(
      Buffer.from(jwt.slice(start + 1, end), 'base64url').toString('utf8'),
    );
    if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
      return undefined;
    }
    return normaliseClaims(payload);
  } catch {
    return undefined;
  }
}

/** The user claims of an ID token's (normalised) claims. */
function userClaimsOf(idTokenClaims: Claims): Claims {
  const claims: Claims = {};
  for (const name of Object.keys(idTokenClaims)) {
    if (!ID_TOKEN_ONLY_CLAIMS.has(name) && isClaimName(name)) {
      setClaim(claims, name, idTokenClaims[name]);
    }
  }
  return claims;
}

/** The login's ID-token claims, normalised; `undefined` without an ID token. */
export function loginIdTokenClaims(data: StoredLogin): Claims | undefined {
  if (data.idTokenClaims !== undefined) return data.idTokenClaims;
  let claims = derivedIdTokenClaims.get(data);
  if (claims === undefined) {
    claims = jwtPayloadClaims(data.tokens?.id_token) ?? null;
    derivedIdTokenClaims.set(data, claims);
  }
  return claims ?? undefined;
}

/** The login's UserInfo claims, normalised. */
export function loginClaims(data: StoredLogin): Claims {
  if (data.claims !== undefined) return data.claims;
  let claims = derivedClaims.get(data);
  if (claims === undefined) {
    if (data.rawClaims !== undefined) {
      claims = normaliseClaims(data.rawClaims);
    } else {
      const idTokenClaims = loginIdTokenClaims(data);
      claims = idTokenClaims === undefined ? {} : userClaimsOf(idTokenClaims);
    }
    derivedClaims.set(data, claims);
  }
  return claims;
}

/**
 * The UserInfo answer as oxd 3.x sends it (every value a list of strings) from normalised
 * claims; oxd 4.x sends the claims as they are.
 */
function rawFromClaims(claims: Claims, lists: boolean): Record<string, unknown> {
  if (!lists) return claims;
  const raw: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(claims)) {
    raw[name] = Array.isArray(value) ? value : [String(value)];
  }
  return raw;
}

/**
 * The login's UserInfo claims as oxd returned them. `lists`: the oxd in use sends every
 * claim value as a list of strings (oxd 3.x).
 */
export function loginRawClaims(data: StoredLogin, lists: boolean): Record<string, unknown> {
  return data.rawClaims ?? rawFromClaims(loginClaims(data), lists);
}

/** The OP's session id of the login (`sid` of the ID token), when known. */
export function loginSid(data: StoredLogin): string | undefined {
  if (data.sid !== undefined) return data.sid;
  return claimString(loginIdTokenClaims(data), 'sid');
}

/** The issuer of the login's ID token (`iss`), when known. */
export function loginIssuer(data: StoredLogin): string | undefined {
  if (data.iss !== undefined) return data.iss;
  return claimString(loginIdTokenClaims(data), 'iss');
}

/** Deep equality of JSON values (key order ignored). */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const aKeys = Object.keys(a);
  const bKeys = Object.keys(b);
  if (aKeys.length !== bKeys.length) return false;
  const bRecord = b as Record<string, unknown>;
  const aRecord = a as Record<string, unknown>;
  return aKeys.every((key) => Object.hasOwn(bRecord, key) && sameJson(aRecord[key], bRecord[key]));
}

/**
 * What to store for a completed login: the tokens and the UserInfo answer `rawClaims`, in
 * the smallest form the getters read back exactly (see {@link StoredLogin}).
 */
export function storedLogin(
  tokens: OxdSessionTokens,
  rawClaims: Record<string, unknown>,
  lists: boolean,
): StoredLogin {
  const claims = normaliseClaims(rawClaims);
  if (!sameJson(rawFromClaims(claims, lists), rawClaims)) return { tokens, rawClaims };
  const idTokenClaims = jwtPayloadClaims(tokens.id_token);
  if (idTokenClaims !== undefined && sameJson(userClaimsOf(idTokenClaims), claims)) {
    return { tokens };
  }
  return { tokens, claims };
}

/**
 * Before the tokens of a login are replaced (refresh): a login whose claims are read from
 * its ID token keeps them, whatever ID token comes next.
 */
export function keepClaimsAcrossTokens(data: StoredLogin, next: OxdSessionTokens): void {
  if (data.claims !== undefined || data.rawClaims !== undefined) return;
  if (next.id_token === data.tokens.id_token) return;
  data.claims = loginClaims(data);
}

/** The complete view of a stored login, as given to `afterCallback`. */
export function loginView(data: StoredLogin, lists: boolean): OxdSessionData {
  const view: OxdSessionData = {
    tokens: data.tokens,
    claims: loginClaims(data),
    rawClaims: loginRawClaims(data, lists),
  };
  const idTokenClaims = loginIdTokenClaims(data);
  if (idTokenClaims !== undefined) view.idTokenClaims = idTokenClaims;
  const sid = loginSid(data);
  if (sid !== undefined) view.sid = sid;
  const iss = loginIssuer(data);
  if (iss !== undefined) view.iss = iss;
  return view;
}

/**
 * What to store for `data`, a login view reshaped by `afterCallback`: `stored` (what was
 * derived from oxd's answers) where the hook left the view's fields as they were (the same
 * objects, the same ID token), else the hook's values.
 */
export function compactLogin(
  data: OxdSessionData,
  view: OxdSessionData,
  stored: StoredLogin,
): StoredLogin {
  const sameIdToken = data.tokens.id_token === stored.tokens.id_token;
  const sameClaims =
    sameIdToken && data.claims === view.claims && data.rawClaims === view.rawClaims;
  const result: StoredLogin = sameClaims
    ? { ...stored, tokens: data.tokens }
    : { tokens: data.tokens, claims: data.claims };
  if (stored.startedAt !== undefined) result.startedAt = stored.startedAt;
  if (stored.seenAt !== undefined) result.seenAt = stored.seenAt;
  if (!sameClaims && data.rawClaims !== undefined) result.rawClaims = data.rawClaims;
  if (
    data.idTokenClaims !== undefined &&
    (!sameIdToken || data.idTokenClaims !== view.idTokenClaims)
  ) {
    result.idTokenClaims = data.idTokenClaims;
  }
  if (data.sid !== undefined && (!sameIdToken || data.sid !== view.sid)) result.sid = data.sid;
  if (data.iss !== undefined && (!sameIdToken || data.iss !== view.iss)) result.iss = data.iss;
  return result;
}
