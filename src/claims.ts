/**
 * Claims as the application sees them. oxd 3.x sends every claim value as a list of strings
 * (`{"name": ["Jane"]}`), oxd 4.x sends the OP's JSON as is; both become plain values here.
 */

/** Claims after normalisation: `{ sub: '24400320', name: 'Jane Doe', groups: ['a', 'b'] }`. */
export type Claims = Record<string, unknown>;

/** Standard OIDC claims whose JSON type is boolean. */
const BOOLEAN_CLAIMS: ReadonlySet<string> = new Set(['email_verified', 'phone_number_verified']);

/** Standard OIDC / JWT claims whose JSON type is a number (seconds since the epoch). */
const NUMERIC_CLAIMS: ReadonlySet<string> = new Set([
  'updated_at',
  'exp',
  'iat',
  'nbf',
  'auth_time',
]);

const DECIMAL = /^-?\d+(?:\.\d+)?$/;

/**
 * Names that reach an object's prototype machinery rather than its own properties. A claim by
 * such a name (`{"__proto__": {"role": "admin"}}` in the OP's JSON) would, assigned to a plain
 * object, replace the prototype of `req.oxd.user` so that every missing claim reads as the
 * attacker's value. They are never claims: dropped.
 */
const PROTOTYPE_NAMES: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** True for a name that may become a claim (see `PROTOTYPE_NAMES`). */
export function isClaimName(name: string): boolean {
  return !PROTOTYPE_NAMES.has(name);
}

/**
 * Sets `claims[name]` as an own, enumerable data property: never through the `__proto__`
 * setter, whatever the name.
 */
export function setClaim(claims: Claims, name: string, value: unknown): void {
  Object.defineProperty(claims, name, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}

/**
 * oxd 3.x turns every value into a string; standard claims get their JSON type back, so
 * `email_verified` is `true` and `updated_at` a number whichever oxd sent them.
 */
function typed(name: string, value: unknown): unknown {
  if (typeof value !== 'string') return value;
  if (BOOLEAN_CLAIMS.has(name)) {
    if (value === 'true') return true;
    if (value === 'false') return false;
  } else if (NUMERIC_CLAIMS.has(name) && DECIMAL.test(value)) {
    return Number(value);
  }
  return value;
}

/**
 * Unwraps one-element lists into their only value, drops `null` values (oxd 3.x writes
 * unset fields as `null`), and gives the standard boolean and numeric claims their JSON
 * type back when they arrive as strings. Lists of other lengths and all other values are
 * kept as they are. Names such as `__proto__` are dropped (see `PROTOTYPE_NAMES`). Returns a
 * new object; the input is not modified.
 */
export function normaliseClaims(raw: unknown): Claims {
  const claims: Claims = {};
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return claims;
  for (const [name, value] of Object.entries(raw)) {
    const single = Array.isArray(value) && value.length === 1 ? value[0] : value;
    if (single === null || single === undefined || !isClaimName(name)) continue;
    setClaim(claims, name, typed(name, single));
  }
  return claims;
}

/** The claim as a string when it is one (or a one-element list of one), else `undefined`. */
export function claimString(claims: Claims | undefined, name: string): string | undefined {
  const value = claims?.[name];
  return typeof value === 'string' ? value : undefined;
}

/** True when the claim exists and is strictly equal to `expected`. */
export function hasClaimValue(claims: Claims, name: string, expected: unknown): boolean {
  return Object.hasOwn(claims, name) && claims[name] === expected;
}

/**
 * True when the claim holds every one of `expected`. A list claim is matched by its
 * elements; a single value counts as a list of one (so a normalised one-element list and
 * the original list behave the same).
 */
export function claimHoldsAll(claims: Claims, name: string, expected: readonly unknown[]): boolean {
  if (!Object.hasOwn(claims, name)) return false;
  const value = claims[name];
  const actual = Array.isArray(value) ? value : [value];
  return expected.every((item) => actual.includes(item));
}
