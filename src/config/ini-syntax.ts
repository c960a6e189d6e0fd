/**
 * The INI syntax: text split into lines the way oxd-python 3.1.3 reads its `.cfg` file,
 * with Python 2.7's `ConfigParser` (CPython 2.7 `RawConfigParser._read`), every line kept as
 * written so that `IniDocument` (ini.ts) can edit a value in place and write the rest back
 * untouched.
 *
 * Syntax, as `RawConfigParser._read` reads it:
 * - `[section]` headers (the name stops at the first `]`; the rest of the line is ignored);
 *   section names are case-sensitive. `[DEFAULT]` holds defaults for every section.
 * - `key = value` or `key: value` entries: the key ends at the first `=` or `:`; keys are
 *   case-insensitive (read lower-cased).
 * - The value on the key's line ends at its first `;` when whitespace precedes that `;`
 *   (`a = x ; y` is `x`; `a = x;y ; z` is `x;y ; z`: only the first `;` counts); `#` is never
 *   a comment inside a value. It is then trimmed, and exactly `""` reads as empty.
 * - A line indented deeper than the entry it follows continues that entry's value (joined
 *   with line breaks), even when it starts with `#` or `;`. Blank lines inside a continued
 *   value are skipped.
 * - Whole-line comments start with `#` or `;`, or with the word `rem` (any case) in column 0.
 * - `%` has no special meaning (interpolation is off). Lines end with LF, CRLF or a lone CR.
 *
 * Deliberate differences: a section that appears twice and a key set twice in a section are
 * refused (Python 2.7 merges the sections and keeps the last value, so a forgotten old line
 * would silently win or lose); a UTF-8 byte order mark is skipped (2.7 fails on it); a
 * section name that is blank or has spaces around it, and a line that starts with `[` but is
 * not a header, are refused (2.7 reads another section or key); an indented comment, key
 * or header that continues no value is read as such (2.7 refuses the file); a lone CR
 * ends a line (2.7 on POSIX reads such a file as one line); text must be UTF-8 (2.7 reads
 * any bytes).
 */
import { OxdConfigError } from '../errors';

export interface BlankOrComment {
  readonly kind: 'blank' | 'comment';
  text: string;
  eol: string;
}

export interface SectionHeader {
  readonly kind: 'section';
  readonly name: string;
  text: string;
  eol: string;
}

export interface Entry {
  readonly kind: 'entry';
  readonly section: string;
  /** Lower-cased key. */
  readonly key: string;
  /** Everything up to the value: indentation, key, spacing, `=` or `:`, spacing. */
  prefix: string;
  /** The value on the key's own line. */
  first: string;
  /** Whitespace after the value on the key's own line. */
  readonly suffix: string;
  /**
   * The value's pieces: `first` as read (see `optionValue`), then one per
   * continuation line (trimmed).
   */
  parts: string[];
  text: string;
  eol: string;
}

/** A line that continues the value of `entry`. */
export interface Continuation {
  readonly kind: 'continuation';
  readonly entry: Entry;
  text: string;
  eol: string;
}

export type Line = BlankOrComment | SectionHeader | Entry | Continuation;

export interface IniParseOptions {
  /** Set as a syntax error's `file`. */
  readonly file?: string;
  /** How messages name the file (default: `file`). */
  readonly name?: string;
}

/** Python's `configparser` name of the section that holds defaults for all others. */
export const DEFAULT_SECTION = 'DEFAULT';

const LINE_BREAK = /\r\n|\n|\r/g;
const BOM = '\uFEFF';
const REPLACEMENT = '\uFFFD';
/** 2.7's section header (`SECTCRE`): `[`, no `]`, `]`; the rest is ignored. */
const HEADER = /^\[([^\]]+)\]/;
/** The option line: the key ends at the first `=` or `:`. */
const OPTION = /^(.*?)\s*([=:])\s*(.*)$/s;
/** A line whose first word is `rem` in column 0: a comment for 2.7. */
const REM = /^rem(\s|$)/i;

/**
 * The value of an option line as 2.7 reads it from `raw` (the text after the separator and
 * its spacing, trailing whitespace included): the first `;` ends it when whitespace precedes
 * it (for a `;` at index 0, Python's index -1: the last character), then it is trimmed, and
 * exactly `""` is empty.
 */
export function optionValue(raw: string): string {
  let value = raw;
  const semicolon = value.indexOf(';');
  if (semicolon !== -1 && /\s/.test(value.at(semicolon - 1) ?? '')) {
    value = value.slice(0, semicolon);
  }
  value = value.trim();
  return value === '""' ? '' : value;
}

/** An entry from a line known to match {@link OPTION}. */
export function makeEntry(section: string, text: string, eol: string): Entry {
  const leading = text.length - text.trimStart().length;
  const stripped = text.trim();
  const match = OPTION.exec(stripped) as RegExpExecArray;
  const key = (match[1] as string).trimEnd().toLowerCase();
  const value = match[3] as string;
  const valueStart = leading + stripped.length - value.length;
  const suffix = text.slice(valueStart + value.length);
  // Python 2 keeps the `\r` of a CRLF line in the value it reads.
  const raw = value + suffix + (eol === '\r\n' ? '\r' : '');
  return {
    kind: 'entry',
    section,
    key,
    prefix: text.slice(0, valueStart),
    first: value,
    suffix,
    parts: [optionValue(raw)],
    text,
    eol,
  };
}

/** Decodes UTF-8 bytes, keeping a byte order mark (handled by {@link parseIni}). */
function decode(bytes: Uint8Array): string {
  return new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes);
}

/** INI text split into its lines, each knowing what it is. */
export interface IniLines {
  /** The byte order mark the text started with, or `''`. */
  readonly bom: string;
  readonly lines: Line[];
  /** The first line ending of the text (`'\n'` when it has none), used for added lines. */
  readonly eol: string;
}

/**
 * Reads INI text, or the bytes of an INI file (which must be UTF-8), into lines. Throws
 * {@link OxdConfigError} (`OXD_CONFIG_INVALID`) naming the line for: bytes that are not
 * UTF-8 (and the U+FFFD character a lenient decoder puts in their place), a line that is
 * neither a header, an entry, a continuation, a comment nor blank, an entry before the first
 * header, a section that appears twice, and a key that appears twice in a section.
 */
export function readIniLines(input: string | Uint8Array, options: IniParseOptions = {}): IniLines {
  const text = typeof input === 'string' ? input : decode(input);
  const bom = text.startsWith(BOM) ? BOM : '';
  const body = text.slice(bom.length);
  const lines: Line[] = [];
  let firstEol: string | undefined;
  const fail = (lineNumber: number, problem: string): never => {
    const name = options.name ?? options.file;
    const where = name === undefined ? `line ${lineNumber}` : `${name}:${lineNumber}`;
    throw new OxdConfigError(`${where}: ${problem}`, {
      ...(options.file === undefined ? {} : { file: options.file }),
    });
  };
  let section: string | undefined;
  /** The entry whose value is still open to continuation lines. */
  let open: Entry | undefined;
  let indentLevel = 0;
  const sectionLines = new Map<string, number>();
  const keyLines = new Map<string, number>();
  let start = 0;
  const pieces = [...body.matchAll(LINE_BREAK)];
  for (let i = 0; i <= pieces.length; i++) {
    const match = pieces[i];
    const end = match?.index ?? body.length;
    const raw = body.slice(start, end);
    const eol = match?.[0] ?? '';
    start = end + eol.length;
    if (match === undefined && raw === '') break; // text ended with a line break
    firstEol ??= match?.[0];
    const lineNumber = i + 1;
    const column = raw.indexOf(REPLACEMENT);
    if (column !== -1) {
      fail(
        lineNumber,
        `column ${column + 1} is not UTF-8 text (a byte such as a Latin-1 "é" saved by an ` +
          'editor in another encoding, or the U+FFFD replacement character); save the file ' +
          'as UTF-8. The file was not read or changed',
      );
    }
    const stripped = raw.trim();
    const indent = raw.length - raw.trimStart().length;
    const commentMark = stripped.startsWith('#') || stripped.startsWith(';');
    // 2.7: `#`, `;` or `rem` in column 0 is a comment; indented, `#` or `;` is value text.
    if ((commentMark && (indent === 0 || !open || indent <= indentLevel)) || REM.test(raw)) {
      lines.push({ kind: 'comment', text: raw, eol });
      continue;
    }
    if (stripped === '') {
      lines.push({ kind: 'blank', text: raw, eol });
      continue;
    }
    if (open && indent > indentLevel) {
      lines.push({ kind: 'continuation', entry: open, text: raw, eol });
      open.parts.push(stripped);
      continue;
    }
    indentLevel = indent;
    if (stripped.startsWith('[')) {
      const name = HEADER.exec(stripped)?.[1];
      if (name === undefined || name.trim() === '') {
        fail(lineNumber, `expected a section header like [client], got ${stripped}`);
      }
      const header = name as string;
      if (header !== header.trim()) {
        fail(
          lineNumber,
          `the section name ${JSON.stringify(header)} has spaces around it, which Python's ` +
            `configparser keeps as part of the name; write [${header.trim()}]`,
        );
      }
      const first = sectionLines.get(header);
      if (first !== undefined) {
        fail(
          lineNumber,
          `section [${header}] appears a second time (first on line ${first}); ` +
            'merge the two into one (oxd-python would merge them silently, a key set in ' +
            'both taking the later value)',
        );
      }
      if (header !== DEFAULT_SECTION) sectionLines.set(header, lineNumber);
      section = header;
      open = undefined;
      lines.push({ kind: 'section', name: header, text: raw, eol });
      continue;
    }
    const option = OPTION.exec(stripped);
    if (option === null || option[1] === '') {
      fail(
        lineNumber,
        'expected "key = value" (or "key: value"), a [section] header or a # comment',
      );
    }
    if (section === undefined) {
      fail(lineNumber, 'key outside a section; put it under a header such as [oxd] or [client]');
    }
    const entry = makeEntry(section as string, raw, eol);
    const id = `${entry.section}\0${entry.key}`;
    const first = keyLines.get(id);
    if (first !== undefined) {
      fail(
        lineNumber,
        `[${entry.section}] ${entry.key} is set a second time (first on line ${first}); ` +
          'keep one of them (oxd-python would silently use the later one)',
      );
    }
    keyLines.set(id, lineNumber);
    lines.push(entry);
    open = entry;
  }
  return { bom, lines, eol: firstEol ?? '\n' };
}
