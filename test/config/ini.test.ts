import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OxdConfigError } from '../../src/errors';
import { parseIni } from '../../src/config/ini';

const FIXTURES = join(__dirname, '..', 'fixtures', 'config');
const commented = readFileSync(join(FIXTURES, 'commented.cfg'), 'utf8');
const commentedCrlf = commented.replace(/\n/g, '\r\n');

describe('parseIni', () => {
  it.each([
    ['LF', commented],
    ['CRLF', commentedCrlf],
    ['no final line break', readFileSync(join(FIXTURES, 'no-final-newline.cfg'), 'utf8')],
    ['byte order mark', `\uFEFF${commented}`],
    ['empty text', ''],
    ['only comments', '# one\n; two\n'],
  ])('round trip - gives back the text byte for byte (%s)', (_name, text) => {
    expect(parseIni(text).toString()).toBe(text);
  });

  it('get - reads trimmed values with or without spaces around =', () => {
    const document = parseIni(commented);
    expect(document.get('oxd', 'host')).toBe('localhost');
    expect(document.get('oxd', 'port')).toBe('8099');
    expect(document.get('oxd', 'https_extension')).toBe('false');
    expect(document.get('client', 'scope')).toBe('openid, profile ,email,');
  });

  it('get - returns an empty string for an empty value and undefined for a missing key', () => {
    const document = parseIni(commented);
    expect(document.get('oxd', 'id')).toBe('');
    expect(document.get('client', 'post_logout_redirect_uri')).toBe('');
    expect(document.get('client', 'nope')).toBeUndefined();
    expect(document.get('nope', 'host')).toBeUndefined();
  });

  it('get - matches keys case-insensitively and section names exactly', () => {
    const document = parseIni('[Oxd]\nHost = a\n[oxd]\nhost = b\n');
    expect(document.get('Oxd', 'HOST')).toBe('a');
    expect(document.get('oxd', 'Host')).toBe('b');
  });

  it('get - takes a value as everything after the first =', () => {
    const document = parseIni('[client]\nop_host = https://op.example.com/?a=b;c#d\n');
    expect(document.get('client', 'op_host')).toBe('https://op.example.com/?a=b;c#d');
  });

  it('duplicates - refuses a key set twice in a section, naming both lines, as configparser does', () => {
    const error = captureError(() =>
      parseIni('[extras]\ncolour = blue\nColour: green\n', { name: 'app.cfg' }),
    );
    expect(error).toBeInstanceOf(OxdConfigError);
    expect((error as Error).message).toContain('app.cfg:3: [extras] colour is set a second time');
    expect((error as Error).message).toContain('first on line 2');
  });

  it('duplicates - refuses a section that appears twice, naming both lines', () => {
    const error = captureError(() => parseIni('[oxd]\nhost = a\n\n[oxd]\nport = 1\n'));
    expect(error).toBeInstanceOf(OxdConfigError);
    expect((error as Error).message).toContain('line 4: section [oxd] appears a second time');
    expect((error as Error).message).toContain('first on line 1');
  });

  it('entries and sections - list keys in file order, unknown ones included', () => {
    const document = parseIni(commented);
    expect(document.sections()).toEqual(['oxd', 'extras', 'client']);
    expect([...document.entries('oxd').keys()]).toEqual([
      'host',
      'port',
      'id',
      'https_extension',
      'unknown_oxd_key',
    ]);
  });

  it.each([
    ['a line without =', '[oxd]\nhost localhost\n', 'line 2: expected "key = value"'],
    ['a key before any section', 'host = localhost\n', 'line 1: key outside a section'],
    ['an unclosed header', '[oxd\nhost = a\n', 'line 1: expected a section header'],
    ['an empty header', '[ ]\n', 'line 1: expected a section header'],
    ['an empty key', '[oxd]\n = a\n', 'line 2: expected "key = value"'],
  ])('syntax - rejects %s with the line number', (_name, text, fragment) => {
    const error = captureError(() => parseIni(text, { file: '/x/app.cfg', name: 'app.cfg' }));
    expect(error).toBeInstanceOf(OxdConfigError);
    expect(error).toMatchObject({ code: 'OXD_CONFIG_INVALID', file: '/x/app.cfg' });
    expect((error as Error).message).toContain(`app.cfg:${fragment.slice('line '.length)}`);
  });
});

describe('IniDocument.set', () => {
  it('edits a value in place and keeps every other line byte for byte', () => {
    const document = parseIni(commented);
    document.set('oxd', 'host', '127.0.0.1');
    document.set('client', 'op_host', 'https://other.example.com');
    const expected = commented
      .replace('host = localhost', 'host = 127.0.0.1')
      .replace('op_host = https://op.example.com', 'op_host = https://other.example.com');
    expect(document.toString()).toBe(expected);
  });

  it('keeps odd spacing around = and after the value', () => {
    const document = parseIni(commented);
    document.set('oxd', 'https_extension', 'true');
    expect(document.toString()).toContain('\nhttps_extension   =   true   \n');
  });

  it('fills an empty value, mirroring the space before =', () => {
    const document = parseIni(commented);
    document.set('oxd', 'id', 'abc');
    document.set('client', 'post_logout_redirect_uri', 'https://app.example.com/');
    const text = document.toString();
    expect(text).toContain('\nid = abc\n');
    expect(text).toContain('\npost_logout_redirect_uri=https://app.example.com/\n');
  });

  it('edits a key: value entry in place, keeping the colon', () => {
    const text = '[client]\nop_host: https://op.example.com/?tenant=a\nclient_id:\n';
    const document = parseIni(text);
    expect(document.get('client', 'op_host')).toBe('https://op.example.com/?tenant=a');
    document.set('client', 'op_host', 'https://op.example.com/?tenant=b');
    document.set('client', 'client_id', 'abc');
    document.set('client', 'client_secret', 's3cret');
    expect(document.toString()).toBe(
      '[client]\nop_host: https://op.example.com/?tenant=b\nclient_id: abc\nclient_secret: s3cret\n',
    );
  });

  it('replaces a multi-line value by a one-line one, keeping comments and what follows', () => {
    const text = '[client]\nclient_id = old\n  continued\n# note\n  more\n\nscope = openid\n';
    const document = parseIni(text);
    expect(document.get('client', 'client_id')).toBe('old\ncontinued\nmore');
    document.set('client', 'client_id', 'new');
    expect(document.toString()).toBe('[client]\nclient_id = new\n# note\n\nscope = openid\n');
    expect(parseIni(document.toString()).get('client', 'scope')).toBe('openid');
  });

  it('adds a key with the indentation of the entry before it, so it does not join a value', () => {
    const document = parseIni('[oxd]\n  host = a\n[client]\nx = 1\n');
    document.set('oxd', 'id', 'abc');
    expect(document.toString()).toBe('[oxd]\n  host = a\n  id = abc\n[client]\nx = 1\n');
    expect(parseIni(document.toString()).get('oxd', 'host')).toBe('a');
  });

  it('refuses an addition that would change how a following line reads, leaving the text as it was', () => {
    // The indented header only reads as a header because no value is open before it.
    const text = '[oxd]\n  [client]\nx = 1\n';
    const document = parseIni(text);
    expect(() => document.set('oxd', 'id', 'abc')).toThrow(/without changing how other lines/);
    expect(document.toString()).toBe(text);
  });

  it('adds a missing key after the last entry of its section, before blank lines and comments', () => {
    const document = parseIni(commented);
    document.set('client', 'client_secret', 'xyz');
    document.set('oxd', 'server_version', '4');
    const text = document.toString();
    expect(text).toContain('client_id =\nclient_secret = xyz\n\n# trailing comment');
    expect(text).toContain('unknown_oxd_key = kept as is\nserver_version = 4\n\n; a section');
  });

  it('adds a missing section at the end, after a blank line', () => {
    const document = parseIni(commented);
    document.set('new', 'key', 'value');
    expect(document.toString()).toBe(`${commented}\n[new]\nkey = value\n`);
    expect(parseIni(document.toString()).get('new', 'key')).toBe('value');
  });

  it('creates the first section of an empty document', () => {
    const document = parseIni('');
    document.set('oxd', 'id', 'abc');
    expect(document.toString()).toBe('[oxd]\nid = abc\n');
  });

  it('uses the line ending of a CRLF file for new lines', () => {
    const document = parseIni(commentedCrlf);
    document.set('client', 'client_secret', 'xyz');
    document.set('new', 'key', 'value');
    const text = document.toString();
    expect(text).toContain('client_id =\r\nclient_secret = xyz\r\n');
    expect(text.endsWith('\r\n\r\n[new]\r\nkey = value\r\n')).toBe(true);
    expect(text.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/);
  });

  it('keeps a file without a final line break without one', () => {
    const document = parseIni('[oxd]\nhost = localhost');
    document.set('oxd', 'id', 'abc');
    expect(document.toString()).toBe('[oxd]\nhost = localhost\nid = abc');
  });

  it('follows a key=value style when adding keys', () => {
    const document = parseIni('[oxd]\nhost=localhost\n');
    document.set('oxd', 'id', 'abc');
    expect(document.toString()).toBe('[oxd]\nhost=localhost\nid=abc\n');
  });

  it('changes nothing when the value is already set', () => {
    const text = '[oxd]\nid =   abc   \n';
    const document = parseIni(text);
    document.set('oxd', 'id', 'abc');
    expect(document.toString()).toBe(text);
  });

  it.each([
    ['a line break in the value', 'oxd', 'id', 'a\nb'],
    ['a carriage return in the value', 'oxd', 'id', 'a\rb'],
    ['= in the key', 'oxd', 'a=b', 'x'],
    ['an empty key', 'oxd', ' ', 'x'],
    ['a key that would read as a comment', 'oxd', '# id', 'x'],
    ['a key that would read as a header', 'oxd', '[id', 'x'],
    ['] in the section', 'o]xd', 'id', 'x'],
  ])('refuses %s, which would corrupt the file', (_name, section, key, value) => {
    const document = parseIni(commented);
    expect(() => document.set(section, key, value)).toThrow(RangeError);
    expect(document.toString()).toBe(commented);
  });
});

function captureError(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}
