/**
 * Creating an oxd client from a configuration file or object: the one place that joins the
 * configuration (which knows about files) to the oxd client (which does not). Registration
 * results are written back into the configuration file through the client's `writeBack`
 * callback; processes sharing the file register once (`registerOnce`, under the file's
 * lock) and adopt a registration another process saved later (`readSaved`).
 */
import { debuglog } from 'node:util';
import { resolveConfig, type ConfigInput } from './config/resolve';
import { needsWriteBack } from './config/rules';
import type { OxdConfig, WriteBackValues } from './config/types';
import {
  readSavedRegistration,
  withConfigLock,
  writeBack,
  type ConfigLockOptions,
} from './config/write-back';
import { OxdClient as OxdClientBase, type OxdClientOptions } from './oxd/client';
import type { RegisterOnce } from './oxd/registration';
import { LOGGER_METHODS, loggerOf } from './logger';
import { hasMethods, isPlainObject, type Fail } from './option-check';

const debug = debuglog('express-oxd');

/**
 * The `OxdClient` of the package entry: the oxd client (`oxd/client.ts`, which reads no
 * configuration files) with `OxdClient.fromConfig()`, the same function as
 * {@link createOxdClient}. Clients made from a configuration are of this class.
 */
export class OxdClient extends OxdClientBase {
  /**
   * Resolves `input` (INI file path or settings object, see `resolveConfig`) and creates a
   * client that writes its registration back into the file. Throws `OxdConfigError` for a
   * bad configuration.
   * @deprecated Use `createOxdClient()`, which is the same function.
   */
  static readonly fromConfig: (
    input: string | ConfigInput,
    options?: OxdClientOptions,
  ) => OxdClient = createOxdClient;
}

/** Registration under the file's lock: re-read, register only if still needed, write. */
function registerOnceIn(file: string, lock: ConfigLockOptions): RegisterOnce {
  return (register) =>
    withConfigLock(
      file,
      async (locked) => {
        const saved = await locked.read();
        const fresh = await register(saved);
        if (fresh === undefined) return saved;
        await locked.write(fresh);
        return {
          oxd: { ...saved.oxd, ...fresh.oxd },
          client: { ...saved.client, ...fresh.client },
        };
      },
      lock,
    );
}

function onlyProtectionToken(values: WriteBackValues): boolean {
  const keys = [
    ...Object.keys(values.oxd ?? {}),
    ...Object.keys(values.client ?? {}).map((key) => `client.${key}`),
  ];
  return keys.length === 1 && keys[0] === 'client.protection_access_token';
}

/**
 * A client for an already resolved configuration. Unless `options.writeBack` says otherwise
 * (a callback of its own, or `false` for memory only), registration results are written
 * into `config.file` when the configuration came from a file. A file that already holds
 * the registration may be read-only: the protection token (which can always be fetched
 * again) is then kept in memory when it cannot be written. `lock` sets the lease of the
 * file's registration lock (tests use a short one).
 */
export function oxdClientFor(
  config: OxdConfig,
  options: OxdClientOptions = {},
  lock: ConfigLockOptions = {},
): OxdClient {
  const { file } = config;
  if (options.writeBack !== undefined || file === undefined) return new OxdClient(config, options);
  const registered = !needsWriteBack(config);
  const { logger } = options;
  return new OxdClient(config, {
    registerOnce: registerOnceIn(file, { logger, ...lock }),
    readSaved: () => readSavedRegistration(file),
    ...options,
    writeBack: async (values) => {
      try {
        await writeBack(file, values, { logger });
      } catch (error) {
        if (!registered || !onlyProtectionToken(values)) throw error;
        debug('write-back: keeping the protection token in memory (%s)', String(error));
      }
    },
  });
}

/**
 * Resolves `input` (INI file path or settings object, see `resolveConfig`) and creates a
 * client for it that writes its registration back into the file (as `oxdAuth()` does).
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
  // Checked before the configuration is read: reading it may already warn through it.
  const logger = loggerOf(options.logger, 'OxdClient option');
  return oxdClientFor(resolveConfig(input, { logger }), options);
}

/**
 * The oxd client of a middleware's options: `client` when given (checked for `methods`),
 * else a new `OxdClient` for the configuration `config()` resolves, with `clientOptions`
 * (and the middleware's `logger`, unless `clientOptions` has its own). Shared by `oxdAuth()` and the UMA middleware; `fail(key, message)` throws their error.
 */
export function resolveClient(
  options: Record<string, unknown>,
  config: () => OxdConfig,
  methods: readonly string[],
  fail: Fail,
): OxdClient {
  if (options.client !== undefined && !hasMethods(options.client, methods)) {
    fail('client', `must be an OxdClient (with ${methods.join(', ')})`);
  }
  if (options.clientOptions !== undefined && !isPlainObject(options.clientOptions)) {
    fail('clientOptions', 'must be an object');
  }
  if (options.client !== undefined) return options.client as OxdClient;
  const logger = hasMethods(options.logger, LOGGER_METHODS)
    ? (options.logger as OxdClientOptions['logger'])
    : undefined;
  return oxdClientFor(config(), {
    ...(logger === undefined ? {} : { logger }),
    ...(options.clientOptions as OxdClientOptions | undefined),
  });
}
