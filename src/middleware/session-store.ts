/**
 * Session store failures as a clear 503: `guardSession()` wraps the session middleware so
 * that a store that is down (Redis restarting, a network cut) answers
 * `OXD_SESSION_STORE_UNAVAILABLE` through `oxdErrorHandler()` (HTML page or JSON) instead of
 * an anonymous 500, and the middleware's own saves report the same error.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sessionStoreUnavailable } from '../errors';

type Middleware = (
  req: IncomingMessage,
  res: ServerResponse,
  next: (err?: unknown) => void,
) => void;

/**
 * Wraps a session middleware (`express-session`'s `session({...})`): every error it passes
 * on, whether loading the session before the request or saving it after, reaches the
 * error handlers as {@link OxdError} `OXD_SESSION_STORE_UNAVAILABLE` with status 503.
 *
 * @example
 * app.use(guardSession(session({ store: new RedisStore({ client }), secret, ... })));
 * app.use(oxdAuth('/etc/site/oxd.cfg'));
 * // ... routes ...
 * app.use(oxdErrorHandler());
 */
export function guardSession(middleware: Middleware): Middleware {
  if (typeof middleware !== 'function') {
    throw new TypeError('guardSession() takes the session middleware, e.g. session({ ... })');
  }
  return function guardSession(req, res, next) {
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
        // express-session reports a failed save after the response started; the error
        // handlers see it with res.headersSent set.
        settled = true;
        next(sessionStoreUnavailable(err));
      });
    } catch (err) {
      next(sessionStoreUnavailable(err));
    }
  };
}
