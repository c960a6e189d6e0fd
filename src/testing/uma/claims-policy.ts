/**
 * Which claims a requesting party must present for a scope, and whether the claims known so far
 * satisfy that. Claims arrive from three places: the claims-gathering page, a persisted claims
 * token (PCT) and a pushed ID-token claim token.
 */

/** `claim_token_format` of a pushed OpenID Connect ID token (the only format accepted). */
export const ID_TOKEN_CLAIM_FORMAT = 'http://openid.net/specs/openid-connect-core-1_0.html#IDToken';

/** One claim the requesting party must present. */
export interface RequiredClaim {
  /** Claim name, as in the ID token and as the input name on the claims-gathering page. */
  name: string;
  /** Human-readable label (`email`); defaults to `name`. */
  friendly_name?: string;
  /** Claim type URI, e.g. `urn:oid:0.9.2342.19200300.100.1.3` for e-mail. */
  claim_type?: string;
  /** When set, the claim must have exactly this value (after trimming); otherwise any non-empty value. */
  value?: string;
  /**
   * The claims-gathering page accepts only the value the user signed in at the OP has for
   * this claim (e.g. their own e-mail address); it sends the browser to the OP to find out.
   */
  signed_in_user?: boolean;
}

/** Scope URI -> claims the requesting party must present before an RPT carries that scope. */
export interface ClaimsPolicy {
  [scope: string]: RequiredClaim[];
}

/** Claim values known about the requesting party, by claim name. */
export type ClaimValues = Record<string, string[]>;

/** A `required_claims` entry of an UMA `need_info` answer. */
export interface NeedInfoClaim {
  name: string;
  friendly_name?: string;
  claim_type?: string;
  claim_token_format: string[];
  issuer: string[];
}

/** A pushed claim token that cannot be used. */
export class ClaimTokenError extends Error {
  override readonly name = 'ClaimTokenError';
  constructor(
    /** UMA error code for the answer (`invalid_claim_token_format` or `invalid_grant`). */
    readonly error: string,
    message: string,
  ) {
    super(message);
  }
}

/** Names the claims-gathering page uses for its own inputs and elements. */
const RESERVED_NAMES = ['ticket', 'error', 'submit'];

function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.trim() !== '';
}

/** Checks a policy given as an option; throws a TypeError naming the bad entry. */
export function checkClaimsPolicy(policy: unknown): ClaimsPolicy {
  if (typeof policy !== 'object' || policy === null || Array.isArray(policy)) {
    throw new TypeError('claimsPolicy must be an object mapping scopes to lists of claims');
  }
  const checked: ClaimsPolicy = {};
  for (const [scope, claims] of Object.entries(policy)) {
    if (!Array.isArray(claims)) {
      throw new TypeError(`claimsPolicy["${scope}"] must be a list of claims`);
    }
    checked[scope] = claims.map((claim: unknown, i) => {
      const where = `claimsPolicy["${scope}"][${i}]`;
      if (typeof claim !== 'object' || claim === null) {
        throw new TypeError(`${where} must be an object with a "name"`);
      }
      const { name, friendly_name, claim_type, value, signed_in_user } = claim as Record<
        string,
        unknown
      >;
      if (!isNonEmptyString(name) || /\s/.test(name)) {
        throw new TypeError(`${where}.name must be a non-empty string without spaces`);
      }
      if (RESERVED_NAMES.includes(name)) {
        throw new TypeError(
          `${where}.name "${name}" is used by the claims-gathering page itself; rename the claim`,
        );
      }
      if (signed_in_user !== undefined && typeof signed_in_user !== 'boolean') {
        throw new TypeError(`${where}.signed_in_user must be true or false when given`);
      }
      for (const [key, field] of Object.entries({ friendly_name, claim_type, value })) {
        if (field !== undefined && typeof field !== 'string') {
          throw new TypeError(`${where}.${key} must be a string when given`);
        }
      }
      return {
        name,
        ...(friendly_name === undefined ? {} : { friendly_name: friendly_name as string }),
        ...(claim_type === undefined ? {} : { claim_type: claim_type as string }),
        ...(value === undefined ? {} : { value: value as string }),
        ...(signed_in_user === true ? { signed_in_user: true } : {}),
      };
    });
  }
  return checked;
}

/** The claims `scopes` require, without duplicates. */
export function requiredClaimsFor(
  policy: ClaimsPolicy,
  scopes: readonly string[],
): RequiredClaim[] {
  const seen = new Set<string>();
  const required: RequiredClaim[] = [];
  for (const scope of new Set(scopes)) {
    for (const claim of Object.hasOwn(policy, scope) ? (policy[scope] ?? []) : []) {
      const key = JSON.stringify([claim.name, claim.value ?? null]);
      if (!seen.has(key)) {
        seen.add(key);
        required.push(claim);
      }
    }
  }
  return required;
}

/** Whether `values` holds a value for the claim that the policy accepts. */
export function isClaimSatisfied(claim: RequiredClaim, values: ClaimValues): boolean {
  const present = (Object.hasOwn(values, claim.name) ? (values[claim.name] ?? []) : [])
    .map((v) => v.trim())
    .filter((v) => v !== '');
  return claim.value === undefined ? present.length > 0 : present.includes(claim.value.trim());
}

/** The required claims for `scopes` that `values` does not satisfy yet. */
export function unsatisfiedClaims(
  policy: ClaimsPolicy,
  scopes: readonly string[],
  values: ClaimValues,
): RequiredClaim[] {
  return requiredClaimsFor(policy, scopes).filter((claim) => !isClaimSatisfied(claim, values));
}

/** Union of several claim sources; values of the same claim are concatenated. */
export function mergeClaims(...sources: ClaimValues[]): ClaimValues {
  const merged: ClaimValues = {};
  for (const source of sources) {
    for (const [name, values] of Object.entries(source)) {
      merged[name] = [...new Set([...(merged[name] ?? []), ...values])];
    }
  }
  return merged;
}

/** The `required_claims` entry the client sees (never the expected value). */
export function toNeedInfoClaim(claim: RequiredClaim, issuer: string): NeedInfoClaim {
  return {
    name: claim.name,
    ...(claim.friendly_name === undefined ? {} : { friendly_name: claim.friendly_name }),
    ...(claim.claim_type === undefined ? {} : { claim_type: claim.claim_type }),
    claim_token_format: [ID_TOKEN_CLAIM_FORMAT],
    issuer: [issuer],
  };
}

function claimStrings(value: unknown): string[] {
  const list = Array.isArray(value) ? value : [value];
  return list
    .filter((v) => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean')
    .map(String);
}

/**
 * Reads the claims of a pushed ID token. The payload is decoded and its `exp` checked against
 * `nowMs`; the signature is NOT verified, so this is only fit for a local development server.
 */
export function claimsFromIdToken(token: string, nowMs: number): ClaimValues {
  const parts = token.split('.');
  let payload: unknown;
  try {
    payload =
      parts.length === 3
        ? JSON.parse(Buffer.from(parts[1] ?? '', 'base64url').toString('utf8'))
        : undefined;
  } catch (cause) {
    throw new ClaimTokenError(
      'invalid_claim_token_format',
      `claim_token is not a JWT with a JSON payload (${(cause as Error).message})`,
    );
  }
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    throw new ClaimTokenError(
      'invalid_claim_token_format',
      'claim_token must be an ID token: three base64url parts whose middle part is a JSON object',
    );
  }
  const claims = payload as Record<string, unknown>;
  if (typeof claims.exp === 'number' && claims.exp * 1000 <= nowMs) {
    throw new ClaimTokenError('invalid_grant', 'claim_token has expired; obtain a fresh ID token');
  }
  const values: ClaimValues = {};
  for (const [name, value] of Object.entries(claims)) {
    const strings = claimStrings(value);
    if (strings.length > 0) values[name] = strings;
  }
  return values;
}
