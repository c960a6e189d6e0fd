/**
 * What the login flow refuses, each case on its own, against the local OP and oxd: callbacks
 * without, with forged, foreign, expired or replayed state; OP errors; open redirects
 * through returnTo; and the session-ending paths (front-channel logout, failed refresh).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import session from 'express-session';
import request from 'supertest';
import { ERROR_CODES, oxdAuth, type OxdAuthHandler } from '../../src';
import type { OxdSessionData } from '../../src/session';
import { useLocalStack } from '../helpers/local-stack';
import {
  cancelOpLogin,
  followOpLogout,
  OpCookieJar,
  submitOpLogin,
} from '../../src/testing/op-login';
import { buildApp } from '../fixtures/apps';
import {
  appPath,
  clientFor,
  configFor,
  firstUser,
  HTML,
  logIn,
  sessionCookie,
  startAndSignIn,
  type Agent,
} from '../helpers/stack-fixture';
import { capturingLogger } from '../helpers/capture-logger';

const stack = useLocalStack();

const JSON_ACCEPT = 'application/json';

describe.each(['socket', 'https4'] as const)('over %s', (transport) => {
  /** Added to the real time by the middleware's clock. */
  let clockOffset = 0;
  let auth: OxdAuthHandler;
  let store: session.MemoryStore;
  let app: (req: IncomingMessage, res: ServerResponse) => void;

  beforeAll(() => {
    const { client } = clientFor(stack, transport);
    auth = oxdAuth({
      logger: capturingLogger(),
      config: configFor(stack, transport),
      client,
      clock: () => Date.now() + clockOffset,
      loginQueryParams: ['prompt'],
    });
    store = new session.MemoryStore();
    app = buildApp('express5', auth, { store });
  });

  afterEach(() => {
    clockOffset = 0;
  });

  afterAll(async () => {
    await auth.client.close();
  });

  const newAgent = (): Agent => request.agent(app);

  /** The session id inside a `connect.sid` cookie value (`s:<id>.<signature>`). */
  function sessionIdOf(cookie: string | undefined): string {
    const match = /^s:([^.]+)\./.exec(decodeURIComponent(cookie ?? ''));
    if (!match?.[1]) throw new Error(`not a session cookie: ${cookie}`);
    return match[1];
  }

  async function expectLoggedIn(agent: Agent, expected: boolean): Promise<void> {
    const response = await agent.get('/api/me').set('Accept', JSON_ACCEPT);
    expect(response.status).toBe(expected ? 200 : 401);
  }

  function withoutParam(url: URL, name: string): string {
    const copy = new URL(url);
    copy.searchParams.delete(name);
    return appPath(copy);
  }

  function withParam(url: URL, name: string, value: string): string {
    const copy = new URL(url);
    copy.searchParams.set(name, value);
    return appPath(copy);
  }

  test('callback - rejects a callback without state, and the real one still works', async () => {
    const agent = newAgent();
    const callback = await startAndSignIn(agent, stack);
    const refused = await agent.get(withoutParam(callback, 'state')).set('Accept', HTML);
    expect(refused.status).toBe(400);
    expect(refused.text).toContain(ERROR_CODES.STATE_MISMATCH);
    await expectLoggedIn(agent, false);
    expect((await agent.get(appPath(callback))).status).toBe(302);
    await expectLoggedIn(agent, true);
  });

  test('callback - rejects a forged state', async () => {
    const agent = newAgent();
    const callback = await startAndSignIn(agent, stack);
    const refused = await agent
      .get(withParam(callback, 'state', 'forged-state-value'))
      .set('Accept', JSON_ACCEPT);
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({
      error: 'invalid_state',
      code: ERROR_CODES.STATE_MISMATCH,
    });
    await expectLoggedIn(agent, false);
  });

  test('callback - rejects a state that is not in the session (another browser)', async () => {
    const victim = newAgent();
    const attacker = newAgent();
    await attacker.get('/login').set('Accept', HTML); // the attacker has a session of its own
    const callback = await startAndSignIn(victim, stack);
    const refused = await attacker.get(appPath(callback)).set('Accept', JSON_ACCEPT);
    expect(refused.status).toBe(400);
    expect(refused.body.code).toBe(ERROR_CODES.STATE_MISMATCH);
    await expectLoggedIn(attacker, false);
    // The victim's login is untouched by the attempt.
    expect((await victim.get(appPath(callback))).status).toBe(302);
    await expectLoggedIn(victim, true);
  });

  test('callback - a replayed code and state logs nobody in again', async () => {
    const agent = newAgent();
    const callback = await startAndSignIn(agent, stack);
    expect((await agent.get(appPath(callback))).status).toBe(302);
    // Already logged in (Back button, reload): sent on to `/`, the code is not used again.
    const replay = await agent.get(appPath(callback)).set('Accept', JSON_ACCEPT);
    expect(replay.status).toBe(302);
    expect(replay.headers.location).toBe('/');
    const elsewhere = await newAgent().get(appPath(callback)).set('Accept', JSON_ACCEPT);
    expect(elsewhere.status).toBe(400);
    await expectLoggedIn(agent, true);
  });

  test('callback - lets only one of two simultaneous uses of a callback log in', async () => {
    const agent = newAgent();
    const callback = await startAndSignIn(agent, stack);
    const [first, second] = await Promise.all([
      agent.get(appPath(callback)).set('Accept', JSON_ACCEPT),
      agent.get(appPath(callback)).set('Accept', JSON_ACCEPT),
    ]);
    const statuses = [first.status, second.status].sort();
    expect(statuses[0]).toBe(302);
    expect(statuses[1]).toBeGreaterThanOrEqual(400);
  });

  test('callback - rejects a state older than the pending-login lifetime', async () => {
    const agent = newAgent();
    const callback = await startAndSignIn(agent, stack);
    clockOffset = 11 * 60 * 1000;
    const refused = await agent.get(appPath(callback)).set('Accept', JSON_ACCEPT);
    expect(refused.status).toBe(400);
    expect(refused.body.code).toBe(ERROR_CODES.STATE_MISMATCH);
  });

  test('callback - reports a login cancelled at the OP as OXD_LOGIN_CANCELLED', async () => {
    const agent = newAgent();
    const login = await agent.get('/login').set('Accept', HTML);
    const callback = await cancelOpLogin(login.headers.location as string, stack.op.ca);
    expect(callback.searchParams.get('error')).toBe('access_denied');
    const page = await agent.get(appPath(callback)).set('Accept', HTML);
    expect(page.status).toBe(401);
    expect(page.text).toContain('Login cancelled');
    expect(page.text).toContain(ERROR_CODES.LOGIN_CANCELLED);
    await expectLoggedIn(agent, false);
  });

  test('callback - completes logins started in several tabs of one browser', async () => {
    const agent = newAgent();
    const starts = [];
    for (let i = 0; i < 3; i += 1) {
      starts.push(await agent.get(`/login?returnTo=/tab${i}`).set('Accept', HTML));
    }
    const second = await submitOpLogin(
      starts[1]?.headers.location as string,
      firstUser(stack),
      stack.op.ca,
    );
    const first = await submitOpLogin(
      starts[0]?.headers.location as string,
      firstUser(stack),
      stack.op.ca,
    );
    const done2 = await agent.get(appPath(second));
    expect(done2.headers.location).toBe('/tab1');
    const done1 = await agent.get(appPath(first));
    expect(done1.headers.location).toBe('/tab0');
    await expectLoggedIn(agent, true);
  });

  test('login - keeps at most five logins in progress, dropping the oldest', async () => {
    const agent = newAgent();
    const starts = [];
    for (let i = 0; i < 7; i += 1) {
      starts.push(await agent.get('/login').set('Accept', HTML));
    }
    const oldest = await submitOpLogin(
      starts[0]?.headers.location as string,
      firstUser(stack),
      stack.op.ca,
    );
    expect((await agent.get(appPath(oldest)).set('Accept', JSON_ACCEPT)).status).toBe(400);
    const newest = await submitOpLogin(
      starts[6]?.headers.location as string,
      firstUser(stack),
      stack.op.ca,
    );
    expect((await agent.get(appPath(newest))).status).toBe(302);
  });

  test.each([
    ['//evil.example/'],
    ['/\\evil.example'],
    ['\\\\evil.example'],
    ['https://evil.example/'],
    ['javascript:alert(1)'],
    ['/%2F%2Fevil.example'],
    ['%2F%2Fevil.example'],
    ['/%5Cevil.example'],
    ['/%252F%252Fevil.example'],
    ['/%09/evil.example'],
  ])('login - does not redirect off-site after login for returnTo=%j', async (returnTo) => {
    const agent = newAgent();
    const callback = await startAndSignIn(
      agent,
      stack,
      `/login?returnTo=${encodeURIComponent(returnTo)}`,
    );
    const done = await agent.get(appPath(callback));
    expect(done.status).toBe(302);
    expect(done.headers.location).toBe('/');
  });

  test('login - forwards prompt from the query only when the option allows it', async () => {
    const agent = newAgent();
    const login = await agent.get('/login?prompt=login&acr_values=x').set('Accept', HTML);
    const url = new URL(login.headers.location as string);
    expect(url.searchParams.get('prompt')).toBe('login');
    expect(url.searchParams.get('acr_values')).toBeNull();
  });

  test('login - req.oxd.login() starts a login with the application’s choices', async () => {
    const agent = newAgent();
    const start = await agent.get('/start').set('Accept', HTML);
    expect(start.status).toBe(302);
    const url = new URL(start.headers.location as string);
    expect(url.origin).toBe(stack.op.issuer);
    expect(url.searchParams.get('prompt')).toBe('login');
    const callback = await submitOpLogin(url.href, firstUser(stack), stack.op.ca);
    expect((await agent.get(appPath(callback))).headers.location).toBe('/profile');
  });

  test('frontchannel logout - ends the session when the OP logs the user out elsewhere', async () => {
    const agent = newAgent();
    const jar = new OpCookieJar();
    await logIn(agent, stack, '/login', jar);
    const profile = await agent.get('/profile').set('Accept', JSON_ACCEPT);
    // The OP puts `sid` into ID tokens (and logout requests) only for clients registered
    // with frontchannel_logout_session_required; without it the request carries neither.
    const sid = profile.body.idTokenClaims.sid as string | undefined;

    const wrong = await agent.get(
      `/frontchannel-logout?iss=${encodeURIComponent(stack.op.issuer)}&sid=not-this-session`,
    );
    expect(wrong.status).toBe(200);
    await expectLoggedIn(agent, true);

    // The user logs out at the OP (from another application): the OP's page loads our
    // front-channel logout URI in an iframe, with the user's cookies.
    const { uri } = await auth.client.getLogoutUri({});
    const result = await followOpLogout(uri, stack.op.ca, jar);
    const ours = result.frontchannelLogoutUris.find((url) =>
      url.href.startsWith('https://app.example/frontchannel-logout'),
    );
    expect(ours).toBeDefined();
    expect(ours?.searchParams.get('sid') ?? undefined).toBe(sid);
    const iframe = await agent.get(appPath(ours as URL));
    expect(iframe.status).toBe(200);
    expect(iframe.headers['cache-control']).toBe('no-store');
    // oxd 3.x cannot register front_channel_logout_session_required: the OP sends neither
    // iss nor sid, and such a request (which any site could send) ends nothing.
    await expectLoggedIn(agent, sid === undefined);
  });

  test('requireAuth - treats a refused refresh as logged out', async () => {
    const agent = newAgent();
    const done = await logIn(agent, stack);
    // Spoil the stored refresh token, then let the access token expire.
    const id = sessionIdOf(sessionCookie(done.headers['set-cookie']));
    const stored = await new Promise<session.SessionData & { oxd: OxdSessionData }>(
      (resolve, reject) =>
        store.get(id, (err, data) =>
          err || !data ? reject(err ?? new Error('no session')) : resolve(data as never),
        ),
    );
    stored.oxd.tokens.refresh_token = 'spoiled-refresh-token';
    await new Promise<void>((resolve) => store.set(id, stored, () => resolve()));
    clockOffset = 2 * 60 * 60 * 1000;
    const guarded = await agent.get('/profile').set('Accept', HTML);
    expect(guarded.status).toBe(302);
    expect(guarded.headers.location).toBe('/login?returnTo=%2Fprofile');
    clockOffset = 0;
    const home = await agent.get('/').set('Accept', HTML);
    expect(home.text).toBe('home');
  });
});
