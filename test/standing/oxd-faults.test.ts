/**
 * oxd faults as the user meets them, over the socket and the HTTPS transport: an app logged
 * in through the local OP and oxd has its oxd replaced by a scripted one that misbehaves in
 * one way. Each case asserts what a browser and an API client get from `/login`, what a
 * logged-in user gets when a token refresh meets the fault, and that the login is still
 * there once oxd behaves again. The real oxd is then killed (SIGKILL) and restarted under a
 * running app. Finally, 200 concurrent requests during an outage leave no socket or file
 * descriptor behind. Whatever oxd sends, each failure is logged with names only: no text
 * of oxd's answer reaches the application's log.
 *
 * Already covered elsewhere and not repeated here: oxd not running (refused) and stopped /
 * started (middleware/resilience.test.ts), an OP outage during refresh
 * (middleware/op-outage.test.ts), and each fault at the transport level
 * (oxd/socket-transport.test.ts, oxd/https-transport.test.ts).
 */
import { readdirSync, readlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import request from 'supertest';
import { ERROR_CODES, oxdAuth, type OxdAuthHandler } from '../../src';
import { resolveConfig } from '../../src/config/resolve';
import { OxdClient } from '../../src/oxd/client';
import { HttpsTransport } from '../../src/oxd/https-transport';
import { SocketTransport } from '../../src/oxd/socket-transport';
import type { OxdReply, OxdRequest, Transport } from '../../src/oxd/transport';
import {
  closeWithoutAnswer,
  ok,
  oxdError,
  respond,
  startScriptedOxdServer,
  wait,
  type ScriptedOxdServer,
  type Step,
} from '../fixtures/scripted-oxd-server';
import {
  delayed,
  garbage,
  json,
  oversized,
  resetMidBody,
  stall,
  startScriptedOxdHttps,
  truncated,
  type HttpsFault,
  type ScriptedOxdHttps,
} from '../fixtures/scripted-oxd-https';
import { capturingLogger } from '../helpers/capture-logger';
import { getOnNewConnection } from '../helpers/fresh-get';
import { dedicatedStack } from '../helpers/local-stack';
import { buildApp } from '../fixtures/apps';
import {
  configFor,
  countingTransport,
  HTML,
  logIn,
  type Agent,
  type CountingTransport,
  type LocalStack,
} from '../helpers/stack-fixture';

type Kind = 'socket' | 'https4';
const KINDS: readonly Kind[] = ['socket', 'https4'];
const JSON_ACCEPT = 'application/json';
/** Deadline of the scripted transports: long enough for a loaded machine, short for a test. */
const DEADLINE_MS = 1000;
const TWO_HOURS = 2 * 60 * 60 * 1000;
const AUTHORIZE = 'https://op.example/authorize';

/** Sends every command to `current`; the test swaps in a faulty oxd and back. */
class SwitchTransport implements Transport {
  readonly kind: 'socket' | 'https';
  current: Transport;

  constructor(readonly real: CountingTransport) {
    this.kind = real.kind;
    this.current = real;
  }

  send(request: OxdRequest): Promise<OxdReply> {
    return this.current.send(request);
  }

  close(): Promise<void> {
    return this.real.close();
  }
}

interface App {
  server: Server;
  agent: Agent;
  offset: { ms: number };
  switcher: SwitchTransport;
  auth: OxdAuthHandler;
}

let stack: LocalStack;
let https: ScriptedOxdHttps;
const apps = new Map<Kind, App>();
const servers: Server[] = [];
const cleanups: (() => Promise<void>)[] = [];
const logger = capturingLogger();

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

async function buildOne(kind: Kind): Promise<App> {
  const switcher = new SwitchTransport(countingTransport(stack, kind));
  const client = new OxdClient(resolveConfig(configFor(stack, kind)), {
    transport: switcher,
    writeBack: false,
  });
  const offset = { ms: 0 };
  const auth = oxdAuth({
    logger,
    config: configFor(stack, kind),
    client,
    clock: () => Date.now() + offset.ms,
  });
  const server = createServer(buildApp('express5', auth));
  servers.push(server);
  await listen(server);
  const agent = request.agent(server);
  const done = await logIn(agent, stack);
  expect(done.status).toBe(302);
  return { server, agent, offset, switcher, auth };
}

beforeAll(async () => {
  stack = await dedicatedStack();
  https = await startScriptedOxdHttps();
  for (const kind of KINDS) apps.set(kind, await buildOne(kind));
}, 180_000);

afterEach(async () => {
  // Each line: the operation, an OXD_ code, and a cause that is a plain name, nothing else.
  for (const [level, message, fields] of logger.lines) {
    expect(['warn', 'error']).toContain(level);
    expect(message).toMatch(
      /^express-oxd: (login|refresh) failed with OXD_[A-Z_]+( \([A-Za-z0-9_.-]+\))?$/,
    );
    expect(
      Object.keys(fields).filter((key) => !['code', 'status', 'operation', 'cause'].includes(key)),
    ).toEqual([]);
  }
  logger.clear();
  for (const app of apps.values()) app.switcher.current = app.switcher.real;
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

afterAll(async () => {
  await Promise.all([...apps.values()].map((app) => app.auth.client.close()));
  await Promise.all(
    servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))),
  );
  await https?.close();
});

function appOf(kind: Kind): App {
  const app = apps.get(kind);
  if (!app) throw new Error(`no app for ${kind}`);
  return app;
}

/** A socket transport to a scripted oxd whose every request runs `step`. */
async function scriptedSocket(step: Step, connections?: Step[][]): Promise<SocketTransport> {
  const server: ScriptedOxdServer = await startScriptedOxdServer({
    otherwise: step,
    ...(connections ? { connections } : {}),
  });
  const transport = new SocketTransport({
    host: server.host,
    port: server.port,
    connectTimeoutMs: DEADLINE_MS,
    responseTimeoutMs: DEADLINE_MS,
  });
  cleanups.push(async () => {
    await transport.close();
    await server.close();
  });
  return transport;
}

/** An HTTPS transport to the scripted oxd, answering with `fault`. */
function scriptedHttps(fault: HttpsFault, ca: string | undefined = https.ca): HttpsTransport {
  https.answer(fault);
  const transport = new HttpsTransport({
    baseUrl: https.url,
    serverVersion: 4,
    ...(ca === undefined ? {} : { ca }),
    connectTimeoutMs: DEADLINE_MS,
    responseTimeoutMs: DEADLINE_MS,
  });
  cleanups.push(() => transport.close());
  return transport;
}

const authorizationUrl = (state: string) => `${AUTHORIZE}?state=${state}&nonce=n-${state}`;

interface Expected {
  status: number;
  code: string;
  error: string;
  title: string;
  /** Status of a refresh that meets the fault. */
  refreshStatus: number;
  /** The refresh ends the login (oxd answered it with an error) instead of keeping it. */
  refreshEndsLogin?: boolean;
}

const UNAVAILABLE = { error: 'oxd_unavailable', title: 'Login is unavailable' };
const TIMEOUT = { error: 'oxd_timeout', title: 'Login is unavailable' };
const PROTOCOL = { error: 'oxd_protocol_error', title: 'Login failed' };
const COMMAND = { error: 'oxd_command_failed', title: 'Login failed' };

const transportFailed: Expected = {
  status: 503,
  code: ERROR_CODES.TRANSPORT_FAILED,
  ...UNAVAILABLE,
  refreshStatus: 503,
};
const timedOut: Expected = {
  status: 504,
  code: ERROR_CODES.RESPONSE_TIMEOUT,
  ...TIMEOUT,
  refreshStatus: 504,
};
const protocolError: Expected = {
  status: 502,
  code: ERROR_CODES.PROTOCOL_ERROR,
  ...PROTOCOL,
  refreshStatus: 502,
};
const tooLarge: Expected = {
  status: 502,
  code: ERROR_CODES.FRAME_TOO_LARGE,
  ...PROTOCOL,
  refreshStatus: 502,
};
/**
 * oxd answered with an error: the login fails (502). A refresh of an expired access token that
 * oxd answers with any error ends the login (an API client gets 401): every oxd release answers
 * a refresh token the OP refused with `internal_error` (3.x `CommandResponse.INTERNAL_ERROR_RESPONSE`,
 * 4.x HTTP 500 from `HttpException.internalError()`, in `GetAccessTokenByRefreshTokenOperation`),
 * so an error answer cannot be told from a refused token.
 */
const commandFailedLogin = { status: 502, code: ERROR_CODES.COMMAND_FAILED, ...COMMAND };
const commandFailed: Expected = {
  ...commandFailedLogin,
  refreshStatus: 401,
  refreshEndsLogin: true,
};
/**
 * An answer from in front of oxd saying oxd could not be reached (a gateway's 502/503/504, or
 * the 3.x https-extension's 500 when its oxd-server is down, `RestResource`): the login fails
 * (502), and a refresh counts it as an outage (503) that keeps the login.
 */
const unreachableBehindHttp: Expected = { ...commandFailedLogin, refreshStatus: 503 };

/**
 * What the user sees with `transport` in place of oxd: the login page and JSON answer, and a
 * refresh that fails without ending the login (checked once the real oxd is back).
 */
async function expectFault(kind: Kind, transport: Transport, expected: Expected): Promise<void> {
  const app = appOf(kind);
  app.switcher.current = transport;

  const page = await request(app.server).get('/login').set('Accept', HTML);
  expect([page.status, page.headers['content-type']]).toEqual([
    expected.status,
    'text/html; charset=utf-8',
  ]);
  expect(page.text).toContain(expected.title);
  expect(page.text).toContain(`Error code: ${expected.code}`);
  // A server-side failure shows no oxd address or internal message.
  expect(page.text).not.toContain('127.0.0.1');

  const api = await request(app.server).get('/login').set('Accept', JSON_ACCEPT);
  expect(api.status).toBe(expected.status);
  expect(api.body).toMatchObject({ error: expected.error, code: expected.code });
  expect(JSON.stringify(api.body)).not.toContain('127.0.0.1');

  app.offset.ms = TWO_HOURS;
  try {
    const refresh = await app.agent.get('/profile').set('Accept', JSON_ACCEPT);
    expect(refresh.status).toBe(expected.refreshStatus);
  } finally {
    app.offset.ms = 0;
  }
  app.switcher.current = app.switcher.real;
  if (expected.refreshEndsLogin === true) {
    // The login is gone even with oxd back; the user logs in again.
    const ended = await app.agent.get('/profile').set('Accept', JSON_ACCEPT);
    expect(ended.status).toBe(401);
    expect((await logIn(app.agent, stack)).status).toBe(302);
  }
  const profile = await app.agent.get('/profile').set('Accept', JSON_ACCEPT);
  expect(profile.status).toBe(200);
  expect(profile.body.user.email).toBe('jane.doe@example.com');
}

describe('socket transport: a faulty oxd', () => {
  test('socket slow - an answer that takes 300 ms still logs in', async () => {
    const transport = await scriptedSocket([
      wait(300),
      respond(ok({ authorization_url: authorizationUrl('slow') })),
    ]);
    appOf('socket').switcher.current = transport;
    const login = await request(appOf('socket').server).get('/login').set('Accept', HTML);
    expect(login.status).toBe(302);
    expect(login.headers.location).toBe(authorizationUrl('slow'));
  });

  test('socket slow - an answer later than the deadline gives 504, and the next login gets its own answer', async () => {
    const transport = await scriptedSocket(
      [respond(ok({ authorization_url: authorizationUrl('second') }))],
      [[[wait(DEADLINE_MS + 400), respond(ok({ authorization_url: authorizationUrl('late') }))]]],
    );
    const { server } = appOf('socket');
    appOf('socket').switcher.current = transport;
    const late = await request(server).get('/login').set('Accept', JSON_ACCEPT);
    expect(late.status).toBe(504);
    expect(late.body.code).toBe(ERROR_CODES.RESPONSE_TIMEOUT);
    await new Promise((resolve) => setTimeout(resolve, 600));
    const next = await request(server).get('/login').set('Accept', HTML);
    expect(next.status).toBe(302);
    expect(next.headers.location).toBe(authorizationUrl('second'));
  });

  test('socket stalled - oxd reads the request and never answers', async () => {
    await expectFault('socket', await scriptedSocket([]), timedOut);
  });

  test('socket reset - the connection is reset in the middle of a frame', async () => {
    const step: Step = [
      { type: 'raw', data: '0080{"status":"ok","data":{"authorization_url":"https://op' },
      wait(20),
      { type: 'reset' },
    ];
    await expectFault('socket', await scriptedSocket(step), transportFailed);
  });

  test('socket garbage - oxd answers with bytes that are not a frame', async () => {
    const step: Step = [{ type: 'raw', data: 'HTTP/1.1 400 Bad Request\r\n\r\n' }];
    await expectFault('socket', await scriptedSocket(step), protocolError);
  });

  test('socket oversized - an answer over 9999 characters (oxd closes without a byte)', async () => {
    await expectFault('socket', await scriptedSocket(closeWithoutAnswer()), transportFailed);
  });

  test('socket oversized - a frame that runs on past its 9999-character prefix', async () => {
    const body = JSON.stringify(ok({ id_token: 'x'.repeat(9990) }));
    const step: Step = [{ type: 'raw', data: `9999${body}` }];
    await expectFault('socket', await scriptedSocket(step), protocolError);
  });

  test('socket truncated - oxd closes after part of a frame', async () => {
    const step: Step = [{ type: 'raw', data: '0100{"status":"ok","data":{' }, { type: 'end' }];
    await expectFault('socket', await scriptedSocket(step), transportFailed);
  });

  test('socket non-JSON - a well-framed answer that is not JSON', async () => {
    const step: Step = [{ type: 'raw', data: '0015<html>502</html>' }];
    await expectFault('socket', await scriptedSocket(step), protocolError);
  });

  test('socket unknown error - an error code this package has never heard of', async () => {
    const step: Step = [respond(oxdError('quantum_flux_error', 'New in a later oxd.'))];
    await expectFault('socket', await scriptedSocket(step), commandFailed);
  });
});

describe('HTTPS transport: a faulty oxd', () => {
  test('https slow - an answer that takes 300 ms still logs in', async () => {
    const transport = scriptedHttps(
      delayed(300, json(200, { authorization_url: authorizationUrl('slow') })),
    );
    appOf('https4').switcher.current = transport;
    const login = await request(appOf('https4').server).get('/login').set('Accept', HTML);
    expect(login.status).toBe(302);
    expect(login.headers.location).toBe(authorizationUrl('slow'));
  });

  test('https slow - an answer later than the deadline gives 504, and the next login gets its own answer', async () => {
    let calls = 0;
    const transport = scriptedHttps((seen, res, socket) => {
      calls += 1;
      const body = { authorization_url: authorizationUrl(calls === 1 ? 'late' : 'second') };
      const answer = json(200, body);
      return calls === 1
        ? // The HTTPS transport's bound is its own timer of connect + response timeout: undici
          // checks its header timeout on a coarse clock (up to a second late), so an answer
          // between the two deadlines may still be taken.
          delayed(2 * DEADLINE_MS + 400, answer)(seen, res, socket)
        : answer(seen, res, socket);
    });
    const { server } = appOf('https4');
    appOf('https4').switcher.current = transport;
    const late = await request(server).get('/login').set('Accept', JSON_ACCEPT);
    expect(late.status).toBe(504);
    expect(late.body.code).toBe(ERROR_CODES.RESPONSE_TIMEOUT);
    await new Promise((resolve) => setTimeout(resolve, 600));
    const next = await request(server).get('/login').set('Accept', HTML);
    expect(next.status).toBe(302);
    expect(next.headers.location).toBe(authorizationUrl('second'));
  });

  test('https stalled - oxd reads the request and never answers', async () => {
    await expectFault('https4', scriptedHttps(stall()), timedOut);
  });

  test('https reset - the connection is reset in the middle of the body', async () => {
    await expectFault('https4', scriptedHttps(resetMidBody()), transportFailed);
  });

  test('https garbage - bytes that are not HTTP inside the TLS connection', async () => {
    await expectFault('https4', scriptedHttps(garbage()), transportFailed);
  });

  test('https oversized - a 3 MB answer is refused after the 1 MiB cap', async () => {
    await expectFault('https4', scriptedHttps(oversized(3 * 1024 * 1024)), tooLarge);
  });

  test('https truncated - the connection closes before the declared length', async () => {
    await expectFault('https4', scriptedHttps(truncated()), transportFailed);
  });

  test('https non-JSON - a 200 answer that is not JSON', async () => {
    const fault = json(200, '<html><body>Welcome to nginx</body></html>', 'text/html');
    await expectFault('https4', scriptedHttps(fault), protocolError);
  });

  test('https unknown error - an error code this package has never heard of', async () => {
    const fault = json(400, { error: 'quantum_flux_error', error_description: 'New.' });
    await expectFault('https4', scriptedHttps(fault), commandFailed);
  });

  test.each([
    ['500 text', json(500, 'Command client is not able to connect to oxd-server.', 'text/plain')],
    ['502 from a proxy', json(502, '<html><body>Bad Gateway</body></html>', 'text/html')],
    ['503 JSON', json(503, { code: 503, message: 'Service Unavailable' })],
  ])('https 5xx - oxd answers %s', async (_name, fault) => {
    await expectFault('https4', scriptedHttps(fault), unreachableBehindHttp);
  });

  test('https untrusted certificate - the login page says the service is unavailable', async () => {
    // The transport trusts the local oxd's CA, not the scripted server's certificate.
    await expectFault('https4', scriptedHttps(json(200, {}), stack.oxd.ca), transportFailed);
  });

  test.each([
    [
      'with inactive_access_token',
      { error: 'inactive_access_token', error_description: 'expired' },
    ],
    ['with a bare Dropwizard body', { code: 401, message: 'HTTP 401 Unauthorized' }],
  ])(
    'https 401 - an expired protection token (%s) is renewed once and the login goes on',
    async (_name, body) => {
      const transport = scriptedHttps((seen, res, socket) => {
        if (seen.path === '/get-client-token') {
          return json(200, { access_token: 'fresh-token', expires_in: 3600 })(seen, res, socket);
        }
        if (seen.authorization !== 'Bearer fresh-token') return json(401, body)(seen, res, socket);
        return json(200, { authorization_url: authorizationUrl('renewed') })(seen, res, socket);
      });
      const before = https.requests.length;
      const app = appOf('https4');
      app.switcher.current = transport;
      const login = await request(app.server).get('/login').set('Accept', HTML);
      expect(login.status).toBe(302);
      expect(login.headers.location).toBe(authorizationUrl('renewed'));
      expect(https.requests.slice(before).map((r) => r.path)).toEqual([
        '/get-authorization-url',
        '/get-client-token',
        '/get-authorization-url',
      ]);
      // Back on the real oxd, whose tokens differ: the client renews again by itself.
      app.switcher.current = app.switcher.real;
      expect((await request(app.server).get('/login').set('Accept', HTML)).status).toBe(302);
      expect((await app.agent.get('/profile').set('Accept', JSON_ACCEPT)).status).toBe(200);
    },
  );
});

describe('the real oxd killed and restarted under a running app', () => {
  test.each(KINDS)(
    '%s - answers 503 while oxd is dead, keeps logged-in users, and recovers without an app restart',
    async (kind) => {
      const fresh = await buildOne(kind);
      try {
        // Warm connections (socket pool, HTTPS keep-alive) that the kill will break.
        expect((await request(fresh.server).get('/login').set('Accept', HTML)).status).toBe(302);
        await stack.killOxd();
        try {
          const down = await request(fresh.server).get('/login').set('Accept', JSON_ACCEPT);
          expect(down.status).toBe(503);
          expect(down.body.code).toBe(ERROR_CODES.TRANSPORT_FAILED);
          expect((await fresh.agent.get('/profile').set('Accept', JSON_ACCEPT)).status).toBe(200);
        } finally {
          await stack.startOxd();
        }
        // A whole new login, and a refresh of the old one, on the same app.
        const agent = request.agent(fresh.server);
        expect((await logIn(agent, stack)).status).toBe(302);
        expect((await agent.get('/profile').set('Accept', JSON_ACCEPT)).status).toBe(200);
        fresh.offset.ms = TWO_HOURS;
        const refreshed = await fresh.agent.get('/profile').set('Accept', JSON_ACCEPT);
        expect(refreshed.status).toBe(200);
        expect(refreshed.body.user.email).toBe('jane.doe@example.com');
      } finally {
        fresh.offset.ms = 0;
        await fresh.auth.client.close();
      }
    },
    60_000,
  );
});

/** Open file descriptors of this process, with what each points at. */
function openDescriptors(): string[] {
  const found: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      found.push(`${fd} -> ${readlinkSync(`/proc/self/fd/${fd}`)}`);
    } catch {
      // closed between listing and reading
    }
  }
  return found;
}

/** GET without keep-alive, so the request's own socket closes with it. */
async function getOnce(port: number, path: string): Promise<{ status: number; code: string }> {
  const reply = await getOnNewConnection(port, path, {
    headers: { accept: JSON_ACCEPT, connection: 'close' },
  });
  if (reply.cut !== undefined) throw new Error(reply.cut);
  return { status: reply.status ?? 0, code: (JSON.parse(reply.text) as { code: string }).code };
}

async function closedPort(): Promise<number> {
  const probe = createNetServer();
  const port = await new Promise<number>((resolve) =>
    probe.listen(0, '127.0.0.1', () => resolve((probe.address() as { port: number }).port)),
  );
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

describe('200 concurrent requests during an outage', () => {
  const outages: [string, Kind, () => Promise<Transport>, string[]][] = [
    [
      'socket, oxd not running',
      'socket',
      async () =>
        new SocketTransport({
          host: '127.0.0.1',
          port: await closedPort(),
          connectTimeoutMs: DEADLINE_MS,
        }),
      [ERROR_CODES.TRANSPORT_FAILED],
    ],
    [
      'socket, oxd stalled',
      'socket',
      () => scriptedSocket([]),
      [ERROR_CODES.RESPONSE_TIMEOUT, ERROR_CODES.BUSY],
    ],
    [
      'https, oxd not running',
      'https4',
      async () =>
        new HttpsTransport({
          baseUrl: `https://127.0.0.1:${await closedPort()}`,
          serverVersion: 4,
          ca: https.ca,
          connectTimeoutMs: DEADLINE_MS,
          responseTimeoutMs: DEADLINE_MS,
        }),
      [ERROR_CODES.TRANSPORT_FAILED],
    ],
    [
      'https, oxd stalled',
      'https4',
      async () => scriptedHttps(stall()),
      [ERROR_CODES.RESPONSE_TIMEOUT],
    ],
  ];

  test.each(outages)(
    '%s - every request gets an error answer and no descriptor is left open',
    async (_name, kind, makeTransport, codes) => {
      const app = appOf(kind);
      const port = (app.server.address() as { port: number }).port;
      const transport = await makeTransport();
      cleanups.push(() => transport.close());
      app.switcher.current = transport;
      // One request first, so that lazily opened handles are not counted as leaks.
      await getOnce(port, '/login');
      await new Promise((resolve) => setTimeout(resolve, 100));
      const before = openDescriptors();

      const answers = await Promise.all(Array.from({ length: 200 }, () => getOnce(port, '/login')));
      for (const answer of answers) {
        expect(answer.status).toBeGreaterThanOrEqual(503);
        expect(codes).toContain(answer.code);
      }

      let after = openDescriptors();
      for (let waited = 0; after.length > before.length && waited < 3000; waited += 50) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        after = openDescriptors();
      }
      // Descriptors opened meanwhile and still open (shown when there are more than before).
      const leftover = after.filter((entry) => !before.includes(entry));
      expect(after.length > before.length ? leftover : []).toEqual([]);
    },
    30_000,
  );
});
