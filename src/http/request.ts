/**
 * Reading what the middleware needs from a node:http request, the same way under Express 4,
 * Express 5 and Connect (no `req.query`, no `req.path`).
 */
import type { IncomingMessage } from 'node:http';
import { ABSOLUTE_FORM } from './path';

/**
 * The raw path part of a request target, as sent (`/a/b?x=1` -> `/a/b`; an absolute-form
 * `http://host/a/b` -> `/a/b`). For building URLs under the mount point; to match a path, use
 * `requestPath()` (path.ts), which normalises it as the handlers will see it.
 */
function pathOf(url: string | undefined): string {
  if (!url) return '/';
  const authority = ABSOLUTE_FORM.exec(url);
  const target = authority ? url.slice(authority[0].length) : url;
  const end = target.search(/[?#]/);
  const path = end === -1 ? target : target.slice(0, end);
  return path.startsWith('/') ? path : `/${path}`;
}

/** The query of a request target, decoded once. */
export function queryOf(url: string | undefined): URLSearchParams {
  if (!url) return new URLSearchParams();
  const start = url.indexOf('?');
  return new URLSearchParams(start === -1 ? '' : url.slice(start + 1));
}

/**
 * One query parameter when it occurs exactly once; a repeated parameter counts as absent, so
 * `?state=a&state=b` cannot smuggle a second value past a check.
 */
export function singleParam(query: URLSearchParams, name: string): string | undefined {
  const values = query.getAll(name);
  return values.length === 1 ? values[0] : undefined;
}

/**
 * True when the request came over TLS: Express's `req.secure` (which honours `trust proxy`
 * behind a TLS-terminating proxy), else the socket's own TLS (Connect, plain node:http).
 */
export function isSecureRequest(req: IncomingMessage): boolean {
  return (
    (req as { secure?: unknown }).secure === true ||
    (req.socket as { encrypted?: boolean }).encrypted === true
  );
}

/** True when the client says it takes HTML (a browser navigating), false for API clients. */
export function wantsHtml(req: IncomingMessage): boolean {
  const accept = req.headers.accept;
  return typeof accept === 'string' && accept.includes('text/html');
}

/**
 * The path prefix the middleware is mounted under: `originalUrl` minus `url` as they were
 * when the middleware ran (`/auth` for `app.use('/auth', oxdAuth(…))`, else `''`).
 */
export function mountPrefix(originalUrl: string | undefined, urlAtMiddleware: string): string {
  if (!originalUrl) return '';
  const full = pathOf(originalUrl);
  const local = pathOf(urlAtMiddleware);
  if (local === '/' && full !== '/') return full.endsWith('/') ? full.slice(0, -1) : full;
  return full.endsWith(local) ? full.slice(0, full.length - local.length) : '';
}
