/**
 * HTTP calls from the local oxd server to the OpenID Provider: discovery (cached per
 * `op_host`), JWKS, registration, token, introspection and userinfo requests. Trusts only
 * the CA it is given, and talks only to the one issuer it serves.
 */
import { Agent, request } from 'undici';
import { CommandFailure, upstreamFailure } from './failure';

/** The fields of an OP discovery document the server uses (the rest is passed through). */
export interface Discovery extends Record<string, unknown> {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  jwks_uri: string;
  userinfo_endpoint?: string;
  registration_endpoint?: string;
  introspection_endpoint?: string;
  end_session_endpoint?: string;
}

export interface OpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** The body parsed as JSON, `undefined` when it is not JSON. */
  json: unknown;
}

/** Client credentials for calls that authenticate at the OP. */
export interface ClientAuth {
  client_id: string;
  client_secret?: string | undefined;
  /** `client_secret_basic` (default) or `client_secret_post`. */
  method?: string | undefined;
}

const DISCOVERY_PATH = '/.well-known/openid-configuration';
const REQUEST_TIMEOUT_MS = 15_000;

function trimSlashes(url: string): string {
  return url.replace(/\/+$/, '');
}

function formAuth(auth: ClientAuth, form: URLSearchParams): Record<string, string> {
  if (auth.method === 'client_secret_post') {
    form.set('client_id', auth.client_id);
    if (auth.client_secret !== undefined) form.set('client_secret', auth.client_secret);
    return {};
  }
  const user = encodeURIComponent(auth.client_id);
  const password = encodeURIComponent(auth.client_secret ?? '');
  return { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` };
}

export class OpClient {
  /** The issuer this server serves, without trailing slash. */
  readonly issuer: string;
  private readonly agent: Agent;
  private readonly discoveries = new Map<string, Promise<Discovery>>();
  private readonly jwksCache = new Map<string, Promise<{ keys: Record<string, unknown>[] }>>();

  constructor(issuer: string, ca: string) {
    this.issuer = trimSlashes(issuer);
    this.agent = new Agent({
      connect: { ca },
      headersTimeout: REQUEST_TIMEOUT_MS,
      bodyTimeout: REQUEST_TIMEOUT_MS,
      keepAliveTimeout: 1_000,
    });
  }

  /**
   * The `op_host` a command names, defaulting to the served issuer (like oxd's default
   * site configuration). Any other host is refused: this server talks to one OP only.
   */
  resolveOpHost(params: { op_host?: unknown; op_configuration_endpoint?: unknown }): string {
    const configured = params.op_configuration_endpoint;
    if (typeof configured === 'string' && configured.trim() !== '') {
      const expected = this.issuer + DISCOVERY_PATH;
      if (trimSlashes(configured.trim()) !== expected) {
        throw new CommandFailure(
          'invalid_op_configuration_endpoint',
          `op_configuration_endpoint ${configured} is not served here; this local oxd server only knows ${expected}.`,
          { httpStatus: 400 },
        );
      }
      return this.issuer;
    }
    const host = params.op_host;
    if (host === undefined || host === null || (typeof host === 'string' && host.trim() === '')) {
      return this.issuer;
    }
    if (typeof host !== 'string' || trimSlashes(host.trim()) !== this.issuer) {
      throw new CommandFailure(
        'invalid_op_host',
        `op_host ${JSON.stringify(host)} is not the OP this local oxd server serves; use ${this.issuer} (or leave op_host out).`,
      );
    }
    return this.issuer;
  }

  /** The discovery document of `opHost`, fetched once (a failed fetch is retried next time). */
  discovery(opHost: string = this.issuer): Promise<Discovery> {
    const key = trimSlashes(opHost);
    let pending = this.discoveries.get(key);
    if (!pending) {
      pending = this.fetchDiscovery(key);
      this.discoveries.set(key, pending);
      pending.catch(() => this.discoveries.delete(key));
    }
    return pending;
  }

  private async fetchDiscovery(opHost: string): Promise<Discovery> {
    const failure = (why: string) =>
      new CommandFailure(
        'no_connect_discovery_response',
        `Unable to fetch the OP discovery document ${opHost}${DISCOVERY_PATH}: ${why}`,
      );
    let response: OpResponse;
    try {
      response = await this.call('GET', opHost + DISCOVERY_PATH);
    } catch (err) {
      throw failure((err as Error).message);
    }
    const doc = response.json as Partial<Discovery> | undefined;
    if (response.status !== 200 || !doc || typeof doc.issuer !== 'string') {
      throw failure(`HTTP ${response.status}`);
    }
    if (trimSlashes(doc.issuer) !== opHost) {
      throw new CommandFailure(
        'invalid_issuer_discovered',
        `The OP discovery document names issuer ${doc.issuer}, expected ${opHost}.`,
      );
    }
    return doc as Discovery;
  }

  /** The OP's JWKS; `refresh` fetches it again (a key rotated or a `kid` is unknown). */
  jwks(opHost: string, refresh = false): Promise<{ keys: Record<string, unknown>[] }> {
    let pending = refresh ? undefined : this.jwksCache.get(opHost);
    if (!pending) {
      pending = this.discovery(opHost).then(async (doc) => {
        const response = await this.call('GET', doc.jwks_uri);
        const body = response.json as { keys?: unknown } | undefined;
        if (response.status !== 200 || !body || !Array.isArray(body.keys)) {
          throw upstreamFailure(response.status, response.text);
        }
        return { keys: body.keys as Record<string, unknown>[] };
      });
      this.jwksCache.set(opHost, pending);
      pending.catch(() => this.jwksCache.delete(opHost));
    }
    return pending;
  }

  /** POSTs a form to an OP endpoint, authenticating the client when `auth` is given. */
  postForm(url: string, form: URLSearchParams, auth?: ClientAuth): Promise<OpResponse> {
    const headers: Record<string, string> = {
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
      ...(auth ? formAuth(auth, form) : {}),
    };
    return this.call('POST', url, headers, form.toString());
  }

  /** Sends JSON (registration and its management), with an optional bearer token. */
  sendJson(
    method: 'POST' | 'PUT',
    url: string,
    body: unknown,
    bearer?: string,
  ): Promise<OpResponse> {
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: 'application/json',
      ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
    };
    return this.call(method, url, headers, JSON.stringify(body));
  }

  /** GET with a bearer token (userinfo). */
  getWithBearer(url: string, bearer: string): Promise<OpResponse> {
    return this.call('GET', url, { authorization: `Bearer ${bearer}`, accept: 'application/json' });
  }

  /** RFC 7662 introspection, authenticated as `auth`. */
  async introspect(
    token: string,
    auth: ClientAuth,
    opHost: string = this.issuer,
  ): Promise<Record<string, unknown>> {
    const doc = await this.discovery(opHost);
    if (!doc.introspection_endpoint) {
      throw new CommandFailure(
        'invalid_introspection_response',
        'The OP publishes no introspection_endpoint, so tokens cannot be checked.',
      );
    }
    const response = await this.postForm(
      doc.introspection_endpoint,
      new URLSearchParams({ token }),
      auth,
    );
    if (response.status !== 200 || typeof response.json !== 'object' || response.json === null) {
      throw upstreamFailure(response.status, response.text);
    }
    return response.json as Record<string, unknown>;
  }

  /** Any request to the OP; network failures reject, HTTP errors resolve. */
  async call(
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    url: string,
    headers: Record<string, string> = {},
    body?: string,
  ): Promise<OpResponse> {
    if (!url.startsWith(this.issuer + '/') && url !== this.issuer) {
      throw new CommandFailure(
        'internal_error',
        `Refusing to call ${url}: it is not under the served issuer ${this.issuer}.`,
      );
    }
    const response = await request(url, {
      method,
      headers,
      body,
      dispatcher: this.agent,
    });
    const text = await response.body.text();
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: response.statusCode, headers: response.headers, text, json };
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}
