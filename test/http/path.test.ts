/**
 * The one path function every path match of the middleware goes through: request targets as
 * Express and `express.static` (`send`) see them, and what cannot be normalised refused.
 */
import {
  originFormTarget,
  requestPath,
  routePathOf,
  routePathOfRequest,
} from '../../src/http/path';

describe('requestPath', () => {
  test.each([
    ['/api/photos', '/api/photos'],
    ['/api/photos?x=1#y', '/api/photos'],
    ['/api/photos/', '/api/photos/'],
    ['/api/photos//1.json', '/api/photos/1.json'],
    ['//api///photos', '/api/photos'],
    ['/api/photos/./1.json', '/api/photos/1.json'],
    ['/api/photos/%2e/1.json', '/api/photos/1.json'],
    ['/api/photos/%2E/1.json', '/api/photos/1.json'],
    ['/api/open/../photos/1.json', '/api/photos/1.json'],
    ['/api/open/%2e%2e/photos/1.json', '/api/photos/1.json'],
    ['/api/open/.%2E/photos', '/api/photos'],
    ['/api/%70hotos', '/api/photos'],
    ['/api/photos/.', '/api/photos/'],
    ['/api/photos/x/..', '/api/photos/'],
    ['/caf%C3%A9', '/café'],
    ['http://127.0.0.1:3000/api/photos', '/api/photos'],
    ['HTTPS://host/api/photos/./1.json?x', '/api/photos/1.json'],
    ['http://host', '/'],
    ['http://host?x=1', '/'],
    ['', '/'],
    [undefined, '/'],
  ])('%s -> %s', (target, path) => {
    expect(requestPath(target)).toBe(path);
  });

  test.each([
    ['an encoded slash', '/api/photos/%2f1.json'],
    ['an encoded slash, upper case', '/api/photos%2F1.json'],
    ['a malformed escape', '/api/photos/%zz'],
    ['an escape of invalid UTF-8', '/api/photos/%C3'],
    ['a NUL', '/api/photos/%00.json'],
    ['.. above the root', '/../api/photos'],
    ['encoded .. above the root', '/%2e%2e/photos'],
    ['the asterisk form', '*'],
    ['another scheme', 'ftp://host/api/photos'],
    ['a relative target', 'api/photos'],
  ])('%s is refused', (_label, target) => {
    expect(requestPath(target)).toBeUndefined();
  });
});

test('route paths and request paths compare in one form', () => {
  expect(routePathOf('/login/')).toBe('/login');
  expect(routePathOf('/caf%C3%A9')).toBe('/café');
  expect(routePathOfRequest('http://host/caf%c3%a9/?x')).toBe('/café');
  expect(routePathOfRequest('//login/.')).toBe('/login');
  expect(routePathOfRequest('/%2f')).toBeUndefined();
});

test('a request path is percent-decoded once, as Express decodes it', () => {
  expect(routePathOfRequest('/log%2569n')).toBe('/log%69n');
  expect(routePathOfRequest('/x%2525')).toBe('/x%25');
  expect(routePathOfRequest('/x%2525/')).toBe('/x%25');
  expect(routePathOfRequest('/')).toBe('/');
});

test('originFormTarget: the target as sent, without scheme and host; refused when the path is', () => {
  expect(originFormTarget('/profile?tab=1')).toBe('/profile?tab=1');
  expect(originFormTarget('http://host:80/profile?tab=1#x')).toBe('/profile?tab=1');
  expect(originFormTarget('http://host?tab=1')).toBe('/?tab=1');
  expect(originFormTarget('/a/%2f')).toBeUndefined();
  expect(originFormTarget(undefined)).toBeUndefined();
});
