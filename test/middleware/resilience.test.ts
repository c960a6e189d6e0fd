/**
 * The middleware under load and through an oxd outage, against the local OP and oxd: a
 * burst of first logins registers the site once; while oxd is down, logins answer 503 with
 * a clear page, logged-in users keep working, and everything recovers when oxd is back.
 * Each failure answered 5xx is logged once, with its code and cause, through the `logger`.
 */
import { createServer, type Server } from 'node:http';
import request from 'supertest';
import { ERROR_CODES, oxdAuth, type OxdAuthHandler } from '../../src';
import { capturingLogger } from '../helpers/capture-logger';
import { useLocalStack } from '../helpers/local-stack';
import { buildApp } from '../fixtures/apps';
import {
  clientFor,
  configFor,
  HTML,
  logIn,
  type Agent,
  type CountingTransport,
} from '../helpers/stack-fixture';

const stack = useLocalStack();
const servers: Server[] = [];
const handlers: OxdAuthHandler[] = [];
const logger = capturingLogger();

afterAll(async () => {
  await Promise.all(handlers.map((handler) => handler.client.close()));
  await Promise.all(
    servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))),
  );
});

/** The app on a real listening server (supertest then reuses it for every agent). */
async function serve(transport: 'socket' | 'https4', options: { clock?: () => number } = {}) {
  const { client, counter } = clientFor(stack, transport);
  const auth = oxdAuth({ config: configFor(stack, transport), client, logger, ...options });
  handlers.push(auth);
  const server = createServer(buildApp('express5', auth));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, counter };
}

describe.each(['socket', 'https4'] as const)('over %s', (transport) => {
  test('login - a burst of 100 first logins registers the site exactly once', async () => {
    const { server, counter } = await serve(transport);
    expect(counter.count('register_site')).toBe(0);
    const responses = await Promise.all(
      Array.from({ length: 100 }, () => request.agent(server).get('/login').set('Accept', HTML)),
    );
    for (const response of responses) {
      expect(response.status).toBe(302);
      expect(String(response.headers.location).startsWith(stack.op.issuer)).toBe(true);
    }
    const states = new Set(
      responses.map((r) => new URL(r.headers.location as string).searchParams.get('state')),
    );
    expect(states.size).toBe(100);
    expect(counter.count('register_site')).toBe(1);
    expect(counter.count('get_authorization_url')).toBe(100);
  }, 60_000);
});

describe('while oxd is down', () => {
  const apps = new Map<
    'socket' | 'https4',
    { server: Server; counter: CountingTransport; agent: Agent; offset: { ms: number } }
  >();

  beforeAll(async () => {
    for (const transport of ['socket', 'https4'] as const) {
      const offset = { ms: 0 };
      const { server, counter } = await serve(transport, { clock: () => Date.now() + offset.ms });
      const agent = request.agent(server);
      const done = await logIn(agent, stack);
      expect(done.status).toBe(302);
      apps.set(transport, { server, counter, agent, offset });
    }
    await stack.stopOxd();
    logger.clear();
  }, 60_000);

  afterEach(() => logger.clear());

  afterAll(async () => {
    await stack.startOxd();
  }, 60_000);

  const appOf = (transport: 'socket' | 'https4') => {
    const app = apps.get(transport);
    if (!app) throw new Error(`no app for ${transport}`);
    return app;
  };

  test.each(['socket', 'https4'] as const)(
    '%s - login answers 503 with a page saying the login service is unreachable',
    async (transport) => {
      const page = await request(appOf(transport).server).get('/login').set('Accept', HTML);
      expect(page.status).toBe(503);
      expect(page.headers['content-type']).toMatch(/^text\/html/);
      expect(page.text).toContain('Login is unavailable');
      expect(page.text).toContain('cannot be reached');
      expect(page.text).toContain(ERROR_CODES.TRANSPORT_FAILED);
      const api = await request(appOf(transport).server)
        .get('/login')
        .set('Accept', 'application/json');
      expect(api.status).toBe(503);
      expect(api.body).toMatchObject({
        error: 'oxd_unavailable',
        code: ERROR_CODES.TRANSPORT_FAILED,
      });
      // Each failed login is in the application's log, once, with what caused it.
      const line = ['error', ERROR_CODES.TRANSPORT_FAILED, 'login', 503, 'ECONNREFUSED'];
      expect(logger.summary()).toEqual([line, line]);
      expect(logger.lines[0]?.[1]).toBe(
        'express-oxd: login failed with OXD_TRANSPORT_FAILED (ECONNREFUSED)',
      );
    },
  );

  test.each(['socket', 'https4'] as const)(
    '%s - a logged-in user keeps using protected pages',
    async (transport) => {
      const { agent } = appOf(transport);
      const profile = await agent.get('/profile').set('Accept', HTML);
      expect(profile.status).toBe(200);
      expect(profile.body.user.email).toBe('jane.doe@example.com');
    },
  );

  test.each(['socket', 'https4'] as const)(
    '%s - a refresh that cannot reach oxd answers 503 and keeps the login',
    async (transport) => {
      const { agent, offset } = appOf(transport);
      offset.ms = 2 * 60 * 60 * 1000;
      const page = await agent.get('/profile').set('Accept', HTML);
      expect(page.status).toBe(503);
      expect(logger.summary()).toEqual([
        ['error', ERROR_CODES.TRANSPORT_FAILED, 'refresh', 503, 'ECONNREFUSED'],
      ]);
      offset.ms = 0;
      expect((await agent.get('/profile').set('Accept', HTML)).status).toBe(200);
    },
  );

  test.each(['socket', 'https4'] as const)(
    '%s - everything works again once oxd is back',
    async (transport) => {
      await stack.startOxd();
      try {
        const { server, agent, offset } = appOf(transport);
        const login = await request(server).get('/login').set('Accept', HTML);
        expect(login.status).toBe(302);
        offset.ms = 2 * 60 * 60 * 1000;
        const refreshed = await agent.get('/profile').set('Accept', HTML);
        expect(refreshed.status).toBe(200);
        offset.ms = 0;
      } finally {
        await stack.stopOxd();
      }
    },
    60_000,
  );

  test('logout - ends the local session even when oxd cannot be reached', async () => {
    const { agent } = appOf('socket');
    const logout = await agent.get('/logout').set('Accept', HTML);
    expect(logout.status).toBe(503);
    expect(logger.summary()).toEqual([
      ['error', ERROR_CODES.TRANSPORT_FAILED, 'logout', 503, 'ECONNREFUSED'],
    ]);
    const guarded = await agent.get('/profile').set('Accept', HTML);
    expect(guarded.status).toBe(302);
    expect(guarded.headers.location).toBe('/login?returnTo=%2Fprofile');
  });
});
