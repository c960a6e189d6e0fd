/**
 * The claims-gathering page of the local UMA authorization server: the URL of
 * `uma_rp_get_claims_gathering_url`, a form (escaped, no script, one inline style) asking for the
 * claims the policy still needs, and the redirect back to the client with a new ticket.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { debuglog } from 'node:util';
import { BodyError, escapeHtml, readForm, sendPage } from '../http';
import { PAGE_CSP_SOURCES, styledPage } from '../page-style';
import {
  type ClaimValues,
  type ClaimsPolicy,
  type RequiredClaim,
  isClaimSatisfied,
  mergeClaims,
  unsatisfiedClaims,
} from './claims-policy';
import type { Gathering, Ticket, UmaGrants } from './grants';
import type { SignedInUser } from './signed-in-user';
import { UmaError, asError, isNonEmptyString } from './uma-error';

const debug = debuglog('express-oxd');

/** Largest accepted form body. */
export const MAX_FORM_BYTES = 16 * 1024;
/** How long a sign-in at the OP may take before its state is forgotten. */
const SIGN_IN_TTL_MS = 10 * 60 * 1000;
const MAX_PENDING_SIGN_INS = 1000;

/** One input of the claims form. */
export interface ClaimField {
  /** Claim name: the input's `name` and `id`. */
  name: string;
  label: string;
  type: 'email' | 'text';
  /** Only the signed-in user's own value is accepted. */
  signedInUser?: boolean;
}

function page(title: string, body: string): string {
  return styledPage({
    title,
    brand: 'UMA authorization server',
    body: `<h1>${escapeHtml(title)}</h1>\n${body}`,
  });
}

/** The form asking for `fields`; posts back to `action` with the ticket in a hidden input. */
export function renderClaimsForm(options: {
  action: string;
  ticket: string;
  fields: readonly ClaimField[];
  values?: Readonly<Record<string, string>>;
  error?: string;
}): string {
  const { action, ticket, fields, values = {}, error } = options;
  const intro =
    fields.length === 0
      ? '<p>No further information is needed. Continue to return to the application.</p>'
      : '<p>The application needs the following information before it can grant access.</p>';
  const own = fields.some((field) => field.signedInUser)
    ? '<p class="hint">Give the values of the account you are signed in with at the OpenID Provider.</p>\n'
    : '';
  const alert = error ? `<p role="alert" id="error" class="error">${escapeHtml(error)}</p>\n` : '';
  const inputs = fields
    .map((field) => {
      const id = escapeHtml(field.name);
      const value = values[field.name];
      const valueAttr = value === undefined ? '' : ` value="${escapeHtml(value)}"`;
      return `<p><label for="${id}">${escapeHtml(field.label)}</label>
<input id="${id}" name="${id}" type="${field.type}" required${valueAttr}></p>`;
    })
    .join('\n');
  return page(
    'Additional information required',
    `${alert}${intro}
${own}<form method="post" action="${escapeHtml(action)}">
<input type="hidden" name="ticket" value="${escapeHtml(ticket)}">
${inputs}
<p><button type="submit" id="submit">Continue</button></p>
</form>`,
  );
}

/** A page with a single message (invalid link, server failure). */
export function renderMessagePage(title: string, message: string): string {
  return page(title, `<p role="alert" id="error" class="error">${escapeHtml(message)}</p>`);
}

/** The page's CSP: nothing loads but its own style and icon, nothing frames it. */
const PAGE_CSP = ["default-src 'none'", ...PAGE_CSP_SOURCES, "frame-ancestors 'none'"].join('; ');

function sendHtml(res: ServerResponse, status: number, html: string): void {
  sendPage(res, status, html, PAGE_CSP);
}

/**
 * The `.catch` of a GET whose answer depends on the OP: logs what failed (debug only) and,
 * unless the answer has begun, sends a 502 page with `title` and `text`.
 */
function failPage(
  res: ServerResponse,
  failed: string,
  title: string,
  text: string,
): (err: unknown) => void {
  return (err) => {
    debug('uma: %s: %s', failed, (err as Error)?.message);
    if (!res.headersSent) sendHtml(res, 502, renderMessagePage(title, text));
  };
}

export interface ClaimsGatheringUrlRequest {
  ticket: string;
  claims_redirect_uri: string;
  state?: string;
}

function toField(claim: RequiredClaim): ClaimField {
  const label = claim.friendly_name ?? claim.name;
  const isEmail =
    claim.name === 'email' ||
    claim.friendly_name === 'email' ||
    claim.claim_type === 'urn:oid:0.9.2342.19200300.100.1.3';
  return {
    name: claim.name,
    label,
    type: isEmail ? 'email' : 'text',
    ...(claim.signed_in_user ? { signedInUser: true } : {}),
  };
}

/** The claims-gathering endpoint at `endpoint`, working on the tickets of `grants`. */
export class ClaimsGatheringPage {
  /** Sign-ins at the OP under way: their state -> the ticket and the form's query. */
  private readonly signIns = new Map<
    string,
    { ticketId: string; search: string; at: number; nonce: string }
  >();

  constructor(
    private readonly endpoint: URL,
    private readonly policy: ClaimsPolicy,
    private readonly grants: UmaGrants,
    /** Asks the OP who is signed in, for claims marked `signed_in_user`. */
    private readonly signedInUser?: SignedInUser,
  ) {}

  /** See UmaAuthorizationServer.claimsGatheringUrl. */
  url(clientId: string, req: ClaimsGatheringUrlRequest): { url: string; state: string } {
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
    const ticket = this.grants.activeTicket(ticketId);
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

  /** See UmaAuthorizationServer.handleClaimsGathering. */
  handle(req: IncomingMessage, res: ServerResponse): boolean {
    const url = new URL(req.url ?? '/', this.endpoint.origin);
    if (url.pathname !== this.endpoint.pathname) return false;
    if (req.method === 'GET' && !url.searchParams.has('ticket') && url.searchParams.has('state')) {
      // Back from the sign-in at the OP.
      this.finishSignIn(url.searchParams, res).catch(
        failPage(
          res,
          'sign-in at the OP failed',
          'Sign-in failed',
          'The OpenID Provider could not tell who is signed in; return to the application and try again.',
        ),
      );
    } else if (req.method === 'GET') {
      this.showForm(url, res).catch(
        failPage(
          res,
          'claims-gathering page failed',
          'Server error',
          'The OpenID Provider could not be reached; try again.',
        ),
      );
    } else if (req.method === 'POST') {
      readForm(req, MAX_FORM_BYTES)
        .then((form) => this.acceptForm(form, res))
        .catch((err: unknown) => {
          if (err instanceof BodyError) {
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

  /** The ticket of a claims-gathering request, if the request matches its gathering. */
  private gatheringTicket(
    ticketId: string | null,
    match?: URLSearchParams,
  ): { ticket: Ticket; gathering: Gathering } | undefined {
    const ticket = ticketId ? this.grants.activeTicket(ticketId) : undefined;
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

  private async showForm(url: URL, res: ServerResponse): Promise<void> {
    const query = url.searchParams;
    const ticketId = query.get('ticket');
    const found = this.gatheringTicket(ticketId, query);
    if (!found || !ticketId) {
      this.sendInvalidLink(res);
      return;
    }
    const fields = this.missingClaims(found.ticket, found.gathering).map(toField);
    if (fields.some((field) => field.signedInUser) && found.gathering.signedIn === undefined) {
      if (!this.signedInUser) {
        throw new Error('the claims policy needs the signed-in user, and no OP was given to ask');
      }
      // First find out at the OP who is signed in, then come back to this form.
      const now = Date.now();
      for (const [key, entry] of this.signIns) {
        if (now - entry.at > SIGN_IN_TTL_MS || this.signIns.size > MAX_PENDING_SIGN_INS) {
          this.signIns.delete(key);
        }
      }
      const state = randomBytes(16).toString('base64url');
      const login = await this.signedInUser.loginUrl(state);
      this.signIns.set(state, { ticketId, search: url.search, at: now, nonce: login.nonce });
      redirect(res, login.url);
      return;
    }
    sendHtml(
      res,
      200,
      renderClaimsForm({ action: this.endpoint.pathname, ticket: ticketId, fields }),
    );
  }

  private acceptForm(form: URLSearchParams, res: ServerResponse): void {
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
      const own = (gathering.signedIn?.[claim.name] ?? []).map((v) => v.trim().toLowerCase());
      if (!wellFormed || !isClaimSatisfied(claim, { [claim.name]: [value] })) {
        rejected.push(field.label);
      } else if (field.signedInUser && !own.includes(value.toLowerCase())) {
        rejected.push(`${field.label} (not the one of the account you are signed in with)`);
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
    this.grants.consumeTicket(ticketId);
    const gathered: ClaimValues = Object.fromEntries(
      Object.entries(values).map(([name, value]) => [name, [value]]),
    );
    const next = this.grants.issueTicket({
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
    redirect(res, location.href);
  }

  /** The OP sent the browser back: keep who signed in on the gathering, show the form again. */
  private async finishSignIn(query: URLSearchParams, res: ServerResponse): Promise<void> {
    const state = query.get('state') ?? '';
    const pending = this.signIns.get(state);
    this.signIns.delete(state);
    const gathering = pending ? this.grants.activeTicket(pending.ticketId)?.gathering : undefined;
    if (!pending || !gathering) {
      this.sendInvalidLink(res);
      return;
    }
    const code = query.get('code');
    if (!code || !this.signedInUser) {
      sendHtml(
        res,
        400,
        renderMessagePage(
          'Not signed in',
          `The OpenID Provider did not sign you in (${query.get('error') ?? 'no code'}); return to the application and try again.`,
        ),
      );
      return;
    }
    gathering.signedIn = await this.signedInUser.claims(code, pending.nonce);
    redirect(res, `${this.endpoint.pathname}${pending.search}`);
  }
}

function redirect(res: ServerResponse, location: string): void {
  res.statusCode = 302;
  res.setHeader('Location', location);
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.end();
}
