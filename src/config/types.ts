/**
 * The types of the configuration, derived from the settings table (src/config/settings.ts),
 * which describes every setting: its INI key, parser, default and meaning. The INI file's
 * `[oxd]` / `[client]` snake_case keys map onto these camelCase fields (comma lists become
 * arrays); a plain object given to `resolveConfig()` uses the same camelCase shape (or the
 * INI's snake_case keys, section by section).
 */
import type { Parser } from './parsers';
import type { CLIENT_SETTINGS, OXD_SETTINGS } from './settings';

export type { ServerVersion } from './parsers';

/** The resolved `[oxd]` settings: how to reach the oxd server. */
export type OxdSettings = SettingsOf<typeof OXD_SETTINGS>;

/** The resolved `[client]` settings: the OpenID Connect client. */
export type ClientSettings = SettingsOf<typeof CLIENT_SETTINGS>;

/** The resolved, validated and frozen configuration. */
export interface OxdConfig {
  readonly oxd: OxdSettings;
  readonly client: ClientSettings;
  /** Absolute path of the INI file it came from, if any (write-back target). */
  readonly file: string | undefined;
}

/** `[oxd]` keys as the INI file spells them (aliases included). */
export type OxdIniKey = IniKeysOf<typeof OXD_SETTINGS>;

/** `[client]` keys as the INI file spells them (aliases included). */
export type ClientIniKey = IniKeysOf<typeof CLIENT_SETTINGS>;

/** What an object may give for a setting whose resolved type is `T`. */
type InputOf<T> = T extends readonly string[]
  ? readonly string[] | string
  : T extends number
    ? number | string
    : T extends boolean
      ? boolean | string
      : string;

type CamelInput<S> = { readonly [K in keyof S]?: InputOf<NonNullable<S[K]>> };

type IniInput<K extends string> = {
  readonly [P in K]?: string | number | boolean | readonly string[];
};

/**
 * `[oxd]` settings in an object: the {@link OxdSettings} names (`ca` takes PEM text, `caFile`
 * a path) or the INI spellings. Numbers and booleans may be given as the INI's strings.
 */
export type OxdInput = CamelInput<OxdSettings> & IniInput<OxdIniKey>;

/** `[client]` settings in an object: the {@link ClientSettings} names or the INI spellings. */
export type ClientInput = CamelInput<ClientSettings> & IniInput<ClientIniKey>;

/** Settings given as an object instead of an INI file. */
export interface ConfigInput {
  readonly oxd?: OxdInput;
  readonly client?: ClientInput;
  /** INI file that registration results are written back to (it is not read). */
  readonly file?: string;
}

/**
 * Values the client writes back to the INI file after registration, keyed by section and
 * INI key (snake_case, as the file spells them): the settings the table marks as written
 * back. `undefined` values are skipped.
 */
export interface WriteBackValues {
  oxd?: { [K in WrittenBackKeysOf<typeof OXD_SETTINGS>]?: string | undefined };
  client?: { [K in WrittenBackKeysOf<typeof CLIENT_SETTINGS>]?: string | undefined };
}

// Derivations from a section's table.

type ValueOf<S> = S extends { readonly parse: Parser<infer T> } ? T : never;
type Resolved<S> = S extends { readonly required: true } | { readonly default: unknown }
  ? ValueOf<S>
  : ValueOf<S> | undefined;

/** The resolved settings of one section's table. */
export type SettingsOf<Table> = { readonly [K in keyof Table]: Resolved<Table[K]> };

/** Its defaults: the settings that have one. */
export type DefaultsOf<Table> = {
  readonly [
    K in keyof Table as Table[K] extends { readonly default: unknown } ? K : never
  ]: ValueOf<Table[K]>;
};

/** Its INI spellings, aliases included (object-only settings have none). */
export type IniKeysOf<Table> = {
  [K in keyof Table]: Table[K] extends { readonly objectOnly: true }
    ? never
    : Table[K] extends { readonly ini: infer I extends string; readonly aliases?: infer A }
      ? I | (A extends readonly (infer X)[] ? X : never)
      : never;
}[keyof Table];

/** The INI spellings of the settings registration writes back. */
export type WrittenBackKeysOf<Table> = {
  [K in keyof Table]: Table[K] extends {
    readonly ini: infer I extends string;
    readonly writtenBack: string;
  }
    ? I
    : never;
}[keyof Table];
