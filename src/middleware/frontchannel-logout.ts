/**
 * OpenID Connect Front-Channel Logout: the OP loads this route in a hidden iframe of the
 * user's browser when the user logs out elsewhere. The iframe request carries the user's
 * session cookie, so the session to end is the request's own; no session-id table is kept
 * in memory (sessions may live in a store shared by several app instances).
 *
 * Rules: the login ends only when the request carries both `iss` and `sid` and they equal
 * the login's (its ID token's `iss` and `sid`); requests without them are refused, as are
 * logins whose ID token had no `sid` (the OP was not asked for it: oxd 4.x registers
 * `front_channel_logout_session_required`; with 3.x set it at the OP). When the session also
 * holds other `oxdAuth()` instances' logins (`sessionKey`), only this instance's login is
 * removed; otherwise the session is destroyed. Always answers 200 with a tiny uncached page.
 *
 * Browsers send cookies to a cross-site iframe only when the session cookie is
 * `SameSite=None; Secure`; with `SameSite=Lax` the iframe arrives without the cookie and
 * nothing is ended (the user's next visit still holds the session).
 */
import type { ServerResponse } from 'node:http';
import { debuglog } from 'node:util';
import { loginIssuer, loginSid, type StoredLogin } from '../session/login';
import {
  endOwnLogin,
  requireSession,
  sessionLogin,
  type OxdIncomingMessage,
} from '../session/store';
import { queryOf, singleParam } from '../http/request';
import { htmlPage, sendHtml } from '../http/response';
import { sameIssuer } from './issuer';
import { forgetLogin, storeOf } from './logout-records';
import type { OxdRuntime } from './runtime';

/**
 * True when the front-channel logout request (`iss`, `sid`) targets this login: both are
 * given and equal the login's. A request without them, or a login without a `sid`, never
 * matches: otherwise any page on the web could log the user out with an iframe.
 */
export function matchesLogout(
  data: StoredLogin,
  iss: string | undefined,
  sid: string | undefined,
): boolean {
  if (iss === undefined || sid === undefined) return false;
  const loginIss = loginIssuer(data);
  const loginSessionId = loginSid(data);
  if (loginSessionId === undefined || loginIss === undefined) return false;
  return loginSessionId === sid && sameIssuer(loginIss, iss);
}

const debug = debuglog('express-oxd');

const PAGE = htmlPage('Logged out', ['This session has ended.']);

export async function handleFrontchannelLogout(
  runtime: OxdRuntime,
  req: OxdIncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const session = requireSession(req);
  const query = queryOf(req.url);
  const data = sessionLogin(session, runtime.sessionKey);
  if (data && matchesLogout(data, singleParam(query, 'iss'), singleParam(query, 'sid'))) {
    const id = req.sessionID;
    // Only the login goes when other instances' logins stay; logins in progress are kept.
    await endOwnLogin(session, runtime, [runtime.sessionKey]);
    await forgetLogin(runtime, storeOf(req), id, data);
    debug('front-channel logout: login ended');
  }
  sendHtml(res, 200, PAGE);
}
