/**
 * The oxd client: one typed method per oxd command, all driven by the `COMMANDS` table
 * through a single `call()`. It picks the transport the configuration names, registers the
 * site lazily (once, shared by concurrent callers, retried after a failure; see
 * registration.ts), keeps the protection token fresh (protection-token.ts) and hands out
 * only results that were checked (results.ts). It reads and writes no file: registration
 * results go to the `writeBack` callback its creator passes.
 */
import type { Dispatcher } from 'undici';
import type { OxdConfig, ServerVersion, WriteBackValues } from '../config/types';
import { ERROR_CODES, OxdCommandError, OxdConfigError, OxdError } from '../errors';
import { loggerOf, type Logger } from '../logger';
import { observeCommand, takeParent, type TelemetrySpan } from '../telemetry';
import {
  COMMANDS,
  type CommandName,
  type CommandSpec,
  type ParamsOf,
  type ResultOf,
} from './commands';
import { defaultTransport, isUnknownSite, pingTransport } from './client-support';
import { isRejectedToken } from './protection-token';
import { SiteRegistration, type ReadSavedRegistration, type RegisterOnce } from './registration';
import { updateSiteParamsFromConfig } from './update-site';
import { readResult } from './results';
import type { OxdReply, Transport } from './transport';

export interface OxdClientOptions {
  /** Transport to use instead of the one the configuration selects. */
  transport?: Transport | undefined;
  /** undici dispatcher for the HTTPS transport (custom TLS, proxies). */
  dispatcher?: Dispatcher | undefined;
  /**
   * Saves registration results (oxd id, client credentials, protection token) so that a
   * restart does not register again. Not set or `false`: they are kept in memory only.
   * `createOxdClient()` (and `OxdClient.fromConfig()`, `oxdAuth()`) set it to write them
   * into the configuration file when the configuration came from one, unless it is `false`.
   */
  writeBack?: false | ((values: WriteBackValues) => Promise<void>) | undefined;
  /**
   * Makes one registration out of those of several processes sharing saved results (see
   * `RegisterOnce`). `createOxdClient()` sets it, for a configuration from a file, to a
   * registration under the file's lock that first re-reads the file.
   */
  registerOnce?: RegisterOnce | undefined;
  /**
   * Reads the saved registration, so that a client whose site oxd no longer knows (or that
   * receives a login another process started under a newer site) adopts the newer one.
   * `createOxdClient()` sets it to read the configuration file.
   */
  readSaved?: ReadSavedRegistration | undefined;
  /** Clock in milliseconds since the epoch, for token expiry. Default `Date.now`. */
  now?: (() => number) | undefined;
  /**
   * Told what an operator should see: oxd reached in clear, secrets others can read, and
   * the failures of the UMA helpers using this client (`umaGetRpt()`, `umaFetch()`,
   * `umaClaims()`); also the default logger of `oxdAuth()` and `umaProtect()` given this
   * client. `warn(message, fields)` and `error(message, fields)`, as `console` (the default)
   * and winston have them.
   */
  logger?: Logger | undefined;
}

type Data = Record<string, unknown>;

/**
 * Talks to oxd on behalf of one site. Create it once per application (it pools
 * connections) and `close()` it on shutdown.
 *
 * @example
 * const oxd = createOxdClient('/etc/site/oxd.cfg');
 * const { authorization_url } = await oxd.getAuthorizationUrl();
 */
export class OxdClient {
  /** Server generation the client speaks to (`[oxd] server_version`). */
  readonly serverVersion: ServerVersion;
  /** Where failures of operations using this client are logged (`logger` option). */
  readonly logger: Logger;
  private readonly transport: Transport;
  /** Whether commands carry a protection access token in this dialect. */
  private readonly usesToken: boolean;
  private readonly config: OxdConfig;
  private readonly registration: SiteRegistration;
  private closed = false;
  private closed$: Promise<void> = Promise.resolve();
  /** Commands asked and not yet settled, for a draining {@link close}. */
  private readonly pending = new Set<Promise<unknown>>();
  /** The span of the command whose registration or token the next bootstrap command serves. */
  private bootstrapParent: TelemetrySpan | undefined;

  constructor(config: OxdConfig, options: OxdClientOptions = {}) {
    this.config = config;
    this.serverVersion = config.oxd.serverVersion;
    this.logger = loggerOf(options.logger, 'OxdClient option');
    this.transport = options.transport ?? defaultTransport(config, options.dispatcher, this.logger);
    this.usesToken = this.transport.kind === 'https' || config.oxd.protectCommands;
    this.registration = new SiteRegistration({
      config,
      usesToken: this.usesToken,
      bootstrap: (name, params) => this.bootstrap(name, params),
      save: options.writeBack || undefined,
      registerOnce: options.registerOnce,
      readSaved: options.readSaved,
      now: options.now ?? Date.now,
      logger: this.logger,
    });
  }

  /** The site's `oxd_id`, once registered (or given in the configuration). */
  get oxdId(): string | undefined {
    return this.registration.oxdId;
  }

  /** The site's OP `client_id`, once known (4.x registration, or the configuration). */
  get clientId(): string | undefined {
    return this.registration.clientId;
  }

  /** `socket` (oxd-server 3.x) or `https`. */
  get transportKind(): 'socket' | 'https' {
    return this.transport.kind;
  }

  /**
   * Registers the site with oxd unless the configuration already holds the registration,
   * obtains the protection access token where the dialect needs one, saves the results
   * (`writeBack`), and returns the `oxd_id`. Concurrent calls share one registration; a
   * failed one is retried by the next call. Commands call this on their own when they need it.
   */
  register(): Promise<string> {
    if (this.closed) return Promise.reject(this.closedError());
    return this.registration.ensure();
  }

  /**
   * Readiness: asks oxd something cheap needing no registration (HTTPS `GET /health-check`;
   * socket: `get_rp` without a site, answered from oxd's storage, queued like any command)
   * and resolves with the milliseconds it took, or rejects with the `OxdError` saying why
   * (`OXD_RESPONSE_TIMEOUT` after `timeoutMs`, default 2000; `OXD_CLIENT_CLOSED`; …).
   */
  async ping(options: { timeoutMs?: number } = {}): Promise<number> {
    const timeoutMs = options.timeoutMs ?? 2000;
    if (!(timeoutMs > 0 && Number.isFinite(timeoutMs))) {
      throw new OxdConfigError(`ping timeoutMs must be a positive number, got ${timeoutMs}`);
    }
    if (this.closed) throw this.closedError();
    const started = Date.now();
    await pingTransport(this.transport, timeoutMs);
    return Date.now() - started;
  }

  /** True once {@link close} was called: new commands fail with `OXD_CLIENT_CLOSED`. */
  get closing(): boolean {
    return this.closed;
  }

  /**
   * Closes the client: new commands fail with `OXD_CLIENT_CLOSED`, and so do those waiting
   * or running, unless `drain: true` lets them finish first (each within its deadline).
   */
  async close(options: { drain?: boolean } = {}): Promise<void> {
    if (this.closed) return this.closed$;
    this.closed = true;
    const pending = options.drain === true ? [...this.pending] : [];
    this.closed$ = Promise.allSettled(pending).then(() => this.transport.close());
    return this.closed$;
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

  /**
   * Updates the registered site's client metadata: `params`, or without them the
   * configuration's `[client]` values (as oxd-python's `update_site()`). A changed post-logout
   * redirect URI is remembered (see {@link postLogoutRedirectUri}) and saved with `writeBack`.
   */
  async updateSite(given?: ParamsOf<'updateSite'>): Promise<ResultOf<'updateSite'>> {
    const params = given ?? updateSiteParamsFromConfig(this.config, this.usesToken);
    const result = await this.call('updateSite', params);
    const postLogout =
      this.serverVersion === 4
        ? (params.post_logout_redirect_uris?.[0] ?? params.post_logout_redirect_uri)
        : (params.post_logout_redirect_uri ?? params.post_logout_redirect_uris?.[0]);
    await this.registration.updated({ postLogoutRedirectUri: postLogout || undefined });
    return result;
  }

  /**
   * The post-logout redirect URI the OP has registered for the site: the one the last
   * successful {@link updateSite} set, else `[client] post_logout_redirect_uri`.
   */
  get postLogoutRedirectUri(): string | undefined {
    return this.registration.postLogoutRedirectUri;
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

  /** One command in its span, under the parent given by `withParent()` (read synchronously). */
  private call<N extends CommandName>(name: N, params: ParamsOf<N>): Promise<ResultOf<N>> {
    const asked = observeCommand(this.commandInfo(name), takeParent(), (span) =>
      this.run(name, params, span),
    );
    // Commands asked before a draining close() are let finish: it waits for these.
    this.pending.add(asked);
    const settled = () => void this.pending.delete(asked);
    asked.then(settled, settled);
    return asked;
  }

  private commandInfo(name: CommandName) {
    const { command } = COMMANDS[name];
    return { command, transport: this.transport.kind, serverVersion: this.serverVersion };
  }

  private async run<N extends CommandName>(
    name: N,
    params: ParamsOf<N>,
    span: TelemetrySpan | undefined,
  ): Promise<ResultOf<N>> {
    const spec: CommandSpec = COMMANDS[name];
    if (this.closed) throw this.closedError();
    if (!spec.versions.includes(this.serverVersion)) {
      throw new OxdConfigError(
        `${name} (oxd ${spec.command}) is not available on oxd server version ${this.serverVersion}; ` +
          `it exists in version ${spec.versions.join(' and ')} only (see [oxd] server_version)`,
        { key: 'server_version' },
      );
    }
    const given: Data = { ...params };
    const ownId = spec.needsOxdId && given.oxd_id === undefined;
    let reply = await this.send(name, spec, given, ownId, span);
    if (
      !reply.ok &&
      ownId &&
      isUnknownSite(name, reply) &&
      (await this.registration.adoptSaved())
    ) {
      reply = await this.send(name, spec, given, ownId, span);
    }
    return this.result(name, reply);
  }

  /** One attempt: the site's id and token filled in, a rejected token renewed once. */
  private async send(
    name: CommandName,
    spec: CommandSpec,
    params: Data,
    ownId: boolean,
    span: TelemetrySpan | undefined,
  ): Promise<OxdReply> {
    const wire: Data = { ...params };
    this.bootstrapParent = span;
    // Not `register()`: a command asked before a draining close() may still need it.
    if (ownId) wire.oxd_id = await this.registration.ensure();
    const token =
      this.usesToken && !spec.bootstrap ? await this.registration.currentToken() : undefined;
    const reply = await this.exchange(name, wire, token);
    if (!reply.ok && token !== undefined && isRejectedToken(reply)) {
      this.bootstrapParent = span;
      return this.exchange(name, wire, await this.registration.renewToken(token));
    }
    return reply;
  }

  private exchange(name: CommandName, params: Data, token: string | undefined): Promise<OxdReply> {
    const { command, path } = COMMANDS[name];
    return this.transport.send({
      command,
      path,
      params,
      ...(token === undefined ? {} : { token }),
    });
  }

  /** oxd's answer as the command's checked result; oxd errors are thrown. */
  private result<N extends CommandName>(name: N, reply: OxdReply): ResultOf<N> {
    if (!reply.ok) throw new OxdCommandError(COMMANDS[name].command, reply);
    return readResult(name, reply.data, this.serverVersion);
  }

  /** Sends a command that needs neither registration nor token. */
  private bootstrap<N extends CommandName>(name: N, params: Data): Promise<ResultOf<N>> {
    return observeCommand(this.commandInfo(name), this.bootstrapParent, async () =>
      this.result(name, await this.exchange(name, params, undefined)),
    );
  }

  private closedError(): OxdError {
    return new OxdError(
      ERROR_CODES.CLIENT_CLOSED,
      'the oxd client is closed; create a new client to send more commands',
    );
  }
}
