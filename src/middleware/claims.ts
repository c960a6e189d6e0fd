/**
 * Claims as the application sees them. oxd 3.x sends every claim value as a list of strings
 * (`{"name": ["Jane"]}`), oxd 4.x sends the OP's JSON as is; both become plain values here.
 */

/** Claims after normalisation: `{ sub: '24400320', name: 'Jane Doe', groups: ['a', 'b'] }`. */
export type Claims = Record<string, unknown>;

/**
 * Unwraps one-element lists into their only value and drops `null` values (oxd 3.x writes
 * unset fields as `null`). Lists of other lengths and all other values are kept as they are.
 * Returns a new object; the input is not modified.
 */
export function normaliseClaims(raw: unknown): Claims {
  const claims: Claims = {};
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return claims;
  for (const [name, value] of Object.entries(raw)) {
    if (value === null || value === undefined) continue;
    if (Array.isArray(value) && value.length === 1) {
      if (value[0] !== null && value[0] !== undefined) claims[name] = value[0];
      continue;
    }
    claims[name] = value;
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
