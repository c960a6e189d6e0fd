/**
 * The settings table: every configuration setting, once. Each entry gives its INI spelling
 * (and aliases), its parser, its default, a one-line description and the hint appended to
 * every error about it. The object (camelCase) name is the entry's key. Derived from it:
 * the types in `types.ts`, `DEFAULTS`, the INI and object key mapping, validation in
 * `resolveConfig()`, and the README's configuration tables (`npm run docs`).
 */
import {
  bool,
  integer,
  list,
  oneOf,
  pem,
  scopeItem,
  secret,
  serverVersion,
  text,
  url,
  type Parser,
} from './parsers';
import { MAX_TIMER_MS } from '../option-check';

export type SectionName = 'oxd' | 'client';
export const SECTIONS: readonly SectionName[] = ['oxd', 'client'];

export interface Setting<T> {
  /** The INI spelling, also the setting's name in error keys (`client.op_host`). */
  readonly ini: string;
  /** Other INI spellings accepted for the same setting. */
  readonly aliases?: readonly string[];
  /** Accepted only in an object: the value cannot be written in an INI file. */
  readonly objectOnly?: true;
  /** For an object-only setting: the INI key to use in a file instead. */
  readonly iniInstead?: string;
  readonly parse: Parser<T>;
  /** Used when the setting is absent or empty. */
  readonly default?: T;
  /** `grant_types` only: the default when a protection token is needed. */
  readonly defaultWithClientToken?: T;
  /** Start-up fails without it. */
  readonly required?: true;
  /** One line for the README (Markdown). */
  readonly doc: string;
  /** What to do, appended to every message about this setting. */
  readonly hint: string;
  /** When registration writes it back to the INI file (README wording, Markdown). */
  readonly writtenBack?: string;
}

/** Checks an entry's default against its parser, keeping its literal INI spellings. */
function setting<T, const S extends Setting<T>>(spec: S & Setting<T>): S {
  return spec;
}

const TOKEN_ENDPOINT_AUTH_METHODS = [
  'client_secret_basic',
  'client_secret_post',
  'client_secret_jwt',
  'private_key_jwt',
  'tls_client_auth',
  'self_signed_tls_client_auth',
  'none',
];
const REDIRECT_HINT =
  'set it to the absolute https URL of your callback route, e.g. https://app.example.com/callback';
const CLIENT_PAIR_HINT =
  'set client_id and client_secret of a client registered at the OP, or neither';
const frozen = (...items: string[]): readonly string[] => Object.freeze(items);
const NONE = frozen();

/** `[oxd]`: how to reach the oxd server. */
export const OXD_SETTINGS = {
  host: setting({
    ini: 'host',
    parse: text,
    default: 'localhost',
    doc: 'socket host of oxd-server, or the HTTPS base URL of oxd (required for HTTPS; `https://` is added when missing)',
    hint:
      'set it to the oxd socket host (e.g. localhost), or with https_extension = true to the ' +
      'oxd HTTPS URL (e.g. https://127.0.0.1:8443)',
  }),
  port: setting({
    ini: 'port',
    parse: integer(1, 65535),
    default: 8099,
    doc: 'oxd-server socket port (ignored over HTTPS)',
    hint: 'set it to the oxd socket port, e.g. 8099',
  }),
  https: setting({
    ini: 'https_extension',
    parse: bool,
    default: false,
    doc: '`true` talks HTTPS (oxd-https-extension 3.x, oxd-server 4.x) instead of the socket; yes/no and 1/0 work too',
    hint: 'set it to true (oxd over HTTPS) or false (oxd socket)',
  }),
  serverVersion: setting({
    ini: 'server_version',
    parse: serverVersion,
    default: 3,
    doc: '`3` for oxd-server 3.x (socket) and oxd-https-extension 3.x, `4` for oxd-server 4.x REST (HTTPS only)',
    hint: 'set 3 for oxd-server 3.x / oxd-https-extension 3.x, 4 for oxd-server 4.x',
  }),
  oxdId: setting({
    ini: 'id',
    aliases: ['oxd_id'],
    parse: text,
    doc: "the registration's `oxd_id`; empty: register at start",
    hint: 'leave it empty to register at start, or set the oxd_id of an existing registration',
    writtenBack: 'after registration',
  }),
  protectCommands: setting({
    ini: 'protect_commands',
    parse: bool,
    default: false,
    doc: "socket only: send a protection token, as oxd's `protect_commands_with_access_token: true` requires (HTTPS always does)",
    hint: 'set it to true when oxd-conf.json has protect_commands_with_access_token: true',
  }),
  connectTimeoutMs: setting({
    ini: 'connect_timeout',
    parse: integer(1, MAX_TIMER_MS),
    default: 5000,
    doc: 'ms to wait for a connection to oxd',
    hint: 'set it in milliseconds, e.g. 5000',
  }),
  responseTimeoutMs: setting({
    ini: 'response_timeout',
    parse: integer(1, MAX_TIMER_MS),
    default: 30000,
    doc: 'ms a command may take from when it is asked, waiting for a free socket connection included; oxd calls the OP itself, so this covers a slow OP too',
    hint: 'set it in milliseconds, e.g. 30000',
  }),
  poolSize: setting({
    ini: 'pool_size',
    parse: integer(1, 64),
    default: 4,
    doc: 'socket connections kept open at most; each carries one command at a time',
    hint: 'set how many oxd socket connections to keep at most, e.g. 4',
  }),
  maxQueued: setting({
    ini: 'max_queued',
    parse: integer(0, 100000),
    default: 10000,
    doc: "socket only: commands that may wait for a free connection, a memory cap (about 1.6 kB each: the default is about 16 MB); the real limit is each command's `response_timeout`, so a queue that cannot drain in time fails its tail with `OXD_RESPONSE_TIMEOUT`; one more than this is refused at once with `OXD_BUSY` (503)",
    hint: 'set how many commands may wait for a socket connection, e.g. 10000',
  }),
  maxResponseBytes: setting({
    ini: 'max_response_bytes',
    parse: integer(1024, 1073741824),
    default: 1048576,
    doc: 'HTTPS only: largest oxd answer read, in bytes; a larger one fails with `OXD_FRAME_TOO_LARGE`',
    hint: 'set the largest oxd answer to accept in bytes, e.g. 1048576',
  }),
  caFile: setting({
    ini: 'ca_file',
    parse: text,
    doc: 'PEM file of the CA certificate(s) to trust for a self-signed oxd HTTPS server, relative to the INI file (in an object: to the working directory)',
    hint: 'set it to a PEM file with the CA certificate(s) that signed the oxd HTTPS certificate',
  }),
  ca: setting({
    ini: 'ca',
    objectOnly: true,
    iniInstead: 'ca_file',
    parse: pem,
    doc: 'the same CA certificate(s) as PEM text, instead of `caFile`',
    hint: 'give the PEM text of the CA certificate(s) that signed the oxd HTTPS certificate',
  }),
} as const;

/** `[client]`: the OpenID Connect client, as registered at the OP through oxd. */
export const CLIENT_SETTINGS = {
  authorizationRedirectUri: setting({
    ini: 'authorization_redirect_uri',
    parse: url('redirect'),
    required: true,
    doc: 'absolute URL of your callback; its path is the callback route',
    hint: REDIRECT_HINT,
  }),
  opHost: setting({
    ini: 'op_host',
    parse: url('op'),
    doc: "the OpenID Provider's https URL",
    hint: 'set it to the https URL of your OpenID Provider, e.g. https://op.example.com',
  }),
  opDiscoveryPath: setting({
    ini: 'op_discovery_path',
    parse: text,
    doc: "path of the OP's discovery document below `op_host`, if not the usual one",
    hint: 'set it to the discovery path below op_host, or leave it empty',
  }),
  opConfigurationEndpoint: setting({
    ini: 'op_configuration_endpoint',
    parse: url('op'),
    doc: "https URL of the OP's discovery document (`…/.well-known/openid-configuration`)",
    hint: 'set it to the https URL of the OP discovery document (…/.well-known/openid-configuration)',
  }),
  opCaFile: setting({
    ini: 'op_ca_file',
    parse: text,
    doc: "PEM file of extra CA certificate(s) to trust, besides the system's, when the middleware fetches the OP's discovery document and keys itself (back-channel logout on oxd 3.x), for a self-signed OP; relative to the INI file (in an object: to the working directory)",
    hint: 'set it to a PEM file with the CA certificate(s) that signed the OP HTTPS certificate',
  }),
  opCa: setting({
    ini: 'op_ca',
    objectOnly: true,
    iniInstead: 'op_ca_file',
    parse: pem,
    doc: 'the same CA certificate(s) as PEM text, instead of `opCaFile`',
    hint: 'give the PEM text of the CA certificate(s) that signed the OP HTTPS certificate',
  }),
  postLogoutRedirectUri: setting({
    ini: 'post_logout_redirect_uri',
    parse: url('app'),
    doc: 'where the OP sends the browser after logout',
    hint: 'set it to the absolute https URL users land on after logout, e.g. https://app.example.com/',
    writtenBack: 'after `update_site` changes it',
  }),
  clientFrontchannelLogoutUris: setting({
    ini: 'client_frontchannel_logout_uris',
    aliases: ['client_logout_uris'],
    parse: list(url('app')),
    default: NONE,
    doc: "front-channel logout URL(s); the first one's path is served",
    hint: 'list absolute https URLs, comma-separated, e.g. https://app.example.com/logout/frontchannel',
  }),
  redirectUris: setting({
    ini: 'redirect_uris',
    parse: list(url('redirect')),
    default: NONE,
    doc: 'extra redirect URIs to register',
    hint: 'list extra absolute https callback URLs, comma-separated',
  }),
  scope: setting({
    ini: 'scope',
    aliases: ['scopes'],
    parse: list(scopeItem),
    default: frozen('openid', 'profile', 'email'),
    doc: 'scopes to register and request; must include `openid`',
    hint: 'list scopes separated by commas, e.g. openid,profile,email',
  }),
  grantTypes: setting({
    ini: 'grant_types',
    parse: list(),
    default: frozen('authorization_code', 'refresh_token'),
    defaultWithClientToken: frozen('authorization_code', 'refresh_token', 'client_credentials'),
    doc: 'grant types to register (oxd obtains a protection token with `client_credentials`)',
    hint: 'list grant types separated by commas, e.g. authorization_code,refresh_token',
  }),
  responseTypes: setting({
    ini: 'response_types',
    parse: list(),
    default: frozen('code'),
    doc: 'response types to register: the authorization code flow',
    hint: 'list response types separated by commas, e.g. code',
  }),
  acrValues: setting({
    ini: 'acr_values',
    parse: list(),
    default: NONE,
    doc: 'ACR values passed to registration; none: the OP decides',
    hint: 'list ACR values separated by commas',
  }),
  contacts: setting({
    ini: 'contacts',
    parse: list(),
    default: NONE,
    doc: 'contact e-mail addresses passed to registration',
    hint: 'list e-mail addresses separated by commas',
  }),
  uiLocales: setting({
    ini: 'ui_locales',
    parse: list(),
    default: NONE,
    doc: "locales of the OP's pages, passed to registration; none: the OP decides",
    hint: 'list locales separated by commas, e.g. en',
  }),
  claimsLocales: setting({
    ini: 'claims_locales',
    parse: list(),
    default: NONE,
    doc: 'locales of the claims, passed to registration; none: the OP decides',
    hint: 'list locales separated by commas, e.g. en',
  }),
  claimsRedirectUri: setting({
    ini: 'claims_redirect_uri',
    parse: list(url('app')),
    default: NONE,
    doc: 'UMA claims-gathering callback URL(s), passed to registration',
    hint: 'list absolute https URLs of your UMA claims-gathering callback, comma-separated',
  }),
  clientRequestUris: setting({
    ini: 'client_request_uris',
    parse: list(url('app')),
    default: NONE,
    doc: 'request URIs, passed to registration',
    hint: 'list absolute https request URIs, comma-separated',
  }),
  clientName: setting({
    ini: 'client_name',
    parse: text,
    doc: 'the name the OP shows for your app, passed to registration',
    hint: 'set the name the OP shows for your app',
  }),
  clientJwksUri: setting({
    ini: 'client_jwks_uri',
    parse: url('app'),
    doc: 'URL of your JWK set, passed to registration',
    hint: 'set it to the absolute https URL of your JWK set',
  }),
  clientTokenEndpointAuthMethod: setting({
    ini: 'client_token_endpoint_auth_method',
    parse: oneOf(TOKEN_ENDPOINT_AUTH_METHODS),
    doc: `how the client authenticates at the token endpoint (${TOKEN_ENDPOINT_AUTH_METHODS.map((method) => `\`${method}\``).join(', ')}), passed to registration; none: the OP default`,
    hint: 'leave it empty for the OP default (client_secret_basic)',
  }),
  clientSectorIdentifierUri: setting({
    ini: 'client_sector_identifier_uri',
    parse: url('app'),
    doc: 'sector identifier URL, passed to registration',
    hint: 'set it to one absolute https URL',
  }),
  applicationType: setting({
    ini: 'application_type',
    parse: oneOf(['web', 'native']),
    doc: '`web` or `native`, passed to registration; none: the OP default (`web`)',
    hint: 'set it to web (the default) or native',
  }),
  clientId: setting({
    ini: 'client_id',
    parse: secret,
    doc: 'id of a pre-registered client (set it with `client_secret`)',
    hint: CLIENT_PAIR_HINT,
    writtenBack: 'after `setup_client` / 4.x `register_site`',
  }),
  clientSecret: setting({
    ini: 'client_secret',
    parse: secret,
    doc: 'secret of that client; the environment variable `EXPRESS_OXD_CLIENT_SECRET` overrides it (INI files only)',
    hint: CLIENT_PAIR_HINT,
    writtenBack: 'with `client_id`',
  }),
  clientRegistrationAccessToken: setting({
    ini: 'client_registration_access_token',
    parse: secret,
    doc: "the client's registration access token",
    hint: 'leave it to registration, which writes it',
    writtenBack: 'with the client',
  }),
  clientRegistrationClientUri: setting({
    ini: 'client_registration_client_uri',
    parse: url('app'),
    doc: "the client's registration URL at the OP",
    hint: 'leave it to registration, which writes it',
    writtenBack: 'with the client',
  }),
  protectionAccessToken: setting({
    ini: 'protection_access_token',
    parse: secret,
    doc: 'cached protection token; the environment variable `EXPRESS_OXD_PROTECTION_ACCESS_TOKEN` overrides it (INI files only)',
    hint: 'leave it to get_client_token, which writes it',
    writtenBack: 'after `get_client_token`',
  }),
  secretsFile: setting({
    ini: 'secrets_file',
    parse: text,
    doc: "INI file holding the registration results and secrets (`[oxd] id`, `[client] client_id`, `client_secret`, the tokens), relative to this file (in an object: to the working directory); its values win over this file's, and write-back and `express-oxd register` write there (owner-only) instead of into this file, which can then be public",
    hint: 'set it to the path of the secrets file, e.g. site-secrets.cfg; it is created on registration',
  }),
} as const;

export const SETTINGS = { oxd: OXD_SETTINGS, client: CLIENT_SETTINGS } as const;

/** One section's table, for code that walks it. */
export type SectionTable = Readonly<Record<string, Setting<unknown>>>;

export function table(section: SectionName): SectionTable {
  return SETTINGS[section];
}

/**
 * Keys found in oxd-python's own configuration files (its sample, demo, example and test
 * files, and `client_id_issued_at`, which its `setup_client` writes back) that express-oxd
 * does not read. A file made for oxd-python may hold them: they are ignored, not reported.
 */
export const OXD_PYTHON_ONLY_KEYS: { readonly [S in SectionName]: readonly string[] } = {
  oxd: ['connection_type', 'connection_type_value'],
  client: [
    'app_type',
    'client_frontchannel_logout_uri',
    'client_id_issued_at',
    'client_secret_expires_at',
    'client_uri',
    'default_acr_values',
    'default_max_age',
    'dynamic_registration',
    'grant_type',
    'id_token_encrypted_response_alg',
    'id_token_signed_response_alg',
    'initiate_login_uri',
    'jwks',
    'jwks_uri',
    'logo_uri',
    'logout_redirect_uri',
    'name',
    'policy_uri',
    'post_logout_uri',
    'primary_redirect_uri',
    'protect_commands_with_access_token',
    'request_object_encryption_alg',
    'request_object_encryption_enc',
    'request_object_signing_alg',
    'request_uris',
    'require_auth_time',
    'sector_identifier_uri',
    'subject_type',
    'token_endpoint_auth_method',
    'token_endpoint_auth_signing_alg',
    'tos_uri',
    'userinfo_encrypted_response_alg',
    'userinfo_encrypted_response_enc',
    'userinfo_signed_response_alg',
  ],
};
