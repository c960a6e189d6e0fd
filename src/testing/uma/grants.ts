/**
 * Grants of the local UMA authorization server: permission tickets, RPTs and PCTs, and the
 * ticket exchange of `uma_rp_get_rpt` (UMA 2.0 Grant). Everything here lives in memory only;
 * expired tickets and RPTs are swept as new ones are issued.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { debuglog } from 'node:util';
import type { IntrospectRptResult, UmaPermission, UmaRpGetRptParams } from '../../oxd/commands';
import {
  type ClaimValues,
  type ClaimsPolicy,
  ClaimTokenError,
  ID_TOKEN_CLAIM_FORMAT,
  type NeedInfoClaim,
  claimsFromIdToken,
  mergeClaims,
  toNeedInfoClaim,
  unsatisfiedClaims,
} from './claims-policy';
import { type ResourceRegistry, registeredScopes } from './resources';
import { UmaError, asError, isNonEmptyString, isStringList } from './uma-error';

const debug = debuglog('express-oxd');

const NEED_INFO_DESCRIPTION =
  'The authorization server needs additional information in order to determine whether the client is authorized to have these permissions.';

/** The `details` of a `need_info` {@link UmaError}. */
export interface NeedInfoDetails {
  error: 'need_info';
  /** A new ticket: use it for the claims-gathering URL or the next `getRpt`. */
  ticket: string;
  required_claims: NeedInfoClaim[];
  /** The claims-gathering endpoint to send the user to (see `claimsGatheringUrl`). */
  redirect_user: string;
}

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

/** A claims gathering started for a ticket (see claims-gathering.ts). */
export interface Gathering {
  clientId: string;
  claimsRedirectUri: string;
  state: string;
  /** Claims of the user signed in at the OP, once the page has asked it. */
  signedIn?: ClaimValues;
}

export interface Ticket {
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

export interface GrantsOptions {
  asUri: string;
  /** `redirect_user` of need_info answers. */
  claimsGatheringEndpoint: string;
  policy: ClaimsPolicy;
  resources: ResourceRegistry;
  ticketTtlMs: number;
  rptTtlSeconds: number;
  now: () => number;
}

function opaqueToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Tickets, RPTs and PCTs of every client. */
export class UmaGrants {
  private readonly tickets = new Map<string, Ticket>();
  private readonly rpts = new Map<string, Rpt>();
  private readonly pcts = new Map<string, Pct>();

  constructor(private readonly options: GrantsOptions) {}

  /** Registers a permission ticket; returns its id. */
  issueTicket(fields: Omit<Ticket, 'expiresAt'>): string {
    this.sweep();
    const id = randomUUID();
    this.tickets.set(id, { ...fields, expiresAt: this.options.now() + this.options.ticketTtlMs });
    return id;
  }

  activeTicket(ticketId: string): Ticket | undefined {
    const ticket = this.tickets.get(ticketId);
    return ticket && ticket.expiresAt > this.options.now() ? ticket : undefined;
  }

  /** Tickets are single use. */
  consumeTicket(ticketId: string): void {
    this.tickets.delete(ticketId);
  }

  /** Scopes an active RPT holds for a resource, or undefined when it holds none. */
  heldScopes(rpt: string, resourceId: string): Set<string> | undefined {
    const record = isNonEmptyString(rpt) ? this.activeRpt(rpt) : undefined;
    const nowMs = this.options.now();
    const permissions = (record?.permissions ?? []).filter(
      (p) => p.resource_id === resourceId && p.exp * 1000 > nowMs,
    );
    return permissions.length > 0
      ? new Set(permissions.flatMap((p) => p.resource_scopes))
      : undefined;
  }

  /** `uma_rp_get_rpt` for `clientId`: see UmaAuthorizationServer.getRpt. */
  getRpt(clientId: string, req: GetRptRequest): GetRptResult {
    const { now, asUri, policy } = this.options;
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
    const resource = ticket && this.options.resources.find(ticket.rsOxdId, ticket.resourceId);
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
    const missing = unsatisfiedClaims(policy, scopes, claims);
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
        required_claims: missing.map((claim) => toNeedInfoClaim(claim, asUri)),
        redirect_user: this.options.claimsGatheringEndpoint,
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

    const iat = Math.floor(now() / 1000);
    const exp = iat + this.options.rptTtlSeconds;
    const previous = isNonEmptyString(rpt) ? this.activeRpt(rpt) : undefined;
    const carried =
      previous && previous.clientId === clientId
        ? previous.permissions.filter((p) => p.exp * 1000 > now())
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

  /** `introspect_rpt`: RFC 7662 introspection plus UMA permissions (unexpired ones). */
  introspect(rpt: string): IntrospectRptResult {
    if (!isNonEmptyString(rpt)) {
      throw new UmaError('invalid_rpt_parameter', 'rpt is required');
    }
    const record = this.activeRpt(rpt);
    if (!record) return { active: false };
    const nowMs = this.options.now();
    return {
      active: true,
      client_id: record.clientId,
      iss: this.options.asUri,
      iat: record.iat,
      nbf: record.iat,
      exp: record.exp,
      permissions: record.permissions
        .filter((p) => p.exp * 1000 > nowMs)
        .map((p) => ({ ...p, resource_scopes: [...p.resource_scopes] })),
    };
  }

  private activeRpt(token: string): Rpt | undefined {
    const rpt = this.rpts.get(token);
    return rpt && rpt.exp * 1000 > this.options.now() ? rpt : undefined;
  }

  /** Forgets expired tickets and RPTs so memory stays bounded. */
  private sweep(): void {
    const nowMs = this.options.now();
    for (const [id, ticket] of this.tickets) {
      if (ticket.expiresAt <= nowMs) this.tickets.delete(id);
    }
    for (const [token, rpt] of this.rpts) {
      if (rpt.exp * 1000 <= nowMs) this.rpts.delete(token);
    }
  }

  private pushedClaims(token: string, format: string): ClaimValues {
    if (format !== ID_TOKEN_CLAIM_FORMAT) {
      throw asError(
        'invalid_claim_token_format',
        `claim_token_format ${format} is not supported; use ${ID_TOKEN_CLAIM_FORMAT}`,
      );
    }
    try {
      return claimsFromIdToken(token, this.options.now());
    } catch (err) {
      if (!(err instanceof ClaimTokenError)) throw err;
      throw asError(err.error, err.message);
    }
  }
}
