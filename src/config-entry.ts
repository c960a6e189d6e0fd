/**
 * `express-oxd/config`: the configuration tools `oxdAuth()` uses, for applications that read,
 * check or edit their configuration themselves (a set-up script, an admin page):
 *
 * - `resolveConfig(fileOrObject)` validates a configuration and returns it resolved and frozen,
 *   throwing an `OxdConfigError` that names the bad setting;
 * - `DEFAULTS` holds the default of every optional setting;
 * - `parseIni(text)` reads an oxd-python INI file into an `IniDocument` that can change values
 *   and print itself back with its comments and order kept;
 * - `writeBack(file, values)` stores registration results in a configuration file the way
 *   `oxdAuth()` does (temp file, rename, lock shared by processes); `assertWritable(file)`
 *   throws when that would fail.
 */
export {
  DEFAULTS,
  resolveConfig,
  parseIni,
  IniDocument,
  writeBack,
  assertWritable,
  type Defaults,
  type IniParseOptions,
  type WriteBackValues,
  type WriteBackOptions,
  type ResolveOptions,
  type ConfigInput,
  type OxdInput,
  type ClientInput,
  type OxdConfig,
  type OxdSettings,
  type ClientSettings,
} from './config';
