/**
 * Starting a login: ask oxd for the OP's authorization URL, remember the login's state,
 * nonce and return path in the session, and redirect the browser to the OP.
 */
import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { OxdProtocolError } from '../errors';
import { extraParams, tokens, type LoginOptions } from './login-params';
import type { GetAuthorizationUrlParams } from '../oxd/commands';
import {
  requireSession,
  saveSession,
  type OxdIncomingMessage,
  livePending,
  type PendingLogin,
} from '../session/store';
import { oxdUrl, redirect } from '../http/response';
import { safeReturnTo } from '../http/return-to';
import { loginStateFor } from './login-state';
import type { OxdRuntime } from './runtime';
import { underRequest } from '../telemetry';

/** Logins a session may have in progress at once (several tabs); the oldest go first. */
export const MAX_PENDING_LOGINS = 5;

/** How long a started login may take before its state is no longer accepted. */
export const PENDING_LOGIN_TTL_MS = 10 * 60 * 1000;

function randomValue(): string {
  return randomBytes(24).toString('base64url');
}

/** Pending logins still valid at `now`, newest last. */
export function livePendingLogins(list: unknown, now: number): PendingLogin[] {
  return livePending<PendingLogin>(list, now, PENDING_LOGIN_TTL_MS);
}

function authorizationParams(
  runtime: OxdRuntime,
  options: LoginOptions,
  extra: Record<string, string>,
): GetAuthorizationUrlParams {
  const defaults = runtime.loginParams;
  const params: GetAuthorizationUrlParams = {};
  const extraScope = [...(defaults.scope ?? []), ...(tokens(options.scope) ?? [])];
  if (extraScope.length > 0) {
    params.scope = [...new Set([...runtime.config.client.scope, ...extraScope])];
  }
  const acrValues = tokens(options.acrValues) ?? defaults.acrValues;
  if (acrValues) params.acr_values = [...acrValues];
  const prompt = tokens(options.prompt)?.join(' ') ?? defaults.prompt;
  if (prompt) params.prompt = prompt;
  // oxd 4.x adds `params` to the URL one by one; 3.x would pack `custom_parameters` into one
  // `custom_response_headers` JSON parameter no OP reads, so startLogin adds them itself.
  if (runtime.clientChoosesState && Object.keys(extra).length > 0) params.params = extra;
  return params;
}

/** Adds the extra parameters oxd 3.x cannot send to the authorization URL it built. */
function withExtraParams(url: string, extra: Record<string, string>): string {
  const parsed = new URL(url);
  for (const [name, value] of Object.entries(extra)) parsed.searchParams.set(name, value);
  return parsed.href;
}

/** Reads `state` and `nonce` back from the authorization URL oxd built. */
function parseAuthorizationUrl(value: string): { url: string; state: string; nonce?: string } {
  const url = oxdUrl(value, 'get_authorization_url');
  const state = url.searchParams.get('state');
  if (!state) {
    throw new OxdProtocolError('oxd get_authorization_url answered with a URL that has no state');
  }
  const nonce = url.searchParams.get('nonce');
  return nonce ? { url: url.href, state, nonce } : { url: url.href, state };
}

/**
 * Redirects the browser to the OP. The pending login is saved in the session before the
 * redirect, so the callback finds it even when it arrives on another app instance.
 */
export async function startLogin(
  runtime: OxdRuntime,
  req: OxdIncomingMessage,
  res: ServerResponse,
  options: LoginOptions,
  silent = false,
): Promise<void> {
  const session = requireSession(req);
  const returnTo = safeReturnTo(options.returnTo);
  const extra = extraParams(runtime.loginParams, options);
  const params = authorizationParams(runtime, options, extra);
  const appState = await loginStateFor(runtime, req, options);
  if (runtime.clientChoosesState) {
    params.state = randomValue();
    params.nonce = randomValue();
  }
  const reply = await underRequest(req, () => runtime.client.getAuthorizationUrl(params));
  const parsed = parseAuthorizationUrl(reply.authorization_url);
  const { state, nonce } = parsed;
  const url =
    runtime.clientChoosesState || Object.keys(extra).length === 0
      ? parsed.url
      : withExtraParams(parsed.url, extra);
  const now = runtime.clock();
  const pending: PendingLogin = { state, returnTo, createdAt: now };
  if (nonce) pending.nonce = nonce;
  if (silent) pending.silent = true;
  if (appState !== undefined) pending.appState = appState;
  const logins = livePendingLogins(session[runtime.loginsKey], now);
  logins.push(pending);
  session[runtime.loginsKey] = logins.slice(-MAX_PENDING_LOGINS);
  await saveSession(session);
  redirect(res, url);
}
