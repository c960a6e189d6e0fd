/**
 * The browser-session cookie of `silentLogin`: set when a silent login is tried (and at
 * logout), so each browser session tries at most once and a logout is not undone by it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isSecureRequest } from '../http/request';

export const SILENT_LOGIN_COOKIE = 'express-oxd.silent';

export function hasSilentCookie(req: IncomingMessage): boolean {
  const header = req.headers.cookie;
  return typeof header === 'string' && header.split(/;\s*/).includes(`${SILENT_LOGIN_COOKIE}=1`);
}

/**
 * Sets the cookie (no expiry: it ends with the browser session), keeping other cookies. It is
 * `Secure` when the request came over TLS: Express's `req.secure` (which honours `trust proxy`
 * behind a TLS-terminating proxy), else the socket's own TLS.
 */
export function markSilentLoginTried(req: IncomingMessage, res: ServerResponse): void {
  const secure = isSecureRequest(req) ? '; Secure' : '';
  const cookie = `${SILENT_LOGIN_COOKIE}=1; Path=/; HttpOnly; SameSite=Lax${secure}`;
  const current = res.getHeader('Set-Cookie');
  const list = current === undefined ? [] : Array.isArray(current) ? current : [String(current)];
  res.setHeader('Set-Cookie', [...list, cookie]);
}
