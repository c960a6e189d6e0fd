/**
 * Starting a login: ask oxd for the OP's authorization URL, remember the login's state,
 * nonce and return path in the session, and redirect the browser to the OP.
 */
import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { debuglog } from 'node:util';
import { OxdProtocolError } from '../errors';
import type { GetAuthorizationUrlParams } from '../oxd/commands';
import {
  requireSession,
  saveSession,
  type OxdIncomingMessage,
  type PendingLogin,
} from '../session';
import { redirect } from './response';
import { safeReturnTo } from './return-to';
import type { OxdRuntime } from './runtime';

const debug = debuglog('express-oxd');

/** Logins a session may have in progress at once (several tabs); the oldest go first. */
export const MAX_PENDING_LOGINS = 5;

/** How long a started login may take before its state is no longer accepted. */
export const PENDING_LOGIN_TTL_MS = 10 * 60 * 1000;

/** Per-login choices; each overrides the `loginParams` option. */
export interface LoginOptions {
  /** Same-origin path to return to after the login. Anything else falls back to `/`. */
  returnTo?: string;
  /** OIDC `prompt`, e.g. `login` to force re-authentication. */
  prompt?: string;
  /** ACR values (a list, or space-separated). */
  acrValues?: string | readonly string[];
  /** Scopes requested in addition to the configured ones (a list, or space-separated). */
  scope?: string | readonly string[];
}

/** RFC 6749 scope-token characters; also fine for prompt and ACR values. */
const PARAM_TOKEN = /^[\u0021\u0023-\u005b\u005d-\u007e]{1,256}$/;

function tokens(value: string | readonly string[] | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const list = typeof value === 'string' ? value.split(' ') : [...value];
  const valid = list.filter((item) => item !== '');
  const bad = valid.find((item) => !PARAM_TOKEN.test(item));
  if (bad !== undefined) {
    debug('login: ignoring a request parameter value with characters outside the token syntax');
    return undefined;
  }
  return valid.length > 0 ? valid : undefined;
}

function randomValue(): string {
  return randomBytes(24).toString('base64url');
}

/** Pending logins still valid at `now`, newest last. */
export function livePendingLogins(list: unknown, now: number): PendingLogin[] {
  if (!Array.isArray(list)) return [];
  return list.filter(
    (entry): entry is PendingLogin =>
      typeof entry === 'object' &&
      entry !== null &&
      typeof entry.state === 'string' &&
      typeof entry.createdAt === 'number' &&
      entry.createdAt <= now &&
      now - entry.createdAt < PENDING_LOGIN_TTL_MS,
  );
}

function authorizationParams(
  runtime: OxdRuntime,
  options: LoginOptions,
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
  return params;
}

/** Reads `state` and `nonce` back from the authorization URL oxd built. */
function parseAuthorizationUrl(value: string): { url: string; state: string; nonce?: string } {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new OxdProtocolError('oxd get_authorization_url answered without a valid URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new OxdProtocolError('oxd get_authorization_url answered with a non-HTTP URL');
  }
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
): Promise<void> {
  const session = requireSession(req);
  const returnTo = safeReturnTo(options.returnTo);
  const params = authorizationParams(runtime, options);
  if (runtime.clientChoosesState) {
    params.state = randomValue();
    params.nonce = randomValue();
  }
  const reply = await runtime.client.getAuthorizationUrl(params);
  const { url, state, nonce } = parseAuthorizationUrl(reply.authorization_url);
  const now = runtime.clock();
  const pending: PendingLogin = { state, returnTo, createdAt: now };
  if (nonce) pending.nonce = nonce;
  const logins = livePendingLogins(session[runtime.loginsKey], now);
  logins.push(pending);
  session[runtime.loginsKey] = logins.slice(-MAX_PENDING_LOGINS);
  await saveSession(session);
  redirect(res, url);
}
