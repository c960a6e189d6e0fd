/**
 * The resolved, validated and frozen configuration. The INI file's `[oxd]` / `[client]`
 * snake_case keys map onto these camelCase fields (comma lists become arrays); a plain
 * object given to `resolveConfig()` uses the same camelCase shape (or the INI's snake_case
 * keys, section by section). Defaults live in `DEFAULTS` (src/config/defaults.ts).
 */
export type ServerVersion = 3 | 4;

export interface OxdSettings {
  /** `[oxd] host`: socket host name, or the HTTPS base URL when `https` is on. */
  readonly host: string;
  /** `[oxd] port`: socket port (default 8099). Ignored for HTTPS. */
  readonly port: number;
  /** `[oxd] https_extension`: `true` selects the HTTPS transport. */
  readonly https: boolean;
  /**
   * `[oxd] server_version`: 3 (oxd-server 3.x socket / oxd-https-extension 3.x, default)
   * or 4 (oxd-server 4.x REST). Only HTTPS exists on 4.
   */
  readonly serverVersion: ServerVersion;
  /** `[oxd] id` (alias `oxd_id`): the registration id, written back after registration. */
  readonly oxdId: string | undefined;
  /**
   * `[oxd] protect_commands`: socket only. oxd 3.x does not require a protection token over
   * the socket unless `protect_commands_with_access_token` is on in oxd-conf.json; set this
   * to true to match. HTTPS always uses the token.
   */
  readonly protectCommands: boolean;
  /** `[oxd] connect_timeout` in milliseconds. */
  readonly connectTimeoutMs: number;
  /** `[oxd] response_timeout` in milliseconds. */
  readonly responseTimeoutMs: number;
  /** `[oxd] pool_size`: socket connections kept open at most. */
  readonly poolSize: number;
  /** `[oxd] ca_file`: PEM CA certificate(s) trusted for the oxd HTTPS server (contents). */
  readonly ca: string | undefined;
  /** `[oxd] ca_file` as given (path), for messages. */
  readonly caFile: string | undefined;
}

export interface ClientSettings {
  /** `op_host`: the OpenID Provider's base URL (https). */
  readonly opHost: string | undefined;
  readonly opDiscoveryPath: string | undefined;
  readonly opConfigurationEndpoint: string | undefined;
  /** REQUIRED. `authorization_redirect_uri`: the callback URL; its path is the callback route. */
  readonly authorizationRedirectUri: string;
  /** `redirect_uris`: extra redirect URIs. */
  readonly redirectUris: readonly string[];
  /** `post_logout_redirect_uri`. */
  readonly postLogoutRedirectUri: string | undefined;
  /** `client_frontchannel_logout_uris` (alias `client_logout_uris`). */
  readonly clientFrontchannelLogoutUris: readonly string[];
  readonly scope: readonly string[];
  readonly responseTypes: readonly string[];
  readonly grantTypes: readonly string[];
  readonly acrValues: readonly string[];
  readonly contacts: readonly string[];
  readonly uiLocales: readonly string[];
  readonly claimsLocales: readonly string[];
  readonly claimsRedirectUri: readonly string[];
  readonly clientRequestUris: readonly string[];
  readonly clientName: string | undefined;
  readonly clientJwksUri: string | undefined;
  readonly clientTokenEndpointAuthMethod: string | undefined;
  readonly clientSectorIdentifierUri: string | undefined;
  readonly applicationType: string | undefined;
  /** Written back after `setup_client` / 4.x `register_site`. */
  readonly clientId: string | undefined;
  readonly clientSecret: string | undefined;
  readonly clientRegistrationAccessToken: string | undefined;
  readonly clientRegistrationClientUri: string | undefined;
  /** `protection_access_token`: cached token, written back after `get_client_token`. */
  readonly protectionAccessToken: string | undefined;
}

export interface OxdConfig {
  readonly oxd: OxdSettings;
  readonly client: ClientSettings;
  /** Absolute path of the INI file it came from, if any (write-back target). */
  readonly file: string | undefined;
}

/**
 * Values the client writes back to the INI file after registration, keyed by section and
 * INI key (snake_case, as the file spells them). `undefined` values are skipped.
 */
export interface WriteBackValues {
  oxd?: { id?: string | undefined };
  client?: {
    client_id?: string | undefined;
    client_secret?: string | undefined;
    client_registration_access_token?: string | undefined;
    client_registration_client_uri?: string | undefined;
    protection_access_token?: string | undefined;
  };
}
