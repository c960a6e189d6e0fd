/**
 * The INI reader against the reader oxd-python 3.1.3 uses, Python 2.7's ConfigParser: every
 * file is read by test/fixtures/config/configparser27-read.py (the steps of CPython 2.7's
 * RawConfigParser._read, run by python3 since no Python 2 is at hand) and by `parseIni`, and
 * both must agree on every section, key and value, or both refuse the file (on the same
 * line). A few inputs differ on purpose; those are listed and checked as differences.
 * A fast-check run adds random files built from the tricky pieces (more cases under CI).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { DEFAULT_SECTION, parseIni } from '../../src/config/ini';
import { OxdConfigError } from '../../src/errors';

const ROOT = join(__dirname, '..', '..');
const DUMP = join(ROOT, 'test', 'fixtures', 'config', 'configparser27-read.py');

type Pairs = [string, string][];
type Reading =
  | { ok: true; defaults: Pairs; sections: [string, Pairs][]; not_utf8?: true }
  | { ok: false; error: string; line: number | null };

/** What Python 2.7's ConfigParser reads from each file (one python3 process for all). */
function pythonReads(files: readonly (string | Buffer)[]): Reading[] {
  const input = JSON.stringify(files.map((file) => Buffer.from(file).toString('base64')));
  const result = spawnSync('python3', [DUMP], { input, encoding: 'utf8', maxBuffer: 1 << 28 });
  if (result.status !== 0) throw new Error(`python3 failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as Reading[];
}

/** What parseIni reads, in the same shape. */
function oursReads(file: string | Buffer): Reading {
  try {
    const document = parseIni(typeof file === 'string' ? file : new Uint8Array(file));
    return {
      ok: true,
      defaults: [...document.ownEntries(DEFAULT_SECTION)],
      sections: document.sections().map((name) => [name, [...document.entries(name)]]),
    };
  } catch (error) {
    if (!(error instanceof OxdConfigError)) throw error;
    const line = /line (\d+)/.exec(error.message)?.[1];
    return { ok: false, error: error.message, line: line === undefined ? null : Number(line) };
  }
}

/** The same reading, or both refusing (on the same line when `sameLine`). */
function agree(python: Reading, ours: Reading, sameLine: boolean): boolean {
  if (python.ok && ours.ok) return JSON.stringify(python) === JSON.stringify(ours);
  if (python.ok || ours.ok) return false;
  return !sameLine || python.line === ours.line;
}

const demosite = readFileSync(join(ROOT, 'demosite.cfg'), 'utf8');

/** Inputs both readers must read alike. */
const CORPUS: readonly [string, string | Buffer][] = [
  ['key: value separator with = in the value', '[client]\nop_host: https://op/?tenant=a\n'],
  ['key:value without spaces', '[client]\nop_host:https://op.example.com\n'],
  ['= separator with : and = in the value', '[client]\nop_host = https://op/?a=b:c\n'],
  ['the first of : and = separates', '[c]\na:b=c\nd=e:f\n'],
  ['spacing around key, separator and value', '[c]\nkey   =   value  \n'],
  ['tabs as spacing', '[c]\nkey\t=\tvalue\t\n'],
  ['a key with inner spaces', '[c]\nmy key = v\n'],
  ['continuation lines', '[c]\nscope = openid,\n  profile,\n  email\nnext = 1\n'],
  ['blank lines inside a continued value are skipped', '[c]\na = 1\n\n  2\n\nb = 3\n'],
  ['a comment inside a continued value', '[c]\na = 1\n# note\n  2\n'],
  ['an indented # or ; line continues the value', '[c]\na = 1\n  # two\n  ; three\nb = 2\n'],
  ['a ; after whitespace ends the value', '[c]\na = x ; y\nb = x\t;y\n'],
  ['only the first ; counts', '[c]\na = x;y ; z\nb = ;x\nc = ;x \n'],
  ['a ; in a continuation line is kept', '[c]\na = x\n  y ; z\n'],
  ['# inside a value is kept', '[c]\na = x # y\n'],
  ['a value of exactly "" is empty', '[c]\na = ""\nb = "" ; note\nc = ""x\nd = \'\'\n'],
  ['rem in column 0 is a comment', '[c]\nrem a note\nREM = 1\nRem\nremote = 2\n'],
  ['rem inside a value and indented', '[c]\na = 1\n  rem x\nb = rem\n'],
  ['a ; comment on a CRLF line', '[c]\r\na = x ;y\r\nb = ;x\r\n'],
  ['an indented key after a key continues its value', '[c]\na = 1\n  b = 2\n'],
  ['a continued empty value', '[c]\na =\n  x\n'],
  ['trailing blank lines are not part of a value', '[c]\na = 1\n\n\n'],
  [
    '[DEFAULT] values reach every section',
    '[DEFAULT]\nport = 8099\n[oxd]\nhost = h\n[client]\nport = 1\n',
  ],
  ['[DEFAULT] twice', '[DEFAULT]\na = 1\n[DEFAULT]\nb = 2\n[s]\n'],

  ['keys are lower-cased', '[Oxd]\nHOST = a\nMixed_Case = b\n'],
  ['section names are case-sensitive', '[oxd]\na = 1\n[OXD]\na = 2\n'],
  ['empty values', '[c]\na =\nb=\nc:\nd :   \n'],
  ['CRLF line endings', '[c]\r\na = 1\r\n  more\r\nb = 2\r\n'],
  ['no final line break', '[c]\na = 1'],
  ['indented comments continue a value', '[c]\na = 1\n  # comment\n  ; also\n'],
  ['text after a header', '[oxd] ; the oxd server\na = 1\n'],
  ['a ] inside a header ends it', '[a]b]\nx = 1\n'],
  ['a key before any section', 'a = 1\n[c]\n'],
  ['a line without a separator', '[c]\njust words\n'],
  ['an empty key', '[c]\n= value\n'],
  ['% kept as is', '[c]\na = 50%\nb = %(x)s\n'],
  ['non-ASCII UTF-8 text', '[c]\nname = Café ü 日本\n'],
  ['only comments and blank lines', '# a\n\n; b\n'],
  ['an empty file', ''],
  ['demosite.cfg', demosite],
];

/** Inputs read differently on purpose; each must still differ in the documented way. */
const DELIBERATE: readonly [
  string,
  string | Buffer,
  (python: Reading, ours: Reading) => boolean,
][] = [
  [
    'a UTF-8 byte order mark is skipped (2.7: no section header)',
    '\uFEFF[oxd]\nhost = h\n',
    (python, ours) =>
      !python.ok &&
      python.error === 'MissingSectionHeaderError' &&
      JSON.stringify(ours) === JSON.stringify(oursReads('[oxd]\nhost = h\n')),
  ],
  [
    'spaces around a section name are refused (2.7: a section named " oxd ")',
    '[ oxd ]\nhost = h\n',
    (python, ours) =>
      python.ok && python.sections[0]?.[0] === ' oxd ' && !ours.ok && ours.line === 1,
  ],
  [
    'a blank section name is refused (2.7: a section named " ")',
    '[ ]\nhost = h\n',
    (python, ours) => python.ok && python.sections[0]?.[0] === ' ' && !ours.ok,
  ],
  [
    'a line starting with [ that is no header is refused (2.7: a key "[oxd")',
    '[c]\n[oxd = 1\n',
    (python, ours) =>
      python.ok && python.sections[0]?.[1][0]?.[0] === '[oxd' && !ours.ok && ours.line === 2,
  ],
  [
    'U+FFFD is refused as a sign of text that was not UTF-8 (2.7: read as is)',
    '[c]\nname = Caf\uFFFD\n',
    (python, ours) => python.ok && !ours.ok && ours.line === 2,
  ],
  [
    'a key set twice is refused (2.7: the later value wins)',
    '[oxd]\nport = 1\nPort: 2\n',
    (python, ours) =>
      python.ok &&
      JSON.stringify(python.sections) === JSON.stringify([['oxd', [['port', '2']]]]) &&
      !ours.ok &&
      ours.line === 3,
  ],
  [
    'a section that appears twice is refused (2.7: merged)',
    '[oxd]\na = 1\n[client]\nb = 2\n[oxd]\nc = 3\n',
    (python, ours) =>
      python.ok &&
      JSON.stringify(python.sections[0]) ===
        JSON.stringify([
          'oxd',
          [
            ['a', '1'],
            ['c', '3'],
          ],
        ]) &&
      !ours.ok &&
      ours.line === 5,
  ],
  [
    'a [DEFAULT] key set in two [DEFAULT] blocks is refused (2.7: the later value wins)',
    '[DEFAULT]\na = 1\n[DEFAULT]\na = 2\n',
    (python, ours) =>
      python.ok && JSON.stringify(python.defaults) === '[["a","2"]]' && !ours.ok && ours.line === 4,
  ],
  [
    'an indented comment that continues no value is a comment (2.7: ParsingError)',
    '[c]\n  # comment\na = 1\n',
    (python, ours) =>
      !python.ok &&
      python.error === 'ParsingError' &&
      python.line === 2 &&
      JSON.stringify(ours) === JSON.stringify(oursReads('[c]\na = 1\n')),
  ],
  [
    'an indented key that continues no value is a key (2.7: ParsingError)',
    '[c]\n  a = 1\nb = 2\n',
    (python, ours) =>
      !python.ok &&
      python.error === 'ParsingError' &&
      JSON.stringify(ours) === JSON.stringify(oursReads('[c]\na = 1\nb = 2\n')),
  ],
  [
    'a lone CR ends a line (2.7 on POSIX: one line, only the header is read)',
    '[c]\ra = 1\rb = 2\r',
    (python, ours) =>
      python.ok &&
      JSON.stringify(python.sections) === '[["c",[]]]' &&
      JSON.stringify(ours) === JSON.stringify(oursReads('[c]\na = 1\nb = 2\n')),
  ],
  [
    'bytes that are not UTF-8 are refused (2.7: read as they are)',
    Buffer.from('[c]\nname = Caf\u00e9\n', 'latin1'),
    (python, ours) => python.ok && python.not_utf8 === true && !ours.ok && ours.line === 2,
  ],
];

describe('parseIni against Python 2.7 ConfigParser', () => {
  const python = pythonReads(CORPUS.map(([, text]) => text));

  it.each(CORPUS.map(([name, text], index) => [name, text, index] as const))(
    'reads %s alike',
    (_name, text, index) => {
      const theirs = python[index] as Reading;
      const ours = oursReads(text);
      if (!agree(theirs, ours, true)) {
        throw new Error(
          `configparser: ${JSON.stringify(theirs)}\nparseIni:     ${JSON.stringify(ours)}`,
        );
      }
    },
  );

  const deliberate = pythonReads(DELIBERATE.map(([, text]) => text));
  it.each(DELIBERATE.map(([name, text, check], index) => [name, text, check, index] as const))(
    'differs on purpose: %s',
    (_name, text, check, index) => {
      const theirs = deliberate[index] as Reading;
      const ours = oursReads(text);
      expect(agree(theirs, ours, false)).toBe(false);
      expect(check(theirs, ours)).toBe(true);
    },
  );
});

describe('parseIni against Python 2.7 ConfigParser, random files', () => {
  // Pieces that exercise the tricky parts; joined into lines and files at random.
  const keys = fc.constantFrom('host', 'Port', 'op_host', 'a', 'my key', 'id', 'x_y');
  const values = fc.constantFrom(
    '',
    'v',
    'https://op/?t=a',
    'a:b',
    'a=b',
    'x ; y',
    'x;y ; z',
    ';x',
    '""',
    '50%',
    'é',
    '#no',
  );
  const space = fc.constantFrom('', ' ', '  ', '\t');
  const line = fc.oneof(
    fc
      .tuple(space, keys, space, fc.constantFrom('=', ':'), space, values, space)
      .map((parts) => parts.join('')),
    fc
      .tuple(
        space,
        fc.constantFrom('oxd', 'client', 'DEFAULT', 'Oxd', 'a]b'),
        fc.constantFrom('', ' x'),
      )
      .map(([indent, name, after]) => `${indent}[${name}]${after}`),
    fc
      .tuple(space, fc.constantFrom('#', ';', 'rem ', 'REM=', 'remote'), values)
      .map((parts) => parts.join('')),
    space,
    fc
      .tuple(space, fc.constantFrom('words', '= v', '[x', 'continued'))
      .map((parts) => parts.join('')),
  );
  // Mostly files that start with a header, so that many of them are valid.
  const header = fc.constantFrom('', '[oxd]', '[oxd]', '[oxd]', '[DEFAULT]');
  const bodyLine = fc.oneof(
    { arbitrary: line, weight: 1 },
    {
      arbitrary: fc
        .tuple(keys, fc.constantFrom(' = ', ': ', '='), values)
        .map((parts) => parts.join('')),
      weight: 3,
    },
  );
  const file = fc
    .tuple(
      header,
      fc.array(bodyLine, { maxLength: 12 }),
      // A lone CR is a deliberate difference (see above).
      fc.constantFrom('\n', '\r\n'),
      fc.boolean(),
    )
    .map(([first, rest, eol, final]) => {
      const lines = first === '' ? rest : [first, ...rest];
      return lines.join(eol) + (final && lines.length > 0 ? eol : '');
    });

  const runs = process.env.CI ? 10_000 : 300;

  it(`reads ${runs} random files as Python 2.7 does, or refuses them both`, () => {
    const samples = fc.sample(file, { numRuns: runs, seed: 20_190_419 });
    const theirs = pythonReads(samples);
    const disagreements: string[] = [];
    samples.forEach((text, index) => {
      const python = theirs[index] as Reading;
      const ours = oursReads(text);
      if (agree(python, ours, false)) return;
      // The documented differences: refused by us, read by 2.7 (spacing in a header, a key or
      // section given twice), or read by us, refused by 2.7 (an indented line that
      // continues no value).
      if (
        python.ok &&
        !ours.ok &&
        /spaces around it|expected a section header|a second time/.test(ours.error)
      ) {
        return;
      }
      if (!python.ok && ours.ok) {
        const refused = text.split(/\r?\n/)[(python.line ?? 0) - 1] ?? '';
        if (/^\s/.test(refused)) return;
      }
      disagreements.push(
        `${JSON.stringify(text)}\n  configparser: ${JSON.stringify(python)}\n  parseIni: ${JSON.stringify(ours)}`,
      );
    });
    expect(disagreements.slice(0, 5)).toEqual([]);
  }, 120_000);
});
