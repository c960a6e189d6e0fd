/**
 * The types of `oxdAuth()`'s options, as given and as resolved; `options.ts` validates them.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ConfigInput } from '../config/resolve';
import type { OxdConfig } from '../config/types';
import type { OxdError } from '../errors';
import type { Logger } from '../logger';
import type { OxdClient, OxdClientOptions } from '../oxd/client';
import type { OxdSessionData } from '../session/login';
import type { LoginOptions } from './login-params';
import type { RefreshLock } from './refresh-lock';

/**
 * Paths the middleware answers (GET only). `false` turns a route off. Paths given here are
 * relative to where the middleware is mounted; the defaults taken from configured URIs
 * (callback, front-channel logout) are the URIs' own paths, matched against the full path.
 */
export interface OxdAuthRoutes {
  /** Starts a login. Default `/login`. */
  login?: string | false;
  /** Logs out locally and at the OP. Default `/logout`. */
  logout?: string | false;
  /** Where the OP sends the user back. Default: the path of `authorization_redirect_uri`. */
  callback?: string | false;
  /**
   * Called by the OP (in an iframe) to end the session. Default: the path of the first
   * `client_frontchannel_logout_uris` entry; off when there is none.
   */
  frontchannelLogout?: string | false;
  /**
   * POST route for OpenID Connect Back-Channel Logout (the OP's `logout_token`). Off by
   * default: oxd cannot register a `backchannel_logout_uri`, so it is set at the OP (see the
   * docs); the OP's keys come from oxd `get_jwks` (4.x) or the OP's discovery document (3.x).
   * Needs a session store shared by the app's instances.
   */
  backchannelLogout?: string | false;
  /**
   * Same-origin path to send the user to after `/logout` when nobody is logged in (the OP
   * sends logged-in users to `post_logout_redirect_uri`). Default `/`.
   */
  postLogoutRedirect?: string;
}

/** Authorization request parameters used for every login unless the login overrides them. */
export interface LoginParams {
  /** Scopes requested in addition to the configured `scope`. Default: none. */
  scope?: readonly string[];
  /** OIDC `prompt` (`login`, `consent`, …). Default: none, the OP decides. */
  prompt?: string;
  /** ACR values. Default: none, the configured `acr_values` (if any) apply. */
  acrValues?: readonly string[];
  /** OIDC `login_hint`. Default: none. */
  loginHint?: string;
  /** OIDC `max_age` in seconds. Default: none. */
  maxAge?: number;
  /** OIDC `ui_locales`, e.g. `['fr', 'en']`. Default: none. */
  uiLocales?: readonly string[];
  /** Other authorization request parameters by name. Default: none. */
  params?: Readonly<Record<string, string>>;
}

/**
 * Query parameters of the login route that are passed on to the OP when listed: `prompt`,
 * `acr_values`, `scope`, `login_hint`, `max_age`, `ui_locales`, or the name of any other
 * (non-reserved) authorization request parameter.
 */
export type LoginQueryParam =
  'prompt' | 'acr_values' | 'scope' | 'login_hint' | 'max_age' | 'ui_locales' | (string & {});

/** Writes an error response for a failed request. */
export type ErrorRenderer = (err: OxdError, req: IncomingMessage, res: ServerResponse) => void;

/** Application state kept through a login: a small plain JSON object. */
export type LoginState = Record<string, unknown>;

/**
 * Called after a successful login with what is about to be stored in the session, and the
 * state `getLoginState` returned when the login started (`undefined` without it); return
 * the data to store (reshaped, trimmed or enriched).
 */
export type AfterCallback = (
  req: IncomingMessage,
  res: ServerResponse,
  session: OxdSessionData,
  state: LoginState | undefined,
) => OxdSessionData | Promise<OxdSessionData>;

/**
 * Called when a login starts, with the login's options: returns a small plain JSON object
 * (at most 2048 bytes as JSON) kept with the login in progress and given to `afterCallback`.
 */
export type GetLoginState = (
  req: IncomingMessage,
  options: LoginOptions,
) => LoginState | Promise<LoginState>;

export interface OxdAuthOptions {
  /** REQUIRED. The oxd-python style INI file (path), or the configuration as an object. */
  config: string | ConfigInput;
  /** Route paths; see {@link OxdAuthRoutes} for each default. */
  routes?: OxdAuthRoutes;
  /** An `OxdClient` to use instead of creating one from `config`. */
  client?: OxdClient;
  /** Options for the `OxdClient` created from `config` (ignored when `client` is given). */
  clientOptions?: OxdClientOptions;
  /** Reshapes the session data after a login. Default: stored as is. */
  afterCallback?: AfterCallback;
  /**
   * Returns application state to keep through the login (given to `afterCallback`); needs
   * `afterCallback`. Default: none.
   */
  getLoginState?: GetLoginState;
  /** Authorization request parameters for every login. Default: none. */
  loginParams?: LoginParams;
  /**
   * Query parameters of the login route forwarded to the OP, e.g. `['prompt']` lets
   * `/login?prompt=login` force re-authentication. Default: none (`returnTo` is always read).
   */
  loginQueryParams?: readonly LoginQueryParam[];
  /**
   * When true, `requireAuth()` passes `OxdAuthError`s (401 / 403) to `next(err)` instead of
   * redirecting browsers to the login route and answering API clients itself. Default false.
   */
  errorOnRequired?: boolean;
  /**
   * Renders the 401 / 403 responses `requireAuth()` writes itself. Default: a short HTML
   * page for browsers, JSON for API clients (the same as `oxdErrorHandler()`).
   */
  renderError?: ErrorRenderer;
  /**
   * Whether logout also ends the session at the OP (RP-initiated logout through oxd's
   * `get_logout_uri`). `false`: `/logout` and `req.oxd.logout()` end only this site's
   * session. Default `true`; `req.oxd.logout({ idpLogout })` decides per call.
   */
  idpLogout?: boolean;
  /**
   * Extra parameters on the OP's end-session URL of every logout, e.g. `{ ui_locales: 'fr' }`
   * (`req.oxd.logout({ logoutParams })` adds or replaces some per call). Those the logout
   * sets itself (`state`, `id_token_hint`, `post_logout_redirect_uri`, …) are refused.
   */
  logoutParams?: Readonly<Record<string, string>>;
  /**
   * Try a silent login (`prompt=none`) once per browser session for anonymous visitors of
   * HTML pages: someone already logged in at the OP comes back logged in without seeing a
   * page; anyone else continues anonymously (no error page, no second try until the
   * browser is closed). Default `false`.
   */
  silentLogin?: boolean;
  /**
   * Seconds before the access token's expiry at which it is refreshed (by `requireAuth()`
   * and `req.oxd.fetchUserInfo()`), so that an API called with it does not see it expire
   * on the way. A refresh ahead of expiry that fails because oxd or the OP is down keeps the
   * still valid token. Default 0: refreshed once expired.
   */
  refreshLeeway?: number;
  /**
   * A lock shared by all instances of the application (e.g. `redisRefreshLock(client)` on
   * the Redis that holds the sessions), so that one instance refreshes a session's tokens
   * while the others wait for the tokens it saves. Needed when several instances share
   * sessions and the OP rotates refresh tokens. Default: none (one process).
   */
  refreshLock?: RefreshLock;
  /** Current time in milliseconds. Default `Date.now`; tests inject a clock. */
  clock?: () => number;
  /**
   * Where each failure this middleware answers with a 5xx (login, callback, refresh,
   * logout, back-channel logout) is logged, once, with its code and cause: an object with
   * `warn(message, fields)` and `error(message, fields)`, as `console` and winston have
   * them (pino: `{ warn: (m, f) => log.warn(f, m), error: (m, f) => log.error(f, m) }`).
   * Default: the `client`'s logger, else `console`.
   */
  logger?: Logger;
  /**
   * The `req.session` property holding the login (logins in progress go under the same
   * name + `Logins`). Give each `oxdAuth()` of one application its own, e.g. `oxdAdmin` for
   * an admin area logging in at another OP or with other scopes. Default `oxd`.
   */
  sessionKey?: string;
  /**
   * Seconds a login lasts from the moment it completed, however active the user is; after
   * that the user is treated as logged out (browsers go to log in again, API clients get
   * 401). Default 604800 (seven days).
   */
  absoluteDuration?: number;
  /**
   * Seconds without a request after which a login ends (idle timeout), for applications
   * whose session cookie does not already do it (express-session's `rolling` with a
   * `cookie.maxAge`). Default `false`: no idle timeout.
   */
  rollingDuration?: number | false;
  /**
   * Seconds by which the clocks of the OP, oxd and the APIs called with the access token may
   * differ from this server's: access tokens count as expired that much earlier (at most
   * a tenth of their lifetime), and a back-channel `logout_token` may be issued that much in the
   * future or that much older than the 4 minutes allowed for its delivery. Default 60.
   */
  clockTolerance?: number;
}

/** A route as matched: `absolute` paths are compared with the full path (mount included). */
export interface Route {
  readonly path: string;
  readonly absolute: boolean;
}

export interface ResolvedOptions {
  readonly config: OxdConfig;
  readonly client: OxdClient;
  readonly routes: {
    readonly login: Route | undefined;
    readonly logout: Route | undefined;
    readonly callback: Route | undefined;
    readonly frontchannelLogout: Route | undefined;
    readonly backchannelLogout: Route | undefined;
    readonly postLogoutRedirect: string;
  };
  readonly afterCallback: AfterCallback | undefined;
  readonly getLoginState: GetLoginState | undefined;
  readonly loginParams: Readonly<LoginParams>;
  readonly loginQueryParams: ReadonlySet<LoginQueryParam>;
  readonly errorOnRequired: boolean;
  readonly renderError: ErrorRenderer | undefined;
  readonly idpLogout: boolean;
  readonly logoutParams: Readonly<Record<string, string>>;
  readonly silentLogin: boolean;
  /** `refreshLeeway` in milliseconds. */
  readonly refreshLeewayMs: number;
  readonly refreshLock: RefreshLock | undefined;
  readonly clock: () => number;
  /** Where the failures of this instance are logged. */
  readonly logger: Logger;
  /** Where the login is kept in the session. */
  readonly sessionKey: string;
  /** Where the logins in progress are kept in the session (`sessionKey` + `Logins`). */
  readonly loginsKey: string;
  /** `absoluteDuration` in milliseconds. */
  readonly absoluteDurationMs: number;
  /** `rollingDuration` in milliseconds; `undefined` when off. */
  readonly rollingDurationMs: number | undefined;
  /** `clockTolerance` in milliseconds. */
  readonly clockToleranceMs: number;
}
