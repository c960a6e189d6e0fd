/**
 * Checking what an application hands the package: the options of `oxdAuth()`, `requireAuth()`,
 * `umaProtect()`, `umaClaims()` and the oxd transports. Every check throws through a `Fail`
 * made by {@link failFor}, so an option error always reads `<owner> option <key>: <problem>`
 * and carries the key. Imports nothing of the package: the caller names the error class.
 */

/** Throws the caller's configuration error about option `key`. */
export type Fail = (key: string, message: string) => never;

/** The error an option check throws (`OxdConfigError`): a message and the option's key. */
type OptionErrorClass = new (message: string, details: { key: string }) => Error;

/**
 * The `Fail` of one factory: `failFor('oxdAuth', OxdConfigError)` throws
 * `oxdAuth option routes.login: <message>`. `separator` goes between key and message.
 */
export function failFor(owner: string, ErrorClass: OptionErrorClass, separator = ': '): Fail {
  const prefix = `${owner} option `;
  return (key, message) => {
    throw new ErrorClass(`${prefix}${key}${separator}${message}`, { key });
  };
}

/** An object that is not `null` and not an array (an options object, a JSON object). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Fails for the first key of `value` that `allowed` does not hold, listing the known ones. */
export function checkKeys(
  value: object,
  allowed: ReadonlySet<string>,
  fail: Fail,
  prefix = '',
): void {
  for (const key of Object.keys(value)) {
    if (!allowed.has(key)) {
      fail(`${prefix}${key}`, `unknown option; known ones are ${[...allowed].join(', ')}`);
    }
  }
}

/** `value` when it is a function, `undefined` when absent. */
export function optionalFunction<T>(value: unknown, key: string, fail: Fail): T | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'function') fail(key, 'must be a function');
  return value as T;
}

/** `value` when it is a boolean, `undefined` when absent. */
export function optionalBoolean(value: unknown, key: string, fail: Fail): boolean | undefined {
  if (value !== undefined && typeof value !== 'boolean') fail(key, 'must be true or false');
  return value as boolean | undefined;
}

/** A frozen copy of a list of non-empty strings, `undefined` when absent. */
export function stringList(value: unknown, key: string, fail: Fail): readonly string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string' && item !== '')) {
    fail(key, 'must be a list of non-empty strings');
  }
  return Object.freeze([...(value as string[])]);
}

/** Whole number `0` or more (a cache size, a queue length), `fallback` when absent. */
export function wholeNumber(value: unknown, key: string, fallback: number, fail: Fail): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    fail(key, 'must be a whole number, 0 or more');
  }
  return value;
}

/** True when `value` is an object with every one of `methods` (an oxd client given as option). */
export function hasMethods(value: unknown, methods: readonly string[]): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    methods.every((name) => typeof (value as Record<string, unknown>)[name] === 'function')
  );
}

/**
 * A route option: a path starting with `/` that `isSafePath` accepts, without query or
 * fragment, returned as given (`routePathOf()` puts it in the form request paths compare
 * in), or `undefined` when absent. `message` says what is expected when it is something else.
 */
export function routePath(
  value: unknown,
  key: string,
  isSafePath: (value: unknown) => value is string,
  fail: Fail,
  message: string,
): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !isSafePath(value) || /[?#]/.test(value)) fail(key, message);
  return value;
}

/** Longest delay a Node.js timer supports: the largest timeout an option may give. */
export const MAX_TIMER_MS = 2_147_483_647;

/** A number of seconds greater than 0 (a duration), `fallback` when absent. */
export function positiveSeconds(value: unknown, key: string, fallback: number, fail: Fail): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    fail(key, 'must be a number of seconds greater than 0');
  }
  return value;
}
