/**
 * The OP's redirect back to the application: check the state against the logins this
 * session started, exchange the code through oxd, fetch the user's claims, and store the
 * login in a regenerated session.
 */
import type { ServerResponse } from 'node:http';
import { debuglog } from 'node:util';
import {
  ERROR_CODES,
  OxdAuthError,
  OxdCommandError,
  OxdConfigError,
  stateMismatch,
} from '../errors';
import {
  compactLogin,
  jwtPayloadClaims,
  loginView,
  storedLogin,
  type StoredLogin,
} from '../session/login';
import {
  otherLogins,
  regenerateSession,
  requireSession,
  saveSession,
  type OxdIncomingMessage,
  type PendingLogin,
} from '../session/store';
import { rememberLogin, storeOf } from './logout-records';
import { followSessionId } from './moved-login';
import { normaliseClaims } from '../claims';
import { activeLogin } from './lifetime';
import { livePendingLogins } from './login';
import { queryOf, singleParam } from '../http/request';
import { redirect } from '../http/response';
import { isSafeReturnTo, safeReturnTo } from '../http/return-to';
import { expectedIssuer, sameIssuer } from './issuer';
import type { OxdRuntime } from './runtime';
import { isRefusal, tokensFromReply } from './tokens';
import { underRequest } from '../telemetry';

const debug = debuglog('express-oxd');

/** Options of `req.oxd.callback()`. */
export interface CallbackOptions {
  /**
   * Same-origin path to go to once the login is complete, instead of the `returnTo` the
   * login started with (validated like it; anything else is ignored).
   */
  returnTo?: string;
}

/**
 * The OP's error answer to a login this session started (the state matched, so the text
 * comes from the OP the user was sent to, not from a link on another site).
 */
function opError(error: string, query: URLSearchParams): OxdAuthError {
  if (error === 'access_denied') {
    return new OxdAuthError(
      ERROR_CODES.LOGIN_CANCELLED,
      'The login was cancelled at the OpenID Provider; nobody is logged in.',
      { status: 401, opError: error },
    );
  }
  const description = singleParam(query, 'error_description');
  return new OxdAuthError(
    ERROR_CODES.OP_ERROR,
    `The OpenID Provider did not complete the login: ${error}` +
      (description ? ` (${description})` : ''),
    { status: 400, opError: error, ...(description ? { opErrorDescription: description } : {}) },
  );
}

/**
 * Errors of a `prompt=none` login (OpenID Connect Core 3.1.2.6): the OP could not log the
 * user in without showing a page. A silent login then goes on anonymously.
 */
const SILENT_LOGIN_ERRORS: ReadonlySet<string> = new Set([
  'login_required',
  'interaction_required',
  'consent_required',
  'account_selection_required',
]);

/**
 * The OP refused the authorization code (unknown, expired, used, or issued to another login):
 * the callback request was at fault, so a 400 asking to log in again, not a server error.
 */
function refusedCode(err: unknown): OxdAuthError | undefined {
  if (!(err instanceof OxdCommandError) || !isRefusal(err)) return undefined;
  return new OxdAuthError(
    ERROR_CODES.OP_ERROR,
    'The OpenID Provider did not accept the login (its code is unknown, expired or already ' +
      'used). Start the login again.',
    { status: 400, cause: err },
  );
}

/** Builds what the session keeps about the login, from oxd's two answers. */
async function loginData(
  runtime: OxdRuntime,
  code: string,
  login: PendingLogin,
  req: OxdIncomingMessage,
): Promise<StoredLogin> {
  const reply = await underRequest(req, () =>
    runtime.client.getTokensByCode({ code, state: login.state }),
  ).catch((err: unknown) => {
    throw refusedCode(err) ?? err;
  });
  const tokens = tokensFromReply(reply, runtime.clock(), undefined, runtime.clockToleranceMs);
  const nonce = normaliseClaims(reply.id_token_claims).nonce;
  if (login.nonce !== undefined && nonce !== undefined && nonce !== login.nonce) {
    throw stateMismatch(
      'The ID token was issued for another login (nonce mismatch). Log in again.',
    );
  }
  const userInfo = await underRequest(req, () =>
    runtime.client.getUserInfo({
      access_token: tokens.access_token,
      ...(runtime.clientChoosesState && tokens.id_token ? { id_token: tokens.id_token } : {}),
    }),
  );
  // Each thing once: claims, ID-token claims, sid and iss are derived on access.
  const stored = storedLogin(tokens, userInfo.claims, runtime.claimsAsLists);
  if (tokens.id_token === undefined || jwtPayloadClaims(tokens.id_token) === undefined) {
    // No readable ID token to derive from: keep what oxd said about it.
    const idTokenClaims = normaliseClaims(reply.id_token_claims);
    if (Object.keys(idTokenClaims).length > 0) stored.idTokenClaims = idTokenClaims;
  }
  return stored;
}

async function reshape(
  runtime: OxdRuntime,
  req: OxdIncomingMessage,
  res: ServerResponse,
  stored: StoredLogin,
  login: PendingLogin,
): Promise<StoredLogin> {
  if (!runtime.afterCallback) return stored;
  const view = loginView(stored, runtime.claimsAsLists);
  const shaped = await runtime.afterCallback(req, res, { ...view }, login.appState);
  if (typeof shaped !== 'object' || shaped === null || typeof shaped.tokens !== 'object') {
    // A fixed text about the application's own hook (no path or URL): shown on the page,
    // so that the developer trying the login sees what to fix.
    throw new OxdConfigError(
      'afterCallback must return the session data (an object with tokens and claims)',
      { key: 'afterCallback' },
      { expose: true },
    );
  }
  return compactLogin(shaped, view, stored);
}

/**
 * Handles `GET <callback>?code&state` (or `?error&state`). The state is checked first: a
 * callback that belongs to no login of this session shows a generic page and nothing the
 * request carried, or, when the session is already logged in (Back button, reload of the
 * callback URL), sends the user on to `/`. The pending login is consumed and the session
 * saved before the code is exchanged, so a replayed callback fails even while the first one
 * is still running.
 */
export async function handleCallback(
  runtime: OxdRuntime,
  req: OxdIncomingMessage,
  res: ServerResponse,
  options: CallbackOptions = {},
): Promise<void> {
  const session = requireSession(req);
  const query = queryOf(req.url);
  const state = singleParam(query, 'state');
  const pending = livePendingLogins(session[runtime.loginsKey], runtime.clock());
  const index = state === undefined ? -1 : pending.findIndex((entry) => entry.state === state);
  const login = pending[index];
  if (!login) {
    if (activeLogin(runtime, session)) {
      debug('callback: no login of this session has that state; already logged in, going on');
      redirect(res, '/');
      return;
    }
    throw stateMismatch(
      state
        ? 'The login callback carried a state this session did not start, or one that expired ' +
            'or was already used. Start the login again.'
        : 'The login callback carried no state. Start the login again.',
    );
  }
  const rest = pending.filter((_, i) => i !== index);
  if (rest.length > 0) session[runtime.loginsKey] = rest;
  else delete session[runtime.loginsKey];
  await saveSession(session);

  if (query.has('iss')) {
    const iss = singleParam(query, 'iss');
    const expected = expectedIssuer(runtime);
    if (iss === undefined || (expected !== undefined && !sameIssuer(iss, expected))) {
      throw stateMismatch(
        'The login response names another issuer than the configured OpenID Provider ' +
          '(RFC 9207 iss). Start the login again.',
      );
    }
  }

  const error = singleParam(query, 'error') ?? (query.has('error') ? 'invalid_request' : undefined);
  if (error !== undefined) {
    if (login.silent === true && SILENT_LOGIN_ERRORS.has(error)) {
      debug('callback: silent login found no OP session (%s), going on anonymously', error);
      redirect(res, login.returnTo);
      return;
    }
    throw opError(error, query);
  }
  const code = singleParam(query, 'code');
  if (!code) {
    throw new OxdAuthError(
      ERROR_CODES.OP_ERROR,
      'The login callback carried neither a code nor an error. Start the login again.',
      { status: 400 },
    );
  }
  const data = await reshape(runtime, req, res, await loginData(runtime, code, login, req), login);
  data.startedAt = runtime.clock();

  // A new session id at login (against session fixation); logins other tabs started, and
  // the logins of other oxdAuth() instances of the application, survive.
  const kept = otherLogins(session, [runtime.sessionKey, runtime.loginsKey]);
  const previousId = req.sessionID;
  const fresh = await regenerateSession(req);
  for (const [key, value] of kept) fresh[key] = value;
  fresh[runtime.sessionKey] = data;
  if (rest.length > 0) fresh[runtime.loginsKey] = rest;
  await saveSession(fresh);
  const store = storeOf(req);
  await followSessionId(store, runtime.refreshLock, kept, previousId, req.sessionID);
  // The login names the session its records name only once they are written: otherwise its
  // next request sees no match and records it (`movedLogin`). The stamp is saved with the
  // session at the end of the request, as the session's id changed.
  if (
    runtime.routes.backchannelLogout &&
    (await rememberLogin(runtime, store, req.sessionID, data))
  ) {
    data.recordedIn = req.sessionID;
  }
  debug('callback: login completed, session regenerated');
  redirect(res, isSafeReturnTo(options.returnTo) ? safeReturnTo(options.returnTo) : login.returnTo);
}
