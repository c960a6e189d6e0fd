/**
 * The middleware's behaviour where no oxd answer is involved, under Express 5, Express 4 and
 * Connect. The configured "oxd server" is a sentinel that drops every connection and counts
 * them, so each test also shows whether oxd was contacted.
 */
import { createServer, IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import connect from 'connect';
import express5 from 'express';
import session from 'express-session';
import { ERROR_CODES, oxdAuth, oxdErrorHandler, requireAuth } from '../../src';
import { capturingLogger } from '../helpers/capture-logger';
import { buildApp, express4, FRAMEWORKS, startSentinel } from '../fixtures/apps';

let sentinel: Awaited<ReturnType<typeof startSentinel>>;

beforeAll(async () => {
  sentinel = await startSentinel();
});
afterAll(async () => {
  await sentinel.close();
});

function config(redirectPath = '/callback') {
  return {
    oxd: {
      host: '127.0.0.1',
      port: sentinel.port,
      connectTimeoutMs: 3000,
      responseTimeoutMs: 3000,
    },
    client: {
      opHost: 'https://127.0.0.1:9',
      authorizationRedirectUri: `https://app.example${redirectPath}`,
      clientFrontchannelLogoutUris: ['https://app.example/frontchannel-logout'],
      postLogoutRedirectUri: 'https://app.example/bye',
    },
  };
}

const HTML = 'text/html,application/xhtml+xml';
const handlers: ReturnType<typeof oxdAuth>[] = [];
const logger = capturingLogger();
beforeEach(() => logger.clear());
function auth(options: Partial<Parameters<typeof oxdAuth>[0] & object> = {}) {
  const handler = oxdAuth({ config: config(), logger, ...options });
  handlers.push(handler);
  return handler;
}
afterAll(async () => {
  await Promise.all(handlers.map((handler) => handler.client.close()));
});

describe.each(FRAMEWORKS)('%s', (framework) => {
  test('oxdAuth - sets req.oxd on every request and leaves other routes alone', async () => {
    const before = sentinel.connections();
    const response = await request(buildApp(framework, auth())).get('/?x=1');
    expect(response.status).toBe(200);
    expect(response.text).toBe('home');
    expect(response.headers['set-cookie']).toBeUndefined();
    expect(sentinel.connections()).toBe(before);
  });

  test('requireAuth - redirects a browser to the login route with returnTo', async () => {
    const response = await request(buildApp(framework, auth()))
      .get('/profile?tab=a%20b&x=1')
      .set('Accept', HTML);
    expect(response.status).toBe(302);
    expect(response.headers.location).toBe(
      `/login?returnTo=${encodeURIComponent('/profile?tab=a%20b&x=1')}`,
    );
  });

  test('requireAuth - answers an API client 401 JSON', async () => {
    const before = sentinel.connections();
    const response = await request(buildApp(framework, auth()))
      .get('/api/me')
      .set('Accept', 'application/json');
    expect(response.status).toBe(401);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    expect(response.body).toMatchObject({
      error: 'unauthenticated',
      code: ERROR_CODES.UNAUTHENTICATED,
    });
    expect(sentinel.connections()).toBe(before);
  });

  test('requireAuth - sends a logged-out user of a claim-checked page to log in, not 403', async () => {
    const response = await request(buildApp(framework, auth())).get('/admin').set('Accept', HTML);
    expect(response.status).toBe(302);
    expect(response.headers.location).toBe('/login?returnTo=%2Fadmin');
  });

  test('requireAuth - passes 401 to the error handler with errorOnRequired', async () => {
    const response = await request(buildApp(framework, auth({ errorOnRequired: true })))
      .get('/profile')
      .set('Accept', HTML);
    expect(response.status).toBe(401);
    expect(response.text).toContain('Login required');
  });

  test('requireAuth - writes its 401 with the renderError option', async () => {
    const app = buildApp(
      framework,
      auth({
        renderError: (err, _req, res) => {
          res.statusCode = err.status;
          res.end(`custom ${err.code}`);
        },
      }),
    );
    const response = await request(app).get('/api/me').set('Accept', 'application/json');
    expect(response.status).toBe(401);
    expect(response.text).toBe(`custom ${ERROR_CODES.UNAUTHENTICATED}`);
  });

  test('callback - rejects a callback without state', async () => {
    const response = await request(buildApp(framework, auth()))
      .get('/callback?code=abc')
      .set('Accept', HTML);
    expect(response.status).toBe(400);
    expect(response.text).toContain('Login could not be completed');
    expect(response.text).toContain(ERROR_CODES.STATE_MISMATCH);
  });

  test('callback - rejects a state that is not in the session', async () => {
    const before = sentinel.connections();
    const response = await request(buildApp(framework, auth()))
      .get('/callback?code=abc&state=forged')
      .set('Accept', 'application/json');
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({
      error: 'invalid_state',
      code: ERROR_CODES.STATE_MISMATCH,
    });
    expect(sentinel.connections()).toBe(before);
  });

  test('callback - an OP error whose state this session did not start is a state mismatch', async () => {
    const response = await request(buildApp(framework, auth()))
      .get('/callback?error=access_denied&error_description=User%20cancelled&state=x')
      .set('Accept', 'application/json');
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({
      error: 'invalid_state',
      code: ERROR_CODES.STATE_MISMATCH,
    });
    expect(JSON.stringify(response.body)).not.toContain('User cancelled');
  });

  test('logout - redirects a logged-out user to the post-logout path without calling oxd', async () => {
    const before = sentinel.connections();
    const response = await request(
      buildApp(framework, auth({ routes: { postLogoutRedirect: '/bye' } })),
    ).get('/logout');
    expect(response.status).toBe(302);
    expect(response.headers.location).toBe('/bye');
    expect(response.headers['set-cookie']).toBeUndefined();
    expect(sentinel.connections()).toBe(before);
  });

  test('frontchannel logout - answers 200, uncached, when nobody is logged in', async () => {
    const response = await request(buildApp(framework, auth())).get(
      '/frontchannel-logout?iss=https%3A%2F%2Fop&sid=s1',
    );
    expect(response.status).toBe(200);
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.headers['content-type']).toMatch(/^text\/html/);
  });

  test('login - without a session middleware fails with a message saying what to add', async () => {
    const app = buildApp(framework, auth(), { withoutSession: true });
    const response = await request(app).get('/login').set('Accept', 'application/json');
    expect(response.status).toBe(500);
    expect(response.body.code).toBe(ERROR_CODES.SESSION_MISSING);
    expect(response.body.error_description).toContain('app.use(session(');
    const guarded = await request(app).get('/profile').set('Accept', 'application/json');
    expect(guarded.status).toBe(500);
    expect(guarded.body.code).toBe(ERROR_CODES.SESSION_MISSING);
    expect(logger.summary()).toEqual([
      ['error', ERROR_CODES.SESSION_MISSING, 'login', 500, undefined],
    ]);
  });

  test('login - answers 503 with a clear page when oxd cannot be reached', async () => {
    const response = await request(buildApp(framework, auth())).get('/login').set('Accept', HTML);
    expect(response.status).toBe(503);
    expect(response.text).toContain('Login is unavailable');
    expect(response.text).toContain('cannot be reached');
    expect(response.text).toContain(ERROR_CODES.TRANSPORT_FAILED);
    expect(logger.summary()).toEqual([
      // The sentinel closes each connection unanswered: no error underneath to name.
      ['error', ERROR_CODES.TRANSPORT_FAILED, 'login', 503, undefined],
    ]);
  });

  test('login - routes only GET, other methods go on to the application', async () => {
    const response = await request(buildApp(framework, auth())).post('/login');
    expect(response.status).toBe(404);
  });

  test('oxdAuth - works mounted under a path', async () => {
    const handler = oxdAuth({ config: config('/auth/callback'), logger });
    handlers.push(handler);
    const app = buildApp(framework, handler, { mount: '/auth' });
    const guarded = await request(app).get('/auth/profile?a=1').set('Accept', HTML);
    expect(guarded.status).toBe(302);
    expect(guarded.headers.location).toBe(
      `/auth/login?returnTo=${encodeURIComponent('/auth/profile?a=1')}`,
    );
    const callback = await request(app)
      .get('/auth/callback?state=forged&code=x')
      .set('Accept', 'application/json');
    expect(callback.status).toBe(400);
    expect(callback.body.code).toBe(ERROR_CODES.STATE_MISMATCH);
    const notMounted = await request(app).get('/login');
    expect(notMounted.status).toBe(404);
  });

  test('requireAuth - without oxdAuth before it fails with a message saying what to add', async () => {
    const bare =
      framework === 'connect' ? connect() : framework === 'express5' ? express5() : express4();
    bare.use(requireAuth());
    bare.use(oxdErrorHandler());
    const failed = await request(bare).get('/profile').set('Accept', 'application/json');
    expect(failed.status).toBe(500);
    expect(failed.body.code).toBe(ERROR_CODES.CONFIG_INVALID);
    expect(failed.body.error_description).toContain('app.use(oxdAuth(');
  });
});

describe.each([
  ['express5', express5],
  ['express4', express4],
] as const)('%s', (_name, create) => {
  test('oxdAuth - one instance in a mounted sub-app and at the root: each page logs in where it is served', async () => {
    const handler = auth();
    const page = (_req: unknown, res: { end(body: string): void }) => res.end('page');
    const admin = create();
    admin.use(handler);
    admin.get('/inside', requireAuth(), page);
    const app = create();
    app.use(session({ secret: 'test secret', resave: false, saveUninitialized: false }));
    app.use('/admin', admin);
    app.use(handler);
    // Passed through the sub-app's oxdAuth first, then served at the root.
    app.get('/admin/outside', requireAuth(), page);

    const inside = await request(app).get('/admin/inside').set('Accept', HTML);
    expect(inside.status).toBe(302);
    expect(inside.headers.location).toBe(
      `/admin/login?returnTo=${encodeURIComponent('/admin/inside')}`,
    );
    const outside = await request(app).get('/admin/outside').set('Accept', HTML);
    expect(outside.status).toBe(302);
    expect(outside.headers.location).toBe(
      `/login?returnTo=${encodeURIComponent('/admin/outside')}`,
    );
  });
});

/** `'oxd' in req` of a request served by a bare node:http server in this process. */
async function bareRequestHasOxd(): Promise<boolean> {
  let seen = true;
  const server = createServer((req, res) => {
    seen = 'oxd' in req;
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    await request(`http://127.0.0.1:${port}`).get('/');
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
  return seen;
}

describe("req.oxd leaves Node's request class alone", () => {
  test.each(FRAMEWORKS)(
    '%s - req.oxd works in the app, at the root and in a mounted sub-app, and nowhere else',
    async (framework) => {
      const handler = auth();
      const show = (req: IncomingMessage, res: ServerResponse) => {
        const oxd = (req as { oxd?: { isAuthenticated(): boolean } }).oxd;
        res.end(oxd === undefined ? 'no req.oxd' : `authenticated: ${oxd.isAuthenticated()}`);
      };
      type App = ((req: IncomingMessage, res: ServerResponse) => void) & {
        use(first: unknown, second?: unknown): unknown;
      };
      const create = (): App =>
        (framework === 'connect'
          ? connect()
          : framework === 'express5'
            ? express5()
            : express4()) as unknown as App;
      const app = create();
      app.use(session({ secret: 'test secret', resave: false, saveUninitialized: false }));
      if (framework !== 'connect') {
        // Seen by oxdAuth in a mounted sub-app only, read again at the root afterwards.
        const admin = create();
        admin.use(handler);
        admin.use('/inside', show);
        app.use('/admin', admin);
        app.use('/admin/outside', show);
      }
      app.use(handler);
      app.use('/page', show);
      app.use('/', (_req: IncomingMessage, res: ServerResponse) => res.end('home'));

      expect((await request(app).get('/page')).text).toBe('authenticated: false');
      if (framework !== 'connect') {
        expect((await request(app).get('/admin/inside')).text).toBe('authenticated: false');
        expect((await request(app).get('/admin/outside')).text).toBe('authenticated: false');
      }
      expect(Object.getOwnPropertyDescriptor(IncomingMessage.prototype, 'oxd')).toBeUndefined();
      expect(Object.getOwnPropertySymbols(IncomingMessage)).toEqual([]);
      expect(await bareRequestHasOxd()).toBe(false);
    },
  );
});
