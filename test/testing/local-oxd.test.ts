/**
 * The local oxd server on the wire, raw: socket frames through `net`, HTTPS through undici
 * with the server's CA. Every error the server implements is provoked and its exact shape
 * checked per dialect (socket 3.x, HTTPS /v3/ 3.x envelope, HTTPS 4.x REST).
 */
import { Agent, request } from 'undici';
import { encodeFrame } from '../../src/oxd/framing';
import { dedicatedStack, type LocalStack } from '../helpers/local-stack';
import { RawOxdSocket } from '../helpers/raw-socket';
import { type HttpAnswer, rawHttps } from '../helpers/raw-https';
import { submitOpLogin } from '../../src/testing/op-login';

const REDIRECT = 'https://rp.example/callback';
const VIEW = 'https://photoz.example/view';
const SECRET = 'https://photoz.example/secret';
const PHOTOS = [{ path: '/photos', conditions: [{ httpMethods: ['GET'], scopes: [VIEW] }] }];
/** oxd 3.x's generic error, after which the socket is closed. */
const INTERNAL_ERROR_REPLY = {
  status: 'error',
  data: {
    error: 'internal_error',
    error_description: 'Unknown internal server error occurs.',
    details: null,
  },
};
const FORBIDDEN_V3 = {
  code: 403,
  message:
    '{"status":"error","data":{"error":"403","error_description":"Forbidden Access","details":null}}',
};

let stack: LocalStack;
let agent: Agent;
const sockets: RawOxdSocket[] = [];

async function openSocket(port = stack.oxd.port): Promise<RawOxdSocket> {
  const socket = await RawOxdSocket.open(port);
  sockets.push(socket);
  return socket;
}

/** One command on a fresh connection. */
async function socketCommand(command: string, params: unknown, port?: number) {
  const socket = await openSocket(port);
  return socket.command(command, params);
}

function post(
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
  base = stack.oxd.httpsUrl,
): Promise<HttpAnswer> {
  return rawHttps(base + path, { dispatcher: agent, body, headers });
}

function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

function okData(reply: Record<string, unknown>): Record<string, unknown> {
  expect(reply.status).toBe('ok');
  return reply.data as Record<string, unknown>;
}

/** A 4.x site with its Bearer token. */
async function site4(base?: string): Promise<{ oxdId: string; clientId: string; token: string }> {
  const registered = await post('/register-site', { redirect_uris: [REDIRECT] }, {}, base);
  expect(registered.status).toBe(200);
  const site = registered.json as { oxd_id: string; client_id: string; client_secret: string };
  const token = await post(
    '/get-client-token',
    { client_id: site.client_id, client_secret: site.client_secret, scope: ['oxd'] },
    {},
    base,
  );
  expect(token.status).toBe(200);
  return {
    oxdId: site.oxd_id,
    clientId: site.client_id,
    token: (token.json as { access_token: string }).access_token,
  };
}

/** A 3.x site made by setup_client, with the setup client's protection token. */
async function site3(base?: string): Promise<{ oxdId: string; token: string }> {
  const setup = await post('/v3/setup-client', { authorization_redirect_uri: REDIRECT }, {}, base);
  const data = (setup.json as { data: Record<string, string> }).data;
  const token = await post(
    '/v3/get-client-token',
    { client_id: data.client_id, client_secret: data.client_secret, scope: ['oxd'] },
    {},
    base,
  );
  return {
    oxdId: data.oxd_id as string,
    token: (token.json as { data: { access_token: string } }).data.access_token,
  };
}

beforeAll(async () => {
  stack = await dedicatedStack({
    umaClaimsPolicy: { [SECRET]: [{ name: 'email', value: 'jane.doe@example.com' }] },
  });
  agent = new Agent({ connect: { ca: stack.oxd.ca } });
}, 120_000);

afterEach(() => {
  for (const socket of sockets.splice(0)) socket.destroy();
});

afterAll(async () => {
  await agent?.close();
});

describe('socket framing', () => {
  test('socket - closes without a byte on a length prefix that is not four digits', async () => {
    const socket = await openSocket();
    socket.write('abcd{"command":"get_rp","params":{}}');
    expect(await socket.closedWith()).toBe('');
  });

  test('socket - closes without a byte on the empty frame 0000', async () => {
    const socket = await openSocket();
    socket.write('0000');
    expect(await socket.closedWith()).toBe('');
  });

  test('socket - answers unparseable JSON with internal_error, then closes', async () => {
    const socket = await openSocket();
    socket.write('0008{"comman');
    expect(await socket.frame()).toEqual(INTERNAL_ERROR_REPLY);
    expect(await socket.closedWith()).toBe('');
  });

  test('socket - answers an unknown command with unsupported_operation and stays open', async () => {
    const socket = await openSocket();
    const reply = await socket.command('make_coffee', {});
    expect(reply).toEqual({
      status: 'error',
      data: {
        error: 'unsupported_operation',
        // ErrorResponseCode.UNSUPPORTED_OPERATION's text.
        error_description: 'Operation is not supported by server error.',
        details: null,
      },
    });
    const next = await socket.command('get_rp', {});
    expect((next.data as { error: string }).error).toBe('bad_request');
    expect(socket.isOpen).toBe(true);
  });

  test('socket - 4.x-only commands are unsupported on the socket', async () => {
    const reply = await socketCommand('get_discovery', {});
    expect((reply.data as { error: string }).error).toBe('unsupported_operation');
  });

  test('socket - answers missing params with internal_error and keeps the connection', async () => {
    const socket = await openSocket();
    const reply = await socket.command('get_rp', undefined);
    expect(reply).toEqual({
      status: 'error',
      data: {
        error: 'internal_error',
        error_description: expect.stringMatching(/^Command parameters are not specified/),
        details: null,
      },
    });
    expect(okData(await socket.command('get_rp', { list: true }))).toHaveProperty('node');
  });

  test('socket - drops a second frame that arrived in the same read', async () => {
    const socket = await openSocket();
    socket.write(
      encodeFrame({ command: 'get_rp', params: {} }) +
        encodeFrame({ command: 'get_rp', params: { oxd_id: 'second' } }),
    );
    expect((await socket.frame()).data).toMatchObject({ error: 'bad_request' });
    // The next request is the first one answered after the dropped one (which would have
    // been invalid_oxd_id).
    const third = await socket.command('get_rp', { list: true });
    expect(okData(third)).toHaveProperty('node');
  });

  test('socket - closes without writing when the answer exceeds 9999 characters', async () => {
    const registered = okData(
      await socketCommand('register_site', { authorization_redirect_uri: REDIRECT }),
    );
    const socket = await openSocket();
    socket.write(
      encodeFrame({
        command: 'get_authorization_url',
        params: { oxd_id: registered.oxd_id, custom_parameters: { filler: '<'.repeat(3500) } },
      }),
    );
    expect(await socket.closedWith()).toBe('');
  });
});

describe('socket commands (3.x, unprotected)', () => {
  let oxdId: string;

  beforeAll(async () => {
    oxdId = okData(
      await socketCommand('register_site', {
        authorization_redirect_uri: REDIRECT,
        post_logout_redirect_uri: 'https://rp.example/bye',
      }),
    ).oxd_id as string;
  });

  test('register_site - answers oxd_id and op_host', async () => {
    expect(oxdId).toMatch(/^[0-9a-f-]{36}$/);
    const rp = okData(await socketCommand('get_rp', { oxd_id: oxdId }));
    expect(rp.node).toMatchObject({ oxd_id: oxdId, op_host: stack.op.issuer });
  });

  test('register_site - rejects a missing authorization_redirect_uri', async () => {
    expect(await socketCommand('register_site', {})).toEqual({
      status: 'error',
      data: {
        error: 'invalid_authorization_redirect_uri',
        error_description: expect.stringContaining('authorization_redirect_uri'),
        details: null,
      },
    });
  });

  test('register_site - rejects an op_host other than the served OP', async () => {
    const reply = await socketCommand('register_site', {
      authorization_redirect_uri: REDIRECT,
      op_host: 'https://op.elsewhere.example',
    });
    expect(reply.data).toMatchObject({ error: 'invalid_op_host' });
  });

  test('commands - answer bad_request without oxd_id and invalid_oxd_id for an unknown one', async () => {
    expect(await socketCommand('get_authorization_url', {})).toEqual({
      status: 'error',
      data: {
        error: 'bad_request',
        // ErrorResponseCode.BAD_REQUEST_NO_OXD_ID's text.
        error_description:
          'oxd_id is empty or not specified or is otherwise invalid (not registered).',
        details: null,
      },
    });
    const unknown = await socketCommand('get_authorization_url', { oxd_id: 'no-such-site' });
    expect(unknown.data).toEqual({
      error: 'invalid_oxd_id',
      error_description: expect.stringMatching(/^Invalid oxd_id\. Unable to find site/),
      details: null,
    });
  });

  test('get_tokens_by_code - names the missing code and state', async () => {
    expect((await socketCommand('get_tokens_by_code', { oxd_id: oxdId, state: 's' })).data).toEqual(
      {
        error: 'bad_request',
        error_description: "'code' is empty or not specified.",
        details: null,
      },
    );
    expect((await socketCommand('get_tokens_by_code', { oxd_id: oxdId, code: 'c' })).data).toEqual({
      error: 'bad_request',
      error_description: "'state' is empty or not specified.",
      details: null,
    });
  });

  test('get_tokens_by_code - rejects a state it did not hand out', async () => {
    const reply = await socketCommand('get_tokens_by_code', {
      oxd_id: oxdId,
      code: 'some-code',
      state: 'never-issued',
    });
    expect(reply).toEqual({
      status: 'error',
      data: {
        error: 'bad_request',
        error_description: "'state' is not registered.",
        details: null,
      },
    });
  });

  test("get_tokens_by_code - another site's state is not registered for this site, and stays usable", async () => {
    const url = okData(await socketCommand('get_authorization_url', { oxd_id: oxdId }));
    const state = new URL(url.authorization_url as string).searchParams.get('state');
    const otherId = okData(
      await socketCommand('register_site', { authorization_redirect_uri: REDIRECT }),
    ).oxd_id;
    expect(
      (await socketCommand('get_tokens_by_code', { oxd_id: otherId, code: 'c', state })).data,
    ).toEqual({
      error: 'bad_request',
      error_description: "'state' is not registered.",
      details: null,
    });
    // Still registered for its own site: the OP is asked, and refuses the made-up code.
    const socket = await openSocket();
    const own = await socket.command('get_tokens_by_code', { oxd_id: oxdId, code: 'c', state });
    expect(own.data).toMatchObject({ error: 'internal_error' });
  });

  test('get_tokens_by_code - a code the OP rejects answers internal_error and closes', async () => {
    const url = okData(await socketCommand('get_authorization_url', { oxd_id: oxdId }));
    const state = new URL(url.authorization_url as string).searchParams.get('state');
    const socket = await openSocket();
    const reply = await socket.command('get_tokens_by_code', {
      oxd_id: oxdId,
      code: 'not-a-code-of-the-op',
      state,
    });
    expect(reply).toEqual(INTERNAL_ERROR_REPLY);
    expect(await socket.closedWith()).toBe('');
  });

  test('get_authorization_url - builds the OP URL with state, nonce and the extras, no PKCE', async () => {
    const data = okData(
      await socketCommand('get_authorization_url', {
        oxd_id: oxdId,
        scope: ['openid', 'email'],
        acr_values: ['basic'],
        prompt: 'login',
        custom_parameters: { ui_hint: 'x', state: 'overridden?' },
      }),
    );
    const url = new URL(data.authorization_url as string);
    expect(url.origin + url.pathname).toBe(`${stack.op.issuer}/auth`);
    const query = Object.fromEntries(url.searchParams);
    expect(query).toMatchObject({
      response_type: 'code',
      redirect_uri: REDIRECT,
      scope: 'openid email',
      acr_values: 'basic',
      prompt: 'login',
      custom_response_headers: JSON.stringify({ ui_hint: 'x', state: 'overridden?' }),
    });
    expect(query.state).not.toBe('overridden?');
    expect(query.nonce).toMatch(/^[\w-]{20,}$/);
    expect(query).not.toHaveProperty('code_challenge');
    expect(query).not.toHaveProperty('code_challenge_method');
  });

  test('get_logout_uri - end_session_endpoint with the registered post-logout URI; 3.1.4 drops the hint', async () => {
    const data = okData(
      await socketCommand('get_logout_uri', {
        oxd_id: oxdId,
        state: 'st',
        session_state: 'ss',
        id_token_hint: 'the.id.token',
      }),
    );
    expect(data.uri).toBe(
      `${stack.op.issuer}/session/end?post_logout_redirect_uri=${encodeURIComponent('https://rp.example/bye')}` +
        '&state=st&session_state=ss',
    );
  });

  test('get_user_info - an access token the OP refuses is http_status_401', async () => {
    const reply = await socketCommand('get_user_info', { oxd_id: oxdId, access_token: 'bogus' });
    expect(reply.data).toMatchObject({
      error: 'http_status_401',
      error_description: expect.stringContaining('invalid_token'),
    });
  });

  test('protection - commands run without a token when protection is off', async () => {
    const data = okData(await socketCommand('get_authorization_url', { oxd_id: oxdId }));
    expect(data.authorization_url).toEqual(expect.any(String));
  });
});

describe('HTTPS 4.x', () => {
  let site: { oxdId: string; clientId: string; token: string };

  beforeAll(async () => {
    site = await site4();
  });

  test('health-check - answers running', async () => {
    const response = await request(`${stack.oxd.httpsUrl}/health-check`, { dispatcher: agent });
    expect(response.statusCode).toBe(200);
    expect(await response.body.text()).toBe('running');
  });

  test('register_site - answers the bare data with the client credentials', async () => {
    const answer = await post('/register-site', { redirect_uris: [REDIRECT] });
    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({
      oxd_id: expect.any(String),
      op_host: stack.op.issuer,
      client_id: expect.any(String),
      client_secret: expect.any(String),
      client_registration_access_token: expect.any(String),
      client_registration_client_uri: expect.stringContaining(stack.op.issuer),
    });
    expect(answer.json).not.toHaveProperty('status');
  });

  test('register_site - rejects missing and invalid redirect_uris, and half credentials', async () => {
    expect(await post('/register-site', {})).toMatchObject({
      status: 400,
      json: { error: 'invalid_redirect_uri', error_description: expect.any(String) },
    });
    expect(await post('/register-site', { redirect_uris: ['not a url'] })).toMatchObject({
      status: 400,
      json: { error: 'invalid_redirect_uri' },
    });
    expect(
      await post('/register-site', { redirect_uris: [REDIRECT], client_id: 'only-the-id' }),
    ).toMatchObject({ status: 400, json: { error: 'invalid_client_secret' } });
  });

  test('protection - a missing Authorization header is 403 blank_access_token', async () => {
    const answer = await post('/get-authorization-url', { oxd_id: site.oxdId });
    expect(answer.status).toBe(403);
    expect(answer.json).toEqual({
      error: 'blank_access_token',
      error_description: expect.any(String),
    });
  });

  test('protection - a header shorter than "Bearer " is a Dropwizard 500', async () => {
    const answer = await post(
      '/get-authorization-url',
      { oxd_id: site.oxdId },
      {
        authorization: 'Bear',
      },
    );
    expect(answer.status).toBe(500);
    expect(answer.json).toEqual({
      code: 500,
      message: expect.stringMatching(/^There was an error processing your request/),
    });
  });

  test('protection - an unknown token is 403 inactive_access_token', async () => {
    const answer = await post('/get-authorization-url', { oxd_id: site.oxdId }, bearer('made-up'));
    expect(answer).toMatchObject({ status: 403, json: { error: 'inactive_access_token' } });
  });

  test("protection - another site's token is 403 invalid_access_token", async () => {
    const other = await site4();
    const answer = await post(
      '/get-authorization-url',
      { oxd_id: site.oxdId },
      bearer(other.token),
    );
    expect(answer).toMatchObject({ status: 403, json: { error: 'invalid_access_token' } });
  });

  test('protection - a token without the oxd scope is 403 access_token_insufficient_scope', async () => {
    const registered = await post('/register-site', { redirect_uris: [REDIRECT] });
    const own = registered.json as { oxd_id: string; client_id: string; client_secret: string };
    const token = await post('/get-client-token', {
      client_id: own.client_id,
      client_secret: own.client_secret,
      scope: ['openid'],
    });
    const answer = await post(
      '/get-authorization-url',
      { oxd_id: own.oxd_id },
      bearer((token.json as { access_token: string }).access_token),
    );
    expect(answer).toMatchObject({
      status: 403,
      json: { error: 'access_token_insufficient_scope' },
    });
  });

  test('protection - get_rp needs no token (4.2+)', async () => {
    const answer = await post('/get-rp', { oxd_id: site.oxdId });
    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({ node: { oxd_id: site.oxdId } });
  });

  test('commands - missing oxd_id is 400 bad_request, unknown oxd_id 400 invalid_oxd_id', async () => {
    expect(await post('/get-rp', {})).toMatchObject({
      status: 400,
      json: {
        error: 'bad_request',
        error_description:
          'oxd_id is empty or not specified or is otherwise invalid (not registered).',
      },
    });
    // A protected route looks the oxd_id up to check the token first (RestResource,
    // RpSyncService.getRp): none at all is Dropwizard's 500.
    expect(await post('/get-authorization-url', {}, bearer(site.token))).toMatchObject({
      status: 500,
      json: { code: 500 },
    });
    expect(
      await post('/get-authorization-url', { oxd_id: 'nope' }, bearer(site.token)),
    ).toMatchObject({
      status: 400,
      json: { error: 'invalid_oxd_id' },
    });
  });

  test('commands - an empty body is the empty params object (4.2 RestResource.safeToJson)', async () => {
    const answer = await post('/get-rp', '');
    expect(answer).toMatchObject({ status: 400, json: { error: 'bad_request' } });
  });

  test('commands - a body that is not JSON is 400 text "Invalid parameters"', async () => {
    const answer = await post('/get-authorization-url', '{"oxd_id":', bearer(site.token));
    expect(answer.status).toBe(400);
    expect(answer.type).toMatch(/^text\/plain/);
    expect(answer.text).toMatch(/^Invalid parameters\. Message: /);
  });

  test('commands - an unknown path is 404, a GET on a command 405', async () => {
    expect(await post('/make-coffee', {})).toMatchObject({
      status: 404,
      json: { code: 404, message: 'HTTP 404 Not Found' },
    });
    expect(await post('/setup-client', { redirect_uris: [REDIRECT] })).toMatchObject({
      status: 404,
    });
    const get = await request(`${stack.oxd.httpsUrl}/get-rp`, { dispatcher: agent });
    expect(get.statusCode).toBe(405);
    expect(await get.body.json()).toEqual({ code: 405, message: 'HTTP 405 Method Not Allowed' });
  });

  test('get_authorization_url - takes state, nonce and a registered redirect_uri', async () => {
    const answer = await post(
      '/get-authorization-url',
      { oxd_id: site.oxdId, state: 'my-state', nonce: 'my-nonce', redirect_uri: REDIRECT },
      bearer(site.token),
    );
    expect(answer.status).toBe(200);
    const url = new URL((answer.json as { authorization_url: string }).authorization_url);
    expect(url.searchParams.get('state')).toBe('my-state');
    expect(url.searchParams.get('nonce')).toBe('my-nonce');
  });

  test('get_authorization_url - an unregistered redirect_uri is 400', async () => {
    const answer = await post(
      '/get-authorization-url',
      { oxd_id: site.oxdId, redirect_uri: 'https://evil.example/cb' },
      bearer(site.token),
    );
    expect(answer).toMatchObject({
      status: 400,
      json: { error: 'redirect_uri_is_not_registered' },
    });
  });

  test('get_tokens_by_code - an unregistered state is 400 bad_request', async () => {
    const answer = await post(
      '/get-tokens-by-code',
      { oxd_id: site.oxdId, code: 'c', state: 'never-issued' },
      bearer(site.token),
    );
    expect(answer).toEqual(
      expect.objectContaining({
        status: 400,
        json: { error: 'bad_request', error_description: "'state' is not registered." },
      }),
    );
  });

  test('get_tokens_by_code - a code the OP rejects is 400 "invalid code"', async () => {
    await post(
      '/get-authorization-url',
      { oxd_id: site.oxdId, state: 'for-bad-code' },
      bearer(site.token),
    );
    const answer = await post(
      '/get-tokens-by-code',
      { oxd_id: site.oxdId, code: 'not-a-code', state: 'for-bad-code' },
      bearer(site.token),
    );
    expect(answer).toMatchObject({
      status: 400,
      json: { error: 'bad_request', error_description: 'invalid code' },
    });
  });

  test('get_user_info - passes an OP refusal through with HTTP 200', async () => {
    const answer = await post(
      '/get-user-info',
      { oxd_id: site.oxdId, access_token: 'bogus' },
      bearer(site.token),
    );
    expect(answer).toMatchObject({ status: 200, json: { error: 'invalid_token' } });
  });

  test('get_discovery / get_jwks / get_issuer - describe the served OP', async () => {
    expect((await post('/get-discovery', {})).json).toMatchObject({ issuer: stack.op.issuer });
    const jwks = (await post('/get-jwks', {})).json as { keys: unknown[] };
    expect(jwks.keys.length).toBeGreaterThan(0);
    expect((await post('/get-issuer', { resource: 'acct:jane@example.com' })).json).toEqual({
      subject: 'acct:jane@example.com',
      links: [{ rel: 'http://openid.net/specs/connect/1.0/issuer', href: stack.op.issuer }],
    });
    expect(await post('/get-issuer', {})).toMatchObject({
      status: 400,
      json: { error: 'bad_request_no_resource' },
    });
  });
});

describe('HTTPS /v3/ (https-extension 3.x)', () => {
  let site: { oxdId: string; token: string };

  beforeAll(async () => {
    site = await site3();
  });

  test('setup_client - answers the envelope with the setup client credentials', async () => {
    const answer = await post('/v3/setup-client', { authorization_redirect_uri: REDIRECT });
    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({
      status: 'ok',
      data: {
        oxd_id: expect.any(String),
        setup_client_oxd_id: expect.any(String),
        client_id_of_oxd_id: expect.any(String),
        client_id: expect.any(String),
        client_secret: expect.any(String),
      },
    });
  });

  test('get_client_token - scope is a string in 3.x', async () => {
    const setup = await post('/v3/setup-client', {
      authorization_redirect_uri: REDIRECT,
      scope: ['openid', 'uma_protection'],
    });
    const data = (setup.json as { data: Record<string, string> }).data;
    const answer = await post('/v3/get-client-token', {
      client_id: data.client_id,
      client_secret: data.client_secret,
      scope: ['oxd', 'uma_protection'],
    });
    expect(answer.json).toMatchObject({
      status: 'ok',
      data: {
        access_token: expect.any(String),
        scope: 'openid oxd uma_protection',
        refresh_token: null,
      },
    });
  });

  test('protection - a missing or non-Bearer header is the extension 403', async () => {
    const missing = await post('/v3/get-authorization-url', { oxd_id: site.oxdId });
    expect(missing.status).toBe(403);
    expect(missing.json).toEqual(FORBIDDEN_V3);
    const lower = await post(
      '/v3/get-authorization-url',
      { oxd_id: site.oxdId },
      { authorization: `bearer ${site.token}` },
    );
    expect(lower).toMatchObject({ status: 403, json: FORBIDDEN_V3 });
    expect(
      await post('/v3/get-authorization-url', { oxd_id: site.oxdId }, { authorization: 'Bearer ' }),
    ).toMatchObject({ status: 403, json: FORBIDDEN_V3 });
  });

  // With protection on behind the extension: test/testing/local-oxd-failures.test.ts (item 5).

  test('commands - an unknown oxd_id is invalid_oxd_id with HTTP 200', async () => {
    const answer = await post('/v3/get-authorization-url', { oxd_id: 'nope' }, bearer(site.token));
    expect(answer).toMatchObject({
      status: 200,
      json: { status: 'error', data: { error: 'invalid_oxd_id', details: null } },
    });
  });

  test('get_tokens_by_code - an unregistered state is bad_request with HTTP 200', async () => {
    const answer = await post(
      '/v3/get-tokens-by-code',
      { oxd_id: site.oxdId, code: 'c', state: 'never-issued' },
      bearer(site.token),
    );
    expect(answer).toMatchObject({
      status: 200,
      json: {
        status: 'error',
        data: { error: 'bad_request', error_description: "'state' is not registered." },
      },
    });
  });

  test('get_user_info - an OP refusal becomes HTTP 401 {code, message}', async () => {
    const answer = await post(
      '/v3/get-user-info',
      { oxd_id: site.oxdId, access_token: 'bogus' },
      bearer(site.token),
    );
    expect(answer.status).toBe(401);
    expect(answer.json).toEqual({ code: 401, message: expect.stringContaining('invalid_token') });
  });

  test('commands - not JSON is 400 text, an unknown path 404, 4.x-only paths 404', async () => {
    const bad = await post('/v3/get-authorization-url', 'nope', bearer(site.token));
    expect(bad.status).toBe(400);
    expect(bad.text).toMatch(/^Invalid parameters\. Message: /);
    expect((await post('/v3/make-coffee', {})).status).toBe(404);
    expect((await post('/v3/get-discovery', {})).status).toBe(404);
  });
});

describe('site management', () => {
  test('update_site (4.x) - changes the client at the OP and the redirect URI used', async () => {
    const registered = await post('/register-site', { redirect_uris: [REDIRECT] });
    const site = registered.json as Record<string, string>;
    const token = await post('/get-client-token', {
      client_id: site.client_id,
      client_secret: site.client_secret,
      scope: ['oxd'],
    });
    const updated = await post('/update-site', {
      oxd_id: site.oxd_id,
      redirect_uris: ['https://rp.example/new-callback'],
    });
    expect(updated).toMatchObject({ status: 200, json: { oxd_id: site.oxd_id } });

    const opAgent = new Agent({ connect: { ca: stack.op.ca } });
    try {
      const atOp = await request(site.client_registration_client_uri as string, {
        dispatcher: opAgent,
        headers: { authorization: `Bearer ${site.client_registration_access_token}` },
      });
      expect(await atOp.body.json()).toMatchObject({
        redirect_uris: ['https://rp.example/new-callback'],
      });
    } finally {
      await opAgent.close();
    }
    const url = await post(
      '/get-authorization-url',
      { oxd_id: site.oxd_id },
      bearer((token.json as { access_token: string }).access_token),
    );
    const authorization = new URL((url.json as { authorization_url: string }).authorization_url);
    expect(authorization.searchParams.get('redirect_uri')).toBe('https://rp.example/new-callback');
  });

  test('update_site / remove_site (socket) - later commands answer invalid_oxd_id', async () => {
    const oxdId = okData(
      await socketCommand('register_site', { authorization_redirect_uri: REDIRECT }),
    ).oxd_id;
    expect(
      okData(
        await socketCommand('update_site', {
          oxd_id: oxdId,
          authorization_redirect_uri: 'https://rp.example/other',
        }),
      ),
    ).toEqual({ oxd_id: oxdId });
    const url = okData(await socketCommand('get_authorization_url', { oxd_id: oxdId }));
    expect(new URL(url.authorization_url as string).searchParams.get('redirect_uri')).toBe(
      'https://rp.example/other',
    );
    expect(okData(await socketCommand('remove_site', { oxd_id: oxdId }))).toEqual({
      oxd_id: oxdId,
    });
    expect((await socketCommand('get_authorization_url', { oxd_id: oxdId })).data).toMatchObject({
      error: 'invalid_oxd_id',
    });
  });

  test('AuthorizationOxdId (4.x) - names the site the token is checked against', async () => {
    const owner = await site4();
    const other = await site4();
    const checked = await post(
      '/get-authorization-url',
      { oxd_id: other.oxdId },
      { ...bearer(owner.token), AuthorizationOxdId: owner.oxdId },
    );
    expect(checked.status).toBe(200);
    expect(
      await post(
        '/get-authorization-url',
        { oxd_id: other.oxdId },
        { ...bearer(owner.token), AuthorizationOxdId: 'no-such-site' },
      ),
    ).toMatchObject({ status: 400, json: { error: 'authorization_oxd_id_not_found' } });
  });
});

describe('ID token checks', () => {
  /** Logs jane in with the nonce of the authorization URL replaced. */
  async function codeWithForeignNonce(authorizationUrl: string) {
    const url = new URL(authorizationUrl);
    url.searchParams.set('nonce', 'a-nonce-oxd-never-issued');
    const jane = stack.op.users.find((user) => user.username === 'jane');
    if (!jane) throw new Error('no user jane');
    const back = await submitOpLogin(url.href, jane, stack.op.ca);
    return { code: back.searchParams.get('code'), state: back.searchParams.get('state') };
  }

  test('get_tokens_by_code (socket) - an ID token with another nonce is invalid_id_token_bad_nonce', async () => {
    const oxdId = okData(
      await socketCommand('register_site', { authorization_redirect_uri: REDIRECT }),
    ).oxd_id;
    const url = okData(await socketCommand('get_authorization_url', { oxd_id: oxdId }));
    const { code, state } = await codeWithForeignNonce(url.authorization_url as string);
    expect(await socketCommand('get_tokens_by_code', { oxd_id: oxdId, code, state })).toEqual({
      status: 'error',
      data: {
        error: 'invalid_id_token_bad_nonce',
        error_description: expect.any(String),
        details: null,
      },
    });
  });

  test('get_tokens_by_code (4.x) - a bad nonce is HTTP 500 invalid_id_token_bad_nonce', async () => {
    const site = await site4();
    const url = await post('/get-authorization-url', { oxd_id: site.oxdId }, bearer(site.token));
    const { code, state } = await codeWithForeignNonce(
      (url.json as { authorization_url: string }).authorization_url,
    );
    expect(
      await post('/get-tokens-by-code', { oxd_id: site.oxdId, code, state }, bearer(site.token)),
    ).toMatchObject({ status: 500, json: { error: 'invalid_id_token_bad_nonce' } });
  });

  test('check_id_token - a tampered signature or a wrong nonce is inactive, a valid token active', async () => {
    const site = await site4();
    const issued = await post(
      '/get-authorization-code',
      {
        oxd_id: site.oxdId,
        username: 'jane',
        password: 'jane-password',
        state: 'ck',
        nonce: 'n-1',
      },
      bearer(site.token),
    );
    const tokens = await post(
      '/get-tokens-by-code',
      { oxd_id: site.oxdId, code: (issued.json as { code: string }).code, state: 'ck' },
      bearer(site.token),
    );
    const idToken = (tokens.json as { id_token: string }).id_token;
    const check = (body: Record<string, unknown>) =>
      post('/check-id-token', { oxd_id: site.oxdId, ...body }, bearer(site.token));
    expect((await check({ id_token: idToken, nonce: 'n-1' })).json).toMatchObject({
      active: true,
      claims: { sub: ['248289761001'], nonce: ['n-1'] },
    });
    expect((await check({ id_token: idToken, nonce: 'other' })).json).toMatchObject({
      active: false,
    });
    const [header, payload, signature] = idToken.split('.') as [string, string, string];
    const tampered = `${header}.${payload}.${signature.startsWith('A') ? 'B' : 'A'}${signature.slice(1)}`;
    expect((await check({ id_token: tampered })).json).toMatchObject({ active: false });
    expect(await check({})).toMatchObject({ status: 400, json: { error: 'no_id_token' } });
  });
});

describe('UMA errors', () => {
  test('uma_rs_protect - empty, duplicate methods and bad expressions per dialect', async () => {
    const oxdId = okData(
      await socketCommand('register_site', { authorization_redirect_uri: REDIRECT }),
    ).oxd_id;
    expect(
      (await socketCommand('uma_rs_protect', { oxd_id: oxdId, resources: [] })).data,
    ).toMatchObject({ error: 'invalid_uma_request', details: null });
    const duplicate = [
      { path: '/a', conditions: [{ httpMethods: ['GET'], scopes: [VIEW] }] },
      { path: '/a', conditions: [{ httpMethods: ['GET'], scopes: [SECRET] }] },
    ];
    expect(
      (await socketCommand('uma_rs_protect', { oxd_id: oxdId, resources: duplicate })).data,
    ).toMatchObject({ error: 'http_method_not_unique' });
    const badExpression = [
      {
        path: '/b',
        conditions: [
          { httpMethods: ['GET'], scope_expression: { rule: { nope: [] }, data: [VIEW] } },
        ],
      },
    ];
    expect(
      (await socketCommand('uma_rs_protect', { oxd_id: oxdId, resources: badExpression })).data,
    ).toMatchObject({ error: 'invalid_scope_expressioin' });
    const site = await site4();
    expect(
      await post(
        '/uma-rs-protect',
        { oxd_id: site.oxdId, resources: badExpression },
        bearer(site.token),
      ),
    ).toMatchObject({ status: 400, json: { error: 'invalid_scope_expression' } });
  });

  test('uma_rs_check_access - missing path and unprotected resources', async () => {
    const site = await site4();
    await post('/uma-rs-protect', { oxd_id: site.oxdId, resources: PHOTOS }, bearer(site.token));
    expect(
      await post(
        '/uma-rs-check-access',
        { oxd_id: site.oxdId, rpt: '', http_method: 'GET' },
        bearer(site.token),
      ),
    ).toMatchObject({ status: 400, json: { error: 'invalid_path_parameter' } });
    expect(
      await post(
        '/uma-rs-check-access',
        { oxd_id: site.oxdId, rpt: '', path: '/elsewhere', http_method: 'GET' },
        bearer(site.token),
      ),
    ).toMatchObject({
      status: 400,
      json: { error: 'invalid_request', error_description: expect.stringContaining('/elsewhere') },
    });
    const granted = await post(
      '/uma-rs-check-access',
      { oxd_id: site.oxdId, rpt: '', path: '/photos', http_method: 'GET' },
      bearer(site.token),
    );
    expect(granted.json).toEqual({
      access: 'denied',
      'www-authenticate_header': expect.stringMatching(/^UMA realm="rs",as_uri="/),
      ticket: expect.any(String),
    });
  });

  test('uma_rs_modify (4.x) - replaces the scopes of one path and method', async () => {
    const site = await site4();
    const call = (path: string, body: Record<string, unknown>) =>
      post(path, { oxd_id: site.oxdId, ...body }, bearer(site.token));
    await call('/uma-rs-protect', { resources: PHOTOS });
    const denied = await call('/uma-rs-check-access', {
      rpt: '',
      path: '/photos',
      http_method: 'GET',
    });
    const rpt = await call('/uma-rp-get-rpt', {
      ticket: (denied.json as { ticket: string }).ticket,
    });
    const viewRpt = (rpt.json as { access_token: string }).access_token;
    const check = () =>
      call('/uma-rs-check-access', { rpt: viewRpt, path: '/photos', http_method: 'GET' });
    expect((await check()).json).toMatchObject({ access: 'granted' });

    expect(
      await call('/uma-rs-modify', { path: '/photos', http_method: 'GET', scopes: [SECRET] }),
    ).toMatchObject({ status: 200, json: { oxd_id: site.oxdId } });
    expect((await check()).json).toMatchObject({ access: 'denied', ticket: expect.any(String) });

    expect(
      await call('/uma-rs-modify', {
        path: '/photos',
        http_method: 'GET',
        scope_expression: JSON.stringify({
          rule: { or: [{ var: 0 }, { var: 1 }] },
          data: [VIEW, SECRET],
        }),
      }),
    ).toMatchObject({ status: 200 });
    expect((await check()).json).toMatchObject({ access: 'granted' });

    expect(await call('/uma-rs-modify', { path: '/photos', http_method: 'GET' })).toMatchObject({
      status: 400,
      json: { error: 'invalid_uma_scope_parameter' },
    });
    expect(
      await call('/uma-rs-modify', { path: '/nowhere', http_method: 'GET', scopes: [VIEW] }),
    ).toMatchObject({ status: 400, json: { error: 'invalid_request' } });
  });

  test('uma_rp_get_rpt - need_info and invalid_ticket: 3.x envelope vs 4.x AS body', async () => {
    const oxdId = okData(
      await socketCommand('register_site', { authorization_redirect_uri: REDIRECT }),
    ).oxd_id;
    const secretResource = [
      { path: '/s', conditions: [{ httpMethods: ['GET'], scopes: [SECRET] }] },
    ];
    okData(await socketCommand('uma_rs_protect', { oxd_id: oxdId, resources: secretResource }));
    const ticketFor = async () =>
      okData(
        await socketCommand('uma_rs_check_access', {
          oxd_id: oxdId,
          rpt: '',
          path: '/s',
          http_method: 'GET',
        }),
      ).ticket as string;

    const needInfo3 = await socketCommand('uma_rp_get_rpt', {
      oxd_id: oxdId,
      ticket: await ticketFor(),
    });
    expect(needInfo3).toEqual({
      status: 'error',
      data: {
        error: 'need_info',
        error_description: expect.any(String),
        details: {
          error: 'need_info',
          ticket: expect.any(String),
          required_claims: [expect.objectContaining({ name: 'email' })],
          redirect_user: `${stack.oxd.httpsUrl}/uma/claims-gathering`,
        },
      },
    });
    const invalid3 = await socketCommand('uma_rp_get_rpt', { oxd_id: oxdId, ticket: 'no-such' });
    expect(invalid3.data).toMatchObject({
      error: 'need_info',
      details: { error: 'invalid_ticket' },
    });

    const site = await site4();
    const needInfo4 = await post(
      '/uma-rp-get-rpt',
      { oxd_id: site.oxdId, ticket: await ticketFor() },
      bearer(site.token),
    );
    expect(needInfo4.status).toBe(403);
    expect(needInfo4.json).toEqual({
      error: 'need_info',
      ticket: expect.any(String),
      required_claims: [expect.objectContaining({ name: 'email' })],
      redirect_user: `${stack.oxd.httpsUrl}/uma/claims-gathering`,
    });
    expect(
      await post('/uma-rp-get-rpt', { oxd_id: site.oxdId, ticket: 'no-such' }, bearer(site.token)),
    ).toMatchObject({ status: 400, json: { error: 'invalid_ticket' } });
    expect(await post('/uma-rp-get-rpt', { oxd_id: site.oxdId }, bearer(site.token))).toMatchObject(
      { status: 400, json: { error: 'invalid_ticket_parameter' } },
    );
  });
});

describe('restart', () => {
  test('registrations survive an oxd restart', async () => {
    const site = await site4();
    const socketSite = okData(
      await socketCommand('register_site', { authorization_redirect_uri: REDIRECT }),
    );
    await stack.stopOxd();
    await stack.startOxd();
    const answer = await post('/get-authorization-url', { oxd_id: site.oxdId }, bearer(site.token));
    expect(answer.status).toBe(200);
    const socketAnswer = await socketCommand('get_authorization_url', {
      oxd_id: socketSite.oxd_id,
    });
    expect(okData(socketAnswer).authorization_url).toEqual(expect.any(String));
  }, 60_000);
});
