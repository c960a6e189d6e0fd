/**
 * The params and results of each oxd command, as the client's methods take and return them.
 * Field names are kept exactly as oxd spells them on the wire. Results are checked against
 * these shapes before they are handed out (results.ts).
 */

// ---------------------------------------------------------------------------------------
// Shared shapes

/** A UMA scope expression (Gluu extension): JsonLogic `rule` over `data[i]` scope URIs. */
export interface ScopeExpression {
  rule: unknown;
  data: string[];
}

/** One condition of a protected UMA resource (camelCase inside resources, as oxd wants). */
export interface UmaCondition {
  httpMethods: string[];
  scopes?: string[];
  scope_expression?: ScopeExpression;
  ticketScopes?: string[];
}

export interface UmaResource {
  path: string;
  conditions: UmaCondition[];
  /** Expiry/issued-at (4.x, seconds). */
  exp?: number;
  iat?: number;
}

/** Optional client-metadata params shared by setup_client / register_site / update_site. */
export interface SiteMetadataParams {
  op_host?: string;
  op_discovery_path?: string;
  op_configuration_endpoint?: string;
  /** 3.x: the callback URI. 4.x uses `redirect_uris` (first entry = default). */
  authorization_redirect_uri?: string;
  redirect_uris?: string[];
  /** 3.x spelling. */
  post_logout_redirect_uri?: string;
  /** 4.x spelling. */
  post_logout_redirect_uris?: string[];
  response_types?: string[];
  grant_types?: string[];
  scope?: string[];
  acr_values?: string[];
  claims_redirect_uri?: string[];
  client_id?: string;
  client_secret?: string;
  client_registration_access_token?: string;
  client_registration_client_uri?: string;
  client_name?: string;
  client_jwks_uri?: string;
  client_token_endpoint_auth_method?: string;
  client_token_endpoint_auth_signing_alg?: string;
  client_sector_identifier_uri?: string | string[];
  client_request_uris?: string[];
  client_frontchannel_logout_uris?: string[];
  /** 3.1.4 update_site spelling of the front-channel logout URIs. */
  client_logout_uris?: string[];
  ui_locales?: string[];
  claims_locales?: string[];
  contacts?: string[];
  trusted_client?: boolean;
  /** 4.x: the OP sends `iss` and `sid` to the front-channel logout URIs. */
  front_channel_logout_session_required?: boolean;
  application_type?: string;
  oxd_rp_programming_language?: string;
  /** Any other registration extra oxd 4.x accepts (`logo_uri`, `access_token_as_jwt`, …). */
  [extra: string]: unknown;
}

/** Params of commands that act on a registered site. `oxd_id` is filled in by the client. */
export interface WithOxdId {
  oxd_id?: string;
}

// ---------------------------------------------------------------------------------------
// Params and results, per command

export interface SetupClientParams extends SiteMetadataParams {
  setup_client_name?: string;
}
export interface SetupClientResult {
  oxd_id: string;
  client_id_of_oxd_id?: string;
  op_host?: string;
  setup_client_oxd_id?: string;
  client_id: string;
  client_secret: string;
  client_registration_access_token?: string;
  client_registration_client_uri?: string;
  client_id_issued_at?: number;
  client_secret_expires_at?: number;
}

export interface GetClientTokenParams {
  client_id: string;
  client_secret: string;
  op_host?: string;
  op_discovery_path?: string;
  op_configuration_endpoint?: string;
  scope?: string[];
  authentication_method?: string;
  algorithm?: string;
  key_id?: string;
}
export interface GetClientTokenResult {
  access_token: string;
  /** Seconds; -1 or absent when the OP did not say. */
  expires_in?: number;
  refresh_token?: string | null;
  /** A string on 3.x, a list on 4.x. */
  scope?: string | string[] | null;
}

export interface IntrospectAccessTokenParams extends WithOxdId {
  access_token: string;
}
export interface IntrospectAccessTokenResult {
  active: boolean;
  client_id?: string | null;
  username?: string | null;
  scope?: string | string[] | null;
  scopes?: string[] | null;
  token_type?: string | null;
  exp?: number | string | null;
  iat?: number | string | null;
  nbf?: number | string | null;
  sub?: string | null;
  aud?: string | string[] | null;
  iss?: string | null;
  jti?: string | null;
  acr_values?: string | string[] | null;
}

export type RegisterSiteParams = SiteMetadataParams;
export interface RegisterSiteResult {
  oxd_id: string;
  op_host?: string;
  client_id?: string;
  client_name?: string;
  client_secret?: string;
  client_registration_access_token?: string;
  client_registration_client_uri?: string;
  client_id_issued_at?: number;
  client_secret_expires_at?: number;
  initiate_login_uri?: string;
}

export interface UpdateSiteParams extends SiteMetadataParams, WithOxdId {
  client_secret_expires_at?: number;
}
export interface OxdIdResult {
  oxd_id: string;
}

export type RemoveSiteParams = WithOxdId;

export interface GetAuthorizationUrlParams extends WithOxdId {
  scope?: string[];
  acr_values?: string[];
  prompt?: string;
  hd?: string;
  /**
   * Sent to the OP as one `custom_response_headers=<JSON>` parameter (every oxd release),
   * not as separate query parameters; use `params` (4.x) for those.
   */
  custom_parameters?: Record<string, string>;
  /** 4.x only (oxd 3.x ignores these): client-chosen state / nonce (nonce from 4.2). */
  state?: string;
  nonce?: string;
  redirect_uri?: string;
  response_types?: string[];
  /** 4.x only: added to the OP's URL one query parameter each. */
  params?: Record<string, string>;
}
export interface GetAuthorizationUrlResult {
  authorization_url: string;
}

export interface GetTokensByCodeParams extends WithOxdId {
  code: string;
  state: string;
  authentication_method?: string;
  algorithm?: string;
}
/** ID-token claims: 3.x sends every value as a list of strings, 4.x the raw JSON. */
export type WireClaims = Record<string, unknown>;
export interface GetTokensByCodeResult {
  access_token: string;
  /** Seconds; -1 or absent when the OP did not say. */
  expires_in?: number;
  id_token: string;
  refresh_token?: string | null;
  id_token_claims: WireClaims;
}

export interface GetAccessTokenByRefreshTokenParams extends WithOxdId {
  refresh_token: string;
  scope?: string[];
}
export interface GetAccessTokenByRefreshTokenResult {
  access_token: string;
  /** Seconds; -1 or absent when the OP did not say. */
  expires_in?: number;
  refresh_token?: string | null;
  scope?: string[] | string | null;
}

export interface GetUserInfoParams extends WithOxdId {
  access_token: string;
  id_token?: string;
}
/**
 * 3.x: `{claims: {name: ['Jane']}}`; 4.x: the OP's userinfo JSON itself. The client
 * normalises both to `{claims}` (values as sent) — see `OxdClient.getUserInfo`.
 */
export interface GetUserInfoResult {
  claims: WireClaims;
}

export interface GetLogoutUriParams extends WithOxdId {
  id_token_hint?: string;
  post_logout_redirect_uri?: string;
  state?: string;
  session_state?: string;
}
export interface GetLogoutUriResult {
  uri: string;
}

export interface UmaRsProtectParams extends WithOxdId {
  resources: UmaResource[];
  overwrite?: boolean;
}

export interface UmaRsModifyParams extends WithOxdId {
  path: string;
  http_method: string;
  scopes?: string[];
  scope_expression?: string;
}

export interface UmaRsCheckAccessParams extends WithOxdId {
  /** The RPT from the caller's `Authorization: Bearer`, `""` when none. */
  rpt: string;
  path: string;
  http_method: string;
  scopes?: string[];
}
export interface UmaRsCheckAccessResult {
  access: 'granted' | 'denied';
  'www-authenticate_header'?: string | null;
  ticket?: string | null;
}

export interface IntrospectRptParams extends WithOxdId {
  rpt: string;
}
export interface UmaPermission {
  resource_id: string;
  resource_scopes: string[];
  exp?: number;
}
export interface IntrospectRptResult {
  active: boolean;
  exp?: number | null;
  iat?: number | null;
  nbf?: number | null;
  client_id?: string | null;
  sub?: string | null;
  aud?: string | string[] | null;
  iss?: string | null;
  jti?: string | null;
  permissions?: UmaPermission[] | null;
}

export interface UmaRpGetRptParams extends WithOxdId {
  ticket: string;
  claim_token?: string;
  claim_token_format?: string;
  pct?: string;
  rpt?: string;
  scope?: string[];
  state?: string;
  params?: Record<string, string>;
}
export interface UmaRpGetRptResult {
  access_token: string;
  token_type: string;
  pct?: string | null;
  /** oxd's Java field; docs say `upgraded`. Both are accepted. */
  updated?: boolean | null;
  upgraded?: boolean | null;
}

export interface UmaRpGetClaimsGatheringUrlParams extends WithOxdId {
  ticket: string;
  claims_redirect_uri: string;
  state?: string;
  custom_parameters?: Record<string, string>;
}
export interface UmaRpGetClaimsGatheringUrlResult {
  url: string;
  state: string;
}

export interface GetRpParams extends WithOxdId {
  list?: boolean;
}
export interface GetRpResult {
  node: unknown;
}

export interface OpLocationParams {
  op_host?: string;
  op_discovery_path?: string;
  op_configuration_endpoint?: string;
}
export interface GetJwksResult {
  keys: Record<string, unknown>[];
}
export type GetDiscoveryResult = Record<string, unknown> & {
  issuer?: string;
  authorization_endpoint?: string;
  token_endpoint?: string;
};
export interface IssuerDiscoveryParams extends OpLocationParams {
  resource: string;
}
export interface IssuerDiscoveryResult {
  subject: string;
  links: Record<string, unknown>[];
}

export interface CheckIdTokenParams extends WithOxdId {
  id_token: string;
  nonce?: string;
  state?: string;
  code?: string;
  access_token?: string;
}
export interface CheckIdTokenResult {
  active: boolean;
  expires_at?: number | string | null;
  issued_at?: number | string | null;
  claims?: WireClaims | null;
}

export interface CheckAccessTokenParams extends WithOxdId {
  id_token: string;
  access_token: string;
}
export interface CheckAccessTokenResult {
  active: boolean;
  expires_at?: number | string | null;
  issued_at?: number | string | null;
}

export interface GetAuthorizationCodeParams extends WithOxdId {
  username?: string;
  password?: string;
  acr_values?: string[];
  state?: string;
  nonce?: string;
}
export interface GetAuthorizationCodeResult {
  code: string;
}

export interface GetRequestUriParams extends WithOxdId {
  oxd_host_url: string;
  params?: Record<string, string>;
  request_object_signing_alg?: string;
}
export interface GetRequestUriResult {
  request_uri: string;
}
