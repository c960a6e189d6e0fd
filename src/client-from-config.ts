/**
 * Creating an oxd client from a configuration file or object: the one place that joins the
 * configuration (which knows about files) to the oxd client (which does not). Registration
 * results are written back into the configuration file through the client's `writeBack`
 * callback.
 */
import { resolveConfig, type ConfigInput } from './config/resolve';
import type { OxdConfig } from './config/types';
import { writeBack } from './config/write-back';
import { OxdClient, type OxdClientOptions } from './oxd/client';

/**
 * A client for an already resolved configuration. Unless `options.writeBack` says otherwise
 * (a callback of its own, or `false` for memory only), registration results are written
 * into `config.file` when the configuration came from a file.
 */
export function oxdClientFor(config: OxdConfig, options: OxdClientOptions = {}): OxdClient {
  const { file } = config;
  if (options.writeBack !== undefined || file === undefined) return new OxdClient(config, options);
  return new OxdClient(config, { ...options, writeBack: (values) => writeBack(file, values) });
}

/**
 * Resolves `input` (INI file path or settings object, see `resolveConfig`) and creates a
 * client for it that writes its registration back into the file (see {@link oxdClientFor}).
 * Throws `OxdConfigError` for a bad configuration.
 *
 * @example
 * const oxd = createOxdClient('/etc/site/oxd.cfg');
 * const { authorization_url } = await oxd.getAuthorizationUrl();
 */
export function createOxdClient(
  input: string | ConfigInput,
  options: OxdClientOptions = {},
): OxdClient {
  return oxdClientFor(resolveConfig(input), options);
}

OxdClient.fromConfig = createOxdClient;
