/**
 * An in-process UMA 2.0 authorization server for the local oxd server. It answers the five UMA
 * commands of oxd (`uma_rs_protect`, `uma_rs_check_access`, `introspect_rpt`, `uma_rp_get_rpt`,
 * `uma_rp_get_claims_gathering_url`) and serves the claims-gathering page, without any network.
 *
 * What matches UMA 2.0 (Grant, Federated Authorization) and oxd:
 * - Resources are registered per oxd_id; every condition (path + its HTTP methods) becomes one
 *   resource with its own id, as oxd registers them. An HTTP method may appear once per path.
 *   Protecting again needs `overwrite`, which replaces all resources of that oxd_id.
 * - A `scope_expression` is checked the way oxd checks it (see json-logic.ts), also when given
 *   as JSON text.
 * - Access is granted when the RPT is active and one of its unexpired permissions names the
 *   resource with a scope that satisfies the condition: plain `scopes` are OR-ed, or the
 *   `scopes` override of the check when given; a `scope_expression` is evaluated as a boolean
 *   formula over the scopes the RPT carries for the resource.
 * - Every other outcome registers a permission ticket (scopes: the override, else
 *   `ticketScopes`, else `scopes`, else the expression's `data`) and answers `denied` with the
 *   ticket and `UMA realm="rs",as_uri="…",error="insufficient_scope",ticket="…"`.
 * - Tickets are single use: exchanging one consumes it, also when the answer is `need_info`,
 *   which carries a new ticket. RPTs and PCTs are opaque random strings; an RPT carries
 *   permissions with their own `exp`. Passing an active RPT of the same client upgrades it: the
 *   new RPT holds the old permissions too and the answer says `updated: true`.
 * - Introspection has the RFC 7662 shape plus UMA `permissions`; unknown or expired RPTs are
 *   `{active: false}`.
 *
 * What is emulated or simplified:
 * - Policies are a static {@link ClaimsPolicy}: scope -> claims (optionally with an exact
 *   value, or the value of the user signed in at the OP: `signed_in_user`). There are no
 *   policy scripts and no consent.
 * - Claims come from the claims-gathering page, from a PCT issued earlier to the same client,
 *   or from a pushed ID token (`claim_token_format` = the OpenID IDToken URI). A pushed token is
 *   decoded and its `exp` checked but its signature is NOT verified: this server trusts its only
 *   caller, the local oxd server, and must never guard anything real.
 * - There is no PAT, client authentication or claims_redirect_uri registration. Instead the
 *   claims-gathering page only redirects to the `claims_redirect_uri` that was given to
 *   {@link UmaAuthorizationServer.claimsGatheringUrl} for that ticket and client.
 * - `state` of the claims redirect is checked by {@link UmaAuthorizationServer.getRpt} when the
 *   client passes it (oxd keeps it in its state store; here it lives on the ticket).
 * - An RPT given for upgrade that is unknown, expired or another client's is ignored (a new RPT
 *   is issued with `updated: false`); the old RPT stays valid until its own `exp`.
 * - Only resources survive a restart ({@link UmaAuthorizationServer.toJSON}); tickets, RPTs,
 *   PCTs and gathered claims live in memory only. Resource `exp`/`iat` are kept, not enforced.
 *
 * Errors are {@link UmaError}s whose `error` is what oxd would answer. Errors that a real AS
 * would send (need_info, invalid_ticket, invalid_scope, invalid_grant,
 * invalid_claim_token_format) carry the AS's JSON error body in `details`: oxd 4.x answers with
 * that body as is (HTTP 403 for need_info, 400 otherwise), oxd 3.1 wraps it as
 * `{error: 'need_info', error_description, details}`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { debuglog } from 'node:util';
import type { IntrospectRptResult, UmaResource } from '../../oxd/commands';
import { ClaimsGatheringPage, type ClaimsGatheringUrlRequest } from './claims-gathering';
import { type ClaimsPolicy, checkClaimsPolicy } from './claims-policy';
import { type GetRptRequest, type GetRptResult, UmaGrants } from './grants';
import { evaluateScopeExpression } from './json-logic';
import { type OpAccess, SignedInUser } from './signed-in-user';
import {
  type ProtectedResource,
  ResourceRegistry,
  type UmaServerState,
  registeredScopes,
} from './resources';
import { UmaError, asError, isNonEmptyString, isStringList } from './uma-error';

export type { ClaimsGatheringUrlRequest } from './claims-gathering';
export type { ClaimsPolicy, RequiredClaim } from './claims-policy';
export type { GetRptRequest, GetRptResult, NeedInfoDetails } from './grants';
export type { ProtectedResource, UmaServerState } from './resources';
export { UmaError } from './uma-error';

const debug = debuglog('express-oxd');

/** Defaults of {@link UmaAuthorizationServerOptions}. */
export const UMA_SERVER_DEFAULTS = {
  /** Lifetime of a permission ticket. */
  ticketTtlSeconds: 300,
  /** Lifetime of an RPT (and of the permissions it is issued with). */
  rptTtlSeconds: 3600,
} as const;

export interface UmaAuthorizationServerOptions {
  /** The AS issuer URI, put into `as_uri` of the WWW-Authenticate header and into `iss`. */
  asUri: string;
  /**
   * Absolute URL of the claims-gathering page, which the embedding server routes to
   * {@link UmaAuthorizationServer.handleClaimsGathering} (matched on its path).
   */
  claimsGatheringEndpoint: string;
  /** Claims required per scope. Default: none, so every ticket is exchanged for an RPT. */
  claimsPolicy?: ClaimsPolicy;
  /** Default {@link UMA_SERVER_DEFAULTS.ticketTtlSeconds}. */
  ticketTtlSeconds?: number;
  /** Default {@link UMA_SERVER_DEFAULTS.rptTtlSeconds}. */
  rptTtlSeconds?: number;
  /** Clock in milliseconds since the epoch. Default `Date.now`. */
  now?: () => number;
  /**
   * The OP users sign in at, for policy claims marked `signed_in_user` (the claims-gathering
   * page then asks the OP who is signed in). Default: none.
   */
  op?: OpAccess;
}

export interface CheckAccessRequest {
  /** The RPT from the caller's `Authorization: Bearer`, `''` when none. */
  rpt: string;
  path: string;
  http_method: string;
  /** Scopes to require instead of the condition's (oxd 4.x). */
  scopes?: string[];
}

export type CheckAccessResult =
  { access: 'granted' } | { access: 'denied'; ticket: string; 'www-authenticate_header': string };

function checkAbsoluteUrl(value: unknown, option: string): URL {
  const url = isNonEmptyString(value) && URL.canParse(value) ? new URL(value) : undefined;
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    throw new TypeError(`${option} must be an absolute http(s) URL`);
  }
  return url;
}

function checkTtl(value: unknown, option: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new TypeError(`${option} must be a positive whole number of seconds`);
  }
  return value;
}

function requireOxdId(oxdId: string): void {
  if (!isNonEmptyString(oxdId)) {
    throw new UmaError('bad_request', 'oxd_id is required');
  }
}

/** Whether scopes `held` for `resource` satisfy its condition (or the `override` scopes). */
function satisfies(
  resource: ProtectedResource,
  held: ReadonlySet<string>,
  override: readonly string[] | undefined,
): boolean {
  if (override) return override.some((s) => held.has(s));
  if (resource.scope_expression) return evaluateScopeExpression(resource.scope_expression, held);
  return resource.scopes.some((s) => held.has(s));
}

/**
 * The UMA authorization server; one instance serves every oxd_id of a local oxd server. It
 * puts together the protected resources (resources.ts), the tickets, RPTs and PCTs
 * (grants.ts) and the claims-gathering page (claims-gathering.ts).
 */
export class UmaAuthorizationServer {
  private readonly asUri: string;
  private readonly resources = new ResourceRegistry();
  private readonly grants: UmaGrants;
  private readonly page: ClaimsGatheringPage;

  /** Throws a TypeError naming the option when an option is invalid. */
  constructor(options: UmaAuthorizationServerOptions) {
    checkAbsoluteUrl(options.asUri, 'asUri');
    if (/["\s]/.test(options.asUri)) {
      throw new TypeError('asUri must not contain quotes or spaces');
    }
    this.asUri = options.asUri;
    const endpoint = checkAbsoluteUrl(options.claimsGatheringEndpoint, 'claimsGatheringEndpoint');
    if (endpoint.search || endpoint.hash) {
      throw new TypeError('claimsGatheringEndpoint must not have a query or a fragment');
    }
    const policy = checkClaimsPolicy(options.claimsPolicy ?? {});
    this.grants = new UmaGrants({
      asUri: this.asUri,
      claimsGatheringEndpoint: endpoint.href,
      policy,
      resources: this.resources,
      ticketTtlMs:
        checkTtl(
          options.ticketTtlSeconds,
          'ticketTtlSeconds',
          UMA_SERVER_DEFAULTS.ticketTtlSeconds,
        ) * 1000,
      rptTtlSeconds: checkTtl(
        options.rptTtlSeconds,
        'rptTtlSeconds',
        UMA_SERVER_DEFAULTS.rptTtlSeconds,
      ),
      now: options.now ?? Date.now,
    });
    const signedIn =
      options.op === undefined
        ? undefined
        : new SignedInUser(options.op, endpoint.href, options.now ?? Date.now);
    this.page = new ClaimsGatheringPage(endpoint, policy, this.grants, signedIn);
  }

  /** `uma_rs_protect`: registers `resources` for `oxdId` (all of them replace the old ones). */
  protect(oxdId: string, resources: UmaResource[], overwrite: boolean): void {
    requireOxdId(oxdId);
    this.resources.protect(oxdId, resources, overwrite);
  }

  /** Drops every resource of `oxdId` (for `remove_site`). */
  removeResources(oxdId: string): void {
    this.resources.remove(oxdId);
  }

  /** `uma_rs_check_access`. */
  checkAccess(oxdId: string, req: CheckAccessRequest): CheckAccessResult {
    requireOxdId(oxdId);
    const { rpt, path, http_method: httpMethod, scopes: override } = req;
    if (!isNonEmptyString(httpMethod)) {
      throw new UmaError('invalid_http_method', 'http_method is required (e.g. "GET")');
    }
    if (!isNonEmptyString(path)) {
      throw new UmaError('invalid_path_parameter', 'path is required (e.g. "/photo")');
    }
    if (override !== undefined && override !== null && !isStringList(override)) {
      throw new UmaError('invalid_uma_scope_parameter', 'scopes must be a list of scopes');
    }
    const method = httpMethod.trim().toUpperCase();
    const resource = this.resources.match(oxdId, path, method);
    if (!resource) {
      throw new UmaError(
        'invalid_request',
        `Resource is not protected with path: ${path} and httpMethod: ${httpMethod}. Please protect your resource first with uma_rs_protect command.`,
      );
    }
    const required = override && override.length > 0 ? override : undefined;
    const held = this.grants.heldScopes(rpt, resource.id);
    if (held && satisfies(resource, held, required)) {
      debug('uma: %s %s %s granted', oxdId, method, path);
      return { access: 'granted' };
    }
    const ticketScopes =
      required ??
      (resource.ticketScopes.length > 0
        ? resource.ticketScopes
        : resource.scopes.length > 0
          ? resource.scopes
          : (resource.scope_expression?.data ?? []));
    const known = registeredScopes(resource);
    const unknown = ticketScopes.filter((s) => !known.has(s));
    if (unknown.length > 0) {
      throw asError(
        'invalid_scope',
        `Scope(s) not registered for ${method} ${path}: ${unknown.join(', ')}; add them with uma_rs_protect`,
      );
    }
    const ticket = this.grants.issueTicket({
      rsOxdId: oxdId,
      resourceId: resource.id,
      scopes: [...new Set(ticketScopes)],
      claims: {},
    });
    debug('uma: %s %s %s denied, ticket registered', oxdId, method, path);
    return {
      access: 'denied',
      ticket,
      'www-authenticate_header': `UMA realm="rs",as_uri="${this.asUri}",error="insufficient_scope",ticket="${ticket}"`,
    };
  }

  /**
   * `uma_rp_get_rpt`: exchanges a ticket for an RPT. `clientId` identifies the requesting client
   * (its oxd_id or client_id: use the same value for {@link claimsGatheringUrl}); it is the RPT's
   * `client_id` in introspection.
   */
  getRpt(clientId: string, req: GetRptRequest): GetRptResult {
    requireOxdId(clientId);
    return this.grants.getRpt(clientId, req);
  }

  /**
   * `uma_rp_get_claims_gathering_url`: the URL to send the user to for the ticket's claims.
   * The page will only redirect to this `claims_redirect_uri`, with a new ticket and `state`.
   */
  claimsGatheringUrl(
    clientId: string,
    req: ClaimsGatheringUrlRequest,
  ): { url: string; state: string } {
    requireOxdId(clientId);
    return this.page.url(clientId, req);
  }

  /**
   * `node:http` handler of the claims-gathering page (GET shows the form, POST checks it).
   * Returns false, without touching `res`, when the request path is not the page's.
   */
  handleClaimsGathering(req: IncomingMessage, res: ServerResponse): boolean {
    return this.page.handle(req, res);
  }

  /** `introspect_rpt`: RFC 7662 introspection plus UMA permissions (unexpired ones). */
  introspectRpt(rpt: string): IntrospectRptResult {
    return this.grants.introspect(rpt);
  }

  /** The protected resources, for persistence. Tickets, RPTs and PCTs are not included. */
  toJSON(): UmaServerState {
    return this.resources.toJSON();
  }

  /** Replaces the protected resources with saved ones; throws a TypeError on a bad shape. */
  fromJSON(state: unknown): void {
    this.resources.fromJSON(state);
  }
}
