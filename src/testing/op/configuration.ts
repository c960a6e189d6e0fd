import type { JsonWebKey } from 'node:crypto';

import { createMemoryAdapterFactory, type Persistence } from './memory-adapter';
import type { ProviderClient, ProviderContext } from './provider-types';
import type { TestUser } from './users';
import {
  contentSecurityPolicy,
  renderErrorPage,
  renderLogoutPage,
  renderLogoutSuccessPage,
} from './views';

/** Path prefix of the login pages; oidc-provider redirects here for every interaction. */
export const INTERACTION_PATH = '/interaction/';

/** Scopes beyond the OpenID Connect ones: oxd's protection scopes, granted to client_credentials. */
const EXTRA_SCOPES = ['oxd', 'uma_protection', 'uma_authorization'] as const;

/**
 * Which claims each scope releases (OpenID Connect Core 5.4), plus `groups` with `profile`
 * (not a standard claim: the group memberships an app's authorisation checks read, such as
 * the `admin` group of the administrator test user).
 */
const CLAIMS = {
  acr: null,
  auth_time: null,
  iss: null,
  sid: null,
  openid: ['sub'],
  profile: [
    'name',
    'family_name',
    'given_name',
    'middle_name',
    'nickname',
    'preferred_username',
    'profile',
    'picture',
    'website',
    'gender',
    'birthdate',
    'zoneinfo',
    'locale',
    'updated_at',
    'groups',
  ],
  email: ['email', 'email_verified'],
  address: ['address'],
  phone: ['phone_number', 'phone_number_verified'],
};

/** Registration metadata kept beyond oidc-provider's own (it drops what it does not know). */
const FRONTCHANNEL_METADATA = ['frontchannel_logout_uri', 'frontchannel_logout_session_required'];

export interface ProviderSettings {
  users: readonly TestUser[];
  /** Seconds. */
  accessTokenTtl: number;
  /** Seconds. */
  idTokenTtl: number;
  /** Seconds. */
  refreshTokenTtl: number;
  /** Issue a new refresh token on every refresh (the used one becomes invalid). */
  rotateRefreshToken: boolean;
  /** Publish an end_session_endpoint (RP-initiated logout). */
  endSession: boolean;
  /** Private JWKs that sign ID tokens. */
  signingKeys: JsonWebKey[];
  /** Keys that sign the OP's cookies. */
  cookieKeys: string[];
  /** Where registered clients are kept beyond the process, if anywhere. */
  persistence?: Persistence;
  /** oidc-provider's `errors.InvalidClientMetadata`, so registration answers 400. */
  InvalidClientMetadata: new (description: string) => Error;
}

const ONE_DAY = 24 * 60 * 60;

/** The oidc-provider configuration of the local OP. Every hook is set, so it prints no notices. */
export function buildProviderConfiguration(settings: ProviderSettings): object {
  const usersBySub = new Map(settings.users.map((user) => [String(user.claims.sub), user]));
  const cookie = { httpOnly: true, sameSite: 'lax', signed: true };

  return {
    adapter: createMemoryAdapterFactory(settings.persistence),
    jwks: { keys: settings.signingKeys },
    cookies: { keys: settings.cookieKeys, long: { ...cookie }, short: { ...cookie } },
    async findAccount(_ctx: unknown, sub: string) {
      const user = usersBySub.get(sub);
      if (user === undefined) return undefined;
      return {
        accountId: sub,
        async claims() {
          return { ...structuredClone(user.claims), sub };
        },
      };
    },
    claims: CLAIMS,
    scopes: ['openid', 'offline_access', ...EXTRA_SCOPES],
    // ID tokens carry the claims of the granted scopes too, not only `sub`.
    conformIdTokenClaims: false,
    clientDefaults: {
      grant_types: ['authorization_code', 'refresh_token'],
      id_token_signed_response_alg: 'RS256',
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
    extraClientMetadata: {
      properties: FRONTCHANNEL_METADATA,
      validator: (
        _ctx: unknown,
        key: string,
        value: unknown,
        metadata: Record<string, unknown>,
      ) => {
        const problem = normalizeFrontchannelMetadata(key, value, metadata);
        if (problem !== undefined) throw new settings.InvalidClientMetadata(problem);
      },
    },
    // oxd 3.x sends no PKCE parameters; S256 still works for clients that do.
    pkce: { required: () => false },
    issueRefreshToken: async (_ctx: unknown, client: { grantTypeAllowed(type: string): boolean }) =>
      client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: settings.rotateRefreshToken,
    ttl: {
      AccessToken: settings.accessTokenTtl,
      ClientCredentials: settings.accessTokenTtl,
      AuthorizationCode: 60,
      IdToken: settings.idTokenTtl,
      RefreshToken: settings.refreshTokenTtl,
      Interaction: 60 * 60,
      Session: ONE_DAY,
      Grant: ONE_DAY,
      DeviceCode: 10 * 60,
      BackchannelAuthenticationRequest: 10 * 60,
      PreAuthorizedCode: 10 * 60,
    },
    interactions: {
      url: (_ctx: unknown, interaction: { uid: string }) => `${INTERACTION_PATH}${interaction.uid}`,
    },
    features: {
      devInteractions: { enabled: false },
      registration: { enabled: true, initialAccessToken: false },
      // The registration access token stays the same across updates, as oxd keeps the first one.
      registrationManagement: { enabled: true, rotateRegistrationAccessToken: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: true, allowedPolicy: introspectionAllowed },
      revocation: { enabled: true, allowedPolicy: revocationAllowed },
      resourceIndicators: { enabled: false },
      // Clients may register a backchannel_logout_uri (RFC 7591 / 7592); oxd cannot.
      backchannelLogout: { enabled: true },
      rpInitiatedLogout: {
        enabled: settings.endSession,
        logoutSource: async (ctx: ProviderContext, form: string) => {
          sendHtml(ctx, renderLogoutPage(form, ctx.host));
        },
        postLogoutSuccessSource: async (ctx: ProviderContext) => {
          const client = ctx.oidc?.client;
          sendHtml(ctx, renderLogoutSuccessPage(client?.clientName ?? client?.clientId));
        },
      },
    },
    // oidc-provider refuses outgoing requests to special-use addresses (SSRF guard); the
    // local OP and the applications it POSTs back-channel logouts to all live on 127.0.0.1.
    fetch: (url: string, options: RequestInit & { dispatcher?: unknown }) => {
      const { dispatcher: _guarded, ...rest } = options;
      return fetch(url, rest);
    },
    clientBasedCORS: corsAllowed,
    renderError: async (ctx: ProviderContext, out: Record<string, unknown>) => {
      sendHtml(ctx, renderErrorPage(out));
    },
  };
}

function sendHtml(ctx: ProviderContext, html: string): void {
  ctx.type = 'html';
  ctx.set('Content-Security-Policy', contentSecurityPolicy());
  ctx.set('X-Content-Type-Options', 'nosniff');
  ctx.body = html;
}

/** Confidential clients may introspect any token; public clients only their own. */
async function introspectionAllowed(
  ctx: { oidc: { client: ProviderClient } },
  client: { clientAuthMethod: string },
  token: { clientId?: string },
): Promise<boolean> {
  return client.clientAuthMethod !== 'none' || token.clientId === ctx.oidc.client.clientId;
}

/** A client may revoke only its own tokens. */
async function revocationAllowed(
  _ctx: unknown,
  client: { clientId: string },
  token: { clientId?: string },
): Promise<boolean> {
  return token.clientId === client.clientId;
}

/** Browser CORS only from the origins of the client's own redirect URIs. */
function corsAllowed(_ctx: unknown, origin: string, client: { redirectUris?: string[] }): boolean {
  if (origin === 'null') return false;
  return (client.redirectUris ?? []).some((uri) => URL.parse(uri)?.origin === origin);
}

/**
 * `frontchannel_logout_uri` may come as one URI (OpenID Front-Channel Logout 1.0) or as a
 * list (Gluu's registration); either way it is stored as a list of absolute http(s) URIs.
 * Returns what is wrong, or `undefined` when the value is acceptable.
 */
function normalizeFrontchannelMetadata(
  key: string,
  value: unknown,
  metadata: Record<string, unknown>,
): string | undefined {
  if (value === undefined) return undefined;
  if (key === 'frontchannel_logout_session_required') {
    return typeof value === 'boolean'
      ? undefined
      : 'frontchannel_logout_session_required must be a boolean';
  }
  const uris: unknown[] = Array.isArray(value) ? value : [value];
  for (const uri of uris) {
    const parsed = typeof uri === 'string' ? URL.parse(uri) : null;
    if (parsed === null || (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')) {
      return 'frontchannel_logout_uri must be one or more absolute http(s) URIs';
    }
  }
  metadata[key] = uris;
  return undefined;
}
