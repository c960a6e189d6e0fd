/**
 * Helpers for driving the middleware against the local OP and local oxd server: the oxd
 * configuration per transport, a transport wrapper that counts the commands it carries,
 * and a browser-like login through the OP with a supertest agent.
 */
import type { Response, Test } from 'supertest';
import type TestAgent from 'supertest/lib/agent';
import { resolveConfig } from '../../src/config/resolve';
import { OxdClient, type OxdClientOptions } from '../../src/oxd/client';
import { HttpsTransport } from '../../src/oxd/https-transport';
import { SocketTransport } from '../../src/oxd/socket-transport';
import type { OxdReply, OxdRequest, Transport } from '../../src/oxd/transport';
import type { LocalStack } from './local-stack';
import { OpCookieJar, resumeOpSession, submitOpLogin } from '../../src/testing/op-login';

export type { LocalStack };
export type Agent = TestAgent<Test>;

/** socket = oxd 3.x socket; https4 = oxd-server 4.x; https3 = the 3.x https-extension. */
export const TRANSPORTS = ['socket', 'https4', 'https3'] as const;
export type TransportName = (typeof TRANSPORTS)[number];

/** The oxd release lines the local oxd reproduces (`--oxd-version`). */
export type Profile = '3.1.3' | '3.1.4' | '4.1' | '4.2';
/**
 * Every release on each transport it has: 3.1.x over the socket and the https-extension
 * envelope, 4.x over 4.x REST (4.x has no socket).
 */
export const PROFILE_CASES: [Profile, TransportName][] = [
  ['3.1.3', 'socket'],
  ['3.1.3', 'https3'],
  ['3.1.4', 'socket'],
  ['3.1.4', 'https3'],
  ['4.1', 'https4'],
  ['4.2', 'https4'],
];

export const APP_ORIGIN = 'https://app.example';
export const HTML = 'text/html,application/xhtml+xml';

/** The oxd configuration object for one transport of the local stack. */
export function configFor(stack: LocalStack, transport: TransportName) {
  const client = {
    opHost: stack.op.issuer,
    authorizationRedirectUri: `${APP_ORIGIN}/callback`,
    postLogoutRedirectUri: `${APP_ORIGIN}/logged-out`,
    clientFrontchannelLogoutUris: [`${APP_ORIGIN}/frontchannel-logout`],
    scope: ['openid', 'profile', 'email', 'offline_access'],
  };
  const timeouts = { connectTimeoutMs: 5000, responseTimeoutMs: 15000 };
  switch (transport) {
    case 'socket':
      return { oxd: { host: stack.oxd.host, port: stack.oxd.port, ...timeouts }, client };
    case 'https4':
      return {
        oxd: {
          host: stack.oxd.httpsUrl,
          https: true,
          serverVersion: 4,
          ca: stack.oxd.ca,
          ...timeouts,
        },
        client,
      };
    case 'https3':
      return {
        oxd: {
          host: `${stack.oxd.httpsUrl}/v3`,
          https: true,
          serverVersion: 3,
          ca: stack.oxd.ca,
          ...timeouts,
        },
        client,
      };
  }
}

/** Delegates to a real transport and counts the commands sent, by oxd command name. */
export class CountingTransport implements Transport {
  readonly kind: 'socket' | 'https';
  readonly #inner: Transport;
  readonly #counts = new Map<string, number>();
  readonly #gates = new Map<string, Promise<void>>();

  constructor(inner: Transport) {
    this.#inner = inner;
    this.kind = inner.kind;
  }

  async send(request: OxdRequest): Promise<OxdReply> {
    this.#counts.set(request.command, this.count(request.command) + 1);
    await this.#gates.get(request.command);
    return this.#inner.send(request);
  }

  /**
   * Holds every `command` sent from now on until the returned function is called, so a
   * test can have several requests wait on one oxd call without depending on timing.
   */
  hold(command: string): () => void {
    let release!: () => void;
    this.#gates.set(
      command,
      new Promise<void>((resolve) => {
        release = resolve;
      }),
    );
    return () => {
      this.#gates.delete(command);
      release();
    };
  }

  close(): Promise<void> {
    return this.#inner.close();
  }

  count(command: string): number {
    return this.#counts.get(command) ?? 0;
  }

  /** Commands sent so far, all kinds. */
  total(): number {
    let sum = 0;
    for (const count of this.#counts.values()) sum += count;
    return sum;
  }
}

/**
 * Passes every command to `inner`; a successful answer to `command` has its data replaced by
 * `rewrite(data)` (an oxd that answers more, or other, than the real one).
 */
export function rewriteReply(
  inner: Transport,
  command: string,
  rewrite: (data: Record<string, unknown>) => Record<string, unknown>,
): Transport {
  return {
    kind: inner.kind,
    async send(request: OxdRequest): Promise<OxdReply> {
      const reply = await inner.send(request);
      if (request.command !== command || !reply.ok) return reply;
      return { ok: true, data: rewrite(reply.data) };
    },
    close: () => inner.close(),
  };
}

/** A real transport for `transport`, wrapped in a {@link CountingTransport}. */
export function countingTransport(stack: LocalStack, transport: TransportName): CountingTransport {
  const timeouts = { connectTimeoutMs: 5000, responseTimeoutMs: 15000 };
  if (transport === 'socket') {
    return new CountingTransport(
      new SocketTransport({ host: stack.oxd.host, port: stack.oxd.port, ...timeouts }),
    );
  }
  return new CountingTransport(
    new HttpsTransport({
      baseUrl: transport === 'https4' ? stack.oxd.httpsUrl : `${stack.oxd.httpsUrl}/v3`,
      serverVersion: transport === 'https4' ? 4 : 3,
      ca: stack.oxd.ca,
      ...timeouts,
    }),
  );
}

/** An OxdClient for `transport` that writes nothing back, over a counting transport. */
export function clientFor(
  stack: LocalStack,
  transport: TransportName,
  options: OxdClientOptions = {},
): { client: OxdClient; counter: CountingTransport } {
  const counter = countingTransport(stack, transport);
  const client = new OxdClient(resolveConfig(configFor(stack, transport)), {
    transport: counter,
    writeBack: false,
    ...options,
  });
  return { client, counter };
}

export function firstUser(stack: LocalStack): { username: string; password: string } {
  const user = stack.op.users[0];
  if (!user) throw new Error('the local OP has no users');
  return user;
}

/** The app path + query of an absolute callback URL the OP redirected to. */
export function appPath(url: URL | string): string {
  const parsed = typeof url === 'string' ? new URL(url) : url;
  if (parsed.origin !== APP_ORIGIN) throw new Error(`unexpected redirect to ${parsed.href}`);
  return parsed.pathname + parsed.search;
}

/**
 * GETs the login route, signs the user in at the OP and returns the callback URL the OP
 * sent the browser to (not yet requested).
 */
export async function startAndSignIn(
  agent: Agent,
  stack: LocalStack,
  loginPath = '/login',
  jar: OpCookieJar = new OpCookieJar(),
): Promise<URL> {
  const login = await agent.get(loginPath).set('Accept', HTML);
  if (login.status !== 302) {
    throw new Error(`login answered ${login.status}: ${login.text}`);
  }
  return submitOpLogin(login.headers.location as string, firstUser(stack), stack.op.ca, jar);
}

/**
 * A silent login's round trip: GETs the page `path` (which redirects to the OP with
 * `prompt=none`), lets the OP answer from its session in `jar` (default: none) and GETs the
 * callback the OP sent the browser to. Returns each step for the test to assert on.
 */
export async function silentRoundTrip(
  agent: Agent,
  stack: LocalStack,
  path: string,
  jar: OpCookieJar = new OpCookieJar(),
): Promise<{ first: Response; authorize: URL; back: URL; callback: Response }> {
  const first = await agent.get(path).set('Accept', HTML);
  if (first.status !== 302) throw new Error(`${path} answered ${first.status}: ${first.text}`);
  const authorize = new URL(first.headers.location as string);
  const back = await resumeOpSession(authorize.href, stack.op.ca, jar);
  const callback = await agent.get(appPath(back)).set('Accept', HTML);
  return { first, authorize, back, callback };
}

/** The whole login: login route, OP, callback. Returns the callback's response. */
export async function logIn(
  agent: Agent,
  stack: LocalStack,
  loginPath = '/login',
  jar: OpCookieJar = new OpCookieJar(),
) {
  const callback = await startAndSignIn(agent, stack, loginPath, jar);
  return agent.get(appPath(callback)).set('Accept', HTML);
}

/** The session cookie's value (`connect.sid`) from a response, if it set one. */
export function sessionCookie(setCookie: string | string[] | undefined): string | undefined {
  for (const header of [setCookie ?? []].flat()) {
    const match = /^connect\.sid=([^;]*)/.exec(header);
    if (match) return match[1];
  }
  return undefined;
}
