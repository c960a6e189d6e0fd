/**
 * Logging out: end the local session and send the browser to the OP's end-session
 * endpoint, so the OP session ends too.
 */
import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { debuglog } from 'node:util';
import type { GetLogoutUriParams } from '../oxd/commands';
import { OxdCommandError } from '../errors';
import {
  endOwnLogin,
  requireSession,
  type OxdIncomingMessage,
  type OxdSession,
} from '../session/store';
import { oxdUrl, redirect } from '../http/response';
import { queryOf, singleParam } from '../http/request';
import { isSafeReturnTo, safeReturnTo } from '../http/return-to';
import { activeLogin } from './lifetime';
import { checkLogoutParams, withLogoutParams } from './logout-params';
import type { OxdRuntime } from './runtime';
import { hasSilentCookie, markSilentLoginTried } from './silent-login';
import { underRequest } from '../telemetry';

const debug = debuglog('express-oxd');

export interface LogoutOptions {
  /**
   * Same-origin path to land on after the logout (validated like the login's `returnTo`;
   * anything else falls back). Default: the `postLogoutRedirect` route option after a local
   * logout, the registered `post_logout_redirect_uri` after an OP logout.
   */
  returnTo?: string;
  /**
   * `false`: end only this site's session, without the round trip to the OP (the OP session
   * stays, so the next login may go through without a password). Default: the `idpLogout`
   * option (`true`).
   */
  idpLogout?: boolean;
  /**
   * Extra parameters on the OP's end-session URL (e.g. `{ ui_locales: 'fr' }`), over those
   * of the `logoutParams` option. `state`, `id_token_hint`, `post_logout_redirect_uri`,
   * `client_id` and `session_state` are set by the logout itself and refused.
   */
  logoutParams?: Readonly<Record<string, string>>;
}

/** oxd's error when the OP publishes no `end_session_endpoint`. */
const NO_END_SESSION = 'no_end_session_endpoint_at_op';

/** Separates the random part of a logout `state` from the `returnTo` it carries. */
const STATE_SEPARATOR = '.';

/**
 * The `state` of an OP logout: random, followed by the validated `returnTo` (base64url) when
 * there is one. The OP sends it back to the post-logout URI, where {@link returnToOfState}
 * reads the path again; it is a same-origin path like any `?returnTo=`, so carrying it
 * openly gives nothing away and needs no session (the session has ended by then).
 */
function logoutState(returnTo: string | undefined): string {
  const random = randomBytes(16).toString('base64url');
  return returnTo === undefined
    ? random
    : random + STATE_SEPARATOR + Buffer.from(returnTo, 'utf8').toString('base64url');
}

/** The `returnTo` a logout `state` carries, when it carries a safe one. */
export function returnToOfState(state: string | undefined): string | undefined {
  if (state === undefined) return undefined;
  const at = state.indexOf(STATE_SEPARATOR);
  if (at < 16 || at === state.length - 1) return undefined;
  const encoded = state.slice(at + 1);
  if (!/^[\w-]+$/.test(encoded)) return undefined;
  const path = Buffer.from(encoded, 'base64url').toString('utf8');
  return isSafeReturnTo(path) ? safeReturnTo(path) : undefined;
}

/**
 * oxd before 4.2.3 ignores `id_token_hint` (protocol notes §8.5), yet most OPs need it to
 * log out without asking the user; add it when the URI lacks it.
 */
export function withIdTokenHint(uri: string, idToken: string | undefined): string {
  const url = oxdUrl(uri, 'get_logout_uri');
  if (idToken && !url.searchParams.has('id_token_hint')) {
    url.searchParams.append('id_token_hint', idToken);
  }
  return url.href;
}

/**
 * The post-logout redirect URI the OP has registered: the client's record (it follows
 * `update_site`), else the configuration's (a client of the application's own).
 */
export function registeredPostLogoutUri(runtime: OxdRuntime): string | undefined {
  const client = runtime.client as { postLogoutRedirectUri?: unknown };
  const tracked = client.postLogoutRedirectUri;
  return typeof tracked === 'string' && tracked !== ''
    ? tracked
    : runtime.config.client.postLogoutRedirectUri;
}

/**
 * Ends this instance's login: the whole session, unless another `oxdAuth()` instance of the
 * application (another `sessionKey`) holds a login in it, which then stays (this instance's
 * login and logins in progress are removed).
 */
function endLocalLogin(runtime: OxdRuntime, session: OxdSession): Promise<void> {
  return endOwnLogin(session, runtime, [runtime.sessionKey, runtime.loginsKey]);
}

async function endSessionUri(
  runtime: OxdRuntime,
  idToken: string | undefined,
  returnTo: string | undefined,
  req: OxdIncomingMessage,
): Promise<string> {
  const params: GetLogoutUriParams = { state: logoutState(returnTo) };
  if (idToken) params.id_token_hint = idToken;
  const postLogout = registeredPostLogoutUri(runtime);
  if (postLogout) params.post_logout_redirect_uri = postLogout;
  const reply = await underRequest(req, () => runtime.client.getLogoutUri(params));
  return withIdTokenHint(reply.uri, idToken);
}

/**
 * Logged in: ends the local session and, unless `idpLogout` is false, sends the browser to
 * the OP's end-session URI (asked of oxd first; the local session ends also when oxd fails,
 * and when the OP has no end-session endpoint the browser goes to the post-logout URI).
 * Logged out: redirects to `returnTo` or the local post-logout path without calling oxd or
 * touching the session.
 */
export async function startLogout(
  runtime: OxdRuntime,
  req: OxdIncomingMessage,
  res: ServerResponse,
  options: LogoutOptions,
): Promise<void> {
  const session = requireSession(req);
  const extra =
    options.logoutParams === undefined
      ? runtime.logoutParams
      : {
          ...runtime.logoutParams,
          ...checkLogoutParams(options.logoutParams, 'logout() logoutParams'),
        };
  const data = activeLogin(runtime, session);
  // A silent login (the option, or attemptSilentLogin() on a route) must not log the user
  // straight back in: the cookie goes with every logout of a login.
  if ((runtime.silentLogin || data) && !hasSilentCookie(req)) markSilentLoginTried(req, res);
  const returnTo = isSafeReturnTo(options.returnTo) ? safeReturnTo(options.returnTo) : undefined;
  const local = returnTo ?? runtime.routes.postLogoutRedirect;
  if (!data) {
    redirect(res, local);
    return;
  }
  if (!(options.idpLogout ?? runtime.idpLogout)) {
    await endLocalLogin(runtime, session);
    debug('logout: local login ended, the OP session is kept (idpLogout false)');
    redirect(res, local);
    return;
  }
  let uri: string | undefined;
  let failure: unknown;
  try {
    uri = withLogoutParams(
      await endSessionUri(runtime, data.tokens.id_token, returnTo, req),
      extra,
    );
  } catch (err) {
    failure = err;
  }
  await endLocalLogin(runtime, session);
  if (uri !== undefined) {
    debug('logout: local session destroyed, going to the OP');
    redirect(res, uri);
    return;
  }
  if (failure instanceof OxdCommandError && failure.error === NO_END_SESSION) {
    debug('logout: the OP has no end_session_endpoint; logged out locally only');
    redirect(res, returnTo ?? registeredPostLogoutUri(runtime) ?? local);
    return;
  }
  debug('logout: local session destroyed, oxd failed');
  throw failure;
}

/**
 * The OP sends the browser back to the post-logout URI with the logout's `state`; when that
 * state carries a `returnTo`, this answers with the redirect there (true), else leaves the
 * request to the application (false).
 */
export function finishLogout(req: OxdIncomingMessage, res: ServerResponse): boolean {
  const returnTo = returnToOfState(singleParam(queryOf(req.url), 'state'));
  if (returnTo === undefined) return false;
  debug('logout: back from the OP, going on to returnTo');
  redirect(res, returnTo);
  return true;
}
