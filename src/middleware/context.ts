/**
 * `req.oxd`: the login state of one request and the actions the application can start from
 * it. Created on first access (a getter on the Express application's request prototype, or
 * on a Connect request itself), so requests that never look at it allocate nothing; everything else is computed on access by getters.
 */
import { IncomingMessage, type ServerResponse } from 'node:http';
import { ERROR_CODES, OxdAuthError, OxdConfigError } from '../errors';
import type { OxdClient } from '../oxd/client';
import {
  loginClaims,
  loginIdTokenClaims,
  loginRawClaims,
  type OxdSessionTokens,
} from '../session/login';
import type { OxdIncomingMessage } from '../session/store';
import { normaliseClaims, type Claims } from '../claims';
import { activeLogin } from './lifetime';
import { handleCallback, type CallbackOptions } from './callback';
import { startLogin } from './login';
import { refreshScope, type RefreshOptions } from './refresh-options';
import type { LoginOptions } from './login-params';
import { startLogout, type LogoutOptions } from './logout';
import { mountPrefix } from '../http/request';
import { traced } from '../report';
import type { OxdRuntime } from './runtime';
import { ensureFreshTokens, refreshTokens } from './tokens';

declare module '../session/store' {
  interface OxdIncomingMessage {
    /** Set by `oxdAuth()` on every request it sees. */
    oxd?: OxdContext | undefined;
  }
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** Login state and actions of this request, set by `oxdAuth()`. */
      oxd: OxdContext;
    }
  }
}

/** The logged-in user's tokens, camelCase. */
export class OxdTokens {
  readonly accessToken: string;
  readonly idToken: string | undefined;
  readonly refreshToken: string | undefined;
  /** Expiry of the access token in milliseconds since the epoch, when known. */
  readonly expiresAt: number | undefined;
  readonly #clock: () => number;

  constructor(tokens: OxdSessionTokens, clock: () => number) {
    this.accessToken = tokens.access_token;
    this.idToken = tokens.id_token;
    this.refreshToken = tokens.refresh_token;
    this.expiresAt = tokens.expires_at;
    this.#clock = clock;
  }

  /** True when the access token's known expiry has passed. */
  isExpired(): boolean {
    return this.expiresAt !== undefined && this.expiresAt <= this.#clock();
  }
}

let runtimeOf: (context: OxdContext) => OxdRuntime;
let mountOf: (context: OxdContext) => string;

/** `req.oxd`, set by `oxdAuth()` on every request. */
export class OxdContext {
  readonly #runtime: OxdRuntime;
  readonly #req: OxdIncomingMessage;
  readonly #res: ServerResponse;
  /** `req.url` when `oxdAuth()` ran, to find its mount path later. */
  readonly #url: string;

  static {
    runtimeOf = (context) => context.#runtime;
    mountOf = (context) => mountPrefix(context.#req.originalUrl, context.#url);
  }

  constructor(runtime: OxdRuntime, req: OxdIncomingMessage, res: ServerResponse, url: string) {
    this.#runtime = runtime;
    this.#req = req;
    this.#res = res;
    this.#url = url;
  }

  /** True when the session holds a login. */
  isAuthenticated(): boolean {
    return activeLogin(this.#runtime, this.#req.session) !== undefined;
  }

  /** The UserInfo claims, normalised (one-element lists unwrapped); `undefined` if logged out. */
  get user(): Claims | undefined {
    const data = activeLogin(this.#runtime, this.#req.session);
    return data === undefined ? undefined : loginClaims(data);
  }

  /** The UserInfo claims exactly as oxd returned them; `undefined` if logged out. */
  get rawClaims(): Record<string, unknown> | undefined {
    const data = activeLogin(this.#runtime, this.#req.session);
    return data === undefined ? undefined : loginRawClaims(data, this.#runtime.claimsAsLists);
  }

  /** The ID token's claims, normalised, when there is an ID token (read from it). */
  get idTokenClaims(): Claims | undefined {
    const data = activeLogin(this.#runtime, this.#req.session);
    return data === undefined ? undefined : loginIdTokenClaims(data);
  }

  /** The tokens of the login; `undefined` if logged out. */
  get tokens(): OxdTokens | undefined {
    const data = activeLogin(this.#runtime, this.#req.session);
    return data ? new OxdTokens(data.tokens, this.#runtime.clock) : undefined;
  }

  /** The oxd client this middleware uses. */
  get client(): OxdClient {
    return this.#runtime.client;
  }

  /**
   * Asks oxd for fresh UserInfo claims with the current access token (refreshing it first
   * when it has expired and a refresh token exists). Resolves with the normalised claims;
   * does not change the session's stored claims.
   */
  async fetchUserInfo(): Promise<Claims> {
    const session = this.#req.session;
    const data = activeLogin(this.#runtime, session);
    if (!session || !data) {
      throw new OxdAuthError(
        ERROR_CODES.UNAUTHENTICATED,
        'fetchUserInfo() needs a logged-in user; check req.oxd.isAuthenticated() first',
        { status: 401 },
      );
    }
    const usable = await ensureFreshTokens(this.#runtime, this.#req, session, data);
    if (!usable) {
      throw new OxdAuthError(
        ERROR_CODES.UNAUTHENTICATED,
        'The access token expired and could not be refreshed; log in again',
        { status: 401 },
      );
    }
    const reply = await this.#runtime.client.getUserInfo({
      access_token: data.tokens.access_token,
    });
    return normaliseClaims(reply.claims);
  }

  /**
   * Refreshes the access token now, whether or not it is due, and resolves with the new
   * tokens (the session keeps them). When another instance sharing the session refreshed it
   * meanwhile, its tokens are used. Rejects with `OxdAuthError` 401 when nobody is logged in
   * or the login ended (the OP refused the refresh token, or oxd answered an error for an
   * expired one), `OxdConfigError` when the login has no refresh token (request the
   * `offline_access` scope), and a 503 error when oxd cannot be reached or a refresh of a
   * still valid token fails (the login is kept).
   */
  async refresh(options: RefreshOptions = {}): Promise<OxdTokens> {
    const scope = refreshScope(options);
    const session = this.#req.session;
    const data = activeLogin(this.#runtime, session);
    if (!session || !data) {
      throw new OxdAuthError(
        ERROR_CODES.UNAUTHENTICATED,
        'refresh() needs a logged-in user; check req.oxd.isAuthenticated() first',
        { status: 401 },
      );
    }
    if (!data.tokens.refresh_token) {
      throw new OxdConfigError(
        'the login has no refresh token to refresh with: add offline_access to [client] scope ' +
          '(and allow the refresh_token grant at the OP)',
        { key: 'scope' },
      );
    }
    const usable = await refreshTokens(this.#runtime, this.#req, session, data, true, scope);
    if (!usable) {
      throw new OxdAuthError(
        ERROR_CODES.UNAUTHENTICATED,
        'The OP refused the refresh token; log in again',
        { status: 401 },
      );
    }
    return new OxdTokens(data.tokens, this.#runtime.clock);
  }

  /**
   * Starts a login: stores the pending login in the session and redirects to the OP.
   * Rejects with a typed error (pass it to `next`); under Express 5 returning the promise
   * from the route handler is enough. Traced and logged like the login route.
   */
  login(options: LoginOptions = {}): Promise<void> {
    return traced('login', this.#req, this.#runtime, () =>
      startLogin(this.#runtime, this.#req, this.#res, options),
    );
  }

  /**
   * Completes a login from the application's own route, as the callback route does (the
   * state checked, the code exchanged, the session regenerated, a redirect to `returnTo`):
   * for `routes: { callback: false }` and a route of the application at the path of
   * `authorization_redirect_uri`. Rejects like `login()`; traced and logged like the route.
   */
  callback(options: CallbackOptions = {}): Promise<void> {
    return traced('callback', this.#req, this.#runtime, () =>
      handleCallback(this.#runtime, this.#req, this.#res, options),
    );
  }

  /**
   * Logs out: ends the local session and redirects to the OP's end-session endpoint (or to
   * `returnTo` / the post-logout path when nobody is logged in). Rejects like `login()`;
   * traced and logged like the logout route.
   */
  logout(options: LogoutOptions = {}): Promise<void> {
    return traced('logout', this.#req, this.#runtime, () =>
      startLogout(this.#runtime, this.#req, this.#res, options),
    );
  }
}

/** The login route's URL as the browser sees it (mount path included), or `undefined`. */
export function loginRouteUrl(context: OxdContext): string | undefined {
  const route = runtimeOf(context).routes.login;
  if (!route) return undefined;
  return route.absolute ? route.path : mountOf(context) + route.path;
}

/**
 * Per-request state for the `req.oxd` getter, laid out for the hot path. Express gives every
 * request its own prototype, and so its own hidden class: on Node 20 and 22 each property
 * added to a request builds a new one (microseconds per request, and garbage), and a WeakMap
 * value that refers to the request keeps it alive through young-generation collections. So
 * the one thing recorded for every request is the runtime of the `oxdAuth()` that saw it, in
 * a WeakMap whose values outlive requests. The rest goes on the request only when needed: the
 * response under Connect (Express links it as `req.res`), the URL when mounted under a path,
 * and the context once built.
 *
 * Under Express the getter and the map go on the request prototype of the application
 * (`app.request` of the top application, which mounted applications' requests inherit), once;
 * no class of Node's is changed. Under Connect (a plain node:http request) the getter and the
 * map are the request's own properties. The map and the getter are found under a registered
 * symbol, so every copy of this package that serves one application shares them.
 */
const RUNTIMES = Symbol.for('express-oxd.runtimes');
const RESPONSE = Symbol.for('express-oxd.response');
const URL_AT_MIDDLEWARE = Symbol.for('express-oxd.mounted-url');
const CONTEXT = Symbol('express-oxd context');

type Runtimes = WeakMap<object, OxdRuntime>;

interface ContextSlots {
  /** The runtimes of the requests (inherited from the application's request prototype). */
  [RUNTIMES]?: Runtimes;
  [RESPONSE]?: ServerResponse;
  /** The URL as the last `oxdAuth()` saw it, when that differed from `originalUrl`. */
  [URL_AT_MIDDLEWARE]?: string | undefined;
  [CONTEXT]?: OxdContext;
  /** Set by Express on its requests. */
  res?: ServerResponse;
  /** Set by Express on its requests (through the application's request prototype). */
  app?: unknown;
}

type SlottedRequest = OxdIncomingMessage & ContextSlots;

/** `req.oxd` of a request `oxdAuth()` attached (see {@link attachContext}), built once. */
export function contextOf(req: OxdIncomingMessage): OxdContext | undefined {
  const request = req as SlottedRequest;
  const runtime = request[RUNTIMES]?.get(req);
  if (runtime === undefined) return undefined;
  const cached = request[CONTEXT];
  if (cached !== undefined && runtimeOf(cached) === runtime) return cached;
  const res = request[RESPONSE] ?? request.res;
  if (res === undefined) return undefined;
  const url = request[URL_AT_MIDDLEWARE] ?? request.originalUrl ?? request.url ?? '/';
  const context = new OxdContext(runtime, request, res, url);
  request[CONTEXT] = context;
  return context;
}

/**
 * The runtime of the `oxdAuth()` that last saw this request, without building `req.oxd`
 * (what `requireAuth()` needs on every request); `undefined` when none did.
 */
export function attachedRuntime(req: OxdIncomingMessage): OxdRuntime | undefined {
  const runtime = (req as SlottedRequest)[RUNTIMES]?.get(req);
  if (runtime !== undefined) return runtime;
  // A request given its context at once (not node's IncomingMessage, or an own `oxd`).
  const own = Object.hasOwn(req, 'oxd') ? req.oxd : undefined;
  return own instanceof OxdContext ? runtimeOf(own) : undefined;
}

/**
 * What a guard (`requireAuth()`, `attemptSilentLogin()`) passes on for a request no
 * `oxdAuth()` has seen: a fixed text naming no file or host, shown so the developer sees
 * what to add.
 */
export function unseenRequest(guard: string): OxdConfigError {
  return new OxdConfigError(
    `${guard} ran on a request oxdAuth() has not seen: add app.use(oxdAuth(...)) before the ` +
      `routes that use ${guard}`,
    { key: 'oxdAuth' },
    { expose: true },
  );
}

/** Whether any request was attached under a mount path (only then can a URL be stale). */
let attachedUnderMount = false;

/** `req.oxd`: the context of the runtime that saw the request, built on first access. */
function oxdGetter(this: SlottedRequest): object | undefined {
  return this[RUNTIMES]?.get(this)?.contextOf(this);
}

/** Assigning `req.oxd` makes it an own property of that request. */
function oxdSetter(this: SlottedRequest, value: unknown): void {
  Object.defineProperty(this, 'oxd', {
    value,
    writable: true,
    configurable: true,
    enumerable: true,
  });
}

const OXD_ACCESSOR: PropertyDescriptor = Object.freeze({
  configurable: true,
  enumerable: false,
  get: oxdGetter,
  set: oxdSetter,
});

/**
 * The runtimes of an Express request: the `oxd` getter and the map are put on the request
 * prototype of its top application, the first time one of its requests is seen; `undefined`
 * when the request does not inherit from that prototype (not an Express request).
 */
function appRuntimes(request: SlottedRequest): Runtimes | undefined {
  let app = request.app as { request?: unknown; parent?: unknown } | undefined;
  if (typeof app !== 'function' && (typeof app !== 'object' || app === null)) return undefined;
  while (typeof app.parent === 'function' || (typeof app.parent === 'object' && app.parent)) {
    app = app.parent as { request?: unknown; parent?: unknown };
  }
  const proto = app.request as SlottedRequest | undefined;
  if (
    typeof proto !== 'object' ||
    proto === null ||
    !Object.prototype.isPrototypeOf.call(proto, request)
  ) {
    return undefined;
  }
  if (!Object.hasOwn(proto, RUNTIMES)) {
    Object.defineProperty(proto, RUNTIMES, { value: new WeakMap<object, OxdRuntime>() });
    if (!Object.hasOwn(proto, 'oxd')) Object.defineProperty(proto, 'oxd', OXD_ACCESSOR);
  }
  return proto[RUNTIMES];
}

/**
 * The map of the Connect requests this copy of the package sees first. Keyed by request, it
 * may be shared by all of them: an entry lives no longer than its request, as in the map of
 * an Express application.
 */
const CONNECT_RUNTIMES: Runtimes = new WeakMap<object, OxdRuntime>();

/**
 * The runtimes of a Connect request: the getter and the (shared) map become its own
 * properties, so that another copy of the package finds them as under Express.
 */
function ownRuntimes(request: SlottedRequest): Runtimes {
  Object.defineProperty(request, RUNTIMES, { value: CONNECT_RUNTIMES, configurable: true });
  Object.defineProperty(request, 'oxd', OXD_ACCESSOR);
  return CONNECT_RUNTIMES;
}

/**
 * Makes `req.oxd` the context of `runtime` for this request, without creating it (see
 * {@link RUNTIMES} for where what goes). `url` and `originalUrl` are the request's, read once
 * by the caller. Requests that are not node's `IncomingMessage`, or that already have their
 * own `oxd`, get the context at once.
 */
export function attachContext(
  runtime: OxdRuntime,
  req: OxdIncomingMessage,
  res: ServerResponse,
  url: string,
  originalUrl: string | undefined,
): void {
  const request = req as SlottedRequest;
  if (
    Object.hasOwn(req, 'oxd') ? !Object.hasOwn(req, RUNTIMES) : !(req instanceof IncomingMessage)
  ) {
    req.oxd = new OxdContext(runtime, req, res, url);
    return;
  }
  const runtimes = request[RUNTIMES] ?? appRuntimes(request) ?? ownRuntimes(request);
  runtimes.set(req, runtime);
  if (request.res !== res) request[RESPONSE] = res;
  if (url !== originalUrl) {
    request[URL_AT_MIDDLEWARE] = url;
    attachedUnderMount = true;
  } else if (attachedUnderMount && request[URL_AT_MIDDLEWARE] !== undefined) {
    // Seen under a mount path first, now at the root: the context belongs to the root.
    request[URL_AT_MIDDLEWARE] = undefined;
  }
}
