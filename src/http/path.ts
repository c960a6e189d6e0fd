/**
 * The path of a request as the handlers behind the middleware will see it. Express routes on
 * the pathname of `req.url` (its router and `express.static` take it from an absolute-form
 * target such as `GET http://host/api/photos` too), and `express.static` (`send`) decodes it
 * and resolves `.`, `..` and empty segments before it opens a file. A check that compared the
 * raw text would miss `/api/photos//1.json`, `/api/photos/./1.json`, `/api/photos/%2e/1.json`
 * or `http://host/api/photos`, all of which reach the protected handler or file.
 *
 * So every place the middleware matches a path (its routes, `umaProtect`, the UMA claims
 * route, the `returnTo` of a login redirect) reads it through {@link requestPath}: the
 * pathname of an origin-form or absolute-form target, each segment percent-decoded once, `.`
 * and empty segments dropped, `..` resolved. What cannot be normalised to one meaning is
 * refused (`undefined`) rather than matched as raw text: a malformed escape, a `%2f` (an
 * encoded `/`: the router takes it as part of one segment, `send` as a separator), a NUL, a
 * `..` above the root, or a target that is neither a path nor an http(s) URL (`*`).
 */

import { routePath, type Fail } from '../option-check';
import { isSafeReturnTo } from './return-to';

/** `scheme://authority` of an absolute-form request target (RFC 9112 §3.2.2). */
export const ABSOLUTE_FORM = /^https?:\/\/[^/?#]*/i;

/**
 * The normalised path of a request target (`req.url`), with a trailing `/` kept when the
 * target had one; `undefined` when it cannot be normalised (see the module comment).
 */
export function requestPath(target: string | undefined): string | undefined {
  if (target === undefined || target === '') return '/';
  let rest = target;
  if (!rest.startsWith('/')) {
    const authority = ABSOLUTE_FORM.exec(rest);
    if (!authority) return undefined;
    rest = rest.slice(authority[0].length);
  }
  const end = rest.search(/[?#]/);
  const raw = end === -1 ? rest : rest.slice(0, end);
  if (raw === '') return '/';
  if (!raw.startsWith('/')) return undefined;
  // The usual path, nothing to decode, collapse or resolve: as it is (the hot path).
  if (!raw.includes('%') && !raw.includes('//') && !raw.includes('/.')) return raw;
  const segments: string[] = [];
  const parts = raw.split('/').slice(1);
  for (const part of parts) {
    let segment: string;
    try {
      segment = decodeURIComponent(part);
    } catch {
      return undefined;
    }
    if (segment.includes('/') || segment.includes('\0')) return undefined;
    if (segment === '' || segment === '.') continue;
    if (segment === '..') {
      if (segments.pop() === undefined) return undefined;
      continue;
    }
    segments.push(segment);
  }
  const last = parts[parts.length - 1];
  const trailing = segments.length > 0 && (last === '' || last === '.' || last === '..');
  return `/${segments.join('/')}${trailing ? '/' : ''}`;
}

/**
 * The target in origin form (`/path?query`, as sent, for a redirect back to it): an
 * absolute-form `http://host/path?query` loses its scheme and host. `undefined` when its path
 * cannot be normalised.
 */
export function originFormTarget(target: string | undefined): string | undefined {
  if (target === undefined || requestPath(target) === undefined) return undefined;
  const authority = target.startsWith('/') ? null : ABSOLUTE_FORM.exec(target);
  const rest = authority ? target.slice(authority[0].length) : target;
  const hash = rest.indexOf('#');
  const origin = hash === -1 ? rest : rest.slice(0, hash);
  return origin.startsWith('/') ? origin : `/${origin}`;
}

/**
 * A configured route path (`/login`, the path of `authorization_redirect_uri`) in the form
 * {@link requestPath} gives request paths, without a trailing `/`, so that the two compare.
 */
export function routePathOf(path: string): string {
  return withoutTrailingSlash(requestPath(path) ?? path);
}

/** `path` without a trailing `/`; the root `/` stays as it is. Nothing is decoded. */
function withoutTrailingSlash(path: string): string {
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
}

/**
 * The normalised path of a request target without a trailing `/` (`/a/` and `/a` are one
 * route, as in Express's default routing), ready to compare with {@link routePathOf};
 * `undefined` when it cannot be normalised. Decoded once, as Express decodes it: `/log%2569n`
 * is `/log%69n`, not `/login`.
 */
export function routePathOfRequest(target: string | undefined): string | undefined {
  const path = requestPath(target);
  return path === undefined ? undefined : withoutTrailingSlash(path);
}

/** A route as matched: `absolute` paths are compared with the full path (mount included). */
export interface RoutePath {
  readonly path: string;
  readonly absolute: boolean;
}

/**
 * A route option: `false` turns the route off (`undefined`); a same-origin path starting with
 * `/`, without query or fragment, is the route (in {@link routePathOf}'s form, compared with
 * the path below the mount point); absent, `fallback`. Anything else fails with `message`.
 */
export function routeOption(
  value: unknown,
  key: string,
  fallback: RoutePath | undefined,
  fail: Fail,
  message: string,
): RoutePath | undefined {
  if (value === undefined) return fallback;
  if (value === false) return undefined;
  const path = routePath(value, key, isSafeReturnTo, fail, message) as string;
  return { path: routePathOf(path), absolute: false };
}
