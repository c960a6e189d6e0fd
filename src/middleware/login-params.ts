/**
 * What a login may ask the OP for beyond the configuration: the per-login options and the
 * extra authorization request parameters (`login_hint`, `max_age`, `ui_locales`, `params`),
 * checked before anything is sent.
 */
import { debuglog } from 'node:util';
import { OxdConfigError } from '../errors';

const debug = debuglog('express-oxd');

/** Per-login choices; each overrides the `loginParams` option. */
export interface LoginOptions {
  /** Same-origin path to return to after the login. Anything else falls back to `/`. */
  returnTo?: string;
  /** OIDC `prompt`, e.g. `login` to force re-authentication. */
  prompt?: string;
  /** ACR values (a list, or space-separated). */
  acrValues?: string | readonly string[];
  /** Scopes requested in addition to the configured ones (a list, or space-separated). */
  scope?: string | readonly string[];
  /** OIDC `login_hint`: the account the OP should offer (an e-mail address, a user name). */
  loginHint?: string;
  /** OIDC `max_age` in seconds: the OP asks for the password when the login is older. */
  maxAge?: number;
  /** OIDC `ui_locales`: preferred languages of the OP's pages (a list, or space-separated). */
  uiLocales?: string | readonly string[];
  /**
   * Other authorization request parameters, by name (e.g. `{ audience: 'shop' }`). Names oxd
   * or the protocol set themselves (`state`, `redirect_uri`, `scope`, …) are refused.
   */
  params?: Readonly<Record<string, string>>;
}

/**
 * Authorization request parameters that oxd or the login flow sets itself, or that have
 * their own option: never taken from `params` or the query string.
 */
export const RESERVED_PARAMS: ReadonlySet<string> = new Set([
  'response_type',
  'client_id',
  'redirect_uri',
  'state',
  'nonce',
  'scope',
  'prompt',
  'acr_values',
  'request',
  'request_uri',
  'response_mode',
  'code_challenge',
  'code_challenge_method',
  'custom_response_headers',
]);

/** A parameter name as the OP sees it: short, plain characters. */
export const PARAM_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;

/** True when `name` may be sent as an extra authorization request parameter. */
export function isExtraParamName(name: string): boolean {
  return PARAM_NAME.test(name) && !RESERVED_PARAMS.has(name);
}

/** Longest value of an extra parameter. */
const MAX_PARAM_VALUE = 1024;

/** A parameter value that may be sent: non-empty, not too long, no control characters. */
export function isParamValue(value: unknown): value is string {
  if (typeof value !== 'string' || value === '' || value.length > MAX_PARAM_VALUE) return false;
  for (let i = 0; i < value.length; i += 1) {
    const code = value.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return false;
  }
  return true;
}

/**
 * The extra parameters of a login (`login_hint`, `max_age`, `ui_locales`, `params`): the
 * login's own over the defaults. A bad name or value given by the application throws.
 */
export function extraParams(
  defaults: LoginOptions,
  options: LoginOptions,
  where = 'login',
): Record<string, string> {
  const extra: Record<string, string> = {};
  for (const source of [defaults, options]) {
    for (const [name, value] of Object.entries(source.params ?? {})) {
      if (!isExtraParamName(name)) {
        throw new OxdConfigError(
          `${where} params: ${JSON.stringify(name)} cannot be sent as an extra parameter ` +
            `(reserved, or not a plain name); use the option made for it`,
          { key: 'params' },
        );
      }
      if (!isParamValue(value)) {
        throw new OxdConfigError(
          `${where} params.${name}: must be a non-empty string of at most ${MAX_PARAM_VALUE} characters without control characters`,
          { key: 'params' },
        );
      }
      extra[name] = value;
    }
    if (source.loginHint !== undefined) {
      if (!isParamValue(source.loginHint)) {
        throw new OxdConfigError(`${where} loginHint: must be a non-empty string`, {
          key: 'loginHint',
        });
      }
      extra.login_hint = source.loginHint;
    }
    if (source.maxAge !== undefined) {
      if (!Number.isSafeInteger(source.maxAge) || source.maxAge < 0) {
        throw new OxdConfigError(`${where} maxAge: must be a whole number of seconds, 0 or more`, {
          key: 'maxAge',
        });
      }
      extra.max_age = String(source.maxAge);
    }
    const locales = tokens(source.uiLocales);
    if (locales) extra.ui_locales = locales.join(' ');
  }
  return extra;
}

/** RFC 6749 scope-token characters; also fine for prompt and ACR values. */
const PARAM_TOKEN = /^[\u0021\u0023-\u005b\u005d-\u007e]{1,256}$/;

/** A list of RFC 6749 tokens (a list, or space-separated); undefined when empty or not tokens. */
export function tokens(value: string | readonly string[] | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const list = typeof value === 'string' ? value.split(' ') : [...value];
  const valid = list.filter((item) => item !== '');
  const bad = valid.find((item) => !PARAM_TOKEN.test(item));
  if (bad !== undefined) {
    debug('login: ignoring a request parameter value with characters outside the token syntax');
    return undefined;
  }
  return valid.length > 0 ? valid : undefined;
}
