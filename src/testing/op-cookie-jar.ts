/**
 * A browser-like cookie jar for one origin (the local OP's pages), used by the scripted OP
 * login of the package's tests and bench.
 */
interface StoredCookie {
  name: string;
  value: string;
  path: string;
  /** Epoch ms, or `Infinity` for a session cookie. */
  expires: number;
}

/**
 * Cookies of one origin, by name and path, as a browser keeps them (RFC 6265 path matching;
 * `Domain` is ignored: every cookie is host-only). Pass the same jar to several calls to keep
 * the OP session between them.
 */
export class OpCookieJar {
  readonly #cookies = new Map<string, StoredCookie>();

  /** Stores the `Set-Cookie` headers of a response to `url`. */
  store(url: URL, setCookie: string | string[] | undefined): void {
    for (const header of setCookie === undefined ? [] : [setCookie].flat()) {
      const [pair = '', ...attributes] = header.split(';');
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const cookie: StoredCookie = {
        name: pair.slice(0, eq).trim(),
        value: pair.slice(eq + 1).trim(),
        path: defaultPath(url),
        expires: Infinity,
      };
      for (const attribute of attributes) {
        const [rawKey = '', ...rest] = attribute.split('=');
        const key = rawKey.trim().toLowerCase();
        const value = rest.join('=').trim();
        if (key === 'path' && value.startsWith('/')) cookie.path = value;
        else if (key === 'expires') cookie.expires = Date.parse(value);
        else if (key === 'max-age') cookie.expires = Date.now() + Number(value) * 1000;
      }
      const key = `${cookie.name};${cookie.path}`;
      if (!(cookie.expires > Date.now())) this.#cookies.delete(key);
      else this.#cookies.set(key, cookie);
    }
  }

  /** The `Cookie` header for a request to `url`, longest paths first. */
  header(url: URL): string | undefined {
    const now = Date.now();
    const matching = [...this.#cookies.values()]
      .filter((cookie) => cookie.expires > now && pathMatches(url.pathname, cookie.path))
      .sort((a, b) => b.path.length - a.path.length);
    return matching.length === 0
      ? undefined
      : matching.map((cookie) => `${cookie.name}=${cookie.value}`).join('; ');
  }

  /** Names of the cookies currently held (any path). */
  names(): string[] {
    return [...new Set([...this.#cookies.values()].map((cookie) => cookie.name))];
  }
}

function defaultPath(url: URL): string {
  const slash = url.pathname.lastIndexOf('/');
  return slash <= 0 ? '/' : url.pathname.slice(0, slash);
}

function pathMatches(requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || requestPath.charAt(cookiePath.length) === '/';
}
