/**
 * `umaProtect()`: the UMA resource server as middleware. It registers its resources with oxd
 * (`uma_rs_protect`, overwrite) at the first request that needs them, and checks each request
 * that falls under one with `uma_rs_check_access`: the request goes on when oxd grants access,
 * else it is answered 401 with oxd's UMA challenge (a permission ticket for the client to
 * exchange for an RPT), or 403 when oxd denies without a ticket.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { debuglog } from 'node:util';
import { resolveConfig, type ConfigInput } from '../config/resolve';
import { resolveClient } from '../client-from-config';
import { OxdCommandError, OxdConfigError } from '../errors';
import {
  checkKeys,
  type Fail,
  failFor,
  isPlainObject,
  optionalBoolean,
  optionalFunction,
  wholeNumber,
} from '../option-check';
import { requestPath } from '../http/path';
import { sendJson } from '../http/response';
import type { OxdClient, OxdClientOptions } from '../oxd/client';
import type { UmaRsCheckAccessResult } from '../oxd/commands';
import { DecisionCache, UMA_CACHE_DEFAULTS } from './decision-cache';
import { ResourceTable, checkResources, type UmaProtectedResource } from './resources';
import { formatUmaChallenge, isValidHeaderValue } from './www-authenticate';
import type { Logger } from '../logger';
import { loggerOption, traced } from '../report';
import { underRequest } from '../telemetry';

const debug = debuglog('express-oxd');

/** Longest `Authorization` header whose token is sent to oxd; longer ones count as no RPT. */
const MAX_RPT_LENGTH = 4096;
/** RFC 6750 §2.1 `b64token` after `Bearer `. */
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

export interface UmaProtectOptions {
  /** The oxd client, e.g. `oxdAuth(…).client` to share the site's registration. */
  client?: OxdClient;
  /** Or the configuration (INI path or object) to create a client from, as `oxdAuth()` takes. */
  config?: string | ConfigInput;
  /** Options of the client created from `config`. */
  clientOptions?: OxdClientOptions;
  /**
   * Grants are reused for the same RPT, resource and method for `ttlMs` (default 5000), at
   * most `max` of them (default 1000, least recently used dropped). `false` asks oxd every time.
   */
  cache?: { max?: number; ttlMs?: number } | false;
  /**
   * Register the resources with oxd (`uma_rs_protect`, overwrite) at the first protected
   * request. Default true; false when they are registered by other means.
   */
  register?: boolean;
  /** `realm` of a challenge built here (only when oxd sends a ticket without a header). Default `rs`. */
  realm?: string;
  /** Current time in milliseconds, for the cache. Default `Date.now`. */
  clock?: () => number;
  /**
   * Where a failed check (oxd down or failing: a 5xx) is logged, once: `warn(message,
   * fields)` and `error(message, fields)`, as `console` and winston have them. Default: the
   * `client`'s logger, else `console`.
   */
  logger?: Logger;
}

/** What `umaProtect()` sets on a request it let through, as `req.uma`. */
export interface UmaAccess {
  /** The RPT that was granted access. */
  readonly rpt: string;
  /** The protected resource (path template as registered) and method it was checked for. */
  readonly resource: string;
  readonly method: string;
}

/** The middleware `umaProtect()` returns. */
export interface UmaProtectHandler {
  (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void): void;
  /** The oxd client it uses. */
  readonly client: OxdClient;
  /** Registers the resources now (otherwise done at the first protected request). */
  register(): Promise<void>;
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** The UMA grant of this request, set by `umaProtect()`. */
      uma?: UmaAccess;
    }
  }
}

const OPTION_KEYS = new Set([
  'client',
  'config',
  'clientOptions',
  'cache',
  'register',
  'realm',
  'clock',
  'logger',
]);
const CLIENT_METHODS = ['umaRsProtect', 'umaRsCheckAccess'] as const;

const fail: Fail = failFor('umaProtect', OxdConfigError);

function resolveCache(value: unknown, clock: () => number): DecisionCache | undefined {
  if (value === false) return undefined;
  if (value !== undefined && !isPlainObject(value)) {
    fail('cache', 'must be {max, ttlMs} or false');
  }
  const options = value ?? {};
  for (const key of Object.keys(options)) {
    if (key !== 'max' && key !== 'ttlMs') fail(`cache.${key}`, 'unknown option; use max, ttlMs');
  }
  const max = wholeNumber(options.max, 'cache.max', UMA_CACHE_DEFAULTS.max, fail);
  const ttlMs = wholeNumber(options.ttlMs, 'cache.ttlMs', UMA_CACHE_DEFAULTS.ttlMs, fail);
  return max > 0 && ttlMs > 0 ? new DecisionCache(max, ttlMs, clock) : undefined;
}

/** The RPT of an `Authorization: Bearer` header; `''` when there is none usable. */
export function bearerRpt(header: string | undefined): string {
  if (typeof header !== 'string' || header.length > MAX_RPT_LENGTH + 16) return '';
  const match = BEARER.exec(header);
  const token = match?.[1];
  return token !== undefined && token.length <= MAX_RPT_LENGTH ? token : '';
}

/** oxd's answer when the resource or method is not registered (any more). */
function isNotProtected(err: unknown): boolean {
  return (
    err instanceof OxdCommandError &&
    err.error === 'invalid_request' &&
    /not protected/i.test(err.error_description ?? '')
  );
}

function sendDenied(
  res: ServerResponse,
  reply: UmaRsCheckAccessResult,
  realm: string,
  asUri: string | undefined,
): void {
  const ticket = typeof reply.ticket === 'string' && reply.ticket !== '' ? reply.ticket : undefined;
  const given = reply['www-authenticate_header'];
  const header =
    ticket === undefined
      ? undefined
      : typeof given === 'string' && given.startsWith('UMA ') && isValidHeaderValue(given)
        ? given
        : formatUmaChallenge({ realm, asUri, ticket });
  if (ticket === undefined || header === undefined) {
    // UMA 2.0 Grant §3.2: without a ticket the resource server answers 403.
    res.setHeader('Warning', '199 - "UMA Authorization Server Unreachable"');
    sendJson(res, 403, {
      error: 'forbidden',
      error_description: 'Access denied; the authorization server issued no permission ticket.',
    });
    return;
  }
  res.setHeader('WWW-Authenticate', header);
  sendJson(res, 401, {
    error: 'insufficient_scope',
    error_description:
      'This resource needs an RPT with the right permission: exchange the ticket of the ' +
      'WWW-Authenticate header for one at the authorization server and retry.',
    ticket,
  });
}

/**
 * Creates the resource-server middleware for `resources` (oxd's `uma_rs_protect` shape; each
 * `path` may be an Express template such as `/photos/:id`, matched against the path relative
 * to where the middleware is mounted). Requests under no resource, or with a method no
 * condition names, go straight to `next()`. Throws an `OxdConfigError` naming the option when
 * the resources or options are invalid; never touches the network in the factory.
 */
export function umaProtect(
  resources: readonly UmaProtectedResource[],
  options: UmaProtectOptions,
): UmaProtectHandler {
  if (!isPlainObject(options))
    fail('client', 'umaProtect(resources, options) needs options with client or config');
  checkKeys(options, OPTION_KEYS, fail);
  const checked = checkResources(resources, fail);
  const table = new ResourceTable(checked);
  if (options.client === undefined && options.config === undefined) {
    fail('client', 'give an OxdClient as client, or the oxd configuration as config');
  }
  let config: ReturnType<typeof resolveConfig> | undefined;
  const client = resolveClient(
    options as Record<string, unknown>,
    () => (config = resolveConfig(options.config as string | ConfigInput)),
    CLIENT_METHODS,
    fail,
  );
  optionalBoolean(options.register, 'register', fail);
  if (
    options.realm !== undefined &&
    (typeof options.realm !== 'string' || !/^[\x20-\x21\x23-\x5b\x5d-\x7e]+$/.test(options.realm))
  ) {
    fail('realm', 'must be a non-empty string of printable ASCII without quotes or backslashes');
  }
  const clock = optionalFunction<() => number>(options.clock, 'clock', fail) ?? Date.now;
  const failures = { logger: loggerOption(options.logger, client, fail) };
  const cache = resolveCache(options.cache, clock);
  const realm = options.realm ?? 'rs';
  const asUri = config?.client.opHost;
  const registerAtFirstNeed = options.register !== false;

  let registered = false;
  let registering: Promise<void> | undefined;
  const register = (): Promise<void> => {
    registering ??= client
      .umaRsProtect({ resources: structuredClone(checked), overwrite: true })
      .then(() => {
        registered = true;
        cache?.clear();
        debug('uma: %d resource(s) registered with oxd', checked.length);
      })
      .finally(() => {
        registering = undefined;
      });
    return registering;
  };

  const checkAccess = async (req: IncomingMessage, rpt: string, path: string, method: string) => {
    if (registerAtFirstNeed && !registered) await underRequest(req, register);
    try {
      return await underRequest(req, () =>
        client.umaRsCheckAccess({ rpt, path, http_method: method }),
      );
    } catch (err) {
      // Another instance or an oxd reset dropped the resources: register again, once.
      if (!registerAtFirstNeed || !isNotProtected(err)) throw err;
      debug('uma: oxd no longer knows %s %s; registering the resources again', method, path);
      await underRequest(req, register);
      return underRequest(req, () => client.umaRsCheckAccess({ rpt, path, http_method: method }));
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const path = requestPath(req.url);
    if (path === undefined) {
      // What the handlers behind would make of it is unclear: refused, never passed unchecked.
      sendJson(res, 400, {
        error: 'invalid_request',
        error_description:
          'The request path cannot be normalised (a malformed or encoded "/" escape, a NUL, ' +
          'or ".." above the root).',
      });
      return false;
    }
    const match = table.match(path, req.method ?? 'GET');
    if (!match) return true;
    const rpt = bearerRpt(req.headers.authorization);
    const key = rpt === '' ? undefined : DecisionCache.key(rpt, match.path, match.method);
    let granted = key !== undefined && cache?.has(key) === true;
    if (!granted) {
      const reply = await traced('uma_check', req, failures, () =>
        checkAccess(req, rpt, match.path, match.method),
      );
      granted = reply.access === 'granted';
      if (granted && key !== undefined) cache?.add(key);
      if (!granted) {
        sendDenied(res, reply, realm, asUri);
        return false;
      }
    }
    const access: UmaAccess = { rpt, resource: match.path, method: match.method };
    (req as IncomingMessage & { uma?: UmaAccess }).uma = access;
    return true;
  };

  const handler = function umaProtect(
    req: IncomingMessage,
    res: ServerResponse,
    next: (err?: unknown) => void,
  ): void {
    handle(req, res).then(
      (proceed) => {
        if (proceed) next();
      },
      (err: unknown) => next(err),
    );
  };
  Object.defineProperty(handler, 'client', { value: client, enumerable: true });
  Object.defineProperty(handler, 'register', { value: register, enumerable: true });
  return handler as UmaProtectHandler;
}
