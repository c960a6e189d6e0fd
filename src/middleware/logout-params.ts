/**
 * `logoutParams`: extra parameters on the OP's end-session URL (e.g. `ui_locales`), from the
 * option and from `req.oxd.logout({ logoutParams })`. Those the logout flow sets itself are
 * refused.
 */
import { OxdConfigError } from '../errors';
import { isPlainObject } from '../option-check';
import { isParamValue, PARAM_NAME } from './login-params';

/** End-session parameters the flow (or oxd) sets: never taken from `logoutParams`. */
const RESERVED_LOGOUT_PARAMS: ReadonlySet<string> = new Set([
  'state',
  'id_token_hint',
  'post_logout_redirect_uri',
  'client_id',
  'session_state',
]);

/**
 * A checked, frozen copy of `value` (parameter names to string values); `{}` when absent.
 * `where` starts the message (`oxdAuth option logoutParams`, `logout() logoutParams`).
 */
export function checkLogoutParams(value: unknown, where: string): Readonly<Record<string, string>> {
  if (value === undefined) return Object.freeze({});
  const refuse = (message: string): never => {
    throw new OxdConfigError(`${where}${message}`, { key: 'logoutParams' });
  };
  if (!isPlainObject(value)) refuse(': must be an object of parameter names and string values');
  const params: Record<string, string> = {};
  for (const [name, item] of Object.entries(value as Record<string, unknown>)) {
    if (RESERVED_LOGOUT_PARAMS.has(name)) {
      refuse(`.${name}: is set by the logout itself (${[...RESERVED_LOGOUT_PARAMS].join(', ')})`);
    }
    if (!PARAM_NAME.test(name)) refuse(`: ${JSON.stringify(name)} is not a plain parameter name`);
    if (!isParamValue(item)) {
      refuse(`.${name}: must be a non-empty string without control characters`);
    }
    params[name] = item as string;
  }
  return Object.freeze(params);
}

/** `uri` with `params` added (each replacing one of the same name the OP's URI carried). */
export function withLogoutParams(uri: string, params: Readonly<Record<string, string>>): string {
  const names = Object.keys(params);
  if (names.length === 0) return uri;
  const url = new URL(uri);
  for (const name of names) url.searchParams.set(name, params[name] as string);
  return url.href;
}
