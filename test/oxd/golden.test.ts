/**
 * Golden wire tests: for every command, the exact bytes the socket transport writes and
 * the exact HTTPS request, captured by real local servers. Expected values are written
 * out by hand from the protocol reference (length prefixes counted by hand), not derived
 * from the code under test.
 */
import { once } from 'node:events';
import {
  createServer as createNetServer,
  type AddressInfo,
  type Server as NetServer,
} from 'node:net';
import { COMMANDS, type CommandName } from '../../src/oxd/commands';
import { OxdClient } from '../../src/oxd/client';
import { json, type ScriptedOxdHttps, startScriptedOxdHttps } from '../fixtures/scripted-oxd-https';
import { testConfig } from '../fixtures/oxd-client';

interface GoldenRow {
  name: CommandName;
  params: object;
  /** Exact socket frame (oxd 3.x, protection on), or null where the socket lacks the command. */
  socket: string | null;
  /** Params for the HTTPS call when they differ (4.x spelling). */
  httpsParams?: object;
  /**
   * Body of the 3.x https-extension request (`POST /v3/<path>`), when it differs from
   * `https.body`: the socket's params without `protection_access_token` (§1b).
   */
  v3Body?: string;
  https: {
    version: 3 | 4;
    path: string;
    /** Whether `Authorization: Bearer tok-1` is sent. */
    bearer: boolean;
    body: string;
  };
  /** oxd's data; the socket wraps it in `{status,data}`, HTTPS 4.x sends it bare. */
  reply: Record<string, unknown>;
  /** What the client returns, when it differs from `reply`. */
  result?: Record<string, unknown>;
  httpsReply?: Record<string, unknown>;
  httpsResult?: Record<string, unknown>;
}

const ROWS: GoldenRow[] = [
  {
    name: 'setupClient',
    params: {
      op_host: 'https://op.example.test',
      authorization_redirect_uri: 'https://rp.example.test/cb',
      scope: ['openid', 'oxd', 'uma_protection'],
      grant_types: ['authorization_code', 'client_credentials'],
      setup_client_name: 'rp setup',
    },
    socket:
      '0262{"command":"setup_client","params":{"op_host":"https://op.example.test","authorization_redirect_uri":"https://rp.example.test/cb","scope":["openid","oxd","uma_protection"],"grant_types":["authorization_code","client_credentials"],"setup_client_name":"rp setup"}}',
    https: {
      version: 3,
      path: '/setup-client',
      bearer: false,
      body: '{"op_host":"https://op.example.test","authorization_redirect_uri":"https://rp.example.test/cb","scope":["openid","oxd","uma_protection"],"grant_types":["authorization_code","client_credentials"],"setup_client_name":"rp setup"}',
    },
    reply: { oxd_id: 'site-1', client_id: 'sc', client_secret: 'ss' },
  },
  {
    name: 'getClientToken',
    params: {
      client_id: 'cid',
      client_secret: 'csec',
      op_host: 'https://op.example.test',
      scope: ['openid', 'oxd'],
    },
    socket:
      '0143{"command":"get_client_token","params":{"client_id":"cid","client_secret":"csec","op_host":"https://op.example.test","scope":["openid","oxd"]}}',
    https: {
      version: 4,
      path: '/get-client-token',
      bearer: false,
      body: '{"client_id":"cid","client_secret":"csec","op_host":"https://op.example.test","scope":["openid","oxd"]}',
    },
    reply: { access_token: 'at', expires_in: 299, scope: 'openid oxd' },
  },
  {
    name: 'introspectAccessToken',
    params: { access_token: 'at-1' },
    socket:
      '0122{"command":"introspect_access_token","params":{"access_token":"at-1","oxd_id":"site-1","protection_access_token":"tok-1"}}',
    https: {
      version: 4,
      path: '/introspect-access-token',
      bearer: true,
      body: '{"access_token":"at-1","oxd_id":"site-1"}',
    },
    reply: { active: true, client_id: 'cid' },
  },
  {
    name: 'registerSite',
    params: {
      op_host: 'https://op.example.test',
      authorization_redirect_uri: 'https://rp.example.test/cb',
    },
    socket:
      '0166{"command":"register_site","params":{"op_host":"https://op.example.test","authorization_redirect_uri":"https://rp.example.test/cb","protection_access_token":"tok-1"}}',
    httpsParams: {
      op_host: 'https://op.example.test',
      redirect_uris: ['https://rp.example.test/cb'],
    },
    v3Body:
      '{"op_host":"https://op.example.test","authorization_redirect_uri":"https://rp.example.test/cb"}',
    https: {
      version: 4,
      path: '/register-site',
      bearer: true,
      body: '{"op_host":"https://op.example.test","redirect_uris":["https://rp.example.test/cb"]}',
    },
    reply: { oxd_id: 'site-2' },
  },
  {
    name: 'updateSite',
    params: { client_name: 'Renamed RP' },
    socket:
      '0115{"command":"update_site","params":{"client_name":"Renamed RP","oxd_id":"site-1","protection_access_token":"tok-1"}}',
    https: {
      version: 4,
      path: '/update-site',
      bearer: true,
      body: '{"client_name":"Renamed RP","oxd_id":"site-1"}',
    },
    reply: { oxd_id: 'site-1' },
  },
  {
    name: 'removeSite',
    params: {},
    socket:
      '0088{"command":"remove_site","params":{"oxd_id":"site-1","protection_access_token":"tok-1"}}',
    https: { version: 4, path: '/remove-site', bearer: true, body: '{"oxd_id":"site-1"}' },
    reply: { oxd_id: 'site-1' },
  },
  {
    name: 'getAuthorizationUrl',
    params: {
      scope: ['openid', 'profile'],
      acr_values: ['basic'],
      prompt: 'login',
      custom_parameters: { param1: 'value1' },
    },
    socket:
      '0207{"command":"get_authorization_url","params":{"scope":["openid","profile"],"acr_values":["basic"],"prompt":"login","custom_parameters":{"param1":"value1"},"oxd_id":"site-1","protection_access_token":"tok-1"}}',
    https: {
      version: 4,
      path: '/get-authorization-url',
      bearer: true,
      body: '{"scope":["openid","profile"],"acr_values":["basic"],"prompt":"login","custom_parameters":{"param1":"value1"},"oxd_id":"site-1"}',
    },
    reply: { authorization_url: 'https://op.example.test/authorize?state=s-1' },
  },
  {
    name: 'getTokensByCode',
    params: { code: 'code-1', state: 'state-1' },
    socket:
      '0129{"command":"get_tokens_by_code","params":{"code":"code-1","state":"state-1","oxd_id":"site-1","protection_access_token":"tok-1"}}',
    https: {
      version: 4,
      path: '/get-tokens-by-code',
      bearer: true,
      body: '{"code":"code-1","state":"state-1","oxd_id":"site-1"}',
    },
    reply: {
      access_token: 'at-1',
      expires_in: 299,
      id_token: 'idt-1',
      refresh_token: 'rt-1',
      id_token_claims: { sub: ['jane'] },
    },
  },
  {
    name: 'getAccessTokenByRefreshToken',
    params: { refresh_token: 'rt-1', scope: ['openid'] },
    socket:
      '0152{"command":"get_access_token_by_refresh_token","params":{"refresh_token":"rt-1","scope":["openid"],"oxd_id":"site-1","protection_access_token":"tok-1"}}',
    https: {
      version: 4,
      path: '/get-access-token-by-refresh-token',
      bearer: true,
      body: '{"refresh_token":"rt-1","scope":["openid"],"oxd_id":"site-1"}',
    },
    reply: { access_token: 'at-2', expires_in: 299, refresh_token: 'rt-2' },
  },
  {
    name: 'getUserInfo',
    params: { access_token: 'at-1' },
    socket:
      '0112{"command":"get_user_info","params":{"access_token":"at-1","oxd_id":"site-1","protection_access_token":"tok-1"}}',
    https: {
      version: 4,
      path: '/get-user-info',
      bearer: true,
      body: '{"access_token":"at-1","oxd_id":"site-1"}',
    },
    reply: { claims: { sub: ['jane'] } },
    httpsReply: { sub: 'jane' },
    httpsResult: { claims: { sub: 'jane' } },
  },
  {
    name: 'getLogoutUri',
    params: {
      id_token_hint: 'idt-1',
      post_logout_redirect_uri: 'https://rp.example.test/bye',
      state: 'st-1',
      session_state: 'ss-1',
    },
    socket:
      '0210{"command":"get_logout_uri","params":{"id_token_hint":"idt-1","post_logout_redirect_uri":"https://rp.example.test/bye","state":"st-1","session_state":"ss-1","oxd_id":"site-1","protection_access_token":"tok-1"}}',
    https: {
      version: 4,
      path: '/get-logout-uri',
      bearer: true,
      body: '{"id_token_hint":"idt-1","post_logout_redirect_uri":"https://rp.example.test/bye","state":"st-1","session_state":"ss-1","oxd_id":"site-1"}',
    },
    reply: { uri: 'https://op.example.test/end_session?state=st-1' },
  },
  {
    name: 'umaRsProtect',
    params: {
      resources: [
        {
          path: '/photo',
          conditions: [{ httpMethods: ['GET'], scopes: ['https://rs.example.test/view'] }],
        },
      ],
      overwrite: true,
    },
    socket:
      '0221{"command":"uma_rs_protect","params":{"resources":[{"path":"/photo","conditions":[{"httpMethods":["GET"],"scopes":["https://rs.example.test/view"]}]}],"overwrite":true,"oxd_id":"site-1","protection_access_token":"tok-1"}}',
    https: {
      version: 4,
      path: '/uma-rs-protect',
      bearer: true,
      body: '{"resources":[{"path":"/photo","conditions":[{"httpMethods":["GET"],"scopes":["https://rs.example.test/view"]}]}],"overwrite":true,"oxd_id":"site-1"}',
    },
    reply: { oxd_id: 'site-1' },
  },
  {
    name: 'umaRsModify',
    params: { path: '/photo', http_method: 'GET', scopes: ['https://rs.example.test/all'] },
    socket: null,
    https: {
      version: 4,
      path: '/uma-rs-modify',
      bearer: true,
      body: '{"path":"/photo","http_method":"GET","scopes":["https://rs.example.test/all"],"oxd_id":"site-1"}',
    },
    reply: { oxd_id: 'site-1' },
  },
  {
    name: 'umaRsCheckAccess',
    params: { rpt: '', path: '/photo', http_method: 'GET' },
    socket:
      '0141{"command":"uma_rs_check_access","params":{"rpt":"","path":"/photo","http_method":"GET","oxd_id":"site-1","protection_access_token":"tok-1"}}',
    https: {
      version: 4,
      path: '/uma-rs-check-access',
      bearer: true,
      body: '{"rpt":"","path":"/photo","http_method":"GET","oxd_id":"site-1"}',
    },
    reply: {
      access: 'denied',
      'www-authenticate_header':
        'UMA realm="rs",as_uri="https://op.example.test",error="insufficient_scope",ticket="t-1"',
      ticket: 't-1',
    },
  },
  {
    name: 'introspectRpt',
    params: { rpt: 'rpt-1' },
    socket:
      '0105{"command":"introspect_rpt","params":{"rpt":"rpt-1","oxd_id":"site-1","protection_access_token":"tok-1"}}',
    https: {
      version: 4,
      path: '/introspect-rpt',
      bearer: true,
      body: '{"rpt":"rpt-1","oxd_id":"site-1"}',
    },
    reply: { active: true, permissions: [] },
  },
  {
    name: 'umaRpGetRpt',
    params: {
      ticket: 't-1',
      claim_token: 'idt-1',
      claim_token_format: 'http://openid.net/specs/openid-connect-core-1_0.html#IDToken',
    },
    socket:
      '0212{"command":"uma_rp_get_rpt","params":{"ticket":"t-1","claim_token":"idt-1","claim_token_format":"http://openid.net/specs/openid-connect-core-1_0.html#IDToken","oxd_id":"site-1","protection_access_token":"tok-1"}}',
    https: {
      version: 4,
      path: '/uma-rp-get-rpt',
      bearer: true,
      body: '{"ticket":"t-1","claim_token":"idt-1","claim_token_format":"http://openid.net/specs/openid-connect-core-1_0.html#IDToken","oxd_id":"site-1"}',
    },
    reply: { access_token: 'rpt-1', token_type: 'Bearer', pct: 'pct-1', updated: true },
    result: {
      access_token: 'rpt-1',
      token_type: 'Bearer',
      pct: 'pct-1',
      updated: true,
      upgraded: true,
    },
  },
  {
    name: 'umaRpGetClaimsGatheringUrl',
    params: { ticket: 't-2', claims_redirect_uri: 'https://rp.example.test/claims' },
    socket:
      '0178{"command":"uma_rp_get_claims_gathering_url","params":{"ticket":"t-2","claims_redirect_uri":"https://rp.example.test/claims","oxd_id":"site-1","protection_access_token":"tok-1"}}',
    https: {
      version: 4,
      path: '/uma-rp-get-claims-gathering-url',
      bearer: true,
      body: '{"ticket":"t-2","claims_redirect_uri":"https://rp.example.test/claims","oxd_id":"site-1"}',
    },
    reply: { url: 'https://op.example.test/claims?ticket=t-2', state: 'cs-1' },
  },
  {
    name: 'getRp',
    params: {},
    socket:
      '0083{"command":"get_rp","params":{"oxd_id":"site-1","protection_access_token":"tok-1"}}',
    https: { version: 4, path: '/get-rp', bearer: true, body: '{"oxd_id":"site-1"}' },
    reply: { node: { oxd_id: 'site-1' } },
  },
  {
    name: 'getJwks',
    params: { op_host: 'https://op.example.test' },
    socket: null,
    https: {
      version: 4,
      path: '/get-jwks',
      bearer: true,
      body: '{"op_host":"https://op.example.test"}',
    },
    reply: { keys: [] },
  },
  {
    name: 'getDiscovery',
    params: { op_host: 'https://op.example.test' },
    socket: null,
    https: {
      version: 4,
      path: '/get-discovery',
      bearer: true,
      body: '{"op_host":"https://op.example.test"}',
    },
    reply: { issuer: 'https://op.example.test' },
  },
  {
    name: 'issuerDiscovery',
    params: { op_host: 'https://op.example.test', resource: 'acct:jane@op.example.test' },
    socket: null,
    https: {
      version: 4,
      path: '/get-issuer',
      bearer: true,
      body: '{"op_host":"https://op.example.test","resource":"acct:jane@op.example.test"}',
    },
    reply: { subject: 'acct:jane@op.example.test', links: [] },
  },
  {
    name: 'checkIdToken',
    params: { id_token: 'idt-1', nonce: 'n-1' },
    socket:
      '0125{"command":"id_token_status","params":{"id_token":"idt-1","nonce":"n-1","oxd_id":"site-1","protection_access_token":"tok-1"}}',
    https: {
      version: 4,
      path: '/check-id-token',
      bearer: true,
      body: '{"id_token":"idt-1","nonce":"n-1","oxd_id":"site-1"}',
    },
    reply: { active: true, claims: {} },
  },
  {
    name: 'checkAccessToken',
    params: { id_token: 'idt-1', access_token: 'at-1' },
    socket:
      '0137{"command":"access_token_status","params":{"id_token":"idt-1","access_token":"at-1","oxd_id":"site-1","protection_access_token":"tok-1"}}',
    https: {
      version: 4,
      path: '/check-access-token',
      bearer: true,
      body: '{"id_token":"idt-1","access_token":"at-1","oxd_id":"site-1"}',
    },
    reply: { active: true },
  },
  {
    name: 'getAuthorizationCode',
    params: { username: 'jane', password: 'pw-1', state: 'st-1', nonce: 'n-1' },
    socket:
      '0164{"command":"get_authorization_code","params":{"username":"jane","password":"pw-1","state":"st-1","nonce":"n-1","oxd_id":"site-1","protection_access_token":"tok-1"}}',
    https: {
      version: 4,
      path: '/get-authorization-code',
      bearer: true,
      body: '{"username":"jane","password":"pw-1","state":"st-1","nonce":"n-1","oxd_id":"site-1"}',
    },
    reply: { code: 'code-1' },
  },
  {
    name: 'getRequestUri',
    params: {
      oxd_host_url: 'https://127.0.0.1:8443',
      params: { max_age: '70' },
      request_object_signing_alg: 'RS256',
    },
    socket: null,
    https: {
      version: 4,
      path: '/get-request-object-uri',
      bearer: true,
      body: '{"oxd_host_url":"https://127.0.0.1:8443","params":{"max_age":"70"},"request_object_signing_alg":"RS256","oxd_id":"site-1"}',
    },
    reply: { request_uri: 'https://127.0.0.1:8443/get-request-object/1' },
  },
];

/** Non-ASCII goes out escaped on the socket (so the prefix counts bytes and chars alike). */
const NON_ASCII: GoldenRow = {
  name: 'getUserInfo',
  params: { access_token: 'caf\u00e9' },
  socket:
    '0117{"command":"get_user_info","params":{"access_token":"caf\\u00e9","oxd_id":"site-1","protection_access_token":"tok-1"}}',
  https: {
    version: 4,
    path: '/get-user-info',
    bearer: true,
    body: '{"access_token":"caf\u00e9","oxd_id":"site-1"}',
  },
  reply: { claims: { sub: ['jane'] } },
  httpsReply: { sub: 'jane' },
  httpsResult: { claims: { sub: 'jane' } },
};

async function invoke(client: OxdClient, name: CommandName, params: object): Promise<unknown> {
  const method = client[name] as (this: OxdClient, p: object) => Promise<unknown>;
  return method.call(client, params);
}

const SITE = { oxdId: 'site-1' };
const CREDENTIALS = { clientId: 'cid', clientSecret: 'csec', protectionAccessToken: 'tok-1' };

test('golden - the table covers every command of the client', () => {
  expect(ROWS.map((r) => r.name).sort()).toEqual(Object.keys(COMMANDS).sort());
});

describe('golden socket frames', () => {
  let server: NetServer;
  let client: OxdClient;
  const frames: string[] = [];
  let replyData: Record<string, unknown> = {};

  beforeAll(async () => {
    server = createNetServer((socket) => {
      let buffered = Buffer.alloc(0);
      socket.on('data', (chunk: Buffer) => {
        buffered = Buffer.concat([buffered, chunk]);
        while (buffered.length >= 4) {
          const length = Number(buffered.toString('latin1', 0, 4));
          if (buffered.length < 4 + length) break;
          frames.push(buffered.toString('latin1', 0, 4 + length));
          buffered = buffered.subarray(4 + length);
          const json = JSON.stringify({ status: 'ok', data: replyData });
          socket.write(String(json.length).padStart(4, '0') + json);
        }
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    client = new OxdClient(
      testConfig({ host: '127.0.0.1', port, protectCommands: true, ...SITE }, CREDENTIALS),
      { writeBack: false },
    );
  });

  afterAll(async () => {
    await client.close();
    server.close();
    await once(server, 'close');
  });

  beforeEach(() => {
    frames.length = 0;
  });

  const socketRows = [...ROWS, NON_ASCII].filter((row) => row.socket !== null);
  test.each(socketRows.map((row) => [row.name, row] as const))(
    'socket - %s writes the exact frame',
    async (_name, row) => {
      replyData = row.reply;
      await expect(invoke(client, row.name, row.params)).resolves.toEqual(row.result ?? row.reply);
      expect(frames).toEqual([row.socket]);
    },
  );

  test('socket - commands only 4.x has are refused before anything is sent', async () => {
    const missing = ROWS.filter((row) => row.socket === null);
    expect(missing.map((row) => row.name)).toEqual([
      'umaRsModify',
      'getJwks',
      'getDiscovery',
      'issuerDiscovery',
      'getRequestUri',
    ]);
    for (const row of missing) {
      await expect(invoke(client, row.name, row.params)).rejects.toThrow(/server version 3/);
    }
    expect(frames).toEqual([]);
  });
});

describe('golden HTTPS requests', () => {
  let server: ScriptedOxdHttps;
  const clients = new Map<3 | 4, OxdClient>();
  let seenBefore = 0;

  beforeAll(async () => {
    server = await startScriptedOxdHttps();
    for (const serverVersion of [3, 4] as const) {
      const config = testConfig(
        { https: true, host: server.url, serverVersion, ca: server.ca, ...SITE },
        CREDENTIALS,
      );
      clients.set(serverVersion, new OxdClient(config, { writeBack: false }));
    }
  });

  afterAll(async () => {
    await Promise.all([...clients.values()].map((c) => c.close()));
    await server.close();
  });

  beforeEach(() => {
    seenBefore = server.requests.length;
  });

  test.each([...ROWS, NON_ASCII].map((row) => [row.https.path, row] as const))(
    'https - POST %s with the exact headers and body',
    async (_path, row) => {
      const data = row.httpsReply ?? row.reply;
      server.answer(
        json(200, JSON.stringify(row.https.version === 3 ? { status: 'ok', data } : data)),
      );
      const client = clients.get(row.https.version) as OxdClient;
      await expect(invoke(client, row.name, row.httpsParams ?? row.params)).resolves.toEqual(
        row.httpsResult ?? row.result ?? row.reply,
      );
      const requests = server.requests.slice(seenBefore);
      expect(requests).toHaveLength(1);
      const [request] = requests;
      expect(request?.method).toBe('POST');
      expect(request?.path).toBe(row.https.path);
      expect(request?.headers['content-type']).toBe('application/json');
      expect(request?.headers.authorization).toBe(row.https.bearer ? 'Bearer tok-1' : undefined);
      expect(request?.body).toBe(row.https.body);
    },
  );
});

/**
 * The 3.x https-extension (protocol notes §1b): `POST <base>/<path>` with the socket's params
 * as the body, the token only in `Authorization: Bearer` (never for setup_client and
 * get_client_token), and oxd's `{status, data}` envelope in the answer. Every command the
 * socket has goes out this way too.
 */
describe('golden 3.x https-extension requests (/v3/)', () => {
  let server: ScriptedOxdHttps;
  let client: OxdClient;
  let seenBefore = 0;

  beforeAll(async () => {
    server = await startScriptedOxdHttps();
    const config = testConfig(
      { https: true, host: `${server.url}/v3`, serverVersion: 3, ca: server.ca, ...SITE },
      CREDENTIALS,
    );
    client = new OxdClient(config, { writeBack: false });
  });

  afterAll(async () => {
    await client.close();
    await server.close();
  });

  beforeEach(() => {
    seenBefore = server.requests.length;
  });

  const v3Rows = [...ROWS, NON_ASCII].filter((row) => row.socket !== null);
  test.each(v3Rows.map((row) => [row.https.path, row] as const))(
    'v3 - POST /v3%s with the exact headers and body',
    async (_path, row) => {
      server.answer(json(200, JSON.stringify({ status: 'ok', data: row.reply })));
      await expect(invoke(client, row.name, row.params)).resolves.toEqual(row.result ?? row.reply);
      const requests = server.requests.slice(seenBefore);
      expect(requests).toHaveLength(1);
      const [request] = requests;
      expect(request?.method).toBe('POST');
      expect(request?.path).toBe(`/v3${row.https.path}`);
      expect(request?.headers['content-type']).toBe('application/json');
      expect(request?.headers.authorization).toBe(row.https.bearer ? 'Bearer tok-1' : undefined);
      expect(request?.body).toBe(row.v3Body ?? row.https.body);
    },
  );

  test('v3 - an error in the envelope with HTTP 200 is an oxd error, not a success', async () => {
    server.answer(
      json(
        200,
        '{"status":"error","data":{"error":"invalid_oxd_id","error_description":"Invalid oxd_id.","details":null}}',
      ),
    );
    await expect(client.getRp({})).rejects.toMatchObject({ error: 'invalid_oxd_id' });
  });
});
