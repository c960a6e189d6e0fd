/**
 * The rules that tie settings together: what one setting's value means depends on another
 * (HTTPS host, CA file, grant types by protection token), or two settings must agree
 * (server version and transport, client id and secret). The settings table covers each
 * setting on its own; these run after it.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { ERROR_CODES } from '../errors';
import { DEFAULTS } from './defaults';
import { PEM_CERTIFICATE, show } from './parsers';
import type { SectionName } from './settings';
import type { ClientSettings, OxdConfig, OxdSettings } from './types';

export interface ReportOptions {
  /** Replaces the setting's own hint. */
  readonly hint?: string;
  readonly code?: typeof ERROR_CODES.CONFIG_INVALID | typeof ERROR_CODES.CONFIG_READ_FAILED;
  readonly cause?: unknown;
}

/** Throws the error about one setting (by its object name): `<where> <message>; <hint>`. */
export type Report = (
  section: SectionName,
  setting: string,
  message: string,
  options?: ReportOptions,
) => never;

/** The parsed values given for the settings (`undefined` when absent or empty). */
export interface GivenValues {
  oxd<K extends keyof OxdSettings>(setting: K): NonNullable<OxdSettings[K]> | undefined;
  client<K extends keyof ClientSettings>(setting: K): NonNullable<ClientSettings[K]> | undefined;
}

const HOST_NAME =
  /^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.?$/;

/** Settles `[oxd]` settings that depend on others; returns the values it decided. */
export function oxdRules(
  given: GivenValues,
  report: Report,
  directory: string,
): Pick<OxdSettings, 'host' | 'ca' | 'caFile'> {
  const https = given.oxd('https') ?? DEFAULTS.oxd.https;
  const version = given.oxd('serverVersion') ?? DEFAULTS.oxd.serverVersion;
  if (version === 4 && !https) {
    report('oxd', 'serverVersion', 'is 4, but oxd-server 4.x has no socket', {
      hint: 'set https_extension = true and host to its HTTPS URL, or server_version = 3',
    });
  }
  const host = resolveHost(given.oxd('host'), https, report);
  const ca = resolveCa(directory, given.oxd('ca'), given.oxd('caFile'), report, 'oxd');
  return { host, ca: ca.pem, caFile: ca.file };
}

/**
 * Settles `[client]` settings that depend on others; returns the values it decided.
 * `needsClientToken`: a protection token is needed (HTTPS, or `protect_commands`).
 */
export function clientRules(
  given: GivenValues,
  report: Report,
  needsClientToken: boolean,
  directory: string,
): Pick<ClientSettings, 'grantTypes' | 'opCa' | 'opCaFile'> {
  const scope = given.client('scope') ?? DEFAULTS.client.scope;
  if (!scope.includes('openid')) {
    report(
      'client',
      'scope',
      `must include openid for OpenID Connect login, got ${show(scope.join(','))}`,
    );
  }
  const clientId = given.client('clientId');
  const clientSecret = given.client('clientSecret');
  if ((clientId === undefined) !== (clientSecret === undefined)) {
    const missing = clientId === undefined ? 'clientId' : 'clientSecret';
    const present = clientId === undefined ? 'client_secret' : 'client_id';
    report('client', missing, `is missing while ${present} is set`);
  }
  const opCa = resolveCa(
    directory,
    given.client('opCa'),
    given.client('opCaFile'),
    report,
    'client',
  );
  return {
    opCa: opCa.pem,
    opCaFile: opCa.file,
    grantTypes:
      given.client('grantTypes') ??
      (needsClientToken ? DEFAULTS.client.grantTypesWithClientToken : DEFAULTS.client.grantTypes),
  };
}

/**
 * Whether starting with this configuration registers and so writes results back: no
 * `oxd_id` yet, or a protection token is needed (HTTPS, or `protect_commands`) and the
 * client credentials it is obtained with are not known yet.
 */
export function needsWriteBack(config: OxdConfig): boolean {
  const needsClientToken = config.oxd.https || config.oxd.protectCommands;
  const hasCredentials =
    config.client.clientId !== undefined && config.client.clientSecret !== undefined;
  return config.oxd.oxdId === undefined || (needsClientToken && !hasCredentials);
}

/**
 * Socket: a host name or IP address. HTTPS: a URL or `host[:port]`, given `https://` when it
 * has no scheme (as oxd-python does); there is no default, the port differs per install.
 */
function resolveHost(given: string | undefined, https: boolean, report: Report): string {
  const fail = (message: string, hint?: string): never =>
    report('oxd', 'host', message, hint === undefined ? {} : { hint });
  if (!https) {
    if (given === undefined) return DEFAULTS.oxd.host;
    if (given.includes('://')) {
      return fail(
        `is a URL (${show(given)}) but https_extension is off: set https_extension = true, or give a host name`,
      );
    }
    const bare = given.startsWith('[') && given.endsWith(']') ? given.slice(1, -1) : given;
    if (isIP(bare) !== 0) return bare;
    if (HOST_NAME.test(given)) return given;
    return fail(
      `is not a host name or IP address, got ${show(given)}${given.includes(':') ? ' (the port goes in port)' : ''}`,
    );
  }
  if (given === undefined) {
    return fail(
      'is missing, and with https_extension = true there is no default',
      'set it to the oxd HTTPS URL, e.g. https://127.0.0.1:8443',
    );
  }
  const withScheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(given) ? given : `https://${given}`;
  let parsed: URL;
  try {
    parsed = new URL(withScheme);
  } catch {
    return fail(`is not a URL or host[:port], got ${show(given)}`);
  }
  if (parsed.protocol !== 'https:') return fail(`must be an https URL, got ${show(given)}`);
  if (
    parsed.username !== '' ||
    parsed.password !== '' ||
    parsed.search !== '' ||
    parsed.hash !== ''
  ) {
    return fail(
      `must be a plain https base URL without user, query or fragment, got ${show(given)}`,
    );
  }
  return parsed.href;
}

/**
 * A CA given as PEM text or as a file (read relative to `directory`), not both: `[oxd]`
 * `ca` / `ca_file` (the oxd HTTPS server), `[client]` `op_ca` / `op_ca_file` (the OP).
 */
function resolveCa(
  directory: string,
  pem: string | undefined,
  file: string | undefined,
  report: Report,
  section: 'oxd' | 'client',
): { pem: string | undefined; file: string | undefined } {
  const [pemName, fileName] = section === 'oxd' ? ['ca', 'caFile'] : ['opCa', 'opCaFile'];
  if (pem !== undefined && file !== undefined) {
    report(section, pemName, `and ${fileName} are both set`, { hint: 'give one of them' });
  }
  if (file === undefined) return { pem, file: undefined };
  const path = resolve(directory, file);
  let content: string;
  try {
    content = readFileSync(path, 'utf8');
  } catch (error) {
    const message = `names ${path}, which cannot be read (${(error as Error).message})`;
    return report(section, fileName, message, {
      code: ERROR_CODES.CONFIG_READ_FAILED,
      cause: error,
    });
  }
  if (!PEM_CERTIFICATE.test(content)) {
    report(section, fileName, `names ${path}, which holds no PEM certificate`);
  }
  return { pem: content, file: path };
}
