/**
 * Version profiles of the local oxd server: which oxd release line it reproduces, per
 * transport. Class names are those of GluuFederation/oxd (3.x: `org.xdi.oxd.server.op`,
 * 4.x: `org.gluu.oxd.server.op`).
 *
 * - `3.1.3` (oxd 3.1.3, 3.1.3.1, 3.1.3.2): socket and the https-extension envelope (`/v3/`).
 *   `GetLogoutUrlOperation` puts `id_token_hint` first: the caller's, else the site's last ID
 *   token, else a RuntimeException (`internal_error`, then the socket closes); it adds
 *   `post_logout_redirect_uri` only when the caller passes one.
 * - `3.1.4` (oxd 3.1.4 to 3.1.8): socket and `/v3/`. `GetLogoutUrlOperation` ignores
 *   `id_token_hint` and falls back to the site's registered `post_logout_redirect_uri`.
 * - `4.1` (oxd 4.0 to 4.1.x): HTTPS REST only (4.x has no socket). `GetAuthorizationUrlOperation`
 *   honours the caller's `state`, `redirect_uri` and `response_types` (a nonce is always
 *   generated); `GetLogoutUrlOperation` ignores `id_token_hint`.
 * - `4.2` (oxd 4.2.3 to 4.5): HTTPS REST only. `GetAuthorizationUrlOperation` also honours the
 *   caller's `nonce` (from 4.2.0); `GetLogoutUrlOperation` appends `id_token_hint` last when
 *   passed (from 4.2.3; 4.2.0 – 4.2.2 still ignore it, as `4.1` does).
 *
 * Common to all (no profile differs): `GetAuthorizationUrlOperation` never sends PKCE and packs
 * `custom_parameters` into one `custom_response_headers=<URL-encoded JSON>` parameter (only the
 * 4.x `params` map is added one parameter at a time); `GetClientTokenOperation` asks the OP for
 * `openid` plus the given scopes; `RpGetGetClaimsGatheringUrlOperation` and
 * `IntrospectRptOperation` name the site's OP `client_id`; `CoreUtils.readCommand` answers the
 * first frame of a read and drops the rest, and a request it cannot parse gets `internal_error`
 * and a closed connection (`SocketProcessor`).
 *
 * Without a profile the server keeps serving every transport at once: the 3.x transports as
 * `3.1.4` and the 4.x REST routes as `4.2`, the last release of each line.
 */

/** The profiles a caller can choose. */
export const OXD_VERSIONS = ['3.1.3', '3.1.4', '4.1', '4.2'] as const;
export type OxdVersion = (typeof OXD_VERSIONS)[number];

export type V3Release = '3.1.3' | '3.1.4';
export type V4Release = '4.1' | '4.2';

export interface OxdProfile {
  /** The chosen profile; undefined: the default (3.1.4 and 4.2 side by side). */
  readonly version: OxdVersion | undefined;
  /** What the socket and `/v3/` answer as; undefined: not served. */
  readonly v3: V3Release | undefined;
  /** What the 4.x REST routes answer as; undefined: not served. */
  readonly v4: V4Release | undefined;
}

export const DEFAULT_PROFILE: OxdProfile = Object.freeze({
  version: undefined,
  v3: '3.1.4',
  v4: '4.2',
});

export function isOxdVersion(value: unknown): value is OxdVersion {
  return typeof value === 'string' && (OXD_VERSIONS as readonly string[]).includes(value);
}

/** The profile of `version`; throws a TypeError naming the valid values otherwise. */
export function profileOf(version: unknown): OxdProfile {
  if (version === undefined) return DEFAULT_PROFILE;
  if (!isOxdVersion(version)) {
    throw new TypeError(
      `oxd version must be one of ${OXD_VERSIONS.join(', ')} (or left out for the default), got ${String(version)}`,
    );
  }
  return Object.freeze(
    version.startsWith('3.')
      ? { version, v3: version as V3Release, v4: undefined }
      : { version, v3: undefined, v4: version as V4Release },
  );
}

/** The release a call is answered as (its dialect picks the line). */
export function releaseOf(profile: OxdProfile, v3: boolean): V3Release | V4Release {
  const release = v3 ? profile.v3 : profile.v4;
  if (release === undefined) {
    throw new Error(`the ${v3 ? '3.x' : '4.x'} protocol is not served by this profile`);
  }
  return release;
}
