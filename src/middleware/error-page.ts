/**
 * Turning an `OxdError` into a response: a short HTML page for browsers, JSON for API
 * clients, with the error's HTTP status. Messages go through a filter that removes anything
 * shaped like a token.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ERROR_CODES, OxdAuthError, OxdConfigError, OxdError, type OxdErrorCode } from '../errors';
import type { ErrorRenderer } from './options';
import { mountPrefix, wantsHtml } from '../http/request';
import { htmlPage, sendHtml, sendJson } from '../http/response';

interface Explanation {
  /** Machine-readable `error` of the JSON body. */
  error: string;
  /** Page title. */
  title: string;
  /** What happened and what to do, for the person in front of the browser. */
  advice: string;
}

const UNAVAILABLE: Explanation = {
  error: 'oxd_unavailable',
  title: 'Login is unavailable',
  advice: 'The login service (oxd server) cannot be reached right now. Please try again shortly.',
};
const TIMEOUT: Explanation = {
  error: 'oxd_timeout',
  title: 'Login is unavailable',
  advice: 'The login service (oxd server) did not answer in time. Please try again shortly.',
};
const LOGIN_FAILED: Explanation = {
  error: 'oxd_failed',
  title: 'Login failed',
  advice: 'The login service could not complete the request. Please try again later.',
};
const MISCONFIGURED: Explanation = {
  error: 'server_misconfigured',
  title: 'Login is not set up correctly',
  advice: 'The site is not configured correctly for login. The site owner has to fix this.',
};

const EXPLANATIONS: Readonly<Record<OxdErrorCode, Explanation>> = {
  [ERROR_CODES.CONFIG_INVALID]: MISCONFIGURED,
  [ERROR_CODES.CONFIG_READ_FAILED]: MISCONFIGURED,
  [ERROR_CODES.CONFIG_WRITE_FAILED]: MISCONFIGURED,
  [ERROR_CODES.SESSION_MISSING]: MISCONFIGURED,
  [ERROR_CODES.SESSION_STORE_UNAVAILABLE]: {
    error: 'session_store_unavailable',
    title: 'The site is temporarily unavailable',
    advice:
      'The site cannot load or save your session right now. Please try again in a moment; ' +
      'you do not need to log in again.',
  },
  [ERROR_CODES.TRANSPORT_FAILED]: UNAVAILABLE,
  [ERROR_CODES.CLIENT_CLOSED]: UNAVAILABLE,
  [ERROR_CODES.BUSY]: {
    error: 'oxd_busy',
    title: 'Login is busy',
    advice:
      'The login service (oxd server) is handling too many requests. Please try again shortly.',
  },
  [ERROR_CODES.CONNECT_TIMEOUT]: TIMEOUT,
  [ERROR_CODES.RESPONSE_TIMEOUT]: TIMEOUT,
  [ERROR_CODES.PROTOCOL_ERROR]: { ...LOGIN_FAILED, error: 'oxd_protocol_error' },
  [ERROR_CODES.FRAME_TOO_LARGE]: { ...LOGIN_FAILED, error: 'oxd_protocol_error' },
  [ERROR_CODES.COMMAND_FAILED]: { ...LOGIN_FAILED, error: 'oxd_command_failed' },
  [ERROR_CODES.STATE_MISMATCH]: {
    error: 'invalid_state',
    title: 'Login could not be completed',
    advice:
      'This login response does not belong to a login started in this browser, or it expired or ' +
      'was already used. Please log in again.',
  },
  [ERROR_CODES.OP_ERROR]: {
    error: 'op_error',
    title: 'Login was not completed',
    advice: 'The identity provider did not complete the login. Please try again.',
  },
  [ERROR_CODES.LOGIN_CANCELLED]: {
    error: 'access_denied',
    title: 'Login cancelled',
    advice: 'The login was cancelled, so you are not logged in. You can log in again at any time.',
  },
  [ERROR_CODES.UNAUTHENTICATED]: {
    error: 'unauthenticated',
    title: 'Login required',
    advice: 'You need to log in to see this page.',
  },
  [ERROR_CODES.FORBIDDEN]: {
    error: 'forbidden',
    title: 'Access denied',
    advice: 'You are logged in, but your account is not allowed to see this page.',
  },
  [ERROR_CODES.UMA_NEED_INFO]: {
    error: 'need_info',
    title: 'More information needed',
    advice: 'The authorization server needs more information about you before it grants access.',
  },
  [ERROR_CODES.UMA_RPT_OF_ANOTHER_USER]: {
    error: 'uma_rpt_of_another_user',
    title: 'Access not granted yet',
    advice:
      'The site could only obtain an access grant that belongs to another user, so it was not ' +
      'used. Please try again later.',
  },
};

/** JWTs and long opaque strings that could be tokens. */
const TOKEN_LIKE = /\beyJ[\w-]*\.[\w-]*\.[\w-]*|\b[\w-]{40,}\b/g;

/** The message with anything token-shaped replaced. */
export function redactTokens(text: string): string {
  return text.replace(TOKEN_LIKE, '[redacted]');
}

/** The error page's own look: readable on a phone, light and dark, no external resources. */
const PAGE_STYLE =
  ':root{color-scheme:light dark;font-family:system-ui,sans-serif;line-height:1.5}' +
  'body{max-width:36rem;margin:3rem auto;padding:0 1rem}' +
  'h1{font-size:1.5rem;margin:0 0 1rem}' +
  'p{overflow-wrap:anywhere}' +
  'p:last-child{margin-top:2rem}';

/** The CSP source expression that allows exactly {@link PAGE_STYLE}. */
const PAGE_STYLE_HASH = `'sha256-${createHash('sha256').update(PAGE_STYLE).digest('base64')}'`;

/**
 * Whether a `<style>` element with {@link PAGE_STYLE} may run under the response's
 * Content-Security-Policy (set by helmet or the app before the error). With a policy that
 * blocks it the page is sent without its style: readable as plain HTML, and no CSP violation.
 */
function inlineStyleAllowed(res: ServerResponse): boolean {
  const header = res.getHeader('content-security-policy');
  const policies = header === undefined ? [] : Array.isArray(header) ? header : [String(header)];
  return policies.every((policy) => {
    const directives = new Map<string, string[]>();
    for (const part of policy.split(';')) {
      const [name, ...sources] = part.trim().toLowerCase().split(/\s+/);
      if (name && !directives.has(name)) directives.set(name, sources);
    }
    const sources =
      directives.get('style-src-elem') ??
      directives.get('style-src') ??
      directives.get('default-src');
    if (sources === undefined) return true;
    if (sources.includes(PAGE_STYLE_HASH.toLowerCase())) return true;
    // A nonce or hash in the list makes browsers ignore 'unsafe-inline'.
    const pinned = sources.some((s) => /^'(nonce|sha256|sha384|sha512)-/.test(s));
    return sources.includes("'unsafe-inline'") && !pinned;
  });
}

/**
 * The default renderer of `oxdErrorHandler()` and `requireAuth()`. The error's message is
 * shown only when `err.expose` is true (a status below 500 unless the error says otherwise):
 * on a server-side failure the page says what happened in general terms and gives the code,
 * never file paths or oxd URLs.
 */
export const renderOxdError: ErrorRenderer = (err, req, res) => {
  const explanation = EXPLANATIONS[err.code] ?? LOGIN_FAILED;
  const status = err.status >= 400 && err.status <= 599 ? err.status : 500;
  const detail = redactTokens(err.message);
  if (wantsHtml(req)) {
    const paragraphs = err.expose
      ? [explanation.advice, detail, `Error code: ${err.code}`]
      : [explanation.advice, `Error code: ${err.code}`];
    const home = `${mountPrefix((req as { originalUrl?: string }).originalUrl, req.url ?? '/')}/`;
    sendHtml(
      res,
      status,
      htmlPage(explanation.title, paragraphs, {
        style: inlineStyleAllowed(res) ? PAGE_STYLE : undefined,
        link: { href: home, text: 'Back to the home page' },
      }),
    );
    return;
  }
  const opError = err instanceof OxdAuthError ? err.opError : undefined;
  sendJson(res, status, {
    error: opError ?? explanation.error,
    error_description: err.expose ? detail : explanation.advice,
    code: err.code,
  });
};

export interface OxdErrorHandlerOptions {
  /** Writes the response; default {@link renderOxdError}. */
  render?: ErrorRenderer;
}

/**
 * Error middleware (`app.use(oxdErrorHandler())`, after the routes) that answers every
 * `OxdError` with its status: HTML for browsers, JSON otherwise. Other errors, and errors
 * after the response has started, go on to the next error handler.
 */
export function oxdErrorHandler(
  options: OxdErrorHandlerOptions = {},
): (
  err: unknown,
  req: IncomingMessage,
  res: ServerResponse,
  next: (err?: unknown) => void,
) => void {
  const render = options.render ?? renderOxdError;
  if (typeof render !== 'function') {
    throw new OxdConfigError('oxdErrorHandler option render must be a function', {
      key: 'render',
    });
  }
  return function oxdErrorHandler(err, req, res, next) {
    if (!(err instanceof OxdError) || res.headersSent) {
      next(err);
      return;
    }
    render(err, req, res);
  };
}
