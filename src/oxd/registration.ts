/**
 * The site's registration with oxd: registering per dialect (`setup_client` on 3.x with a
 * protection token, `register_site` otherwise, with 3.x or 4.x params), once and lazily,
 * shared by concurrent callers and retried after a failure; the protection token that goes
 * with it; and the queue of results waiting to be saved by the creator's `writeBack`
 * callback. Nothing here touches a file.
 */
import type { ClientSettings, OxdConfig, ServerVersion, WriteBackValues } from '../config/types';
import { ERROR_CODES, OxdError, OxdProtocolError } from '../errors';
import type { Logger } from '../logger';
import { COMMANDS, type ResultOf } from './commands';
import { PendingWrites, type SaveRegistration } from './pending-writes';
import { clientTokenParams, ProtectionToken, tokenOf, type Token } from './protection-token';

type Data = Record<string, unknown>;

/** The site as oxd knows it. */
export interface Site {
  oxdId: string;
  clientId?: string | undefined;
  clientSecret?: string | undefined;
}

export type { SaveRegistration } from './pending-writes';

/**
 * Makes one registration out of the registrations of several processes that share saved
 * results (a configuration file): runs `register` in one process at a time, handing it what
 * is saved at that moment; `register` answers `undefined` when the saved results are
 * usable, else the new results, which the hook saves before letting the next process in.
 * Resolves with the results now saved (merged).
 */
export type RegisterOnce = (
  register: (saved: WriteBackValues) => Promise<WriteBackValues | undefined>,
) => Promise<WriteBackValues>;

/** Reads the registration results saved now (by this process or another one). */
export type ReadSavedRegistration = () => Promise<WriteBackValues>;

/** Extra scopes of the 3.x setup client. */
const SETUP_CLIENT_SCOPE = ['oxd', 'uma_protection'];

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

function nonEmpty(value: string | undefined): string | undefined {
  return value === '' ? undefined : value;
}

/** The registration the configuration already holds, if it is complete for the dialect. */
function siteFromConfig(config: OxdConfig, usesToken: boolean): Site | undefined {
  const { oxdId } = config.oxd;
  const { clientId, clientSecret } = config.client;
  if (!oxdId || (usesToken && !(clientId && clientSecret))) return undefined;
  return { oxdId, clientId, clientSecret };
}

/** The site saved results describe, if they are complete for the dialect. */
function siteFromSaved(
  saved: WriteBackValues,
  config: OxdConfig,
  usesToken: boolean,
): Site | undefined {
  const oxdId = saved.oxd?.id;
  const clientId = saved.client?.client_id ?? config.client.clientId;
  const clientSecret = saved.client?.client_secret ?? config.client.clientSecret;
  if (!oxdId || (usesToken && !(clientId && clientSecret))) return undefined;
  return { oxdId, clientId, clientSecret };
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

interface RegistrationRequest {
  readonly name: 'setupClient' | 'registerSite';
  readonly params: Data;
}

/** The dialect's registration command and its params (compacted). */
export function registrationRequest(
  client: ClientSettings,
  version: ServerVersion,
  usesToken: boolean,
): RegistrationRequest {
  const grantTypes = usesToken
    ? union(client.grantTypes.length > 0 ? client.grantTypes : ['authorization_code'], [
        'client_credentials',
      ])
    : client.grantTypes;
  const common = metadataParams(client, grantTypes);
  if (version === 4) {
    return {
      name: 'registerSite',
      params: compact({
        ...common,
        op_configuration_endpoint: client.opConfigurationEndpoint,
        redirect_uris: union([client.authorizationRedirectUri], client.redirectUris),
        post_logout_redirect_uris: client.postLogoutRedirectUri
          ? [client.postLogoutRedirectUri]
          : [],
        // The OP then sends `iss` and `sid` to the front-channel logout URI, which are
        // required to end a session there (oxd 3.x has no such parameter).
        front_channel_logout_session_required:
          client.clientFrontchannelLogoutUris.length > 0 ? true : undefined,
      }),
    };
  }
  const params: Data = {
    ...common,
    authorization_redirect_uri: client.authorizationRedirectUri,
    redirect_uris: client.redirectUris,
    post_logout_redirect_uri: client.postLogoutRedirectUri,
  };
  if (!usesToken) return { name: 'registerSite', params: compact(params) };
  params.scope = union(client.scope.length > 0 ? client.scope : ['openid'], SETUP_CLIENT_SCOPE);
  return { name: 'setupClient', params: compact(params) };
}

/**
 * The site a (checked) registration answer describes, and the values to save. Client
 * credentials oxd did not return are taken from the configuration (a pre-registered client);
 * a dialect that needs a protection token cannot go on without them.
 */
function registrationOutcome(
  request: RegistrationRequest,
  result: ResultOf<'setupClient'> | ResultOf<'registerSite'>,
  client: ClientSettings,
  usesToken: boolean,
): { site: Site; values: WriteBackValues } {
  const returnedId = nonEmpty(result.client_id);
  const returnedSecret = nonEmpty(result.client_secret);
  const clientId = returnedId ?? client.clientId;
  const clientSecret = returnedSecret ?? client.clientSecret;
  if (usesToken && (!clientId || !clientSecret)) {
    throw new OxdProtocolError(
      `oxd ${COMMANDS[request.name].command} answered without client_id/client_secret`,
    );
  }
  return {
    site: { oxdId: result.oxd_id, clientId, clientSecret },
    values: {
      oxd: { id: result.oxd_id },
      client: {
        client_id: returnedId,
        client_secret: returnedSecret,
        client_registration_access_token: nonEmpty(result.client_registration_access_token),
        client_registration_client_uri: nonEmpty(result.client_registration_client_uri),
      },
    },
  };
}

/** A failure to save registration results (`OXD_CONFIG_WRITE_FAILED`). */
function isWriteFailure(err: unknown): boolean {
  return err instanceof OxdError && err.code === ERROR_CODES.CONFIG_WRITE_FAILED;
}

/** Sends a command that needs neither registration nor token; resolves its checked result. */
export type Bootstrap = <N extends 'setupClient' | 'registerSite' | 'getClientToken'>(
  name: N,
  params: Record<string, unknown>,
) => Promise<ResultOf<N>>;

export interface SiteRegistrationOptions {
  readonly config: OxdConfig;
  /** Whether commands carry a protection access token in this dialect. */
  readonly usesToken: boolean;
  readonly bootstrap: Bootstrap;
  readonly save: SaveRegistration | undefined;
  /** Coordinates the registration with other processes (see {@link RegisterOnce}). */
  readonly registerOnce?: RegisterOnce | undefined;
  /** Reads what other processes saved, to adopt a newer registration. */
  readonly readSaved?: ReadSavedRegistration | undefined;
  readonly now: () => number;
  /** Told when a registration cannot be saved and is kept in memory. */
  readonly logger: Logger;
}

/** The site, its protection token and the results waiting to be saved. */
export class SiteRegistration {
  private readonly config: OxdConfig;
  private readonly usesToken: boolean;
  private readonly bootstrap: Bootstrap;
  private readonly now: () => number;
  private readonly writes: PendingWrites;
  private readonly token: ProtectionToken;
  private readonly registerOnce: RegisterOnce | undefined;
  private readonly readSaved: ReadSavedRegistration | undefined;
  private readonly logger: Logger;
  private site: Site | undefined;
  private registering: Promise<string> | undefined;
  private postLogout: string | undefined;
  private reloading: Promise<boolean> | undefined;

  constructor(options: SiteRegistrationOptions) {
    const { config, usesToken } = options;
    this.config = config;
    this.usesToken = usesToken;
    this.bootstrap = options.bootstrap;
    this.now = options.now;
    this.registerOnce = options.registerOnce;
    this.readSaved = options.readSaved;
    this.logger = options.logger;
    this.writes = new PendingWrites(options.save, config.file);
    this.token = new ProtectionToken(
      () => this.requestToken(),
      async (token) => {
        this.writes.add({ client: { protection_access_token: token.value } });
        await this.writes.flush();
      },
      this.now,
    );
    this.site = siteFromConfig(config, usesToken);
    const saved = config.client.protectionAccessToken;
    if (this.site && usesToken && saved) this.token.adopt(saved);
  }

  /** The site's `oxd_id`, once registered (or given in the configuration). */
  get oxdId(): string | undefined {
    return this.site?.oxdId;
  }

  /** The site's OP `client_id`, when registration returned it or the configuration has it. */
  get clientId(): string | undefined {
    return this.site?.clientId ?? this.config.client.clientId;
  }

  /** Registers (and fetches the token, saves the results) unless all is done; the `oxd_id`. */
  ensure(): Promise<string> {
    const site = this.site;
    if (site && !this.writes.hasPending && (!this.usesToken || this.token.known)) {
      return Promise.resolve(site.oxdId);
    }
    this.registering ??= this.complete().finally(() => {
      this.registering = undefined;
    });
    return this.registering;
  }

  /** A usable protection token: registering first, renewing an expired one. */
  async currentToken(): Promise<string> {
    await this.ensure();
    return this.token.current();
  }

  /** A new token after oxd rejected `stale` (unless another caller already replaced it). */
  renewToken(stale: string): Promise<string> {
    return this.token.renew(stale);
  }

  /**
   * Adopts the registration other processes saved when it names another site than the one
   * in use (the site was registered again elsewhere, e.g. by `express-oxd register`).
   * Resolves `true` when it changed the site. Concurrent callers share one read.
   */
  adoptSaved(): Promise<boolean> {
    const read = this.readSaved;
    if (!read) return Promise.resolve(false);
    this.reloading ??= (async () => {
      const saved = await read();
      const site = siteFromSaved(saved, this.config, this.usesToken);
      if (!site || site.oxdId === this.site?.oxdId) return false;
      this.adopt(site, saved);
      return true;
    })().finally(() => {
      this.reloading = undefined;
    });
    return this.reloading;
  }

  private adopt(site: Site, saved: WriteBackValues): void {
    this.site = site;
    this.token.clear();
    const token = saved.client?.protection_access_token;
    if (this.usesToken && token) this.token.adopt(token);
  }

  /** Registers with oxd; the site and the values to save. */
  private async registerNow(): Promise<{ site: Site; values: WriteBackValues }> {
    const { client } = this.config;
    const version = this.config.oxd.serverVersion;
    const request = registrationRequest(client, version, this.usesToken);
    const result = await this.bootstrap(request.name, request.params);
    return registrationOutcome(request, result, client, this.usesToken);
  }

  private async complete(): Promise<string> {
    let site = this.site;
    if (!site && this.registerOnce) {
      let registered: WriteBackValues | undefined;
      let saved: WriteBackValues;
      try {
        saved = await this.registerOnce(async (current) => {
          if (siteFromSaved(current, this.config, this.usesToken)) return undefined;
          registered = (await this.registerNow()).values;
          return registered;
        });
      } catch (err) {
        // Registered at oxd and the OP, but the results could not be saved: keep them.
        if (registered === undefined || !isWriteFailure(err)) throw err;
        this.keepInMemory(registered, err);
        saved = registered;
      }
      site = siteFromSaved(saved, this.config, this.usesToken);
      if (!site) {
        throw new OxdProtocolError('the registration left no oxd id in the saved results');
      }
      this.adopt(site, saved);
    } else if (!site) {
      const registered = await this.registerNow();
      site = registered.site;
      this.site = site;
      this.token.clear();
      this.writes.add(registered.values);
    }
    if (this.usesToken && !this.token.known) await this.token.renew(undefined);
    await this.writes.flush();
    return site.oxdId;
  }

  /**
   * A registration whose results cannot be saved (the configuration file became unwritable
   * after start-up) stays in this process's memory, and so do later results: registering
   * again at each login would leave a new site at oxd and a new client at the OP each time.
   * Warned once through the client's logger; a restart with a writable file registers again.
   */
  private keepInMemory(values: WriteBackValues, err: unknown): void {
    this.writes.keepInMemory();
    const file = this.config.file ?? 'the configuration';
    this.logger.warn(
      `express-oxd: ${(err as Error).message}. The registration (oxd id ` +
        `${values.oxd?.id ?? '?'}) is kept in memory and used until this process stops; it ` +
        `will not register again. Make ${file} writable, or the next start registers anew.`,
      {
        code: ERROR_CODES.CONFIG_WRITE_FAILED,
        ...(this.config.file === undefined ? {} : { file: this.config.file }),
      },
    );
  }

  /**
   * Records what a successful `update_site` changed that the application sends later (the
   * post-logout redirect URI, which the OP checks against the registration), and saves it.
   */
  async updated(values: { postLogoutRedirectUri?: string | undefined }): Promise<void> {
    const uri = values.postLogoutRedirectUri;
    if (uri === undefined) return;
    this.postLogout = uri;
    this.writes.add({ client: { post_logout_redirect_uri: uri } });
    await this.writes.flush();
  }

  /** The post-logout redirect URI as registered: the last `update_site`'s, else the config's. */
  get postLogoutRedirectUri(): string | undefined {
    return this.postLogout ?? this.config.client.postLogoutRedirectUri;
  }

  /** `get_client_token` for the site's client. Only reached after ensure() set the site. */
  private async requestToken(): Promise<Token> {
    const { client, oxd } = this.config;
    const params = clientTokenParams(this.site ?? {}, client, oxd.serverVersion);
    return tokenOf(await this.bootstrap('getClientToken', params), this.now());
  }
}
