/**
 * Route guards: `requireAuth()` and the claim checks built on it. A logged-in session with
 * an unexpired access token costs a property read and a number compare; an expired access
 * token is refreshed once (shared by concurrent requests of the session) before going on.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ERROR_CODES, OxdAuthError, OxdConfigError } from '../errors';
import { loginClaims, type StoredLogin } from '../session/login';
import { requireSession, type OxdIncomingMessage } from '../session/store';
import { claimHoldsAll, hasClaimValue, type Claims } from '../claims';
import { checkKeys, type Fail, failFor, optionalBoolean, optionalFunction } from '../option-check';
import { attachedRuntime, loginRouteUrl, unseenRequest } from './context';
import { renderOxdError } from './error-page';
import { originFormTarget } from '../http/path';
import { activeLogin } from './lifetime';
import { wantsHtml } from '../http/request';
import { redirect } from '../http/response';
import { safeReturnTo } from '../http/return-to';
import type { OxdRuntime } from './runtime';
import { ensureFreshTokens, isDue } from './tokens';

/** A JSON primitive a claim can be compared with. */
export type ClaimValue = string | number | boolean | null;

/** Decides from the user's normalised claims whether the request may go on. */
export type ClaimPredicate = (claims: Claims, req: IncomingMessage) => boolean;

export interface RequireAuthOptions {
  /** The claim `name` must equal `value` (strictly). */
  claimEquals?: readonly [name: string, value: ClaimValue];
  /** The claim `name` must hold every one of the values (a list claim, or a single value). */
  claimIncludes?: readonly [name: string, ...values: ClaimValue[]];
  /** Any check of the claims; returning false answers 403. */
  claimCheck?: ClaimPredicate;
  /**
   * How a request without a login is answered: `true` always redirects to the login route,
   * `false` always answers 401. Default: redirect browsers (`Accept` includes `text/html`),
   * 401 JSON for API clients.
   */
  redirect?: boolean;
}

/** A `(req, res, next)` middleware for Express 4/5 and Connect. */
export type OxdMiddleware = (
  req: IncomingMessage,
  res: ServerResponse,
  next: (err?: unknown) => void,
) => void;

const REQUIRE_AUTH_KEYS: ReadonlySet<string> = new Set([
  'claimEquals',
  'claimIncludes',
  'claimCheck',
  'redirect',
]);

const fail: Fail = failFor('requireAuth', OxdConfigError);

function isClaimValue(value: unknown): value is ClaimValue {
  return (
    value === null ||
    typeof value === 'string' ||
    typeof value === 'number' ||
    typeof value === 'boolean'
  );
}

function checkClaimTuple(value: unknown, key: string, minValues: number): readonly unknown[] {
  if (
    !Array.isArray(value) ||
    typeof value[0] !== 'string' ||
    value[0] === '' ||
    value.length < 1 + minValues ||
    !value.slice(1).every(isClaimValue)
  ) {
    fail(key, 'must be [claim name, value, …] with string, number, boolean or null values');
  }
  return value;
}

/** Combines the configured claim checks into one predicate (or none). */
function claimPredicate(options: RequireAuthOptions): ClaimPredicate | undefined {
  const checks: ClaimPredicate[] = [];
  if (options.claimEquals !== undefined) {
    const [name, expected] = checkClaimTuple(options.claimEquals, 'claimEquals', 1) as [
      string,
      ClaimValue,
    ];
    if (options.claimEquals.length !== 2) fail('claimEquals', 'takes exactly one value');
    checks.push((claims) => hasClaimValue(claims, name, expected));
  }
  if (options.claimIncludes !== undefined) {
    const [name, ...expected] = checkClaimTuple(options.claimIncludes, 'claimIncludes', 1) as [
      string,
      ...ClaimValue[],
    ];
    checks.push((claims) => claimHoldsAll(claims, name, expected));
  }
  if (options.claimCheck !== undefined) {
    checks.push(optionalFunction(options.claimCheck, 'claimCheck', fail) as ClaimPredicate);
  }
  if (checks.length === 0) return undefined;
  if (checks.length === 1) return checks[0];
  return (claims, req) => checks.every((check) => check(claims, req));
}

function notLoggedIn(
  runtime: OxdRuntime,
  req: OxdIncomingMessage,
  res: ServerResponse,
  next: (err?: unknown) => void,
  redirectOption: boolean | undefined,
): void {
  const err = new OxdAuthError(
    ERROR_CODES.UNAUTHENTICATED,
    'Authentication is required: log in first.',
    { status: 401 },
  );
  if (runtime.errorOnRequired) {
    next(err);
    return;
  }
  if (redirectOption ?? wantsHtml(req)) {
    const returnTo = safeReturnTo(originFormTarget(req.originalUrl ?? req.url));
    const context = req.oxd;
    if (context === undefined) {
      next(err);
      return;
    }
    const login = loginRouteUrl(context);
    if (login) redirect(res, `${login}?returnTo=${encodeURIComponent(returnTo)}`);
    else context.login({ returnTo }).catch(next);
    return;
  }
  (runtime.renderError ?? renderOxdError)(err, req, res);
}

function authorise(
  runtime: OxdRuntime,
  check: ClaimPredicate | undefined,
  data: StoredLogin,
  req: OxdIncomingMessage,
  res: ServerResponse,
  next: (err?: unknown) => void,
): void {
  if (check === undefined || check(loginClaims(data), req)) {
    next();
    return;
  }
  const err = new OxdAuthError(
    ERROR_CODES.FORBIDDEN,
    'The logged-in user does not have the claims this page requires.',
    { status: 403 },
  );
  if (runtime.errorOnRequired) next(err);
  else (runtime.renderError ?? renderOxdError)(err, req, res);
}

/**
 * Lets the request through when the user is logged in (and the claim checks pass).
 * Not logged in: browsers are redirected to the login route with `returnTo` set to this
 * URL, API clients get 401 JSON. Failed claim checks: 403. With the `errorOnRequired`
 * option of `oxdAuth()`, both go to `next(err)` as `OxdAuthError`s instead.
 */
export function requireAuth(options: RequireAuthOptions = {}): OxdMiddleware {
  if (typeof options !== 'object' || options === null) fail('options', 'must be an object');
  checkKeys(options, REQUIRE_AUTH_KEYS, fail);
  optionalBoolean(options.redirect, 'redirect', fail);
  const check = claimPredicate(options);
  const redirectOption = options.redirect;

  return function requireAuth(req, res, next) {
    const request = req as OxdIncomingMessage;
    // The runtime only: req.oxd is built when a page (or a redirect to log in) needs it.
    const runtime = attachedRuntime(request);
    if (runtime === undefined) {
      next(unseenRequest('requireAuth()'));
      return;
    }
    let session;
    try {
      session = requireSession(request);
    } catch (err) {
      next(err);
      return;
    }
    const data = activeLogin(runtime, session);
    if (data === undefined) {
      notLoggedIn(runtime, request, res, next, redirectOption);
      return;
    }
    if (!isDue(data.tokens, runtime.clock(), runtime.refreshLeewayMs)) {
      try {
        authorise(runtime, check, data, request, res, next);
      } catch (err) {
        next(err);
      }
      return;
    }
    ensureFreshTokens(runtime, request, session, data)
      .then((usable) => {
        if (usable) authorise(runtime, check, data, request, res, next);
        else notLoggedIn(runtime, request, res, next, redirectOption);
      })
      .catch(next);
  };
}

/** `requireAuth({ claimEquals: [name, value] })`. */
export function claimEquals(name: string, value: ClaimValue): OxdMiddleware {
  return requireAuth({ claimEquals: [name, value] });
}

/** `requireAuth({ claimIncludes: [name, ...values] })`. */
export function claimIncludes(name: string, ...values: ClaimValue[]): OxdMiddleware {
  return requireAuth({ claimIncludes: [name, ...values] });
}

/** `requireAuth({ claimCheck: predicate })`. */
export function claimCheck(predicate: ClaimPredicate): OxdMiddleware {
  return requireAuth({ claimCheck: predicate });
}
