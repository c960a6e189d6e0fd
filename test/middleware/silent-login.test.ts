/**
 * `silentLogin`: one `prompt=none` try per browser session for anonymous visitors of HTML
 * pages, against the local OP and oxd, in Express 5, Express 4 and Connect.
 */
import express5 from 'express';
import session from 'express-session';
import request from 'supertest';
import { oxdAuth } from '../../src';
import { useLocalStack } from '../helpers/local-stack';
import { OpCookieJar } from '../../src/testing/op-login';
import { buildApp, express4, FRAMEWORKS, type Framework } from '../fixtures/apps';
import {
  clientFor,
  configFor,
  HTML,
  logIn,
  silentRoundTrip,
  type Agent,
} from '../helpers/stack-fixture';

const USER_SUB = '248289761001';

const stack = useLocalStack();
const closers: (() => Promise<void>)[] = [];

afterAll(async () => {
  await Promise.all(closers.map((close) => close()));
});

function agentFor(framework: Framework, silentLogin = true, site = newSite()): Agent {
  const client = site;
  const handler = oxdAuth({ config: configFor(stack, 'socket'), client, silentLogin });
  return request.agent(buildApp(framework, handler));
}

/** A client of its own site (a client at the OP that no user has consented to yet). */
function newSite() {
  const { client } = clientFor(stack, 'socket');
  closers.push(() => client.close());
  return client;
}

describe.each(FRAMEWORKS)('%s', (framework) => {
  test('without an OP session the visitor goes on anonymously, once, without an error page', async () => {
    const agent = agentFor(framework);
    // API clients are never redirected.
    const api = await agent.get('/').set('Accept', 'application/json');
    expect(api.status).toBe(200);

    const { first, authorize, back, callback } = await silentRoundTrip(agent, stack, '/?page=1');
    expect(first.status).toBe(302);
    expect(authorize.origin).toBe(stack.op.issuer);
    expect(authorize.searchParams.get('prompt')).toBe('none');
    expect(back.searchParams.get('error')).toBe('login_required');
    expect(callback.status).toBe(302);
    expect(callback.headers.location).toBe('/?page=1');

    // No second try in this browser session: no loop.
    for (let i = 0; i < 3; i += 1) {
      const page = await agent.get('/?page=1').set('Accept', HTML);
      expect(page.status).toBe(200);
      expect(page.text).toBe('home');
    }
  });

  test('with an OP session the visitor comes back logged in without seeing a page', async () => {
    // The user logged in to this site before (the OP has the consent) and is still logged
    // in at the OP; this browser session at the site is new.
    const site = newSite();
    const jar = new OpCookieJar();
    expect((await logIn(agentFor(framework, false, site), stack, '/login', jar)).status).toBe(302);

    const agent = agentFor(framework, true, site);
    const { first, back, callback } = await silentRoundTrip(agent, stack, '/', jar);
    expect(first.status).toBe(302);
    expect(back.searchParams.get('code')).toBeTruthy();
    expect(callback.headers.location).toBe('/');
    expect((await agent.get('/').set('Accept', HTML)).text).toBe(`home, logged in as ${USER_SUB}`);

    // A local logout is not undone by a silent login on the next page.
    const logout = await agent.get('/app-logout?idpLogout=false').set('Accept', HTML);
    expect(logout.status).toBe(302);
    const after = await agent.get('/').set('Accept', HTML);
    expect(after.status).toBe(200);
    expect(after.text).toBe('home');
  });

  test('off by default', async () => {
    const page = await agentFor(framework, false).get('/').set('Accept', HTML);
    expect(page.status).toBe(200);
  });
});

describe.each([
  ['express5', express5],
  ['express4', express4],
] as const)('%s behind a TLS-terminating proxy', (_name, makeExpress) => {
  function silentCookie(trustProxy: boolean, forwardedProto: string | undefined) {
    const app = makeExpress();
    if (trustProxy) app.set('trust proxy', 'loopback');
    app.use(session({ secret: 'silent cookie test', resave: false, saveUninitialized: false }));
    app.use(oxdAuth({ config: configFor(stack, 'socket'), client: newSite(), silentLogin: true }));
    app.get('/', (_req, res) => res.send('home'));
    const call = request(app).get('/').set('Accept', HTML);
    if (forwardedProto) call.set('X-Forwarded-Proto', forwardedProto);
    return call.then((answer) => {
      expect(answer.status).toBe(302);
      const cookies = [answer.headers['set-cookie'] ?? []].flat() as string[];
      return cookies.find((cookie) => cookie.startsWith('express-oxd.silent='));
    });
  }

  test('with trust proxy and X-Forwarded-Proto: https, the silent-login cookie is Secure', async () => {
    expect(await silentCookie(true, 'https')).toMatch(/; Secure(;|$)/);
  });

  test('without trust proxy, or over plain http, it is not (the header is not believed)', async () => {
    expect(await silentCookie(false, 'https')).not.toMatch(/Secure/);
    expect(await silentCookie(true, undefined)).not.toMatch(/Secure/);
  });
});
