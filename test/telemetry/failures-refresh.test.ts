/**
 * Traces and metrics of what goes wrong or happens later in a login's life: a login while oxd
 * is down, a token refresh (and the protected requests before it, which record nothing), the
 * socket pool's gauges, and the failure-reporting point with a logger.
 */
import { createServer, type Server } from 'node:net';
import session from 'express-session';
import request from 'supertest';
import { oxdAuth } from '../../src';
import { resolveConfig } from '../../src/config/resolve';
import { OxdError, OxdTransportError } from '../../src/errors';
import { OxdClient } from '../../src/oxd/client';
import { SocketTransport } from '../../src/oxd/socket-transport';
import { reportFailure } from '../../src/report';
import { startOperation } from '../../src/telemetry';
import { ensureBuilt } from '../helpers/build';
import { capturingLogger } from '../helpers/capture-logger';
import { dedicatedStack } from '../helpers/local-stack';
import { countOf, installTelemetry, type TestTelemetry } from '../helpers/telemetry';
import { buildApp } from '../fixtures/apps';
import { APP_ORIGIN, configFor, HTML, type LocalStack, logIn } from '../helpers/stack-fixture';

/** Access tokens live 2 s, so the refresh test waits for real expiry, briefly. */
const ACCESS_TOKEN_TTL_S = 2;
const ERROR = 2; // SpanStatusCode.ERROR

let stack: LocalStack;
let telemetry: TestTelemetry;

beforeAll(async () => {
  await ensureBuilt();
  stack = await dedicatedStack({ accessTokenTtl: ACCESS_TOKEN_TTL_S });
  telemetry = installTelemetry();
}, 240_000);

afterAll(async () => {
  await telemetry?.shutdown();
});

/** A local port nothing listens on (taken, then given back). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

test('a login while oxd is down: error spans with the code, counted as a failed login', async () => {
  const config = {
    oxd: { host: '127.0.0.1', port: await closedPort(), oxdId: 'site-registered-before' },
    client: {
      opHost: stack.op.issuer,
      authorizationRedirectUri: `${APP_ORIGIN}/callback`,
    },
  };
  const logger = capturingLogger();
  const auth = oxdAuth({ config, logger });
  try {
    telemetry.reset();
    const res = await request(buildApp('express5', auth)).get('/login').set('Accept', HTML);
    expect(res.status).toBe(503);
    const [login, ...rest] = telemetry.spans().sort((a, b) => (a.name < b.name ? -1 : 1));
    expect(rest.map((span) => span.name)).toEqual(['oxd get_authorization_url']);
    expect(login?.name).toBe('express-oxd login');
    for (const span of [login, ...rest]) {
      expect(span?.status).toEqual({ code: ERROR, message: 'OXD_TRANSPORT_FAILED' });
      expect(span?.attributes['error.type']).toBe('OXD_TRANSPORT_FAILED');
      expect(span?.attributes['express_oxd.outcome']).toBe('failure');
    }
    expect(rest[0]?.parentSpanContext?.spanId).toBe(login?.spanContext().spanId);
    // One log line, carrying the ids of the login's span.
    expect(logger.lines.map(([level, , fields]) => [level, fields])).toEqual([
      [
        'error',
        {
          code: 'OXD_TRANSPORT_FAILED',
          status: 503,
          operation: 'login',
          cause: 'ECONNREFUSED',
          trace_id: login?.spanContext().traceId,
          span_id: login?.spanContext().spanId,
        },
      ],
    ]);
    const logins = await telemetry.points('express_oxd.logins');
    expect(
      countOf(logins, { 'express_oxd.outcome': 'failure', 'error.type': 'OXD_TRANSPORT_FAILED' }),
    ).toBe(1);
    expect(countOf(logins, { 'express_oxd.outcome': 'success' })).toBe(0);
    const durations = await telemetry.points('express_oxd.oxd.command.duration');
    expect(
      countOf(durations, {
        'rpc.method': 'get_authorization_url',
        'express_oxd.transport': 'socket',
        'express_oxd.outcome': 'failure',
        'error.type': 'OXD_TRANSPORT_FAILED',
      }),
    ).toBe(1);
  } finally {
    await auth.client.close();
  }
});

test('a refresh and a logout: spans and counters; protected requests before the refresh record nothing', async () => {
  const config = configFor(stack, 'socket');
  const client = new OxdClient(resolveConfig(config), { writeBack: false });
  const agent = request.agent(
    buildApp('express5', oxdAuth({ config, client }), { store: new session.MemoryStore() }),
  );
  try {
    expect((await logIn(agent, stack)).status).toBe(302);
    const first = await agent.get('/profile').set('Accept', HTML);
    expect(first.status).toBe(200);
    const recorded = async () =>
      [
        ...(await telemetry.points('express_oxd.refreshes')),
        ...(await telemetry.points('express_oxd.oxd.command.duration')),
      ].map(({ attributes, value }) => ({ attributes, value }));
    const metricsBefore = await recorded();
    // A logged-in session with a valid access token: no span, nothing recorded.
    telemetry.reset();
    for (let i = 0; i < 3; i += 1) {
      expect((await agent.get('/profile').set('Accept', HTML)).status).toBe(200);
    }
    expect(telemetry.spans()).toEqual([]);
    expect(await recorded()).toEqual(metricsBefore);

    await new Promise((resolve) =>
      setTimeout(resolve, Math.max(0, (first.body.expiresAt as number) - Date.now()) + 250),
    );
    const refreshed = await agent.get('/profile').set('Accept', HTML);
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.expiresAt).toBeGreaterThan(first.body.expiresAt as number);
    expect(telemetry.tree()).toEqual([
      {
        name: 'express-oxd refresh',
        children: [{ name: 'oxd get_access_token_by_refresh_token', children: [] }],
      },
    ]);
    const refreshes = await telemetry.points('express_oxd.refreshes');
    expect(countOf(refreshes, { 'express_oxd.outcome': 'success' })).toBe(1);

    telemetry.reset();
    expect((await agent.get('/logout').set('Accept', HTML)).status).toBe(302);
    expect(telemetry.tree()).toEqual([
      { name: 'express-oxd logout', children: [{ name: 'oxd get_logout_uri', children: [] }] },
    ]);
    const logouts = await telemetry.points('express_oxd.logouts');
    expect(
      countOf(logouts, { 'express_oxd.operation': 'logout', 'express_oxd.outcome': 'success' }),
    ).toBe(1);
  } finally {
    await client.close();
  }
});

test('a front-channel logout: its span, counted as a logout', async () => {
  // oxd 4.x: its logins carry the OP's sid.
  const config = configFor(stack, 'https4');
  const client = new OxdClient(resolveConfig(config), { writeBack: false });
  const agent = request.agent(
    buildApp('express5', oxdAuth({ config, client }), { store: new session.MemoryStore() }),
  );
  try {
    expect((await logIn(agent, stack)).status).toBe(302);
    const sid = (await agent.get('/profile').set('Accept', HTML)).body.idTokenClaims?.sid;
    expect(typeof sid).toBe('string');
    telemetry.reset();
    const query = new URLSearchParams({ iss: stack.op.issuer, sid });
    expect((await agent.get(`/frontchannel-logout?${query}`)).status).toBe(200);
    expect(telemetry.tree()).toEqual([{ name: 'express-oxd frontchannel_logout', children: [] }]);
    expect((await agent.get('/profile').set('Accept', 'application/json')).status).toBe(401);
    const logouts = await telemetry.points('express_oxd.logouts');
    expect(
      countOf(logouts, {
        'express_oxd.operation': 'frontchannel_logout',
        'express_oxd.outcome': 'success',
      }),
    ).toBe(1);
  } finally {
    await client.close();
  }
});

test("the socket pool's connections in use and commands waiting", async () => {
  // An "oxd" that accepts and never answers: commands stay in flight.
  const sockets = new Set<import('node:net').Socket>();
  const silent: Server = createServer((socket) => {
    sockets.add(socket);
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const { port } = silent.address() as { port: number };
  const transport = new SocketTransport({
    host: '127.0.0.1',
    port,
    poolSize: 2,
    responseTimeoutMs: 10_000,
  });
  const gauges = async () => ({
    inUse: countOf(await telemetry.points('express_oxd.socket_pool.connections_in_use'), {
      'server.port': port,
    }),
    waiting: countOf(await telemetry.points('express_oxd.socket_pool.commands_waiting'), {
      'server.port': port,
    }),
  });
  try {
    const pending = [1, 2, 3, 4, 5].map(() =>
      transport.send({ command: 'get_rp', path: 'get-rp', params: {} }).catch((err) => err),
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await gauges()).toEqual({ inUse: 2, waiting: 3 });
    await transport.close();
    expect((await Promise.all(pending)).every((err) => err instanceof OxdError)).toBe(true);
    // A closed transport has nothing in use and nothing waiting.
    expect(await gauges()).toEqual({ inUse: 0, waiting: 0 });
  } finally {
    await transport.close();
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
  }
});

test('the failure-reporting point: span status, and one log line for a 5xx with the trace ids', () => {
  const lines: [string, string, Record<string, unknown>][] = [];
  const logger = {
    warn: (message: string, fields: Record<string, unknown>) =>
      lines.push(['warn', message, fields]),
    error: (message: string, fields: Record<string, unknown>) =>
      lines.push(['error', message, fields]),
  };
  telemetry.reset();
  const operation = startOperation('callback', undefined);
  const failure = new OxdTransportError('oxd-server at 127.0.0.1:1 refused the connection');
  reportFailure(failure, { operation: 'callback', runtime: { logger }, span: operation.span });
  operation.end('failure', failure);
  // A visitor's 4xx is not logged.
  reportFailure(new OxdError('OXD_STATE_MISMATCH', 'no such login', { status: 400 }), {
    operation: 'callback',
    runtime: { logger },
  });
  const [span] = telemetry.spans();
  expect(span?.status).toEqual({ code: ERROR, message: 'OXD_TRANSPORT_FAILED' });
  expect(lines).toEqual([
    [
      'error',
      'express-oxd: callback failed with OXD_TRANSPORT_FAILED',
      {
        code: 'OXD_TRANSPORT_FAILED',
        status: 503,
        operation: 'callback',
        trace_id: span?.spanContext().traceId,
        span_id: span?.spanContext().spanId,
      },
    ],
  ]);
});
