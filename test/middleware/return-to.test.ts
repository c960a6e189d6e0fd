import fc from 'fast-check';
import { isSafeReturnTo, safeReturnTo } from '../../src/http/return-to';

describe('returnTo validation', () => {
  test.each([
    ['/'],
    ['/profile'],
    ['/a/b/c?x=1&y=two#section'],
    ['/search?q=%20spaced%20'],
    ['/path%2Fwith%2Fencoded%2Fslashes'],
    ['/files/report.pdf'],
    ['/javascript:alert(1)'],
    ['/a//b'],
  ])('accepts the same-origin path %j', (value) => {
    expect(isSafeReturnTo(value)).toBe(true);
    expect(safeReturnTo(value)).toBe(value);
  });

  test.each([
    ['protocol-relative', '//evil.example'],
    ['protocol-relative with path', '//evil.example/path'],
    ['triple slash', '///evil.example'],
    ['slash backslash', '/\\evil.example'],
    ['backslash slash', '\\/evil.example'],
    ['double backslash', '\\\\evil.example'],
    ['backslash later in the path', '/a\\b'],
    ['absolute https URL', 'https://evil.example/'],
    ['absolute http URL', 'http://evil.example'],
    ['javascript scheme', 'javascript:alert(1)'],
    ['data scheme', 'data:text/html,hi'],
    ['relative path without leading slash', 'profile'],
    ['empty string', ''],
    ['tab between slashes', '/\t/evil.example'],
    ['newline between slashes', '/\n/evil.example'],
    ['carriage return', '/\r\nLocation: https://evil.example'],
    ['NUL byte', '/a\u0000b'],
    ['DEL', '/a\u007fb'],
    ['C1 control', '/a\u0085b'],
    ['encoded second slash', '/%2Fevil.example'],
    ['encoded second slash, lower case', '/%2fevil.example'],
    ['both slashes encoded', '%2F%2Fevil.example'],
    ['encoded backslash', '/%5Cevil.example'],
    ['encoded backslash, lower case', '/%5cevil.example'],
    ['double-encoded slash', '/%252Fevil.example'],
    ['triple-encoded slash', '/%25252F%25252Fevil.example'],
    ['double-encoded backslash', '/%255Cevil.example'],
    ['encoded tab', '/%09/evil.example'],
    ['encoded newline', '/%0A/evil.example'],
    ['double-encoded CRLF', '/%250D%250ALocation:%20x'],
    ['encoded NUL', '/%00'],
    ['malformed percent-encoding', '/%E0%A4%A'],
    ['lone percent sign', '/100%'],
    ['encoded many times over', `/${'%25'.repeat(8)}2F`],
    ['too long', `/${'a'.repeat(5000)}`],
  ])('rejects %s (%j)', (_name, value) => {
    expect(isSafeReturnTo(value)).toBe(false);
    expect(safeReturnTo(value)).toBe('/');
    expect(safeReturnTo(value, '/home')).toBe('/home');
  });

  test.each([[undefined], [null], [42], [['/a']], [{ toString: () => '/a' }]])(
    'rejects the non-string %p',
    (value) => {
      expect(isSafeReturnTo(value)).toBe(false);
      expect(safeReturnTo(value)).toBe('/');
    },
  );

  test('percent-encodes characters that cannot go into a Location header', () => {
    expect(safeReturnTo('/caf\u00e9 menu')).toBe('/caf%C3%A9%20menu');
    expect(safeReturnTo('/\u65e5\u672c')).toBe('/%E6%97%A5%E6%9C%AC');
    expect(safeReturnTo('/emoji\u{1F600}')).toBe('/emoji%F0%9F%98%80');
  });

  test('falls back for a lone surrogate, which cannot be encoded', () => {
    expect(safeReturnTo('/a\ud800b')).toBe('/');
  });
});

describe('returnTo validation, generated inputs', () => {
  const ORIGIN = 'https://app.example';
  const fragments = fc.constantFrom(
    '/',
    '//',
    '\\',
    '%2F',
    '%2f',
    '%5C',
    '%25',
    '%09',
    '%0A',
    '\t',
    '\n',
    'evil.example',
    'https:',
    'javascript:',
    '@',
    '.',
    '..',
    '?',
    '#',
    'a',
    '%',
    ':',
    ' ',
  );
  const attempts = fc.array(fragments, { maxLength: 8 }).map((parts) => parts.join(''));

  test('whatever is accepted stays on the same origin once a browser resolves it', () => {
    fc.assert(
      fc.property(fc.oneof(attempts, fc.string()), (value) => {
        const target = safeReturnTo(value);
        // Browsers resolve Location against the page; that is what an attacker relies on.
        const resolved = new URL(target, `${ORIGIN}/current/page`);
        expect(resolved.origin).toBe(ORIGIN);
        // and no decoded form of it starts another authority
        let current = target;
        for (let i = 0; i < 6; i += 1) {
          expect(current.startsWith('//')).toBe(false);
          expect(current.startsWith('/\\')).toBe(false);
          const decoded = decodeURIComponent(current);
          if (decoded === current) break;
          current = decoded;
        }
      }),
      { numRuns: 2000 },
    );
  });
});
