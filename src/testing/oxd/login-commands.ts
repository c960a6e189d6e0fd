/**
 * Front-channel commands: get_authorization_url (state, nonce and a PKCE verifier are
 * remembered for get_tokens_by_code) and get_logout_uri.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Handler, Services } from './call';
import { siteOf } from './call';
import { CommandFailure } from './failure';
import type { Site } from './registration-store';

/** Authorization request parameters custom parameters may not override. */
const RESERVED = new Set([
  'response_type',
  'client_id',
  'redirect_uri',
  'state',
  'nonce',
  'code_challenge',
  'code_challenge_method',
]);

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
  custom?: Record<string, string> | undefined;
}

/**
 * Builds the OP authorization URL for `site` and remembers its state with the nonce, the
 * PKCE verifier and the redirect URI, for get_tokens_by_code.
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
  const codeVerifier = randomToken(32);
  const acrValues = request.acrValues ?? site.acr_values;

  const url = new URL(doc.authorization_endpoint);
  const query = url.searchParams;
  query.set('response_type', (request.responseTypes ?? site.response_types).join(' '));
  query.set('client_id', site.client_id);
  query.set('redirect_uri', redirectUri);
  query.set('scope', (request.scope ?? site.scope).join(' '));
  query.set('state', state);
  query.set('nonce', nonce);
  query.set('code_challenge', createHash('sha256').update(codeVerifier).digest('base64url'));
  query.set('code_challenge_method', 'S256');
  if (acrValues.length > 0) query.set('acr_values', acrValues.join(' '));
  if (request.prompt) query.set('prompt', request.prompt);
  if (request.hd) query.set('hd', request.hd);
  for (const [name, value] of Object.entries(request.custom ?? {})) {
    if (!RESERVED.has(name)) query.set(name, value);
  }

  services.logins.remember(state, { oxdId: site.oxd_id, nonce, codeVerifier, redirectUri });
  return { url, state, redirectUri };
}

/** get_authorization_url; 4.x also takes state, nonce, redirect_uri, response_types, params. */
export const getAuthorizationUrl: Handler = async (call, services) => {
  const { params, v3 } = call;
  const { url } = await beginLogin(services, siteOf(call), {
    ...(v3
      ? {}
      : {
          state: params.string('state'),
          nonce: params.string('nonce'),
          redirectUri: params.string('redirect_uri'),
          responseTypes: params.list('response_types'),
        }),
    scope: params.list('scope'),
    acrValues: params.list('acr_values'),
    prompt: params.string('prompt'),
    hd: params.string('hd'),
    custom: { ...params.stringMap('custom_parameters'), ...params.stringMap('params') },
  });
  return { authorization_url: url.toString() };
};

/**
 * get_logout_uri: end_session_endpoint + post_logout_redirect_uri (the param, else the
 * registered one) + state + session_state, then id_token_hint when given (oxd 4.2.3+).
 */
export const getLogoutUri: Handler = async (call, services) => {
  const site = siteOf(call);
  const { params } = call;
  const doc = await services.op.discovery(site.op_host);
  if (!doc.end_session_endpoint) {
    throw new CommandFailure(
      'no_end_session_endpoint_at_op',
      'The OP publishes no end_session_endpoint, so it does not support logout.',
    );
  }
  const parts: string[] = [];
  const add = (name: string, value: string | undefined) => {
    if (value !== undefined) parts.push(`${name}=${encodeURIComponent(value)}`);
  };
  add(
    'post_logout_redirect_uri',
    params.string('post_logout_redirect_uri') ?? site.post_logout_redirect_uris[0],
  );
  add('state', params.string('state'));
  add('session_state', params.string('session_state'));
  add('id_token_hint', params.string('id_token_hint'));
  const endpoint = doc.end_session_endpoint;
  const separator = endpoint.includes('?') ? '&' : '?';
  return { uri: parts.length > 0 ? endpoint + separator + parts.join('&') : endpoint };
};
