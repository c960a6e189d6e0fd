/**
 * The pure parts of the UMA support: resource templates and their lookup, option errors,
 * the decision cache's bounds, and reading UMA challenges.
 */
import { OxdConfigError, readUmaChallenge, umaClaims, umaProtect } from '../../src';
import { DecisionCache } from '../../src/uma/decision-cache';
import { bearerRpt } from '../../src/uma/protect';
import { checkResources, ResourceTable } from '../../src/uma/resources';
import { RESOURCES } from './uma-fixture';

const fail = (key: string, message: string): never => {
  throw new OxdConfigError(`${key}: ${message}`, { key });
};

describe('resource lookup', () => {
  const table = new ResourceTable(checkResources(RESOURCES, fail));

  test.each([
    ['/photos', 'GET', { path: '/photos', method: 'GET' }],
    ['/photos/', 'get', { path: '/photos', method: 'GET' }],
    ['/Photos', 'POST', { path: '/photos', method: 'POST' }],
    ['/photos/42', 'GET', { path: '/photos/:id', method: 'GET' }],
    ['/photos/42', 'HEAD', { path: '/photos/:id', method: 'GET' }],
    ['/photos/42', 'DELETE', undefined],
    ['/photos/42/comments', 'GET', undefined],
    ['/photos//', 'GET', undefined],
    ['/open', 'GET', undefined],
  ])('%s %s', (path, method, expected) => {
    expect(table.match(path, method)).toEqual(expected);
  });

  test('a final * covers everything below', () => {
    const files = new ResourceTable(
      checkResources(
        [{ path: '/files/*', conditions: [{ httpMethods: ['GET'], scopes: ['s'] }] }],
        fail,
      ),
    );
    expect(files.match('/files/a/b/c', 'GET')).toEqual({ path: '/files/*', method: 'GET' });
    expect(files.match('/files', 'GET')).toEqual({ path: '/files/*', method: 'GET' });
    expect(files.match('/other', 'GET')).toBeUndefined();
  });
});

describe('umaProtect options', () => {
  const client = { umaRsProtect: jest.fn(), umaRsCheckAccess: jest.fn() } as never;

  test.each<[string, unknown, unknown, string]>([
    ['no resources', [], { client }, 'resources'],
    [
      'a regular expression path',
      [{ path: '/a/(.*)', conditions: [{ httpMethods: ['GET'], scopes: ['s'] }] }],
      { client },
      'resources[0].path',
    ],
    [
      'a relative path',
      [{ path: 'photos', conditions: [{ httpMethods: ['GET'], scopes: ['s'] }] }],
      { client },
      'resources[0].path',
    ],
    ['no conditions', [{ path: '/a', conditions: [] }], { client }, 'resources[0].conditions'],
    [
      'no scopes',
      [{ path: '/a', conditions: [{ httpMethods: ['GET'] }] }],
      { client },
      'resources[0].conditions[0]',
    ],
    [
      'a bad method',
      [{ path: '/a', conditions: [{ httpMethods: ['GE T'], scopes: ['s'] }] }],
      { client },
      'resources[0].conditions[0]',
    ],
    [
      'a method twice',
      [
        {
          path: '/a',
          conditions: [
            { httpMethods: ['GET'], scopes: ['s'] },
            { httpMethods: ['get'], scopes: ['t'] },
          ],
        },
      ],
      { client },
      'resources[0]',
    ],
    [
      'a bad scope expression',
      [
        {
          path: '/a',
          conditions: [{ httpMethods: ['GET'], scope_expression: { rule: {}, data: [] } }],
        },
      ],
      { client },
      'resources[0].conditions[0]',
    ],
    ['neither client nor config', RESOURCES, {}, 'client'],
    ['a client without UMA methods', RESOURCES, { client: {} }, 'client'],
    ['an unknown option', RESOURCES, { client, cach: false }, 'cach'],
    ['a negative cache size', RESOURCES, { client, cache: { max: -1 } }, 'cache.max'],
    ['a realm with a quote', RESOURCES, { client, realm: 'a"b' }, 'realm'],
  ])('%s - OxdConfigError naming %s', (_name, resources, options, key) => {
    let error: unknown;
    try {
      umaProtect(resources as never, options as never);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(OxdConfigError);
    expect((error as OxdConfigError).key).toBe(key);
    expect((error as OxdConfigError).message).toMatch(/^umaProtect option /);
  });

  test('umaClaims - a missing or relative claims redirect URI is named', () => {
    const rp = { umaRpGetRpt: jest.fn(), umaRpGetClaimsGatheringUrl: jest.fn() } as never;
    expect(() => umaClaims({ client: rp })).toThrow(/umaClaims option claimsRedirectUri/);
    expect(() => umaClaims({ client: rp, claimsRedirectUri: '/uma/claims' })).toThrow(
      OxdConfigError,
    );
    expect(
      umaClaims({ client: rp, claimsRedirectUri: 'https://app.example/uma/claims' }).client,
    ).toBe(rp);
  });
});

test('bearerRpt - only an RFC 6750 token of bounded length is taken', () => {
  expect(bearerRpt('Bearer abc.DEF-_~+/=')).toBe('abc.DEF-_~+/=');
  expect(bearerRpt('bearer  abc')).toBe('abc');
  expect(bearerRpt(undefined)).toBe('');
  expect(bearerRpt('Bearer a b')).toBe('');
  expect(bearerRpt('Bearer é')).toBe('');
  expect(bearerRpt('Basic abc')).toBe('');
  expect(bearerRpt(`Bearer ${'x'.repeat(4096)}`)).toHaveLength(4096);
  expect(bearerRpt(`Bearer ${'x'.repeat(4097)}`)).toBe('');
});

describe('decision cache', () => {
  test('holds at most max entries, dropping the least recently used', () => {
    const cache = new DecisionCache(3, 1000, () => 0);
    for (const key of ['a', 'b', 'c']) cache.add(key);
    expect(cache.has('a')).toBe(true); // a becomes the most recent
    cache.add('d');
    expect(cache.size).toBe(3);
    expect(cache.has('b')).toBe(false);
    expect(['a', 'c', 'd'].map((key) => cache.has(key))).toEqual([true, true, true]);
  });

  test('entries expire after the TTL; keys differ per RPT, resource and method', () => {
    let now = 0;
    const cache = new DecisionCache(10, 1000, () => now);
    const key = DecisionCache.key('rpt-1', '/photos', 'GET');
    cache.add(key);
    expect(cache.has(DecisionCache.key('rpt-2', '/photos', 'GET'))).toBe(false);
    expect(cache.has(DecisionCache.key('rpt-1', '/photos', 'POST'))).toBe(false);
    expect(cache.has(DecisionCache.key('rpt-1', '/photos/:id', 'GET'))).toBe(false);
    now = 999;
    expect(cache.has(key)).toBe(true);
    now = 1000;
    expect(cache.has(key)).toBe(false);
    expect(cache.size).toBe(0);
  });
});

describe('readUmaChallenge', () => {
  test.each<[string, string | string[], unknown]>([
    [
      "oxd's layout",
      'UMA realm="rs",as_uri="https://as.example",error="insufficient_scope",ticket="016f84e8-f9b9-11e0-bd6f-0021cc6004de"',
      {
        realm: 'rs',
        as_uri: 'https://as.example',
        error: 'insufficient_scope',
        ticket: '016f84e8-f9b9-11e0-bd6f-0021cc6004de',
      },
    ],
    [
      'spaces and a token value (UMA 2.0 Grant §3.2 example)',
      'UMA realm="example", as_uri="https://as.example.com", ticket=016f84e8',
      { realm: 'example', as_uri: 'https://as.example.com', ticket: '016f84e8' },
    ],
    [
      'after a Bearer challenge',
      'Bearer realm="api", UMA as_uri="https://as", ticket="t1"',
      { as_uri: 'https://as', ticket: 't1' },
    ],
    ['in a repeated header', ['Basic realm="x"', 'uma ticket="t2"'], { ticket: 't2' }],
    ['escaped quotes', 'UMA realm="a\\"b",ticket="t3"', { realm: 'a"b', ticket: 't3' }],
    ['no ticket', 'UMA realm="rs",as_uri="https://as"', undefined],
    ['a ticket with spaces', 'UMA ticket="a b"', undefined],
    ['only Bearer', 'Bearer error="invalid_token"', undefined],
    ['unterminated quote', 'UMA ticket="abc', undefined],
    ['garbage', '=,,"', undefined],
  ])('%s', (_name, header, expected) => {
    expect(readUmaChallenge(header)).toEqual(expected);
  });
});
