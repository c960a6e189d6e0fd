export * from './errors';
export * from './oxd';
export { createOxdClient } from './client-from-config';
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
