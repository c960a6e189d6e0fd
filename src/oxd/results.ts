/**
 * oxd's answers, read before they are typed: `null` fields count as absent (oxd 3.x writes
 * unset fields as `null`), the few shapes that differ between oxd versions are made one, and
 * every field a result type declares is checked. A malformed answer is an `OxdProtocolError`
 * naming the command and the field, so no `undefined` reaches the caller behind a type.
 */
import type { ServerVersion } from '../config/types';
import { OxdCommandError, OxdProtocolError } from '../errors';
import { COMMANDS, type CommandName, type ResultOf } from './commands';
import { isPlainObject as isRecord } from '../option-check';

type Data = Record<string, unknown>;

/** One expectation on a field: a test and how to say what was expected. */
interface Check {
  readonly test: (value: unknown) => boolean;
  /** Completes "… is not ___". */
  readonly expected: string;
  readonly optional?: true;
}

const text: Check = {
  test: (v) => typeof v === 'string' && v !== '',
  expected: 'a non-empty string',
};
const anyText: Check = { test: (v) => typeof v === 'string', expected: 'a string' };
const number: Check = {
  test: (v) => typeof v === 'number' && Number.isFinite(v),
  expected: 'a number',
};
const boolean: Check = { test: (v) => typeof v === 'boolean', expected: 'true or false' };
const object: Check = { test: isRecord, expected: 'an object' };
const present: Check = { test: (v) => v !== undefined, expected: 'present' };

function listOf(item: Check, name: string): Check {
  return { test: (v) => Array.isArray(v) && v.every(item.test), expected: `a list of ${name}` };
}

function either(a: Check, b: Check): Check {
  return { test: (v) => a.test(v) || b.test(v), expected: `${a.expected} or ${b.expected}` };
}

function literal(...values: readonly string[]): Check {
  return {
    test: (v) => values.includes(v as string),
    expected: values.map((v) => JSON.stringify(v)).join(' or '),
  };
}

function shaped(fields: Shape, name: string): Check {
  return { test: (v) => isRecord(v) && firstFault(fields, v) === undefined, expected: name };
}

function optional(check: Check): Check {
  return { ...check, optional: true };
}

const strings = listOf(anyText, 'strings');
const textOrStrings = either(anyText, strings);
/** Times oxd sends as numbers, some versions (and oxd-python's examples) as strings. */
const time = either(number, anyText);

type Shape = Readonly<Record<string, Check>>;

/** Fields every 3.x/4.x client-registration answer may carry. */
const REGISTRATION: Shape = {
  oxd_id: text,
  op_host: optional(anyText),
  client_id: optional(anyText),
  client_secret: optional(anyText),
  client_registration_access_token: optional(anyText),
  client_registration_client_uri: optional(anyText),
  client_id_issued_at: optional(number),
  client_secret_expires_at: optional(number),
};

const OXD_ID: Shape = { oxd_id: text };

const TOKEN_STATUS: Shape = {
  active: boolean,
  expires_at: optional(time),
  issued_at: optional(time),
};

const UMA_PERMISSION = shaped(
  { resource_id: anyText, resource_scopes: strings, exp: optional(number) },
  'UMA permissions',
);

/** What each result must hold, after normalisation. Fields not listed are passed on as sent. */
const SHAPES: { readonly [N in CommandName]: Shape } = {
  setupClient: {
    ...REGISTRATION,
    client_id: text,
    client_secret: text,
    client_id_of_oxd_id: optional(anyText),
    setup_client_oxd_id: optional(anyText),
  },
  getClientToken: {
    access_token: text,
    expires_in: optional(number),
    refresh_token: optional(anyText),
    scope: optional(textOrStrings),
  },
  introspectAccessToken: {
    active: boolean,
    client_id: optional(anyText),
    username: optional(anyText),
    scope: optional(textOrStrings),
    scopes: optional(strings),
    token_type: optional(anyText),
    exp: optional(time),
    iat: optional(time),
    nbf: optional(time),
    sub: optional(anyText),
    aud: optional(textOrStrings),
    iss: optional(anyText),
    jti: optional(anyText),
    acr_values: optional(textOrStrings),
  },
  registerSite: {
    ...REGISTRATION,
    client_name: optional(anyText),
    initiate_login_uri: optional(anyText),
  },
  updateSite: OXD_ID,
  removeSite: OXD_ID,
  getAuthorizationUrl: { authorization_url: text },
  getTokensByCode: {
    access_token: text,
    expires_in: optional(number),
    id_token: text,
    refresh_token: optional(anyText),
    id_token_claims: object,
  },
  getAccessTokenByRefreshToken: {
    access_token: text,
    expires_in: optional(number),
    refresh_token: optional(anyText),
    scope: optional(textOrStrings),
  },
  getUserInfo: { claims: object },
  getLogoutUri: { uri: text },
  umaRsProtect: OXD_ID,
  umaRsModify: OXD_ID,
  umaRsCheckAccess: {
    access: literal('granted', 'denied'),
    'www-authenticate_header': optional(anyText),
    ticket: optional(anyText),
  },
  introspectRpt: {
    active: boolean,
    exp: optional(number),
    iat: optional(number),
    nbf: optional(number),
    client_id: optional(anyText),
    sub: optional(anyText),
    aud: optional(textOrStrings),
    iss: optional(anyText),
    jti: optional(anyText),
    permissions: optional(listOf(UMA_PERMISSION, 'UMA permissions')),
  },
  umaRpGetRpt: {
    access_token: text,
    token_type: text,
    pct: optional(anyText),
    updated: optional(boolean),
    upgraded: optional(boolean),
  },
  umaRpGetClaimsGatheringUrl: { url: text, state: anyText },
  getRp: { node: present },
  getJwks: { keys: listOf(object, 'objects') },
  getDiscovery: {
    issuer: optional(anyText),
    authorization_endpoint: optional(anyText),
    token_endpoint: optional(anyText),
  },
  issuerDiscovery: { subject: anyText, links: listOf(object, 'objects') },
  checkIdToken: { ...TOKEN_STATUS, claims: optional(object) },
  checkAccessToken: TOKEN_STATUS,
  getAuthorizationCode: { code: text },
  getRequestUri: { request_uri: text },
};

/**
 * Userinfo claims, unless they are an OP error body (`{error, error_description}`), which is
 * thrown as the command's error. Claims with a `sub` are claims even when one is named
 * `error`, except on 4.x, where oxd passes the OP's error body through as they are.
 */
function userInfoClaims(claims: Data, errorWins: boolean): Data {
  const { error, error_description: description } = claims;
  if (typeof error !== 'string' || (!errorWins && claims.sub !== undefined)) return claims;
  throw new OxdCommandError(COMMANDS.getUserInfo.command, {
    error,
    error_description: typeof description === 'string' && description ? description : undefined,
  });
}

/** Fixes per command, applied after nulls are dropped and before the check. */
const NORMALISE: { [N in CommandName]?: (data: Data, version: ServerVersion) => Data } = {
  getUserInfo(data, version) {
    // 4.x passes the OP's userinfo body through with HTTP 200 even when it is an error.
    if (version === 4) return { claims: userInfoClaims(data, true) };
    return { claims: isRecord(data.claims) ? userInfoClaims(data.claims, false) : data.claims };
  },
  umaRpGetRpt(data) {
    const updated = data.updated ?? data.upgraded;
    return updated === undefined ? data : { ...data, updated, upgraded: updated };
  },
  registerSite(data) {
    // oxd 4.x (master) spells this key with a trailing space.
    const spaced = data['initiate_login_uri '];
    if (spaced === undefined) return data;
    const { ['initiate_login_uri ']: _spaced, ...rest } = data;
    return { initiate_login_uri: spaced, ...rest };
  },
};

function kindOf(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'null';
  const type = typeof value;
  return type === 'object' ? 'an object' : `a ${type}`;
}

/** The first field of `data` that `shape` refuses, and why; `undefined` when all is well. */
function firstFault(shape: Shape, data: Data): string | undefined {
  for (const [field, check] of Object.entries(shape)) {
    const value = data[field];
    if (value === undefined || value === null) {
      if (check.optional) continue;
      return `without ${field}`;
    }
    if (!check.test(value)) {
      return `with ${field} that is not ${check.expected} (got ${kindOf(value)})`;
    }
  }
  return undefined;
}

/**
 * Reads oxd's answer to command `name`: drops `null` fields, applies the version fixes and
 * checks the fields of its result type. Throws `OxdProtocolError` for a malformed answer
 * (and `OxdCommandError` for a 4.x userinfo error passed through as a success).
 */
export function readResult<N extends CommandName>(
  name: N,
  data: Data,
  version: ServerVersion,
): ResultOf<N> {
  const present = Object.fromEntries(Object.entries(data).filter(([, v]) => v !== null));
  const result = NORMALISE[name]?.(present, version) ?? present;
  const fault = firstFault(SHAPES[name], result);
  if (fault !== undefined) {
    throw new OxdProtocolError(`oxd ${COMMANDS[name].command} answered ${fault}`);
  }
  return result as ResultOf<N>;
}
