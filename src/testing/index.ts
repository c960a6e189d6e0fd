/**
 * `express-oxd/testing`: a local OpenID Provider and a local oxd server, real servers on
 * real ports, for development and tests without a Gluu installation.
 */
export { startLocalOp } from './op/local-op';
export type { LocalOp, LocalOpOptions, TestUser } from './op/local-op';
export { createSelfSignedCertificate } from './op/certificate';
export type { Certificate, CertificateOptions } from './op/certificate';
export { startLocalOxd, LOCAL_OXD_DEFAULTS } from './oxd/local-oxd';
export type { LocalOxd, LocalOxdOptions } from './oxd/local-oxd';
export { OXD_VERSIONS } from './oxd/profiles';
export type { OxdVersion } from './oxd/profiles';
export type { ClaimsPolicy, RequiredClaim } from './uma';
