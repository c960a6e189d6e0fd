/**
 * Reading the configuration's source, an INI file or a settings object, into the values given
 * for each setting of the table (still unparsed). Keys that name no setting are refused here:
 * a typo must not be silently ignored.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { debuglog } from 'node:util';
import { ERROR_CODES, OxdConfigError } from '../errors';
import { consoleLogger, type Logger } from '../logger';
import { parseIni, type IniDocument } from './ini';
import { SECRET_KEYS, warnIfReadable } from './permissions';
import { show } from './parsers';
import {
  OXD_PYTHON_ONLY_KEYS,
  SECTIONS,
  table,
  type SectionName,
  type SectionTable,
} from './settings';
import type { ConfigInput } from './types';

const debug = debuglog('express-oxd');

/** A setting's value as given, with the spelling it was given under. */
export interface Given {
  readonly spelling: string;
  readonly value: unknown;
  /** How messages name where it came from, when not the source's own file or object. */
  readonly where?: string;
}

/** What reading a source may need besides the source itself. */
export interface SourceOptions {
  /** Told about secrets in files others can read. Default `console`. */
  readonly logger?: Logger | undefined;
  /** Environment variables (`EXPRESS_OXD_CLIENT_SECRET`, …). Default `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>> | undefined;
}

/** Environment variables that override a `[client]` secret of an INI file. */
const SECRET_ENV: Readonly<Record<string, string>> = Object.freeze({
  clientSecret: 'EXPRESS_OXD_CLIENT_SECRET',
  protectionAccessToken: 'EXPRESS_OXD_PROTECTION_ACCESS_TOKEN',
});

/**
 * Keys a secrets file may hold: the registration results write-back writes (the settings
 * with `writtenBack`, under each of their spellings).
 */
const SECRETS_FILE_KEYS: { readonly [S in SectionName]: readonly string[] } = {
  oxd: writtenBackKeys('oxd'),
  client: writtenBackKeys('client'),
};

function writtenBackKeys(section: SectionName): string[] {
  return Object.values(table(section)).flatMap((spec) =>
    spec.writtenBack === undefined ? [] : [spec.ini, ...(spec.aliases ?? [])],
  );
}

export interface Source {
  /** Absolute path of the INI file read, if any. */
  readonly iniFile: string | undefined;
  /** Write-back target. */
  readonly file: string | undefined;
  /** How messages name the source: `demosite.cfg: [client] x` or `config client.x`. */
  readonly where: (section: SectionName, spelling: string) => string;
  /** Base for relative paths (`ca_file`). */
  readonly directory: string;
  /** By section, the values given for each setting (by its object name). */
  readonly given: { readonly [S in SectionName]: ReadonlyMap<string, readonly Given[]> };
}

type GivenBySection = { readonly [S in SectionName]: Map<string, Given[]> };

function add(given: GivenBySection, section: SectionName, setting: string, entry: Given): void {
  const list = given[section].get(setting) ?? [];
  list.push(entry);
  given[section].set(setting, list);
}

function displayPath(path: string): string {
  const fromHere = relative(process.cwd(), path);
  return fromHere !== '' && !fromHere.startsWith('..') && !isAbsolute(fromHere) ? fromHere : path;
}

/** Maps every accepted spelling (INI, aliases, and in objects the camelCase name) to it. */
function spellingIndex(specs: SectionTable, forObject: boolean): Map<string, string> {
  const index = new Map<string, string>();
  for (const [setting, spec] of Object.entries(specs)) {
    if (forObject) index.set(setting, setting);
    if (forObject || spec.objectOnly !== true) {
      for (const spelling of [spec.ini, ...(spec.aliases ?? [])]) index.set(spelling, setting);
    }
  }
  return index;
}

/** `<where> is not a setting; did you mean x? (...)`, the same for files and objects. */
function notASetting(
  where: string,
  section: SectionName,
  key: string,
  known: Iterable<string>,
): string {
  const guess = closest(key, [...known]);
  return (
    `${where} is not a setting${guess === undefined ? '' : `; did you mean ${guess}?`}` +
    ` (the ${section} settings are listed in the README)`
  );
}

function readFailed(file: string, what: string, error: unknown): OxdConfigError {
  return new OxdConfigError(
    `cannot read the ${what} ${file} (${(error as Error).message}); check the ` +
      'path (relative paths start at the working directory) or pass the settings as an object',
    { code: ERROR_CODES.CONFIG_READ_FAILED, file },
    { cause: error },
  );
}

/** Whether the document gives a value to a secret of `[client]`. */
function holdsSecrets(document: IniDocument): boolean {
  return SECRET_KEYS.some((key) => (document.get('client', key) ?? '').trim() !== '');
}

/** An INI file read and parsed, with the name messages give it. */
interface IniFile {
  readonly document: IniDocument;
  readonly name: string;
}

/**
 * Reads and parses the INI file `file` (the `what` of messages), telling `logger` when it
 * gives a secret and others may read it. With `mayBeMissing`, a file that does not exist
 * gives `undefined`.
 */
function readIniFile(file: string, what: string, logger: Logger): IniFile;
function readIniFile(
  file: string,
  what: string,
  logger: Logger,
  mayBeMissing: true,
): IniFile | undefined;
function readIniFile(
  file: string,
  what: string,
  logger: Logger,
  mayBeMissing = false,
): IniFile | undefined {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (error) {
    if (mayBeMissing && (error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw readFailed(file, what, error);
  }
  const name = displayPath(file);
  const document = parseIni(bytes, { file, name });
  if (holdsSecrets(document)) warnIfReadable(file, logger);
  return { document, name };
}

export function readIniSource(path: string, options: SourceOptions = {}): Source {
  const logger = options.logger ?? consoleLogger;
  const file = resolve(path);
  const { document, name } = readIniFile(file, 'configuration file', logger);
  for (const section of document.sections()) {
    if (section !== 'oxd' && section !== 'client')
      debug('%s: ignoring section [%s]', name, section);
  }
  const where = (section: SectionName, spelling: string): string =>
    `${name}: [${section}] ${spelling}`;
  const given: GivenBySection = { oxd: new Map(), client: new Map() };
  for (const section of SECTIONS) {
    const specs = table(section);
    const lookup = spellingIndex(specs, false);
    // [DEFAULT] values apply to every section (as in configparser); only a section's own keys
    // are checked for typos, so that a [DEFAULT] key is not reported once per section.
    const own = document.ownEntries(section);
    for (const [key, value] of document.entries(section)) {
      const setting = lookup.get(key);
      if (setting === undefined) {
        if (own.has(key))
          unknownIniKey(specs, lookup, { file, name, section, key, where: where(section, key) });
        continue;
      }
      if (value === '') continue;
      add(given, section, setting, { spelling: key, value });
    }
  }
  const secretsFile = secretsFileOf(given, dirname(file), logger);
  const env = options.env ?? process.env;
  for (const [setting, variable] of Object.entries(SECRET_ENV)) {
    const value = env[variable];
    if (value === undefined || value.trim() === '') continue;
    given.client.set(setting, [{ spelling: variable, value, where: `environment ${variable}` }]);
  }
  return { iniFile: file, file: secretsFile ?? file, where, directory: dirname(file), given };
}

/**
 * Reads the `secrets_file` the settings name, if any: its registration results replace
 * those given in the configuration. Returns its absolute path (the write-back target). A
 * missing secrets file is fine: registration creates it.
 */
function secretsFileOf(
  given: GivenBySection,
  directory: string,
  logger: Logger,
): string | undefined {
  const named = given.client.get('secretsFile')?.[0]?.value;
  if (typeof named !== 'string' || named.trim() === '') return undefined;
  const file = resolve(directory, named.trim());
  const read = readIniFile(file, 'secrets file', logger, true);
  if (read === undefined) return file;
  const { document, name } = read;
  for (const section of SECTIONS) {
    const lookup = spellingIndex(table(section), false);
    for (const key of SECRETS_FILE_KEYS[section]) {
      const value = document.get(section, key);
      const setting = lookup.get(key);
      if (value === undefined || value.trim() === '' || setting === undefined) continue;
      given[section].set(setting, [
        { spelling: key, value, where: `${name}: [${section}] ${key}` },
      ]);
    }
  }
  return file;
}

/**
 * A key of `[oxd]` / `[client]` that names no setting. One that oxd-python knows is left
 * alone; one a known spelling is near to (a likely typo) or an object-only setting fails;
 * any other is ignored with a process warning, so that it is seen.
 */
function unknownIniKey(
  specs: SectionTable,
  lookup: ReadonlyMap<string, string>,
  at: { file: string; name: string; section: SectionName; key: string; where: string },
): void {
  const { file, name, section, key, where } = at;
  if (OXD_PYTHON_ONLY_KEYS[section].includes(key)) {
    debug('%s: ignoring [%s] %s, which only oxd-python reads', name, section, key);
    return;
  }
  const objectOnly = Object.values(specs).find((spec) => spec.objectOnly && spec.ini === key);
  if (objectOnly !== undefined) {
    throw new OxdConfigError(
      `${where} is accepted only in a settings object` +
        (objectOnly.iniInstead === undefined ? '' : `; in the file set ${objectOnly.iniInstead}`),
      { key: `${section}.${key}`, file },
    );
  }
  if (closest(key, [...lookup.keys()]) !== undefined) {
    throw new OxdConfigError(notASetting(where, section, key, lookup.keys()), {
      key: `${section}.${key}`,
      file,
    });
  }
  process.emitWarning(
    `${where} is not a setting and is ignored (the ${section} settings are listed in the README)`,
    { type: 'OxdConfigWarning', code: 'OXD_CONFIG_UNKNOWN_KEY' },
  );
}

export function objectSource(input: ConfigInput, options: SourceOptions = {}): Source {
  const where = (section: SectionName, spelling: string): string => `config ${section}.${spelling}`;
  const invalid = (message: string, key: string): never => {
    throw new OxdConfigError(message, { key });
  };
  for (const key of Object.keys(input)) {
    if (key !== 'oxd' && key !== 'client' && key !== 'file') {
      invalid(`config has no ${show(key)} section; use oxd, client and file`, key);
    }
  }
  let file: string | undefined;
  if (input.file !== undefined) {
    if (typeof input.file !== 'string' || input.file.trim() === '') {
      invalid(
        `config file must be the path of the INI file to write registration results to, got ${show(input.file)}`,
        'file',
      );
    }
    file = resolve(input.file as string);
  }
  const given: GivenBySection = { oxd: new Map(), client: new Map() };
  for (const section of SECTIONS) {
    const values: unknown = input[section];
    if (values === undefined) continue;
    if (typeof values !== 'object' || values === null || Array.isArray(values)) {
      invalid(`config ${section} must be an object of settings, got ${show(values)}`, section);
    }
    const lookup = spellingIndex(table(section), true);
    for (const [key, value] of Object.entries(values as Record<string, unknown>)) {
      const setting = lookup.get(key);
      if (setting === undefined) {
        return invalid(
          notASetting(where(section, key), section, key, lookup.keys()),
          `${section}.${key}`,
        );
      }
      if (value === undefined || value === null || value === '') continue;
      if (Array.isArray(value) && value.length === 0) continue;
      add(given, section, setting, { spelling: key, value });
    }
  }
  const secretsFile = secretsFileOf(given, process.cwd(), options.logger ?? consoleLogger);
  return { iniFile: undefined, file: secretsFile ?? file, where, directory: process.cwd(), given };
}

/** The known spelling nearest to a mistyped one (edit distance at most 2). */
function closest(typo: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  const lower = typo.toLowerCase();
  for (const candidate of known) {
    const distance = editDistance(lower, candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
