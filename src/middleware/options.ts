/**
 * The options of `oxdAuth()`: their defaults and their validation (the types are in
 * `options-types.ts`). Everything here runs once, synchronously, at start-up; a bad option
 * throws an `OxdConfigError` whose `key` names it.
 */
import { resolveConfig, type ConfigInput } from '../config/resolve';
import type { OxdConfig } from '../config/types';
import { OxdConfigError } from '../errors';
import { oxdClientFor } from '../client-from-config';
import type { OxdClient, OxdClientOptions } from '../oxd/client';
import { extraParams, isExtraParamName } from './login-params';
import type { RefreshLock } from './refresh-lock';
import { isSafeReturnTo } from './return-to';
import type {
  LoginParams,
  LoginQueryParam,
  ErrorRenderer,
  AfterCallback,
  Route,
  ResolvedOptions,
} from './options-types';

export type {
  OxdAuthRoutes,
  LoginParams,
  LoginQueryParam,
  ErrorRenderer,
  AfterCallback,
  OxdAuthOptions,
  Route,
  ResolvedOptions,
} from './options-types';

const OPTION_KEYS: ReadonlySet<string> = new Set([
  'config',
  'routes',
  'client',
  'clientOptions',
  'afterCallback',
  'loginParams',
  'loginQueryParams',
  'errorOnRequired',
  'renderError',
  'idpLogout',
  'silentLogin',
  'refreshLeeway',
  'refreshLock',
  'clock',
  'sessionKey',
]);
const ROUTE_KEYS: ReadonlySet<string> = new Set([
  'login',
  'logout',
  'callback',
  'frontchannelLogout',
  'backchannelLogout',
  'postLogoutRedirect',
]);
const LOGIN_PARAM_KEYS: ReadonlySet<string> = new Set([
  'scope',
  'prompt',
  'acrValues',
  'loginHint',
  'maxAge',
  'uiLocales',
  'params',
]);
const LOGIN_QUERY_PARAMS: ReadonlySet<string> = new Set(['prompt', 'acr_values', 'scope']);

function fail(key: string, message: string): never {
  throw new OxdConfigError(`oxdAuth option ${key}: ${message}`, { key });
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkKeys(value: Record<string, unknown>, allowed: ReadonlySet<string>, prefix: string) {
  for (const key of Object.keys(value)) {
    if (!allowed.has(key)) {
      fail(`${prefix}${key}`, `unknown option; known ones are ${[...allowed].join(', ')}`);
    }
  }
}

function optionalFunction<T>(value: unknown, key: string): T | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'function') fail(key, 'must be a function');
  return value as T;
}

function stringList(value: unknown, key: string): readonly string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string' && item !== '')) {
    fail(key, 'must be a list of non-empty strings');
  }
  return Object.freeze([...(value as string[])]);
}

/** A route option: `false` (off), a path starting with `/`, or the default. */
function routeOption(value: unknown, key: string, fallback: Route | undefined): Route | undefined {
  if (value === undefined) return fallback;
  if (value === false) return undefined;
  if (typeof value !== 'string' || !isSafeReturnTo(value) || /[?#]/.test(value)) {
    fail(key, 'must be a path starting with "/" (no query, no fragment), or false to turn it off');
  }
  return { path: trimSlash(value), absolute: false };
}

/** `/a/` and `/a` are the same route (Express's default, non-strict routing). */
export function trimSlash(path: string): string {
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
}

function pathOfUri(uri: string, key: string): Route {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new OxdConfigError(`${key} ${JSON.stringify(uri)} is not an absolute URL`, { key });
  }
  return { path: trimSlash(url.pathname), absolute: true };
}

function resolveRoutes(value: unknown, config: OxdConfig): ResolvedOptions['routes'] {
  if (value !== undefined && !isPlainObject(value)) fail('routes', 'must be an object');
  const routes = value ?? {};
  checkKeys(routes, ROUTE_KEYS, 'routes.');
  const frontchannelUri = config.client.clientFrontchannelLogoutUris[0];
  const resolved = {
    login: routeOption(routes.login, 'routes.login', { path: '/login', absolute: false }),
    logout: routeOption(routes.logout, 'routes.logout', { path: '/logout', absolute: false }),
    callback: routeOption(
      routes.callback,
      'routes.callback',
      pathOfUri(config.client.authorizationRedirectUri, 'authorization_redirect_uri'),
    ),
    frontchannelLogout: routeOption(
      routes.frontchannelLogout,
      'routes.frontchannelLogout',
      frontchannelUri === undefined
        ? undefined
        : pathOfUri(frontchannelUri, 'client_frontchannel_logout_uris'),
    ),
    backchannelLogout: routeOption(routes.backchannelLogout, 'routes.backchannelLogout', undefined),
    postLogoutRedirect: '/',
  };
  if (routes.postLogoutRedirect !== undefined) {
    if (!isSafeReturnTo(routes.postLogoutRedirect)) {
      fail('routes.postLogoutRedirect', 'must be a same-origin path starting with a single "/"');
    }
    resolved.postLogoutRedirect = routes.postLogoutRedirect;
  }
  const seen = new Map<string, string>();
  for (const name of [
    'login',
    'logout',
    'callback',
    'frontchannelLogout',
    'backchannelLogout',
  ] as const) {
    const route = resolved[name];
    if (!route) continue;
    const other = seen.get(route.path);
    if (other) fail(`routes.${name}`, `uses the path ${route.path}, which routes.${other} uses`);
    seen.set(route.path, name);
  }
  return Object.freeze(resolved);
}

function resolveLoginParams(value: unknown): Readonly<LoginParams> {
  if (value === undefined) return Object.freeze({});
  if (!isPlainObject(value)) fail('loginParams', 'must be an object');
  checkKeys(value, LOGIN_PARAM_KEYS, 'loginParams.');
  const params: LoginParams = {};
  const scope = stringList(value.scope, 'loginParams.scope');
  if (scope) params.scope = scope;
  const acrValues = stringList(value.acrValues, 'loginParams.acrValues');
  if (acrValues) params.acrValues = acrValues;
  if (value.prompt !== undefined) {
    if (typeof value.prompt !== 'string' || value.prompt === '') {
      fail('loginParams.prompt', 'must be a non-empty string');
    }
    params.prompt = value.prompt;
  }
  if (value.params !== undefined && !isPlainObject(value.params)) {
    fail('loginParams.params', 'must be an object of parameter names and string values');
  }
  const uiLocales = stringList(value.uiLocales, 'loginParams.uiLocales');
  const checked = {
    loginHint: value.loginHint as string | undefined,
    maxAge: value.maxAge as number | undefined,
    uiLocales,
    params: value.params as Record<string, string> | undefined,
  };
  // Throws an OxdConfigError naming the parameter when a name or value is not acceptable.
  extraParams({}, checked, 'oxdAuth option loginParams');
  if (checked.loginHint !== undefined) params.loginHint = checked.loginHint;
  if (checked.maxAge !== undefined) params.maxAge = checked.maxAge;
  if (uiLocales) params.uiLocales = uiLocales;
  if (checked.params !== undefined) params.params = Object.freeze({ ...checked.params });
  return Object.freeze(params);
}

function resolveLoginQueryParams(value: unknown): ReadonlySet<LoginQueryParam> {
  if (value === undefined) return new Set();
  if (
    !Array.isArray(value) ||
    !value.every(
      (item) =>
        typeof item === 'string' && (LOGIN_QUERY_PARAMS.has(item) || isExtraParamName(item)),
    )
  ) {
    fail(
      'loginQueryParams',
      `must be a list of ${[...LOGIN_QUERY_PARAMS].join(', ')}, login_hint, max_age, ui_locales ` +
        'or names of other authorization request parameters (not state, nonce, redirect_uri, …)',
    );
  }
  return new Set(value as LoginQueryParam[]);
}

/** The client methods the middleware calls. */
const CLIENT_METHODS = [
  'getAuthorizationUrl',
  'getTokensByCode',
  'getAccessTokenByRefreshToken',
  'getUserInfo',
  'getLogoutUri',
] as const;

function isClientLike(value: unknown, methods: readonly string[]): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    methods.every((name) => typeof (value as Record<string, unknown>)[name] === 'function')
  );
}

/**
 * The oxd client of a middleware's options: `client` when given (checked for `methods`),
 * else a new `OxdClient` for the configuration `config()` resolves, with `clientOptions`.
 * Shared by `oxdAuth()` and the UMA middleware; `fail(key, message)` throws their error.
 */
export function resolveClient(
  options: Record<string, unknown>,
  config: () => OxdConfig,
  methods: readonly string[],
  fail: (key: string, message: string) => never,
): OxdClient {
  if (options.client !== undefined && !isClientLike(options.client, methods)) {
    fail('client', `must be an OxdClient (with ${methods.join(', ')})`);
  }
  if (options.clientOptions !== undefined && !isPlainObject(options.clientOptions)) {
    fail('clientOptions', 'must be an object');
  }
  return (
    (options.client as OxdClient | undefined) ??
    oxdClientFor(config(), options.clientOptions as OxdClientOptions | undefined)
  );
}

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

function resolveSessionKey(value: unknown): string {
  if (value === undefined) return 'oxd';
  if (typeof value !== 'string' || !/^[A-Za-z_$][\w$]{0,63}$/.test(value)) {
    fail('sessionKey', 'must be a property name such as "oxdAdmin" (letters, digits, _ or $)');
  }
  if (RESERVED_SESSION_KEYS.has(value) || value in Object.prototype) {
    fail('sessionKey', `"${value}" is used by the session itself; choose another name`);
  }
  return value;
}

/** Validates `oxdAuth()`'s argument, resolves the configuration and creates the client. */
export function resolveOptions(input: unknown): ResolvedOptions {
  const options: Record<string, unknown> =
    typeof input === 'string' ? { config: input } : isPlainObject(input) ? input : {};
  if (typeof input !== 'string' && !isPlainObject(input)) {
    fail('config', 'oxdAuth() takes the path of the configuration file or an options object');
  }
  checkKeys(options, OPTION_KEYS, '');
  if (typeof options.config !== 'string' && !isPlainObject(options.config)) {
    fail('config', 'is required: the path of the INI configuration file, or a config object');
  }
  const config = resolveConfig(options.config as string | ConfigInput);

  const client = resolveClient(options, () => config, CLIENT_METHODS, fail);
  if (options.errorOnRequired !== undefined && typeof options.errorOnRequired !== 'boolean') {
    fail('errorOnRequired', 'must be true or false');
  }
  const clock = optionalFunction<() => number>(options.clock, 'clock') ?? Date.now;
  for (const key of ['idpLogout', 'silentLogin'] as const) {
    if (options[key] !== undefined && typeof options[key] !== 'boolean') {
      fail(key, 'must be true or false');
    }
  }
  const leeway = options.refreshLeeway ?? 0;
  if (typeof leeway !== 'number' || !Number.isFinite(leeway) || leeway < 0) {
    fail('refreshLeeway', 'must be a number of seconds, 0 or more');
  }
  const lock = options.refreshLock as Partial<RefreshLock> | undefined;
  if (
    lock !== undefined &&
    (typeof lock !== 'object' ||
      lock === null ||
      typeof lock.acquire !== 'function' ||
      typeof lock.release !== 'function')
  ) {
    fail('refreshLock', 'must be an object with acquire(key, ttlMs) and release(key, owner)');
  }
  const sessionKey = resolveSessionKey(options.sessionKey);

  return Object.freeze({
    config,
    client,
    routes: resolveRoutes(options.routes, config),
    afterCallback: optionalFunction<AfterCallback>(options.afterCallback, 'afterCallback'),
    loginParams: resolveLoginParams(options.loginParams),
    loginQueryParams: resolveLoginQueryParams(options.loginQueryParams),
    errorOnRequired: options.errorOnRequired === true,
    renderError: optionalFunction<ErrorRenderer>(options.renderError, 'renderError'),
    idpLogout: options.idpLogout !== false,
    silentLogin: options.silentLogin === true,
    refreshLeewayMs: leeway * 1000,
    refreshLock: lock as RefreshLock | undefined,
    clock,
    sessionKey,
    loginsKey: `${sessionKey}Logins`,
  });
}
