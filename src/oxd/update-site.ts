/**
 * `updateSite()` without parameters, as oxd-python's `update_site()` does it: the `[client]`
 * values of the configuration sent again, as the registration sends them, less what only a
 * registration takes (where the OP is, the registration-management credentials).
 */
import type { OxdConfig } from '../config/types';
import type { ParamsOf } from './commands';
import { registrationRequest } from './registration';

/** Registration parameters `update_site` does not take. */
const REGISTRATION_ONLY: readonly string[] = [
  'op_host',
  'op_discovery_path',
  'op_configuration_endpoint',
  'client_registration_access_token',
  'client_registration_client_uri',
];

/** The `update_site` parameters the configuration's `[client]` section gives. */
export function updateSiteParamsFromConfig(
  config: OxdConfig,
  usesToken: boolean,
): ParamsOf<'updateSite'> {
  const { params } = registrationRequest(config.client, config.oxd.serverVersion, usesToken);
  const update: Record<string, unknown> = { ...params };
  for (const key of REGISTRATION_ONLY) delete update[key];
  // oxd 3.1.4's UpdateSiteParams names the front-channel logout URIs client_logout_uris.
  if (config.oxd.serverVersion !== 4 && Array.isArray(update.client_frontchannel_logout_uris)) {
    update.client_logout_uris = update.client_frontchannel_logout_uris;
  }
  return update as ParamsOf<'updateSite'>;
}
