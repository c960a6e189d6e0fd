/**
 * The oxd command table: one entry per command, driving both transports, and the params
 * and result type of each (declared in command-types.ts, re-exported here).
 */
import type { ServerVersion } from '../config/types';
import type {
  SetupClientParams,
  SetupClientResult,
  GetClientTokenParams,
  GetClientTokenResult,
  IntrospectAccessTokenParams,
  IntrospectAccessTokenResult,
  RegisterSiteParams,
  RegisterSiteResult,
  UpdateSiteParams,
  OxdIdResult,
  RemoveSiteParams,
  GetAuthorizationUrlParams,
  GetAuthorizationUrlResult,
  GetTokensByCodeParams,
  GetTokensByCodeResult,
  GetAccessTokenByRefreshTokenParams,
  GetAccessTokenByRefreshTokenResult,
  GetUserInfoParams,
  GetUserInfoResult,
  GetLogoutUriParams,
  GetLogoutUriResult,
  UmaRsProtectParams,
  UmaRsModifyParams,
  UmaRsCheckAccessParams,
  UmaRsCheckAccessResult,
  IntrospectRptParams,
  IntrospectRptResult,
  UmaRpGetRptParams,
  UmaRpGetRptResult,
  UmaRpGetClaimsGatheringUrlParams,
  UmaRpGetClaimsGatheringUrlResult,
  GetRpParams,
  GetRpResult,
  OpLocationParams,
  GetJwksResult,
  GetDiscoveryResult,
  IssuerDiscoveryParams,
  IssuerDiscoveryResult,
  CheckIdTokenParams,
  CheckIdTokenResult,
  CheckAccessTokenParams,
  CheckAccessTokenResult,
  GetAuthorizationCodeParams,
  GetAuthorizationCodeResult,
  GetRequestUriParams,
  GetRequestUriResult,
} from './command-types';

export type { ServerVersion };
export type * from './command-types';

export interface CommandSpec {
  /** Name on the socket (`command` field), snake_case. */
  readonly command: string;
  /** REST path segment (no leading slash). */
  readonly path: string;
  /** Server generations that have the command. */
  readonly versions: readonly ServerVersion[];
  /**
   * Whether oxd expects a protection access token. The client sends the token whenever it
   * has one except for these bootstrap commands, where it never does.
   */
  readonly bootstrap?: true;
  /** Whether params carry `oxd_id` that the client fills in from its registration. */
  readonly needsOxdId: boolean;
}

function spec(
  command: string,
  needsOxdId: boolean,
  versions: readonly ServerVersion[] = [3, 4],
  extra: { path?: string; bootstrap?: true } = {},
): CommandSpec {
  return {
    command,
    path: extra.path ?? command.replace(/_/g, '-'),
    versions,
    needsOxdId,
    ...(extra.bootstrap ? { bootstrap: true as const } : {}),
  };
}

/** Keyed by the client method name. */
export const COMMANDS = {
  setupClient: spec('setup_client', false, [3], { bootstrap: true }),
  getClientToken: spec('get_client_token', false, [3, 4], { bootstrap: true }),
  introspectAccessToken: spec('introspect_access_token', true),
  registerSite: spec('register_site', false),
  updateSite: spec('update_site', true),
  removeSite: spec('remove_site', true),
  getAuthorizationUrl: spec('get_authorization_url', true),
  getTokensByCode: spec('get_tokens_by_code', true),
  getAccessTokenByRefreshToken: spec('get_access_token_by_refresh_token', true),
  getUserInfo: spec('get_user_info', true),
  getLogoutUri: spec('get_logout_uri', true),
  umaRsProtect: spec('uma_rs_protect', true),
  umaRsModify: spec('uma_rs_modify', true, [4]),
  umaRsCheckAccess: spec('uma_rs_check_access', true),
  introspectRpt: spec('introspect_rpt', true),
  umaRpGetRpt: spec('uma_rp_get_rpt', true),
  umaRpGetClaimsGatheringUrl: spec('uma_rp_get_claims_gathering_url', true),
  getRp: spec('get_rp', true),
  getJwks: spec('get_jwks', false, [4]),
  getDiscovery: spec('get_discovery', false, [4]),
  issuerDiscovery: spec('issuer_discovery', false, [4], { path: 'get-issuer' }),
  checkIdToken: spec('id_token_status', true, [3, 4], { path: 'check-id-token' }),
  checkAccessToken: spec('access_token_status', true, [3, 4], { path: 'check-access-token' }),
  getAuthorizationCode: spec('get_authorization_code', true),
  getRequestUri: spec('get_request_uri', true, [4], { path: 'get-request-object-uri' }),
} as const satisfies Record<string, CommandSpec>;

export type CommandName = keyof typeof COMMANDS;

/** Params and result types per client method. */
export interface CommandTypes {
  setupClient: [SetupClientParams, SetupClientResult];
  getClientToken: [GetClientTokenParams, GetClientTokenResult];
  introspectAccessToken: [IntrospectAccessTokenParams, IntrospectAccessTokenResult];
  registerSite: [RegisterSiteParams, RegisterSiteResult];
  updateSite: [UpdateSiteParams, OxdIdResult];
  removeSite: [RemoveSiteParams, OxdIdResult];
  getAuthorizationUrl: [GetAuthorizationUrlParams, GetAuthorizationUrlResult];
  getTokensByCode: [GetTokensByCodeParams, GetTokensByCodeResult];
  getAccessTokenByRefreshToken: [
    GetAccessTokenByRefreshTokenParams,
    GetAccessTokenByRefreshTokenResult,
  ];
  getUserInfo: [GetUserInfoParams, GetUserInfoResult];
  getLogoutUri: [GetLogoutUriParams, GetLogoutUriResult];
  umaRsProtect: [UmaRsProtectParams, OxdIdResult];
  umaRsModify: [UmaRsModifyParams, OxdIdResult];
  umaRsCheckAccess: [UmaRsCheckAccessParams, UmaRsCheckAccessResult];
  introspectRpt: [IntrospectRptParams, IntrospectRptResult];
  umaRpGetRpt: [UmaRpGetRptParams, UmaRpGetRptResult];
  umaRpGetClaimsGatheringUrl: [UmaRpGetClaimsGatheringUrlParams, UmaRpGetClaimsGatheringUrlResult];
  getRp: [GetRpParams, GetRpResult];
  getJwks: [OpLocationParams, GetJwksResult];
  getDiscovery: [OpLocationParams, GetDiscoveryResult];
  issuerDiscovery: [IssuerDiscoveryParams, IssuerDiscoveryResult];
  checkIdToken: [CheckIdTokenParams, CheckIdTokenResult];
  checkAccessToken: [CheckAccessTokenParams, CheckAccessTokenResult];
  getAuthorizationCode: [GetAuthorizationCodeParams, GetAuthorizationCodeResult];
  getRequestUri: [GetRequestUriParams, GetRequestUriResult];
}

export type ParamsOf<N extends CommandName> = CommandTypes[N][0];
export type ResultOf<N extends CommandName> = CommandTypes[N][1];
