/**
 * More authorization request parameters (login_hint, max_age, ui_locales, any other), as
 * defaults, per call and from the login route's query when allowed, through oxd 3.x (socket)
 * and 4.x (HTTPS), in Express 5, Express 4 and Connect, against the local OP.
 */
import request from 'supertest';
import { OxdConfigError, oxdAuth, type OxdAuthOptions } from '../../src';
import { useLocalStack } from '../helpers/local-stack';
import { OpCookieJar, resumeOpSession } from '../../src/testing/op-login';
import { buildApp, FRAMEWORKS } from '../fixtures/apps';
import {
  appPath,
  clientFor,
  configFor,
  HTML,
  logIn,
  type Agent,
  type TransportName,
} from '../helpers/stack-fixture';

const stack = useLocalStack();
const closers: (() => Promise<void>)[] = [];

afterAll(async () => {
  await Promise.all(closers.map((close) => close()));
});

function agentFor(
  framework: (typeof FRAMEWORKS)[number],
  transport: TransportName,
  options: Partial<OxdAuthOptions> = {},
): Agent {
  const { client } = clientFor(stack, transport);
  closers.push(() => client.close());
  const handler = oxdAuth({ config: configFor(stack, transport), client, ...options });
  return request.agent(buildApp(framework, handler));
}

describe.each(['socket', 'https4'] as const)('over %s', (transport) => {
  test.each(FRAMEWORKS)(
    '%s - defaults, allowed query parameters and per-call parameters reach the OP',
    async (framework) => {
      const agent = agentFor(framework, transport, {
        loginParams: { uiLocales: ['fr', 'en'], params: { audience: 'shop' } },
        loginQueryParams: ['login_hint', 'max_age'],
      });
      const jar = new OpCookieJar();
      expect((await logIn(agent, stack, '/login', jar)).status).toBe(302);

      const fromQuery = await agent
        .get('/login?login_hint=jane&max_age=0&foo=bar&redirect_uri=https://evil.example')
        .set('Accept', HTML);
      const url = new URL(fromQuery.headers.location as string);
      expect(url.origin).toBe(stack.op.issuer);
      expect(url.searchParams.get('login_hint')).toBe('jane');
      expect(url.searchParams.get('max_age')).toBe('0');
      expect(url.searchParams.get('ui_locales')).toBe('fr en');
      expect(url.searchParams.get('audience')).toBe('shop');
      expect(url.searchParams.has('foo')).toBe(false);
      expect(url.searchParams.get('redirect_uri')).toBe('https://app.example/callback');
      expect(url.searchParams.has('custom_response_headers')).toBe(false);
      // max_age=0: the OP asks for the password although its session is fresh.
      await expect(resumeOpSession(url.href, stack.op.ca, jar)).rejects.toThrow(/login form/);

      const perCall = await agent.get('/start-params').set('Accept', HTML);
      const called = new URL(perCall.headers.location as string);
      expect(called.searchParams.get('login_hint')).toBe('john');
      expect(called.searchParams.get('max_age')).toBe('0');
      expect(called.searchParams.get('ui_locales')).toBe('de');
      expect(called.searchParams.get('campaign')).toBe('spring');
      expect(called.searchParams.get('audience')).toBe('shop');

      // Without max_age the same OP session logs the user in silently.
      const plain = await agent.get('/login').set('Accept', HTML);
      const back = await resumeOpSession(plain.headers.location as string, stack.op.ca, jar);
      expect((await agent.get(appPath(back)).set('Accept', HTML)).status).toBe(302);
    },
  );
});

test('query parameters that are not allowed stay out', async () => {
  const agent = agentFor('express5', 'socket');
  const login = await agent
    .get('/login?login_hint=jane&max_age=0&ui_locales=de')
    .set('Accept', HTML);
  const url = new URL(login.headers.location as string);
  for (const name of ['login_hint', 'max_age', 'ui_locales']) {
    expect(url.searchParams.has(name)).toBe(false);
  }
});

test('reserved or malformed parameter names are refused at start-up', () => {
  const config = configFor(stack, 'socket');
  expect(() => oxdAuth({ config, loginParams: { params: { state: 'x' } } })).toThrow(
    OxdConfigError,
  );
  expect(() => oxdAuth({ config, loginParams: { maxAge: -1 } })).toThrow(/maxAge/);
  expect(() => oxdAuth({ config, loginQueryParams: ['redirect_uri'] })).toThrow(/loginQueryParams/);
  expect(() => oxdAuth({ config, loginQueryParams: ['bad name'] })).toThrow(/loginQueryParams/);
});
