import {
  ERROR_CODES,
  OxdConfigError,
  oxdAuth,
  requireAuth,
  claimEquals,
  claimIncludes,
  claimCheck,
} from '../../src';
import type { OxdAuthOptions } from '../../src';

const CONFIG = {
  oxd: { host: '127.0.0.1', port: 1 },
  client: {
    opHost: 'https://127.0.0.1:2',
    authorizationRedirectUri: 'https://app.example/auth/callback/',
    clientFrontchannelLogoutUris: ['https://app.example/frontchannel'],
  },
};

function configError(run: () => unknown): OxdConfigError {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(OxdConfigError);
    return err as OxdConfigError;
  }
  throw new Error('expected an OxdConfigError');
}

describe('oxdAuth options', () => {
  test('factory - derives the callback and front-channel routes from the configured URIs', () => {
    const handler = oxdAuth({ config: CONFIG });
    expect(typeof handler).toBe('function');
    expect(handler.name).toBe('oxdAuth');
    expect(handler.length).toBe(3);
    expect(typeof handler.client.getAuthorizationUrl).toBe('function');
  });

  test.each<[string, Record<string, unknown>, string]>([
    ['an unknown option', { config: CONFIG, routse: {} }, 'routse'],
    ['a missing config', {}, 'config'],
    ['a config of the wrong type', { config: 42 }, 'config'],
    ['an unknown route', { config: CONFIG, routes: { signin: '/signin' } }, 'routes.signin'],
    [
      'a route without a leading slash',
      { config: CONFIG, routes: { login: 'login' } },
      'routes.login',
    ],
    [
      'a protocol-relative route',
      { config: CONFIG, routes: { logout: '//evil' } },
      'routes.logout',
    ],
    ['a route with a query', { config: CONFIG, routes: { login: '/login?x=1' } }, 'routes.login'],
    [
      'a route of the wrong type',
      { config: CONFIG, routes: { callback: true } },
      'routes.callback',
    ],
    ['two routes on one path', { config: CONFIG, routes: { logout: '/login' } }, 'routes.logout'],
    [
      'an off-site post-logout redirect',
      { config: CONFIG, routes: { postLogoutRedirect: 'https://evil.example/' } },
      'routes.postLogoutRedirect',
    ],
    ['routes of the wrong type', { config: CONFIG, routes: '/login' }, 'routes'],
    ['a non-function afterCallback', { config: CONFIG, afterCallback: 'x' }, 'afterCallback'],
    ['a non-function renderError', { config: CONFIG, renderError: {} }, 'renderError'],
    ['a non-function clock', { config: CONFIG, clock: 5 }, 'clock'],
    [
      'a non-boolean errorOnRequired',
      { config: CONFIG, errorOnRequired: 'yes' },
      'errorOnRequired',
    ],
    [
      'an unknown login parameter',
      { config: CONFIG, loginParams: { nonce: 'x' } },
      'loginParams.nonce',
    ],
    [
      'a prompt that is not a string',
      { config: CONFIG, loginParams: { prompt: 1 } },
      'loginParams.prompt',
    ],
    [
      'a scope that is not a list',
      { config: CONFIG, loginParams: { scope: 'email' } },
      'loginParams.scope',
    ],
    [
      'an unknown login query parameter',
      { config: CONFIG, loginQueryParams: ['nonce'] },
      'loginQueryParams',
    ],
    ['a client without the oxd methods', { config: CONFIG, client: {} }, 'client'],
    ['clientOptions of the wrong type', { config: CONFIG, clientOptions: 'x' }, 'clientOptions'],
  ])('factory - throws at start-up for %s, naming it', (_name, options, key) => {
    const err = configError(() => oxdAuth(options as unknown as OxdAuthOptions));
    expect(err.key).toBe(key);
    expect(err.code).toBe(ERROR_CODES.CONFIG_INVALID);
    expect(err.message).toContain(key);
  });

  test('factory - passes on the configuration error naming the bad setting', () => {
    const err = configError(() =>
      oxdAuth({ config: { oxd: CONFIG.oxd, client: { opHost: 'https://127.0.0.1:2' } } }),
    );
    expect(err.key).toContain('authorization_redirect_uri');
  });

  test('factory - reports an unreadable configuration file', () => {
    const err = configError(() => oxdAuth('/nonexistent/express-oxd/site.cfg'));
    expect(err.code).toBe(ERROR_CODES.CONFIG_READ_FAILED);
  });

  test('factory - refuses something that is neither a path nor options', () => {
    expect(configError(() => oxdAuth(42 as unknown as string)).key).toBe('config');
  });

  test('factory - accepts a callback route turned off and explicit routes', () => {
    expect(() =>
      oxdAuth({
        config: CONFIG,
        routes: {
          login: '/signin',
          logout: '/signout/',
          callback: false,
          frontchannelLogout: false,
          postLogoutRedirect: '/bye',
        },
        loginParams: { scope: ['email'], prompt: 'login', acrValues: ['basic'] },
        loginQueryParams: ['prompt', 'acr_values'],
        errorOnRequired: true,
        clock: () => 0,
      }),
    ).not.toThrow();
  });
});

describe('requireAuth options', () => {
  test.each<[string, Record<string, unknown>, string]>([
    ['an unknown option', { claimEqual: ['a', 'b'] }, 'claimEqual'],
    ['claimEquals without a value', { claimEquals: ['role'] }, 'claimEquals'],
    ['claimEquals with two values', { claimEquals: ['role', 'a', 'b'] }, 'claimEquals'],
    ['claimEquals with an empty name', { claimEquals: ['', 'a'] }, 'claimEquals'],
    ['claimEquals with an object value', { claimEquals: ['role', { a: 1 }] }, 'claimEquals'],
    ['claimIncludes without values', { claimIncludes: ['groups'] }, 'claimIncludes'],
    ['claimIncludes with a non-string name', { claimIncludes: [1, 'a'] }, 'claimIncludes'],
    ['a claimCheck that is not a function', { claimCheck: true }, 'claimCheck'],
    ['a redirect that is not a boolean', { redirect: 'yes' }, 'redirect'],
  ])('throws at start-up for %s', (_name, options, key) => {
    expect(configError(() => requireAuth(options)).key).toBe(key);
  });

  test('the claim helpers validate their arguments the same way', () => {
    expect(configError(() => claimEquals('', 'x')).key).toBe('claimEquals');
    expect(configError(() => claimIncludes('groups')).key).toBe('claimIncludes');
    expect(configError(() => claimCheck('x' as never)).key).toBe('claimCheck');
  });

  test('returns named three-argument middleware', () => {
    for (const middleware of [
      requireAuth(),
      claimEquals('role', 'admin'),
      claimIncludes('groups', 'a', 'b'),
      claimCheck(() => true),
    ]) {
      expect(middleware.length).toBe(3);
      expect(middleware.name).toBe('requireAuth');
    }
  });
});
