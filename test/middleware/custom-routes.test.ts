/**
 * Renamed login, logout and callback routes, requested (not only accepted at start-up), and
 * `routes.callback: false` with `req.oxd.callback()` on the application's own route.
 * Express 5, Express 4 and Connect, against the local OP and oxd.
 */
import request from 'supertest';
import { oxdAuth, type OxdAuthHandler, type OxdAuthRoutes } from '../../src';
import { useLocalStack } from '../helpers/local-stack';
import { buildApp, FRAMEWORKS, type Framework } from '../fixtures/apps';
import { APP_ORIGIN, appPath, configFor, HTML, startAndSignIn } from '../helpers/stack-fixture';

const USER_SUB = '248289761001';
const JSON_ACCEPT = 'application/json';

const stack = useLocalStack();
const handlers: OxdAuthHandler[] = [];

afterAll(async () => {
  await Promise.all(handlers.map((handler) => handler.client.close()));
});

/** A site of its own whose OP redirects back to `callbackPath`. */
function agentFor(framework: Framework, callbackPath: string, routes: OxdAuthRoutes) {
  const base = configFor(stack, 'socket');
  const handler = oxdAuth({
    config: {
      oxd: base.oxd,
      client: { ...base.client, authorizationRedirectUri: `${APP_ORIGIN}${callbackPath}` },
    },
    routes,
  });
  handlers.push(handler);
  return request.agent(buildApp(framework, handler));
}

describe.each(FRAMEWORKS)('%s', (framework) => {
  test('renamed login, callback and logout routes are the ones served', async () => {
    const agent = agentFor(framework, '/auth/return', {
      login: '/auth/signin',
      logout: '/auth/signout',
      callback: '/auth/return',
    });
    // The default paths are the application's again (nothing there: 404).
    expect((await agent.get('/login').set('Accept', HTML)).status).toBe(404);
    expect((await agent.get('/logout').set('Accept', HTML)).status).toBe(404);
    // requireAuth sends browsers to the renamed login route.
    const guarded = await agent.get('/profile').set('Accept', HTML);
    expect(guarded.headers.location).toBe('/auth/signin?returnTo=%2Fprofile');

    const callback = await startAndSignIn(agent, stack, '/auth/signin?returnTo=%2Fprofile');
    expect(callback.pathname).toBe('/auth/return');
    const back = await agent.get(appPath(callback)).set('Accept', HTML);
    expect(back.status).toBe(302);
    expect(back.headers.location).toBe('/profile');
    expect((await agent.get('/api/me').set('Accept', JSON_ACCEPT)).body).toEqual({
      sub: USER_SUB,
    });

    const out = await agent.get('/auth/signout').set('Accept', HTML);
    expect(out.status).toBe(302);
    expect(new URL(out.headers.location as string).origin).toBe(stack.op.issuer);
    expect((await agent.get('/api/me').set('Accept', JSON_ACCEPT)).status).toBe(401);
  });

  test('routes.callback false: req.oxd.callback() completes the login on the app route', async () => {
    const agent = agentFor(framework, '/app-callback', { callback: false });
    const callback = await startAndSignIn(agent, stack, '/login?returnTo=%2Fprofile');
    expect(callback.pathname).toBe('/app-callback');
    const back = await agent.get(appPath(callback)).set('Accept', HTML);
    expect(back.status).toBe(302);
    expect(back.headers.location).toBe('/profile');
    expect((await agent.get('/api/me').set('Accept', JSON_ACCEPT)).body).toEqual({
      sub: USER_SUB,
    });

    // Its returnTo option overrides the login's; a foreign one is ignored.
    const other = await startAndSignIn(agent, stack, '/login?returnTo=%2Fprofile');
    const goTo = await agent.get(`${appPath(other)}&goTo=%2Fown`).set('Accept', HTML);
    expect(goTo.headers.location).toBe('/own');
    const third = await startAndSignIn(agent, stack, '/login?returnTo=%2Fprofile');
    const foreign = await agent
      .get(`${appPath(third)}&goTo=${encodeURIComponent('https://evil.example/')}`)
      .set('Accept', HTML);
    expect(foreign.headers.location).toBe('/profile');

    // A replayed callback is refused as on the built-in route.
    const replay = await agent.get(appPath(callback)).set('Accept', JSON_ACCEPT);
    expect(replay.status).toBe(302);
    expect(replay.headers.location).toBe('/');
  });

  test('a route path escaped twice is not the route: /log%2569n starts no login', async () => {
    const agent = agentFor(framework, '/callback', {});
    const plain = await agent.get('/login').set('Accept', HTML);
    expect(plain.status).toBe(302);
    expect(new URL(plain.headers.location as string).origin).toBe(stack.op.issuer);
    // Express decodes a path once: this is the path `/log%69n`, which the app does not serve.
    const twice = await agent.get('/log%2569n').set('Accept', HTML);
    expect(twice.status).toBe(404);
    expect(twice.headers.location).toBeUndefined();
  });

  test('routes.callback false: the middleware no longer answers the configured path', async () => {
    const agent = agentFor(framework, '/callback', { callback: false });
    const callback = await startAndSignIn(agent, stack);
    expect((await agent.get(appPath(callback)).set('Accept', HTML)).status).toBe(404);
    expect((await agent.get('/api/me').set('Accept', JSON_ACCEPT)).status).toBe(401);
  });
});
