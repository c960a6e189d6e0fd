/**
 * `attemptSilentLogin()`: a silent login (`prompt=none`) tried once per browser session on
 * the routes it is put on only, against the local OP and oxd, in Express 5, Express 4 and
 * Connect.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import connect from 'connect';
import express5 from 'express';
import session from 'express-session';
import request from 'supertest';
import {
  attemptSilentLogin,
  oxdAuth,
  oxdErrorHandler,
  type OxdAuthHandler,
  type OxdClient,
} from '../../src';
import type { OxdIncomingMessage } from '../../src/session';
import { useLocalStack } from '../helpers/local-stack';
import { OpCookieJar } from '../../src/testing/op-login';
import { express4, FRAMEWORKS, type Framework } from '../fixtures/apps';
import { clientFor, configFor, HTML, logIn, silentRoundTrip } from '../helpers/stack-fixture';

type Next = (err?: unknown) => void;
const USER_SUB = '248289761001';

const stack = useLocalStack();
const closers: (() => Promise<void>)[] = [];

afterAll(async () => {
  await Promise.all(closers.map((close) => close()));
});

function newSite(): OxdClient {
  const { client } = clientFor(stack, 'socket');
  closers.push(() => client.close());
  return client;
}

function home(req: IncomingMessage, res: ServerResponse): void {
  const oxd = (req as OxdIncomingMessage).oxd;
  res.setHeader('Content-Type', 'text/plain');
  res.end(oxd?.isAuthenticated() ? `logged in as ${String(oxd.user?.sub)}` : 'anonymous');
}

/** `/welcome` tries a silent login; `/plain` does not; `/bare` runs it without oxdAuth(). */
function buildSilentApp(framework: Framework, auth: OxdAuthHandler) {
  const sessions = session({ secret: 'test secret', resave: false, saveUninitialized: false });
  const silent = attemptSilentLogin();
  if (framework === 'connect') {
    const app = connect();
    app.use(sessions as connect.NextHandleFunction);
    app.use('/bare', (req: IncomingMessage, res: ServerResponse, next: Next) =>
      silent(req, res, (err) => (err ? next(err) : home(req, res))),
    );
    app.use(auth);
    app.use((req: IncomingMessage, res: ServerResponse, next: Next) => {
      const path = (req.url ?? '/').split('?')[0];
      if (path === '/welcome') silent(req, res, (err) => (err ? next(err) : home(req, res)));
      else if (path === '/plain') home(req, res);
      else next();
    });
    app.use(oxdErrorHandler());
    return app;
  }
  const app = (framework === 'express5' ? express5 : express4)();
  app.use(sessions);
  app.get('/bare', silent, home);
  app.use(auth);
  app.get('/welcome', silent, home);
  app.get('/plain', home);
  app.use(oxdErrorHandler());
  return app;
}

function agentFor(framework: Framework, client: OxdClient) {
  const auth = oxdAuth({ config: configFor(stack, 'socket'), client });
  return request.agent(buildSilentApp(framework, auth));
}

describe.each(FRAMEWORKS)('%s', (framework) => {
  test('only its route tries, once per browser session; no OP session: on anonymously', async () => {
    const agent = agentFor(framework, newSite());
    // Routes without it, and API requests, are never redirected.
    expect((await agent.get('/plain').set('Accept', HTML)).text).toBe('anonymous');
    expect((await agent.get('/welcome').set('Accept', 'application/json')).text).toBe('anonymous');

    const { first, authorize, back, callback } = await silentRoundTrip(
      agent,
      stack,
      '/welcome?from=mail',
    );
    expect(first.status).toBe(302);
    expect(authorize.origin).toBe(stack.op.issuer);
    expect(authorize.searchParams.get('prompt')).toBe('none');
    expect(back.searchParams.get('error')).toBe('login_required');
    expect(callback.headers.location).toBe('/welcome?from=mail');
    for (let i = 0; i < 2; i += 1) {
      const page = await agent.get('/welcome?from=mail').set('Accept', HTML);
      expect(page.status).toBe(200);
      expect(page.text).toBe('anonymous');
    }
  });

  test('with an OP session the visitor comes back logged in; a logout is not undone', async () => {
    const site = newSite();
    const jar = new OpCookieJar();
    expect((await logIn(agentFor(framework, site), stack, '/login', jar)).status).toBe(302);

    const agent = agentFor(framework, site);
    const { first, back, callback } = await silentRoundTrip(agent, stack, '/welcome', jar);
    expect(first.status).toBe(302);
    expect(back.searchParams.get('code')).toBeTruthy();
    expect(callback.headers.location).toBe('/welcome');
    expect((await agent.get('/welcome').set('Accept', HTML)).text).toBe(`logged in as ${USER_SUB}`);

    // Logged out at this site only (the OP session stays): no silent login back in.
    const logout = await agent.get('/logout').set('Accept', HTML);
    expect(logout.status).toBe(302);
    expect((await agent.get('/plain').set('Accept', HTML)).text).toBe('anonymous');
    // The cookie set at the logout keeps the route from trying again.
    const again = await agent.get('/welcome').set('Accept', HTML);
    expect(again.status).toBe(200);
    expect(again.text).toBe('anonymous');
  });

  test('without oxdAuth() before it: a clear error naming what to add', async () => {
    const agent = agentFor(framework, newSite());
    const page = await agent.get('/bare').set('Accept', 'application/json');
    expect(page.status).toBe(500);
    expect(JSON.stringify(page.body)).toContain('add app.use(oxdAuth(...))');
  });
});
