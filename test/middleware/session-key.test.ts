/**
 * Two `oxdAuth()` instances in one application (the site, and an admin area registered as
 * another oxd site), each keeping its login under its own `sessionKey`: logging in at one
 * neither overwrites nor ends the other's login. Express 5, Express 4 and Connect.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import connect from 'connect';
import express5 from 'express';
import session from 'express-session';
import request from 'supertest';
import {
  OxdConfigError,
  oxdAuth,
  oxdErrorHandler,
  requireAuth,
  type OxdAuthHandler,
} from '../../src';
import type { OxdIncomingMessage } from '../../src/session';
import { useLocalStack } from '../helpers/local-stack';
import { express4, FRAMEWORKS, type Framework } from '../fixtures/apps';
import { APP_ORIGIN, configFor, HTML, logIn } from '../helpers/stack-fixture';

type Next = (err?: unknown) => void;

const USER_SUB = '248289761001';
const CONFIG = {
  oxd: { host: '127.0.0.1', port: 1 },
  client: { opHost: 'https://127.0.0.1:2', authorizationRedirectUri: 'https://app.example/cb' },
};

const stack = useLocalStack();
const handlers: OxdAuthHandler[] = [];

afterAll(async () => {
  await Promise.all(handlers.map((handler) => handler.client.close()));
});

/** The admin area: another oxd site (its own client at the OP), mounted under /admin. */
function adminConfig() {
  const base = configFor(stack, 'socket');
  return {
    oxd: base.oxd,
    client: {
      ...base.client,
      authorizationRedirectUri: `${APP_ORIGIN}/admin/callback`,
      postLogoutRedirectUri: `${APP_ORIGIN}/admin/logged-out`,
      clientFrontchannelLogoutUris: [],
    },
  };
}

function whoAmI(req: IncomingMessage, res: ServerResponse): void {
  const oxd = (req as OxdIncomingMessage).oxd;
  res.setHeader('Content-Type', 'application/json');
  res.end(JSON.stringify({ sub: oxd?.user?.sub, aud: oxd?.idTokenClaims?.aud }));
}

function buildTwoInstanceApp(framework: Framework, site: OxdAuthHandler, admin: OxdAuthHandler) {
  const sessionMiddleware = session({
    secret: 'test secret, not used anywhere else',
    resave: false,
    saveUninitialized: false,
  });
  const guard = requireAuth({ redirect: false });
  if (framework === 'connect') {
    const exact =
      (path: string) =>
      (req: IncomingMessage, res: ServerResponse, next: Next): void => {
        if ((req.url ?? '/').split('?')[0] !== path) return next();
        guard(req, res, (err?: unknown) => (err ? next(err) : whoAmI(req, res)));
      };
    const adminApp = connect();
    adminApp.use(admin);
    adminApp.use(exact('/me'));
    const app = connect();
    app.use(sessionMiddleware as connect.NextHandleFunction);
    app.use('/admin', adminApp);
    app.use(site);
    app.use(exact('/me'));
    app.use(oxdErrorHandler());
    return app;
  }
  const create = framework === 'express5' ? express5 : express4;
  const adminApp = create();
  adminApp.use(admin);
  adminApp.get('/me', guard, whoAmI);
  const app = create();
  app.use(sessionMiddleware);
  app.use('/admin', adminApp);
  app.use(site);
  app.get('/me', guard, whoAmI);
  app.use(oxdErrorHandler());
  return app;
}

describe.each(FRAMEWORKS)('%s', (framework) => {
  test('two oxdAuth instances keep their logins apart in one session', async () => {
    const site = oxdAuth({ config: configFor(stack, 'socket') });
    const admin = oxdAuth({ config: adminConfig(), sessionKey: 'oxdAdmin' });
    handlers.push(site, admin);
    const agent = request.agent(buildTwoInstanceApp(framework, site, admin));

    expect((await logIn(agent, stack, '/login')).headers.location).toBe('/');
    const siteMe = await agent.get('/me').set('Accept', 'application/json');
    expect(siteMe.status).toBe(200);
    expect(siteMe.body.sub).toBe(USER_SUB);
    expect((await agent.get('/admin/me').set('Accept', 'application/json')).status).toBe(401);

    const adminLogin = await logIn(agent, stack, '/admin/login');
    expect(adminLogin.status).toBe(302);
    const adminMe = await agent.get('/admin/me').set('Accept', 'application/json');
    expect(adminMe.status).toBe(200);
    expect(adminMe.body.sub).toBe(USER_SUB);

    // The site's login survived the admin login (and its new session id), unchanged.
    const siteAgain = await agent.get('/me').set('Accept', 'application/json');
    expect(siteAgain.status).toBe(200);
    expect(siteAgain.body).toEqual(siteMe.body);
    // Two different clients at the OP: each instance reads its own login.
    expect(adminMe.body.aud).not.toEqual(siteMe.body.aud);

    // Logging in at the site again keeps the admin login too.
    await logIn(agent, stack, '/login');
    expect((await agent.get('/admin/me').set('Accept', 'application/json')).body).toEqual(
      adminMe.body,
    );
    expect((await agent.get('/me').set('Accept', HTML)).status).toBe(200);
  });
});

describe('sessionKey option', () => {
  test.each<[string, unknown]>([
    ['an empty name', ''],
    ['a number', 5],
    ['a name with a dot', 'oxd.admin'],
    ["express-session's cookie", 'cookie'],
    ['a session method', 'regenerate'],
    ['an Object.prototype name', '__proto__'],
    ['the UMA key', 'oxdUma'],
  ])('refuses %s, naming the option', (_name, sessionKey) => {
    let thrown: unknown;
    try {
      oxdAuth({ config: CONFIG, sessionKey: sessionKey as string });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(OxdConfigError);
    expect((thrown as OxdConfigError).key).toBe('sessionKey');
    expect((thrown as OxdConfigError).message).toMatch(/^oxdAuth option sessionKey: /);
  });
});
