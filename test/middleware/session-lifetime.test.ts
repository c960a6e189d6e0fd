/**
 * How long a login lasts: `absoluteDuration` ends it that long after it began, however
 * active the user is; an ended login is a logged-out one (browsers to the login route, API
 * clients 401). Express 5, Express 4 and Connect, against the local OP and oxd.
 */
import session from 'express-session';
import request from 'supertest';
import { OxdConfigError, oxdAuth, type OxdAuthHandler, type OxdAuthOptions } from '../../src';
import { resolveOptions } from '../../src/middleware/options';
import { loginExpiresAt, type StoredLogin } from '../../src/session/login';
import { buildApp, FRAMEWORKS } from '../fixtures/apps';
import { useLocalStack } from '../helpers/local-stack';
import { clientFor, configFor, HTML, logIn } from '../helpers/stack-fixture';

const HOUR_S = 60 * 60;
const JSON_ACCEPT = 'application/json';
const USER_SUB = '248289761001';

const stack = useLocalStack();
const handlers: OxdAuthHandler[] = [];

afterAll(async () => {
  await Promise.all(handlers.map((handler) => handler.client.close()));
});

type Sessions = Record<string, string>;

/** The stored login of the only session in `store`. */
function storedLogin(store: session.MemoryStore): StoredLogin | undefined {
  const sessions = (store as unknown as { sessions: Sessions }).sessions;
  const values = Object.values(sessions);
  expect(values).toHaveLength(1);
  return (JSON.parse(values[0] as string) as { oxd?: StoredLogin }).oxd;
}

function rewriteLogin(store: session.MemoryStore, change: (login: StoredLogin) => void): void {
  const sessions = (store as unknown as { sessions: Sessions }).sessions;
  const [id] = Object.keys(sessions);
  const stored = JSON.parse(sessions[id as string] as string) as { oxd: StoredLogin };
  change(stored.oxd);
  sessions[id as string] = JSON.stringify(stored);
}

/** An application whose middleware clock runs `offset.ms` ahead of the real one. */
function appWith(framework: (typeof FRAMEWORKS)[number], options: Partial<OxdAuthOptions>) {
  const offset = { ms: 0 };
  const { client } = clientFor(stack, 'socket');
  const handler = oxdAuth({
    config: configFor(stack, 'socket'),
    client,
    clock: () => Date.now() + offset.ms,
    ...options,
  });
  handlers.push(handler);
  const store = new session.MemoryStore();
  const agent = request.agent(buildApp(framework, handler, { store }));
  return { agent, store, offset };
}

describe.each(FRAMEWORKS)('%s: absoluteDuration', (framework) => {
  test('a login ends absoluteDuration after it began: browser to login, API 401', async () => {
    const { agent, store, offset } = appWith(framework, { absoluteDuration: 2 * HOUR_S });
    const before = Date.now();
    expect((await logIn(agent, stack)).status).toBe(302);
    const login = storedLogin(store) as StoredLogin;
    expect(login.startedAt).toBeGreaterThanOrEqual(before);
    expect(login.startedAt).toBeLessThanOrEqual(Date.now());
    expect(loginExpiresAt(login, 2 * HOUR_S * 1000)).toBe(
      (login.startedAt as number) + 2 * HOUR_S * 1000,
    );

    // Half an hour in (the access token is still good): logged in.
    offset.ms = 30 * 60 * 1000;
    expect((await agent.get('/api/me').set('Accept', JSON_ACCEPT)).body).toEqual({
      sub: USER_SUB,
    });
    expect((await agent.get('/').set('Accept', HTML)).text).toBe(`home, logged in as ${USER_SUB}`);

    // Past the two hours, however active the user was: logged out.
    offset.ms = 2 * HOUR_S * 1000 + 1000;
    const api = await agent.get('/api/me').set('Accept', JSON_ACCEPT);
    expect(api.status).toBe(401);
    expect(api.body.code).toBe('OXD_UNAUTHENTICATED');
    const page = await agent.get('/profile').set('Accept', HTML);
    expect(page.status).toBe(302);
    expect(page.headers.location).toBe('/login?returnTo=%2Fprofile');
    expect((await agent.get('/').set('Accept', HTML)).text).toBe('home');
    // The ended login is gone from the session store.
    expect(storedLogin(store)).toBeUndefined();

    // A new login starts a new lifetime.
    expect((await logIn(agent, stack)).status).toBe(302);
    expect((await agent.get('/api/me').set('Accept', JSON_ACCEPT)).status).toBe(200);
  });

  test('a login stored without a start time is bounded from the first request that reads it', async () => {
    const { agent, store, offset } = appWith(framework, { absoluteDuration: HOUR_S });
    await logIn(agent, stack);
    rewriteLogin(store, (login) => {
      delete login.startedAt;
    });
    offset.ms = 20 * 60 * 1000;
    const stampedFrom = Date.now() + offset.ms;
    expect((await agent.get('/api/me').set('Accept', JSON_ACCEPT)).status).toBe(200);
    expect(storedLogin(store)?.startedAt).toBeGreaterThanOrEqual(stampedFrom);

    // 50 minutes after the stamp: still within the hour.
    offset.ms = 70 * 60 * 1000;
    expect((await agent.get('/api/me').set('Accept', JSON_ACCEPT)).status).toBe(200);
    // An hour after the stamp: ended.
    offset.ms = 81 * 60 * 1000;
    expect((await agent.get('/api/me').set('Accept', JSON_ACCEPT)).status).toBe(401);
  });
});

describe('absoluteDuration option', () => {
  const CONFIG = {
    oxd: { host: '127.0.0.1', port: 1 },
    client: { opHost: 'https://127.0.0.1:2', authorizationRedirectUri: 'https://app.example/cb' },
  };

  test('defaults to seven days', () => {
    expect(resolveOptions({ config: CONFIG }).absoluteDurationMs).toBe(7 * 24 * HOUR_S * 1000);
    expect(resolveOptions({ config: CONFIG, absoluteDuration: 60 }).absoluteDurationMs).toBe(
      60_000,
    );
  });

  test.each<[string, unknown]>([
    ['zero', 0],
    ['a negative number', -5],
    ['a string', '3600'],
    ['infinity', Infinity],
    ['false', false],
  ])('refuses %s, naming the option', (_name, absoluteDuration) => {
    let thrown: unknown;
    try {
      oxdAuth({ config: CONFIG, absoluteDuration: absoluteDuration as number });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(OxdConfigError);
    expect((thrown as OxdConfigError).key).toBe('absoluteDuration');
    expect((thrown as Error).message).toBe(
      'oxdAuth option absoluteDuration: must be a number of seconds greater than 0',
    );
  });
});
