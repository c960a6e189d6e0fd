/**
 * `getLoginState` / `afterCallback(req, res, session, state)`: application state carried
 * through the login, checked (plain JSON, size-limited) before anything goes to oxd.
 * Express 5, Express 4 and Connect, against the local OP and oxd.
 */
import request from 'supertest';
import { OxdConfigError, oxdAuth, type AfterCallback, type GetLoginState } from '../../src';
import { useLocalStack } from '../helpers/local-stack';
import { capturingLogger, type CapturingLogger } from '../helpers/capture-logger';
import { submitOpLogin } from '../../src/testing/op-login';
import { buildApp, FRAMEWORKS, type Framework } from '../fixtures/apps';
import {
  appPath,
  clientFor,
  configFor,
  firstUser,
  HTML,
  logIn,
  type CountingTransport,
} from '../helpers/stack-fixture';

const stack = useLocalStack();
const closers: (() => Promise<void>)[] = [];

afterAll(async () => {
  await Promise.all(closers.map((close) => close()));
});

function appWith(
  framework: Framework,
  getLoginState: GetLoginState,
  afterCallback: AfterCallback = (_req, _res, session) => session,
): {
  agent: ReturnType<typeof request.agent>;
  counter: CountingTransport;
  logger: CapturingLogger;
} {
  const { client, counter } = clientFor(stack, 'socket');
  const logger = capturingLogger();
  closers.push(() => client.close());
  const handler = oxdAuth({
    config: configFor(stack, 'socket'),
    client,
    getLoginState,
    afterCallback,
    logger,
  });
  return { agent: request.agent(buildApp(framework, handler)), counter, logger };
}

describe.each(FRAMEWORKS)('%s', (framework) => {
  test('the state returned at the start reaches afterCallback; returnTo stays as it was', async () => {
    const seen: unknown[] = [];
    const { agent } = appWith(
      framework,
      (req, options) => ({
        cart: 'c-42',
        lang: req.headers['accept-language'] ?? null,
        asked: { returnTo: options.returnTo ?? null, prompt: options.prompt ?? null },
      }),
      (_req, _res, session, state) => {
        seen.push(state);
        return { ...session, claims: { ...session.claims, cart: String(state?.cart) } };
      },
    );
    await agent.get('/').set('Accept-Language', 'fr');
    const start = await agent.get('/start').set('Accept', HTML).set('Accept-Language', 'fr');
    expect(start.status).toBe(302);
    const callback = await submitOpLogin(
      start.headers.location as string,
      firstUser(stack),
      stack.op.ca,
    );
    const back = await agent.get(appPath(callback)).set('Accept', HTML);
    expect(back.headers.location).toBe('/profile');
    expect(seen).toEqual([
      { cart: 'c-42', lang: 'fr', asked: { returnTo: '/profile', prompt: 'login' } },
    ]);
    const profile = await agent.get('/profile').set('Accept', HTML);
    expect(profile.body.user.cart).toBe('c-42');
  });

  test('without getLoginState afterCallback receives undefined', async () => {
    const seen: unknown[] = [];
    const { client } = clientFor(stack, 'socket');
    closers.push(() => client.close());
    const handler = oxdAuth({
      config: configFor(stack, 'socket'),
      client,
      afterCallback: (_req, _res, session, state) => {
        seen.push(state);
        return session;
      },
    });
    const agent = request.agent(buildApp(framework, handler));
    expect((await logIn(agent, stack)).status).toBe(302);
    expect(seen).toEqual([undefined]);
  });

  test.each<[string, () => unknown, RegExp]>([
    ['a date', () => ({ when: new Date() }), /state\.when is not/],
    ['a function', () => ({ call: () => 1 }), /state\.call is not/],
    ['undefined inside a list', () => ({ list: [1, undefined] }), /state\.list\[1\] is not/],
    ['a Map', () => ({ map: new Map() }), /state\.map is not/],
    ['NaN', () => ({ n: Number.NaN }), /state\.n is not/],
    ['a string', () => 'cart', /must return an object/],
    ['too much', () => ({ blob: 'x'.repeat(3000) }), /returned 3011 bytes of JSON; at most 2048/],
  ])('refuses %s before asking oxd, naming the hook', async (_name, state, message) => {
    const { agent, counter, logger } = appWith(framework, state as GetLoginState);
    const page = await agent.get('/login').set('Accept', 'application/json');
    expect(page.status).toBe(500);
    // A mistake of the application's: logged as the server-side failure it is.
    expect(logger.summary()).toEqual([['error', 'OXD_CONFIG_INVALID', 'login', 500, undefined]]);
    expect(page.body.error_description).toMatch(/^getLoginState /);
    expect(page.body.error_description).toMatch(message);
    expect(counter.total()).toBe(0);
  });
});

describe('getLoginState option', () => {
  const CONFIG = {
    oxd: { host: '127.0.0.1', port: 1 },
    client: { opHost: 'https://127.0.0.1:2', authorizationRedirectUri: 'https://app.example/cb' },
  };

  test.each<[string, Record<string, unknown>, string]>([
    [
      'a non-function',
      { getLoginState: { cart: 1 }, afterCallback: () => ({}) },
      'must be a function',
    ],
    [
      'a hook without afterCallback',
      { getLoginState: () => ({}) },
      'needs afterCallback, which receives the state it returns',
    ],
  ])('refuses %s at start-up', (_name, options, message) => {
    let thrown: unknown;
    try {
      oxdAuth({ config: CONFIG, ...options } as never);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(OxdConfigError);
    expect((thrown as OxdConfigError).key).toBe('getLoginState');
    expect((thrown as Error).message).toBe(`oxdAuth option getLoginState: ${message}`);
  });
});
