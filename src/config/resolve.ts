/**
 * `resolveConfig()`: reads the INI file (or takes a settings object), maps `[oxd]` /
 * `[client]` keys onto {@link OxdConfig}, validates every setting, applies {@link DEFAULTS}
 * and returns a deeply frozen result. This module is the only reader of the configuration.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { debuglog } from 'node:util';
import { ERROR_CODES, OxdConfigError } from '../errors';
import type { ServerVersion } from '../oxd/commands';
import { DEFAULTS } from './defaults';
import { parseIni } from './ini';
import type { ClientSettings, OxdConfig, OxdSettings } from './types';
import { assertWritable } from './write-back';

const debug = debuglog('express-oxd');

type SectionName = 'oxd' | 'client';

/** What an object may give for a setting whose resolved type is `T`. */
type InputOf<T> = T extends readonly string[]
  ? readonly string[] | string
  : T extends number
    ? number | string
    : T extends boolean
      ? boolean | string
      : string;

type CamelInput<S> = { readonly [K in keyof S]?: InputOf<NonNullable<S[K]>> };

/** `[oxd]` keys as the INI file spells them (aliases included). */
export type OxdIniKey =
  | 'host'
  | 'port'
  | 'https_extension'
  | 'server_version'
  | 'id'
  | 'oxd_id'
  | 'protect_commands'
  | 'connect_timeout'
  | 'response_timeout'
  | 'pool_size'
  | 'ca_file';

/** `[client]` keys as the INI file spells them (aliases included). */
export type ClientIniKey =
  | 'op_host'
  | 'op_discovery_path'
  | 'op_configuration_endpoint'
  | 'authorization_redirect_uri'
  | 'redirect_uris'
  | 'post_logout_redirect_uri'
  | 'client_frontchannel_logout_uris'
  | 'client_logout_uris'
  | 'scope'
  | 'scopes'
  | 'response_types'
  | 'grant_types'
  | 'acr_values'
  | 'contacts'
  | 'ui_locales'
  | 'claims_locales'
  | 'claims_redirect_uri'
  | 'client_request_uris'
  | 'client_name'
  | 'client_jwks_uri'
  | 'client_token_endpoint_auth_method'
  | 'client_sector_identifier_uri'
  | 'application_type'
  | 'client_id'
  | 'client_secret'
  | 'client_registration_access_token'
  | 'client_registration_client_uri'
  | 'protection_access_token';

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

type Fail = (problem: string) => never;
type Parser<T> = (raw: unknown, fail: Fail) => T;
interface ReportOptions {
  /** Replaces the setting's own hint. */
  readonly hint?: string;
  readonly code?: typeof ERROR_CODES.CONFIG | typeof ERROR_CODES.CONFIG_READ;
  readonly cause?: unknown;
}
/** Throws the error about one setting: `<where> <message>; <hint>`. */
type Report = (
  section: SectionName,
  setting: string,
  message: string,
  options?: ReportOptions,
) => never;

interface Spec<T> {
  /** The INI spelling, used in error keys (`client.authorization_redirect_uri`). */
  readonly ini: string;
  /** Other INI spellings accepted for the same setting. */
  readonly aliases?: readonly string[];
  /** Accepted only in an object (the value cannot be written in an INI file). */
  readonly objectOnly?: true;
  readonly parse: Parser<T>;
  /** What to do, appended to every message about this setting. */
  readonly hint: string;
}

type Specs<S> = { readonly [K in keyof S]-?: Spec<NonNullable<S[K]>> };

const TRUE_WORDS = new Set(['true', 'yes', '1']);
const FALSE_WORDS = new Set(['false', 'no', '0']);
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);
const MAX_TIMER_MS = 2_147_483_647;
const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----/;
const HOST_NAME =
  /^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.?$/;
const TOKEN_ENDPOINT_AUTH_METHODS = [
  'client_secret_basic',
  'client_secret_post',
  'client_secret_jwt',
  'private_key_jwt',
  'tls_client_auth',
  'self_signed_tls_client_auth',
  'none',
];

function show(raw: unknown): string {
  const text = typeof raw === 'string' ? raw : JSON.stringify(raw);
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 77)}...` : text);
}

const text: Parser<string> = (raw, fail) =>
  typeof raw === 'string' ? raw.trim() : fail(`must be a string (got ${show(raw)})`);

/** PEM text, kept exactly as given. */
const pem: Parser<string> = (raw, fail) => {
  if (typeof raw !== 'string') return fail('must be a string of PEM text');
  return PEM_CERTIFICATE.test(raw) ? raw : fail('is not PEM text with a certificate');
};

/** Like `text`, for values that must never appear in a message. */
const secret: Parser<string> = (raw, fail) =>
  typeof raw === 'string' ? raw.trim() : fail('must be a string');

const bool: Parser<boolean> = (raw, fail) => {
  if (typeof raw === 'boolean') return raw;
  const word = typeof raw === 'string' ? raw.trim().toLowerCase() : undefined;
  if (word !== undefined && TRUE_WORDS.has(word)) return true;
  if (word !== undefined && FALSE_WORDS.has(word)) return false;
  return fail(`must be true or false (yes/no and 1/0 are accepted too), got ${show(raw)}`);
};

function integer(min: number, max: number): Parser<number> {
  return (raw, fail) => {
    const value =
      typeof raw === 'number'
        ? raw
        : typeof raw === 'string' && /^\s*\d+\s*$/.test(raw)
          ? +raw
          : NaN;
    if (!Number.isInteger(value) || value < min || value > max) {
      return fail(`must be a whole number from ${min} to ${max}, got ${show(raw)}`);
    }
    return value;
  };
}

const serverVersion: Parser<ServerVersion> = (raw, fail) => {
  const value = integer(3, 4)(raw, () => fail(`must be 3 or 4, got ${show(raw)}`));
  return value as ServerVersion;
};

function oneOf(values: readonly string[]): Parser<string> {
  return (raw, fail) => {
    const value = text(raw, fail);
    return values.includes(value)
      ? value
      : fail(`must be one of ${values.join(', ')}, got ${show(raw)}`);
  };
}

/**
 * An absolute URL. `op`: https only. `app` (the application's own URLs): https, or http on
 * a loopback host for local development. `redirect`: `app` without a `#fragment`.
 */
function url(rule: 'op' | 'app' | 'redirect'): Parser<string> {
  return (raw, fail) => {
    const value = text(raw, fail);
    let parsed: URL;
    try {
      parsed = new URL(value);
    } catch {
      return fail(`is not an absolute URL, got ${show(value)}`);
    }
    const loopbackHttp =
      rule !== 'op' && parsed.protocol === 'http:' && LOOPBACK_HOSTS.has(parsed.hostname);
    if (parsed.protocol !== 'https:' && !loopbackHttp) {
      return fail(
        rule === 'op'
          ? `must be an https URL, got ${show(value)}`
          : `must be an https URL (http is accepted only for localhost, 127.0.0.1 and [::1]), got ${show(value)}`,
      );
    }
    if (parsed.username !== '' || parsed.password !== '') {
      return fail('must not contain a user name or password');
    }
    if (rule === 'redirect' && parsed.hash !== '') {
      return fail(`must not have a #fragment (redirect URIs cannot), got ${show(value)}`);
    }
    return value;
  };
}

function list(item?: Parser<string>): Parser<readonly string[]> {
  return (raw, fail) => {
    let items: string[];
    if (typeof raw === 'string') items = raw.split(',');
    else if (Array.isArray(raw) && raw.every((entry) => typeof entry === 'string')) {
      items = raw as string[];
    } else {
      return fail(`must be a comma-separated string or an array of strings, got ${show(raw)}`);
    }
    const values = items.map((entry) => entry.trim()).filter((entry) => entry !== '');
    return item === undefined ? values : values.map((entry) => item(entry, fail));
  };
}

const scopeItem: Parser<string> = (raw, fail) => {
  const value = text(raw, fail);
  return /\s/.test(value) ? fail(`has a value with a space (${show(value)})`) : value;
};

const REDIRECT_HINT =
  'set it to the absolute https URL of your callback route, e.g. https://app.example.com/callback';

const OXD_SPECS: Specs<OxdSettings> = {
  host: {
    ini: 'host',
    parse: text,
    hint:
      'set it to the oxd socket host (e.g. localhost), or with https_extension = true to the ' +
      'oxd HTTPS URL (e.g. https://127.0.0.1:8443)',
  },
  port: { ini: 'port', parse: integer(1, 65535), hint: 'set it to the oxd socket port, e.g. 8099' },
  https: {
    ini: 'https_extension',
    parse: bool,
    hint: 'set it to true (oxd over HTTPS) or false (oxd socket)',
  },
  serverVersion: {
    ini: 'server_version',
    parse: serverVersion,
    hint: 'set 3 for oxd-server 3.x / oxd-https-extension 3.x, 4 for oxd-server 4.x',
  },
  oxdId: {
    ini: 'id',
    aliases: ['oxd_id'],
    parse: text,
    hint: 'leave it empty to register at start, or set the oxd_id of an existing registration',
  },
  protectCommands: {
    ini: 'protect_commands',
    parse: bool,
    hint: 'set it to true when oxd-conf.json has protect_commands_with_access_token: true',
  },
  connectTimeoutMs: {
    ini: 'connect_timeout',
    parse: integer(1, MAX_TIMER_MS),
    hint: 'set it in milliseconds, e.g. 5000',
  },
  responseTimeoutMs: {
    ini: 'response_timeout',
    parse: integer(1, MAX_TIMER_MS),
    hint: 'set it in milliseconds, e.g. 30000',
  },
  poolSize: {
    ini: 'pool_size',
    parse: integer(1, 64),
    hint: 'set how many oxd socket connections to keep at most, e.g. 4',
  },
  ca: {
    ini: 'ca',
    objectOnly: true,
    parse: pem,
    hint: 'give the PEM text of the CA certificate(s) that signed the oxd HTTPS certificate',
  },
  caFile: {
    ini: 'ca_file',
    parse: text,
    hint: 'set it to a PEM file with the CA certificate(s) that signed the oxd HTTPS certificate',
  },
};

const CLIENT_SPECS: Specs<ClientSettings> = {
  opHost: {
    ini: 'op_host',
    parse: url('op'),
    hint: 'set it to the https URL of your OpenID Provider, e.g. https://op.example.com',
  },
  opDiscoveryPath: {
    ini: 'op_discovery_path',
    parse: text,
    hint: 'set it to the discovery path below op_host, or leave it empty',
  },
  opConfigurationEndpoint: {
    ini: 'op_configuration_endpoint',
    parse: url('op'),
    hint: 'set it to the https URL of the OP discovery document (…/.well-known/openid-configuration)',
  },
  authorizationRedirectUri: {
    ini: 'authorization_redirect_uri',
    parse: url('redirect'),
    hint: REDIRECT_HINT,
  },
  redirectUris: {
    ini: 'redirect_uris',
    parse: list(url('redirect')),
    hint: 'list extra absolute https callback URLs, comma-separated',
  },
  postLogoutRedirectUri: {
    ini: 'post_logout_redirect_uri',
    parse: url('app'),
    hint: 'set it to the absolute https URL users land on after logout, e.g. https://app.example.com/',
  },
  clientFrontchannelLogoutUris: {
    ini: 'client_frontchannel_logout_uris',
    aliases: ['client_logout_uris'],
    parse: list(url('app')),
    hint: 'list absolute https URLs, comma-separated, e.g. https://app.example.com/logout/frontchannel',
  },
  scope: {
    ini: 'scope',
    aliases: ['scopes'],
    parse: list(scopeItem),
    hint: 'list scopes separated by commas, e.g. openid,profile,email',
  },
  responseTypes: {
    ini: 'response_types',
    parse: list(),
    hint: 'list response types separated by commas, e.g. code',
  },
  grantTypes: {
    ini: 'grant_types',
    parse: list(),
    hint: 'list grant types separated by commas, e.g. authorization_code,refresh_token',
  },
  acrValues: { ini: 'acr_values', parse: list(), hint: 'list ACR values separated by commas' },
  contacts: { ini: 'contacts', parse: list(), hint: 'list e-mail addresses separated by commas' },
  uiLocales: {
    ini: 'ui_locales',
    parse: list(),
    hint: 'list locales separated by commas, e.g. en',
  },
  claimsLocales: {
    ini: 'claims_locales',
    parse: list(),
    hint: 'list locales separated by commas, e.g. en',
  },
  claimsRedirectUri: {
    ini: 'claims_redirect_uri',
    parse: list(url('app')),
    hint: 'list absolute https URLs of your UMA claims-gathering callback, comma-separated',
  },
  clientRequestUris: {
    ini: 'client_request_uris',
    parse: list(url('app')),
    hint: 'list absolute https request URIs, comma-separated',
  },
  clientName: { ini: 'client_name', parse: text, hint: 'set the name the OP shows for your app' },
  clientJwksUri: {
    ini: 'client_jwks_uri',
    parse: url('app'),
    hint: 'set it to the absolute https URL of your JWK set',
  },
  clientTokenEndpointAuthMethod: {
    ini: 'client_token_endpoint_auth_method',
    parse: oneOf(TOKEN_ENDPOINT_AUTH_METHODS),
    hint: 'leave it empty for the OP default (client_secret_basic)',
  },
  clientSectorIdentifierUri: {
    ini: 'client_sector_identifier_uri',
    parse: url('app'),
    hint: 'set it to one absolute https URL',
  },
  applicationType: {
    ini: 'application_type',
    parse: oneOf(['web', 'native']),
    hint: 'set it to web (the default) or native',
  },
  clientId: {
    ini: 'client_id',
    parse: secret,
    hint: 'set client_id and client_secret of a client registered at the OP, or neither',
  },
  clientSecret: {
    ini: 'client_secret',
    parse: secret,
    hint: 'set client_id and client_secret of a client registered at the OP, or neither',
  },
  clientRegistrationAccessToken: {
    ini: 'client_registration_access_token',
    parse: secret,
    hint: 'leave it to registration, which writes it',
  },
  clientRegistrationClientUri: {
    ini: 'client_registration_client_uri',
    parse: url('app'),
    hint: 'leave it to registration, which writes it',
  },
  protectionAccessToken: {
    ini: 'protection_access_token',
    parse: secret,
    hint: 'leave it to get_client_token, which writes it',
  },
};

const SPECS: { readonly [S in SectionName]: Readonly<Record<string, Spec<unknown>>> } = {
  oxd: OXD_SPECS,
  client: CLIENT_SPECS,
};

/** A setting's value as given, with the spelling it was given under. */
interface Given {
  readonly spelling: string;
  readonly value: unknown;
}

interface Source {
  /** Absolute path of the INI file read, if any. */
  readonly iniFile: string | undefined;
  /** Write-back target. */
  readonly file: string | undefined;
  /** How messages name the source: `demosite.cfg: [client] x` or `config client.x`. */
  readonly where: (section: SectionName, spelling: string) => string;
  /** Base for relative paths (`ca_file`). */
  readonly directory: string;
  readonly given: { readonly [S in SectionName]: ReadonlyMap<string, readonly Given[]> };
}

/**
 * Resolves the configuration. `input` is the path of an INI file (relative to the working
 * directory), or an object `{ oxd, client, file }` whose sections use the {@link OxdSettings}
 * / {@link ClientSettings} names or the INI spellings.
 *
 * Throws {@link OxdConfigError}: `OXD_CONFIG_READ_FAILED` when the file (or `ca_file`)
 * cannot be read, `OXD_CONFIG_INVALID` naming the setting in `key`
 * (`client.authorization_redirect_uri`) for a bad or missing value,
 * `OXD_CONFIG_WRITE_FAILED` when registration results will have to be written back but the
 * file cannot be replaced (see {@link assertWritable}).
 */
export function resolveConfig(input: string | ConfigInput): OxdConfig {
  if (typeof input === 'string') return build(readIniSource(input));
  if (typeof input === 'object' && input !== null && !Array.isArray(input)) {
    return build(objectSource(input));
  }
  throw new OxdConfigError(
    `resolveConfig() expects the path of an INI file or an object { oxd, client, file }, got ${show(input)}`,
  );
}

function displayPath(path: string): string {
  const fromHere = relative(process.cwd(), path);
  return fromHere !== '' && !fromHere.startsWith('..') && !isAbsolute(fromHere) ? fromHere : path;
}

function readIniSource(path: string): Source {
  const file = resolve(path);
  const name = displayPath(file);
  let content: string;
  try {
    content = readFileSync(file, 'utf8');
  } catch (error) {
    throw new OxdConfigError(
      `cannot read the configuration file ${file} (${(error as Error).message}); check the ` +
        'path (relative paths start at the working directory) or pass the settings as an object',
      { code: ERROR_CODES.CONFIG_READ, file },
      { cause: error },
    );
  }
  const document = parseIni(content, { file, name });
  for (const duplicate of document.duplicates()) {
    debug(
      '%s: [%s] %s is set on lines %s; the last one is used',
      name,
      duplicate.section,
      duplicate.key,
      duplicate.lines.join(', '),
    );
  }
  for (const section of document.sections()) {
    if (section !== 'oxd' && section !== 'client')
      debug('%s: ignoring section [%s]', name, section);
  }
  const given = { oxd: new Map<string, Given[]>(), client: new Map<string, Given[]>() };
  for (const section of ['oxd', 'client'] as const) {
    const specs = SPECS[section];
    const lookup = spellingIndex(specs, false);
    for (const [key, value] of document.entries(section)) {
      const setting = lookup.get(key);
      if (setting === undefined) {
        debug('%s: ignoring unknown key [%s] %s', name, section, key);
        continue;
      }
      if (value === '') continue;
      const list = given[section].get(setting) ?? [];
      list.push({ spelling: key, value });
      given[section].set(setting, list);
    }
  }
  return {
    iniFile: file,
    file,
    where: (section, spelling) => `${name}: [${section}] ${spelling}`,
    directory: dirname(file),
    given,
  };
}

/** Maps every accepted spelling (INI, aliases, and in objects the camelCase name) to it. */
function spellingIndex(
  specs: Readonly<Record<string, Spec<unknown>>>,
  forObject: boolean,
): Map<string, string> {
  const index = new Map<string, string>();
  for (const [setting, spec] of Object.entries(specs)) {
    if (forObject) index.set(setting, setting);
    if (forObject || spec.objectOnly !== true) {
      for (const spelling of [spec.ini, ...(spec.aliases ?? [])]) index.set(spelling, setting);
    }
  }
  return index;
}

function objectSource(input: ConfigInput): Source {
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
  const given = { oxd: new Map<string, Given[]>(), client: new Map<string, Given[]>() };
  for (const section of ['oxd', 'client'] as const) {
    const values: unknown = input[section];
    if (values === undefined) continue;
    if (typeof values !== 'object' || values === null || Array.isArray(values)) {
      invalid(`config ${section} must be an object of settings, got ${show(values)}`, section);
    }
    const lookup = spellingIndex(SPECS[section], true);
    for (const [key, value] of Object.entries(values as Record<string, unknown>)) {
      const setting = lookup.get(key);
      if (setting === undefined) {
        const guess = closest(key, [...lookup.keys()]);
        invalid(
          `${where(section, key)} is not a setting${guess === undefined ? '' : `; did you mean ${guess}?`}` +
            ` (the ${section} settings are listed in the README)`,
          `${section}.${key}`,
        );
      }
      if (value === undefined || value === null || value === '') continue;
      if (Array.isArray(value) && value.length === 0) continue;
      const list = given[section].get(setting as string) ?? [];
      list.push({ spelling: key, value });
      given[section].set(setting as string, list);
    }
  }
  return { iniFile: undefined, file, where, directory: process.cwd(), given };
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

function build(source: Source): OxdConfig {
  const report: Report = (section, setting, message, options = {}) => {
    const spec = SPECS[section][setting] as Spec<unknown>;
    const spelling =
      source.given[section].get(setting)?.[0]?.spelling ??
      (source.iniFile === undefined ? setting : spec.ini);
    const file = source.iniFile ?? source.file;
    throw new OxdConfigError(
      `${source.where(section, spelling)} ${message}; ${options.hint ?? spec.hint}`,
      {
        key: `${section}.${spec.ini}`,
        code: options.code ?? ERROR_CODES.CONFIG,
        ...(file === undefined ? {} : { file }),
      },
      options.cause === undefined ? {} : { cause: options.cause },
    );
  };

  function read(section: SectionName, setting: string): unknown {
    const spec = SPECS[section][setting] as Spec<unknown>;
    const [first, ...others] = source.given[section].get(setting) ?? [];
    if (first === undefined) return undefined;
    const same = JSON.stringify(first.value);
    const different = others.find((other) => JSON.stringify(other.value) !== same);
    if (different !== undefined) {
      const message = `is also given as ${different.spelling} with a different value`;
      report(section, setting, message, { hint: 'keep one of them' });
    }
    return spec.parse(first.value, (message) => report(section, setting, message));
  }
  const oxdValue = <K extends keyof OxdSettings>(setting: K) =>
    read('oxd', setting) as NonNullable<OxdSettings[K]> | undefined;
  const clientValue = <K extends keyof ClientSettings>(setting: K) =>
    read('client', setting) as NonNullable<ClientSettings[K]> | undefined;

  const https = oxdValue('https') ?? DEFAULTS.oxd.https;
  const version = oxdValue('serverVersion') ?? DEFAULTS.oxd.serverVersion;
  if (version === 4 && !https) {
    report('oxd', 'serverVersion', 'is 4, but oxd-server 4.x has no socket', {
      hint: 'set https_extension = true and host to its HTTPS URL, or server_version = 3',
    });
  }
  const protectCommands = oxdValue('protectCommands') ?? DEFAULTS.oxd.protectCommands;
  const host = resolveHost(oxdValue('host'), https, report);
  const ca = resolveCa(source.directory, oxdValue('ca'), oxdValue('caFile'), report);

  const oxd: OxdSettings = {
    host,
    port: oxdValue('port') ?? DEFAULTS.oxd.port,
    https,
    serverVersion: version,
    oxdId: oxdValue('oxdId'),
    protectCommands,
    connectTimeoutMs: oxdValue('connectTimeoutMs') ?? DEFAULTS.oxd.connectTimeoutMs,
    responseTimeoutMs: oxdValue('responseTimeoutMs') ?? DEFAULTS.oxd.responseTimeoutMs,
    poolSize: oxdValue('poolSize') ?? DEFAULTS.oxd.poolSize,
    ca: ca.pem,
    caFile: ca.file,
  };

  const redirectUri = clientValue('authorizationRedirectUri');
  if (redirectUri === undefined) {
    report('client', 'authorizationRedirectUri', 'is missing');
  }
  const scope = clientValue('scope') ?? DEFAULTS.client.scope;
  if (!scope.includes('openid')) {
    report(
      'client',
      'scope',
      `must include openid for OpenID Connect login, got ${show(scope.join(','))}`,
    );
  }
  const clientId = clientValue('clientId');
  const clientSecret = clientValue('clientSecret');
  if ((clientId === undefined) !== (clientSecret === undefined)) {
    const missing = clientId === undefined ? 'clientId' : 'clientSecret';
    const present = clientId === undefined ? 'client_secret' : 'client_id';
    report('client', missing, `is missing while ${present} is set`);
  }
  const needsClientToken = https || protectCommands;

  const client: ClientSettings = {
    opHost: clientValue('opHost'),
    opDiscoveryPath: clientValue('opDiscoveryPath'),
    opConfigurationEndpoint: clientValue('opConfigurationEndpoint'),
    authorizationRedirectUri: redirectUri as string,
    redirectUris: clientValue('redirectUris') ?? DEFAULTS.client.redirectUris,
    postLogoutRedirectUri: clientValue('postLogoutRedirectUri'),
    clientFrontchannelLogoutUris:
      clientValue('clientFrontchannelLogoutUris') ?? DEFAULTS.client.clientFrontchannelLogoutUris,
    scope,
    responseTypes: clientValue('responseTypes') ?? DEFAULTS.client.responseTypes,
    grantTypes:
      clientValue('grantTypes') ??
      (needsClientToken ? DEFAULTS.client.grantTypesWithClientToken : DEFAULTS.client.grantTypes),
    acrValues: clientValue('acrValues') ?? DEFAULTS.client.acrValues,
    contacts: clientValue('contacts') ?? DEFAULTS.client.contacts,
    uiLocales: clientValue('uiLocales') ?? DEFAULTS.client.uiLocales,
    claimsLocales: clientValue('claimsLocales') ?? DEFAULTS.client.claimsLocales,
    claimsRedirectUri: clientValue('claimsRedirectUri') ?? DEFAULTS.client.claimsRedirectUri,
    clientRequestUris: clientValue('clientRequestUris') ?? DEFAULTS.client.clientRequestUris,
    clientName: clientValue('clientName'),
    clientJwksUri: clientValue('clientJwksUri'),
    clientTokenEndpointAuthMethod: clientValue('clientTokenEndpointAuthMethod'),
    clientSectorIdentifierUri: clientValue('clientSectorIdentifierUri'),
    applicationType: clientValue('applicationType'),
    clientId,
    clientSecret,
    clientRegistrationAccessToken: clientValue('clientRegistrationAccessToken'),
    clientRegistrationClientUri: clientValue('clientRegistrationClientUri'),
    protectionAccessToken: clientValue('protectionAccessToken'),
  };

  const config: OxdConfig = { oxd, client, file: source.file };
  if (source.file !== undefined && needsWriteBack(config)) assertWritable(source.file);
  return deepFreeze(config);
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

function resolveCa(
  directory: string,
  pem: string | undefined,
  file: string | undefined,
  report: Report,
): { pem: string | undefined; file: string | undefined } {
  if (pem !== undefined && file !== undefined) {
    report('oxd', 'ca', 'and caFile are both set', { hint: 'give one of them' });
  }
  if (file === undefined) return { pem, file: undefined };
  const path = resolve(directory, file);
  let content: string;
  try {
    content = readFileSync(path, 'utf8');
  } catch (error) {
    const message = `names ${path}, which cannot be read (${(error as Error).message})`;
    return report('oxd', 'caFile', message, { code: ERROR_CODES.CONFIG_READ, cause: error });
  }
  if (!PEM_CERTIFICATE.test(content)) {
    report('oxd', 'caFile', `names ${path}, which holds no PEM certificate`);
  }
  return { pem: content, file: path };
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
