/**
 * A token refresh while the OpenID Provider is failing, against the local oxd. Every oxd
 * release answers `internal_error` to a refresh the OP refused and to one it could not make
 * (`GetAccessTokenByRefreshTokenOperation`): for an expired access token either ends the
 * login (a browser is sent to log in again, an API client gets 401), never a 503 that would
 * last as long as the session. A refresh ahead of expiry (`refreshLeeway`) that fails keeps
 * the still valid token. Only oxd itself being unreachable answers 503 (resilience.test.ts).
 */
import { createServer, type Server } from 'node:http';
import request from 'supertest';
import { oxdAuth, type OxdAuthHandler } from '../../src';
import { resolveConfig } from '../../src/config/resolve';
import { OxdClient } from '../../src/oxd/client';
import type { OxdReply, OxdRequest, Transport } from '../../src/oxd/transport';
import { capturingLogger } from '../helpers/capture-logger';
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
  type TransportName,
} from '../helpers/stack-fixture';

const REFRESH = 'get_access_token_by_refresh_token';
/** Access tokens of the app's logins are refreshed this long before they expire. */
const LEEWAY_S = 600;

/**
 * Passes every command to the real oxd, except that while `opAnswers503` is set the
 * refresh gets the reply oxd gives when the OP's token endpoint answers HTTP 503 (the local
 * OP cannot be made to answer 503 while it still serves logins): oxd's generic internal
 * error, on 4.x with HTTP 500 (`GetAccessTokenByRefreshTokenOperation`, every release).
 */
class Op503Transport implements Transport {
  readonly kind: 'socket' | 'https';
  opAnswers503 = false;
  /** A gateway in front of oxd answers the refresh 502: oxd itself is out of reach. */
  gatewayAnswers502 = false;
  refreshes = 0;

  constructor(readonly inner: CountingTransport) {
    this.kind = inner.kind;
  }

  send(request: OxdRequest): Promise<OxdReply> {
    if (request.command === REFRESH) this.refreshes += 1;
    if (request.command === REFRESH && this.gatewayAnswers502) {
      return Promise.resolve({
        ok: false,
        error: 'http_status_502',
        error_description: '<html><body>502 Bad Gateway</body></html>',
        httpStatus: 502,
      });
    }
    if (request.command === REFRESH && this.opAnswers503) {
      return Promise.resolve({
        ok: false,
        error: 'internal_error',
        error_description: 'Unknown internal server error occurs.',
        ...(this.kind === 'https' ? { httpStatus: 500 } : {}),
      });
    }
    return this.inner.send(request);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

const TRANSPORT_NAMES: readonly TransportName[] = ['socket', 'https4', 'https3'];

let stack: LocalStack;
const servers: Server[] = [];
const handlers: OxdAuthHandler[] = [];
const logger = capturingLogger();
const apps = new Map<
  TransportName,
  { server: Server; agent: Agent; offset: { ms: number }; transport: Op503Transport }
>();

beforeAll(async () => {
  stack = await dedicatedStack();
  for (const name of TRANSPORT_NAMES) {
    const transport = new Op503Transport(countingTransport(stack, name));
    const client = new OxdClient(resolveConfig(configFor(stack, name)), {
      transport,
      writeBack: false,
    });
    const offset = { ms: 0 };
    const auth = oxdAuth({
      config: configFor(stack, name),
      client,
      clock: () => Date.now() + offset.ms,
      refreshLeeway: LEEWAY_S,
      logger,
    });
    handlers.push(auth);
    const server = createServer(buildApp('express5', auth));
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const agent = request.agent(server);
    const done = await logIn(agent, stack);
    expect(done.status).toBe(302);
    apps.set(name, { server, agent, offset, transport });
  }
}, 180_000);

afterAll(async () => {
  await Promise.all(handlers.map((handler) => handler.client.close()));
  await Promise.all(
    servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))),
  );
});

afterEach(() => logger.clear());

function appOf(name: TransportName) {
  const app = apps.get(name);
  if (!app) throw new Error(`no app for ${name}`);
  return app;
}

/**
 * Asks for a protected page with the clock moved on `hours`, past the access token's expiry
 * (a token refreshed while the clock was moved on expires that much later).
 */
async function expiredProfile(name: TransportName, accept = HTML, hours = 2) {
  const { agent, offset } = appOf(name);
  offset.ms = hours * 60 * 60 * 1000;
  try {
    return await agent.get('/profile').set('Accept', accept);
  } finally {
    offset.ms = 0;
  }
}

describe('the OP answers the refresh with 503', () => {
  test.each(TRANSPORT_NAMES)(
    '%s - an expired token: the login ends, a browser is sent to log in, an API client gets 401',
    async (name) => {
      const { agent, transport } = appOf(name);
      transport.opAnswers503 = true;
      try {
        const refreshes = transport.refreshes;
        const page = await expiredProfile(name);
        expect(transport.refreshes).toBe(refreshes + 1);
        expect(page.status).toBe(302);
        expect(page.headers.location).toBe('/login?returnTo=%2Fprofile');
        expect((await agent.get('/profile').set('Accept', HTML)).status).toBe(302);
        expect((await logIn(agent, stack)).status).toBe(302);
        const api = await expiredProfile(name, 'application/json');
        expect(api.status).toBe(401);
        // No 5xx: each refresh that ended a login is a warning naming oxd's error, without
        // the OP's page that oxd passed on.
        const warning = ['warn', 'OXD_COMMAND_FAILED', 'refresh', undefined, 'internal_error'];
        expect(logger.summary()).toEqual([warning, warning]);
        expect(JSON.stringify(logger.lines)).not.toContain('Service Unavailable');
      } finally {
        transport.opAnswers503 = false;
      }
      // Logging in again works as soon as the OP does.
      expect((await logIn(agent, stack)).status).toBe(302);
      expect((await agent.get('/profile').set('Accept', HTML)).status).toBe(200);
    },
    60_000,
  );

  test.each(TRANSPORT_NAMES)(
    '%s - ahead of expiry (refreshLeeway): the still valid token is kept and tried again later',
    async (name) => {
      const { agent, offset, transport } = appOf(name);
      const before = await agent.get('/profile').set('Accept', HTML);
      const expiresAt = before.body.expiresAt as number;
      transport.opAnswers503 = true;
      try {
        // One minute before expiry: inside the leeway, the token still valid.
        offset.ms = expiresAt - Date.now() - 60_000;
        const refreshes = transport.refreshes;
        const page = await agent.get('/profile').set('Accept', HTML);
        expect(transport.refreshes).toBe(refreshes + 1);
        expect(page.status).toBe(200);
        expect(page.body.expiresAt).toBe(expiresAt);
        const api = await agent.get('/profile').set('Accept', 'application/json');
        expect(api.status).toBe(200);
        // The page was served: a warning per failed refresh, not an error.
        expect(
          logger.summary().map(([level, , operation, status]) => [level, operation, status]),
        ).toEqual([
          ['warn', 'refresh', undefined],
          ['warn', 'refresh', undefined],
        ]);
      } finally {
        transport.opAnswers503 = false;
        offset.ms = 0;
      }
      // The next try, with the OP answering again, refreshes.
      offset.ms = expiresAt - Date.now() - 60_000;
      try {
        const page = await agent.get('/profile').set('Accept', HTML);
        expect(page.status).toBe(200);
        expect(page.body.expiresAt).toBeGreaterThan(expiresAt);
      } finally {
        offset.ms = 0;
      }
    },
    60_000,
  );
});

describe('oxd is out of reach behind a gateway', () => {
  test.each(['https4', 'https3'] as TransportName[])(
    '%s - a gateway 502 answers 503 and keeps the login',
    async (name) => {
      const { agent, transport } = appOf(name);
      transport.gatewayAnswers502 = true;
      try {
        const page = await expiredProfile(name);
        expect(page.status).toBe(503);
        // Logged once, with the status the page got (503), not the gateway's 502.
        expect(
          logger.summary().map(([level, , operation, status]) => [level, operation, status]),
        ).toEqual([['error', 'refresh', 503]]);
      } finally {
        transport.gatewayAnswers502 = false;
      }
      const profile = await agent.get('/profile').set('Accept', HTML);
      expect(profile.status).toBe(200);
      expect(profile.body.user.email).toBe('jane.doe@example.com');
    },
    60_000,
  );
});

describe('the OP is not running', () => {
  beforeAll(async () => {
    await stack.stopOp();
  }, 30_000);

  test.each(TRANSPORT_NAMES)(
    '%s - oxd answers internal_error: the login ends instead of a lasting 503',
    async (name) => {
      const page = await expiredProfile(name, HTML, 6);
      expect(page.status).toBe(302);
      expect(page.headers.location).toBe('/login?returnTo=%2Fprofile');
      const api = await expiredProfile(name, 'application/json', 6);
      expect(api.status).toBe(401);
    },
    60_000,
  );
});
