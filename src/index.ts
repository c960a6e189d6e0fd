export * from './errors';
export type * from './oxd/commands';
export type { OxdConfig, OxdSettings, ClientSettings } from './config/types';
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
