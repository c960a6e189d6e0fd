/**
 * `umaClaims()`: the requesting party's side of UMA in a web app. It keeps the session's RPT
 * (and PCT) in `req.session.oxdUma`, calls UMA-protected APIs with it (`fetch`), sends the user
 * to the authorization server's claims gathering when the AS needs claims (`gatherClaims`),
 * and answers the claims redirect route, where the new ticket is exchanged for an RPT.
 *
 * Like a login, a gathering in progress lives only in the session: its `state` is checked on
 * return, used once, and expires after {@link PENDING_CLAIMS_TTL_MS}.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { debuglog } from 'node:util';
import type { Dispatcher, RequestInit, Response } from 'undici';
import { resolveConfig, type ConfigInput } from '../config/resolve';
import { resolveClient } from '../client-from-config';
import {
  ERROR_CODES,
  OxdAuthError,
  OxdConfigError,
  OxdProtocolError,
  stateMismatch,
} from '../errors';
import { checkKeys, type Fail, failFor, optionalBoolean, optionalFunction } from '../option-check';
import { routeOption, routePathOf, routePathOfRequest } from '../http/path';
import { queryOf, singleParam } from '../http/request';
import { redirect } from '../http/response';
import { safeReturnTo } from '../http/return-to';
import type { OxdClient, OxdClientOptions } from '../oxd/client';
import type { UmaRpGetClaimsGatheringUrlParams } from '../oxd/commands';
import {
  requireSession,
  saveSession,
  type OxdIncomingMessage,
  livePending,
  type OxdSession,
  type PendingUmaClaims,
} from '../session/store';
import { umaFetch } from './fetch';
import { UmaNeedInfoError, umaGetRpt, type UmaRpt } from './rpt';
import { RptOwners, rptOwnerOf } from './rpt-owners';

const debug = debuglog('express-oxd');

/** Gatherings a session may have in progress at once; the oldest go first. */
const MAX_PENDING_CLAIMS = 5;
/** How long the user may take at the AS before the gathering's state is refused. */
export const PENDING_CLAIMS_TTL_MS = 10 * 60 * 1000;
/** Times the AS may ask for claims again for one request before the callback gives up. */
const MAX_CLAIMS_ROUNDS = 3;

export interface UmaClaimsOptions {
  /** The requesting party's oxd client, e.g. `oxdAuth(…).client`. */
  client?: OxdClient;
  /** Or the configuration (INI path or object) to create a client from. */
  config?: string | ConfigInput;
  /** Options of the client created from `config`. */
  clientOptions?: OxdClientOptions;
  /**
   * Absolute URL the AS sends the user back to after claims gathering. Default: the first
   * `claims_redirect_uri` of the configuration. It must be registered for the client at the
   * AS (oxd 3.1 registers it by itself by default).
   */
  claimsRedirectUri?: string;
  /**
   * The route answering that URL (GET). Default: the URL's path, matched against the full
   * request path; a path given here is relative to the mount point. `false` turns it off.
   */
  route?: string | false;
  /** undici dispatcher for `fetch` (custom CA, proxy). */
  dispatcher?: Dispatcher;
  /** Current time in milliseconds. Default `Date.now`. */
  clock?: () => number;
  /**
   * `true`: RPTs are meant for the whole site (machine-to-machine use), so the RPT oxd hands
   * back is used by every session. Default `false`, per-user grants: oxd keeps one RPT per site
   * and answers every exchange with it while it is valid, so an RPT obtained for one user is
   * refused (403 `OXD_UMA_RPT_OF_ANOTHER_USER`) to any other.
   */
  siteWideRpt?: boolean;
}

export interface GatherClaimsOptions {
  /** The ticket of the `need_info` answer (`UmaNeedInfoError.ticket`). */
  ticket: string;
  /** Same-origin path to return to once the RPT is obtained. Default `/`. */
  returnTo?: string;
}

/** The middleware `umaClaims()` returns (it answers the claims redirect route). */
export interface UmaClaimsHandler {
  (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void): void;
  readonly client: OxdClient;
  /**
   * `umaFetch` with the session's RPT; a new RPT is saved in the session. Rejects with
   * `UmaNeedInfoError` when the user has to go through claims gathering first.
   */
  fetch(req: IncomingMessage, input: string | URL, init?: RequestInit): Promise<Response>;
  /** Redirects the user to the AS's claims gathering for a `need_info` ticket. */
  gatherClaims(
    req: IncomingMessage,
    res: ServerResponse,
    options: GatherClaimsOptions,
  ): Promise<void>;
  /** The session's RPT, if one was obtained. */
  rpt(req: IncomingMessage): string | undefined;
}

const OPTION_KEYS = new Set([
  'client',
  'config',
  'clientOptions',
  'claimsRedirectUri',
  'route',
  'dispatcher',
  'clock',
  'siteWideRpt',
]);
const CLIENT_METHODS = ['umaRpGetRpt', 'umaRpGetClaimsGatheringUrl'] as const;

const fail: Fail = failFor('umaClaims', OxdConfigError);

function absoluteHttpUrl(value: unknown): URL | undefined {
  if (typeof value !== 'string' || !URL.canParse(value)) return undefined;
  const url = new URL(value);
  return /^https?:$/.test(url.protocol) && !url.hash ? url : undefined;
}

/**
 * Creates the requesting-party helper. Throws an `OxdConfigError` naming the option when one
 * is invalid; never touches the network in the factory.
 */
export function umaClaims(options: UmaClaimsOptions): UmaClaimsHandler {
  if (typeof options !== 'object' || options === null) {
    fail('client', 'umaClaims(options) needs options with client or config');
  }
  checkKeys(options, OPTION_KEYS, fail);
  if (options.client === undefined && options.config === undefined) {
    fail('client', 'give an OxdClient as client, or the oxd configuration as config');
  }
  const config = options.config === undefined ? undefined : resolveConfig(options.config);
  const client = resolveClient(
    options as Record<string, unknown>,
    () => config as NonNullable<typeof config>,
    CLIENT_METHODS,
    fail,
  );
  const redirectUri = options.claimsRedirectUri ?? config?.client.claimsRedirectUri[0];
  const redirectUrl = absoluteHttpUrl(redirectUri);
  if (!redirectUrl || redirectUri === undefined) {
    fail(
      'claimsRedirectUri',
      'must be an absolute http(s) URL without a fragment (or set [client] claims_redirect_uri)',
    );
  }
  const route = routeOption(
    options.route,
    'route',
    { path: routePathOf(redirectUrl.pathname), absolute: true },
    fail,
    'must be a path starting with "/" (no query, no fragment), or false',
  );
  const clock = optionalFunction<() => number>(options.clock, 'clock', fail) ?? Date.now;
  const dispatcher = options.dispatcher;
  const owners = optionalBoolean(options.siteWideRpt, 'siteWideRpt', fail)
    ? undefined
    : new RptOwners();

  /** Keeps an RPT in the session; with per-user grants, only one of this user's own. */
  const keep = async (
    req: OxdIncomingMessage,
    session: OxdSession,
    obtained: UmaRpt,
  ): Promise<void> => {
    owners?.claim(obtained.rpt, rptOwnerOf(req));
    const data = session.oxdUma ?? {};
    session.oxdUma = { ...data, rpt: obtained.rpt, pct: obtained.pct ?? data.pct };
    await saveSession(session);
  };

  const gatherClaims = async (
    req: IncomingMessage,
    res: ServerResponse,
    gather: GatherClaimsOptions,
    round = 1,
  ): Promise<void> => {
    const session = requireSession(req as OxdIncomingMessage);
    if (typeof gather?.ticket !== 'string' || gather.ticket === '') {
      throw new TypeError('gatherClaims needs the ticket of the need_info answer');
    }
    const params: UmaRpGetClaimsGatheringUrlParams = {
      ticket: gather.ticket,
      claims_redirect_uri: redirectUri,
    };
    if (client.serverVersion === 4) params.state = randomBytes(24).toString('base64url');
    const reply = await client.umaRpGetClaimsGatheringUrl(params);
    const url = absoluteHttpUrl(reply.url);
    if (!url || typeof reply.state !== 'string' || reply.state === '') {
      throw new OxdProtocolError(
        'oxd uma_rp_get_claims_gathering_url answered without an http(s) url and a state',
      );
    }
    const now = clock();
    const data = session.oxdUma ?? {};
    const pending = livePending<PendingUmaClaims>(data.pending, now, PENDING_CLAIMS_TTL_MS);
    pending.push({
      state: reply.state,
      returnTo: safeReturnTo(gather.returnTo),
      createdAt: now,
      round,
    });
    session.oxdUma = { ...data, pending: pending.slice(-MAX_PENDING_CLAIMS) };
    await saveSession(session);
    redirect(res, url.href);
  };

  const handleReturn = async (req: OxdIncomingMessage, res: ServerResponse): Promise<void> => {
    const session = requireSession(req);
    const query = queryOf(req.url);
    // The state first, as the login callback does: the text of an `error` is shown only on
    // a redirect this session asked for.
    const state = singleParam(query, 'state');
    const data = session.oxdUma ?? {};
    const pending = livePending<PendingUmaClaims>(data.pending, clock(), PENDING_CLAIMS_TTL_MS);
    const entry = state === undefined ? undefined : pending.find((p) => p.state === state);
    if (!entry) {
      throw stateMismatch(
        'The claims-gathering redirect carried no state, or one this session did not start, ' +
          'that expired or was already used. Go back to the page and try again.',
      );
    }
    const rest = pending.filter((p) => p !== entry);
    session.oxdUma = { ...data, pending: rest.length > 0 ? rest : undefined };
    await saveSession(session);
    const error = singleParam(query, 'error');
    if (error !== undefined) {
      throw new OxdAuthError(
        ERROR_CODES.OP_ERROR,
        `The UMA authorization server did not complete claims gathering: ${error}`,
        { status: 400, opError: error },
      );
    }
    const ticket = singleParam(query, 'ticket');
    if (!ticket) {
      throw new OxdAuthError(
        ERROR_CODES.OP_ERROR,
        'The claims-gathering redirect carried no ticket. Go back to the page and try again.',
        { status: 400 },
      );
    }
    let obtained: UmaRpt;
    try {
      obtained = await umaGetRpt(client, {
        ticket,
        state: entry.state,
        ...(data.rpt ? { rpt: data.rpt } : {}),
        ...(data.pct ? { pct: data.pct } : {}),
      });
    } catch (err) {
      if (!(err instanceof UmaNeedInfoError) || entry.round >= MAX_CLAIMS_ROUNDS) throw err;
      debug('uma: the AS needs more claims (round %d)', entry.round + 1);
      await gatherClaims(
        req,
        res,
        { ticket: err.ticket, returnTo: entry.returnTo },
        entry.round + 1,
      );
      return;
    }
    await keep(req, session, obtained);
    debug('uma: RPT obtained after claims gathering');
    redirect(res, entry.returnTo);
  };

  const matches = (req: OxdIncomingMessage): boolean => {
    if (!route || req.method !== 'GET') return false;
    const path = routePathOfRequest(route.absolute ? (req.originalUrl ?? req.url) : req.url);
    return path === route.path;
  };

  const handler = function umaClaims(
    req: IncomingMessage,
    res: ServerResponse,
    next: (err?: unknown) => void,
  ): void {
    const request = req as OxdIncomingMessage;
    if (!matches(request)) {
      next();
      return;
    }
    handleReturn(request, res).catch(next);
  };

  const methods: Omit<UmaClaimsHandler, keyof ((...args: never[]) => void) | 'client'> = {
    async fetch(req, input, init) {
      const session = requireSession(req as OxdIncomingMessage);
      const data = session.oxdUma;
      return umaFetch(input, init, {
        client,
        rpt: data?.rpt,
        pct: data?.pct,
        onRpt: (obtained) => keep(req as OxdIncomingMessage, session, obtained),
        ...(dispatcher ? { dispatcher } : {}),
      });
    },
    gatherClaims: (req, res, gather) => gatherClaims(req, res, gather),
    rpt: (req) => (req as OxdIncomingMessage).session?.oxdUma?.rpt,
  };
  Object.defineProperty(handler, 'client', { value: client, enumerable: true });
  for (const [name, value] of Object.entries(methods)) {
    Object.defineProperty(handler, name, { value, enumerable: true });
  }
  return handler as UmaClaimsHandler;
}
