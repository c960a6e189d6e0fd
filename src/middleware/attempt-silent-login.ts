/**
 * Silent login (`prompt=none`, once per browser session): what the `silentLogin` option does
 * for every HTML page, and `attemptSilentLogin()`, which does it for the routes it is put on.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { debuglog } from 'node:util';
import type { OxdIncomingMessage } from '../session/store';
import { originFormTarget } from '../http/path';
import { wantsHtml } from '../http/request';
import { attachedRuntime, unseenRequest } from './context';
import { activeLogin } from './lifetime';
import { startLogin } from './login';
import type { OxdRuntime } from './runtime';
import { hasSilentCookie, markSilentLoginTried } from './silent-login';

const debug = debuglog('express-oxd');

/**
 * `silentLogin`: an anonymous GET of an HTML page, with a session middleware and no earlier
 * try in this browser session, starts a `prompt=none` login returning to the same URL. The
 * cookie is set first, so whatever the OP answers, the next page is not redirected again.
 * Resolves false (the request goes on) when no silent login is started.
 */
export async function trySilentLogin(
  runtime: OxdRuntime,
  req: OxdIncomingMessage,
  res: ServerResponse,
): Promise<boolean> {
  const session = req.session;
  if (
    !session ||
    typeof session.save !== 'function' ||
    activeLogin(runtime, session) !== undefined
  ) {
    return false;
  }
  if (!wantsHtml(req) || hasSilentCookie(req)) return false;
  markSilentLoginTried(req, res);
  try {
    await startLogin(
      runtime,
      req,
      res,
      { returnTo: originFormTarget(req.originalUrl ?? req.url) ?? '/', prompt: 'none' },
      true,
    );
    debug('silent login: trying prompt=none');
    return true;
  } catch (err) {
    debug('silent login: could not start (%s), going on anonymously', (err as Error).message);
    return false;
  }
}

/**
 * A middleware for one route (or a few) that tries a silent login (`prompt=none`) once per
 * browser session for an anonymous visitor of an HTML page, as the `silentLogin` option does
 * for every page: a user with an OP session comes back to the same URL logged in, anyone
 * else goes on anonymously. Put it after `oxdAuth()`.
 *
 * @example
 * app.get('/', attemptSilentLogin(), (req, res) => res.render('home', { user: req.oxd.user }));
 */
export function attemptSilentLogin(): (
  req: IncomingMessage,
  res: ServerResponse,
  next: (err?: unknown) => void,
) => void {
  return function attemptSilentLogin(req, res, next) {
    const request = req as OxdIncomingMessage;
    const runtime = attachedRuntime(request);
    if (runtime === undefined) {
      next(unseenRequest('attemptSilentLogin()'));
      return;
    }
    trySilentLogin(runtime, request, res).then((started) => {
      if (!started) next();
    }, next);
  };
}
