/**
 * Golden answers per oxd version profile: every command the client has, sent on every
 * transport the release line serves (3.1.3 and 3.1.4: socket and the https-extension
 * envelope under /v3/; 4.1 and 4.2: 4.x REST), and the exact shape of what the local oxd
 * server answers in that profile: the envelope, every field name and its JSON type.
 * The expected shapes are written by hand from the protocol notes (../shared/oxd-protocol.md,
 * sections cited per row), not captured from the server. The three commands whose answers
 * differ between releases (get_authorization_url, get_logout_uri, get_client_token) have
 * their differences pinned value by value.
 */
import { Agent } from 'undici';
import { encodeFrame } from '../../src/oxd/framing';
import { COMMANDS } from '../../src/oxd/commands';
import { dedicatedStack, type LocalStack } from '../helpers/local-stack';
import { rawHttps } from '../helpers/raw-https';
import { RawOxdSocket } from '../helpers/raw-socket';
import { submitOpLogin } from '../../src/testing/op-login';

type Profile = '3.1.3' | '3.1.4' | '4.1' | '4.2';
type Transport = 'socket' | 'v3' | 'rest';

const REDIRECT = 'https://rp.example/callback';
const BYE = 'https://rp.example/bye';
const CLAIMS_REDIRECT = 'https://rp.example/claims';
const VIEW = 'https://photoz.example/view';
const ALL = 'https://photoz.example/all';
const PHOTOS = [{ path: '/photos', conditions: [{ httpMethods: ['GET'], scopes: [VIEW] }] }];
const UMA_TICKET_GRANT = 'urn:ietf:params:oauth:grant-type:uma-ticket';
const GRANTS = ['authorization_code', 'client_credentials', 'refresh_token', UMA_TICKET_GRANT];
const SCOPES = ['openid', 'profile', 'oxd', 'uma_protection', 'offline_access'];
const STATE = 'golden-state-1';
const NONCE = 'golden-nonce-1';

/** A JSON value's type as the tables spell it. */
type JsonType = 'string' | 'number' | 'boolean' | 'null' | 'array' | 'object';
type Shape = Record<string, JsonType>;

function typeOf(value: unknown): JsonType {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value as JsonType;
}

function shapeOf(value: unknown): Shape {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(`not a JSON object: ${JSON.stringify(value)}`);
  }
  return Object.fromEntries(Object.entries(value).map(([key, v]) => [key, typeOf(v)]));
}

/**
 * The data of each command's success answer, per release line. 3.1 (§2, §8.2): the Java
 * response classes are written whole by a default Jackson mapper, so a field oxd did not
 * set is present as null. 4.x (§1c, §2): the data object is the body.
 */
const V3_SHAPES: Record<string, Shape> = {
  // §2.1 SetupClientResponse
  setup_client: {
    oxd_id: 'string',
    client_id_of_oxd_id: 'string',
    op_host: 'string',
    setup_client_oxd_id: 'string',
    client_id: 'string',
    client_secret: 'string',
    client_registration_access_token: 'string',
    client_registration_client_uri: 'string',
    client_id_issued_at: 'number',
    client_secret_expires_at: 'number',
  },
  // §2.2 / §1d: scope is one string in 3.1
  get_client_token: {
    access_token: 'string',
    expires_in: 'number',
    refresh_token: 'null',
    scope: 'string',
  },
  // §2.4: 3.1 RegisterSiteResponse
  register_site: { oxd_id: 'string', op_host: 'string' },
  // §2.5
  update_site: { oxd_id: 'string' },
  // §2.7
  get_authorization_url: { authorization_url: 'string' },
  // §2.18
  get_authorization_code: { code: 'string' },
  // §2.8: id_token_claims is Map<String, List<String>>
  get_tokens_by_code: {
    access_token: 'string',
    expires_in: 'number',
    id_token: 'string',
    refresh_token: 'string',
    id_token_claims: 'object',
  },
  // §2.10 and §8.2: {claims, refresh_token: null, access_token: null}
  get_user_info: { claims: 'object', refresh_token: 'null', access_token: 'null' },
  // §2.9
  get_access_token_by_refresh_token: {
    access_token: 'string',
    expires_in: 'number',
    refresh_token: 'string',
  },
  // §2.18 CheckIdTokenResponse
  id_token_status: {
    active: 'boolean',
    expires_at: 'number',
    issued_at: 'number',
    claims: 'object',
  },
  // §2.18 CheckAccessTokenResponse
  access_token_status: { active: 'boolean', expires_at: 'number', issued_at: 'number' },
  // §2.11
  get_logout_uri: { uri: 'string' },
  // §2.12
  uma_rs_protect: { oxd_id: 'string' },
  // §2.16: the Java field is `updated`
  uma_rp_get_rpt: {
    access_token: 'string',
    token_type: 'string',
    pct: 'string',
    updated: 'boolean',
  },
  // §2.17
  uma_rp_get_claims_gathering_url: { url: 'string', state: 'string' },
  // §2.18
  get_rp: { node: 'object' },
  // §2.6
  remove_site: { oxd_id: 'string' },
};

const V4_SHAPES: Record<string, Shape> = {
  // §2.2 / §1d: scope is a list in 4.x. §8.2 leaves open whether 4.x writes unset fields as
  // null; these tables expect them left out (the client-credentials grant has no refresh token).
  get_client_token: { access_token: 'string', expires_in: 'number', scope: 'array' },
  // §2.4: 4.x RegisterSiteResponse
  register_site: {
    oxd_id: 'string',
    op_host: 'string',
    client_id: 'string',
    client_name: 'string',
    client_secret: 'string',
    client_registration_access_token: 'string',
    client_registration_client_uri: 'string',
    client_id_issued_at: 'number',
    client_secret_expires_at: 'number',
  },
  update_site: { oxd_id: 'string' },
  get_authorization_url: { authorization_url: 'string' },
  get_authorization_code: { code: 'string' },
  // §2.8: 4.x id_token_claims is the JWT's claims object
  get_tokens_by_code: {
    access_token: 'string',
    expires_in: 'number',
    id_token: 'string',
    refresh_token: 'string',
    id_token_claims: 'object',
  },
  // §2.9: the 4.x swagger adds scope (a list)
  get_access_token_by_refresh_token: {
    access_token: 'string',
    expires_in: 'number',
    refresh_token: 'string',
    scope: 'array',
  },
  check_id_token: {
    active: 'boolean',
    expires_at: 'number',
    issued_at: 'number',
    claims: 'object',
  },
  check_access_token: { active: 'boolean', expires_at: 'number', issued_at: 'number' },
  get_logout_uri: { uri: 'string' },
  uma_rs_protect: { oxd_id: 'string' },
  // §2.13
  uma_rs_modify: { oxd_id: 'string' },
  uma_rp_get_rpt: {
    access_token: 'string',
    token_type: 'string',
    pct: 'string',
    updated: 'boolean',
  },
  uma_rp_get_claims_gathering_url: { url: 'string', state: 'string' },
  get_rp: { node: 'object' },
  // §2.18
  get_jwks: { keys: 'array' },
  issuer_discovery: { subject: 'string', links: 'array' },
  get_request_uri: { request_uri: 'string' },
  remove_site: { oxd_id: 'string' },
};

/**
 * Answers whose field set depends on the call (introspection, discovery, userinfo, check
 * access): the fields the notes guarantee, with their types; other fields may follow.
 */
const AT_LEAST: Record<string, Shape> = {
  // §2.3
  introspect_access_token: { active: 'boolean', client_id: 'string', exp: 'number', iat: 'number' },
  // §2.15
  introspect_rpt: { active: 'boolean', exp: 'number', iat: 'number', permissions: 'array' },
  // §2.18: the OP's discovery document
  get_discovery: {
    issuer: 'string',
    authorization_endpoint: 'string',
    token_endpoint: 'string',
    end_session_endpoint: 'string',
    jwks_uri: 'string',
  },
  // §2.10: 4.x passes the OP's userinfo JSON through, flat
  get_user_info_v4: { sub: 'string' },
};

interface Answer {
  /** The socket frame's or the HTTP body's JSON. */
  body: Record<string, unknown>;
  /** HTTP status (200 on the socket). */
  status: number;
}

class Wire {
  private readonly sockets: RawOxdSocket[] = [];
  readonly agent: Agent;

  constructor(
    readonly stack: LocalStack,
    readonly transport: Transport,
  ) {
    this.agent = new Agent({ connect: { ca: stack.oxd.ca } });
  }

  /** Sends one command as a client of this transport would (token in params or header). */
  async send(command: string, path: string, params: object, token?: string): Promise<Answer> {
    if (this.transport === 'socket') {
      const socket = await RawOxdSocket.open(this.stack.oxd.port);
      this.sockets.push(socket);
      const withToken =
        token === undefined ? params : { ...params, protection_access_token: token };
      socket.write(encodeFrame({ command, params: withToken }));
      return { body: await socket.frame(), status: 200 };
    }
    const base =
      this.transport === 'v3' ? `${this.stack.oxd.httpsUrl}/v3` : this.stack.oxd.httpsUrl;
    const answer = await rawHttps(`${base}/${path}`, {
      dispatcher: this.agent,
      body: params,
      token,
    });
    return { body: answer.json as Record<string, unknown>, status: answer.status };
  }

  /** The command's data, after checking the envelope of the transport (§1a, §1b, §1c). */
  async data(name: keyof typeof COMMANDS, params: object, token?: string) {
    const spec = COMMANDS[name];
    const answer = await this.send(spec.command, spec.path, params, token);
    if (this.transport === 'rest') {
      if (answer.status !== 200) throw new Error(`${spec.command}: ${JSON.stringify(answer.body)}`);
      return answer.body;
    }
    // 3.x: HTTP 200 (https-extension) and the {status, data} envelope, in that order.
    expect(answer.status).toBe(200);
    expect(Object.keys(answer.body)).toEqual(['status', 'data']);
    if (answer.body.status !== 'ok') {
      throw new Error(`${spec.command}: ${JSON.stringify(answer.body)}`);
    }
    return answer.body.data as Record<string, unknown>;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets.splice(0)) socket.destroy();
    await this.agent.close();
  }
}

/** The data of `command`, checked against its table: every field, nothing more. */
function expectShape(data: Record<string, unknown>, shape: Shape | undefined): void {
  if (!shape) throw new Error('no shape written for this command');
  expect(shapeOf(data)).toEqual(shape);
}

function expectAtLeast(data: Record<string, unknown>, shape: Shape | undefined): void {
  if (!shape) throw new Error('no shape written for this command');
  const actual = shapeOf(data);
  for (const [key, type] of Object.entries(shape)) expect([key, actual[key]]).toEqual([key, type]);
}

function queryOf(url: string): [string, string][] {
  return [...new URL(url).searchParams];
}

/** What one profile × transport run saw, for the cross-profile assertions below. */
interface Seen {
  clientTokenScope: unknown;
  authorizationQuery: [string, string][];
  logoutQuery: [string, string][];
  idToken: string;
  userInfo: Record<string, unknown>;
  idTokenClaims: Record<string, unknown>;
  /** Client methods whose command this run sent. */
  commands: Set<string>;
}

/**
 * Client methods a release does not serve on a transport: oxd-https-extension 3.1.x has no
 * /get-rp, /get-authorization-code, /check-id-token, /check-access-token (its RestResource);
 * 3.1.3 has no get_rp at all (its CommandType).
 */
function serves(profile: Profile, transport: Transport, name: string): boolean {
  const extensionLacks = ['getRp', 'getAuthorizationCode', 'checkIdToken', 'checkAccessToken'];
  if (transport === 'v3' && extensionLacks.includes(name)) return false;
  return !(profile === '3.1.3' && name === 'getRp');
}

/** Runs every command of the client the release serves on `wire`, checking each answer. */
async function runAll(wire: Wire, v3: boolean, profile: Profile): Promise<Seen> {
  const served = (name: string) => serves(profile, wire.transport, name);
  const sent = new Set<string>();
  const data = async (name: keyof typeof COMMANDS, params: object, token?: string) => {
    sent.add(name);
    return wire.data(name, params, token);
  };
  const shapes = v3 ? V3_SHAPES : V4_SHAPES;
  const user = wire.stack.op.users[0];
  if (!user) throw new Error('the local OP has no user');

  // Bootstrap: 3.x setup_client then get_client_token for the setup client (§1d, §2.1);
  // 4.x register_site then get_client_token for the site's own client (§1d, §8.4).
  let oxdId: string;
  let token: string | undefined;
  let clientTokenScope: unknown;
  if (v3) {
    const setup = await data('setupClient', {
      authorization_redirect_uri: REDIRECT,
      post_logout_redirect_uri: BYE,
      claims_redirect_uri: [CLAIMS_REDIRECT],
      scope: SCOPES,
      grant_types: GRANTS,
      setup_client_name: 'golden setup',
    });
    expectShape(setup, shapes.setup_client);
    const client = await data('getClientToken', {
      client_id: setup.client_id,
      client_secret: setup.client_secret,
      scope: ['oxd'],
    });
    expectShape(client, shapes.get_client_token);
    clientTokenScope = client.scope;
    // The socket is unprotected by default (§1a "Protection in 3.x"); /v3/ wants the header.
    token = wire.transport === 'v3' ? (client.access_token as string) : undefined;
    const site = await data(
      'registerSite',
      {
        authorization_redirect_uri: REDIRECT,
        post_logout_redirect_uri: BYE,
        claims_redirect_uri: [CLAIMS_REDIRECT],
        scope: SCOPES,
        grant_types: GRANTS,
      },
      token,
    );
    expectShape(site, shapes.register_site);
    oxdId = site.oxd_id as string;
  } else {
    const site = await data('registerSite', {
      redirect_uris: [REDIRECT],
      post_logout_redirect_uris: [BYE],
      claims_redirect_uri: [CLAIMS_REDIRECT],
      scope: SCOPES,
      grant_types: GRANTS,
      client_name: 'golden rp',
    });
    expectShape(site, shapes.register_site);
    oxdId = site.oxd_id as string;
    const client = await data('getClientToken', {
      client_id: site.client_id,
      client_secret: site.client_secret,
      op_host: site.op_host,
      scope: ['oxd'],
    });
    expectShape(client, shapes.get_client_token);
    clientTokenScope = client.scope;
    token = client.access_token as string;
  }

  expectShape(
    await data('updateSite', { oxd_id: oxdId, client_name: 'golden renamed' }, token),
    shapes.update_site,
  );

  const authorization = await data(
    'getAuthorizationUrl',
    {
      oxd_id: oxdId,
      custom_parameters: { param1: 'value1' },
      ...(v3 ? {} : { params: { max_age: '70' }, state: STATE, nonce: NONCE }),
    },
    token,
  );
  expectShape(authorization, shapes.get_authorization_url);

  let login: { code: unknown; state: unknown };
  if (served('getAuthorizationCode')) {
    const code = await data(
      'getAuthorizationCode',
      { oxd_id: oxdId, username: user.username, password: user.password, state: STATE },
      token,
    );
    expectShape(code, shapes.get_authorization_code);
    login = { code: code.code, state: STATE };
  } else {
    const back = await submitOpLogin(
      authorization.authorization_url as string,
      user,
      wire.stack.op.ca,
    );
    login = { code: back.searchParams.get('code'), state: back.searchParams.get('state') };
  }
  const tokens = await data('getTokensByCode', { oxd_id: oxdId, ...login }, token);
  expectShape(tokens, shapes.get_tokens_by_code);
  const accessToken = tokens.access_token as string;
  const idToken = tokens.id_token as string;

  const userInfo = await data('getUserInfo', { oxd_id: oxdId, access_token: accessToken }, token);
  if (v3) expectShape(userInfo, shapes.get_user_info);
  else expectAtLeast(userInfo, AT_LEAST.get_user_info_v4);

  expectShape(
    await data(
      'getAccessTokenByRefreshToken',
      { oxd_id: oxdId, refresh_token: tokens.refresh_token },
      token,
    ),
    shapes.get_access_token_by_refresh_token,
  );
  if (served('checkIdToken')) {
    expectShape(
      await data('checkIdToken', { oxd_id: oxdId, id_token: idToken }, token),
      v3 ? shapes.id_token_status : shapes.check_id_token,
    );
    expectShape(
      await data(
        'checkAccessToken',
        { oxd_id: oxdId, id_token: idToken, access_token: accessToken },
        token,
      ),
      v3 ? shapes.access_token_status : shapes.check_access_token,
    );
  }
  expectAtLeast(
    await data('introspectAccessToken', { oxd_id: oxdId, access_token: accessToken }, token),
    AT_LEAST.introspect_access_token,
  );

  const logout = await data(
    'getLogoutUri',
    { oxd_id: oxdId, id_token_hint: idToken, post_logout_redirect_uri: BYE, state: STATE },
    token,
  );
  expectShape(logout, shapes.get_logout_uri);

  // UMA (§2.12 – §2.17, §3): protect, be denied with a ticket, get an RPT, be granted.
  expectShape(
    await data('umaRsProtect', { oxd_id: oxdId, resources: PHOTOS, overwrite: true }, token),
    shapes.uma_rs_protect,
  );
  const check = { oxd_id: oxdId, path: '/photos', http_method: 'GET' };
  const denied = await data('umaRsCheckAccess', { ...check, rpt: '' }, token);
  // §8.5: never denied without a ticket; no spaces after the header's commas.
  expect(shapeOf(denied)).toEqual({
    access: 'string',
    'www-authenticate_header': 'string',
    ticket: 'string',
  });
  expect(denied.access).toBe('denied');
  expect(denied['www-authenticate_header']).toMatch(
    /^UMA realm="rs",as_uri="[^"]+",error="insufficient_scope",ticket="[^"]+"$/,
  );
  const rpt = await data('umaRpGetRpt', { oxd_id: oxdId, ticket: denied.ticket }, token);
  expectShape(rpt, shapes.uma_rp_get_rpt);
  expect(rpt.token_type).toBe('Bearer');
  expectAtLeast(
    await data('introspectRpt', { oxd_id: oxdId, rpt: rpt.access_token }, token),
    AT_LEAST.introspect_rpt,
  );
  const granted = await data('umaRsCheckAccess', { ...check, rpt: rpt.access_token }, token);
  // §8.2: 3.1 writes the unset header and ticket as null; 4.x leaves them out.
  expect(granted).toEqual(
    v3
      ? { access: 'granted', 'www-authenticate_header': null, ticket: null }
      : { access: 'granted' },
  );
  const again = await data('umaRsCheckAccess', { ...check, rpt: '' }, token);
  expectShape(
    await data(
      'umaRpGetClaimsGatheringUrl',
      { oxd_id: oxdId, ticket: again.ticket, claims_redirect_uri: CLAIMS_REDIRECT },
      token,
    ),
    shapes.uma_rp_get_claims_gathering_url,
  );

  if (served('getRp')) {
    const rp = await data('getRp', { oxd_id: oxdId }, token);
    expectShape(rp, shapes.get_rp);
  }

  if (!v3) {
    expectShape(
      await data(
        'umaRsModify',
        { oxd_id: oxdId, path: '/photos', http_method: 'GET', scopes: [VIEW, ALL] },
        token,
      ),
      shapes.uma_rs_modify,
    );
    const opHost = wire.stack.op.issuer;
    expectShape(await data('getJwks', { op_host: opHost }, token), shapes.get_jwks);
    expectAtLeast(await data('getDiscovery', { op_host: opHost }, token), AT_LEAST.get_discovery);
    expectShape(
      await data(
        'issuerDiscovery',
        { op_host: opHost, resource: `acct:${user.username}@op.example` },
        token,
      ),
      shapes.issuer_discovery,
    );
    expectShape(
      await data(
        'getRequestUri',
        { oxd_id: oxdId, oxd_host_url: wire.stack.oxd.httpsUrl, params: { max_age: '70' } },
        token,
      ),
      shapes.get_request_uri,
    );
  }

  expectShape(await data('removeSite', { oxd_id: oxdId }, token), shapes.remove_site);

  return {
    clientTokenScope,
    authorizationQuery: queryOf(authorization.authorization_url as string),
    logoutQuery: queryOf(logout.uri as string),
    idToken,
    userInfo,
    idTokenClaims: tokens.id_token_claims as Record<string, unknown>,
    commands: sent,
  };
}

/** Client methods each release line has on its transports (src/oxd/commands.ts). */
function methodsOf(version: 3 | 4): string[] {
  return Object.entries(COMMANDS)
    .filter(([, spec]) => (spec.versions as readonly number[]).includes(version))
    .map(([name]) => name)
    .sort();
}

const RUNS: [Profile, Transport][] = [
  ['3.1.3', 'socket'],
  ['3.1.3', 'v3'],
  ['3.1.4', 'socket'],
  ['3.1.4', 'v3'],
  ['4.1', 'rest'],
  ['4.2', 'rest'],
];

const CUSTOM_RESPONSE_HEADERS = ['custom_response_headers', '{"param1":"value1"}'];

describe.each(['3.1.3', '3.1.4', '4.1', '4.2'] as const)('profile %s', (profile) => {
  let stack: LocalStack;
  const seen = new Map<Transport, Seen>();
  const v3 = profile.startsWith('3.');

  beforeAll(async () => {
    stack = await dedicatedStack({ oxdVersion: profile });
  }, 120_000);

  afterAll(async () => {
    await stack.close();
  });

  const transports = RUNS.filter(([p]) => p === profile).map(([, t]) => t);

  test.each(transports)(
    `%s - every command's answer has the shape of oxd ${profile}`,
    async (transport) => {
      const wire = new Wire(stack, transport);
      try {
        const result = await runAll(wire, v3, profile);
        seen.set(transport, result);
        // Every client method the release serves on this transport was sent.
        expect([...result.commands].sort()).toEqual(
          methodsOf(v3 ? 3 : 4).filter((name) => serves(profile, transport, name)),
        );
      } finally {
        await wire.close();
      }
    },
    120_000,
  );

  test.each(transports)('%s - get_client_token: the scope field (§1d)', (transport) => {
    const run = seen.get(transport);
    if (!run) throw new Error('the run above failed');
    // §8.7: the OP is asked for openid plus the given scopes; §1d: a string in 3.1, a list in 4.x.
    expect(run.clientTokenScope).toEqual(v3 ? 'openid oxd' : ['openid', 'oxd']);
  });

  test.each(transports)(
    '%s - get_authorization_url: custom parameters and caller values (§2.7, §8.7)',
    (transport) => {
      const run = seen.get(transport);
      if (!run) throw new Error('the run above failed');
      const query = run.authorizationQuery;
      const names = query.map(([name]) => name);
      // No release sends PKCE; custom_parameters travel as one JSON parameter, never one by one.
      expect(names).not.toContain('code_challenge');
      expect(names).not.toContain('code_challenge_method');
      expect(names).not.toContain('param1');
      expect(query).toContainEqual(CUSTOM_RESPONSE_HEADERS);
      expect(names.filter((name) => name === 'custom_response_headers')).toHaveLength(1);
      const value = (name: string) => query.find(([n]) => n === name)?.[1];
      if (v3) {
        // 3.x has no state/nonce/params: oxd generates both.
        expect(value('state')).toMatch(/.+/);
        expect(value('nonce')).toMatch(/.+/);
        expect(names).not.toContain('max_age');
        return;
      }
      // 4.x: the params map is added one parameter at a time; the caller's state is kept.
      expect(value('max_age')).toBe('70');
      expect(value('state')).toBe(STATE);
      // The caller's nonce from 4.2.0 on; 4.1 generates its own.
      if (profile === '4.2') expect(value('nonce')).toBe(NONCE);
      else expect(value('nonce')).not.toBe(NONCE);
    },
  );

  test.each(transports)('%s - get_logout_uri: where id_token_hint goes (§8.5)', (transport) => {
    const run = seen.get(transport);
    if (!run) throw new Error('the run above failed');
    const hint: [string, string] = ['id_token_hint', run.idToken];
    const rest: [string, string][] = [
      ['post_logout_redirect_uri', BYE],
      ['state', STATE],
    ];
    const expected: Record<Profile, [string, string][]> = {
      '3.1.3': [hint, ...rest], // first
      '3.1.4': rest, // accepted and ignored
      '4.1': rest, // accepted and ignored
      '4.2': [...rest, hint], // last, when passed
    };
    expect(run.logoutQuery).toEqual(expected[profile]);
  });

  test.each(transports)(
    '%s - claims: lists of strings in 3.1, as sent in 4.x (§2.8, §2.10)',
    (transport) => {
      const run = seen.get(transport);
      if (!run) throw new Error('the run above failed');
      const claims = v3 ? (run.userInfo.claims as Record<string, unknown>) : run.userInfo;
      const idClaims = run.idTokenClaims;
      if (v3) {
        for (const value of [...Object.values(claims), ...Object.values(idClaims)]) {
          expect(Array.isArray(value) && value.every((item) => typeof item === 'string')).toBe(
            true,
          );
        }
        expect(idClaims.exp).toEqual([expect.stringMatching(/^\d+$/)]);
      } else {
        expect(typeof claims.sub).toBe('string');
        expect(typeof idClaims.exp).toBe('number');
      }
    },
  );
});
