/**
 * Every default of the configuration, in one place. `resolveConfig()` uses a default when a
 * setting is absent or empty (`key =` in the INI file, `undefined` or `[]` in an object).
 */
import type { ServerVersion } from '../oxd/commands';

export interface Defaults {
  readonly oxd: {
    /** Socket host of the oxd server. An HTTPS oxd server has no default: set `host`. */
    readonly host: string;
    /** Socket port of oxd-server 3.x. */
    readonly port: number;
    /** Talk to oxd over its socket; `https_extension = true` selects HTTPS. */
    readonly https: boolean;
    /** oxd-server 3.x (socket) / oxd-https-extension 3.x. */
    readonly serverVersion: ServerVersion;
    /**
     * Send no protection token over the socket, as oxd 3.x's own default
     * (`protect_commands_with_access_token: false`) expects.
     */
    readonly protectCommands: boolean;
    /** Milliseconds to wait for a connection to the oxd server. */
    readonly connectTimeoutMs: number;
    /**
     * Milliseconds to wait for oxd's answer. oxd itself calls the OP (discovery, token,
     * registration), so this covers a slow OP too.
     */
    readonly responseTimeoutMs: number;
    /** Socket connections kept open at most; each carries one command at a time. */
    readonly poolSize: number;
  };
  readonly client: {
    /** Scopes requested and registered; `openid` is required for login. */
    readonly scope: readonly string[];
    /** The authorization code flow. */
    readonly responseTypes: readonly string[];
    /**
     * Grant types registered when the oxd server needs no protection token: the code flow
     * plus `refresh_token`, so sessions can be refreshed (OPs such as oidc-provider only
     * issue refresh tokens to clients registered for that grant).
     */
    readonly grantTypes: readonly string[];
    /**
     * Grant types registered when a protection token is needed (HTTPS, or a socket with
     * `protect_commands = true`): `get_client_token` uses the `client_credentials` grant.
     */
    readonly grantTypesWithClientToken: readonly string[];
    /** Extra redirect URIs besides `authorization_redirect_uri`: none. */
    readonly redirectUris: readonly string[];
    /** Front-channel logout URIs: none. */
    readonly clientFrontchannelLogoutUris: readonly string[];
    /** ACR values: none, the OP decides. */
    readonly acrValues: readonly string[];
    /** Contacts registered with the client: none. */
    readonly contacts: readonly string[];
    /** UI locales: none, the OP decides. */
    readonly uiLocales: readonly string[];
    /** Claims locales: none, the OP decides. */
    readonly claimsLocales: readonly string[];
    /** UMA claims redirect URIs: none. */
    readonly claimsRedirectUri: readonly string[];
    /** Request URIs: none. */
    readonly clientRequestUris: readonly string[];
  };
}

const list = (...items: string[]): readonly string[] => Object.freeze(items);

/** The defaults, frozen. */
export const DEFAULTS: Defaults = Object.freeze({
  oxd: Object.freeze({
    host: 'localhost',
    port: 8099,
    https: false,
    serverVersion: 3,
    protectCommands: false,
    connectTimeoutMs: 5000,
    responseTimeoutMs: 30000,
    poolSize: 4,
  }),
  client: Object.freeze({
    scope: list('openid', 'profile', 'email'),
    responseTypes: list('code'),
    grantTypes: list('authorization_code', 'refresh_token'),
    grantTypesWithClientToken: list('authorization_code', 'refresh_token', 'client_credentials'),
    redirectUris: list(),
    clientFrontchannelLogoutUris: list(),
    acrValues: list(),
    contacts: list(),
    uiLocales: list(),
    claimsLocales: list(),
    claimsRedirectUri: list(),
    clientRequestUris: list(),
  }),
});
