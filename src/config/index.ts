export { DEFAULTS, type Defaults } from './defaults';
export { IniDocument, parseIni, type IniParseOptions } from './ini';
export {
  needsWriteBack,
  resolveConfig,
  type ClientIniKey,
  type ClientInput,
  type ConfigInput,
  type OxdIniKey,
  type OxdInput,
  type ResolveOptions,
} from './resolve';
export type { ClientSettings, OxdConfig, OxdSettings, WriteBackValues } from './types';
export { assertWritable, writeBack, type WriteBackOptions } from './write-back';
