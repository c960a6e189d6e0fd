/**
 * A scripted browser for the local OP's pages: follows redirects inside the OP, fills in the
 * login form (`#username`, `#password`, `#login`) and the sign-out confirmation (`#logout`),
 * and stops at the first redirect that leaves the OP, without fetching it. Uses undici with
 * the OP's certificate as the only extra trust anchor (or a caller's undici dispatcher that
 * trusts it, to keep connections between logins), and a small cookie jar. Used by the
 * package's tests and its bench.
 */
import { Agent, type Dispatcher, request } from 'undici';
import { OpCookieJar } from './op-cookie-jar';

export { OpCookieJar };

const MAX_HOPS = 20;

/** Thrown when the OP shows a page other than the one the script expects. */
export class OpPageError extends Error {
  constructor(
    message: string,
    /** HTTP status of the unexpected response. */
    readonly status: number,
    /** URL of the unexpected response. */
    readonly url: string,
    /** Its body, for assertions on what the OP showed. */
    readonly html: string,
  ) {
    super(`${message} (HTTP ${status} at ${url})`);
    this.name = 'OpPageError';
  }
}

/** Thrown when the OP answers the login form with the form again and an error message. */
export class OpLoginRejectedError extends OpPageError {
  constructor(status: number, url: string, html: string) {
    super(
      `the OP rejected the login: "${loginErrorText(html) ?? '(no message)'}"`,
      status,
      url,
      html,
    );
    this.name = 'OpLoginRejectedError';
  }
}

interface Page {
  url: URL;
  status: number;
  html: string;
}

type Outcome = { left: URL } | { page: Page };

/** One browsing session against one OP origin. */
class OpBrowser {
  readonly #agent: Dispatcher;
  readonly #ownAgent: Agent | undefined;
  readonly #origin: string;
  readonly #jar: OpCookieJar;

  constructor(opUrl: URL, trust: OpTrust, jar: OpCookieJar) {
    this.#ownAgent = typeof trust === 'string' ? new Agent({ connect: { ca: trust } }) : undefined;
    this.#agent = this.#ownAgent ?? (trust as Dispatcher);
    this.#origin = opUrl.origin;
    this.#jar = jar;
  }

  async close(): Promise<void> {
    await this.#ownAgent?.close();
  }

  /** GETs `url` and follows redirects until a page is shown or a redirect leaves the OP. */
  async open(url: URL): Promise<Outcome> {
    return this.#follow(await this.#send(url, 'GET'));
  }

  /** Submits a form (urlencoded POST) and follows redirects like {@link open}. */
  async submit(action: URL, fields: URLSearchParams): Promise<Outcome> {
    return this.#follow(await this.#send(action, 'POST', fields));
  }

  async #follow(first: Outcome | { redirect: URL }): Promise<Outcome> {
    let step = first;
    for (let hop = 0; 'redirect' in step; hop += 1) {
      if (step.redirect.origin !== this.#origin) return { left: step.redirect };
      if (hop >= MAX_HOPS) throw new Error(`more than ${MAX_HOPS} redirects inside the OP`);
      step = await this.#send(step.redirect, 'GET');
    }
    return step;
  }

  async #send(
    url: URL,
    method: 'GET' | 'POST',
    form?: URLSearchParams,
  ): Promise<{ page: Page } | { redirect: URL }> {
    if (url.origin !== this.#origin) throw new Error(`refusing to leave the OP for ${url.href}`);
    const headers: Record<string, string> = { accept: 'text/html' };
    const cookie = this.#jar.header(url);
    if (cookie !== undefined) headers.cookie = cookie;
    if (form !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
    const response = await request(url, {
      method,
      headers,
      body: form?.toString(),
      dispatcher: this.#agent,
    });
    this.#jar.store(url, response.headers['set-cookie']);
    const location = response.headers.location;
    if (response.statusCode >= 300 && response.statusCode < 400 && typeof location === 'string') {
      await response.body.dump();
      return { redirect: new URL(location, url) };
    }
    return { page: { url, status: response.statusCode, html: await response.body.text() } };
  }
}

/** The OP's CA certificate (PEM), or an undici dispatcher that trusts it (kept open). */
export type OpTrust = string | Dispatcher;

async function withBrowser<T>(
  start: string,
  ca: OpTrust,
  jar: OpCookieJar,
  run: (browser: OpBrowser, url: URL) => Promise<T>,
): Promise<T> {
  const url = new URL(start);
  const browser = new OpBrowser(url, ca, jar);
  try {
    return await run(browser, url);
  } finally {
    await browser.close();
  }
}

/**
 * Signs `user` in at the OP: opens `authorizationUrl`, submits the login form and returns
 * the redirect back to the RP (its callback URL with `code` and `state`, or `error`) without
 * fetching it. Throws {@link OpLoginRejectedError} when the OP shows the form again with an
 * error (wrong password), {@link OpPageError} for any other unexpected page.
 */
export async function submitOpLogin(
  authorizationUrl: string,
  user: { username: string; password: string },
  ca: OpTrust,
  jar: OpCookieJar = new OpCookieJar(),
): Promise<URL> {
  return withBrowser(authorizationUrl, ca, jar, async (browser, url) => {
    const shown = await browser.open(url);
    if ('left' in shown) {
      throw new Error(
        `the OP redirected to ${shown.left.href} without showing the login form (already signed in? use resumeOpSession)`,
      );
    }
    const form = loginForm(shown.page);
    const fields = new URLSearchParams({ username: user.username, password: user.password });
    const result = await browser.submit(new URL(form.action, shown.page.url), fields);
    if ('left' in result) return result.left;
    if (findForm(result.page.html, 'login-form') !== undefined) {
      throw new OpLoginRejectedError(result.page.status, result.page.url.href, result.page.html);
    }
    throw new OpPageError(
      'expected a redirect back to the RP after login',
      result.page.status,
      result.page.url.href,
      result.page.html,
    );
  });
}

/**
 * Opens `authorizationUrl` with an existing OP session (cookies in `jar`) and returns the
 * redirect back to the RP. Throws {@link OpPageError} when the OP shows the login form.
 */
export async function resumeOpSession(
  authorizationUrl: string,
  ca: OpTrust,
  jar: OpCookieJar,
): Promise<URL> {
  return withBrowser(authorizationUrl, ca, jar, async (browser, url) => {
    const shown = await browser.open(url);
    if ('left' in shown) return shown.left;
    const what = findForm(shown.page.html, 'login-form') ? 'the login form' : 'a page';
    throw new OpPageError(
      `the OP showed ${what} instead of redirecting to the RP`,
      shown.page.status,
      shown.page.url.href,
      shown.page.html,
    );
  });
}

/**
 * Opens `authorizationUrl`, presses Cancel on the login form and returns the redirect back to
 * the RP (with `error=access_denied`).
 */
export async function cancelOpLogin(
  authorizationUrl: string,
  ca: OpTrust,
  jar: OpCookieJar = new OpCookieJar(),
): Promise<URL> {
  return withBrowser(authorizationUrl, ca, jar, async (browser, url) => {
    const shown = await browser.open(url);
    if ('left' in shown)
      throw new Error(`the OP redirected to ${shown.left.href} without a login form`);
    loginForm(shown.page);
    const cancel = findForm(shown.page.html, 'cancel-form');
    if (cancel === undefined) {
      throw new OpPageError(
        'the login page has no cancel form',
        shown.page.status,
        shown.page.url.href,
        shown.page.html,
      );
    }
    const result = await browser.submit(
      new URL(cancel.action, shown.page.url),
      new URLSearchParams(),
    );
    if ('left' in result) return result.left;
    throw new OpPageError(
      'expected a redirect back to the RP after cancelling',
      result.page.status,
      result.page.url.href,
      result.page.html,
    );
  });
}

export interface OpLogoutResult {
  /**
   * Where the OP sent the browser after signing out: the RP's `post_logout_redirect_uri`
   * (with `state`), or the OP's own "Signed out" page when the request named none. Not fetched
   * when it is outside the OP.
   */
  location: URL;
  /** Front-channel logout URIs the OP's page loads in iframes (not fetched here). */
  frontchannelLogoutUris: URL[];
}

/**
 * Opens the OP's end-session URL, confirms the sign-out (`#logout`) and follows the OP's
 * redirects. Pass the `jar` used for the login so the OP finds its session.
 */
export async function followOpLogout(
  logoutUrl: string,
  ca: OpTrust,
  jar: OpCookieJar = new OpCookieJar(),
): Promise<OpLogoutResult> {
  return withBrowser(logoutUrl, ca, jar, async (browser, url) => {
    const shown = await browser.open(url);
    if ('left' in shown) return { location: shown.left, frontchannelLogoutUris: [] };
    // With a session the OP asks for confirmation; without one it shows an auto-submitting form.
    const form = findForm(shown.page.html);
    if (form === undefined || form.method !== 'post') {
      throw new OpPageError(
        'expected the sign-out confirmation form',
        shown.page.status,
        shown.page.url.href,
        shown.page.html,
      );
    }
    let result = await browser.submit(new URL(form.action, shown.page.url), form.fields);
    let frontchannelLogoutUris: URL[] = [];
    if ('page' in result && result.page.status === 200) {
      const continueTo = attributeOf(result.page.html, 'a', 'continue', 'href');
      frontchannelLogoutUris = iframeSources(result.page.html).map((src) => new URL(src, url));
      if (continueTo !== undefined) {
        const next = new URL(continueTo, result.page.url);
        result = next.origin === url.origin ? await browser.open(next) : { left: next };
      }
    }
    if ('left' in result) return { location: result.left, frontchannelLogoutUris };
    if (result.page.status === 200 && /id="signed-out"/.test(result.page.html)) {
      return { location: result.page.url, frontchannelLogoutUris };
    }
    throw new OpPageError(
      'expected the OP to sign out',
      result.page.status,
      result.page.url.href,
      result.page.html,
    );
  });
}

// --- HTML reading: enough for the OP's own, simple pages -------------------------------

interface Form {
  action: string;
  method: string;
  /** Hidden inputs plus the first named submit button. */
  fields: URLSearchParams;
}

function loginForm(page: Page): Form {
  const form = findForm(page.html, 'login-form');
  const hasFields =
    /<input\b[^>]*\bid="username"/.test(page.html) &&
    /<input\b[^>]*\bid="password"/.test(page.html) &&
    /<button\b[^>]*\bid="login"/.test(page.html);
  if (page.status !== 200 || form === undefined || !hasFields) {
    throw new OpPageError(
      'expected the OP login form (#username, #password, #login)',
      page.status,
      page.url.href,
      page.html,
    );
  }
  return form;
}

function findForm(html: string, id?: string): Form | undefined {
  for (const match of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const attributes = parseAttributes(match[1] ?? '');
    if (id !== undefined && attributes.get('id') !== id) continue;
    const fields = new URLSearchParams();
    for (const input of (match[2] ?? '').matchAll(/<input\b([^>]*)>/gi)) {
      const attrs = parseAttributes(input[1] ?? '');
      const name = attrs.get('name');
      if (attrs.get('type') === 'hidden' && name !== undefined)
        fields.append(name, attrs.get('value') ?? '');
    }
    for (const button of (match[2] ?? '').matchAll(/<button\b([^>]*)>/gi)) {
      const attrs = parseAttributes(button[1] ?? '');
      const name = attrs.get('name');
      if (name !== undefined && (attrs.get('type') ?? 'submit') === 'submit') {
        fields.append(name, attrs.get('value') ?? '');
        break;
      }
    }
    return {
      action: attributes.get('action') ?? '',
      method: (attributes.get('method') ?? 'get').toLowerCase(),
      fields,
    };
  }
  return undefined;
}

function attributeOf(html: string, tag: string, id: string, attribute: string): string | undefined {
  for (const match of html.matchAll(new RegExp(`<${tag}\\b([^>]*)>`, 'gi'))) {
    const attributes = parseAttributes(match[1] ?? '');
    if (attributes.get('id') === id) return attributes.get(attribute);
  }
  return undefined;
}

function iframeSources(html: string): string[] {
  return [...html.matchAll(/<iframe\b([^>]*)>/gi)]
    .map((match) => parseAttributes(match[1] ?? '').get('src'))
    .filter((src): src is string => src !== undefined);
}

function loginErrorText(html: string): string | undefined {
  const match = /<[a-z]+\b[^>]*\bid="login-error"[^>]*>([\s\S]*?)<\//i.exec(html);
  return match?.[1] === undefined ? undefined : decodeEntities(match[1].trim());
}

function parseAttributes(source: string): Map<string, string> {
  const attributes = new Map<string, string>();
  for (const match of source.matchAll(
    /([a-zA-Z_:][-a-zA-Z0-9_:.]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?/g,
  )) {
    const name = (match[1] ?? '').toLowerCase();
    attributes.set(name, decodeEntities(match[2] ?? match[3] ?? match[4] ?? ''));
  }
  return attributes;
}

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#[0-9]+|amp|lt|gt|quot|apos);/gi, (_all, entity: string) => {
    const lower = entity.toLowerCase();
    if (lower.startsWith('#x')) return String.fromCodePoint(parseInt(lower.slice(2), 16));
    if (lower.startsWith('#')) return String.fromCodePoint(parseInt(lower.slice(1), 10));
    return { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }[lower] ?? '';
  });
}
