import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { debuglog } from 'node:util';

import { BodyError, readForm, sendPage } from '../http';
import { INTERACTION_PATH } from './configuration';
import type { InteractionDetails, Provider } from './provider-types';
import type { TestUser } from './users';
import { contentSecurityPolicy, renderErrorPage, renderLoginPage } from './views';

const log = debuglog('express-oxd');

const MAX_FORM_BYTES = 16 * 1024;
const LOGIN_FAILED = 'Wrong username or password. Try again.';

type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

/**
 * The OP's own pages under `/interaction/<uid>`:
 * - `GET  /interaction/<uid>`        login form (prompt `login`), or automatic consent
 * - `POST /interaction/<uid>/login`  checks `username` / `password` against the users
 * - `POST /interaction/<uid>/abort`  ends the request with `access_denied`
 *
 * Consent is never asked: the local OP grants every requested scope and claim.
 */
export function createInteractionHandler(provider: Provider, users: readonly TestUser[]): Handler {
  const byUsername = new Map(users.map((user) => [user.username, user]));

  async function show(req: IncomingMessage, res: ServerResponse, details: InteractionDetails) {
    if (details.prompt.name === 'login') {
      await sendLoginForm(res, details, 200, stringParam(details.params.login_hint));
      return;
    }
    if (details.prompt.name === 'consent') {
      await grantConsent(req, res, details);
      return;
    }
    sendError(
      res,
      400,
      'unsupported_prompt',
      `The prompt "${details.prompt.name}" is not handled.`,
    );
  }

  async function sendLoginForm(
    res: ServerResponse,
    details: InteractionDetails,
    status: number,
    username?: string,
    error?: string,
  ) {
    const clientId = stringParam(details.params.client_id) ?? '';
    const client = clientId === '' ? undefined : await provider.Client.find(clientId);
    const base = `${INTERACTION_PATH}${encodeURIComponent(details.uid)}`;
    sendPage(
      res,
      status,
      renderLoginPage({
        action: `${base}/login`,
        abortAction: `${base}/abort`,
        clientName: client?.clientName ?? clientId,
        username,
        error,
      }),
      contentSecurityPolicy(),
    );
  }

  async function login(req: IncomingMessage, res: ServerResponse, details: InteractionDetails) {
    if (details.prompt.name !== 'login') {
      sendError(res, 400, 'invalid_request', 'This sign-in request is not waiting for a login.');
      return;
    }
    const form = await readForm(req, MAX_FORM_BYTES);
    const username = form.get('username') ?? '';
    const user = byUsername.get(username);
    if (user === undefined || !samePassword(form.get('password') ?? '', user.password)) {
      await sendLoginForm(res, details, 200, username, LOGIN_FAILED);
      return;
    }
    await provider.interactionFinished(
      req,
      res,
      { login: { accountId: String(user.claims.sub) } },
      { mergeWithLastSubmission: false },
    );
  }

  async function grantConsent(
    req: IncomingMessage,
    res: ServerResponse,
    details: InteractionDetails,
  ) {
    const accountId = details.session?.accountId;
    const clientId = stringParam(details.params.client_id);
    if (accountId === undefined || clientId === undefined) {
      sendError(res, 400, 'invalid_request', 'The sign-in request has no session or client.');
      return;
    }
    const existing =
      details.grantId === undefined ? undefined : await provider.Grant.find(details.grantId);
    const grant = existing ?? new provider.Grant({ accountId, clientId });
    const { missingOIDCScope, missingOIDCClaims, missingResourceScopes } = details.prompt.details;
    if (Array.isArray(missingOIDCScope)) grant.addOIDCScope(missingOIDCScope.join(' '));
    if (Array.isArray(missingOIDCClaims)) grant.addOIDCClaims(missingOIDCClaims as string[]);
    if (missingResourceScopes !== null && typeof missingResourceScopes === 'object') {
      for (const [indicator, scopes] of Object.entries(missingResourceScopes)) {
        if (Array.isArray(scopes)) grant.addResourceScope(indicator, scopes.join(' '));
      }
    }
    const grantId = await grant.save();
    await provider.interactionFinished(
      req,
      res,
      { consent: existing === undefined ? { grantId } : {} },
      { mergeWithLastSubmission: true },
    );
  }

  async function abort(req: IncomingMessage, res: ServerResponse) {
    await provider.interactionFinished(
      req,
      res,
      { error: 'access_denied', error_description: 'End-User aborted the sign-in' },
      { mergeWithLastSubmission: false },
    );
  }

  return async function handleInteraction(req, res) {
    const path = new URL(req.url ?? '/', 'https://op.invalid').pathname;
    const [uid, action, ...rest] = path.slice(INTERACTION_PATH.length).split('/');
    const route = `${req.method ?? 'GET'} ${action ?? ''}`;
    if (uid === undefined || uid === '' || rest.length > 0) {
      sendError(res, 404, 'not_found', 'No such page.');
      return;
    }
    if (!['GET ', 'POST login', 'POST abort'].includes(route)) {
      const known = action === undefined || action === 'login' || action === 'abort';
      sendError(
        res,
        known ? 405 : 404,
        known ? 'method_not_allowed' : 'not_found',
        'No such page.',
      );
      return;
    }
    try {
      const details = await provider.interactionDetails(req, res);
      if (details.uid !== decodeURIComponent(uid)) {
        sendError(res, 400, 'invalid_request', 'This page belongs to another sign-in request.');
      } else if (route === 'GET ') {
        await show(req, res, details);
      } else if (route === 'POST login') {
        await login(req, res, details);
      } else {
        await abort(req, res);
      }
    } catch (err) {
      if (res.headersSent) {
        res.destroy(err as Error);
      } else if (err instanceof BodyError) {
        sendError(res, err.status, 'invalid_request', err.message);
      } else if ((err as { name?: unknown }).name === 'SessionNotFound') {
        sendError(
          res,
          400,
          'invalid_request',
          'This sign-in request expired or its cookie is missing. Start again from the application.',
        );
      } else {
        log('local OP interaction failed: %s', (err as Error).stack ?? err);
        sendError(res, 500, 'server_error', 'The sign-in page failed.');
      }
    }
  };
}

/** Compares digests so the time taken does not depend on where the strings differ. */
function samePassword(given: string, expected: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

function stringParam(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function sendError(res: ServerResponse, status: number, error: string, description: string) {
  sendPage(
    res,
    status,
    renderErrorPage({ error, error_description: description }),
    contentSecurityPolicy(),
  );
}
