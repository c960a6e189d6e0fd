/**
 * A token refresh while the OpenID Provider is failing, against the local oxd: an OP outage
 * (the OP answers 5xx, or is not running at all) answers 503 and keeps the login, so the
 * user is still logged in once the OP is back; only a refusal of the refresh token by the
 * OP ends the login (the refused case is in attacks.test.ts). The failure is logged once per
 * refresh with the status the response gets (503), and a refresh ahead of expiry that fails
 * while the page is served with the still valid token is a warning.
 */
import { createServer, type Server } from 'node:http';
import request from 'supertest';
import { ERROR_CODES, oxdAuth, type OxdAuthHandler } from '../../src';
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

/**
 * Passes every command to the real oxd, except that while `opAnswers503` is set the
 * refresh gets the reply oxd gives when the OP's token endpoint answers HTTP 503 (the local
 * OP cannot be made to answer 503): oxd 3.1 socket `http_status_503` with the OP's body,
 * over HTTPS with HTTP status 503 as well.
 */
class Op503Transport implements Transport {
  readonly kind: 'socket' | 'https';
  opAnswers503 = false;

  constructor(readonly inner: CountingTransport) {
    this.kind = inner.kind;
  }

  send(request: OxdRequest): Promise<OxdReply> {
    if (request.command === REFRESH && this.opAnswers503) {
      return Promise.resolve({
        ok: false,
        error: 'http_status_503',
        error_description: '<html><body>503 Service Unavailable</body></html>',
        ...(this.kind === 'https' ? { httpStatus: 503 } : {}),
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
      logger,
      clock: () => Date.now() + offset.ms,
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
    '%s - answers 503 and the user is still logged in afterwards',
    async (name) => {
      const { agent, transport } = appOf(name);
      transport.opAnswers503 = true;
      try {
        const page = await expiredProfile(name);
        expect(page.status).toBe(503);
        // A 5xx page gives the code and general advice; oxd's error text stays in the logs.
        expect(page.text).toContain(ERROR_CODES.COMMAND_FAILED);
        expect(page.text).toContain('try again later');
        const api = await expiredProfile(name, 'application/json');
        expect(api.status).toBe(503);
        expect(api.body).toMatchObject({ code: ERROR_CODES.COMMAND_FAILED });
        // Logged once per refresh, with the status the response got and oxd's error; not
        // the OP's page that oxd passed on.
        const line = ['error', ERROR_CODES.COMMAND_FAILED, 'refresh', 503, 'http_status_503'];
        expect(logger.summary()).toEqual([line, line]);
        expect(JSON.stringify(logger.lines)).not.toContain('Service Unavailable');
      } finally {
        transport.opAnswers503 = false;
      }
      // The session still holds the login: the page works without logging in again, and
      // a refresh now that the OP answers again succeeds.
      const profile = await agent.get('/profile').set('Accept', HTML);
      expect(profile.status).toBe(200);
      expect(profile.body.user.email).toBe('jane.doe@example.com');
      expect((await expiredProfile(name)).status).toBe(200);
    },
    60_000,
  );
});

test('a refresh ahead of expiry that fails while the token is still valid: the page is served, a warning is logged', async () => {
  const transport = new Op503Transport(countingTransport(stack, 'socket'));
  const client = new OxdClient(resolveConfig(configFor(stack, 'socket')), {
    transport,
    writeBack: false,
  });
  const early = capturingLogger();
  // A leeway longer than the token's life: every request refreshes ahead of expiry.
  const auth = oxdAuth({
    config: configFor(stack, 'socket'),
    client,
    logger: early,
    refreshLeeway: 86_400,
  });
  handlers.push(auth);
  const server = createServer(buildApp('express5', auth));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const agent = request.agent(server);
  expect((await logIn(agent, stack)).status).toBe(302);
  early.clear();
  transport.opAnswers503 = true;
  const page = await agent.get('/profile').set('Accept', HTML);
  expect(page.status).toBe(200);
  expect(early.summary()).toEqual([
    ['warn', ERROR_CODES.COMMAND_FAILED, 'refresh', undefined, 'http_status_503'],
  ]);
}, 60_000);

describe('the OP is not running', () => {
  beforeAll(async () => {
    await stack.stopOp();
  }, 30_000);

  test.each(TRANSPORT_NAMES)(
    '%s - a refresh answers 503 and keeps the login',
    async (name) => {
      // The first describe refreshed these tokens with the clock two hours ahead.
      const page = await expiredProfile(name, HTML, 6);
      expect(page.status).toBe(503);
      expect(page.text).toContain('Login');
      const api = await expiredProfile(name, 'application/json', 6);
      expect(api.status).toBe(503);
      expect(
        logger.summary().map(([level, , operation, status]) => [level, operation, status]),
      ).toEqual([
        ['error', 'refresh', 503],
        ['error', 'refresh', 503],
      ]);
      const profile = await appOf(name).agent.get('/profile').set('Accept', HTML);
      expect(profile.status).toBe(200);
      expect(profile.body.user.email).toBe('jane.doe@example.com');
    },
    60_000,
  );
});
