/**
 * Token commands, each a real call to the OP: get_client_token, get_tokens_by_code,
 * get_access_token_by_refresh_token, get_user_info, introspect_access_token, and the
 * checks id_token_status / access_token_status.
 */
import type { Call, Handler, ReplyData, Services } from './call';
import { clientAuthOf, siteOf } from './call';
import {
  CommandFailure,
  UNKNOWN_INTERNAL_ERROR,
  badRequest,
  internalError,
  upstreamFailure,
} from './failure';
import { decodeIdToken, verifyIdToken } from './id-token';
import type { IdTokenClaims } from './id-token';
import type { OpResponse } from './op-client';

/** 3.x sends claims as lists of strings. */
export function claimsAsStringLists(claims: Record<string, unknown>): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [name, value] of Object.entries(claims)) {
    if (value === null || value === undefined) continue;
    const values = Array.isArray(value) ? value : [value];
    out[name] = values.map((item) =>
      typeof item === 'object' && item !== null ? JSON.stringify(item) : String(item),
    );
  }
  return out;
}

function scopeList(value: unknown): string[] {
  if (Array.isArray(value)) return value.map(String);
  return typeof value === 'string' && value !== '' ? value.split(' ') : [];
}

/**
 * The OP's token response, when it holds an access token. Anything else (the OP refused the
 * grant, or answered without a token) is oxd's generic internal error in every release:
 * `GetClientTokenOperation` and `GetAccessTokenByRefreshTokenOperation` log the OP's answer
 * and return `CommandResponse.INTERNAL_ERROR_RESPONSE` (3.x) / throw
 * `HttpException.internalError()` (4.x).
 */
function tokenBody(response: OpResponse): Record<string, unknown> {
  const body = response.json as Record<string, unknown> | null | undefined;
  if (
    response.status !== 200 ||
    typeof body !== 'object' ||
    body === null ||
    typeof body.access_token !== 'string' ||
    body.access_token === ''
  ) {
    throw internalError();
  }
  return body;
}

function required(call: Call, name: string): string {
  const value = call.params.string(name);
  if (value === undefined) throw badRequest(`'${name}' is empty or not specified.`);
  return value;
}

export const getClientToken: Handler = async (call, services) => {
  const { params, v3 } = call;
  const clientId = params.string('client_id');
  if (!clientId) {
    throw new CommandFailure('invalid_client_id', "'client_id' is empty or not specified.");
  }
  const clientSecret = params.string('client_secret');
  if (!clientSecret) {
    throw new CommandFailure('invalid_client_secret', "'client_secret' is empty or not specified.");
  }
  const method = params.string('authentication_method');
  if (method && method !== 'client_secret_basic' && method !== 'client_secret_post') {
    throw new CommandFailure(
      'invalid_request',
      `authentication_method ${method} is not supported by the local oxd server; use client_secret_basic or client_secret_post.`,
      { httpStatus: 400 },
    );
  }
  const opHost = services.op.resolveOpHost(params.raw);
  const doc = await services.op.discovery(opHost);
  // oxd asks for `openid` plus the given scopes (GetClientTokenOperation.scopeAsString).
  const scope = [...new Set(['openid', ...(params.list('scope') ?? [])])];
  const body = tokenBody(
    await services.op.postForm(
      doc.token_endpoint,
      new URLSearchParams({ grant_type: 'client_credentials', scope: scope.join(' ') }),
      { client_id: clientId, client_secret: clientSecret, method },
    ),
  );
  const granted = body.scope === undefined ? scope : scopeList(body.scope);
  return {
    access_token: body.access_token,
    expires_in: typeof body.expires_in === 'number' ? body.expires_in : -1,
    refresh_token: body.refresh_token,
    scope: v3 ? granted.join(' ') : granted,
  };
};

export const introspectAccessToken: Handler = async (call, services) => {
  const site = siteOf(call);
  const token = required(call, 'access_token');
  const result = await services.op.introspect(token, clientAuthOf(site), site.op_host);
  const scopes = scopeList(result.scope);
  // oxAuth's IntrospectionResponse as each release serialises it: 3.1 writes the scope list
  // twice (`scope` and `scopes`), 4.1.3 and 4.2.3 only as `scope`.
  return {
    active: result.active === true,
    client_id: result.client_id,
    username: result.username,
    scope: scopes,
    ...(call.v3 ? { scopes } : {}),
    token_type: result.token_type,
    exp: result.exp,
    iat: result.iat,
    nbf: result.nbf,
    sub: result.sub,
    aud: result.aud,
    iss: result.iss,
    jti: result.jti,
    acr_values: result.acr,
  };
};

/**
 * The OP refused the code (or failed): 3.x answers the generic internal error and closes
 * the socket; 4.x answers 400 `bad_request` for a rejected code, 500 otherwise.
 */
function codeExchangeFailure(call: Call, response: OpResponse): CommandFailure {
  if (call.v3) {
    return internalError();
  }
  if (response.status >= 400 && response.status < 500) {
    return new CommandFailure('bad_request', 'invalid code', { httpStatus: 400 });
  }
  return new CommandFailure('internal_error', UNKNOWN_INTERNAL_ERROR);
}

export const getTokensByCode: Handler = async (call, services) => {
  const site = siteOf(call);
  const code = required(call, 'code');
  const state = required(call, 'state');
  const login = services.logins.take(state, site.oxd_id);
  if (!login) throw badRequest("'state' is not registered.");

  const doc = await services.op.discovery(site.op_host);
  const response = await services.op.postForm(
    doc.token_endpoint,
    new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: login.redirectUri,
    }),
    clientAuthOf(site),
  );
  if (response.status !== 200 || typeof response.json !== 'object' || response.json === null) {
    throw codeExchangeFailure(call, response);
  }
  const body = response.json as Record<string, unknown>;
  if (typeof body.access_token !== 'string') {
    throw new CommandFailure('no_access_token', 'The OP returned no access_token.');
  }
  if (typeof body.id_token !== 'string') {
    throw new CommandFailure(
      'no_id_token',
      "The OP returned no id_token; check that 'openid' is in the scope of the authorization request.",
    );
  }
  const claims = await verifyIdToken(services.op, body.id_token, {
    opHost: site.op_host,
    clientId: site.client_id,
    nonce: login.nonce,
    accessToken: body.access_token,
    code,
  });
  // oxd 3.1.3 keeps the site's last ID token for get_logout_uri without a hint.
  site.id_token = body.id_token;
  await services.store.put(site);
  return {
    access_token: body.access_token,
    expires_in: typeof body.expires_in === 'number' ? body.expires_in : -1,
    id_token: body.id_token,
    refresh_token: body.refresh_token,
    id_token_claims: call.v3 ? claimsAsStringLists(claims) : claims,
  };
};

export const getAccessTokenByRefreshToken: Handler = async (call, services) => {
  const site = siteOf(call);
  const refreshToken = required(call, 'refresh_token');
  const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken });
  const scope = call.params.list('scope');
  if (scope) form.set('scope', scope.join(' '));
  const doc = await services.op.discovery(site.op_host);
  const body = tokenBody(await services.op.postForm(doc.token_endpoint, form, clientAuthOf(site)));
  return {
    access_token: body.access_token,
    expires_in: typeof body.expires_in === 'number' ? body.expires_in : -1,
    refresh_token: body.refresh_token,
    ...(call.v3 ? {} : { scope: scopeList(body.scope) }),
  };
};

/**
 * get_user_info. 3.x: `{claims: {name: [values]}}`, OP errors as `http_status_<N>`.
 * 4.x: the OP's body as it is, with HTTP 200 even when the OP refused the token.
 */
export const getUserInfo: Handler = async (call, services): Promise<ReplyData> => {
  const site = siteOf(call);
  const accessToken = required(call, 'access_token');
  const doc = await services.op.discovery(site.op_host);
  if (!doc.userinfo_endpoint) {
    throw new CommandFailure('internal_error', 'The OP publishes no userinfo_endpoint.');
  }
  const response = await services.op.getWithBearer(doc.userinfo_endpoint, accessToken);
  const body = response.json;
  const isObject = typeof body === 'object' && body !== null && !Array.isArray(body);
  if (call.v3) {
    if (response.status !== 200 || !isObject) throw upstreamFailure(response.status, response.text);
    return {
      claims: claimsAsStringLists(body as Record<string, unknown>),
      refresh_token: undefined,
      access_token: undefined,
    };
  }
  if (!isObject) throw upstreamFailure(response.status, response.text);
  const info = body as Record<string, unknown>;
  const idToken = call.params.string('id_token');
  if (response.status === 200 && idToken !== undefined) {
    const claims = await decodeIdToken(idToken);
    if (claims.sub !== info.sub) {
      throw new CommandFailure(
        'invalid_subject_identifier',
        'The userinfo sub does not match the sub of the id_token.',
      );
    }
  }
  return info;
};

function seconds(value: unknown): number | undefined {
  return typeof value === 'number' ? value : undefined;
}

/** The failures of {@link verifyIdToken} that are the token's own fault. */
const TOKEN_FAULT = /^invalid_(id_token|access_token_bad_hash|authorization_code_bad_hash)/;

/** Verifies without throwing on the token's own faults; `active` says whether it passed. */
async function checkIdToken(
  call: Call,
  services: Services,
  idToken: string,
  accessToken?: string,
): Promise<{ active: boolean; claims: IdTokenClaims }> {
  const site = siteOf(call);
  const claims = await decodeIdToken(idToken);
  try {
    await verifyIdToken(services.op, idToken, {
      opHost: site.op_host,
      clientId: site.client_id,
      nonce: call.params.string('nonce'),
      accessToken: accessToken ?? call.params.string('access_token'),
      code: call.params.string('code'),
    });
    return { active: true, claims };
  } catch (err) {
    if (err instanceof CommandFailure && TOKEN_FAULT.test(err.error)) {
      return { active: false, claims };
    }
    throw err;
  }
}

function requiredIdToken(call: Call): string {
  const idToken = call.params.string('id_token');
  if (idToken === undefined) {
    throw new CommandFailure('no_id_token', "'id_token' is not provided in the request.", {
      httpStatus: 400,
    });
  }
  return idToken;
}

/** id_token_status (4.x /check-id-token): dates in seconds, claims as lists of strings. */
export const idTokenStatus: Handler = async (call, services) => {
  const { active, claims } = await checkIdToken(call, services, requiredIdToken(call));
  return {
    active,
    expires_at: seconds(claims.exp),
    issued_at: seconds(claims.iat),
    claims: claimsAsStringLists(claims),
  };
};

/**
 * access_token_status (4.x /check-access-token): active when the id_token is valid for the
 * access token (at_hash) and the OP's introspection says the access token is active.
 * Dates in epoch milliseconds, as oxd serialises its `Date` fields.
 */
export const accessTokenStatus: Handler = async (call, services) => {
  const site = siteOf(call);
  const idToken = requiredIdToken(call);
  const accessToken = required(call, 'access_token');
  const checked = await checkIdToken(call, services, idToken, accessToken);
  const introspection = await services.op.introspect(accessToken, clientAuthOf(site), site.op_host);
  const active = checked.active && introspection.active === true;
  const exp = seconds(introspection.exp) ?? seconds(checked.claims.exp);
  const iat = seconds(introspection.iat) ?? seconds(checked.claims.iat);
  return {
    active,
    expires_at: exp === undefined ? undefined : exp * 1000,
    issued_at: iat === undefined ? undefined : iat * 1000,
  };
};
