/**
 * Site commands: setup_client, register_site, update_site, remove_site, get_rp. Sites are
 * real clients of the OP, registered with OpenID Connect dynamic registration (or a
 * pre-registered client_id/client_secret) and updated through registration management.
 */
import { randomUUID } from 'node:crypto';
import type { Call, Handler, ReplyData, Services } from './call';
import { siteOf } from './call';
import { CommandFailure, internalError, upstreamFailure } from './failure';
import { isHttpUrl, type Params } from './params';
import type { Site } from './registration-store';

const DEFAULT_SCOPE = ['openid', 'profile', 'email'];
const DEFAULT_RESPONSE_TYPES = ['code'];
const DEFAULT_GRANT_TYPES = ['authorization_code'];
/** Scope a client token needs to be accepted as a protection/access token. */
export const OXD_SCOPE = 'oxd';

/** Metadata names passed to the OP as given (4.x registration extras). */
const PASS_THROUGH = [
  'logo_uri',
  'client_uri',
  'policy_uri',
  'tos_uri',
  'id_token_signed_response_alg',
  'userinfo_signed_response_alg',
  'request_object_signing_alg',
  'default_max_age',
  'require_auth_time',
  'initiate_login_uri',
  'subject_type',
  'software_id',
  'software_version',
  'application_type',
] as const;

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

/** The redirect URIs of a register/update call, 3.x and 4.x spellings both accepted. */
function redirectUrisOf(call: Call): string[] | undefined {
  const first = call.params.string('authorization_redirect_uri');
  const rest = call.params.list('redirect_uris') ?? [];
  const all = unique([...(first ? [first] : []), ...rest]);
  if (all.length === 0) return undefined;
  for (const uri of all) {
    if (!isHttpUrl(uri) || new URL(uri).hash !== '' || uri.includes('#')) {
      if (call.v3) {
        throw new CommandFailure(
          'invalid_authorization_redirect_uri',
          `authorization_redirect_uri ${uri} is not a valid URL without fragment.`,
        );
      }
      throw uri.includes('#') && isHttpUrl(uri)
        ? new CommandFailure(
            'redirect_uri_has_fragment_component',
            `Redirect URI ${uri} has a fragment component.`,
          )
        : new CommandFailure('invalid_redirect_uri', `Redirect URI ${uri} is not a valid URL.`);
    }
  }
  return all;
}

function postLogoutUrisOf(params: Params): string[] | undefined {
  const first = params.string('post_logout_redirect_uri');
  const rest = params.list('post_logout_redirect_uris') ?? [];
  const all = unique([...(first ? [first] : []), ...rest]);
  return all.length > 0 ? all : undefined;
}

function frontchannelUrisOf(params: Params): string[] | undefined {
  return params.list('client_frontchannel_logout_uris') ?? params.list('client_logout_uris');
}

/** The settings of a site before it exists (register_site / setup_client). */
interface SiteRequest extends Pick<
  Site,
  | 'redirect_uris'
  | 'post_logout_redirect_uris'
  | 'response_types'
  | 'grant_types'
  | 'scope'
  | 'acr_values'
  | 'claims_redirect_uri'
  | 'client_frontchannel_logout_uris'
  | 'client_name'
  | 'token_endpoint_auth_method'
> {
  /** Other registration metadata, sent to the OP as given. */
  extra: Record<string, unknown>;
}

function siteRequestOf(call: Call): SiteRequest {
  const { params } = call;
  const redirect = redirectUrisOf(call);
  if (!redirect) {
    throw call.v3
      ? new CommandFailure(
          'invalid_authorization_redirect_uri',
          'authorization_redirect_uri is empty or not specified; give the URL the OP redirects to after login.',
        )
      : new CommandFailure(
          'invalid_redirect_uri',
          'redirect_uris is empty or not specified; give at least the URL the OP redirects to after login.',
        );
  }
  const extra: Record<string, unknown> = {};
  for (const name of PASS_THROUGH) {
    if (params.raw[name] !== undefined && params.raw[name] !== null) extra[name] = params.raw[name];
  }
  const contacts = params.list('contacts');
  if (contacts) extra.contacts = contacts;
  // 4.x only (3.x has no such field and ignores the key).
  const sessionRequired = params.raw.front_channel_logout_session_required;
  if (!call.v3 && typeof sessionRequired === 'boolean') {
    extra.frontchannel_logout_session_required = sessionRequired;
  }
  const requestUris = params.list('client_request_uris');
  if (requestUris) extra.request_uris = requestUris;
  const jwksUri = params.string('client_jwks_uri');
  if (jwksUri) extra.jwks_uri = jwksUri;
  const sector = params.raw.client_sector_identifier_uri;
  const sectorUri = Array.isArray(sector) ? sector[0] : sector;
  if (typeof sectorUri === 'string' && sectorUri !== '') extra.sector_identifier_uri = sectorUri;
  return {
    redirect_uris: redirect,
    post_logout_redirect_uris: postLogoutUrisOf(params) ?? [],
    response_types: params.list('response_types') ?? DEFAULT_RESPONSE_TYPES,
    grant_types: params.list('grant_types') ?? DEFAULT_GRANT_TYPES,
    scope: params.list('scope') ?? DEFAULT_SCOPE,
    acr_values: params.list('acr_values') ?? [],
    claims_redirect_uri: params.list('claims_redirect_uri') ?? [],
    client_frontchannel_logout_uris: frontchannelUrisOf(params) ?? [],
    client_name: params.string('client_name'),
    token_endpoint_auth_method:
      params.string('client_token_endpoint_auth_method') ?? 'client_secret_basic',
    extra,
  };
}

/**
 * Client metadata as the OP's registration endpoint wants it. With `clientToken`, the client
 * may also obtain tokens oxd accepts (client_credentials grant, `oxd` scope); the site's own
 * scope and grant types, used in authorization requests, stay as requested.
 */
function registrationMetadata(request: SiteRequest, clientToken: boolean): Record<string, unknown> {
  const grantTypes = clientToken
    ? unique([...request.grant_types, 'client_credentials'])
    : request.grant_types;
  const scope = clientToken ? unique([...request.scope, OXD_SCOPE]) : request.scope;
  const metadata: Record<string, unknown> = {
    ...request.extra,
    redirect_uris: request.redirect_uris,
    response_types: request.response_types,
    grant_types: grantTypes,
    scope: scope.join(' '),
    token_endpoint_auth_method: request.token_endpoint_auth_method,
  };
  if (request.post_logout_redirect_uris.length > 0) {
    metadata.post_logout_redirect_uris = request.post_logout_redirect_uris;
  }
  if (request.client_name) metadata.client_name = request.client_name;
  if (request.acr_values.length > 0) metadata.default_acr_values = request.acr_values;
  if (request.client_frontchannel_logout_uris[0]) {
    metadata.frontchannel_logout_uri = request.client_frontchannel_logout_uris[0];
  }
  return metadata;
}

/** Whether a site's client was registered able to obtain client tokens. */
function hasClientToken(metadata: Record<string, unknown>): boolean {
  return typeof metadata.scope === 'string' && metadata.scope.split(' ').includes(OXD_SCOPE);
}

async function registerAtOp(
  services: Services,
  opHost: string,
  metadata: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const doc = await services.op.discovery(opHost);
  if (!doc.registration_endpoint) {
    throw new CommandFailure(
      'invalid_request',
      'The OP does not support dynamic registration; pass client_id and client_secret of a registered client.',
      { httpStatus: 500 },
    );
  }
  const response = await services.op.sendJson('POST', doc.registration_endpoint, metadata);
  if (response.status !== 201 && response.status !== 200) {
    // RegisterSiteOperation.registerClient throws a RuntimeException ("Failed to register
    // client for site"): internal_error in every release (3.x then closes the socket).
    throw internalError();
  }
  return response.json as Record<string, unknown>;
}

function optionalNumber(value: unknown): number | undefined {
  return typeof value === 'number' ? value : undefined;
}

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** Creates a site: registers a client at the OP unless client_id/client_secret are given. */
async function createSite(
  call: Call,
  services: Services,
  request: SiteRequest,
  flags: { setupClient: boolean; setupOxdId?: string | undefined; clientToken: boolean },
): Promise<Site> {
  const { params } = call;
  const opHost = services.op.resolveOpHost(params.raw);
  const givenId = params.string('client_id');
  const givenSecret = params.string('client_secret');
  if (!call.v3 && givenId && !givenSecret) {
    throw new CommandFailure('invalid_client_secret', 'client_secret is required with client_id.');
  }
  if (!call.v3 && givenSecret && !givenId) {
    throw new CommandFailure('invalid_client_id', 'client_id is required with client_secret.');
  }
  const metadata = registrationMetadata(request, flags.clientToken);
  const { extra: _sentAsMetadata, ...settings } = request;
  const base = {
    oxd_id: randomUUID(),
    op_host: opHost,
    ...settings,
    setup_client: flags.setupClient,
    setup_oxd_id: flags.setupOxdId,
    metadata,
  };
  let site: Site;
  if (givenId && givenSecret) {
    site = {
      ...base,
      client_id: givenId,
      client_secret: givenSecret,
      client_registration_access_token: params.string('client_registration_access_token'),
      client_registration_client_uri: params.string('client_registration_client_uri'),
    };
  } else {
    const registered = await registerAtOp(services, opHost, metadata);
    site = {
      ...base,
      client_id: String(registered.client_id),
      client_secret: optionalString(registered.client_secret),
      client_registration_access_token: optionalString(registered.registration_access_token),
      client_registration_client_uri: optionalString(registered.registration_client_uri),
      client_id_issued_at: optionalNumber(registered.client_id_issued_at),
      client_secret_expires_at: optionalNumber(registered.client_secret_expires_at),
    };
  }
  if (flags.setupClient) site.setup_oxd_id = site.oxd_id;
  await services.store.put(site);
  return site;
}

/** The OP client's secret and registration management fields, as oxd answers them. */
function clientCredentialsOf(site: Site) {
  return {
    client_secret: site.client_secret,
    client_registration_access_token: site.client_registration_access_token,
    client_registration_client_uri: site.client_registration_client_uri,
    client_id_issued_at: site.client_id_issued_at,
    client_secret_expires_at: site.client_secret_expires_at,
  };
}

export const setupClient: Handler = async (call, services) => {
  const request = siteRequestOf(call);
  const setupName = call.params.string('setup_client_name');
  const setup = await createSite(
    call,
    services,
    {
      ...request,
      client_name:
        setupName ?? (request.client_name ? `${request.client_name} (setup)` : undefined),
    },
    { setupClient: true, clientToken: true },
  );
  const site = await createSite(call, services, request, {
    setupClient: false,
    setupOxdId: setup.oxd_id,
    clientToken: false,
  });
  return {
    oxd_id: site.oxd_id,
    client_id_of_oxd_id: site.client_id,
    op_host: site.op_host,
    setup_client_oxd_id: setup.oxd_id,
    client_id: setup.client_id,
    ...clientCredentialsOf(setup),
  };
};

/**
 * register_site. On 3.x with protection on, the site is linked to the setup client whose
 * token came with the call; 4.x sites are registered able to get their own token.
 */
export const registerSite: Handler = async (call, services) => {
  const request = siteRequestOf(call);
  const site = await createSite(call, services, request, {
    setupClient: false,
    setupOxdId: call.setupOxdId,
    clientToken: !call.v3,
  });
  if (call.v3) return { oxd_id: site.oxd_id, op_host: site.op_host };
  return {
    oxd_id: site.oxd_id,
    op_host: site.op_host,
    client_id: site.client_id,
    client_name: site.client_name,
    ...clientCredentialsOf(site),
  };
};

export const updateSite: Handler = async (call, services) => {
  const site = siteOf(call);
  const { params } = call;
  const redirect = redirectUrisOf(call);
  const updated: Site = {
    ...site,
    redirect_uris: redirect ?? site.redirect_uris,
    post_logout_redirect_uris: postLogoutUrisOf(params) ?? site.post_logout_redirect_uris,
    response_types: params.list('response_types') ?? site.response_types,
    grant_types: params.list('grant_types') ?? site.grant_types,
    scope: params.list('scope') ?? site.scope,
    acr_values: params.list('acr_values') ?? site.acr_values,
    claims_redirect_uri: params.list('claims_redirect_uri') ?? site.claims_redirect_uri,
    client_frontchannel_logout_uris:
      frontchannelUrisOf(params) ?? site.client_frontchannel_logout_uris,
    client_name: params.string('client_name') ?? site.client_name,
  };
  const metadata = {
    ...site.metadata,
    ...registrationMetadata({ ...updated, extra: {} }, hasClientToken(site.metadata)),
  };
  updated.metadata = metadata;
  if (site.client_registration_client_uri && site.client_registration_access_token) {
    const response = await services.op.sendJson(
      'PUT',
      site.client_registration_client_uri,
      { ...metadata, client_id: site.client_id, client_secret: site.client_secret },
      site.client_registration_access_token,
    );
    if (response.status !== 200) throw upstreamFailure(response.status, response.text);
    const body = response.json as Record<string, unknown>;
    updated.client_registration_access_token =
      optionalString(body.registration_access_token) ?? site.client_registration_access_token;
    updated.client_secret = optionalString(body.client_secret) ?? site.client_secret;
  }
  await services.store.put(updated);
  return { oxd_id: site.oxd_id };
};

export const removeSite: Handler = async (call, services) => {
  const site = siteOf(call);
  services.uma.removeResources(site.oxd_id);
  if (!(await services.store.remove(site.oxd_id))) {
    throw new CommandFailure('remove_site_failed', `Failed to remove site ${site.oxd_id}.`);
  }
  return { oxd_id: site.oxd_id };
};

/** get_rp: the stored record (`list: true`: every record). */
export const getRp: Handler = async (call, services): Promise<ReplyData> => {
  if (call.params.boolean('list')) return { node: services.store.all() };
  return { node: siteOf(call) };
};
