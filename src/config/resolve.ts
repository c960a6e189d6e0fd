/**
 * `resolveConfig()`: reads the INI file (or takes a settings object), parses every setting
 * with its parser from the settings table, applies the cross-field rules and the table's
 * defaults, and returns a deeply frozen result. This module is the only reader of the
 * configuration.
 */
import { OxdConfigError, ERROR_CODES } from '../errors';
import { show } from './parsers';
import { clientRules, needsWriteBack, oxdRules, type GivenValues, type Report } from './rules';
import { table, type SectionName, type Setting } from './settings';
import { objectSource, readIniSource, type Source, type SourceOptions } from './source';
import type { ClientSettings, ConfigInput, OxdConfig, OxdSettings } from './types';
import { assertWritable } from './write-back';

export { needsWriteBack } from './rules';
export type { ClientIniKey, ClientInput, ConfigInput, OxdIniKey, OxdInput } from './types';

/**
 * Options of {@link resolveConfig}: `logger` is told (once per file) about a file holding
 * secrets that other users can read; `env` stands in for `process.env`, which may hold
 * `EXPRESS_OXD_CLIENT_SECRET` and `EXPRESS_OXD_PROTECTION_ACCESS_TOKEN` (INI files only).
 */
export type ResolveOptions = SourceOptions;

/**
 * Resolves the configuration. `input` is the path of an INI file (relative to the working
 * directory), or an object `{ oxd, client, file }` whose sections use the {@link OxdSettings}
 * / {@link ClientSettings} names or the INI spellings.
 *
 * Throws {@link OxdConfigError}: `OXD_CONFIG_READ_FAILED` when the file (or `ca_file`)
 * cannot be read, `OXD_CONFIG_INVALID` naming the setting in `key`
 * (`client.authorization_redirect_uri`) for a bad or missing value or an unknown key,
 * `OXD_CONFIG_WRITE_FAILED` when registration results will have to be written back but the
 * file cannot be replaced (see {@link assertWritable}).
 */
export function resolveConfig(
  input: string | ConfigInput,
  options: ResolveOptions = {},
): OxdConfig {
  if (typeof input === 'string') return build(readIniSource(input, options));
  if (typeof input === 'object' && input !== null && !Array.isArray(input)) {
    return build(objectSource(input, options));
  }
  throw new OxdConfigError(
    `resolveConfig() expects the path of an INI file or an object { oxd, client, file }, got ${show(input)}`,
  );
}

function build(source: Source): OxdConfig {
  const spec = (section: SectionName, setting: string): Setting<unknown> =>
    table(section)[setting] as Setting<unknown>;

  const report: Report = (section, setting, message, options = {}) => {
    const { ini, hint } = spec(section, setting);
    const first = source.given[section].get(setting)?.[0];
    const spelling = first?.spelling ?? (source.iniFile === undefined ? setting : ini);
    const file = source.iniFile ?? source.file;
    throw new OxdConfigError(
      `${first?.where ?? source.where(section, spelling)} ${message}; ${options.hint ?? hint}`,
      {
        key: `${section}.${ini}`,
        code: options.code ?? ERROR_CODES.CONFIG_INVALID,
        ...(file === undefined ? {} : { file }),
      },
      options.cause === undefined ? {} : { cause: options.cause },
    );
  };

  const parsed = { oxd: new Map<string, unknown>(), client: new Map<string, unknown>() };
  /** The parsed value given for a setting, parsed once, on first use. */
  function read(section: SectionName, setting: string): unknown {
    if (parsed[section].has(setting)) return parsed[section].get(setting);
    const [first, ...others] = source.given[section].get(setting) ?? [];
    let value: unknown;
    if (first !== undefined) {
      const same = JSON.stringify(first.value);
      const different = others.find((other) => JSON.stringify(other.value) !== same);
      if (different !== undefined) {
        const message = `is also given as ${different.spelling} with a different value`;
        report(section, setting, message, { hint: 'keep one of them' });
      }
      value = spec(section, setting).parse(first.value, (message) =>
        report(section, setting, message),
      );
    }
    parsed[section].set(setting, value);
    return value;
  }
  const given: GivenValues = {
    oxd: (setting) => read('oxd', setting) as never,
    client: (setting) => read('client', setting) as never,
  };

  function checkRequired(section: SectionName): void {
    for (const [setting, { required }] of Object.entries(table(section))) {
      if (required === true && read(section, setting) === undefined) {
        report(section, setting, 'is missing');
      }
    }
  }
  /** Every setting of a section: decided by a rule, else as given, else its default. */
  function settle(section: SectionName, decided: object): Record<string, unknown> {
    const settled: Record<string, unknown> = {};
    for (const [setting, { default: fallback }] of Object.entries(table(section))) {
      settled[setting] = Object.hasOwn(decided, setting)
        ? (decided as Record<string, unknown>)[setting]
        : (read(section, setting) ?? fallback);
    }
    return settled;
  }

  checkRequired('oxd');
  const oxd = settle('oxd', oxdRules(given, report, source.directory)) as OxdSettings;
  const needsClientToken = oxd.https || oxd.protectCommands;
  checkRequired('client');
  const client = settle(
    'client',
    clientRules(given, report, needsClientToken, source.directory),
  ) as ClientSettings;

  const config: OxdConfig = { oxd, client, file: source.file };
  if (source.file !== undefined && needsWriteBack(config)) assertWritable(source.file);
  return deepFreeze(config);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
