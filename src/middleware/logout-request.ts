/**
 * Who may use the logout route. Logging out ends the local session and, through the OP,
 * usually the single sign-on session: a page on another site must not be able to do that by
 * linking to it or posting a form to it (login CSRF's twin).
 *
 * - `POST <logout>` is the way to log out from a page: accepted when the browser says the
 *   request came from this origin (`Sec-Fetch-Site: same-origin`, or `none` for a request
 *   the user started), else, for browsers without Fetch Metadata, when `Origin` is the site's
 *   own origin (that of `authorization_redirect_uri`, or the request's scheme and `Host`).
 *   Anything else is refused with 403, a request with neither header too: every browser in
 *   use sends `Origin` with a POST, and a script can log out with a GET.
 * - `GET <logout>` stays for links and older apps, except when the browser says it came from
 *   another site (`Sec-Fetch-Site: cross-site`): such a request gets a page asking to confirm
 *   with a button that POSTs to the route (framing refused), and nothing ends until it is
 *   pressed.
 *
 * No token is involved, so forms need no hidden field and the route reads no body.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ERROR_CODES, OxdAuthError } from '../errors';
import { originFormTarget } from '../http/path';
import { isSecureRequest } from '../http/request';
import { htmlPage, sendHtml } from '../http/response';
import type { OxdRuntime } from './runtime';

/** What the logout route does with a request: go ahead, ask to confirm, or refuse. */
type LogoutRequestVerdict = 'proceed' | 'confirm' | 'refuse';

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return typeof value === 'string' ? value.trim().toLowerCase() : undefined;
}

/** The origins a same-origin POST may name in `Origin`. */
function ownOrigins(runtime: OxdRuntime, req: IncomingMessage): string[] {
  const origins: string[] = [];
  const redirectUri = runtime.config.client.authorizationRedirectUri;
  if (URL.canParse(redirectUri)) origins.push(new URL(redirectUri).origin.toLowerCase());
  const host = header(req, 'host');
  if (host) {
    origins.push(`${isSecureRequest(req) ? 'https' : 'http'}://${host}`);
  }
  return origins;
}

/** Decides what the logout route does with `req` (see the module comment). */
export function logoutRequestVerdict(
  runtime: OxdRuntime,
  req: IncomingMessage,
  method: 'GET' | 'POST',
): LogoutRequestVerdict {
  const site = header(req, 'sec-fetch-site');
  if (method === 'GET') return site === 'cross-site' ? 'confirm' : 'proceed';
  if (site !== undefined) return site === 'same-origin' || site === 'none' ? 'proceed' : 'refuse';
  const origin = header(req, 'origin');
  return origin !== undefined && ownOrigins(runtime, req).includes(origin) ? 'proceed' : 'refuse';
}

/** The 403 of a logout POST from another site. */
export function crossSiteLogoutError(): OxdAuthError {
  return new OxdAuthError(
    ERROR_CODES.FORBIDDEN,
    'A logout request from another site was refused: log out with this site’s own logout button.',
    { status: 403 },
  );
}

/**
 * The page a cross-site GET of the logout route gets: a button that POSTs to the same URL
 * (with its `returnTo`). It may not be framed, so no other site can make the user press it.
 */
export function sendLogoutConfirmation(req: IncomingMessage, res: ServerResponse): void {
  const action =
    originFormTarget((req as { originalUrl?: string }).originalUrl ?? req.url) ?? '/logout';
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Content-Security-Policy', "frame-ancestors 'none'");
  sendHtml(
    res,
    200,
    htmlPage('Log out?', ['A link on another site asked to log you out of this one.'], {
      form: { action, button: 'Log out' },
    }),
  );
}
