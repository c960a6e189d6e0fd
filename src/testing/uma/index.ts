/** In-process UMA 2.0 authorization server used by the local oxd server. */
export {
  UmaAuthorizationServer,
  UmaError,
  UMA_SERVER_DEFAULTS,
  type CheckAccessRequest,
  type CheckAccessResult,
  type ClaimsGatheringUrlRequest,
  type ClaimsPolicy,
  type GetRptRequest,
  type GetRptResult,
  type NeedInfoDetails,
  type ProtectedResource,
  type RequiredClaim,
  type UmaAuthorizationServerOptions,
  type UmaServerState,
} from './authorization-server';
export { ID_TOKEN_CLAIM_FORMAT } from './claims-policy';
