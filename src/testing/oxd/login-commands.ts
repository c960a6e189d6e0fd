/**
 * Front-channel commands, per release (see ./profiles): get_authorization_url (state and
 * nonce are remembered for get_tokens_by_code; no PKCE, as no oxd release sends it) and
 * get_logout_uri.
 */
import { randomBytes } from 'node:crypto';
import type { Handler, Services } from './call';
import { siteOf } from './call';
import { CommandFailure, internalError } from './failure';
import { releaseOf } from './profiles';
import type { Site } from './registration-store';

/** Authorization request parameters the 4.x `params` map may not override. */
const RESERVED = new Set(['response_type', 'client_id', 'redirect_uri', 'state', 'nonce']);

/** The name oxd packs `custom_parameters` under (oxAuth's `AuthorizeRequestParam`). */
export const CUSTOM_RESPONSE_HEADERS = 'custom_response_headers';

export function randomToken(bytes = 24): string {
  return randomBytes(bytes).toString('base64url');
}

/** What an authorization request may set beyond the site's registered defaults. */
export interface LoginRequest {
  state?: string | undefined;
  nonce?: string | undefined;
  redirectUri?: string | undefined;
  responseTypes?: string[] | undefined;
  scope?: string[] | undefined;
  acrValues?: string[] | undefined;
  prompt?: string | undefined;
  hd?: string | undefined;
  /** `custom_parameters`: sent as one `custom_response_headers` JSON parameter. */
  custom?: Record<string, string> | undefined;
  /** 4.x `params`: added one parameter at a time. */
  extra?: Record<string, string> | undefined;
}

/**
 * Builds the OP authorization URL for `site` and remembers its state with the nonce and the
 * redirect URI, for get_tokens_by_code.
 */
export async function beginLogin(
  services: Services,
  site: Site,
  request: LoginRequest,
): Promise<{ url: URL; state: string; redirectUri: string }> {
  const doc = await services.op.discovery(site.op_host);
  let redirectUri = site.redirect_uris[0] ?? '';
  if (request.redirectUri !== undefined) {
    if (!site.redirect_uris.includes(request.redirectUri)) {
      throw new CommandFailure(
        'redirect_uri_is_not_registered',
        `redirect_uri ${request.redirectUri} is not one of the site's registered redirect_uris.`,
      );
    }
    redirectUri = request.redirectUri;
  }
  const state = request.state ?? randomToken();
  const nonce = request.nonce ?? randomToken();
  const acrValues = request.acrValues ?? site.acr_values;

  const url = new URL(doc.authorization_endpoint);
  const query = url.searchParams;
  query.set('response_type', (request.responseTypes ?? site.response_types).join(' '));
  query.set('client_id', site.client_id);
  query.set('redirect_uri', redirectUri);
  query.set('scope', (request.scope ?? site.scope).join(' '));
  query.set('state', state);
  query.set('nonce', nonce);
  if (acrValues.length > 0) query.set('acr_values', acrValues.join(' '));
  if (request.prompt) query.set('prompt', request.prompt);
  if (request.hd) query.set('hd', request.hd);
  if (request.custom && Object.keys(request.custom).length > 0) {
    query.set(CUSTOM_RESPONSE_HEADERS, JSON.stringify(request.custom));
  }
  for (const [name, value] of Object.entries(request.extra ?? {})) {
    if (!RESERVED.has(name)) query.set(name, value);
  }

  // GetAuthorizationUrlOperation appends `&redirect_uri=` + the URI as it is (every release).
  const encoded = new URLSearchParams({ redirect_uri: redirectUri }).toString();
  url.search = url.search.replace(encoded, `redirect_uri=${redirectUri}`);

  services.logins.remember(state, { oxdId: site.oxd_id, nonce, redirectUri });
  return { url, state, redirectUri };
}

/**
 * get_authorization_url. 3.x takes the site's redirect URI and response types and always
 * makes up state and nonce; 4.0-4.1 honour the caller's state, redirect_uri and
 * response_types (the latter only when the site registered them all); 4.2 the nonce too.
 */
export const getAuthorizationUrl: Handler = async (call, services) => {
  const { params, v3 } = call;
  const release = releaseOf(services.profile, v3);
  const site = siteOf(call);
  const responseTypes = v3 ? undefined : params.list('response_types');
  const { url } = await beginLogin(services, site, {
    ...(v3
      ? {}
      : {
          state: params.string('state'),
          nonce: release === '4.2' ? params.string('nonce') : undefined,
          redirectUri: params.string('redirect_uri'),
          responseTypes:
            responseTypes && responseTypes.every((type) => site.response_types.includes(type))
              ? responseTypes
              : undefined,
          extra: params.stringMap('params'),
        }),
    scope: params.list('scope'),
    acrValues: params.list('acr_values'),
    prompt: params.string('prompt'),
    hd: params.string('hd'),
    custom: params.stringMap('custom_parameters'),
  });
  return { authorization_url: url.toString() };
};

/**
 * get_logout_uri: end_session_endpoint plus, per release,
 * - 3.1.3: `id_token_hint` first (the caller's, else the site's last ID token, else the
 *   generic internal error), then `post_logout_redirect_uri` only when passed;
 * - 3.1.4, 4.1: `post_logout_redirect_uri` (the param, else the registered one); the hint
 *   is ignored;
 * - 4.2: the same, then `id_token_hint` last when passed.
 * `state`, `session_state` and the hint are appended as given, as oxd does.
 */
export const getLogoutUri: Handler = async (call, services) => {
  const site = siteOf(call);
  const { params } = call;
  const release = releaseOf(services.profile, call.v3);
  const doc = await services.op.discovery(site.op_host);
  if (!doc.end_session_endpoint) {
    throw new CommandFailure(
      'no_end_session_endpoint_at_op',
      'The OP publishes no end_session_endpoint, so it does not support logout.',
    );
  }
  const parts: string[] = [];
  const add = (name: string, value: string | undefined, encode = false) => {
    if (value !== undefined) parts.push(`${name}=${encode ? encodeURIComponent(value) : value}`);
  };
  const hint = params.string('id_token_hint');
  const postLogout = params.string('post_logout_redirect_uri');
  if (release === '3.1.3') {
    const idToken = hint ?? site.id_token;
    if (idToken === undefined) {
      // oxd 3.1.3 throws a RuntimeException: the generic error, then the socket closes.
      throw internalError();
    }
    add('id_token_hint', idToken);
    add('post_logout_redirect_uri', postLogout, true);
  } else {
    add('post_logout_redirect_uri', postLogout ?? site.post_logout_redirect_uris[0], true);
  }
  add('state', params.string('state'));
  add('session_state', params.string('session_state'));
  if (release === '4.2') add('id_token_hint', hint);
  const endpoint = doc.end_session_endpoint;
  const separator = endpoint.includes('?') ? '&' : '?';
  return { uri: parts.length > 0 ? endpoint + separator + parts.join('&') : endpoint };
};
