/**
 * The local oxd server's version profiles on the wire, one stack per profile: what each oxd
 * release line answers where the lines differ (get_authorization_url, get_logout_uri, which
 * transports exist), and what every release does the same way (socket framing, no PKCE,
 * custom_response_headers, get_client_token's scope, the UMA client_id, the uma-ticket grant).
 */
import { Agent } from 'undici';
import { encodeFrame } from '../../src/oxd/framing';
import { dedicatedStack, type LocalStack } from '../helpers/local-stack';
import { rawHttps } from '../helpers/raw-https';
import { RawOxdSocket } from '../helpers/raw-socket';
import { submitOpLogin } from '../../src/testing/op-login';

const REDIRECT = 'https://rp.example/callback';
const OTHER_REDIRECT = 'https://rp.example/other-callback';
const BYE = 'https://rp.example/bye';
const VIEW = 'https://photoz.example/view';
const PHOTOS = [{ path: '/photos', conditions: [{ httpMethods: ['GET'], scopes: [VIEW] }] }];
const UMA_TICKET_GRANT = 'urn:ietf:params:oauth:grant-type:uma-ticket';
const INTERNAL_ERROR_REPLY = {
  status: 'error',
  data: {
    error: 'internal_error',
    error_description: 'Unknown internal server error occurs.',
    details: null,
  },
};

type Profile = '3.1.3' | '3.1.4' | '4.1' | '4.2';
const PROFILES: Profile[] = ['3.1.3', '3.1.4', '4.1', '4.2'];
const V3_PROFILES: Profile[] = ['3.1.3', '3.1.4'];

const stacks = new Map<Profile, LocalStack>();
/** One dispatcher per stack: each oxd has its own self-signed certificate. */
const agents = new Map<Profile, Agent>();
const sockets: RawOxdSocket[] = [];

beforeAll(async () => {
  for (const version of PROFILES) {
    stacks.set(version, await dedicatedStack({ oxdVersion: version }));
  }
  for (const [version, stack] of stacks) {
    agents.set(version, new Agent({ connect: { ca: stack.oxd.ca } }));
  }
}, 240_000);

afterEach(() => {
  for (const socket of sockets.splice(0)) socket.destroy();
});

afterAll(async () => {
  await Promise.all([...agents.values()].map((agent) => agent.close()));
  await Promise.all([...stacks.values()].map((stack) => stack.close()));
});

function stackOf(version: Profile): LocalStack {
  const stack = stacks.get(version);
  if (!stack) throw new Error(`no stack for ${version}`);
  return stack;
}

function agentOf(version: Profile): Agent {
  const agent = agents.get(version);
  if (!agent) throw new Error(`no agent for ${version}`);
  return agent;
}

async function openSocket(version: Profile): Promise<RawOxdSocket> {
  const socket = await RawOxdSocket.open(stackOf(version).oxd.port);
  sockets.push(socket);
  return socket;
}

/**
 * One command as the profile's own client would send it: over the socket for 3.x (no
 * protection, oxd 3.x's default), as 4.x REST with the site's Bearer token for 4.x.
 * Resolves with `{ ok, data }` (data = the envelope's data or the 4.x body).
 */
interface Site {
  oxdId: string;
  clientId: string;
  token: string | undefined;
}

async function call(
  version: Profile,
  command: string,
  params: Record<string, unknown>,
  token?: string,
): Promise<{ ok: boolean; data: Record<string, unknown> }> {
  if (version.startsWith('3.')) {
    const socket = await openSocket(version);
    socket.write(encodeFrame({ command, params }));
    const reply = await socket.frame();
    return { ok: reply.status === 'ok', data: reply.data as Record<string, unknown> };
  }
  const answer = await rawHttps(`${stackOf(version).oxd.httpsUrl}/${command.replace(/_/g, '-')}`, {
    dispatcher: agentOf(version),
    body: params,
    token,
  });
  return { ok: answer.status === 200, data: answer.json as Record<string, unknown> };
}

async function ok(
  version: Profile,
  command: string,
  params: Record<string, unknown>,
  token?: string,
): Promise<Record<string, unknown>> {
  const reply = await call(version, command, params, token);
  if (!reply.ok) throw new Error(`${command} failed: ${JSON.stringify(reply.data)}`);
  return reply.data;
}

async function registerSite(version: Profile, extra: Record<string, unknown> = {}): Promise<Site> {
  if (version.startsWith('3.')) {
    const { oxd_id: oxdId } = await ok(version, 'register_site', {
      authorization_redirect_uri: REDIRECT,
      redirect_uris: [REDIRECT, OTHER_REDIRECT],
      post_logout_redirect_uri: BYE,
      ...extra,
    });
    // 3.1.3 has no get_rp: the client id is read from an authorization URL.
    const { authorization_url: url } = await ok(version, 'get_authorization_url', {
      oxd_id: oxdId,
    });
    return {
      oxdId: oxdId as string,
      clientId: new URL(url as string).searchParams.get('client_id') as string,
      token: undefined,
    };
  }
  const site = await ok(version, 'register_site', {
    redirect_uris: [REDIRECT, OTHER_REDIRECT],
    post_logout_redirect_uris: [BYE],
    ...extra,
  });
  const token = await ok(version, 'get_client_token', {
    client_id: site.client_id,
    client_secret: site.client_secret,
    scope: ['oxd'],
  });
  return {
    oxdId: site.oxd_id as string,
    clientId: site.client_id as string,
    token: token.access_token as string,
  };
}

async function authorizationQuery(
  version: Profile,
  site: Site,
  params: Record<string, unknown> = {},
): Promise<Record<string, string>> {
  const data = await ok(
    version,
    'get_authorization_url',
    { oxd_id: site.oxdId, ...params },
    site.token,
  );
  return Object.fromEntries(new URL(data.authorization_url as string).searchParams);
}

/** A whole login: authorization URL, the OP's login form, get_tokens_by_code. */
async function logIn(version: Profile, site: Site): Promise<{ idToken: string }> {
  const stack = stackOf(version);
  const { authorization_url: url } = await ok(
    version,
    'get_authorization_url',
    { oxd_id: site.oxdId },
    site.token,
  );
  const user = stack.op.users[0];
  if (!user) throw new Error('no OP user');
  const callback = await submitOpLogin(url as string, user, stack.op.ca);
  const tokens = await ok(
    version,
    'get_tokens_by_code',
    {
      oxd_id: site.oxdId,
      code: callback.searchParams.get('code'),
      state: callback.searchParams.get('state'),
    },
    site.token,
  );
  return { idToken: tokens.id_token as string };
}

async function logoutUri(version: Profile, site: Site, params: Record<string, unknown>) {
  const data = await ok(version, 'get_logout_uri', { oxd_id: site.oxdId, ...params }, site.token);
  return data.uri as string;
}

describe.each(V3_PROFILES)('%s - socket framing as CoreUtils.readCommand reads', (version) => {
  test('a complete frame followed by bytes that are no frame: the frame is answered, the rest dropped', async () => {
    const socket = await openSocket(version);
    const request = encodeFrame({ command: 'get_authorization_url', params: {} });
    socket.write(`${request}#garbage!`);
    const first = await socket.frame();
    expect(first.data).toMatchObject({ error: 'bad_request' });
    // The connection is still usable: the garbage was dropped, not read as a frame.
    socket.write(request);
    expect((await socket.frame()).data).toMatchObject({ error: 'bad_request' });
    expect(socket.isOpen).toBe(true);
  });

  test("oxd-node's five-digit prefix 00100 for a 100-character request: internal_error, then closed", async () => {
    const head = '{"command":"get_rp","params":{"oxd_id":"';
    const json = `${head}${'x'.repeat(100 - head.length - 3)}"}}`;
    expect(json).toHaveLength(100);
    const socket = await openSocket(version);
    socket.write(`00${json.length}${json}`);
    expect(await socket.frame()).toEqual(INTERNAL_ERROR_REPLY);
    expect(await socket.closedWith()).toBe('');
  });
});

describe('transports per release line', () => {
  test.each(['4.1', '4.2'] as Profile[])(
    '%s - no socket and no 3.x envelope, as oxd 4.x',
    async (version) => {
      const stack = stackOf(version);
      expect(stack.oxd.port).toBe(0);
      const v3 = await rawHttps(`${stack.oxd.httpsUrl}/v3/get-client-token`, {
        dispatcher: agentOf(version),
        body: {},
      });
      expect(v3.status).toBe(404);
    },
  );

  test.each(V3_PROFILES)('%s - no 4.x REST routes, as oxd 3.x', async (version) => {
    const stack = stackOf(version);
    expect(stack.oxd.port).toBeGreaterThan(0);
    const rest = await rawHttps(`${stack.oxd.httpsUrl}/get-client-token`, {
      dispatcher: agentOf(version),
      body: {},
    });
    expect(rest.status).toBe(404);
    const v3 = await rawHttps(`${stack.oxd.httpsUrl}/v3/get-client-token`, {
      dispatcher: agentOf(version),
      body: {},
    });
    expect(v3.status).toBe(200);
  });
});

describe.each(PROFILES)('%s - get_authorization_url', (version) => {
  let site: Site;
  beforeAll(async () => {
    site = await registerSite(
      version,
      version.startsWith('4.')
        ? { response_types: ['code', 'id_token'], grant_types: ['authorization_code', 'implicit'] }
        : {},
    );
  });

  test('sends no PKCE, as no oxd release does', async () => {
    const query = await authorizationQuery(version, site);
    expect(query).toMatchObject({ client_id: site.clientId, redirect_uri: REDIRECT });
    expect(query.state).toBeTruthy();
    expect(query.nonce).toBeTruthy();
    expect(query).not.toHaveProperty('code_challenge');
    expect(query).not.toHaveProperty('code_challenge_method');
  });

  test('packs custom_parameters into one custom_response_headers JSON parameter', async () => {
    const query = await authorizationQuery(version, site, {
      custom_parameters: { ui_hint: 'x', login_hint: 'jane' },
    });
    expect(JSON.parse(query.custom_response_headers ?? 'null')).toEqual({
      ui_hint: 'x',
      login_hint: 'jane',
    });
    expect(query).not.toHaveProperty('ui_hint');
    expect(query).not.toHaveProperty('login_hint');
  });

  if (version.startsWith('4.')) {
    test('adds the params map one parameter at a time', async () => {
      const query = await authorizationQuery(version, site, {
        params: { login_hint: 'jane', ui_locales: 'fr' },
      });
      expect(query).toMatchObject({ login_hint: 'jane', ui_locales: 'fr' });
    });

    test(`honours the caller's state, redirect_uri and response_types; ${
      version === '4.2' ? 'and the nonce (4.2+)' : 'not the nonce (before 4.2)'
    }`, async () => {
      const query = await authorizationQuery(version, site, {
        state: 'caller-state',
        nonce: 'caller-nonce',
        redirect_uri: OTHER_REDIRECT,
        response_types: ['id_token'],
      });
      expect(query).toMatchObject({
        state: 'caller-state',
        redirect_uri: OTHER_REDIRECT,
        response_type: 'id_token',
      });
      if (version === '4.2') expect(query.nonce).toBe('caller-nonce');
      else expect(query.nonce).not.toBe('caller-nonce');
    });
  } else {
    test("ignores the caller's state, nonce and redirect_uri, as 3.x has no such params", async () => {
      const query = await authorizationQuery(version, site, {
        state: 'caller-state',
        nonce: 'caller-nonce',
        redirect_uri: OTHER_REDIRECT,
      });
      expect(query.state).not.toBe('caller-state');
      expect(query.nonce).not.toBe('caller-nonce');
      expect(query.redirect_uri).toBe(REDIRECT);
    });
  }
});

describe('get_logout_uri per release', () => {
  const endSession = (version: Profile) => `${stackOf(version).op.issuer}/session/end`;

  test('3.1.3 - no hint and no ID token yet: internal_error, then the socket closes', async () => {
    const site = await registerSite('3.1.3');
    const socket = await openSocket('3.1.3');
    socket.write(encodeFrame({ command: 'get_logout_uri', params: { oxd_id: site.oxdId } }));
    expect(await socket.frame()).toEqual(INTERNAL_ERROR_REPLY);
    expect(await socket.closedWith()).toBe('');
  });

  test("3.1.3 - id_token_hint first: the caller's, else the site's last ID token", async () => {
    const site = await registerSite('3.1.3');
    const { idToken } = await logIn('3.1.3', site);
    expect(await logoutUri('3.1.3', site, { state: 'st' })).toBe(
      `${endSession('3.1.3')}?id_token_hint=${idToken}&state=st`,
    );
    expect(
      await logoutUri('3.1.3', site, {
        id_token_hint: 'given.hint',
        post_logout_redirect_uri: BYE,
        state: 'st',
        session_state: 'ss',
      }),
    ).toBe(
      `${endSession('3.1.3')}?id_token_hint=given.hint&post_logout_redirect_uri=${encodeURIComponent(BYE)}&state=st&session_state=ss`,
    );
  });

  test.each(['3.1.4', '4.1'] as Profile[])(
    '%s - ignores id_token_hint; post_logout_redirect_uri defaults to the registered one',
    async (version) => {
      const site = await registerSite(version);
      expect(
        await logoutUri(version, site, {
          id_token_hint: 'given.hint',
          state: 'st',
          session_state: 'ss',
        }),
      ).toBe(
        `${endSession(version)}?post_logout_redirect_uri=${encodeURIComponent(BYE)}&state=st&session_state=ss`,
      );
    },
  );

  test('4.2 - appends id_token_hint last when passed', async () => {
    const site = await registerSite('4.2');
    expect(await logoutUri('4.2', site, { id_token_hint: 'given.hint', state: 'st' })).toBe(
      `${endSession('4.2')}?post_logout_redirect_uri=${encodeURIComponent(BYE)}&state=st&id_token_hint=given.hint`,
    );
    expect(await logoutUri('4.2', site, { state: 'st' })).toBe(
      `${endSession('4.2')}?post_logout_redirect_uri=${encodeURIComponent(BYE)}&state=st`,
    );
  });
});

describe.each(PROFILES)('%s - the same in every release', (version) => {
  test('get_client_token asks the OP for openid plus the given scopes', async () => {
    const stack = stackOf(version);
    const registered = await rawHttps(
      `${stack.oxd.httpsUrl}${version.startsWith('3.') ? '/v3/setup-client' : '/register-site'}`,
      {
        dispatcher: agentOf(version),
        body: version.startsWith('3.')
          ? { authorization_redirect_uri: REDIRECT }
          : { redirect_uris: [REDIRECT] },
      },
    );
    const client = (
      version.startsWith('3.') ? (registered.json as { data: unknown }).data : registered.json
    ) as { client_id: string; client_secret: string };
    const token = await ok(version, 'get_client_token', {
      client_id: client.client_id,
      client_secret: client.client_secret,
      scope: ['oxd'],
    });
    const granted = Array.isArray(token.scope) ? token.scope : String(token.scope).split(' ');
    expect([...granted].sort()).toEqual(['openid', 'oxd']);
  });

  test('register_site accepts the uma-ticket grant type, as Gluu’s OP does', async () => {
    // A grant type the OP refused would make register_site fail (RegisterSiteOperation).
    const site = await registerSite(version, {
      grant_types: ['authorization_code', UMA_TICKET_GRANT],
    });
    if (version === '3.1.3') return; // no get_rp to read the registration back
    const { node } = await ok(version, 'get_rp', { oxd_id: site.oxdId }, site.token);
    expect((node as { grant_types: string[] }).grant_types).toContain(UMA_TICKET_GRANT);
  });

  test("the claims-gathering URL and RPT introspection name the site's OP client_id", async () => {
    const site = await registerSite(version);
    const token = site.token;
    await ok(version, 'uma_rs_protect', { oxd_id: site.oxdId, resources: PHOTOS }, token);
    const check = async () =>
      (
        await ok(
          version,
          'uma_rs_check_access',
          { oxd_id: site.oxdId, rpt: '', path: '/photos', http_method: 'GET' },
          token,
        )
      ).ticket as string;
    const gathering = await ok(
      version,
      'uma_rp_get_claims_gathering_url',
      { oxd_id: site.oxdId, ticket: await check(), claims_redirect_uri: REDIRECT },
      token,
    );
    expect(new URL(gathering.url as string).searchParams.get('client_id')).toBe(site.clientId);
    const rpt = await ok(
      version,
      'uma_rp_get_rpt',
      { oxd_id: site.oxdId, ticket: await check() },
      token,
    );
    const introspection = await ok(
      version,
      'introspect_rpt',
      { oxd_id: site.oxdId, rpt: rpt.access_token },
      token,
    );
    expect(introspection).toMatchObject({ active: true, client_id: site.clientId });
    expect(site.clientId).not.toBe(site.oxdId);
  });
});
