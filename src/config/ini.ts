/**
 * A small INI reader that keeps every line, so a value can be changed in place and the
 * file written back with its comments, blank lines, spacing, key order, line endings and
 * unknown keys untouched.
 *
 * Syntax: `[section]` headers, `key = value` / `key=value` entries, whole-line comments
 * starting with `#` or `;`, blank lines. Keys are matched case-insensitively (as Python's
 * ConfigParser does), section names exactly. Values are trimmed and may be empty; there
 * are no inline comments, quotes or continuation lines, so a value is everything after the
 * first `=`. When a key appears twice in a section, the last one wins (and `set()` edits
 * that one); {@link IniDocument.duplicates} lists the earlier, shadowed lines.
 */
import { OxdConfigError } from '../errors';

interface BlankOrComment {
  readonly kind: 'blank' | 'comment';
  text: string;
  eol: string;
}

interface SectionHeader {
  readonly kind: 'section';
  readonly name: string;
  text: string;
  eol: string;
}

interface Entry {
  readonly kind: 'entry';
  readonly section: string;
  /** Lower-cased key. */
  readonly key: string;
  /** Everything up to the value: indentation, key, spacing, `=`, spacing. */
  prefix: string;
  value: string;
  /** Whitespace after the value. */
  readonly suffix: string;
  text: string;
  eol: string;
}

type Line = BlankOrComment | SectionHeader | Entry;

/** A key that appears more than once in a section; the last occurrence is the one used. */
export interface IniDuplicate {
  readonly section: string;
  readonly key: string;
  /** 1-based line numbers of all occurrences, in file order. */
  readonly lines: readonly number[];
}

export interface IniParseOptions {
  /** Set as a syntax error's `file`. */
  readonly file?: string;
  /** How messages name the file (default: `file`). */
  readonly name?: string;
}

const LINE_BREAK = /\r\n|\n/g;
const BOM = '\uFEFF';

/** Parsed INI text that can be edited and turned back into text. */
export class IniDocument {
  readonly #bom: string;
  readonly #lines: Line[];
  readonly #eol: string;

  /** @internal Use {@link parseIni}. */
  constructor(bom: string, lines: Line[], eol: string) {
    this.#bom = bom;
    this.#lines = lines;
    this.#eol = eol;
  }

  /** The value of `key` in `section`, or `undefined` when absent. */
  get(section: string, key: string): string | undefined {
    const entry = this.#findEntry(section, key.toLowerCase());
    return entry?.value;
  }

  /** Whether `section` has a `[section]` header. */
  hasSection(section: string): boolean {
    return this.#lines.some((line) => line.kind === 'section' && line.name === section);
  }

  /** Section names in file order, each once. */
  sections(): string[] {
    const names = new Set<string>();
    for (const line of this.#lines) if (line.kind === 'section') names.add(line.name);
    return [...names];
  }

  /** The section's keys (lower-cased, in order of first appearance) and their last values. */
  entries(section: string): Map<string, string> {
    const result = new Map<string, string>();
    for (const line of this.#lines) {
      if (line.kind === 'entry' && line.section === section) result.set(line.key, line.value);
    }
    return result;
  }

  /** Keys that appear more than once in a section. */
  duplicates(): IniDuplicate[] {
    const seen = new Map<string, { section: string; key: string; lines: number[] }>();
    this.#lines.forEach((line, index) => {
      if (line.kind !== 'entry') return;
      const id = `${line.section}\0${line.key}`;
      const record = seen.get(id) ?? { section: line.section, key: line.key, lines: [] };
      record.lines.push(index + 1);
      seen.set(id, record);
    });
    return [...seen.values()].filter((record) => record.lines.length > 1);
  }

  /**
   * Sets `key` in `section` to `value`. An existing entry is edited in place (its spacing
   * kept); otherwise the key is added after the section's last entry, and a missing section
   * is added at the end of the document. Values cannot contain line breaks, and are trimmed
   * when read back.
   */
  set(section: string, key: string, value: string): void {
    checkName('section', section, /[[\]\r\n]/);
    checkName('key', key, /[=\r\n]|^\s*[#;[]/); // or it would read back as a comment/header
    if (/[\r\n]/.test(value)) throw new RangeError(`INI value for ${key} contains a line break`);
    const name = key.trim();
    const trimmed = value.trim();
    const existing = this.#findEntry(section, name.toLowerCase());
    if (existing) {
      if (existing.value === trimmed) return;
      // `key =` with nothing after it: mirror the space before `=` so it reads `key = value`.
      if (existing.value === '' && /\s=$/.test(existing.prefix)) existing.prefix += ' ';
      existing.value = trimmed;
      existing.text = `${existing.prefix}${trimmed}${existing.suffix}`;
      return;
    }
    const separator = this.#separatorStyle();
    const entry = makeEntry(section, `${name}${separator}${trimmed}`, '');
    const header = this.#lastHeaderIndex(section);
    if (header === -1) {
      const added: Line[] = [];
      const last = this.#lines.at(-1);
      if (last !== undefined && last.kind !== 'blank') added.push(blank(''));
      added.push({ kind: 'section', name: section, text: `[${section}]`, eol: '' }, entry);
      this.#insert(this.#lines.length, added);
      return;
    }
    let at = header + 1;
    for (let i = header + 1; i < this.#lines.length; i++) {
      const line = this.#lines[i];
      if (line === undefined || line.kind === 'section') break;
      if (line.kind === 'entry') at = i + 1;
    }
    this.#insert(at, [entry]);
  }

  /** The document as text; identical to the parsed text when nothing was changed. */
  toString(): string {
    let text = this.#bom;
    for (const line of this.#lines) text += line.text + line.eol;
    return text;
  }

  #findEntry(section: string, key: string): Entry | undefined {
    for (let i = this.#lines.length - 1; i >= 0; i--) {
      const line = this.#lines[i];
      if (line?.kind === 'entry' && line.section === section && line.key === key) return line;
    }
    return undefined;
  }

  #lastHeaderIndex(section: string): number {
    return this.#lines.findLastIndex((line) => line.kind === 'section' && line.name === section);
  }

  /** `' = '` unless the document's entries are written `key=value`. */
  #separatorStyle(): string {
    const sample = this.#lines.find((line): line is Entry => line.kind === 'entry');
    if (sample === undefined) return ' = ';
    return /\s=/.test(sample.prefix.trimStart()) ? ' = ' : '=';
  }

  /**
   * Inserts lines before `index` with the document's line ending. At the end of a document
   * that has no final line break, the new last line gets none either.
   */
  #insert(index: number, added: Line[]): void {
    for (const line of added) line.eol = this.#eol;
    const previous = this.#lines[index - 1];
    if (index === this.#lines.length && previous !== undefined && previous.eol === '') {
      previous.eol = this.#eol;
      const last = added.at(-1);
      if (last !== undefined) last.eol = '';
    }
    this.#lines.splice(index, 0, ...added);
  }
}

function checkName(what: string, name: string, forbidden: RegExp): void {
  if (name.trim() === '' || forbidden.test(name)) {
    throw new RangeError(`invalid INI ${what} name ${JSON.stringify(name)}`);
  }
}

function blank(eol: string): BlankOrComment {
  return { kind: 'blank', text: '', eol };
}

function makeEntry(section: string, text: string, eol: string): Entry {
  const equals = text.indexOf('=');
  const rest = text.slice(equals + 1);
  const value = rest.trim();
  const leading = rest.length - rest.trimStart().length;
  const prefix = text.slice(0, equals + 1) + rest.slice(0, leading);
  const suffix = value === '' ? '' : rest.slice(leading + value.length);
  return {
    kind: 'entry',
    section,
    key: text.slice(0, equals).trim().toLowerCase(),
    prefix,
    value,
    suffix,
    text,
    eol,
  };
}

/**
 * Parses INI text. Throws {@link OxdConfigError} (`OXD_CONFIG_INVALID`) naming the line for
 * a line that is neither a header, an entry, a comment nor blank, and for an entry before
 * the first header.
 */
export function parseIni(text: string, options: IniParseOptions = {}): IniDocument {
  const bom = text.startsWith(BOM) ? BOM : '';
  const body = text.slice(bom.length);
  const lines: Line[] = [];
  let firstEol: string | undefined;
  let section: string | undefined;
  let start = 0;
  const fail = (lineNumber: number, problem: string): never => {
    const name = options.name ?? options.file;
    const where = name === undefined ? `line ${lineNumber}` : `${name}:${lineNumber}`;
    throw new OxdConfigError(`${where}: ${problem}`, {
      ...(options.file === undefined ? {} : { file: options.file }),
    });
  };
  const pieces = [...body.matchAll(LINE_BREAK)];
  for (let i = 0; i <= pieces.length; i++) {
    const match = pieces[i];
    const end = match?.index ?? body.length;
    const raw = body.slice(start, end);
    const eol = match?.[0] ?? '';
    start = end + eol.length;
    if (match === undefined && raw === '') break; // text ended with a line break
    firstEol ??= match?.[0];
    const trimmed = raw.trim();
    if (trimmed === '') {
      lines.push({ kind: 'blank', text: raw, eol });
    } else if (trimmed.startsWith('#') || trimmed.startsWith(';')) {
      lines.push({ kind: 'comment', text: raw, eol });
    } else if (trimmed.startsWith('[')) {
      const name = trimmed.endsWith(']') ? trimmed.slice(1, -1).trim() : '';
      if (name === '') fail(i + 1, `expected a section header like [client], got ${trimmed}`);
      section = name;
      lines.push({ kind: 'section', name, text: raw, eol });
    } else {
      const equals = raw.indexOf('=');
      if (equals === -1 || raw.slice(0, equals).trim() === '') {
        fail(i + 1, 'expected "key = value", a [section] header or a # comment');
      }
      if (section === undefined) {
        fail(i + 1, 'key outside a section; put it under a header such as [oxd] or [client]');
      }
      lines.push(makeEntry(section as string, raw, eol));
    }
  }
  return new IniDocument(bom, lines, firstEol ?? '\n');
}
