/**
 * `oxdAuth()`: the one middleware an application mounts. It validates its options and the
 * oxd configuration synchronously (nothing touches the network until a login starts), makes
 * `req.oxd` available on every request (created when first read), and answers its own GET routes: login, callback, logout and
 * front-channel logout. Every other request goes straight to `next()`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { OxdClient } from '../oxd/client';
import type { OxdIncomingMessage } from '../session';
import { handleCallback } from './callback';
import { attachContext, contextOf } from './context';
import { handleFrontchannelLogout } from './frontchannel-logout';
import { startLogin, type LoginOptions } from './login';
import { startLogout } from './logout';
import { resolveOptions, trimSlash, type OxdAuthOptions, type Route } from './options';
import { pathOf, queryOf, singleParam } from './request';
import { createRuntime, type OxdRuntime } from './runtime';

/** The middleware `oxdAuth()` returns, with the client it uses. */
export interface OxdAuthHandler {
  (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void): void;
  /** The oxd client (for `close()` at shutdown, or direct oxd commands). */
  readonly client: OxdClient;
}

type RouteName = 'login' | 'callback' | 'logout' | 'frontchannelLogout';

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
    case 'logout':
      return startLogout(runtime, req, res, {});
    case 'frontchannelLogout':
      return handleFrontchannelLogout(runtime, req, res);
  }
}

/** Builds the route matcher once: a few string compares per request. */
function routeMatcher(runtime: OxdRuntime): (req: OxdIncomingMessage) => RouteName | undefined {
  const routes: [Route, RouteName][] = [];
  for (const name of ['login', 'callback', 'logout', 'frontchannelLogout'] as const) {
    const route = runtime.routes[name];
    if (route) routes.push([route, name]);
  }
  return (req) => {
    const local = trimSlash(pathOf(req.url));
    let full: string | undefined;
    for (const [route, name] of routes) {
      if (route.absolute) {
        full ??= trimSlash(pathOf(req.originalUrl ?? req.url));
        if (route.path === full) return name;
      } else if (route.path === local) {
        return name;
      }
    }
    return undefined;
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

  const handler = function oxdAuth(
    req: IncomingMessage,
    res: ServerResponse,
    next: (err?: unknown) => void,
  ): void {
    const request = req as OxdIncomingMessage;
    attachContext(runtime, request, res);
    const name = req.method === 'GET' ? match(request) : undefined;
    if (name === undefined) {
      next();
      return;
    }
    run(name, runtime, request, res).catch(next);
  };
  Object.defineProperty(handler, 'client', { value: runtime.client, enumerable: true });
  return handler as OxdAuthHandler;
}
