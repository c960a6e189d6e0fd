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
 *   value). There are no policy scripts, no user authentication and no consent.
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
import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { debuglog } from 'node:util';
import type {
  IntrospectRptResult,
  ScopeExpression,
  UmaCondition,
  UmaPermission,
  UmaResource,
  UmaRpGetRptParams,
} from '../../oxd/commands';
import {
  type ClaimField,
  FormBodyError,
  readForm,
  renderClaimsForm,
  renderMessagePage,
  sendHtml,
} from './claims-gathering';
import {
  type ClaimValues,
  type ClaimsPolicy,
  ClaimTokenError,
  ID_TOKEN_CLAIM_FORMAT,
  type NeedInfoClaim,
  type RequiredClaim,
  checkClaimsPolicy,
  claimsFromIdToken,
  isClaimSatisfied,
  mergeClaims,
  toNeedInfoClaim,
  unsatisfiedClaims,
} from './claims-policy';
import { ScopeExpressionError, evaluateScopeExpression, parseScopeExpression } from './json-logic';

export type { ClaimsPolicy, RequiredClaim } from './claims-policy';

const debug = debuglog('express-oxd');

/** Defaults of {@link UmaAuthorizationServerOptions}. */
export const UMA_SERVER_DEFAULTS = {
  /** Lifetime of a permission ticket. */
  ticketTtlSeconds: 300,
  /** Lifetime of an RPT (and of the permissions it is issued with). */
  rptTtlSeconds: 3600,
} as const;

const NEED_INFO_DESCRIPTION =
  'The authorization server needs additional information in order to determine whether the client is authorized to have these permissions.';

/** An UMA failure; `error` is the oxd error code (or the AS's, passed through by oxd). */
export class UmaError extends Error {
  override readonly name = 'UmaError';
  /** HTTP status oxd 4.x answers with: 403 for need_info, 400 otherwise. */
  readonly status: number;

  constructor(
    /** oxd error code: `uma_protection_exists`, `invalid_request`, `need_info`, … */
    readonly error: string,
    /** Human-readable `error_description`. */
    readonly description: string,
    /** The AS's JSON error body, for errors a real AS would send (see the module comment). */
    readonly details?: unknown,
  ) {
    super(`${error}: ${description}`);
    this.status = error === 'need_info' ? 403 : 400;
  }
}

/** The `details` of a `need_info` {@link UmaError}. */
export interface NeedInfoDetails {
  error: 'need_info';
  /** A new ticket: use it for the claims-gathering URL or the next `getRpt`. */
  ticket: string;
  required_claims: NeedInfoClaim[];
  /** The claims-gathering endpoint to send the user to (see `claimsGatheringUrl`). */
  redirect_user: string;
}

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
}

/** One registered resource: a path and the HTTP methods of one condition. */
export interface ProtectedResource {
  id: string;
  path: string;
  /** Upper case. */
  httpMethods: string[];
  scopes: string[];
  ticketScopes: string[];
  scope_expression?: ScopeExpression;
  iat?: number;
  exp?: number;
}

/** What {@link UmaAuthorizationServer.toJSON} returns and `fromJSON` accepts. */
export interface UmaServerState {
  version: 1;
  /** oxd_id -> its protected resources. */
  resources: Record<string, ProtectedResource[]>;
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

/**
 * uma_rp_get_rpt's params without `oxd_id` (the caller names the client) and 4.x `params`.
 * `rpt` is an RPT to upgrade; `scope` adds scopes registered on the ticket's resource;
 * `state` is checked against the one of the claims gathering.
 */
export type GetRptRequest = Omit<UmaRpGetRptParams, 'oxd_id' | 'params'>;

export interface GetRptResult {
  access_token: string;
  token_type: 'Bearer';
  pct: string;
  updated: boolean;
}

export interface ClaimsGatheringUrlRequest {
  ticket: string;
  claims_redirect_uri: string;
  state?: string;
}

interface Gathering {
  clientId: string;
  claimsRedirectUri: string;
  state: string;
}

interface Ticket {
  rsOxdId: string;
  resourceId: string;
  scopes: string[];
  /** Milliseconds. */
  expiresAt: number;
  /** Claims known for the requesting party, usable only by `claimsClientId`. */
  claims: ClaimValues;
  claimsClientId?: string;
  /** `state` of the claims gathering that produced this ticket. */
  state?: string;
  gathering?: Gathering;
}

interface Rpt {
  clientId: string;
  iat: number;
  exp: number;
  permissions: Required<UmaPermission>[];
}

interface Pct {
  clientId: string;
  claims: ClaimValues;
}

function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.trim() !== '';
}

function isStringList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every(isNonEmptyString);
}

function opaqueToken(): string {
  return randomBytes(32).toString('base64url');
}

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

function asError(error: string, description: string): UmaError {
  return new UmaError(error, description, { error, error_description: description });
}

/** Checks one resource of `uma_rs_protect` (or of saved state) and returns it as records. */
function toRecords(resource: unknown, index: number): Omit<ProtectedResource, 'id'>[] {
  const where = `resources[${index}]`;
  if (typeof resource !== 'object' || resource === null) {
    throw new UmaError(
      'invalid_uma_request',
      `${where} must be an object with path and conditions`,
    );
  }
  const { path, conditions, iat, exp } = resource as Partial<UmaResource>;
  if (!isNonEmptyString(path)) {
    throw new UmaError('invalid_path_parameter', `${where}.path is required (e.g. "/photo")`);
  }
  if (!Array.isArray(conditions) || conditions.length === 0) {
    throw new UmaError(
      'invalid_uma_request',
      `${where} (path ${path}) needs a non-empty "conditions" list`,
    );
  }
  return conditions.map((condition: Partial<UmaCondition> | null, i) => {
    const at = `${where}.conditions[${i}] (path ${path})`;
    if (typeof condition !== 'object' || condition === null) {
      throw new UmaError('invalid_uma_request', `${at} must be an object`);
    }
    const { httpMethods, scopes, ticketScopes, scope_expression } = condition;
    if (!isStringList(httpMethods) || httpMethods.length === 0) {
      throw new UmaError('invalid_http_method', `${at} needs "httpMethods", e.g. ["GET"]`);
    }
    for (const [name, list] of Object.entries({ scopes, ticketScopes })) {
      if (list !== undefined && list !== null && !isStringList(list)) {
        throw new UmaError('invalid_uma_request', `${at} "${name}" must be a list of scopes`);
      }
    }
    let expression: ScopeExpression | undefined;
    if (scope_expression !== undefined && scope_expression !== null) {
      try {
        expression = parseScopeExpression(scope_expression);
      } catch (err) {
        if (!(err instanceof ScopeExpressionError)) throw err;
        throw new UmaError('invalid_scope_expression', `${at}: ${err.message}`);
      }
    }
    if (!expression && (scopes ?? []).length === 0) {
      throw new UmaError('invalid_uma_request', `${at} needs "scopes" or "scope_expression"`);
    }
    return {
      path,
      httpMethods: [...new Set(httpMethods.map((m) => m.trim().toUpperCase()))],
      scopes: [...(scopes ?? [])],
      ticketScopes: [...(ticketScopes ?? [])],
      ...(expression ? { scope_expression: expression } : {}),
      ...(typeof iat === 'number' ? { iat } : {}),
      ...(typeof exp === 'number' ? { exp } : {}),
    };
  });
}

function checkMethodsUnique(records: readonly Omit<ProtectedResource, 'id'>[]): void {
  const seen = new Set<string>();
  for (const record of records) {
    for (const method of record.httpMethods) {
      const key = `${method} ${record.path}`;
      if (seen.has(key)) {
        throw new UmaError(
          'http_method_not_unique',
          `HTTP method ${method} is used more than once for path ${record.path}; give each method one condition`,
        );
      }
      seen.add(key);
    }
  }
}

function registeredScopes(resource: ProtectedResource): Set<string> {
  return new Set([
    ...resource.scopes,
    ...resource.ticketScopes,
    ...(resource.scope_expression?.data ?? []),
  ]);
}

/** The UMA authorization server; one instance serves every oxd_id of a local oxd server. */
export class UmaAuthorizationServer {
  private readonly asUri: string;
  private readonly endpoint: URL;
  private readonly policy: ClaimsPolicy;
  private readonly ticketTtlMs: number;
  private readonly rptTtlSeconds: number;
  private readonly now: () => number;
  private readonly resources = new Map<string, ProtectedResource[]>();
  private readonly tickets = new Map<string, Ticket>();
  private readonly rpts = new Map<string, Rpt>();
  private readonly pcts = new Map<string, Pct>();

  /** Throws a TypeError naming the option when an option is invalid. */
  constructor(options: UmaAuthorizationServerOptions) {
    checkAbsoluteUrl(options.asUri, 'asUri');
    if (/["\s]/.test(options.asUri)) {
      throw new TypeError('asUri must not contain quotes or spaces');
    }
    this.asUri = options.asUri;
    this.endpoint = checkAbsoluteUrl(options.claimsGatheringEndpoint, 'claimsGatheringEndpoint');
    if (this.endpoint.search || this.endpoint.hash) {
      throw new TypeError('claimsGatheringEndpoint must not have a query or a fragment');
    }
    this.policy = checkClaimsPolicy(options.claimsPolicy ?? {});
    this.ticketTtlMs =
      checkTtl(options.ticketTtlSeconds, 'ticketTtlSeconds', UMA_SERVER_DEFAULTS.ticketTtlSeconds) *
      1000;
    this.rptTtlSeconds = checkTtl(
      options.rptTtlSeconds,
      'rptTtlSeconds',
      UMA_SERVER_DEFAULTS.rptTtlSeconds,
    );
    this.now = options.now ?? Date.now;
  }

  /** `uma_rs_protect`: registers `resources` for `oxdId` (all of them replace the old ones). */
  protect(oxdId: string, resources: UmaResource[], overwrite: boolean): void {
    this.requireOxdId(oxdId);
    if (!Array.isArray(resources) || resources.length === 0) {
      throw new UmaError('invalid_uma_request', 'No resources to protect: "resources" is empty');
    }
    const records = resources.flatMap((resource, i) => toRecords(resource, i));
    checkMethodsUnique(records);
    if ((this.resources.get(oxdId) ?? []).length > 0 && !overwrite) {
      throw new UmaError(
        'uma_protection_exists',
        'Resources are already protected for this oxd_id; pass overwrite=true to replace them',
      );
    }
    this.resources.set(
      oxdId,
      records.map((record) => ({ id: randomUUID(), ...record })),
    );
    debug('uma: %s protected %d resource(s)', oxdId, records.length);
  }

  /** Drops every resource of `oxdId` (for `remove_site`). */
  removeResources(oxdId: string): void {
    this.resources.delete(oxdId);
  }

  /** `uma_rs_check_access`. */
  checkAccess(oxdId: string, req: CheckAccessRequest): CheckAccessResult {
    this.requireOxdId(oxdId);
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
    const resource = (this.resources.get(oxdId) ?? []).find(
      (r) => r.path === path && r.httpMethods.includes(method),
    );
    if (!resource) {
      throw new UmaError(
        'invalid_request',
        `Resource is not protected with path: ${path} and httpMethod: ${httpMethod}. Please protect your resource first with uma_rs_protect command.`,
      );
    }
    const required = override && override.length > 0 ? override : undefined;
    const held = this.heldScopes(rpt, resource.id);
    if (held && this.satisfies(resource, held, required)) {
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
    const ticket = this.issueTicket({
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
    this.requireOxdId(clientId);
    const { ticket: ticketId, claim_token, claim_token_format, pct, rpt, scope, state } = req;
    if (!isNonEmptyString(ticketId)) {
      throw new UmaError('invalid_ticket_parameter', 'ticket is required');
    }
    if (isNonEmptyString(claim_token) !== isNonEmptyString(claim_token_format)) {
      throw new UmaError(
        'invalid_claim_token_or_claim_token_form',
        'claim_token and claim_token_format must be given together',
      );
    }
    if (scope !== undefined && scope !== null && !isStringList(scope)) {
      throw new UmaError('invalid_uma_scope_parameter', 'scope must be a list of scopes');
    }
    const tokenClaims = isNonEmptyString(claim_token)
      ? this.pushedClaims(claim_token, claim_token_format as string)
      : {};
    let pctRecord: Pct | undefined;
    if (isNonEmptyString(pct)) {
      pctRecord = this.pcts.get(pct);
      if (!pctRecord || pctRecord.clientId !== clientId) {
        throw asError('invalid_grant', 'pct is unknown or was issued to another client');
      }
    }
    const ticket = this.activeTicket(ticketId);
    const resource = ticket && this.findResource(ticket.rsOxdId, ticket.resourceId);
    if (!ticket || !resource) {
      throw asError(
        'invalid_ticket',
        'The ticket is unknown, expired or already used; ask the resource server for a new one',
      );
    }
    if (isNonEmptyString(state) && ticket.state !== undefined && ticket.state !== state) {
      throw new UmaError('invalid_state', 'state does not match the claims-gathering state');
    }
    const known = registeredScopes(resource);
    const unknown = (scope ?? []).filter((s) => !known.has(s));
    if (unknown.length > 0) {
      throw asError(
        'invalid_scope',
        `Scope(s) not registered for the ticket's resource: ${unknown.join(', ')}`,
      );
    }
    this.tickets.delete(ticketId);

    const scopes = [...new Set([...ticket.scopes, ...(scope ?? [])])];
    const claims = mergeClaims(
      ticket.claimsClientId === clientId ? ticket.claims : {},
      pctRecord?.claims ?? {},
      tokenClaims,
    );
    const missing = unsatisfiedClaims(this.policy, scopes, claims);
    if (missing.length > 0) {
      const next = this.issueTicket({
        rsOxdId: ticket.rsOxdId,
        resourceId: ticket.resourceId,
        scopes,
        claims,
        claimsClientId: clientId,
      });
      const details: NeedInfoDetails = {
        error: 'need_info',
        ticket: next,
        required_claims: missing.map((claim) => toNeedInfoClaim(claim, this.asUri)),
        redirect_user: this.endpoint.href,
      };
      debug('uma: need_info for %s (%d claim(s))', clientId, missing.length);
      throw new UmaError('need_info', NEED_INFO_DESCRIPTION, details);
    }

    let pctValue = isNonEmptyString(pct) ? pct : undefined;
    if (pctRecord && pctValue) {
      pctRecord.claims = mergeClaims(pctRecord.claims, claims);
    } else {
      pctValue = opaqueToken();
      this.pcts.set(pctValue, { clientId, claims });
    }

    const iat = Math.floor(this.now() / 1000);
    const exp = iat + this.rptTtlSeconds;
    const previous = isNonEmptyString(rpt) ? this.activeRpt(rpt) : undefined;
    const carried =
      previous && previous.clientId === clientId
        ? previous.permissions.filter((p) => p.exp * 1000 > this.now())
        : undefined;
    const token = opaqueToken();
    this.sweep();
    this.rpts.set(token, {
      clientId,
      iat,
      exp,
      permissions: [...(carried ?? []), { resource_id: resource.id, resource_scopes: scopes, exp }],
    });
    debug('uma: RPT issued to %s%s', clientId, carried ? ' (upgrade)' : '');
    return { access_token: token, token_type: 'Bearer', pct: pctValue, updated: !!carried };
  }

  /**
   * `uma_rp_get_claims_gathering_url`: the URL to send the user to for the ticket's claims.
   * The page will only redirect to this `claims_redirect_uri`, with a new ticket and `state`.
   */
  claimsGatheringUrl(
    clientId: string,
    req: ClaimsGatheringUrlRequest,
  ): { url: string; state: string } {
    this.requireOxdId(clientId);
    const { ticket: ticketId, claims_redirect_uri: redirectUri, state } = req;
    if (!isNonEmptyString(ticketId)) {
      throw new UmaError('invalid_ticket_parameter', 'ticket is required');
    }
    const redirect =
      isNonEmptyString(redirectUri) && URL.canParse(redirectUri) ? new URL(redirectUri) : undefined;
    if (!redirect || !/^https?:$/.test(redirect.protocol) || redirect.hash) {
      throw new UmaError(
        'invalid_claims_redirect_uri_parameter',
        'claims_redirect_uri must be an absolute http(s) URL without a fragment',
      );
    }
    const ticket = this.activeTicket(ticketId);
    if (!ticket) {
      throw asError(
        'invalid_ticket',
        'The ticket is unknown, expired or already used; ask the resource server for a new one',
      );
    }
    const chosenState = isNonEmptyString(state) ? state : randomBytes(16).toString('base64url');
    ticket.gathering = { clientId, claimsRedirectUri: redirectUri, state: chosenState };
    const url = new URL(this.endpoint.href);
    url.search = new URLSearchParams({
      client_id: clientId,
      ticket: ticketId,
      claims_redirect_uri: redirectUri,
      state: chosenState,
    }).toString();
    return { url: url.href, state: chosenState };
  }

  /**
   * `node:http` handler of the claims-gathering page (GET shows the form, POST checks it).
   * Returns false, without touching `res`, when the request path is not the page's.
   */
  handleClaimsGathering(req: IncomingMessage, res: ServerResponse): boolean {
    const url = new URL(req.url ?? '/', this.endpoint.origin);
    if (url.pathname !== this.endpoint.pathname) return false;
    if (req.method === 'GET') {
      this.showClaimsForm(url.searchParams, res);
    } else if (req.method === 'POST') {
      readForm(req)
        .then((form) => this.acceptClaimsForm(form, res))
        .catch((err: unknown) => {
          if (err instanceof FormBodyError) {
            sendHtml(res, err.status, renderMessagePage('Request not accepted', err.message));
            return;
          }
          debug('uma: claims-gathering POST failed: %s', (err as Error)?.message);
          if (!res.headersSent) {
            sendHtml(res, 500, renderMessagePage('Server error', 'The request failed; try again.'));
          }
        });
    } else {
      res.setHeader('Allow', 'GET, POST');
      sendHtml(res, 405, renderMessagePage('Method not allowed', 'Use GET or POST.'));
    }
    return true;
  }

  /** `introspect_rpt`: RFC 7662 introspection plus UMA permissions (unexpired ones). */
  introspectRpt(rpt: string): IntrospectRptResult {
    if (!isNonEmptyString(rpt)) {
      throw new UmaError('invalid_rpt_parameter', 'rpt is required');
    }
    const record = this.activeRpt(rpt);
    if (!record) return { active: false };
    const nowMs = this.now();
    return {
      active: true,
      client_id: record.clientId,
      iss: this.asUri,
      iat: record.iat,
      nbf: record.iat,
      exp: record.exp,
      permissions: record.permissions
        .filter((p) => p.exp * 1000 > nowMs)
        .map((p) => ({ ...p, resource_scopes: [...p.resource_scopes] })),
    };
  }

  /** The protected resources, for persistence. Tickets, RPTs and PCTs are not included. */
  toJSON(): UmaServerState {
    const resources: Record<string, ProtectedResource[]> = {};
    for (const [oxdId, list] of this.resources) {
      resources[oxdId] = structuredClone(list);
    }
    return { version: 1, resources };
  }

  /** Replaces the protected resources with saved ones; throws a TypeError on a bad shape. */
  fromJSON(state: unknown): void {
    const { version, resources } = (state ?? {}) as Partial<UmaServerState>;
    if (version !== 1 || typeof resources !== 'object' || resources === null) {
      throw new TypeError('UMA state must be {version: 1, resources: {…}} as toJSON returns it');
    }
    const restored = new Map<string, ProtectedResource[]>();
    for (const [oxdId, list] of Object.entries(resources)) {
      if (!Array.isArray(list)) {
        throw new TypeError(`UMA state: resources of ${oxdId} must be a list`);
      }
      restored.set(
        oxdId,
        list.map((saved: Partial<ProtectedResource>, i) => {
          if (!isNonEmptyString(saved?.id)) {
            throw new TypeError(`UMA state: resource ${i} of ${oxdId} has no id`);
          }
          let record: Omit<ProtectedResource, 'id'>;
          try {
            [record] = toRecords(
              {
                path: saved.path,
                conditions: [
                  {
                    httpMethods: saved.httpMethods,
                    scopes: saved.scopes,
                    ticketScopes: saved.ticketScopes,
                    scope_expression: saved.scope_expression,
                  },
                ],
                iat: saved.iat,
                exp: saved.exp,
              },
              i,
            ) as [Omit<ProtectedResource, 'id'>];
          } catch (err) {
            if (!(err instanceof UmaError)) throw err;
            throw new TypeError(`UMA state of ${oxdId}: ${err.description}`, { cause: err });
          }
          return { id: saved.id, ...record };
        }),
      );
      checkMethodsUnique(restored.get(oxdId) ?? []);
    }
    this.resources.clear();
    for (const [oxdId, list] of restored) this.resources.set(oxdId, list);
  }

  // -------------------------------------------------------------------------------------

  private requireOxdId(oxdId: string): void {
    if (!isNonEmptyString(oxdId)) {
      throw new UmaError('bad_request', 'oxd_id is required');
    }
  }

  private findResource(oxdId: string, resourceId: string): ProtectedResource | undefined {
    return (this.resources.get(oxdId) ?? []).find((r) => r.id === resourceId);
  }

  private activeTicket(ticketId: string): Ticket | undefined {
    const ticket = this.tickets.get(ticketId);
    return ticket && ticket.expiresAt > this.now() ? ticket : undefined;
  }

  private activeRpt(token: string): Rpt | undefined {
    const rpt = this.rpts.get(token);
    return rpt && rpt.exp * 1000 > this.now() ? rpt : undefined;
  }

  private issueTicket(fields: Omit<Ticket, 'expiresAt'>): string {
    this.sweep();
    const id = randomUUID();
    this.tickets.set(id, { ...fields, expiresAt: this.now() + this.ticketTtlMs });
    return id;
  }

  /** Forgets expired tickets and RPTs so memory stays bounded. */
  private sweep(): void {
    const nowMs = this.now();
    for (const [id, ticket] of this.tickets) {
      if (ticket.expiresAt <= nowMs) this.tickets.delete(id);
    }
    for (const [token, rpt] of this.rpts) {
      if (rpt.exp * 1000 <= nowMs) this.rpts.delete(token);
    }
  }

  /** Scopes an active RPT holds for a resource, or undefined when it holds none. */
  private heldScopes(rpt: string, resourceId: string): Set<string> | undefined {
    const record = isNonEmptyString(rpt) ? this.activeRpt(rpt) : undefined;
    const nowMs = this.now();
    const permissions = (record?.permissions ?? []).filter(
      (p) => p.resource_id === resourceId && p.exp * 1000 > nowMs,
    );
    return permissions.length > 0
      ? new Set(permissions.flatMap((p) => p.resource_scopes))
      : undefined;
  }

  private satisfies(
    resource: ProtectedResource,
    held: ReadonlySet<string>,
    override: readonly string[] | undefined,
  ): boolean {
    if (override) return override.some((s) => held.has(s));
    if (resource.scope_expression) return evaluateScopeExpression(resource.scope_expression, held);
    return resource.scopes.some((s) => held.has(s));
  }

  private pushedClaims(token: string, format: string): ClaimValues {
    if (format !== ID_TOKEN_CLAIM_FORMAT) {
      throw asError(
        'invalid_claim_token_format',
        `claim_token_format ${format} is not supported; use ${ID_TOKEN_CLAIM_FORMAT}`,
      );
    }
    try {
      return claimsFromIdToken(token, this.now());
    } catch (err) {
      if (!(err instanceof ClaimTokenError)) throw err;
      throw asError(err.error, err.message);
    }
  }

  /** The ticket of a claims-gathering request, if the request matches its gathering. */
  private gatheringTicket(
    ticketId: string | null,
    match?: URLSearchParams,
  ): { ticket: Ticket; gathering: Gathering } | undefined {
    const ticket = ticketId ? this.activeTicket(ticketId) : undefined;
    const gathering = ticket?.gathering;
    if (!ticket || !gathering) return undefined;
    if (
      match &&
      (match.get('client_id') !== gathering.clientId ||
        match.get('claims_redirect_uri') !== gathering.claimsRedirectUri ||
        match.get('state') !== gathering.state)
    ) {
      return undefined;
    }
    return { ticket, gathering };
  }

  private missingClaims(ticket: Ticket, gathering: Gathering): RequiredClaim[] {
    const known = ticket.claimsClientId === gathering.clientId ? ticket.claims : {};
    return unsatisfiedClaims(this.policy, ticket.scopes, known);
  }

  private sendInvalidLink(res: ServerResponse): void {
    sendHtml(
      res,
      400,
      renderMessagePage(
        'Link not valid',
        'This link is invalid, expired or already used. Return to the application and try again.',
      ),
    );
  }

  private showClaimsForm(query: URLSearchParams, res: ServerResponse): void {
    const ticketId = query.get('ticket');
    const found = this.gatheringTicket(ticketId, query);
    if (!found || !ticketId) {
      this.sendInvalidLink(res);
      return;
    }
    const fields = this.missingClaims(found.ticket, found.gathering).map(toField);
    sendHtml(
      res,
      200,
      renderClaimsForm({ action: this.endpoint.pathname, ticket: ticketId, fields }),
    );
  }

  private acceptClaimsForm(form: URLSearchParams, res: ServerResponse): void {
    const ticketId = form.get('ticket');
    const found = this.gatheringTicket(ticketId);
    if (!found || !ticketId) {
      this.sendInvalidLink(res);
      return;
    }
    const { ticket, gathering } = found;
    const missing = this.missingClaims(ticket, gathering);
    const values: Record<string, string> = {};
    const rejected: string[] = [];
    for (const claim of missing) {
      const value = (form.get(claim.name) ?? '').trim();
      values[claim.name] = value;
      const field = toField(claim);
      const wellFormed = field.type !== 'email' || /^[^\s@]+@[^\s@]+$/.test(value);
      if (!wellFormed || !isClaimSatisfied(claim, { [claim.name]: [value] })) {
        rejected.push(field.label);
      }
    }
    if (rejected.length > 0) {
      sendHtml(
        res,
        400,
        renderClaimsForm({
          action: this.endpoint.pathname,
          ticket: ticketId,
          fields: missing.map(toField),
          values,
          error: `Not accepted: ${rejected.join(', ')}. Check the values and try again.`,
        }),
      );
      return;
    }
    this.tickets.delete(ticketId);
    const gathered: ClaimValues = Object.fromEntries(
      Object.entries(values).map(([name, value]) => [name, [value]]),
    );
    const next = this.issueTicket({
      rsOxdId: ticket.rsOxdId,
      resourceId: ticket.resourceId,
      scopes: ticket.scopes,
      claims: mergeClaims(
        ticket.claimsClientId === gathering.clientId ? ticket.claims : {},
        gathered,
      ),
      claimsClientId: gathering.clientId,
      state: gathering.state,
    });
    const location = new URL(gathering.claimsRedirectUri);
    location.searchParams.set('ticket', next);
    location.searchParams.set('state', gathering.state);
    debug('uma: claims gathered for %s', gathering.clientId);
    res.statusCode = 302;
    res.setHeader('Location', location.href);
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.end();
  }
}

function toField(claim: RequiredClaim): ClaimField {
  const label = claim.friendly_name ?? claim.name;
  const isEmail =
    claim.name === 'email' ||
    claim.friendly_name === 'email' ||
    claim.claim_type === 'urn:oid:0.9.2342.19200300.100.1.3';
  return { name: claim.name, label, type: isEmail ? 'email' : 'text' };
}
