export * from './errors';
export * from './oxd';
export {
  DEFAULTS,
  resolveConfig,
  writeBack,
  assertWritable,
  parseIni,
  IniDocument,
  type ConfigInput,
  type OxdInput,
  type ClientInput,
  type Defaults,
  type OxdConfig,
  type OxdSettings,
  type ClientSettings,
  type WriteBackValues,
} from './config';
export { oxdAuth, type OxdAuthHandler } from './middleware/oxd-auth';
export type {
  AfterCallback,
  ErrorRenderer,
  LoginParams,
  LoginQueryParam,
  OxdAuthOptions,
  OxdAuthRoutes,
} from './middleware/options';
export {
  requireAuth,
  claimEquals,
  claimIncludes,
  claimCheck,
  type ClaimPredicate,
  type ClaimValue,
  type OxdMiddleware,
  type RequireAuthOptions,
} from './middleware/require-auth';
export {
  oxdErrorHandler,
  renderOxdError,
  type OxdErrorHandlerOptions,
} from './middleware/error-page';
export { OxdContext, OxdTokens } from './middleware/context';
export type { LoginOptions } from './middleware/login';
export type { LogoutOptions } from './middleware/logout';
export { isSafeReturnTo, safeReturnTo } from './middleware/return-to';
export { normaliseClaims, type Claims } from './middleware/claims';
export type { OxdIncomingMessage, OxdSessionData, OxdSessionTokens, PendingLogin } from './session';
export {
  umaProtect,
  type UmaAccess,
  type UmaProtectHandler,
  type UmaProtectOptions,
} from './uma/protect';
export type { UmaProtectedResource } from './uma/resources';
export { UMA_CACHE_DEFAULTS } from './uma/decision-cache';
export {
  umaGetRpt,
  UmaNeedInfoError,
  type UmaGetRptParams,
  type UmaRequiredClaim,
  type UmaRpt,
} from './uma/rpt';
export { umaFetch, type UmaFetchOptions } from './uma/fetch';
export {
  umaClaims,
  type GatherClaimsOptions,
  type UmaClaimsHandler,
  type UmaClaimsOptions,
} from './uma/claims';
export { readUmaChallenge, type UmaChallenge } from './uma/www-authenticate';
export type { OxdUmaSessionData, PendingUmaClaims } from './session';
