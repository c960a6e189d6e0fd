/**
 * The INI syntax: text split into lines the way Python's `configparser` reads a file (the
 * same `.cfg` files are read by oxd-python), every line kept as written so that
 * `IniDocument` (ini.ts) can edit a value in place and write the rest back untouched.
 *
 * Syntax, as `configparser.ConfigParser(interpolation=None)` reads it:
 * - `[section]` headers; section names are case-sensitive; a section may appear only once.
 *   Text after the closing `]` is ignored. `[DEFAULT]` holds defaults for every section.
 * - `key = value` or `key: value` entries: the key ends at the first `=` or `:`; keys are
 *   case-insensitive (read lower-cased) and may appear only once per section.
 * - A line indented deeper than the entry it follows continues that entry's value (joined
 *   with line breaks, trailing blank lines dropped); blank lines inside such a value belong
 *   to it.
 * - Whole-line comments start with `#` or `;` (after any indentation); there are no inline
 *   comments, so `key = a ; b` has the value `a ; b`.
 * - Values are trimmed and may be empty; `%` has no special meaning.
 * - Lines end with LF, CRLF or a lone CR.
 *
 * Deliberate differences: a UTF-8 byte order mark is skipped (configparser reads it as part
 * of the first line); a section name that is blank or has spaces around it, and a line that
 * starts with `[` but is not a header, are refused (configparser accepts them and reads a
 * differently named section or key); text must be UTF-8.
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
   * The value's pieces: `first`, then one per continuation line (trimmed) and one empty
   * string per blank line met while the value was open.
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
/** configparser's section header: `[`, anything (greedy), `]`; the rest is ignored. */
const HEADER = /^\[(.+)\]/s;
/** configparser's option line: the key ends at the first `=` or `:`. */
const OPTION = /^(.*?)\s*([=:])\s*(.*)$/s;

/** An entry from a line known to match {@link OPTION}. */
export function makeEntry(section: string, text: string, eol: string): Entry {
  const leading = text.length - text.trimStart().length;
  const stripped = text.trim();
  const match = OPTION.exec(stripped) as RegExpExecArray;
  const key = (match[1] as string).trimEnd().toLowerCase();
  const value = match[3] as string;
  const valueStart = leading + stripped.length - value.length;
  return {
    kind: 'entry',
    section,
    key,
    prefix: text.slice(0, valueStart),
    first: value,
    suffix: text.slice(valueStart + value.length),
    parts: [value],
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
    if (stripped.startsWith('#') || stripped.startsWith(';')) {
      lines.push({ kind: 'comment', text: raw, eol });
      continue;
    }
    if (stripped === '') {
      lines.push({ kind: 'blank', text: raw, eol });
      open?.parts.push('');
      continue;
    }
    const indent = raw.length - raw.trimStart().length;
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
            "merge the two into one (Python's configparser refuses this file too)",
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
          "keep one of them (Python's configparser refuses this file too)",
      );
    }
    keyLines.set(id, lineNumber);
    lines.push(entry);
    open = entry;
  }
  return { bom, lines, eol: firstEol ?? '\n' };
}
