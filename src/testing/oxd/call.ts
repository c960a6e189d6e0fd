/**
 * What every command handler receives: the call (params, dialect, the resolved site) and
 * the server's services. Handlers return the reply data or throw `CommandFailure`.
 */
import type { OpClient } from './op-client';
import type { Dialect, Params } from './params';
import type { PendingLogins } from './pending-logins';
import type { OxdProfile } from './profiles';
import type { RegistrationStore, Site } from './registration-store';
import type { RequestObjectStore } from './request-objects';
import type { UmaAuthorizationServer } from '../uma';
import { CommandFailure } from './failure';

export interface Services {
  op: OpClient;
  store: RegistrationStore;
  logins: PendingLogins;
  uma: UmaAuthorizationServer;
  requestObjects: RequestObjectStore;
  /** The oxd release line(s) the server reproduces. */
  profile: OxdProfile;
  /**
   * The RPT each site holds (oxd's `Rp.rpt` and its expiry), by oxd_id. Kept in memory, as
   * the local UMA server keeps its RPTs: a restart forgets both.
   */
  siteRpts: Map<string, SiteRpt>;
}

/** The RPT oxd stores on a site after `uma_rp_get_rpt` (`UmaTokenService.getRpt`). */
export interface SiteRpt {
  access_token: string;
  token_type: string;
  pct: string;
  updated: boolean;
  /** Epoch milliseconds. */
  expiresAt: number;
}

export interface Call {
  /** Socket command name, snake_case. */
  readonly command: string;
  readonly params: Params;
  readonly dialect: Dialect;
  /** True on the socket and the /v3/ https-extension dialect. */
  readonly v3: boolean;
  /** The site named by `oxd_id` (resolved before the handler runs when the command has one). */
  readonly site: Site | undefined;
  /** 3.x with protection on: the setup client the protection token belongs to. */
  readonly setupOxdId?: string | undefined;
}

/** Reply data; `undefined` fields become `null` on 3.x and are left out on 4.x. */
export type ReplyData = Record<string, unknown>;

export type Handler = (call: Call, services: Services) => Promise<ReplyData>;

/** The call's site; handlers of `oxd_id` commands can rely on it. */
export function siteOf(call: Call): Site {
  if (!call.site) {
    throw new CommandFailure('bad_request', 'oxd_id is empty or not specified.');
  }
  return call.site;
}

export function clientAuthOf(site: Site) {
  return {
    client_id: site.client_id,
    client_secret: site.client_secret,
    method: site.token_endpoint_auth_method,
  };
}
