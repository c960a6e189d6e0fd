/**
 * OpenID Connect Front-Channel Logout: the OP loads this route in a hidden iframe of the
 * user's browser when the user logs out elsewhere. The iframe request carries the user's
 * session cookie, so the session to end is the request's own; no session-id table is kept
 * in memory (sessions may live in a store shared by several app instances).
 *
 * Rules: with `sid`, the session ends when its login has that `sid` (and, when both are
 * known, the same `iss`); with only `iss`, when the login's issuer matches; with neither
 * (an OP that sends no session information), the session ends. Always answers 200 with a
 * tiny uncached page.
 *
 * Browsers send cookies to a cross-site iframe only when the session cookie is
 * `SameSite=None; Secure`; with `SameSite=Lax` the iframe arrives without the cookie and
 * nothing is ended (the user's next visit still holds the session).
 */
import type { ServerResponse } from 'node:http';
import { debuglog } from 'node:util';
import {
  destroySession,
  requireSession,
  loginIssuer,
  loginSid,
  type OxdIncomingMessage,
  type StoredLogin,
} from '../session';
import { queryOf, singleParam } from './request';
import { htmlPage, sendHtml } from './response';

/** True when the front-channel logout request (`iss`, `sid`) targets this login. */
export function matchesLogout(
  data: StoredLogin,
  iss: string | undefined,
  sid: string | undefined,
): boolean {
  const loginIss = loginIssuer(data);
  if (sid !== undefined) {
    if (loginSid(data) !== sid) return false;
    return iss === undefined || loginIss === undefined || loginIss === iss;
  }
  if (iss !== undefined) return loginIss === iss;
  return true;
}

const debug = debuglog('express-oxd');

const PAGE = htmlPage('Logged out', ['This session has ended.']);

export async function handleFrontchannelLogout(
  req: OxdIncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const session = requireSession(req);
  const query = queryOf(req.url);
  const data = session.oxd;
  if (data && matchesLogout(data, singleParam(query, 'iss'), singleParam(query, 'sid'))) {
    await destroySession(session);
    debug('front-channel logout: session ended');
  }
  sendHtml(res, 200, PAGE);
}
