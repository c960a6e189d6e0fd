/**
 * Application state carried through a login: `getLoginState(req, loginOptions)` returns a
 * small JSON object when the login starts; it is kept with the login in progress and handed
 * to `afterCallback(req, res, session, state)` when the login completes.
 */
import type { IncomingMessage } from 'node:http';
import { OxdConfigError } from '../errors';
import type { LoginOptions } from './login-params';
import type { LoginState } from './options-types';
import type { OxdRuntime } from './runtime';

/** Largest login state, as JSON (it lives in the session until the login completes). */
const MAX_LOGIN_STATE_BYTES = 2048;
/** Deepest nesting of a login state. */
const MAX_DEPTH = 16;

function isPlainRecord(value: object): boolean {
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/** Where `value` is not plain JSON (a path such as `.items[2]`), or `undefined` when it is. */
function nonJsonAt(value: unknown, path: string, depth: number): string | undefined {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return undefined;
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : path || 'the value';
  if (typeof value !== 'object' || depth > MAX_DEPTH) return path || 'the value';
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i += 1) {
      const at = nonJsonAt(value[i], `${path}[${i}]`, depth + 1);
      if (at !== undefined) return at;
    }
    return undefined;
  }
  if (!isPlainRecord(value)) return path || 'the value';
  for (const [key, item] of Object.entries(value)) {
    const at = nonJsonAt(item, `${path}.${key}`, depth + 1);
    if (at !== undefined) return at;
  }
  return undefined;
}

function refuse(message: string): never {
  // A fixed text about the application's own hook (no path or URL): shown on the page, so
  // that the developer trying the login sees what to fix.
  throw new OxdConfigError(`getLoginState ${message}`, { key: 'getLoginState' }, { expose: true });
}

/**
 * The login state `getLoginState` returns for this login, checked: a plain JSON object (no
 * functions, dates, class instances, `undefined` or non-finite numbers) of at most
 * {@link MAX_LOGIN_STATE_BYTES} as JSON. `undefined` without the option. Throws an
 * `OxdConfigError` (key `getLoginState`) before anything is sent to oxd or stored.
 */
export async function loginStateFor(
  runtime: OxdRuntime,
  req: IncomingMessage,
  options: LoginOptions,
): Promise<LoginState | undefined> {
  if (runtime.getLoginState === undefined) return undefined;
  const state: unknown = await runtime.getLoginState(req, { ...options });
  if (typeof state !== 'object' || state === null || Array.isArray(state)) {
    refuse('must return an object (a JSON object of what to keep through the login)');
  }
  const at = nonJsonAt(state, '', 0);
  if (at !== undefined) {
    refuse(
      `must return plain JSON (strings, finite numbers, booleans, null, lists, plain ` +
        `objects); ${at.startsWith('.') || at.startsWith('[') ? `state${at}` : at} is not`,
    );
  }
  const bytes = Buffer.byteLength(JSON.stringify(state));
  if (bytes > MAX_LOGIN_STATE_BYTES) {
    refuse(
      `returned ${bytes} bytes of JSON; at most ${MAX_LOGIN_STATE_BYTES} are kept ` +
        '(keep an id and look the rest up)',
    );
  }
  return state as LoginState;
}
