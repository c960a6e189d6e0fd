/**
 * UMA commands, answered by the in-process UMA authorization server: uma_rs_protect,
 * uma_rs_modify (4.x), uma_rs_check_access, introspect_rpt, uma_rp_get_rpt and
 * uma_rp_get_claims_gathering_url. Protected resources are saved with the registrations.
 */
import type { UmaResource } from '../../oxd/commands';
import { UmaError } from '../uma';
import type { Call, Handler, Services } from './call';
import { siteOf } from './call';
import { CommandFailure } from './failure';

const NEED_INFO_DESCRIPTION =
  'The authorization server needs additional information in order to determine whether the client is authorized to have these permissions.';

/** AS errors oxd 4.x answers with the AS's body itself (need_info: 403, these two: 400). */
const BODY_AS_IS = new Set(['need_info', 'invalid_ticket', 'invalid_claim_token_format']);

/**
 * 4.x `RpGetRptOperation.handleRptError` re-serialises the AS's error body through oxAuth's
 * `UmaNeedInfoResponse`: only `error`, `ticket`, `required_claims` and `redirect_user` are
 * kept (an `error_description` of the AS is lost).
 */
function asNeedInfoResponse(details: unknown): Record<string, unknown> {
  const body = (typeof details === 'object' && details !== null ? details : {}) as Record<
    string,
    unknown
  >;
  const out: Record<string, unknown> = {};
  for (const key of ['error', 'ticket', 'required_claims', 'redirect_user']) {
    if (body[key] !== undefined && body[key] !== null) out[key] = body[key];
  }
  return out;
}

/** The oxd answer to an UMA failure, per dialect. */
function umaFailure(call: Call, err: UmaError): CommandFailure {
  const fromAs = err.details !== undefined;
  if (call.v3) {
    // oxd 3.1 reads any AS error body as a need_info answer and returns it in `details`.
    if (fromAs && call.command === 'uma_rp_get_rpt') {
      return new CommandFailure('need_info', NEED_INFO_DESCRIPTION, { details: err.details });
    }
    const error =
      err.error === 'invalid_scope_expression' ? 'invalid_scope_expressioin' : err.error;
    return new CommandFailure(error, err.description, { details: err.details });
  }
  if (fromAs) {
    return new CommandFailure(err.error, err.description, {
      details: err.details,
      httpStatus: err.status,
      httpBody: BODY_AS_IS.has(err.error)
        ? asNeedInfoResponse(err.details)
        : { code: err.status, message: JSON.stringify(err.details) },
    });
  }
  return new CommandFailure(err.error, err.description, { httpStatus: err.status });
}

/** Runs an AS call, turning its `UmaError` into oxd's answer. */
function asOxd<T>(call: Call, run: () => T): T {
  try {
    return run();
  } catch (err) {
    if (err instanceof UmaError) throw umaFailure(call, err);
    throw err;
  }
}

function umaHandler(run: (call: Call, services: Services) => Record<string, unknown>): Handler {
  return async (call, services) => asOxd(call, () => run(call, services));
}

export const umaRsProtect: Handler = async (call, services) => {
  const site = siteOf(call);
  const resources = call.params.value('resources') as UmaResource[];
  const overwrite = call.params.boolean('overwrite') ?? false;
  asOxd(call, () => services.uma.protect(site.oxd_id, resources, overwrite));
  await services.store.save();
  return { oxd_id: site.oxd_id };
};

/** uma_rs_modify (4.x): replaces the scopes (or scope expression) of one path + method. */
export const umaRsModify: Handler = async (call, services) => {
  const site = siteOf(call);
  const path = call.params.string('path');
  const method = call.params.string('http_method');
  if (!method) throw new CommandFailure('invalid_http_method', "'http_method' is required.");
  if (!path) throw new CommandFailure('invalid_path_parameter', "'path' is required.");
  const scopes = call.params.list('scopes');
  const expression = call.params.value('scope_expression');
  const hasExpression = expression !== undefined && expression !== null && expression !== '';
  if (!scopes && !hasExpression) {
    throw new CommandFailure(
      'invalid_uma_scope_parameter',
      "Give 'scopes' or 'scope_expression' for the resource.",
    );
  }
  const state = services.uma.toJSON();
  const resource = (state.resources[site.oxd_id] ?? []).find(
    (r) => r.path === path && r.httpMethods.includes(method.toUpperCase()),
  );
  if (!resource) {
    throw new CommandFailure(
      'invalid_request',
      `Resource is not protected with path: ${path} and httpMethod: ${method}. Protect it first with uma_rs_protect.`,
    );
  }
  resource.scopes = scopes ?? [];
  if (hasExpression) {
    // The AS parses an expression given as JSON text (as uma_rs_modify sends it) itself.
    resource.scope_expression = expression as typeof resource.scope_expression;
  } else {
    delete resource.scope_expression;
  }
  try {
    services.uma.fromJSON(state);
  } catch (err) {
    throw new CommandFailure('invalid_scope_expression', (err as Error).message);
  }
  await services.store.save();
  return { oxd_id: site.oxd_id };
};

export const umaRsCheckAccess: Handler = umaHandler((call, services) => {
  const site = siteOf(call);
  const result = services.uma.checkAccess(site.oxd_id, {
    rpt: call.params.string('rpt') ?? '',
    path: call.params.string('path') ?? '',
    http_method: call.params.string('http_method') ?? '',
    ...(call.v3 ? {} : { scopes: call.params.list('scopes') ?? [] }),
  });
  return result.access === 'granted'
    ? { access: 'granted', 'www-authenticate_header': undefined, ticket: undefined }
    : {
        access: 'denied',
        'www-authenticate_header': result['www-authenticate_header'],
        ticket: result.ticket,
      };
});

/**
 * introspect_rpt. 3.1's `CorrectRptIntrospectionResponse` (property order active, exp, iat,
 * nbf, permissions, client_id, sub, aud, iss, jti) writes the fields it has no value for as
 * null: `sub`, `aud` and `jti` always are.
 */
export const introspectRpt: Handler = umaHandler((call, services) => {
  siteOf(call);
  const result = services.uma.introspectRpt(call.params.string('rpt') ?? '');
  if (!call.v3) return { ...result };
  const { active, exp, iat, nbf, permissions, client_id, iss } = result;
  return {
    active,
    exp,
    iat,
    nbf,
    permissions,
    client_id,
    sub: undefined,
    aud: undefined,
    iss,
    jti: undefined,
  };
});

/**
 * uma_rp_get_rpt as `UmaTokenService.getRpt` does it in every release from 3.1.3 to 4.5, and
 * so on every profile, the default one included: while the site holds an unexpired RPT, that
 * RPT is the answer, whatever the ticket, and the AS is not asked. A new RPT (the AS's
 * answer, checked active by introspection) replaces the site's one. One RPT per oxd_id,
 * shared by every user of the site.
 */
export const umaRpGetRpt: Handler = umaHandler((call, services) => {
  const site = siteOf(call);
  const { params } = call;
  const held = services.siteRpts.get(site.oxd_id);
  if (held && held.expiresAt > Date.now()) {
    const { expiresAt: _expiresAt, ...answer } = held;
    return answer;
  }
  // oxd names the site's OP client to the AS, never the oxd_id.
  const result = services.uma.getRpt(site.client_id, {
    ticket: params.string('ticket') ?? '',
    ...optional('claim_token', params.string('claim_token')),
    ...optional('claim_token_format', params.string('claim_token_format')),
    ...optional('pct', params.string('pct')),
    ...optional('rpt', params.string('rpt')),
    ...optional('scope', params.list('scope')),
    ...optional('state', params.string('state')),
  });
  const status = services.uma.introspectRpt(result.access_token);
  if (status.active && typeof status.exp === 'number') {
    services.siteRpts.set(site.oxd_id, { ...result, expiresAt: status.exp * 1000 });
  }
  return { ...result };
});

export const umaRpGetClaimsGatheringUrl: Handler = umaHandler((call, services) => {
  const site = siteOf(call);
  const { params } = call;
  const result = services.uma.claimsGatheringUrl(site.client_id, {
    ticket: params.string('ticket') ?? '',
    claims_redirect_uri: params.string('claims_redirect_uri') ?? '',
    ...optional('state', call.v3 ? undefined : params.string('state')),
  });
  const custom = call.v3 ? undefined : params.stringMap('custom_parameters');
  if (!custom) return { ...result };
  const url = new URL(result.url);
  for (const [name, value] of Object.entries(custom)) {
    if (!url.searchParams.has(name)) url.searchParams.set(name, value);
  }
  return { url: url.href, state: result.state };
});

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
