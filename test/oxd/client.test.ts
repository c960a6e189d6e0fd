import type { WriteBackValues } from '../../src/config/types';
import { ERROR_CODES, OxdCommandError, OxdConfigError } from '../../src/errors';
import { OxdClient } from '../../src/oxd/client';
import {
  fail,
  ok,
  oxdScript,
  ScriptedTransport,
  testConfig,
  type Answer,
} from '../fixtures/oxd-client';

const clients: OxdClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

interface Setup {
  client: OxdClient;
  transport: ScriptedTransport;
  written: WriteBackValues[];
  clock: { now: number };
}

function setup(
  config = testConfig(),
  kind: 'socket' | 'https' = 'socket',
  overrides: Record<string, Answer> = {},
): Setup {
  const transport = new ScriptedTransport(kind, oxdScript(overrides));
  const written: WriteBackValues[] = [];
  const clock = { now: 1_000_000 };
  const client = new OxdClient(config, {
    transport,
    writeBack: async (values) => {
      written.push(values);
    },
    now: () => clock.now,
  });
  clients.push(client);
  return { client, transport, written, clock };
}

const httpsV3 = () => testConfig({ https: true, host: 'https://127.0.0.1:1/v3' });
const httpsV4 = () => testConfig({ https: true, host: 'https://127.0.0.1:1', serverVersion: 4 });

describe('OxdClient registration', () => {
  test('registration - 100 concurrent commands share one register_site and get its oxd_id', async () => {
    const { client, transport, written } = setup();
    const results = await Promise.all(
      Array.from({ length: 100 }, () => client.getAuthorizationUrl()),
    );
    expect(transport.count('register_site')).toBe(1);
    expect(transport.count('get_authorization_url')).toBe(100);
    expect(new Set(results.map((r) => r.authorization_url))).toEqual(
      new Set(['https://op.example.test/authorize?for=site-1']),
    );
    expect(client.oxdId).toBe('site-1');
    expect(written).toEqual([
      { oxd: { id: 'site-1' }, client: { client_id: 'c-1', client_secret: 's-1' } },
    ]);
  });

  test('registration - socket register_site carries the 3.x client metadata without a token', async () => {
    const { client, transport } = setup(
      testConfig({}, { redirectUris: ['https://rp.example.test/alt'] }),
    );
    await client.register();
    expect(transport.requests).toEqual([
      {
        command: 'register_site',
        path: 'register-site',
        params: {
          op_host: 'https://op.example.test',
          authorization_redirect_uri: 'https://rp.example.test/callback',
          redirect_uris: ['https://rp.example.test/alt'],
          post_logout_redirect_uri: 'https://rp.example.test/bye',
          client_frontchannel_logout_uris: ['https://rp.example.test/logout'],
          scope: ['openid', 'profile'],
          response_types: ['code'],
          grant_types: ['authorization_code'],
          client_name: 'Test RP',
        },
      },
    ]);
  });

  test('registration - a failed register_site is not cached and the next call retries', async () => {
    let attempts = 0;
    const { client, transport } = setup(testConfig(), 'socket', {
      register_site: () => {
        attempts += 1;
        return attempts === 1
          ? fail('invalid_op_host')
          : ok({ oxd_id: 'site-2', client_id: null, client_secret: null });
      },
    });
    await expect(client.getAuthorizationUrl()).rejects.toThrow(
      'oxd register_site failed with invalid_op_host',
    );
    expect(client.oxdId).toBeUndefined();
    await expect(client.getAuthorizationUrl()).resolves.toEqual({
      authorization_url: 'https://op.example.test/authorize?for=site-2',
    });
    expect(transport.count('register_site')).toBe(2);
  });

  test('registration - reuses [oxd] id from the configuration without any network call', async () => {
    const { client, transport, written } = setup(testConfig({ oxdId: 'known-id' }));
    await expect(client.register()).resolves.toBe('known-id');
    expect(transport.requests).toHaveLength(0);
    await client.getLogoutUri({ state: 's' });
    expect(transport.requests).toEqual([
      {
        command: 'get_logout_uri',
        path: 'get-logout-uri',
        params: { state: 's', oxd_id: 'known-id' },
      },
    ]);
    expect(written).toEqual([]);
  });

  test('registration - keeps an oxd_id the caller passes and does not register', async () => {
    const { client, transport } = setup();
    await client.removeSite({ oxd_id: 'other' });
    expect(transport.commands()).toEqual(['remove_site']);
    expect(transport.requests[0]?.params).toEqual({ oxd_id: 'other' });
  });

  test('registration - https 3.x runs setup_client then get_client_token and writes both back', async () => {
    const { client, transport, written } = setup(httpsV3(), 'https');
    await client.getAuthorizationUrl({ scope: ['openid'] });
    expect(transport.commands()).toEqual([
      'setup_client',
      'get_client_token',
      'get_authorization_url',
    ]);
    const [setupClient, clientToken, command] = transport.requests;
    expect(setupClient?.token).toBeUndefined();
    expect(setupClient?.params).toMatchObject({
      authorization_redirect_uri: 'https://rp.example.test/callback',
      post_logout_redirect_uri: 'https://rp.example.test/bye',
      scope: ['openid', 'profile', 'oxd', 'uma_protection'],
      grant_types: ['authorization_code', 'client_credentials'],
    });
    expect(setupClient?.params).not.toHaveProperty('redirect_uris');
    expect(clientToken).toEqual({
      command: 'get_client_token',
      path: 'get-client-token',
      params: {
        client_id: 'setup-c',
        client_secret: 'setup-s',
        op_host: 'https://op.example.test',
        scope: ['openid', 'oxd'],
      },
    });
    expect(command?.token).toBe('tok-1');
    expect(command?.params).toEqual({ scope: ['openid'], oxd_id: 'site-1' });
    expect(written).toEqual([
      {
        oxd: { id: 'site-1' },
        client: {
          client_id: 'setup-c',
          client_secret: 'setup-s',
          client_registration_access_token: 'rat-1',
          client_registration_client_uri: 'https://op.example.test/register/1',
          protection_access_token: 'tok-1',
        },
      },
    ]);
  });

  test('registration - https 4.x runs register_site with redirect_uris then get_client_token', async () => {
    const config = testConfig(
      { https: true, host: 'https://127.0.0.1:1', serverVersion: 4 },
      {
        redirectUris: ['https://rp.example.test/alt', 'https://rp.example.test/callback'],
        opConfigurationEndpoint: 'https://op.example.test/.well-known/openid-configuration',
      },
    );
    const { client, transport, written } = setup(config, 'https');
    await expect(client.register()).resolves.toBe('site-1');
    expect(transport.commands()).toEqual(['register_site', 'get_client_token']);
    const [registerSite, clientToken] = transport.requests;
    expect(registerSite?.token).toBeUndefined();
    expect(registerSite?.params).toEqual({
      op_host: 'https://op.example.test',
      op_configuration_endpoint: 'https://op.example.test/.well-known/openid-configuration',
      redirect_uris: ['https://rp.example.test/callback', 'https://rp.example.test/alt'],
      post_logout_redirect_uris: ['https://rp.example.test/bye'],
      client_frontchannel_logout_uris: ['https://rp.example.test/logout'],
      front_channel_logout_session_required: true,
      scope: ['openid', 'profile'],
      response_types: ['code'],
      grant_types: ['authorization_code', 'client_credentials'],
      client_name: 'Test RP',
    });
    expect(clientToken?.params).toEqual({
      client_id: 'c-1',
      client_secret: 's-1',
      op_host: 'https://op.example.test',
      op_configuration_endpoint: 'https://op.example.test/.well-known/openid-configuration',
      scope: ['openid', 'oxd'],
    });
    expect(written).toEqual([
      {
        oxd: { id: 'site-1' },
        client: { client_id: 'c-1', client_secret: 's-1', protection_access_token: 'tok-1' },
      },
    ]);
  });

  test('registration - socket with protect_commands runs setup_client and sends the token', async () => {
    const { client, transport } = setup(testConfig({ protectCommands: true }));
    await client.getLogoutUri();
    expect(transport.commands()).toEqual(['setup_client', 'get_client_token', 'get_logout_uri']);
    expect(transport.requests[2]?.token).toBe('tok-1');
  });

  test('registration - a failed get_client_token keeps the registration and fetches the token next time', async () => {
    let attempts = 0;
    const { client, transport, written } = setup(httpsV4(), 'https', {
      get_client_token: () => {
        attempts += 1;
        return attempts === 1
          ? fail('invalid_client', { httpStatus: 500 })
          : ok({ access_token: 'tok-ok', expires_in: 300 });
      },
    });
    await expect(client.getLogoutUri()).rejects.toThrow(
      'oxd get_client_token failed with invalid_client',
    );
    await client.getLogoutUri();
    expect(transport.commands()).toEqual([
      'register_site',
      'get_client_token',
      'get_client_token',
      'get_logout_uri',
    ]);
    expect(written).toEqual([
      {
        oxd: { id: 'site-1' },
        client: { client_id: 'c-1', client_secret: 's-1', protection_access_token: 'tok-ok' },
      },
    ]);
  });

  test('registration - reuses id, client credentials and token from the configuration', async () => {
    const config = testConfig(
      { https: true, host: 'https://127.0.0.1:1', serverVersion: 4, oxdId: 'known' },
      { clientId: 'cid', clientSecret: 'sec', protectionAccessToken: 'saved-token' },
    );
    const { client, transport } = setup(config, 'https');
    await client.getLogoutUri();
    expect(transport.requests).toEqual([
      {
        command: 'get_logout_uri',
        path: 'get-logout-uri',
        params: { oxd_id: 'known' },
        token: 'saved-token',
      },
    ]);
  });

  test('registration - an id without client credentials on HTTPS registers again', async () => {
    const { client, transport } = setup(
      testConfig({ https: true, host: 'https://127.0.0.1:1', serverVersion: 4, oxdId: 'old' }),
      'https',
    );
    await expect(client.register()).resolves.toBe('site-1');
    expect(transport.commands()).toEqual(['register_site', 'get_client_token']);
  });

  test('registration - a failed write-back is the registration error and is retried alone', async () => {
    const transport = new ScriptedTransport('socket', oxdScript());
    let writes = 0;
    const client = new OxdClient(testConfig({}, {}, '/srv/site/oxd.cfg'), {
      transport,
      writeBack: async () => {
        writes += 1;
        if (writes === 1) throw new Error('EACCES: permission denied');
      },
    });
    clients.push(client);
    const failure = client.getAuthorizationUrl();
    await expect(failure).rejects.toMatchObject({
      code: ERROR_CODES.CONFIG_WRITE_FAILED,
      file: '/srv/site/oxd.cfg',
    });
    await expect(failure).rejects.toThrow(
      /EACCES.*\/srv\/site\/oxd.cfg|\/srv\/site\/oxd.cfg.*EACCES/,
    );
    await expect(client.getAuthorizationUrl()).resolves.toBeDefined();
    expect(writes).toBe(2);
    expect(transport.commands()).toEqual(['register_site', 'get_authorization_url']);
  });

  test('registration - writeBack false keeps results in memory only', async () => {
    const transport = new ScriptedTransport('socket', oxdScript());
    const client = new OxdClient(testConfig({}, {}, '/nonexistent/dir/oxd.cfg'), {
      transport,
      writeBack: false,
    });
    clients.push(client);
    await expect(client.register()).resolves.toBe('site-1');
  });
});

describe('OxdClient protection token', () => {
  test('token - is cached and sent with every non-bootstrap command', async () => {
    const { client, transport } = setup(httpsV4(), 'https');
    await client.getAuthorizationUrl();
    await client.getTokensByCode({ code: 'c', state: 's' });
    await client.getClientToken({ client_id: 'x', client_secret: 'y' });
    expect(transport.count('get_client_token')).toBe(2);
    expect(transport.requests.map((r) => [r.command, r.token])).toEqual([
      ['register_site', undefined],
      ['get_client_token', undefined],
      ['get_authorization_url', 'tok-1'],
      ['get_tokens_by_code', 'tok-1'],
      ['get_client_token', undefined],
    ]);
  });

  test('token - is fetched again once it is about to expire and written back', async () => {
    const { client, transport, written, clock } = setup(httpsV4(), 'https');
    await client.getLogoutUri();
    clock.now += 269_000; // 300 s lifetime minus the 30 s margin, not yet reached
    await client.getLogoutUri();
    expect(transport.count('get_client_token')).toBe(1);
    clock.now += 2_000;
    await client.getLogoutUri();
    expect(transport.count('get_client_token')).toBe(2);
    expect(transport.requests.at(-1)?.token).toBe('tok-2');
    expect(written.at(-1)).toEqual({ client: { protection_access_token: 'tok-2' } });
  });

  test('token - a rejected token is fetched again once and the command retried once', async () => {
    const { client, transport } = setup(httpsV4(), 'https', {
      get_user_info: (request) =>
        request.token === 'tok-1'
          ? fail('invalid_access_token', { httpStatus: 403 })
          : ok({ sub: 'jane', name: 'Jane' }),
    });
    await expect(client.getUserInfo({ access_token: 'at' })).resolves.toEqual({
      claims: { sub: 'jane', name: 'Jane' },
    });
    expect(transport.requests.map((r) => [r.command, r.token])).toEqual([
      ['register_site', undefined],
      ['get_client_token', undefined],
      ['get_user_info', 'tok-1'],
      ['get_client_token', undefined],
      ['get_user_info', 'tok-2'],
    ]);
  });

  test('token - a token rejected again is reported, not retried in a loop', async () => {
    const { client, transport } = setup(httpsV3(), 'https', {
      get_logout_uri: () => fail('403', { error_description: 'Forbidden Access', httpStatus: 403 }),
    });
    await expect(client.getLogoutUri()).rejects.toMatchObject({
      code: ERROR_CODES.COMMAND_FAILED,
      command: 'get_logout_uri',
      error: '403',
      httpStatus: 403,
    });
    expect(transport.count('get_logout_uri')).toBe(2);
    expect(transport.count('get_client_token')).toBe(2);
  });

  test('token - a Dropwizard 403 (http_status_403) also renews the token', async () => {
    const { client, transport } = setup(httpsV4(), 'https', {
      get_logout_uri: (request) =>
        request.token === 'tok-1'
          ? fail('http_status_403', { error_description: 'HTTP 403 Forbidden', httpStatus: 403 })
          : ok({ uri: 'https://op.example.test/end' }),
    });
    await expect(client.getLogoutUri()).resolves.toEqual({ uri: 'https://op.example.test/end' });
    expect(transport.count('get_client_token')).toBe(2);
  });

  test('token - a bare HTTP 401 (http_status_401) also renews the token', async () => {
    const { client, transport } = setup(httpsV4(), 'https', {
      get_logout_uri: (request) =>
        request.token === 'tok-1'
          ? fail('http_status_401', { error_description: 'HTTP 401 Unauthorized', httpStatus: 401 })
          : ok({ uri: 'https://op.example.test/end' }),
    });
    await expect(client.getLogoutUri()).resolves.toEqual({ uri: 'https://op.example.test/end' });
    expect(transport.count('get_client_token')).toBe(2);
  });

  test('token - concurrent rejections of the same token share one renewal', async () => {
    const { client, transport } = setup(httpsV4(), 'https', {
      get_logout_uri: (request) =>
        request.token === 'tok-1'
          ? fail('inactive_access_token', { httpStatus: 403 })
          : ok({ uri: 'https://op.example.test/end' }),
    });
    await client.register();
    await Promise.all(Array.from({ length: 20 }, () => client.getLogoutUri()));
    expect(transport.count('get_client_token')).toBe(2);
    expect(transport.count('get_logout_uri')).toBe(40);
  });

  test('token - other errors are not retried', async () => {
    const { client, transport } = setup(httpsV4(), 'https', {
      get_logout_uri: () => fail('access_token_insufficient_scope', { httpStatus: 403 }),
    });
    await expect(client.getLogoutUri()).rejects.toBeInstanceOf(OxdCommandError);
    expect(transport.count('get_logout_uri')).toBe(1);
    expect(transport.count('get_client_token')).toBe(1);
  });

  test('token - socket without protect_commands never sends a token', async () => {
    const { client, transport } = setup();
    await client.getLogoutUri();
    expect(transport.requests.every((r) => r.token === undefined)).toBe(true);
    expect(transport.count('get_client_token')).toBe(0);
  });
});

describe('OxdClient commands', () => {
  test('commands - a command the server version lacks fails with a config error, offline', async () => {
    const { client, transport } = setup();
    const failure = client.umaRsModify({ path: '/p', http_method: 'GET' });
    await expect(failure).rejects.toBeInstanceOf(OxdConfigError);
    await expect(failure).rejects.toMatchObject({ code: ERROR_CODES.CONFIG_INVALID });
    await expect(failure).rejects.toThrow(/umaRsModify \(oxd uma_rs_modify\).*version 3/);
    expect(transport.requests).toHaveLength(0);
  });

  test('commands - setup_client is refused on oxd 4.x', async () => {
    const { client } = setup(httpsV4(), 'https');
    await expect(client.setupClient({})).rejects.toThrow(/setup_client.*version 4/);
  });

  test('commands - an oxd error becomes OxdCommandError naming the command and the error', async () => {
    const { client } = setup(testConfig({ oxdId: 'site-1' }), 'socket', {
      get_tokens_by_code: () =>
        fail('bad_request', { error_description: "'state' is not registered." }),
    });
    const failure = client.getTokensByCode({ code: 'c', state: 's' });
    await expect(failure).rejects.toThrow(
      "oxd get_tokens_by_code failed with bad_request: 'state' is not registered.",
    );
    await expect(failure).rejects.toMatchObject({
      command: 'get_tokens_by_code',
      error: 'bad_request',
      error_description: "'state' is not registered.",
    });
  });

  test('commands - path and wire name come from the command table', async () => {
    const { client, transport } = setup(testConfig({ oxdId: 'site-1' }));
    await client.checkIdToken({ id_token: 'jwt' });
    expect(transport.requests[0]).toMatchObject({
      command: 'id_token_status',
      path: 'check-id-token',
      params: { id_token: 'jwt', oxd_id: 'site-1' },
    });
  });

  test('userinfo - 3.x claims are returned as sent, nulls dropped', async () => {
    const { client } = setup(testConfig({ oxdId: 'site-1' }), 'socket', {
      get_user_info: () =>
        ok({
          claims: { sub: ['jane'], email: ['j@x.test'] },
          refresh_token: null,
          access_token: null,
        }),
    });
    await expect(client.getUserInfo({ access_token: 'at' })).resolves.toEqual({
      claims: { sub: ['jane'], email: ['j@x.test'] },
    });
  });

  test('userinfo - a 4.x userinfo body becomes {claims}', async () => {
    const { client } = setup(httpsV4(), 'https', {
      get_user_info: () => ok({ sub: 'jane', email_verified: true, nickname: null }),
    });
    await expect(client.getUserInfo({ access_token: 'at' })).resolves.toEqual({
      claims: { sub: 'jane', email_verified: true },
    });
  });

  test('userinfo - a 4.x 200 body with an error key is an OxdCommandError', async () => {
    const { client } = setup(httpsV4(), 'https', {
      get_user_info: () => ok({ error: 'invalid_token', error_description: 'expired' }),
    });
    await expect(client.getUserInfo({ access_token: 'at' })).rejects.toMatchObject({
      name: 'OxdCommandError',
      command: 'get_user_info',
      error: 'invalid_token',
      error_description: 'expired',
    });
  });

  test('uma_rp_get_rpt - upgraded and updated are both set from either spelling', async () => {
    const rpt = { access_token: 'rpt', token_type: 'Bearer', pct: 'pct' };
    const { client } = setup(testConfig({ oxdId: 'site-1' }), 'socket', {
      uma_rp_get_rpt: (_r, i) =>
        ok(i === 0 ? { ...rpt, upgraded: true } : { ...rpt, updated: false }),
    });
    await expect(client.umaRpGetRpt({ ticket: 't' })).resolves.toEqual({
      ...rpt,
      updated: true,
      upgraded: true,
    });
    await expect(client.umaRpGetRpt({ ticket: 't' })).resolves.toEqual({
      ...rpt,
      updated: false,
      upgraded: false,
    });
  });

  test('register_site - reads initiate_login_uri spelled with a trailing space', async () => {
    const { client } = setup(httpsV4(), 'https', {
      register_site: () =>
        ok({
          oxd_id: 'site-1',
          client_id: 'c-1',
          client_secret: 's-1',
          'initiate_login_uri ': 'https://rp.example.test/login',
        }),
    });
    const result = await client.registerSite({ redirect_uris: ['https://rp.example.test/cb'] });
    expect(result).toEqual({
      oxd_id: 'site-1',
      client_id: 'c-1',
      client_secret: 's-1',
      initiate_login_uri: 'https://rp.example.test/login',
    });
  });

  test('close - closes the transport and refuses later commands', async () => {
    const { client, transport } = setup();
    await client.close();
    expect(transport.closed).toBe(true);
    await expect(client.getAuthorizationUrl()).rejects.toMatchObject({
      code: ERROR_CODES.CLIENT_CLOSED,
    });
    await expect(client.register()).rejects.toMatchObject({ code: ERROR_CODES.CLIENT_CLOSED });
  });

  test('transport - the configuration selects HTTPS or socket and its version', async () => {
    const https = new OxdClient(httpsV4(), { writeBack: false });
    const socket = new OxdClient(testConfig(), { writeBack: false });
    clients.push(https, socket);
    expect([https.transportKind, https.serverVersion]).toEqual(['https', 4]);
    expect([socket.transportKind, socket.serverVersion]).toEqual(['socket', 3]);
  });
});
