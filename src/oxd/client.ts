/**
 * The oxd client: one typed method per oxd command, all driven by the `COMMANDS` table
 * through a single `call()`. It registers the site lazily (once, shared by concurrent
 * callers, retried after a failure), keeps the protection access token fresh, writes
 * registration results back to the configuration file, and normalises the few results
 * whose shape differs between oxd versions.
 */
import type { Dispatcher } from 'undici';
import { resolveConfig, type ConfigInput } from '../config/resolve';
import type { ClientSettings, OxdConfig, WriteBackValues } from '../config/types';
import { writeBack as writeBackFile } from '../config/write-back';
import {
  ERROR_CODES,
  OxdCommandError,
  OxdConfigError,
  OxdError,
  OxdProtocolError,
} from '../errors';
import {
  COMMANDS,
  type CommandName,
  type CommandSpec,
  type ParamsOf,
  type ResultOf,
  type ServerVersion,
} from './commands';
import { HttpsTransport } from './https-transport';
import { SocketTransport } from './socket-transport';
import type { OxdReply, Transport } from './transport';

export interface OxdClientOptions {
  /** Transport to use instead of the one the configuration selects. */
  transport?: Transport | undefined;
  /** undici dispatcher for the HTTPS transport (custom TLS, proxies). */
  dispatcher?: Dispatcher | undefined;
  /**
   * Persists registration results (oxd id, client credentials, protection token).
   * Default: written into `config.file` when the configuration came from a file.
   * `false` keeps them in memory only.
   */
  writeBack?: false | ((values: WriteBackValues) => Promise<void>) | undefined;
  /** Clock in milliseconds since the epoch, for token expiry. Default `Date.now`. */
  now?: (() => number) | undefined;
}

/** Scope of the protection access token: oxd checks for `oxd`. */
const TOKEN_SCOPE = ['openid', 'oxd'];
/** Extra scopes of the 3.x setup client. */
const SETUP_CLIENT_SCOPE = ['oxd', 'uma_protection'];
/** A token is renewed this long before oxd's `expires_in` runs out (at most 10% of it). */
const TOKEN_EXPIRY_MARGIN_MS = 30_000;

/** oxd errors meaning the protection token was missing, unknown or expired. */
const REJECTED_TOKEN_ERRORS = new Set([
  'blank_access_token',
  'invalid_access_token',
  'inactive_access_token',
  'blank_protection_access_token',
  'invalid_protection_access_token',
  'inactive_protection_access_token',
  // 3.x https-extension: `Forbidden Access` for a missing or malformed Bearer header.
  '403',
]);

interface Site {
  oxdId: string;
  clientId?: string | undefined;
  clientSecret?: string | undefined;
}

interface Token {
  value: string;
  /** Epoch milliseconds after which the token is renewed before use. */
  expiresAt: number;
}

type Data = Record<string, unknown>;

function isObject(value: unknown): value is Data {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Drops `undefined`, `null` and empty lists, so oxd applies its own defaults. */
function compact(values: Data): Data {
  return Object.fromEntries(
    Object.entries(values).filter(
      ([, v]) => v !== undefined && v !== null && !(Array.isArray(v) && v.length === 0),
    ),
  );
}

function union(...lists: readonly (readonly string[])[]): string[] {
  return [...new Set(lists.flat())];
}

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** Merges write-back values, leaving out unset keys and empty sections. */
function mergeValues(a: WriteBackValues | undefined, b: WriteBackValues): WriteBackValues {
  const section = <T extends object>(x: T | undefined, y: T | undefined): T | undefined => {
    const merged = Object.fromEntries(
      Object.entries({ ...x, ...y }).filter(([, v]) => v !== undefined),
    ) as T;
    return Object.keys(merged).length > 0 ? merged : undefined;
  };
  const oxd = section(a?.oxd, b.oxd);
  const client = section(a?.client, b.client);
  return { ...(oxd ? { oxd } : {}), ...(client ? { client } : {}) };
}

function isRejectedToken(reply: Extract<OxdReply, { ok: false }>): boolean {
  return (
    REJECTED_TOKEN_ERRORS.has(reply.error) ||
    (reply.httpStatus === 403 && reply.error === 'http_status_403')
  );
}

/** Result fixes per command, applied after nulls are dropped. */
const NORMALISE: { [N in CommandName]?: (data: Data, version: ServerVersion) => Data } = {
  getUserInfo(data, version) {
    // 4.x passes the OP's userinfo body through with HTTP 200 even when it is an error.
    if (typeof data.error === 'string') {
      throw new OxdCommandError(COMMANDS.getUserInfo.command, {
        error: data.error,
        error_description: optionalString(data.error_description),
      });
    }
    if (version === 4) return { claims: data };
    if (!isObject(data.claims)) {
      throw new OxdProtocolError('oxd get_user_info answered without a claims object');
    }
    return { claims: data.claims };
  },
  umaRpGetRpt(data) {
    const updated = data.updated ?? data.upgraded;
    return updated === undefined ? data : { ...data, updated, upgraded: updated };
  },
  registerSite(data) {
    const spaced = data['initiate_login_uri '];
    if (spaced === undefined) return data;
    const { ['initiate_login_uri ']: _spaced, ...rest } = data;
    return { initiate_login_uri: spaced, ...rest };
  },
};

function normalise(name: CommandName, data: Data, version: ServerVersion): Data {
  const present = Object.fromEntries(Object.entries(data).filter(([, v]) => v !== null));
  return NORMALISE[name]?.(present, version) ?? present;
}

function defaultTransport(config: OxdConfig, dispatcher: Dispatcher | undefined): Transport {
  const { oxd } = config;
  if (oxd.https) {
    return new HttpsTransport({
      baseUrl: oxd.host,
      serverVersion: oxd.serverVersion,
      ca: oxd.ca,
      dispatcher,
      connectTimeoutMs: oxd.connectTimeoutMs,
      responseTimeoutMs: oxd.responseTimeoutMs,
    });
  }
  return new SocketTransport({
    host: oxd.host,
    port: oxd.port,
    poolSize: oxd.poolSize,
    connectTimeoutMs: oxd.connectTimeoutMs,
    responseTimeoutMs: oxd.responseTimeoutMs,
  });
}

/** Registration params common to every dialect, from `[client]`. */
function metadataParams(client: ClientSettings, grantTypes: readonly string[]): Data {
  return {
    op_host: client.opHost,
    op_discovery_path: client.opDiscoveryPath,
    scope: client.scope,
    response_types: client.responseTypes,
    grant_types: grantTypes,
    acr_values: client.acrValues,
    client_frontchannel_logout_uris: client.clientFrontchannelLogoutUris,
    claims_redirect_uri: client.claimsRedirectUri,
    client_request_uris: client.clientRequestUris,
    contacts: client.contacts,
    ui_locales: client.uiLocales,
    claims_locales: client.claimsLocales,
    client_name: client.clientName,
    client_jwks_uri: client.clientJwksUri,
    client_token_endpoint_auth_method: client.clientTokenEndpointAuthMethod,
    client_sector_identifier_uri: client.clientSectorIdentifierUri,
    application_type: client.applicationType,
    client_id: client.clientId,
    client_secret: client.clientSecret,
    client_registration_access_token: client.clientRegistrationAccessToken,
    client_registration_client_uri: client.clientRegistrationClientUri,
  };
}

/**
 * Talks to oxd on behalf of one site. Create it once per application (it pools
 * connections) and `close()` it on shutdown.
 *
 * @example
 * const oxd = OxdClient.fromConfig('/etc/site/oxd.cfg');
 * const { authorization_url } = await oxd.getAuthorizationUrl();
 */
export class OxdClient {
  /** Server generation the client speaks to (`[oxd] server_version`). */
  readonly serverVersion: ServerVersion;
  private readonly config: OxdConfig;
  private readonly transport: Transport;
  private readonly persist: ((values: WriteBackValues) => Promise<void>) | undefined;
  private readonly now: () => number;
  /** Whether commands carry a protection access token in this dialect. */
  private readonly usesToken: boolean;
  private site: Site | undefined;
  private token: Token | undefined;
  /** Results not yet written back (kept after a failed write, retried on the next call). */
  private pending: WriteBackValues | undefined;
  private registering: Promise<string> | undefined;
  private renewing: Promise<string> | undefined;
  private closed = false;

  constructor(config: OxdConfig, options: OxdClientOptions = {}) {
    this.config = config;
    this.serverVersion = config.oxd.serverVersion;
    this.transport = options.transport ?? defaultTransport(config, options.dispatcher);
    this.usesToken = this.transport.kind === 'https' || config.oxd.protectCommands;
    this.now = options.now ?? Date.now;
    const file = config.file;
    this.persist =
      options.writeBack === false
        ? undefined
        : (options.writeBack ??
          (file === undefined ? undefined : (values) => writeBackFile(file, values)));

    const { oxdId } = config.oxd;
    const { clientId, clientSecret, protectionAccessToken } = config.client;
    if (oxdId && (!this.usesToken || (clientId && clientSecret))) {
      this.site = { oxdId, clientId, clientSecret };
      if (this.usesToken && protectionAccessToken) {
        // Its lifetime is unknown: it is used until oxd rejects it.
        this.token = { value: protectionAccessToken, expiresAt: Number.POSITIVE_INFINITY };
      }
    }
  }

  /**
   * Resolves `input` (INI file path or settings object, see `resolveConfig`) and creates a
   * client for it. Throws `OxdConfigError` for a bad configuration.
   */
  static fromConfig(input: string | ConfigInput, options: OxdClientOptions = {}): OxdClient {
    return new OxdClient(resolveConfig(input), options);
  }

  /** The site's `oxd_id`, once registered (or given in the configuration). */
  get oxdId(): string | undefined {
    return this.site?.oxdId;
  }

  /** `socket` (oxd-server 3.x) or `https`. */
  get transportKind(): 'socket' | 'https' {
    return this.transport.kind;
  }

  /**
   * Registers the site with oxd unless the configuration already holds the registration,
   * obtains the protection access token where the dialect needs one, writes the results
   * back, and returns the `oxd_id`. Concurrent calls share one registration; a failed one
   * is retried by the next call. Commands call this on their own when they need it.
   */
  register(): Promise<string> {
    if (this.closed) return Promise.reject(this.closedError());
    const site = this.site;
    if (site && !this.pending && (!this.usesToken || this.token)) {
      return Promise.resolve(site.oxdId);
    }
    this.registering ??= this.completeRegistration().finally(() => {
      this.registering = undefined;
    });
    return this.registering;
  }

  /** Closes the transport's connections. Later calls fail with `OXD_CLIENT_CLOSED`. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.transport.close();
  }

  // ---------------------------------------------------------------------------------------
  // Commands

  /** 3.x: registers a setup client and a site; returns the setup client's credentials. */
  setupClient(params: ParamsOf<'setupClient'>): Promise<ResultOf<'setupClient'>> {
    return this.call('setupClient', params);
  }

  /** Obtains an access token for a client by the client-credentials grant. */
  getClientToken(params: ParamsOf<'getClientToken'>): Promise<ResultOf<'getClientToken'>> {
    return this.call('getClientToken', params);
  }

  /** Introspects an OAuth access token at the OP. */
  introspectAccessToken(
    params: ParamsOf<'introspectAccessToken'>,
  ): Promise<ResultOf<'introspectAccessToken'>> {
    return this.call('introspectAccessToken', params);
  }

  /** Registers a site (a client at the OP) with explicit params; see also {@link register}. */
  registerSite(params: ParamsOf<'registerSite'>): Promise<ResultOf<'registerSite'>> {
    return this.call('registerSite', params);
  }

  /** Updates the registered site's client metadata. */
  updateSite(params: ParamsOf<'updateSite'>): Promise<ResultOf<'updateSite'>> {
    return this.call('updateSite', params);
  }

  /** Removes the site from oxd. */
  removeSite(params: ParamsOf<'removeSite'> = {}): Promise<ResultOf<'removeSite'>> {
    return this.call('removeSite', params);
  }

  /** Builds the OP authorization URL to send the user's browser to (oxd keeps state/nonce). */
  getAuthorizationUrl(
    params: ParamsOf<'getAuthorizationUrl'> = {},
  ): Promise<ResultOf<'getAuthorizationUrl'>> {
    return this.call('getAuthorizationUrl', params);
  }

  /** Exchanges the callback's `code` and `state` for tokens; validates the ID token. */
  getTokensByCode(params: ParamsOf<'getTokensByCode'>): Promise<ResultOf<'getTokensByCode'>> {
    return this.call('getTokensByCode', params);
  }

  /** Gets a new access token with a refresh token. */
  getAccessTokenByRefreshToken(
    params: ParamsOf<'getAccessTokenByRefreshToken'>,
  ): Promise<ResultOf<'getAccessTokenByRefreshToken'>> {
    return this.call('getAccessTokenByRefreshToken', params);
  }

  /**
   * Fetches the user's claims from the OP's userinfo endpoint, always as `{claims}`
   * (3.x sends each value as a list of strings, 4.x as the OP sent it). A userinfo
   * error that 4.x passes through with HTTP 200 is thrown as `OxdCommandError`.
   */
  getUserInfo(params: ParamsOf<'getUserInfo'>): Promise<ResultOf<'getUserInfo'>> {
    return this.call('getUserInfo', params);
  }

  /** Builds the OP end-session URI. Older oxd versions ignore `id_token_hint`. */
  getLogoutUri(params: ParamsOf<'getLogoutUri'> = {}): Promise<ResultOf<'getLogoutUri'>> {
    return this.call('getLogoutUri', params);
  }

  /** UMA RS: registers protected resources (paths, methods, scopes). */
  umaRsProtect(params: ParamsOf<'umaRsProtect'>): Promise<ResultOf<'umaRsProtect'>> {
    return this.call('umaRsProtect', params);
  }

  /** UMA RS (4.x): changes the scopes of one protected path and method. */
  umaRsModify(params: ParamsOf<'umaRsModify'>): Promise<ResultOf<'umaRsModify'>> {
    return this.call('umaRsModify', params);
  }

  /** UMA RS: checks an RPT for a path and method; a denial carries a ticket and header. */
  umaRsCheckAccess(params: ParamsOf<'umaRsCheckAccess'>): Promise<ResultOf<'umaRsCheckAccess'>> {
    return this.call('umaRsCheckAccess', params);
  }

  /** UMA: introspects an RPT. */
  introspectRpt(params: ParamsOf<'introspectRpt'>): Promise<ResultOf<'introspectRpt'>> {
    return this.call('introspectRpt', params);
  }

  /**
   * UMA RP: exchanges a permission ticket for an RPT. `updated` and `upgraded` are both
   * set from whichever oxd sent. `need_info` arrives as `OxdCommandError` with `details`.
   */
  umaRpGetRpt(params: ParamsOf<'umaRpGetRpt'>): Promise<ResultOf<'umaRpGetRpt'>> {
    return this.call('umaRpGetRpt', params);
  }

  /** UMA RP: builds the claims-gathering URL for a `need_info` ticket. */
  umaRpGetClaimsGatheringUrl(
    params: ParamsOf<'umaRpGetClaimsGatheringUrl'>,
  ): Promise<ResultOf<'umaRpGetClaimsGatheringUrl'>> {
    return this.call('umaRpGetClaimsGatheringUrl', params);
  }

  /** Reads oxd's record of the site (or of all sites with `list: true`). */
  getRp(params: ParamsOf<'getRp'> = {}): Promise<ResultOf<'getRp'>> {
    return this.call('getRp', params);
  }

  /** 4.x: fetches the OP's JSON Web Key Set. */
  getJwks(params: ParamsOf<'getJwks'> = {}): Promise<ResultOf<'getJwks'>> {
    return this.call('getJwks', params);
  }

  /** 4.x: fetches the OP's discovery document. */
  getDiscovery(params: ParamsOf<'getDiscovery'> = {}): Promise<ResultOf<'getDiscovery'>> {
    return this.call('getDiscovery', params);
  }

  /** 4.2+: WebFinger issuer discovery for a resource (`/get-issuer`). */
  issuerDiscovery(params: ParamsOf<'issuerDiscovery'>): Promise<ResultOf<'issuerDiscovery'>> {
    return this.call('issuerDiscovery', params);
  }

  /** Validates an ID token (`id_token_status`, `/check-id-token`). */
  checkIdToken(params: ParamsOf<'checkIdToken'>): Promise<ResultOf<'checkIdToken'>> {
    return this.call('checkIdToken', params);
  }

  /** Validates an access token against its ID token (`access_token_status`). */
  checkAccessToken(params: ParamsOf<'checkAccessToken'>): Promise<ResultOf<'checkAccessToken'>> {
    return this.call('checkAccessToken', params);
  }

  /** Test aid of oxd: logs a user in directly and returns an authorization code. */
  getAuthorizationCode(
    params: ParamsOf<'getAuthorizationCode'> = {},
  ): Promise<ResultOf<'getAuthorizationCode'>> {
    return this.call('getAuthorizationCode', params);
  }

  /** 4.2+: stores a signed request object and returns its `request_uri`. */
  getRequestUri(params: ParamsOf<'getRequestUri'>): Promise<ResultOf<'getRequestUri'>> {
    return this.call('getRequestUri', params);
  }

  // ---------------------------------------------------------------------------------------
  // Plumbing

  private async call<N extends CommandName>(name: N, params: ParamsOf<N>): Promise<ResultOf<N>> {
    const spec: CommandSpec = COMMANDS[name];
    if (this.closed) throw this.closedError();
    if (!spec.versions.includes(this.serverVersion)) {
      throw new OxdConfigError(
        `${name} (oxd ${spec.command}) is not available on oxd server version ${this.serverVersion}; ` +
          `it exists in version ${spec.versions.join(' and ')} only (see [oxd] server_version)`,
        { key: 'server_version' },
      );
    }
    const wire: Data = { ...params };
    if (spec.needsOxdId && wire.oxd_id === undefined) wire.oxd_id = await this.register();
    const data = await this.send(spec, wire);
    return normalise(name, data, this.serverVersion) as ResultOf<N>;
  }

  /** Sends with the protection token; a rejected token is renewed once and the command retried. */
  private async send(spec: CommandSpec, params: Data): Promise<Data> {
    const token = this.usesToken && !spec.bootstrap ? await this.currentToken() : undefined;
    let reply = await this.exchange(spec, params, token);
    if (!reply.ok && token !== undefined && isRejectedToken(reply)) {
      reply = await this.exchange(spec, params, await this.renewToken(token));
    }
    if (!reply.ok) throw new OxdCommandError(spec.command, reply);
    return reply.data;
  }

  private exchange(spec: CommandSpec, params: Data, token: string | undefined): Promise<OxdReply> {
    return this.transport.send({
      command: spec.command,
      path: spec.path,
      params,
      ...(token === undefined ? {} : { token }),
    });
  }

  /** Sends a command that needs neither registration nor token; throws oxd errors. */
  private async bootstrap(spec: CommandSpec, params: Data): Promise<Data> {
    const reply = await this.exchange(spec, params, undefined);
    if (!reply.ok) throw new OxdCommandError(spec.command, reply);
    return Object.fromEntries(Object.entries(reply.data).filter(([, v]) => v !== null));
  }

  private async completeRegistration(): Promise<string> {
    let site = this.site;
    if (!site) {
      const registered = await this.registerOnServer();
      site = registered.site;
      this.site = site;
      this.token = undefined;
      this.pending = mergeValues(this.pending, registered.values);
    }
    if (this.usesToken && !this.token) {
      const token = await this.requestToken(site);
      this.token = token;
      this.pending = mergeValues(this.pending, {
        client: { protection_access_token: token.value },
      });
    }
    await this.flush();
    return site.oxdId;
  }

  /** The dialect's registration: `setup_client` (3.x with tokens) or `register_site`. */
  private async registerOnServer(): Promise<{ site: Site; values: WriteBackValues }> {
    const { client } = this.config;
    const grantTypes = this.usesToken
      ? union(client.grantTypes.length > 0 ? client.grantTypes : ['authorization_code'], [
          'client_credentials',
        ])
      : client.grantTypes;
    const common = metadataParams(client, grantTypes);
    let spec: CommandSpec;
    let params: Data;
    if (this.serverVersion === 4) {
      spec = COMMANDS.registerSite;
      params = {
        ...common,
        op_configuration_endpoint: client.opConfigurationEndpoint,
        redirect_uris: union([client.authorizationRedirectUri], client.redirectUris),
        post_logout_redirect_uris: client.postLogoutRedirectUri
          ? [client.postLogoutRedirectUri]
          : [],
      };
    } else {
      spec = this.usesToken ? COMMANDS.setupClient : COMMANDS.registerSite;
      params = {
        ...common,
        authorization_redirect_uri: client.authorizationRedirectUri,
        redirect_uris: client.redirectUris,
        post_logout_redirect_uri: client.postLogoutRedirectUri,
      };
      if (this.usesToken) {
        params.scope = union(
          client.scope.length > 0 ? client.scope : ['openid'],
          SETUP_CLIENT_SCOPE,
        );
      }
    }
    const data = await this.bootstrap(spec, compact(params));
    const oxdId = optionalString(data.oxd_id);
    const clientId = optionalString(data.client_id) ?? client.clientId;
    const clientSecret = optionalString(data.client_secret) ?? client.clientSecret;
    if (!oxdId || (this.usesToken && (!clientId || !clientSecret))) {
      throw new OxdProtocolError(
        `oxd ${spec.command} answered without ${oxdId ? 'client_id/client_secret' : 'oxd_id'}`,
      );
    }
    return {
      site: { oxdId, clientId, clientSecret },
      values: {
        oxd: { id: oxdId },
        client: {
          client_id: optionalString(data.client_id),
          client_secret: optionalString(data.client_secret),
          client_registration_access_token: optionalString(data.client_registration_access_token),
          client_registration_client_uri: optionalString(data.client_registration_client_uri),
        },
      },
    };
  }

  /** `get_client_token` for the site's client (3.x: the setup client). */
  private async requestToken(site: Site): Promise<Token> {
    const { client } = this.config;
    if (!site.clientId || !site.clientSecret) {
      throw new OxdConfigError(
        'a protection access token is needed but [client] client_id/client_secret are not known; ' +
          'clear [oxd] id so that the site is registered again',
        { key: 'client_id' },
      );
    }
    const data = await this.bootstrap(
      COMMANDS.getClientToken,
      compact({
        client_id: site.clientId,
        client_secret: site.clientSecret,
        op_host: client.opHost,
        op_discovery_path: client.opDiscoveryPath,
        op_configuration_endpoint:
          this.serverVersion === 4 ? client.opConfigurationEndpoint : undefined,
        scope: TOKEN_SCOPE,
      }),
    );
    const value = optionalString(data.access_token);
    if (!value) throw new OxdProtocolError('oxd get_client_token answered without access_token');
    const lifetimeMs = typeof data.expires_in === 'number' ? data.expires_in * 1000 : 0;
    const expiresAt =
      lifetimeMs > 0
        ? this.now() + lifetimeMs - Math.min(TOKEN_EXPIRY_MARGIN_MS, lifetimeMs / 10)
        : Number.POSITIVE_INFINITY;
    return { value, expiresAt };
  }

  /** A usable protection token: registering first, renewing an expired one. */
  private async currentToken(): Promise<string> {
    await this.register();
    const token = this.token;
    if (token && this.now() < token.expiresAt) return token.value;
    return this.renewToken(token?.value);
  }

  /** Renews the token unless someone already replaced `stale`; one fetch at a time. */
  private renewToken(stale: string | undefined): Promise<string> {
    const token = this.token;
    if (token && token.value !== stale && this.now() < token.expiresAt) {
      return Promise.resolve(token.value);
    }
    this.renewing ??= this.fetchToken().finally(() => {
      this.renewing = undefined;
    });
    return this.renewing;
  }

  private async fetchToken(): Promise<string> {
    // Only reached after register(), which sets the site.
    const token = await this.requestToken(this.site as Site);
    this.token = token;
    this.pending = mergeValues(this.pending, { client: { protection_access_token: token.value } });
    await this.flush();
    return token.value;
  }

  /** Writes pending results back; on failure they stay pending and the error is thrown. */
  private async flush(): Promise<void> {
    const values = this.pending;
    if (!values) return;
    if (!this.persist) {
      this.pending = undefined;
      return;
    }
    try {
      await this.persist(values);
    } catch (cause) {
      if (cause instanceof OxdError) throw cause;
      throw new OxdConfigError(
        `could not write the oxd registration back${this.config.file ? ` to ${this.config.file}` : ''}: ` +
          `${cause instanceof Error ? cause.message : String(cause)}; check that the file is writable`,
        { code: ERROR_CODES.CONFIG_WRITE, file: this.config.file },
        { cause },
      );
    }
    if (this.pending === values) this.pending = undefined;
  }

  private closedError(): OxdError {
    return new OxdError(
      ERROR_CODES.CLOSED,
      'the oxd client is closed; create a new client to send more commands',
    );
  }
}
