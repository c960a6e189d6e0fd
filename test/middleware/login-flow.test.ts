/**
 * The whole life of a login against the local OP and the local oxd server, over the socket
 * and over HTTPS (oxd 4.x and the 3.x https-extension), in Express 5, Express 4 and Connect: login, protected pages,
 * transparent refresh after the access token expires, logout at the OP, and the protected
 * page asking for a login again.
 */
import request from 'supertest';
import session from 'express-session';
import express5 from 'express';
import {
  ERROR_CODES,
  oxdAuth,
  requireAuth,
  type OxdAuthHandler,
  type OxdAuthOptions,
} from '../../src';
import { capturingLogger } from '../helpers/capture-logger';
import { useLocalStack } from '../helpers/local-stack';
import { followOpLogout, OpCookieJar, submitOpLogin } from '../../src/testing/op-login';
import { buildApp, express4, FRAMEWORKS, type Framework } from '../fixtures/apps';
import {
  appPath,
  clientFor,
  configFor,
  firstUser,
  HTML,
  logIn,
  sessionCookie,
  TRANSPORTS,
  type Agent,
  type CountingTransport,
} from '../helpers/stack-fixture';

/** Access tokens live 2 s, so the refresh test waits for real expiry, briefly. */
const ACCESS_TOKEN_TTL_S = 2;
/** `sub` of the local OP's first user (jane). */
const USER_SUB = '248289761001';

const stack = useLocalStack({ accessTokenTtl: ACCESS_TOKEN_TTL_S });

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe.each(TRANSPORTS)('over %s', (transport) => {
  let counter: CountingTransport;
  let closeClient: () => Promise<void>;
  const agents = new Map<Framework, Agent>();
  const jars = new Map<Framework, OpCookieJar>();
  const expiries = new Map<Framework, number>();

  beforeAll(() => {
    const made = clientFor(stack, transport);
    counter = made.counter;
    closeClient = () => made.client.close();
    for (const framework of FRAMEWORKS) {
      const handler = oxdAuth({ config: configFor(stack, transport), client: made.client });
      agents.set(framework, request.agent(buildApp(framework, handler)));
      jars.set(framework, new OpCookieJar());
    }
  });

  afterAll(async () => {
    await closeClient?.();
  });

  const agentOf = (framework: Framework): Agent => agents.get(framework) as Agent;

  test.each(FRAMEWORKS)(
    '%s - login goes through the OP and lands on returnTo in a new session',
    async (framework) => {
      const agent = agentOf(framework);
      const guarded = await agent.get('/profile?tab=1').set('Accept', HTML);
      expect(guarded.status).toBe(302);
      const login = await agent.get(guarded.headers.location as string).set('Accept', HTML);
      expect(login.status).toBe(302);
      const authorizationUrl = new URL(login.headers.location as string);
      expect(authorizationUrl.origin).toBe(stack.op.issuer);
      expect(authorizationUrl.searchParams.get('state')).toBeTruthy();
      const sessionAtLogin = sessionCookie(login.headers['set-cookie']);
      expect(sessionAtLogin).toBeDefined();

      const callback = await submitOpLogin(
        authorizationUrl.href,
        firstUser(stack),
        stack.op.ca,
        jars.get(framework),
      );
      const done = await agent.get(appPath(callback)).set('Accept', HTML);
      expect(done.status).toBe(302);
      expect(done.headers.location).toBe('/profile?tab=1');
      const sessionAfterLogin = sessionCookie(done.headers['set-cookie']);
      expect(sessionAfterLogin).toBeDefined();
      expect(sessionAfterLogin).not.toBe(sessionAtLogin);

      const profile = await agent.get('/profile?tab=1').set('Accept', HTML);
      expect(profile.status).toBe(200);
      expect(profile.body.user).toMatchObject({
        sub: USER_SUB,
        email: 'jane.doe@example.com',
      });
      expect(profile.body.idTokenClaims.iss).toBe(stack.op.issuer);
      expect(profile.body.hasRefreshToken).toBe(true);
      expect(profile.body.expired).toBe(false);
      expect(profile.body.expiresAt).toBeGreaterThan(Date.now() - 1000);
      expiries.set(framework, profile.body.expiresAt as number);
    },
  );

  test.each(FRAMEWORKS)(
    '%s - requireAuth lets the logged-in user through without calling oxd',
    async (framework) => {
      const agent = agentOf(framework);
      const before = counter.total();
      for (let i = 0; i < 5; i += 1) {
        const page = await agent.get('/').set('Accept', HTML);
        expect(page.text).toBe(`home, logged in as ${USER_SUB}`);
        const api = await agent.get('/api/me').set('Accept', 'application/json');
        expect(api.status).toBe(200);
      }
      expect(counter.total()).toBe(before);
    },
  );

  test.each(FRAMEWORKS)('%s - claim checks admit or refuse by the claims', async (framework) => {
    const agent = agentOf(framework);
    expect((await agent.get('/own').set('Accept', HTML)).status).toBe(200);
    expect((await agent.get('/verified').set('Accept', HTML)).status).toBe(200);
    const refused = await agent.get('/admin').set('Accept', HTML);
    expect(refused.status).toBe(403);
    expect(refused.text).toContain('Access denied');
    const refusedApi = await agent.get('/admin').set('Accept', 'application/json');
    expect(refusedApi.status).toBe(403);
    expect(refusedApi.body.error).toBe('forbidden');
  });

  test('an expired access token is refreshed once per session, transparently', async () => {
    const latest = Math.max(...expiries.values());
    await sleep(Math.max(0, latest - Date.now()) + 250);
    for (const framework of FRAMEWORKS) {
      const agent = agentOf(framework);
      const refreshesBefore = counter.count('get_access_token_by_refresh_token');
      // oxd's answer is held until all four requests have arrived and are waiting for it.
      const release = counter.hold('get_access_token_by_refresh_token');
      let arrived = 0;
      const pages = Promise.all(
        Array.from({ length: 4 }, () =>
          agent
            .get('/profile')
            .set('Accept', HTML)
            .on('request', () => {
              arrived += 1;
            }),
        ),
      );
      while (
        arrived < 4 ||
        counter.count('get_access_token_by_refresh_token') === refreshesBefore
      ) {
        await sleep(20);
      }
      await sleep(100);
      release();
      for (const page of await pages) expect(page.status).toBe(200);
      expect(counter.count('get_access_token_by_refresh_token')).toBe(refreshesBefore + 1);
      const profile = await agent.get('/profile').set('Accept', HTML);
      expect(profile.body.expired).toBe(false);
      expect(profile.body.expiresAt).toBeGreaterThan(expiries.get(framework) as number);
      // The new access token works at the OP.
      const userInfo = await agent.get('/userinfo').set('Accept', 'application/json');
      expect(userInfo.status).toBe(200);
      expect(userInfo.body.email).toBe('jane.doe@example.com');
    }
  });

  test.each(FRAMEWORKS)(
    '%s - logout ends the session and sends the browser to the OP with id_token_hint',
    async (framework) => {
      const agent = agentOf(framework);
      const logout = await agent.get('/logout').set('Accept', HTML);
      expect(logout.status).toBe(302);
      const endSession = new URL(logout.headers.location as string);
      expect(endSession.origin).toBe(stack.op.issuer);
      expect(endSession.searchParams.get('id_token_hint')).toBeTruthy();
      expect(endSession.searchParams.get('post_logout_redirect_uri')).toBe(
        'https://app.example/logged-out',
      );
      const atOp = await followOpLogout(endSession.href, stack.op.ca, jars.get(framework));
      expect(atOp.location.href.startsWith('https://app.example/logged-out')).toBe(true);
      const home = await agent.get('/').set('Accept', HTML);
      expect(home.text).toBe('home');
    },
  );

  test.each(FRAMEWORKS)(
    '%s - after logout the protected page asks for a login again',
    async (framework) => {
      const agent = agentOf(framework);
      const guarded = await agent.get('/profile').set('Accept', HTML);
      expect(guarded.status).toBe(302);
      expect(guarded.headers.location).toBe('/login?returnTo=%2Fprofile');
      // The OP session ended too: the OP shows its login form again.
      const login = await agent.get('/login').set('Accept', HTML);
      await expect(
        submitOpLogin(
          login.headers.location as string,
          firstUser(stack),
          stack.op.ca,
          jars.get(framework),
        ),
      ).resolves.toBeInstanceOf(URL);
    },
  );
});

describe('session handling', () => {
  /** A MemoryStore that counts writes. */
  class CountingStore extends session.MemoryStore {
    writes = 0;
    override set(sid: string, data: session.SessionData, callback?: (err?: unknown) => void) {
      this.writes += 1;
      super.set(sid, data, callback);
    }
  }

  const handlers: OxdAuthHandler[] = [];
  afterAll(async () => {
    await Promise.all(handlers.map((handler) => handler.client.close()));
  });

  function app(options: Partial<OxdAuthOptions> = {}, store = new CountingStore()) {
    const { client } = clientFor(stack, 'socket');
    const handler = oxdAuth({ config: configFor(stack, 'socket'), client, ...options });
    handlers.push(handler);
    return { agent: request.agent(buildApp('express5', handler, { store })), store };
  }

  test('requireAuth - reads the session of a logged-in user without writing it', async () => {
    const { agent, store } = app();
    await logIn(agent, stack);
    const writes = store.writes;
    for (let i = 0; i < 5; i += 1) {
      expect((await agent.get('/profile').set('Accept', HTML)).status).toBe(200);
      expect((await agent.get('/api/me').set('Accept', 'application/json')).status).toBe(200);
      expect((await agent.get('/').set('Accept', HTML)).status).toBe(200);
    }
    expect(store.writes).toBe(writes);
  });

  test.each(['express5', 'express4'] as const)(
    'requireAuth - a logged-in request in %s gains no property of ours on its way to the page',
    async (framework) => {
      // Express gives every request its own prototype: a property added to one builds a
      // hidden class for that request alone, which the hot path must not pay for.
      const { client } = clientFor(stack, 'socket');
      const handler = oxdAuth({ config: configFor(stack, 'socket'), client });
      handlers.push(handler);
      const app = (framework === 'express5' ? express5 : express4)();
      app.use(session({ secret: 'test secret', resave: false, saveUninitialized: false }));
      app.use(handler);
      app.get('/', (_req, res) => {
        res.end('home');
      });
      app.get('/keys', requireAuth(), (req, res) => {
        res.json(Reflect.ownKeys(req).map(String));
      });
      const agent = request.agent(app);
      await logIn(agent, stack);
      const keys: string[] = (await agent.get('/keys').set('Accept', 'application/json')).body;
      const ours = keys.filter((key) => /oxd/i.test(key));
      expect(ours).toEqual([]);
      // The page still gets the login through req.oxd.
      app.get('/who', requireAuth(), (req, res) => {
        res.json({ sub: req.oxd.user?.sub });
      });
      expect((await agent.get('/who').set('Accept', 'application/json')).body.sub).toBe(USER_SUB);
    },
  );

  test('afterCallback - reshapes what the session keeps about the login', async () => {
    const { agent } = app({
      afterCallback: (_req, _res, data) => ({
        ...data,
        rawClaims: {},
        claims: { sub: data.claims.sub, app_role: 'reader' },
      }),
    });
    await logIn(agent, stack);
    const profile = await agent.get('/profile').set('Accept', HTML);
    expect(profile.body.user).toEqual({ sub: USER_SUB, app_role: 'reader' });
  });

  test('afterCallback - a hook that returns nothing fails the login with a clear error, logged once', async () => {
    const logger = capturingLogger();
    const { agent } = app({ afterCallback: (() => undefined) as never, logger });
    const done = await logIn(agent, stack);
    expect(done.status).toBe(500);
    expect(done.text).toContain('afterCallback must return the session data');
    expect(logger.summary()).toEqual([
      ['error', ERROR_CODES.CONFIG_INVALID, 'callback', 500, undefined],
    ]);
    const guarded = await agent.get('/profile').set('Accept', HTML);
    expect(guarded.status).toBe(302);
  });
});
