/**
 * get_authorization_code: logs a user in at the OP with a username and password, without a
 * browser, and returns the authorization code (a test helper in oxd too). It starts an
 * authorization request like get_authorization_url (so get_tokens_by_code accepts the code
 * with the same `state`), follows the OP's redirects with a cookie jar of its own and
 * submits the OP's login form.
 */
import type { Handler } from './call';
import { siteOf } from './call';
import { CommandFailure, badRequest } from './failure';
import { beginLogin } from './login-commands';
import type { OpClient, OpResponse } from './op-client';

const MAX_STEPS = 20;

/** Cookies by name, as one short OP session needs them. */
class CookieJar {
  private readonly cookies = new Map<string, string>();

  store(setCookie: string | string[] | undefined): void {
    for (const header of setCookie === undefined ? [] : [setCookie].flat()) {
      const [pair = '', ...attributes] = header.split(';');
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const expired = attributes.some((attribute) => {
        const [key = '', value = ''] = attribute.split('=');
        const lower = key.trim().toLowerCase();
        return (
          (lower === 'expires' && Date.parse(value) <= Date.now()) ||
          (lower === 'max-age' && Number(value) <= 0)
        );
      });
      if (expired) this.cookies.delete(name);
      else this.cookies.set(name, pair.slice(eq + 1).trim());
    }
  }

  header(): Record<string, string> {
    if (this.cookies.size === 0) return {};
    return {
      cookie: [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; '),
    };
  }
}

/** The action of the page's form that has a password input, if any. */
function loginFormAction(html: string): string | undefined {
  for (const form of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const [, attributes = '', body = ''] = form;
    if (!/type="password"/i.test(body)) continue;
    const action = /\baction="([^"]*)"/i.exec(attributes)?.[1];
    return action?.replace(/&amp;/g, '&');
  }
  return undefined;
}

async function step(
  op: OpClient,
  jar: CookieJar,
  url: URL,
  form?: URLSearchParams,
): Promise<OpResponse> {
  const response = form
    ? await op.call(
        'POST',
        url.href,
        { ...jar.header(), 'content-type': 'application/x-www-form-urlencoded' },
        form.toString(),
      )
    : await op.call('GET', url.href, { ...jar.header(), accept: 'text/html' });
  jar.store(response.headers['set-cookie']);
  return response;
}

export const getAuthorizationCode: Handler = async (call, services) => {
  const site = siteOf(call);
  const { params } = call;
  const username = params.string('username');
  const password = params.string('password');
  if (!username || !password) {
    throw badRequest("'username' and 'password' are required to log the user in at the OP.");
  }
  const { url, state, redirectUri } = await beginLogin(services, site, {
    state: params.string('state'),
    nonce: params.string('nonce'),
    acrValues: params.list('acr_values'),
    prompt: 'login',
  });
  const jar = new CookieJar();
  let next = url;
  let form: URLSearchParams | undefined;
  let submitted = false;
  for (let i = 0; i < MAX_STEPS; i += 1) {
    const response = await step(services.op, jar, next, form);
    form = undefined;
    const location = response.headers.location;
    if (response.status >= 300 && response.status < 400 && typeof location === 'string') {
      next = new URL(location, next);
      if (next.href.startsWith(redirectUri.split(/[?#]/)[0] ?? redirectUri)) {
        const code = next.searchParams.get('code');
        if (code && next.searchParams.get('state') === state) return { code };
        throw badRequest(
          `The OP refused the login: ${next.searchParams.get('error') ?? 'no code'}` +
            (next.searchParams.get('error_description')
              ? ` (${next.searchParams.get('error_description')})`
              : ''),
        );
      }
      continue;
    }
    const action = response.status === 200 ? loginFormAction(response.text) : undefined;
    if (!action) break;
    if (submitted) {
      throw badRequest(`The OP did not accept the password of user ${username}.`);
    }
    submitted = true;
    form = new URLSearchParams({ username, password });
    next = new URL(action, next);
  }
  throw new CommandFailure(
    'internal_error',
    'The OP login did not end in a redirect to the site with a code.',
  );
};
