import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULTS } from '../../src/config/defaults';
import { resolveConfig, type ConfigInput } from '../../src/config/resolve';
import type { OxdConfig } from '../../src/config/types';
import { OxdConfigError } from '../../src/errors';
import { capturingWarnings } from '../helpers/warnings';

const FIXTURES = join(__dirname, '..', 'fixtures', 'config');
const ROOT = join(__dirname, '..', '..');
const CA_PEM = readFileSync(join(FIXTURES, 'ca.pem'), 'utf8');

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'express-oxd-resolve-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let counter = 0;
/** Writes `text` to a fresh INI file in the temp directory and returns its path. */
function iniFile(text: string): string {
  const path = join(dir, `case-${++counter}.cfg`);
  writeFileSync(path, text, { mode: 0o600 }); // owner-only, as a file holding secrets should be
  return path;
}

const BASE_OXD = 'host = localhost\nid = abc';
const BASE_CLIENT = 'authorization_redirect_uri = https://app.example.com/callback';

/**
 * A valid file with `oxd` / `client` lines added to each section; a key given there replaces
 * the base line of the same key (a key may appear only once in a section).
 */
function ini({ oxd = '', client = '' }: { oxd?: string; client?: string }): string {
  const keyOf = (line: string) => /^\s*([^=:]*?)\s*[=:]/.exec(line)?.[1]?.toLowerCase();
  const merge = (base: string, extra: string) => {
    const given = new Set(extra.split('\n').map(keyOf));
    const kept = base.split('\n').filter((line) => !given.has(keyOf(line)));
    return [...kept, extra].join('\n');
  };
  return `[oxd]\n${merge(BASE_OXD, oxd)}\n[client]\n${merge(BASE_CLIENT, client)}\n`;
}

function captureError(action: () => unknown): OxdConfigError {
  try {
    action();
  } catch (error) {
    if (error instanceof OxdConfigError) return error;
    throw error;
  }
  throw new Error('expected an OxdConfigError');
}

function expectDeeplyFrozen(value: unknown, path = 'config'): void {
  if (typeof value !== 'object' || value === null) return;
  if (!Object.isFrozen(value)) throw new Error(`${path} is not frozen`);
  for (const [key, child] of Object.entries(value)) expectDeeplyFrozen(child, `${path}.${key}`);
}

describe('resolveConfig - INI file', () => {
  it('maps every key of a complete file, aliases included, into a frozen config', () => {
    const path = join(dir, 'good.cfg');
    copyFileSync(join(FIXTURES, 'good.cfg'), path);
    chmodSync(path, 0o600);
    const config = resolveConfig(path);
    const expected: OxdConfig = {
      file: path,
      oxd: {
        host: '127.0.0.1',
        port: 18099,
        https: false,
        serverVersion: 3,
        oxdId: '6F9619FF-8B86-D011-B42D-00CF4FC964FF',
        protectCommands: true,
        connectTimeoutMs: 1500,
        responseTimeoutMs: 45000,
        poolSize: 8,
        maxQueued: 10000,
        maxResponseBytes: 1048576,
        ca: undefined,
        caFile: undefined,
      },
      client: {
        opHost: 'https://op.example.com',
        opDiscoveryPath: '/.well-known/openid-configuration',
        opConfigurationEndpoint: 'https://op.example.com/.well-known/openid-configuration',
        opCaFile: undefined,
        opCa: undefined,
        authorizationRedirectUri: 'https://app.example.com/callback',
        redirectUris: ['https://app.example.com/callback2', 'https://app.example.com/callback3'],
        postLogoutRedirectUri: 'https://app.example.com/',
        clientFrontchannelLogoutUris: ['https://app.example.com/logout/frontchannel'],
        scope: ['openid', 'profile', 'email', 'uma_protection'],
        responseTypes: ['code'],
        grantTypes: ['authorization_code', 'client_credentials'],
        acrValues: ['basic', 'otp'],
        contacts: ['admin@example.com'],
        uiLocales: ['en', 'fr'],
        claimsLocales: ['en'],
        claimsRedirectUri: ['https://app.example.com/claims'],
        clientRequestUris: ['https://app.example.com/request#abc'],
        clientName: 'Example App',
        clientJwksUri: 'https://app.example.com/jwks',
        clientTokenEndpointAuthMethod: 'client_secret_post',
        clientSectorIdentifierUri: 'https://app.example.com/sector',
        applicationType: 'web',
        clientId: 'client-123',
        clientSecret: 's3cret',
        clientRegistrationAccessToken: 'rat-456',
        clientRegistrationClientUri: 'https://op.example.com/register?client_id=client-123',
        protectionAccessToken: 'pat-789',
        secretsFile: undefined,
      },
    };
    expect(config).toEqual(expected);
    expectDeeplyFrozen(config);
  });

  it('applies the defaults for absent and empty keys', () => {
    const config = resolveConfig(
      iniFile(`[oxd]\nid = abc\nport =\n[client]\n${BASE_CLIENT}\nscope =\n`),
    );
    expect(config.oxd).toEqual({
      host: DEFAULTS.oxd.host,
      port: DEFAULTS.oxd.port,
      https: false,
      serverVersion: 3,
      oxdId: 'abc',
      protectCommands: false,
      connectTimeoutMs: 5000,
      responseTimeoutMs: 30000,
      poolSize: 4,
      maxQueued: 10000,
      maxResponseBytes: 1048576,
      ca: undefined,
      caFile: undefined,
    });
    expect(config.client.scope).toEqual(['openid', 'profile', 'email']);
    expect(config.client.responseTypes).toEqual(['code']);
    expect(config.client.grantTypes).toEqual(['authorization_code', 'refresh_token']);
    expect(config.client.redirectUris).toEqual([]);
    expect(config.client.clientId).toBeUndefined();
    expectDeeplyFrozen(config);
  });

  it('registers client_credentials by default when a protection token is needed', () => {
    const https = resolveConfig(
      iniFile(ini({ oxd: 'https_extension = true\nhost = https://127.0.0.1:8443' })),
    );
    const socket = resolveConfig(iniFile(ini({ oxd: 'protect_commands = true' })));
    const expected = ['authorization_code', 'refresh_token', 'client_credentials'];
    expect(https.client.grantTypes).toEqual(expected);
    expect(socket.client.grantTypes).toEqual(expected);
  });

  it('keeps unknown keys and sections out of the way and trims list items', () => {
    const path = join(dir, 'commented.cfg');
    copyFileSync(join(FIXTURES, 'commented.cfg'), path);
    const { result: config, warnings } = capturingWarnings(() => resolveConfig(path));
    expect(warnings).toEqual([
      `[OXD_CONFIG_UNKNOWN_KEY] ${path}: [oxd] unknown_oxd_key is not a setting and is ignored (the oxd settings are listed in the README)`,
    ]);
    expect(config.client.scope).toEqual(['openid', 'profile', 'email']);
    expect(config.client.postLogoutRedirectUri).toBeUndefined();
    expect(config.oxd.oxdId).toBeUndefined();
    expect(config.oxd.https).toBe(false);
  });

  it.each([
    ['oxd.example.com:8443', 'https://oxd.example.com:8443/'],
    ['https://127.0.0.1:8443', 'https://127.0.0.1:8443/'],
    ['https://oxd.example.com/base/', 'https://oxd.example.com/base/'],
  ])('gives an HTTPS host %s the base URL %s', (host, expected) => {
    const config = resolveConfig(iniFile(ini({ oxd: `https_extension = 1\nhost = ${host}` })));
    expect(config.oxd.host).toBe(expected);
  });

  it.each([
    ['[::1]', '::1'],
    ['10.0.0.7', '10.0.0.7'],
    ['oxd.internal', 'oxd.internal'],
  ])('accepts the socket host %s', (host, expected) => {
    expect(resolveConfig(iniFile(ini({ oxd: `host = ${host}` }))).oxd.host).toBe(expected);
  });

  it.each(['http://localhost:8443/callback', 'http://127.0.0.1/cb', 'http://[::1]:3000/cb'])(
    'accepts the loopback http redirect URI %s for local development',
    (uri) => {
      const config = resolveConfig(
        iniFile(`[oxd]\nid = abc\n[client]\nauthorization_redirect_uri = ${uri}\n`),
      );
      expect(config.client.authorizationRedirectUri).toBe(uri);
    },
  );

  it('reads ca_file relative to the INI file', () => {
    const sub = join(dir, 'with-ca');
    mkdirSync(sub);
    copyFileSync(join(FIXTURES, 'ca.pem'), join(sub, 'oxd-ca.pem'));
    const path = join(sub, 'app.cfg');
    writeFileSync(path, ini({ oxd: 'ca_file = oxd-ca.pem' }));
    const config = resolveConfig(path);
    expect(config.oxd.ca).toBe(CA_PEM);
    expect(config.oxd.caFile).toBe(join(sub, 'oxd-ca.pem'));
  });

  it('reads op_ca_file relative to the INI file; op_ca and op_ca_file together are refused', () => {
    const sub = join(dir, 'with-op-ca');
    mkdirSync(sub);
    copyFileSync(join(FIXTURES, 'ca.pem'), join(sub, 'op-ca.pem'));
    const path = join(sub, 'app.cfg');
    writeFileSync(path, ini({ client: 'op_ca_file = op-ca.pem' }));
    const config = resolveConfig(path);
    expect(config.client.opCa).toBe(CA_PEM);
    expect(config.client.opCaFile).toBe(join(sub, 'op-ca.pem'));
    const both = captureError(() =>
      resolveConfig({
        oxd: { id: 'abc' },
        client: {
          authorizationRedirectUri: 'https://app.example.com/callback',
          opCa: CA_PEM,
          opCaFile: join(sub, 'op-ca.pem'),
        },
      }),
    );
    expect(both).toMatchObject({ code: 'OXD_CONFIG_INVALID', key: 'client.op_ca' });
    const empty = iniFile(ini({ client: `op_ca_file = ${join(FIXTURES, 'not-a-cert.pem')}` }));
    expect(captureError(() => resolveConfig(empty))).toMatchObject({ key: 'client.op_ca_file' });
  });

  it('resolves a relative path against the working directory', () => {
    const path = iniFile(ini({}));
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      expect(resolveConfig(path.slice(dir.length + 1)).file).toBe(path);
    } finally {
      process.chdir(cwd);
    }
  });

  it('resolves the demo site configuration', () => {
    const path = join(dir, 'demosite.cfg');
    copyFileSync(join(ROOT, 'demosite.cfg'), path);
    const config = resolveConfig(path);
    expect(config.oxd).toMatchObject({ host: '127.0.0.1', port: 8099, https: false });
    expect(config.oxd.oxdId).toBeUndefined();
    expect(config.client).toMatchObject({
      opHost: 'https://127.0.0.1:8444',
      authorizationRedirectUri: 'https://127.0.0.1:8443/callback',
      postLogoutRedirectUri: 'https://127.0.0.1:8443/',
      clientFrontchannelLogoutUris: ['https://127.0.0.1:8443/logout/frontchannel'],
      scope: ['openid', 'profile', 'email'],
      grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'],
    });
  });

  it('fails with OXD_CONFIG_READ_FAILED naming a file that does not exist', () => {
    const missing = join(dir, 'nope', 'missing.cfg');
    const error = captureError(() => resolveConfig(missing));
    expect(error).toMatchObject({ code: 'OXD_CONFIG_READ_FAILED', file: missing });
    expect(error.message).toContain(missing);
    expect(error.cause).toMatchObject({ code: 'ENOENT' });
  });

  it('fails with OXD_CONFIG_READ_FAILED when the path is a directory', () => {
    const error = captureError(() => resolveConfig(dir));
    expect(error).toMatchObject({ code: 'OXD_CONFIG_READ_FAILED', file: dir });
  });

  it('names the line of a syntax error', () => {
    const path = iniFile('[oxd]\nhost localhost\n');
    const error = captureError(() => resolveConfig(path));
    expect(error).toMatchObject({ code: 'OXD_CONFIG_INVALID', file: path });
    expect(error.message).toContain(':2: expected "key = value"');
  });

  it('words a missing redirect URI as the README promises', () => {
    const path = iniFile('[oxd]\nid = abc\n[client]\nop_host = https://op.example.com\n');
    const error = captureError(() => resolveConfig(path));
    expect(error).toMatchObject({
      code: 'OXD_CONFIG_INVALID',
      key: 'client.authorization_redirect_uri',
      file: path,
    });
    expect(error.message).toBe(
      `${path}: [client] authorization_redirect_uri is missing; set it to the absolute https ` +
        'URL of your callback route, e.g. https://app.example.com/callback',
    );
  });

  type BadIni = [name: string, text: string, key: string, fragment: string];
  const badIni: BadIni[] = [
    [
      'no [client] section',
      '[oxd]\nid = abc\n',
      'client.authorization_redirect_uri',
      '[client] authorization_redirect_uri is missing',
    ],
    [
      'a relative redirect URI',
      ini({ client: 'authorization_redirect_uri = /callback' }),
      'client.authorization_redirect_uri',
      'is not an absolute URL, got "/callback"',
    ],
    [
      'an http redirect URI on a public host',
      ini({ client: 'authorization_redirect_uri = http://app.example.com/cb' }),
      'client.authorization_redirect_uri',
      'http is accepted only for localhost',
    ],
    [
      'a redirect URI with a fragment',
      ini({ client: 'authorization_redirect_uri = https://app.example.com/cb#x' }),
      'client.authorization_redirect_uri',
      'must not have a #fragment',
    ],
    [
      'a redirect URI with credentials',
      ini({ client: 'authorization_redirect_uri = https://u:p@app.example.com/cb' }),
      'client.authorization_redirect_uri',
      'must not contain a user name or password',
    ],
    [
      'a non-URL in redirect_uris',
      ini({ client: 'redirect_uris = https://a.example.com/cb, cb2' }),
      'client.redirect_uris',
      'is not an absolute URL, got "cb2"',
    ],
    [
      'an http op_host',
      ini({ client: 'op_host = http://op.example.com' }),
      'client.op_host',
      'must be an https URL',
    ],
    [
      'an http op_host on loopback',
      ini({ client: 'op_host = http://127.0.0.1:8444' }),
      'client.op_host',
      'must be an https URL',
    ],
    [
      'a relative post-logout URI',
      ini({ client: 'post_logout_redirect_uri = /bye' }),
      'client.post_logout_redirect_uri',
      'is not an absolute URL',
    ],
    [
      'a bad front-channel URI under the alias',
      ini({ client: 'client_logout_uris = logout' }),
      'client.client_frontchannel_logout_uris',
      '[client] client_logout_uris is not an absolute URL',
    ],
    [
      'a bad op_configuration_endpoint',
      ini({ client: 'op_configuration_endpoint = op.example.com' }),
      'client.op_configuration_endpoint',
      'is not an absolute URL',
    ],
    [
      'port 0',
      ini({ oxd: 'port = 0' }),
      'oxd.port',
      'must be a whole number from 1 to 65535, got "0"',
    ],
    ['port 65536', ini({ oxd: 'port = 65536' }), 'oxd.port', 'from 1 to 65535, got "65536"'],
    ['a port with a fraction', ini({ oxd: 'port = 80.5' }), 'oxd.port', 'must be a whole number'],
    ['a port that is a word', ini({ oxd: 'port = http' }), 'oxd.port', 'must be a whole number'],
    [
      'a zero connect timeout',
      ini({ oxd: 'connect_timeout = 0' }),
      'oxd.connect_timeout',
      'set it in milliseconds',
    ],
    [
      'a negative response timeout',
      ini({ oxd: 'response_timeout = -5' }),
      'oxd.response_timeout',
      'must be a whole number',
    ],
    [
      'a response timeout beyond the timer range',
      ini({ oxd: 'response_timeout = 2147483648' }),
      'oxd.response_timeout',
      'from 1 to 2147483647',
    ],
    ['pool_size 0', ini({ oxd: 'pool_size = 0' }), 'oxd.pool_size', 'from 1 to 64'],
    ['pool_size 65', ini({ oxd: 'pool_size = 65' }), 'oxd.pool_size', 'from 1 to 64'],
    [
      'an unclear https_extension',
      ini({ oxd: 'https_extension = maybe' }),
      'oxd.https_extension',
      'must be true or false (yes/no and 1/0 are accepted too), got "maybe"',
    ],
    [
      'an unclear protect_commands',
      ini({ oxd: 'protect_commands = sometimes' }),
      'oxd.protect_commands',
      'must be true or false',
    ],
    [
      'server_version 5',
      ini({ oxd: 'server_version = 5' }),
      'oxd.server_version',
      'must be 3 or 4, got "5"',
    ],
    [
      'server_version 4 over the socket',
      ini({ oxd: 'server_version = 4' }),
      'oxd.server_version',
      'oxd-server 4.x has no socket',
    ],
    [
      'HTTPS without a host',
      `[oxd]\nid = abc\nhttps_extension = true\n[client]\n${BASE_CLIENT}\n`,
      'oxd.host',
      '[oxd] host is missing, and with https_extension = true there is no default',
    ],
    [
      'an http host over HTTPS',
      ini({ oxd: 'https_extension = true\nhost = http://oxd.example.com' }),
      'oxd.host',
      'must be an https URL',
    ],
    [
      'an HTTPS host with a query',
      ini({ oxd: 'https_extension = true\nhost = https://oxd.example.com/?a=1' }),
      'oxd.host',
      'without user, query or fragment',
    ],
    [
      'a URL as socket host',
      ini({ oxd: 'host = https://oxd.example.com' }),
      'oxd.host',
      'but https_extension is off',
    ],
    [
      'host:port as socket host',
      ini({ oxd: 'host = localhost:8099' }),
      'oxd.host',
      'the port goes in port',
    ],
    [
      'a socket host with a space',
      ini({ oxd: 'host = oxd server' }),
      'oxd.host',
      'is not a host name or IP address',
    ],
    [
      'scope without openid',
      ini({ client: 'scope = profile,email' }),
      'client.scope',
      'must include openid',
    ],
    [
      'scopes (sample.cfg spelling) without openid',
      ini({ client: 'scopes = profile' }),
      'client.scope',
      '[client] scopes must include openid',
    ],
    [
      'scopes separated by spaces',
      ini({ client: 'scope = openid profile' }),
      'client.scope',
      'has a value with a space',
    ],
    [
      'client_id without client_secret',
      ini({ client: 'client_id = abc' }),
      'client.client_secret',
      'client_secret is missing while client_id is set',
    ],
    [
      'client_secret without client_id',
      ini({ client: 'client_secret = hush' }),
      'client.client_id',
      'client_id is missing while client_secret is set',
    ],
    [
      'an unknown application_type',
      ini({ client: 'application_type = desktop' }),
      'client.application_type',
      'must be one of web, native, got "desktop"',
    ],
    [
      'an unknown token endpoint auth method',
      ini({ client: 'client_token_endpoint_auth_method = basic' }),
      'client.client_token_endpoint_auth_method',
      'must be one of client_secret_basic',
    ],
    [
      'id and oxd_id that differ',
      ini({ oxd: 'oxd_id = other' }),
      'oxd.id',
      '[oxd] id is also given as oxd_id with a different value',
    ],
    [
      'ca_file that holds no certificate',
      ini({ oxd: `ca_file = ${join(FIXTURES, 'not-a-cert.pem')}` }),
      'oxd.ca_file',
      'which holds no PEM certificate',
    ],
  ];
  it.each(badIni)('rejects %s', (_name, text, key, fragment) => {
    const path = iniFile(text);
    const error = captureError(() => resolveConfig(path));
    expect(error).toMatchObject({
      name: 'OxdConfigError',
      code: 'OXD_CONFIG_INVALID',
      key,
      file: path,
    });
    expect(error.message).toContain(fragment);
    expect(error.message.startsWith(`${path}: [`)).toBe(true);
  });

  it('rejects an unreadable ca_file with OXD_CONFIG_READ_FAILED naming the key and path', () => {
    const missing = join(dir, 'missing-ca.pem');
    const path = iniFile(ini({ oxd: `ca_file = ${missing}` }));
    const error = captureError(() => resolveConfig(path));
    expect(error).toMatchObject({ code: 'OXD_CONFIG_READ_FAILED', key: 'oxd.ca_file', file: path });
    expect(error.message).toContain(missing);
    expect(error.cause).toMatchObject({ code: 'ENOENT' });
  });

  it('accepts id and oxd_id together when they agree', () => {
    expect(resolveConfig(iniFile(ini({ oxd: 'oxd_id = abc' }))).oxd.oxdId).toBe('abc');
  });

  it('refuses duplicated keys, as configparser does, naming the line', () => {
    const path = iniFile(ini({ oxd: 'port = 1\nport = 2' }));
    const error = captureError(() => resolveConfig(path));
    expect(error).toMatchObject({ code: 'OXD_CONFIG_INVALID', file: path });
    expect(error.message).toMatch(/:\d+: \[oxd\] port is set a second time \(first on line \d+\)/);
  });
});

describe('resolveConfig - object', () => {
  const camel: ConfigInput = {
    oxd: {
      host: 'https://127.0.0.1:8443',
      https: true,
      serverVersion: 4,
      oxdId: 'abc',
      connectTimeoutMs: 100,
      responseTimeoutMs: 200,
      poolSize: 2,
      ca: CA_PEM,
    },
    client: {
      opHost: 'https://op.example.com',
      authorizationRedirectUri: 'https://app.example.com/callback',
      clientFrontchannelLogoutUris: ['https://app.example.com/fc'],
      scope: ['openid', 'email'],
      clientId: 'id',
      clientSecret: 'secret',
    },
  };
  const snake: ConfigInput = {
    oxd: {
      host: 'https://127.0.0.1:8443',
      https_extension: 'true',
      server_version: '4',
      id: 'abc',
      connect_timeout: '100',
      response_timeout: 200,
      pool_size: '2',
      ca_file: join(FIXTURES, 'ca.pem'),
    },
    client: {
      op_host: 'https://op.example.com',
      authorization_redirect_uri: 'https://app.example.com/callback',
      client_logout_uris: 'https://app.example.com/fc',
      scope: 'openid, email',
      client_id: 'id',
      client_secret: 'secret',
    },
  };

  it('resolves camelCase and INI spellings to the same config', () => {
    const fromCamel = resolveConfig(camel);
    const fromSnake = resolveConfig(snake);
    expect({ ...fromSnake, oxd: { ...fromSnake.oxd, caFile: undefined } }).toEqual(fromCamel);
    expect(fromSnake.oxd.caFile).toBe(join(FIXTURES, 'ca.pem'));
    expect(fromCamel.oxd).toMatchObject({ https: true, serverVersion: 4, ca: CA_PEM });
    expect(fromCamel.file).toBeUndefined();
    expectDeeplyFrozen(fromCamel);
  });

  it('does not freeze or keep the caller’s arrays', () => {
    const scope = ['openid'];
    const config = resolveConfig({
      client: { authorizationRedirectUri: 'https://app.example.com/cb', scope },
      oxd: { oxdId: 'x' },
    });
    scope.push('changed');
    expect(config.client.scope).toEqual(['openid']);
    expect(Object.isFrozen(scope)).toBe(false);
  });

  it('takes file as the absolute write-back target without reading it', () => {
    const config = resolveConfig({
      oxd: { oxdId: 'abc' },
      client: { authorizationRedirectUri: 'https://app.example.com/cb' },
      file: 'not-read-here.cfg',
    });
    expect(config.file).toBe(join(process.cwd(), 'not-read-here.cfg'));
  });

  it('words a missing redirect URI with the camelCase name', () => {
    const error = captureError(() => resolveConfig({ oxd: { oxdId: 'x' } }));
    expect(error).toMatchObject({ key: 'client.authorization_redirect_uri', file: undefined });
    expect(error.message).toBe(
      'config client.authorizationRedirectUri is missing; set it to the absolute https URL of ' +
        'your callback route, e.g. https://app.example.com/callback',
    );
  });

  type BadObject = [name: string, input: unknown, key: string | undefined, fragment: string];
  const redirect = { authorizationRedirectUri: 'https://app.example.com/cb' };
  const badObjects: BadObject[] = [
    [
      'an unknown oxd key',
      { oxd: { prot: true }, client: redirect },
      'oxd.prot',
      'config oxd.prot is not a setting',
    ],
    [
      'a typo with a near name',
      { oxd: { protectComands: true }, client: redirect },
      'oxd.protectComands',
      'did you mean protectCommands?',
    ],
    [
      'a typo of an INI spelling',
      { client: { ...redirect, post_logout_redirect_url: 'x' } },
      'client.post_logout_redirect_url',
      'did you mean post_logout_redirect_uri?',
    ],
    ['an unknown section', { clients: {} }, 'clients', 'config has no "clients" section'],
    [
      'a section that is not an object',
      { oxd: 'localhost', client: redirect },
      'oxd',
      'config oxd must be an object',
    ],
    [
      'a port of the wrong type',
      { oxd: { port: true }, client: redirect },
      'oxd.port',
      'config oxd.port must be a whole number',
    ],
    [
      'a boolean of the wrong type',
      { oxd: { https: 1 }, client: redirect },
      'oxd.https_extension',
      'config oxd.https must be true or false',
    ],
    [
      'a list of the wrong type',
      { client: { ...redirect, scope: [1, 2] } },
      'client.scope',
      'must be a comma-separated string or an array of strings',
    ],
    [
      'a URL of the wrong type',
      { client: { authorizationRedirectUri: 5 } },
      'client.authorization_redirect_uri',
      'must be a string (got "5")',
    ],
    ['an empty file', { client: redirect, file: ' ' }, 'file', 'config file must be the path'],
    [
      'two spellings that disagree',
      { oxd: { https: true, https_extension: 'false', host: 'h' }, client: redirect },
      'oxd.https_extension',
      'config oxd.https is also given as https_extension',
    ],
    [
      'ca and caFile together',
      { oxd: { ca: CA_PEM, caFile: 'x.pem' }, client: redirect },
      'oxd.ca',
      'and caFile are both set',
    ],
    [
      'ca that is not PEM',
      { oxd: { ca: 'hello' }, client: redirect },
      'oxd.ca',
      'is not PEM text with a certificate',
    ],
    [
      'ca_file (INI spelling) for a PEM text',
      { oxd: { ca_file: CA_PEM }, client: redirect },
      'oxd.ca_file',
      'cannot be read',
    ],
    ['not an object at all', 42, undefined, 'expects the path of an INI file or an object'],
    ['an array', [], undefined, 'expects the path of an INI file or an object'],
  ];
  it.each(badObjects)('rejects %s', (_name, input, key, fragment) => {
    const error = captureError(() => resolveConfig(input as ConfigInput));
    expect(error).toBeInstanceOf(OxdConfigError);
    expect(error.key).toBe(key);
    expect(error.message).toContain(fragment);
  });

  it('never puts a secret value in a message', () => {
    const error = captureError(() =>
      resolveConfig({ client: { ...redirect, clientSecret: ['hunter2'] as unknown as string } }),
    );
    expect(error.key).toBe('client.client_secret');
    expect(error.message).toContain('must be a string');
    expect(error.message).not.toContain('hunter2');
  });
});

describe('resolveConfig - start-up writability check', () => {
  // The tests run as root, and permission bits do not stop root; these cases use paths that
  // cannot be replaced whoever you are: a missing directory, a directory in the file's place,
  // and a directory where the lock file goes.
  const unregistered = (file: string): ConfigInput => ({
    client: { authorizationRedirectUri: 'https://app.example.com/cb' },
    file,
  });

  it('fails when the directory of the file does not exist', () => {
    const file = join(dir, 'no-such-dir', 'app.cfg');
    const error = captureError(() => resolveConfig(unregistered(file)));
    expect(error).toMatchObject({ code: 'OXD_CONFIG_WRITE_FAILED', file });
    expect(error.message).toContain(`cannot write registration results to ${file}`);
    expect(error.message).toContain('does not exist');
    expect(error.message).toContain('Make the file and its directory writable');
  });

  it('fails when the file is a directory', () => {
    const file = join(dir, 'a-directory.cfg');
    mkdirSync(file);
    const error = captureError(() => resolveConfig(unregistered(file)));
    expect(error).toMatchObject({ code: 'OXD_CONFIG_WRITE_FAILED', file });
    expect(error.message).toContain('is not a regular file');
  });

  it('fails when the lock file path is taken by a directory', () => {
    const file = iniFile(ini({}));
    mkdirSync(`${file}.lock`);
    const error = captureError(() =>
      resolveConfig({ ...unregistered(file), oxd: { https: true, host: 'h', oxdId: 'abc' } }),
    );
    expect(error).toMatchObject({ code: 'OXD_CONFIG_WRITE_FAILED', file });
    expect(error.message).toContain('.lock is not a regular file');
  });

  it('checks an INI file that has no oxd id yet, and passes when it is writable', () => {
    const file = iniFile(`[client]\n${BASE_CLIENT}\n`);
    expect(resolveConfig(file).oxd.oxdId).toBeUndefined();
  });

  it('skips the check once registered over the socket', () => {
    const file = join(dir, 'no-such-dir', 'app.cfg');
    expect(resolveConfig({ ...unregistered(file), oxd: { oxdId: 'abc' } }).file).toBe(file);
  });

  it('checks over HTTPS until the client credentials are known', () => {
    const file = join(dir, 'no-such-dir', 'app.cfg');
    const https = { oxdId: 'abc', https: true, host: 'https://127.0.0.1:8443' };
    const error = captureError(() => resolveConfig({ ...unregistered(file), oxd: https }));
    expect(error.code).toBe('OXD_CONFIG_WRITE_FAILED');
    const known = {
      ...unregistered(file),
      oxd: https,
      client: { ...unregistered(file).client, clientId: 'id', clientSecret: 'secret' },
    };
    expect(resolveConfig(known).client.clientId).toBe('id');
  });
});
