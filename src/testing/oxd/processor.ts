/**
 * The transport-independent heart of the local oxd server: takes a command name, its
 * params and the dialect it arrived in, checks them in oxd's order (command, params,
 * oxd_id, protection token) and runs the command's handler.
 */
import { debuglog } from 'node:util';
import { COMMANDS } from '../../oxd/commands';
import type { Call, Handler, ReplyData, Services } from './call';
import {
  AUTHORIZATION_OXD_ID_NOT_FOUND_TEXT,
  BAD_REQUEST_NO_OXD_ID_TEXT,
  UNSUPPORTED_OPERATION_TEXT,
  invalidOxdIdText,
} from './error-texts';
import {
  CommandFailure,
  badRequest,
  dropwizardError,
  httpStatusOf,
  internalError,
} from './failure';
import { getAuthorizationCode } from './authorization-code';
import { getAuthorizationUrl, getLogoutUri } from './login-commands';
import { getDiscovery, getJwks, issuerDiscovery } from './op-commands';
import type { Dialect } from './params';
import { Params, isV3, malformedParams } from './params';
import { getRequestUri } from './request-object-commands';
import type { V3Release, V4Release } from './profiles';
import { releaseOf } from './profiles';
import { bearerToken, checkV3Protection, checkV4Protection, needsProtection } from './protection';
import type { Site } from './registration-store';
import { getRp, registerSite, removeSite, setupClient, updateSite } from './site-commands';
import {
  accessTokenStatus,
  getAccessTokenByRefreshToken,
  getClientToken,
  getTokensByCode,
  getUserInfo,
  idTokenStatus,
  introspectAccessToken,
} from './token-commands';
import {
  introspectRpt,
  umaRpGetClaimsGatheringUrl,
  umaRpGetRpt,
  umaRsCheckAccess,
  umaRsModify,
  umaRsProtect,
} from './uma-commands';

const debug = debuglog('express-oxd');

/** Handlers by socket command name. */
const HANDLERS: Readonly<Record<string, Handler>> = {
  setup_client: setupClient,
  get_client_token: getClientToken,
  introspect_access_token: introspectAccessToken,
  register_site: registerSite,
  update_site: updateSite,
  remove_site: removeSite,
  get_authorization_url: getAuthorizationUrl,
  get_tokens_by_code: getTokensByCode,
  get_access_token_by_refresh_token: getAccessTokenByRefreshToken,
  get_user_info: getUserInfo,
  get_logout_uri: getLogoutUri,
  uma_rs_protect: umaRsProtect,
  uma_rs_modify: umaRsModify,
  uma_rs_check_access: umaRsCheckAccess,
  introspect_rpt: introspectRpt,
  uma_rp_get_rpt: umaRpGetRpt,
  uma_rp_get_claims_gathering_url: umaRpGetClaimsGatheringUrl,
  get_rp: getRp,
  get_jwks: getJwks,
  get_discovery: getDiscovery,
  issuer_discovery: issuerDiscovery,
  id_token_status: idTokenStatus,
  access_token_status: accessTokenStatus,
  get_authorization_code: getAuthorizationCode,
  get_request_uri: getRequestUri,
};

/** Socket names oxd 4.x also accepts for the two token checks. */
const ALIASES: Readonly<Record<string, string>> = {
  check_id_token: 'id_token_status',
  check_access_token: 'access_token_status',
};

interface Entry {
  handler: Handler;
  path: string;
  versions: readonly number[];
  needsOxdId: boolean;
}

const ENTRIES: ReadonlyMap<string, Entry> = new Map(
  Object.values(COMMANDS).flatMap((spec): [string, Entry][] => {
    const handler = HANDLERS[spec.command];
    return handler
      ? [
          [
            spec.command,
            {
              handler,
              path: spec.path,
              versions: spec.versions,
              needsOxdId: spec.needsOxdId,
            },
          ],
        ]
      : [];
  }),
);

function versionOf(dialect: Dialect): number {
  return isV3(dialect) ? 3 : 4;
}

/** The command served at HTTPS path `path` (no slashes) in `dialect`, if any. */
export function commandForPath(dialect: Dialect, path: string): string | undefined {
  for (const [command, entry] of ENTRIES) {
    if (entry.path === path && entry.versions.includes(versionOf(dialect))) return command;
  }
  return undefined;
}

export interface ProcessContext {
  dialect: Dialect;
  /** Whether commands need a protection/access token. */
  protect: boolean;
  /** 4.x: the `Authorization` header as sent (each release reads it its own way). */
  authorization?: string | undefined;
  /** 4.x: the `AuthorizationOxdId` header. */
  authorizationOxdId?: string | undefined;
}

export type ProcessResult =
  | { ok: true; data: ReplyData }
  | {
      ok: false;
      error: string;
      error_description: string;
      /** `null` on 3.x when there are none (as oxd 3.1 writes it). */
      details?: unknown;
      /** The 4.x HTTP status. */
      httpStatus: number;
      /** See {@link FailureOptions.httpBody}. */
      httpBody?: unknown;
      /** Socket: close after answering. */
      closeConnection?: boolean;
    };

/** The 3.x response envelope (property order status, data; nulls written as 3.1 does). */
export function envelope(result: ProcessResult): Record<string, unknown> {
  if (result.ok) return { status: 'ok', data: result.data };
  return {
    status: 'error',
    data: {
      error: result.error,
      error_description: result.error_description,
      details: result.details ?? null,
    },
  };
}

/** 3.x writes unset fields as `null`; 4.x leaves them out. */
function shape(data: ReplyData, v3: boolean): ReplyData {
  const out: ReplyData = {};
  for (const [key, value] of Object.entries(data)) {
    if (value === undefined) {
      if (v3) out[key] = null;
    } else {
      out[key] = value;
    }
  }
  return out;
}

function failureResult(
  failure: CommandFailure,
  v3: boolean,
  release?: V3Release | V4Release,
): ProcessResult {
  // 3.1.3 has no HttpErrorResponseException: an OP error status is an exception like any
  // other, answered with the generic internal error (and the socket closes).
  if (release === '3.1.3' && failure.error.startsWith('http_status_')) {
    return failureResult(internalError(), v3);
  }
  const { details, httpStatus, httpBody, closeConnection } = failure.options;
  return {
    ok: false,
    error: failure.error,
    error_description: failure.description,
    ...(details !== undefined ? { details } : v3 ? { details: null } : {}),
    httpStatus: httpStatus ?? httpStatusOf(failure.error),
    ...(httpBody !== undefined ? { httpBody } : {}),
    ...(closeConnection ? { closeConnection } : {}),
  };
}

export class CommandProcessor {
  constructor(private readonly services: Services) {}

  /** Runs one command; never rejects. */
  async process(command: string, params: unknown, ctx: ProcessContext): Promise<ProcessResult> {
    const v3 = isV3(ctx.dialect);
    const release = releaseOf(this.services.profile, v3);
    try {
      return { ok: true, data: shape(await this.run(command, params, ctx, release), v3) };
    } catch (err) {
      if (err instanceof CommandFailure) return failureResult(err, v3, release);
      debug('local oxd: %s failed unexpectedly: %s', command, (err as Error)?.stack ?? err);
      return failureResult(internalError(), v3);
    }
  }

  private async run(
    command: string,
    rawParams: unknown,
    ctx: ProcessContext,
    release: V3Release | V4Release,
  ): Promise<ReplyData> {
    const v3 = isV3(ctx.dialect);
    const lower = command.toLowerCase();
    const name = ALIASES[lower] ?? lower;
    const entry = ENTRIES.get(name);
    // 3.1.3's CommandType has no get_rp (added in 3.1.4).
    if (
      !entry ||
      !entry.versions.includes(versionOf(ctx.dialect)) ||
      (release === '3.1.3' && name === 'get_rp')
    ) {
      throw new CommandFailure('unsupported_operation', UNSUPPORTED_OPERATION_TEXT);
    }
    if (typeof rawParams !== 'object' || rawParams === null || Array.isArray(rawParams)) {
      throw malformedParams(ctx.dialect, 'params must be a JSON object');
    }
    const params = new Params(rawParams as Record<string, unknown>, ctx.dialect);
    const guarded = needsProtection(name, release);
    if (v3) {
      const site = entry.needsOxdId ? this.siteOf(name, params, v3) : undefined;
      const call: Call = { command: name, params, dialect: ctx.dialect, v3, site };
      const setupOxdId = guarded
        ? await checkV3Protection(call, this.services, ctx.protect, release as V3Release)
        : undefined;
      return entry.handler({ ...call, setupOxdId }, this.services);
    }
    // 4.x RestResource reads the Authorization header before the body's oxd_id.
    const v4 = release as V4Release;
    const token = guarded ? bearerToken(v4, ctx.authorization, ctx.protect) : undefined;
    const authorizationSite =
      token !== undefined && v4 === '4.2' ? this.authorizationSite(ctx) : undefined;
    let site: Site | undefined;
    if (entry.needsOxdId) {
      // 4.2 looks the body's oxd_id up to check the token: none at all is an NPE there.
      if (
        token !== undefined &&
        !authorizationSite &&
        params.string('oxd_id') === undefined &&
        v4 === '4.2' &&
        !(name === 'get_rp' && params.boolean('list'))
      ) {
        throw dropwizardError();
      }
      site = this.siteOf(name, params, v3);
    }
    const owner = authorizationSite ?? site;
    if (token !== undefined && owner) await checkV4Protection(this.services, v4, token, owner);
    const call: Call = { command: name, params, dialect: ctx.dialect, v3, site };
    return entry.handler(call, this.services);
  }

  /** 4.2 `AuthorizationOxdId`: when given, it must name a site. */
  private authorizationSite(ctx: ProcessContext): Site | undefined {
    const oxdId = ctx.authorizationOxdId?.trim();
    if (!oxdId) return undefined;
    const site = this.services.store.get(oxdId);
    if (!site) {
      throw new CommandFailure(
        'authorization_oxd_id_not_found',
        AUTHORIZATION_OXD_ID_NOT_FOUND_TEXT,
      );
    }
    return site;
  }

  private siteOf(command: string, params: Params, v3: boolean): Site | undefined {
    const oxdId = params.string('oxd_id');
    if (oxdId === undefined) {
      if (command === 'get_rp' && params.boolean('list')) return undefined;
      throw badRequest(BAD_REQUEST_NO_OXD_ID_TEXT);
    }
    const site = this.services.store.get(oxdId);
    if (!site) throw new CommandFailure('invalid_oxd_id', invalidOxdIdText(v3));
    return site;
  }
}
