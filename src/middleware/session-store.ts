/**
 * Session store failures as a clear 503: `guardSession()` wraps the session middleware so
 * that a store that is down (Redis restarting, a network cut) answers
 * `OXD_SESSION_STORE_UNAVAILABLE` through `oxdErrorHandler()` (HTML page or JSON) instead of
 * an anonymous 500, and the middleware's own saves report the same error.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { debuglog } from 'node:util';
import { sessionStoreUnavailable } from '../errors';

const debug = debuglog('express-oxd');

/** A Connect-style middleware; Express's `RequestHandler` (express-session's type) is one. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Middleware = (req: any, res: any, next: (err?: any) => void) => void;

/**
 * Wraps a session middleware (`express-session`'s `session({...})`): an error loading the
 * session reaches the error handlers as {@link OxdError} `OXD_SESSION_STORE_UNAVAILABLE`
 * with status 503. A save that fails once the response is under way (express-session saves
 * as the response ends) cannot change the answer any more: it is logged (NODE_DEBUG=express-oxd)
 * and the response is left to finish, where passing it on would have the error handlers
 * cut the connection and lose the rest of the response.
 *
 * @example
 * app.use(guardSession(session({ store: new RedisStore({ client }), secret, ... })));
 * app.use(oxdAuth('/etc/site/oxd.cfg'));
 * // ... routes ...
 * app.use(oxdErrorHandler());
 */
export function guardSession<M extends Middleware>(middleware: M): M {
  if (typeof middleware !== 'function') {
    throw new TypeError('guardSession() takes the session middleware, e.g. session({ ... })');
  }
  const guarded: Middleware = function guardSession(
    req: IncomingMessage,
    res: ServerResponse,
    next: (err?: unknown) => void,
  ) {
    let settled = false;
    try {
      middleware(req, res, (err?: unknown) => {
        if (err === undefined || err === null || err === 'route' || err === 'router') {
          if (!settled) {
            settled = true;
            next(err as undefined);
          }
          return;
        }
        if (settled || res.headersSent) {
          debug('session store: saving the session failed as the response ended: %s', err);
          return;
        }
        settled = true;
        next(sessionStoreUnavailable(err));
      });
    } catch (err) {
      next(sessionStoreUnavailable(err));
    }
  };
  return guarded as M;
}
