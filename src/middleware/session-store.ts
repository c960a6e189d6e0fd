/**
 * Session store failures as a clear 503: `guardSession()` wraps the session middleware so
 * that a store that is down (Redis restarting, a network cut) or does not answer (a stalled
 * server, a partition that keeps the connection open) answers
 * `OXD_SESSION_STORE_UNAVAILABLE` through `oxdErrorHandler()` (HTML page or JSON) instead of
 * an anonymous 500 or a request that hangs, and the middleware's own saves report the same
 * error.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { debuglog } from 'node:util';
import { OxdConfigError, sessionStoreUnavailable } from '../errors';
import type { Logger } from '../logger';
import { failFor, isPlainObject, checkKeys } from '../option-check';
import { loggerOption, reportFailure } from '../report';

const debug = debuglog('express-oxd');

/** A Connect-style middleware; Express's `RequestHandler` (express-session's type) is one. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Middleware = (req: any, res: any, next: (err?: any) => void) => void;

/** Options of {@link guardSession}. */
export interface GuardSessionOptions {
  /**
   * Milliseconds the session middleware may take to load the session before the request is
   * answered 503 `OXD_SESSION_STORE_UNAVAILABLE`. Default 3000.
   */
  timeoutMs?: number;
  /**
   * Where a store failure is logged (once per request it fails): `warn(message, fields)` and
   * `error(message, fields)`, as `console` (the default) and winston have them.
   */
  logger?: Logger;
}

/** The default bound on loading a session. */
const DEFAULT_STORE_TIMEOUT_MS = 3000;

const OPTION_KEYS: ReadonlySet<string> = new Set(['timeoutMs', 'logger']);
const fail = failFor('guardSession', OxdConfigError);

/** What a load that did not finish in time fails with: a named cause, no message to log. */
function storeTimeout(timeoutMs: number): Error {
  return Object.assign(new Error(`the session store did not answer within ${timeoutMs} ms`), {
    code: 'ETIMEDOUT',
  });
}

/**
 * Wraps a session middleware (`express-session`'s `session({...})`): an error loading the
 * session, or no answer within `timeoutMs` (default 3 s), reaches the error handlers as
 * {@link OxdError} `OXD_SESSION_STORE_UNAVAILABLE` with status 503, logged once through
 * `logger`. A load that answers after the bound is dropped: it never continues the request
 * that was already answered, nor reaches another one. A save that fails once the response is
 * under way (express-session saves as the response ends) cannot change the answer any more:
 * it is logged as a warning and the response is left to finish, where passing it on would
 * have the error handlers cut the connection and lose the rest of the response.
 *
 * @example
 * app.use(guardSession(session({ store: new RedisStore({ client }), secret, ... })));
 * app.use(oxdAuth('/etc/site/oxd.cfg'));
 * // ... routes ...
 * app.use(oxdErrorHandler());
 */
export function guardSession<M extends Middleware>(
  middleware: M,
  options: GuardSessionOptions = {},
): M {
  if (typeof middleware !== 'function') {
    throw new TypeError('guardSession() takes the session middleware, e.g. session({ ... })');
  }
  if (!isPlainObject(options))
    fail('timeoutMs', 'guardSession(middleware, options): options must be an object');
  checkKeys(options, OPTION_KEYS, fail);
  const timeoutMs = options.timeoutMs ?? DEFAULT_STORE_TIMEOUT_MS;
  if (typeof timeoutMs !== 'number' || !Number.isInteger(timeoutMs) || timeoutMs < 1) {
    fail('timeoutMs', 'must be a whole number of milliseconds, 1 or more');
  }
  const site = {
    operation: 'session_store',
    runtime: { logger: loggerOption(options.logger, undefined, fail) },
  };
  const guarded: Middleware = function guardSession(
    req: IncomingMessage,
    res: ServerResponse,
    next: (err?: unknown) => void,
  ) {
    let settled = false;
    let timedOut = false;
    const failed = (err: unknown): void => {
      settled = true;
      clearTimeout(timer);
      const failure = sessionStoreUnavailable(err);
      reportFailure(failure, site);
      next(failure);
    };
    const timer = setTimeout(() => {
      if (settled) return;
      debug('session store: no answer within %d ms', timeoutMs);
      timedOut = true;
      failed(storeTimeout(timeoutMs));
    }, timeoutMs);
    try {
      middleware(req, res, (err?: unknown) => {
        if (err === undefined || err === null || err === 'route' || err === 'router') {
          if (!settled) {
            settled = true;
            clearTimeout(timer);
            next(err as undefined);
          } else {
            debug('session store: an answer came after the request was answered; dropped');
          }
          return;
        }
        if (timedOut) {
          debug('session store: a failure came after the request was answered; dropped');
          return;
        }
        if (settled || res.headersSent) {
          settled = true;
          clearTimeout(timer);
          debug('session store: saving the session failed as the response ended: %s', err);
          reportFailure(sessionStoreUnavailable(err), { ...site, level: 'warn' });
          return;
        }
        failed(err);
      });
    } catch (err) {
      if (!settled) failed(err);
    }
  };
  return guarded as M;
}
