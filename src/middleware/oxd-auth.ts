/**
 * `oxdAuth()`: the one middleware an application mounts. It validates its options and the
 * oxd configuration synchronously (nothing touches the network until a login starts), makes
 * `req.oxd` available on every request (created when first read), and answers its own GET routes: login, callback, logout and
 * front-channel logout. Every other request goes straight to `next()`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { debuglog } from 'node:util';
import type { OxdClient } from '../oxd/client';
import type { OxdIncomingMessage } from '../session/store';
import { handleBackchannelLogout, OpKeys } from './backchannel-logout';
import { handleCallback } from './callback';
import { attachContext, contextOf } from './context';
import { handleFrontchannelLogout } from './frontchannel-logout';
import { storeOf } from './logout-records';
import { followMovedLogin, movedLogin } from './moved-login';
import { startLogin } from './login';
import { isParamValue, type LoginOptions } from './login-params';
import { trySilentLogin } from './attempt-silent-login';
import { finishLogout, registeredPostLogoutUri, startLogout } from './logout';
import {
  crossSiteLogoutError,
  logoutRequestVerdict,
  sendLogoutConfirmation,
} from './logout-request';
import { resolveOptions, type OxdAuthOptions, type Route } from './options';
import { routePathOf, routePathOfRequest } from '../http/path';
import { queryOf, singleParam } from '../http/request';
import { createRuntime, type OxdRuntime } from './runtime';
import { traced } from '../report';
import type { OperationName } from '../telemetry';

const debug = debuglog('express-oxd');

/** The middleware `oxdAuth()` returns, with the client it uses. */
export interface OxdAuthHandler {
  (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void): void;
  /** The oxd client (for `close()` at shutdown, or direct oxd commands). */
  readonly client: OxdClient;
}

type RouteName = 'login' | 'callback' | 'logout' | 'frontchannelLogout';

/** The span and metrics name of each route. */
const OPERATIONS: Readonly<Record<RouteName, OperationName>> = {
  login: 'login',
  callback: 'callback',
  logout: 'logout',
  frontchannelLogout: 'frontchannel_logout',
};

function loginOptionsFromQuery(runtime: OxdRuntime, url: string | undefined): LoginOptions {
  const query = queryOf(url);
  const options: LoginOptions = {};
  const returnTo = singleParam(query, 'returnTo');
  if (returnTo !== undefined) options.returnTo = returnTo;
  const allowed = runtime.loginQueryParams;
  const prompt = allowed.has('prompt') ? singleParam(query, 'prompt') : undefined;
  if (prompt !== undefined) options.prompt = prompt;
  const acrValues = allowed.has('acr_values') ? singleParam(query, 'acr_values') : undefined;
  if (acrValues !== undefined) options.acrValues = acrValues;
  const scope = allowed.has('scope') ? singleParam(query, 'scope') : undefined;
  if (scope !== undefined) options.scope = scope;
  // Other listed parameters; a value that is not acceptable is left out (debug line).
  const params: Record<string, string> = {};
  for (const name of allowed) {
    if (name === 'prompt' || name === 'acr_values' || name === 'scope') continue;
    const value = singleParam(query, name);
    if (value === undefined) continue;
    if (name === 'max_age') {
      if (/^\d{1,9}$/.test(value)) options.maxAge = Number(value);
      else debug('login: ignoring a max_age that is not a whole number of seconds');
    } else if (isParamValue(value)) {
      if (name === 'login_hint') options.loginHint = value;
      else if (name === 'ui_locales') options.uiLocales = value;
      else params[name] = value;
    } else {
      debug(
        'login: ignoring a query parameter value that is empty, too long or has control characters',
      );
    }
  }
  if (Object.keys(params).length > 0) options.params = params;
  return options;
}

function run(
  name: RouteName,
  runtime: OxdRuntime,
  req: OxdIncomingMessage,
  res: ServerResponse,
): Promise<void> {
  switch (name) {
    case 'login':
      return startLogin(runtime, req, res, loginOptionsFromQuery(runtime, req.url));
    case 'callback':
      return handleCallback(runtime, req, res);
    case 'logout': {
      const returnTo = singleParam(queryOf(req.url), 'returnTo');
      return startLogout(runtime, req, res, returnTo === undefined ? {} : { returnTo });
    }
    case 'frontchannelLogout':
      return handleFrontchannelLogout(runtime, req, res);
  }
}

/** Builds the route matcher once: a few string compares per request. */
function routeMatcher(
  runtime: OxdRuntime,
): (url: string, originalUrl: string | undefined) => RouteName | undefined {
  const routes: [Route, RouteName][] = [];
  for (const name of ['login', 'callback', 'logout', 'frontchannelLogout'] as const) {
    const route = runtime.routes[name];
    if (route) routes.push([route, name]);
  }
  return (url, originalUrl) => {
    const local = routePathOfRequest(url);
    let full: string | undefined;
    for (const [route, name] of routes) {
      if (route.absolute) {
        full ??= routePathOfRequest(originalUrl ?? url);
        if (route.path === full) return name;
      } else if (route.path === local) {
        return name;
      }
    }
    return undefined;
  };
}

/**
 * The OP's return to the post-logout URI (its path, matched against the full path) with a
 * `state`: the URI follows `update_site`, so its path is looked up again when it changed.
 */
function postLogoutLanding(
  runtime: OxdRuntime,
): (url: string, originalUrl: string | undefined) => boolean {
  let uri: string | undefined;
  let path: string | undefined;
  return (url, originalUrl) => {
    if (!url.includes('state=')) return false;
    const current = registeredPostLogoutUri(runtime);
    if (current !== uri) {
      uri = current;
      path = URL.canParse(current ?? '')
        ? routePathOf(new URL(current as string).pathname)
        : undefined;
    }
    return path !== undefined && path === routePathOfRequest(originalUrl ?? url);
  };
}

/**
 * Creates the middleware from the configuration file's path, or from options whose
 * `config` is the path or a config object. Throws an `OxdConfigError` naming the option at
 * once when something is wrong; never does network I/O itself.
 */
export function oxdAuth(options: string | OxdAuthOptions): OxdAuthHandler {
  const runtime = createRuntime(resolveOptions(options), contextOf);
  const match = routeMatcher(runtime);
  const backchannel = runtime.routes.backchannelLogout;
  const opKeys = backchannel ? new OpKeys(runtime) : undefined;
  const matchBackchannel = (url: string, originalUrl: string | undefined): boolean => {
    if (!backchannel) return false;
    return (
      routePathOfRequest(backchannel.absolute ? (originalUrl ?? url) : url) === backchannel.path
    );
  };
  const isPostLogoutLanding = postLogoutLanding(runtime);

  /** Answers the request when it is for one of the routes, else calls `next()`. */
  const dispatch = (
    request: OxdIncomingMessage,
    res: ServerResponse,
    next: (err?: unknown) => void,
    url: string,
    originalUrl: string | undefined,
    method: string | undefined,
  ): void => {
    if (method === 'GET') {
      const name = match(url, originalUrl);
      if (name === 'logout' && logoutRequestVerdict(runtime, request, 'GET') === 'confirm') {
        sendLogoutConfirmation(request, res);
        return;
      }
      if (name !== undefined) {
        traced(OPERATIONS[name], request, runtime, () => run(name, runtime, request, res)).catch(
          next,
        );
        return;
      }
      if (isPostLogoutLanding(url, originalUrl) && finishLogout(request, res)) return;
      if (runtime.silentLogin) {
        trySilentLogin(runtime, request, res).then((started) => {
          if (!started) next();
        }, next);
        return;
      }
    } else if (method === 'POST') {
      if (opKeys && matchBackchannel(url, originalUrl)) {
        traced('backchannel_logout', request, runtime, (span) =>
          handleBackchannelLogout(runtime, opKeys, request, res, span),
        ).catch(next);
        return;
      }
      if (match(url, originalUrl) === 'logout') {
        if (logoutRequestVerdict(runtime, request, 'POST') === 'refuse') {
          next(crossSiteLogoutError());
          return;
        }
        traced(OPERATIONS.logout, request, runtime, () =>
          run('logout', runtime, request, res),
        ).catch(next);
        return;
      }
    }
    next();
  };

  const handler = function oxdAuth(
    req: IncomingMessage,
    res: ServerResponse,
    next: (err?: unknown) => void,
  ): void {
    // Each property of the request is read once: Express gives every request its own
    // prototype, and so its own hidden class, which makes every property read a slow lookup.
    const request = req as OxdIncomingMessage;
    const url = req.url ?? '/';
    const originalUrl = request.originalUrl;
    const method = req.method;
    attachContext(runtime, request, res, url, originalUrl);
    if (backchannel) {
      // The application regenerated the session and copied the login into it: the login's
      // back-channel records follow it before anything reads the login (once per change).
      const session = request.session;
      const moved = session && movedLogin(runtime.sessionKey, session, request.sessionID);
      if (moved) {
        const id = request.sessionID as string;
        followMovedLogin(runtime, storeOf(request), session, id, moved).then(
          () => dispatch(request, res, next, url, originalUrl, method),
          next,
        );
        return;
      }
    }
    dispatch(request, res, next, url, originalUrl, method);
  };
  Object.defineProperty(handler, 'client', { value: runtime.client, enumerable: true });
  return handler as OxdAuthHandler;
}
