/**
 * `express-oxd`: the middleware, the oxd client and the errors. Every name is listed here on
 * purpose (the package test checks the list); configuration tools live in
 * `express-oxd/config`, the local OP and oxd server in `express-oxd/testing`.
 */
export { createOxdClient, OxdClient } from './client-from-config';
export { oxdReadiness, type ReadinessOptions } from './health';
export type { Logger } from './logger';
export {
  ERROR_CODES,
  OxdError,
  OxdConfigError,
  OxdTransportError,
  OxdTimeoutError,
  OxdProtocolError,
  OxdCommandError,
  OxdAuthError,
  OxdBusyError,
  type OxdErrorCode,
  type OxdErrorOptions,
} from './errors';
export {
  HttpsTransport,
  SocketTransport,
  type OxdClientOptions,
  type HttpsTransportOptions,
  type SocketTransportOptions,
  type Transport,
  type OxdRequest,
  type OxdReply,
  type CommandName,
  type CommandTypes,
  type ParamsOf,
  type ResultOf,
  type ScopeExpression,
  type UmaCondition,
  type UmaResource,
  type UmaPermission,
} from './oxd';
export type {
  ConfigInput,
  OxdInput,
  ClientInput,
  OxdConfig,
  OxdSettings,
  ClientSettings,
} from './config';
export { oxdAuth, type OxdAuthHandler } from './middleware/oxd-auth';
export type {
  AfterCallback,
  ErrorRenderer,
  GetLoginState,
  LoginState,
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
export { guardSession, type GuardSessionOptions } from './middleware/session-store';
export { attemptSilentLogin } from './middleware/attempt-silent-login';
export { traceIds } from './telemetry';
export type { FailureLogger } from './report';
export {
  redisRefreshLock,
  type RedisLockClient,
  type RedisRefreshLockOptions,
} from './middleware/refresh-lock';
export type { RefreshLock } from './middleware/refresh-lock';
export type { OxdContext, OxdTokens } from './middleware/context';
export type { LoginOptions } from './middleware/login-params';
export type { LogoutOptions } from './middleware/logout';
export type { CallbackOptions } from './middleware/callback';
export type { RefreshOptions } from './middleware/refresh-options';
export type { Claims } from './claims';
export type { OxdSessionData, OxdSessionTokens } from './session/login';
export type { OxdIncomingMessage, PendingLogin } from './session/store';
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
export type { OxdUmaSessionData, PendingUmaClaims } from './session/store';
