/**
 * The OP's redirect back to the application: check the state against the logins this
 * session started, exchange the code through oxd, fetch the user's claims, and store the
 * login in a regenerated session.
 */
import type { ServerResponse } from 'node:http';
import { debuglog } from 'node:util';
import { ERROR_CODES, OxdAuthError, OxdConfigError } from '../errors';
import {
  compactLogin,
  jwtPayloadClaims,
  loginView,
  regenerateSession,
  requireSession,
  saveSession,
  storedLogin,
  type OxdIncomingMessage,
  type PendingLogin,
  type StoredLogin,
} from '../session';
import { normaliseClaims } from './claims';
import { livePendingLogins } from './login';
import { queryOf, singleParam } from './request';
import { redirect } from './response';
import type { OxdRuntime } from './runtime';
import { tokensFromReply } from './tokens';

const debug = debuglog('express-oxd');

function opError(query: URLSearchParams): OxdAuthError | undefined {
  const error = singleParam(query, 'error');
  if (error === undefined) return undefined;
  const description = singleParam(query, 'error_description');
  return new OxdAuthError(
    ERROR_CODES.OP_ERROR,
    `The OpenID Provider did not complete the login: ${error}` +
      (description ? ` (${description})` : ''),
    { status: 400, opError: error, ...(description ? { opErrorDescription: description } : {}) },
  );
}

function stateMismatch(message: string): OxdAuthError {
  return new OxdAuthError(ERROR_CODES.STATE_MISMATCH, message, { status: 400 });
}

/** Removes the pending login with `state` from the session; it can be used only once. */
function takePendingLogin(
  entries: PendingLogin[],
  state: string,
): { login: PendingLogin; rest: PendingLogin[] } {
  const index = entries.findIndex((entry) => entry.state === state);
  const login = entries[index];
  if (!login) {
    throw stateMismatch(
      'The login callback carried a state this session did not start, or one that expired or ' +
        'was already used. Start the login again.',
    );
  }
  return { login, rest: entries.filter((_, i) => i !== index) };
}

/** Builds what the session keeps about the login, from oxd's two answers. */
async function loginData(
  runtime: OxdRuntime,
  code: string,
  login: PendingLogin,
): Promise<StoredLogin> {
  const reply = await runtime.client.getTokensByCode({ code, state: login.state });
  const tokens = tokensFromReply(reply, runtime.clock());
  const nonce = normaliseClaims(reply.id_token_claims).nonce;
  if (login.nonce !== undefined && nonce !== undefined && nonce !== login.nonce) {
    throw stateMismatch(
      'The ID token was issued for another login (nonce mismatch). Log in again.',
    );
  }
  const userInfo = await runtime.client.getUserInfo({
    access_token: tokens.access_token,
    ...(runtime.clientChoosesState && tokens.id_token ? { id_token: tokens.id_token } : {}),
  });
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
): Promise<StoredLogin> {
  if (!runtime.afterCallback) return stored;
  const view = loginView(stored, runtime.claimsAsLists);
  const shaped = await runtime.afterCallback(req, res, { ...view });
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
 * Handles `GET <callback>?code&state` (or `?error`). The pending login is consumed and the
 * session saved before the code is exchanged, so a replayed callback fails even while the
 * first one is still running.
 */
export async function handleCallback(
  runtime: OxdRuntime,
  req: OxdIncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const session = requireSession(req);
  const query = queryOf(req.url);
  const refused = opError(query);
  if (refused) throw refused;
  const state = singleParam(query, 'state');
  if (!state) {
    throw stateMismatch('The login callback carried no state. Start the login again.');
  }
  const { login, rest } = takePendingLogin(
    livePendingLogins(session.oxdLogins, runtime.clock()),
    state,
  );
  if (rest.length > 0) session.oxdLogins = rest;
  else delete session.oxdLogins;
  await saveSession(session);

  const code = singleParam(query, 'code');
  if (!code) {
    throw new OxdAuthError(
      ERROR_CODES.OP_ERROR,
      'The login callback carried neither a code nor an error. Start the login again.',
      { status: 400 },
    );
  }
  const data = await reshape(runtime, req, res, await loginData(runtime, code, login));

  // A new session id at login (against session fixation); logins other tabs started survive.
  const fresh = await regenerateSession(req);
  fresh.oxd = data;
  if (rest.length > 0) fresh.oxdLogins = rest;
  await saveSession(fresh);
  debug('callback: login completed, session regenerated');
  redirect(res, login.returnTo);
}
