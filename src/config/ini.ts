/**
 * An INI reader that reads a file the way oxd-python 3.1.3 does (Python 2.7's
 * `ConfigParser`), and keeps every line, so a value can be changed in place
 * and the file written back with its comments, blank lines, spacing, key order, line
 * endings and unknown keys untouched. The syntax, and where it deliberately differs from
 * Python 2.7, is described in ini-syntax.ts.
 */
import {
  DEFAULT_SECTION,
  makeEntry,
  optionValue,
  readIniLines,
  type BlankOrComment,
  type Entry,
  type IniParseOptions,
  type Line,
} from './ini-syntax';

export { DEFAULT_SECTION, type IniParseOptions };

function valueOf(entry: Entry): string {
  return entry.parts.join('\n').trimEnd();
}

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

  /**
   * The value of `key` in `section` (from `[DEFAULT]` when the section does not set it), or
   * `undefined` when absent or when the section does not exist.
   */
  get(section: string, key: string): string | undefined {
    const name = key.toLowerCase();
    const entry = this.#findEntry(section, name);
    if (entry) return valueOf(entry);
    if (section === DEFAULT_SECTION || !this.hasSection(section)) return undefined;
    const fallback = this.#findEntry(DEFAULT_SECTION, name);
    return fallback && valueOf(fallback);
  }

  /** Whether `section` has a `[section]` header (`[DEFAULT]` is not a section). */
  hasSection(section: string): boolean {
    return (
      section !== DEFAULT_SECTION &&
      this.#lines.some((line) => line.kind === 'section' && line.name === section)
    );
  }

  /** Section names in file order, without `[DEFAULT]` (as `configparser.sections()`). */
  sections(): string[] {
    const names = new Set<string>();
    for (const line of this.#lines) {
      if (line.kind === 'section' && line.name !== DEFAULT_SECTION) names.add(line.name);
    }
    return [...names];
  }

  /**
   * The section's keys (lower-cased) and values as `configparser.items(section)` gives them:
   * the `[DEFAULT]` keys first, then the section's own, a section's value overriding a
   * default. Empty for a missing section.
   */
  entries(section: string): Map<string, string> {
    const result = new Map<string, string>();
    if (section !== DEFAULT_SECTION && !this.hasSection(section)) return result;
    if (section !== DEFAULT_SECTION) {
      for (const [key, value] of this.ownEntries(DEFAULT_SECTION)) result.set(key, value);
    }
    for (const [key, value] of this.ownEntries(section)) result.set(key, value);
    return result;
  }

  /** The keys and values written in the section itself, in file order, without defaults. */
  ownEntries(section: string): Map<string, string> {
    const result = new Map<string, string>();
    for (const line of this.#lines) {
      if (line.kind === 'entry' && line.section === section) result.set(line.key, valueOf(line));
    }
    return result;
  }

  /**
   * Sets `key` in `section` to `value`. An existing entry is edited in place (its spacing
   * and separator kept; continuation lines of an old multi-line value are removed);
   * otherwise the key is added after the section's last entry, with its indentation and
   * separator, and a missing section is added at the end of the document. Values cannot
   * contain line breaks, and are trimmed when read back. Throws `RangeError` instead of
   * making a change that would read back differently.
   */
  set(section: string, key: string, value: string): void {
    checkName('section', section, /[\]\r\n]|^\s|\s$/);
    // `=` or `:` would end the key early; `#`, `;` or `[` would make a comment or header.
    checkName('key', key, /[=:\r\n]|^\s*[#;[]/);
    if (/[\r\n]/.test(value)) throw new RangeError(`INI value for ${key} contains a line break`);
    const name = key.trim();
    const trimmed = value.trim();
    if (optionValue(trimmed) !== trimmed) {
      throw new RangeError(
        `INI value for ${key} would read back as ${JSON.stringify(optionValue(trimmed))}: ` +
          'oxd-python ends a value at a ";" that follows a space, and reads "" as empty',
      );
    }
    const before = this.toString();
    const existing = this.#findEntry(section, name.toLowerCase());
    if (existing) {
      if (valueOf(existing) === trimmed && existing.parts.length === 1) return;
      // `key =` with nothing after it: `key = value`, or `key: value` for a colon.
      if (existing.first === '' && /\s[=:]$|:$/.test(existing.prefix)) existing.prefix += ' ';
      existing.first = trimmed;
      existing.parts = [trimmed];
      existing.text = `${existing.prefix}${trimmed}${existing.suffix}`;
      this.#removeContinuations(existing);
    } else {
      this.#add(section, name, trimmed);
    }
    this.#checkReadsBack(before, section, name.toLowerCase(), trimmed);
  }

  /** The document as text; identical to the parsed text when nothing was changed. */
  toString(): string {
    let text = this.#bom;
    for (const line of this.#lines) text += line.text + line.eol;
    return text;
  }

  #add(section: string, name: string, value: string): void {
    const header = this.#lastHeaderIndex(section);
    if (header === -1) {
      const entry = makeEntry(section, `${name}${this.#separatorStyle()}${value}`, '');
      const added: Line[] = [];
      const last = this.#lines.at(-1);
      if (last !== undefined && last.kind !== 'blank') added.push(blank(''));
      added.push({ kind: 'section', name: section, text: `[${section}]`, eol: '' }, entry);
      this.#insert(this.#lines.length, added);
      return;
    }
    let at = header + 1;
    let previous: Entry | undefined;
    for (let i = header + 1; i < this.#lines.length; i++) {
      const line = this.#lines[i];
      if (line === undefined || line.kind === 'section') break;
      if (line.kind === 'entry') previous = line;
      if (line.kind === 'entry' || line.kind === 'continuation') at = i + 1;
    }
    const indent = previous ? leadingSpace(previous.prefix) : '';
    const separator = previous ? separatorOf(previous) : this.#separatorStyle();
    this.#insert(at, [makeEntry(section, `${indent}${name}${separator}${value}`, '')]);
  }

  /**
   * Throws (and restores `before`) unless the edited text reads back with `key` set to
   * `value` and every other value as it was: a guard against indentation that would turn a
   * neighbouring line into part of the new value.
   */
  #checkReadsBack(before: string, section: string, key: string, value: string): void {
    const old = parseIni(before);
    let after: IniDocument | undefined;
    try {
      after = parseIni(this.toString());
    } catch {
      after = undefined;
    }
    if (after !== undefined && sameDocument(old, after, section, key, value)) return;
    const restored = readIniLines(before);
    this.#lines.splice(0, this.#lines.length, ...restored.lines);
    throw new RangeError(
      `cannot set [${section}] ${key} without changing how other lines of the file read ` +
        '(check the indentation of the lines around it)',
    );
  }

  #removeContinuations(entry: Entry): void {
    for (let i = this.#lines.length - 1; i >= 0; i--) {
      const line = this.#lines[i];
      if (line?.kind === 'continuation' && line.entry === entry) this.#lines.splice(i, 1);
    }
  }

  #findEntry(section: string, key: string): Entry | undefined {
    for (const line of this.#lines) {
      if (line.kind === 'entry' && line.section === section && line.key === key) return line;
    }
    return undefined;
  }

  #lastHeaderIndex(section: string): number {
    return this.#lines.findLastIndex((line) => line.kind === 'section' && line.name === section);
  }

  /** The separator of the document's first entry (`' = '`, `'='`, `': '`…), else `' = '`. */
  #separatorStyle(): string {
    const sample = this.#lines.find((line): line is Entry => line.kind === 'entry');
    return sample === undefined ? ' = ' : separatorOf(sample);
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

/**
 * Parses INI text, or the bytes of an INI file (which must be UTF-8). Throws
 * `OxdConfigError` (`OXD_CONFIG_INVALID`) naming the line for: bytes that are not
 * UTF-8 (and the U+FFFD character a lenient decoder puts in their place), a line that is
 * neither a header, an entry, a continuation, a comment nor blank, an entry before the first
 * header, a section that appears twice, and a key that appears twice in a section.
 */
export function parseIni(input: string | Uint8Array, options: IniParseOptions = {}): IniDocument {
  const { bom, lines, eol } = readIniLines(input, options);
  return new IniDocument(bom, lines, eol);
}

/** True when `b` holds what `a` holds with `[section] key` set to `value`, and nothing else. */
function sameDocument(
  a: IniDocument,
  b: IniDocument,
  section: string,
  key: string,
  value: string,
): boolean {
  const expected = new Set(a.sections());
  if (section !== DEFAULT_SECTION) expected.add(section);
  const actual = b.sections();
  if (actual.length !== expected.size || actual.some((name) => !expected.has(name))) return false;
  for (const name of [...expected, DEFAULT_SECTION]) {
    const want = a.ownEntries(name);
    if (name === section) want.set(key, value);
    const got = b.ownEntries(name);
    if (want.size !== got.size) return false;
    for (const [k, v] of want) if (got.get(k) !== v) return false;
  }
  return true;
}

function leadingSpace(text: string): string {
  return text.slice(0, text.length - text.trimStart().length);
}

/** The text between an entry's key and its value, e.g. `' = '` or `': '`. */
function separatorOf(entry: Entry): string {
  const prefix = entry.prefix.trimStart();
  const match = /\s*[=:]\s*$/.exec(prefix);
  const separator = match?.[0] ?? ' = ';
  // An entry written `key =` (empty) has no space after the separator yet.
  return entry.first === '' && /\s[=:]$|:$/.test(separator) ? `${separator} ` : separator;
}

function checkName(what: string, name: string, forbidden: RegExp): void {
  if (name.trim() === '' || forbidden.test(name)) {
    throw new RangeError(`invalid INI ${what} name ${JSON.stringify(name)}`);
  }
}

function blank(eol: string): BlankOrComment {
  return { kind: 'blank', text: '', eol };
}
