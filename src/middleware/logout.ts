/**
 * Logging out: end the local session and send the browser to the OP's end-session
 * endpoint, so the OP session ends too.
 */
import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { debuglog } from 'node:util';
import type { GetLogoutUriParams } from '../oxd/commands';
import { OxdProtocolError } from '../errors';
import { destroySession, requireSession, type OxdIncomingMessage } from '../session';
import { redirect } from './response';
import { safeReturnTo } from './return-to';
import type { OxdRuntime } from './runtime';

const debug = debuglog('express-oxd');

export interface LogoutOptions {
  /**
   * Same-origin path to go to when nobody is logged in. Default: the `postLogoutRedirect`
   * route option. (After an OP logout the OP decides, using `post_logout_redirect_uri`.)
   */
  returnTo?: string;
}

/**
 * oxd before 4.2.3 ignores `id_token_hint` (protocol notes §8.5), yet most OPs need it to
 * log out without asking the user; add it when the URI lacks it.
 */
export function withIdTokenHint(uri: string, idToken: string | undefined): string {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new OxdProtocolError('oxd get_logout_uri answered without a valid URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new OxdProtocolError('oxd get_logout_uri answered with a non-HTTP URL');
  }
  if (idToken && !url.searchParams.has('id_token_hint')) {
    url.searchParams.append('id_token_hint', idToken);
  }
  return url.href;
}

/**
 * The post-logout redirect URI the OP has registered: the client's record (it follows
 * `update_site`), else the configuration's (a client of the application's own).
 */
export function registeredPostLogoutUri(runtime: OxdRuntime): string | undefined {
  const client = runtime.client as { postLogoutRedirectUri?: unknown };
  const tracked = client.postLogoutRedirectUri;
  return typeof tracked === 'string' && tracked !== ''
    ? tracked
    : runtime.config.client.postLogoutRedirectUri;
}

async function endSessionUri(runtime: OxdRuntime, idToken: string | undefined): Promise<string> {
  const params: GetLogoutUriParams = { state: randomBytes(16).toString('base64url') };
  if (idToken) params.id_token_hint = idToken;
  const postLogout = registeredPostLogoutUri(runtime);
  if (postLogout) params.post_logout_redirect_uri = postLogout;
  const reply = await runtime.client.getLogoutUri(params);
  return withIdTokenHint(reply.uri, idToken);
}

/**
 * Logged in: asks oxd for the end-session URI, destroys the session (also when oxd fails,
 * so the local logout always happens), then redirects to the OP. Logged out: redirects to
 * the local post-logout path without calling oxd or touching the session.
 */
export async function startLogout(
  runtime: OxdRuntime,
  req: OxdIncomingMessage,
  res: ServerResponse,
  options: LogoutOptions,
): Promise<void> {
  const session = requireSession(req);
  const data = session.oxd;
  if (!data) {
    redirect(res, safeReturnTo(options.returnTo, runtime.routes.postLogoutRedirect));
    return;
  }
  let uri: string | undefined;
  let failure: unknown;
  try {
    uri = await endSessionUri(runtime, data.tokens.id_token);
  } catch (err) {
    failure = err;
  }
  await destroySession(session);
  debug('logout: local session destroyed%s', uri === undefined ? ', oxd unreachable' : '');
  if (uri === undefined) throw failure;
  redirect(res, uri);
}
