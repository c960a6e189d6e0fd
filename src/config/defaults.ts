/**
 * Every default of the configuration, taken from the settings table (src/config/settings.ts).
 * `resolveConfig()` uses a default when a setting is absent or empty (`key =` in the INI file,
 * `undefined` or `[]` in an object).
 */
import { CLIENT_SETTINGS, OXD_SETTINGS, type SectionTable, type Setting } from './settings';
import type { DefaultsOf } from './types';

export interface Defaults {
  readonly oxd: DefaultsOf<typeof OXD_SETTINGS>;
  readonly client: DefaultsOf<typeof CLIENT_SETTINGS> & {
    /**
     * Grant types registered when a protection token is needed (HTTPS, or a socket with
     * `protect_commands = true`): `get_client_token` uses the `client_credentials` grant.
     */
    readonly grantTypesWithClientToken: readonly string[];
  };
}

function defaultsOf(table: SectionTable): Record<string, unknown> {
  const defaults: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(table) as [string, Setting<unknown>][]) {
    if (spec.default !== undefined) defaults[name] = spec.default;
  }
  return defaults;
}

/** The defaults, frozen. */
export const DEFAULTS: Defaults = Object.freeze({
  oxd: Object.freeze(defaultsOf(OXD_SETTINGS)) as Defaults['oxd'],
  client: Object.freeze({
    ...defaultsOf(CLIENT_SETTINGS),
    grantTypesWithClientToken: CLIENT_SETTINGS.grantTypes.defaultWithClientToken,
  }) as Defaults['client'],
});
