/**
 * How long a login lasts: `absoluteDuration` ends it that long after it began, however
 * active the user is, `rollingDuration` after that long unused; an ended login is a
 * logged-out one (browsers to the login route, API clients 401). `clockTolerance` in the
 * access token's expiry and the logout token's `iat` window. Express 5, Express 4 and
 * Connect, against the local OP and oxd.
 */
import session from 'express-session';
import request from 'supertest';
import { OxdConfigError, oxdAuth, type OxdAuthHandler, type OxdAuthOptions } from '../../src';
import { expiredBeyondTolerance, iatOutOfWindow } from '../../src/middleware/clock-tolerance';
import { resolveOptions } from '../../src/middleware/options';
import { createRuntime } from '../../src/middleware/runtime';
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

describe.each(FRAMEWORKS)('%s: rollingDuration', (framework) => {
  test('a login unused for rollingDuration ends; ordinary requests write nothing', async () => {
    const { agent, store, offset } = appWith(framework, { rollingDuration: 10 * 60 });
    await logIn(agent, stack);
    let writes = 0;
    const set = store.set.bind(store);
    store.set = (...args: Parameters<typeof set>) => {
      writes += 1;
      return set(...args);
    };
    const me = async (minutes: number) => {
      offset.ms = minutes * 60 * 1000;
      return (await agent.get('/api/me').set('Accept', JSON_ACCEPT)).status;
    };
    // Used every few minutes: the login goes on past its first ten minutes.
    expect(await me(5)).toBe(200);
    const afterFirstStep = writes;
    expect(afterFirstStep).toBe(1);
    // Within a step (a minute) of the last write: nothing written.
    expect(await me(5.5)).toBe(200);
    expect(await me(5.9)).toBe(200);
    expect(writes).toBe(afterFirstStep);
    expect(await me(14)).toBe(200);
    expect(await me(23)).toBe(200);
    // Eleven minutes unused: ended, browser to login.
    offset.ms = 34 * 60 * 1000;
    const page = await agent.get('/profile').set('Accept', HTML);
    expect(page.status).toBe(302);
    expect(page.headers.location).toBe('/login?returnTo=%2Fprofile');
    expect(await me(34)).toBe(401);
  });

  test('without rollingDuration a login unused for days goes on (until absoluteDuration)', async () => {
    const { agent, store, offset } = appWith(framework, {});
    await logIn(agent, stack);
    offset.ms = 3 * 24 * HOUR_S * 1000;
    const page = await agent.get('/profile').set('Accept', HTML);
    // The access token expired meanwhile and was refreshed: still logged in.
    expect(page.status).toBe(200);
    expect(storedLogin(store)?.seenAt).toBeUndefined();
  });
});

describe.each(FRAMEWORKS)('%s: clockTolerance', (framework) => {
  test.each([
    [undefined, 60],
    [0, 0],
    [300, 300],
  ])('clockTolerance %s: the access token counts as expired %s s early', async (given, early) => {
    const { agent } = appWith(framework, given === undefined ? {} : { clockTolerance: given });
    const before = Date.now();
    await logIn(agent, stack);
    const after = Date.now();
    const profile = await agent.get('/profile').set('Accept', HTML);
    expect(profile.status).toBe(200);
    // The local OP's access tokens last an hour.
    const expiresAt = profile.body.expiresAt as number;
    expect(expiresAt).toBeGreaterThanOrEqual(before + (HOUR_S - early) * 1000);
    expect(expiresAt).toBeLessThanOrEqual(after + (HOUR_S - early) * 1000);
  });
});

describe('clockTolerance in the logout token checks', () => {
  const CONFIG = {
    oxd: { host: '127.0.0.1', port: 1 },
    client: { opHost: 'https://127.0.0.1:2', authorizationRedirectUri: 'https://app.example/cb' },
  };
  const runtimeWith = (clockTolerance?: number) =>
    createRuntime(
      resolveOptions({
        config: CONFIG,
        ...(clockTolerance === undefined ? {} : { clockTolerance }),
      }),
      () => undefined,
    );

  test('iat: up to the tolerance ahead, up to 4 minutes + the tolerance old', () => {
    const now = 1_800_000_000;
    const byDefault = runtimeWith();
    expect(iatOutOfWindow(byDefault, now + 60, now)).toBe(false);
    expect(iatOutOfWindow(byDefault, now + 61, now)).toBe(true);
    expect(iatOutOfWindow(byDefault, now - 300, now)).toBe(false);
    expect(iatOutOfWindow(byDefault, now - 301, now)).toBe(true);
    const strict = runtimeWith(0);
    expect(iatOutOfWindow(strict, now + 1, now)).toBe(true);
    expect(iatOutOfWindow(strict, now - 240, now)).toBe(false);
    expect(iatOutOfWindow(strict, now - 241, now)).toBe(true);
    const lax = runtimeWith(300);
    expect(iatOutOfWindow(lax, now + 300, now)).toBe(false);
    expect(iatOutOfWindow(lax, now - 540, now)).toBe(false);
    expect(iatOutOfWindow(lax, now - 541, now)).toBe(true);
  });

  test('exp: expired only beyond the tolerance', () => {
    const now = 1_800_000_000;
    expect(expiredBeyondTolerance(runtimeWith(), now - 60, now)).toBe(false);
    expect(expiredBeyondTolerance(runtimeWith(), now - 61, now)).toBe(true);
    expect(expiredBeyondTolerance(runtimeWith(0), now - 1, now)).toBe(true);
  });

  test.each<[string, unknown]>([
    ['a negative number', -1],
    ['more than five minutes', 301],
    ['a string', '60'],
  ])('clockTolerance refuses %s', (_name, clockTolerance) => {
    expect(() => oxdAuth({ config: CONFIG, clockTolerance: clockTolerance as number })).toThrow(
      /^oxdAuth option clockTolerance: must be/,
    );
  });

  test.each<[string, unknown]>([
    ['zero', 0],
    ['true', true],
  ])('rollingDuration refuses %s', (_name, rollingDuration) => {
    expect(() => oxdAuth({ config: CONFIG, rollingDuration: rollingDuration as number })).toThrow(
      'oxdAuth option rollingDuration: must be a number of seconds greater than 0',
    );
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
