/**
 * The local oxd server with protection on everywhere (oxd 3.x `protect_commands_with_access_token`)
 * and short-lived OP tokens: the socket's protection token checks, and expired tokens on
 * each dialect.
 */
import { type Socket, connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent } from 'undici';
import { FrameDecoder, encodeFrame } from '../../src/oxd/framing';
import { dedicatedStack, type LocalStack } from '../helpers/local-stack';
import { rawHttps } from '../helpers/raw-https';

const REDIRECT = 'https://rp.example/callback';
/** OP access-token lifetime of this stack, seconds. */
const TOKEN_TTL = 3;

let stack: LocalStack;
let agent: Agent;
let socket: Socket;
const replies: ((reply: Record<string, unknown>) => void)[] = [];

/** One command over the shared socket connection (strictly one at a time). */
function command(name: string, params: Record<string, unknown>): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    replies.push(resolve);
    socket.write(encodeFrame({ command: name, params }));
  });
}

function errorOf(reply: Record<string, unknown>): unknown {
  expect(reply.status).toBe('error');
  return reply.data;
}

function dataOf(reply: Record<string, unknown>): Record<string, unknown> {
  expect(reply).toMatchObject({ status: 'ok' });
  return reply.data as Record<string, unknown>;
}

async function post(path: string, body: unknown, token?: string) {
  const answer = await rawHttps(stack.oxd.httpsUrl + path, { dispatcher: agent, body, token });
  return { status: answer.status, json: answer.json as Record<string, string> };
}

/** setup_client + get_client_token over the socket. */
async function setupClient(scope: string[] = ['oxd']) {
  const setup = dataOf(await command('setup_client', { authorization_redirect_uri: REDIRECT }));
  const token = dataOf(
    await command('get_client_token', {
      client_id: setup.client_id,
      client_secret: setup.client_secret,
      scope,
    }),
  );
  return { oxdId: setup.oxd_id as string, token: token.access_token as string };
}

beforeAll(async () => {
  stack = await dedicatedStack({ protectCommands: true, accessTokenTtl: TOKEN_TTL });
  agent = new Agent({ connect: { ca: stack.oxd.ca } });
  socket = connect(stack.oxd.port, '127.0.0.1');
  const decoder = new FrameDecoder();
  socket.on('data', (chunk) => {
    for (const payload of decoder.push(chunk)) {
      replies.shift()?.(JSON.parse(payload) as Record<string, unknown>);
    }
  });
}, 120_000);

afterAll(async () => {
  socket?.destroy();
  await agent?.close();
});

test('socket protection - setup_client and get_client_token need no token', async () => {
  const { oxdId, token } = await setupClient();
  expect(oxdId).toEqual(expect.any(String));
  expect(token).toEqual(expect.any(String));
});

test('socket protection - a command without protection_access_token is blank_protection_access_token', async () => {
  const { oxdId } = await setupClient();
  expect(errorOf(await command('get_authorization_url', { oxd_id: oxdId }))).toEqual({
    error: 'blank_protection_access_token',
    error_description: expect.any(String),
    details: null,
  });
});

test('socket protection - the setup client token opens the site commands', async () => {
  const { oxdId, token } = await setupClient();
  const data = dataOf(
    await command('get_authorization_url', { oxd_id: oxdId, protection_access_token: token }),
  );
  expect(data.authorization_url).toEqual(expect.stringContaining(stack.op.issuer));
});

test('socket protection - register_site links the site to the setup client of its token', async () => {
  const { token } = await setupClient();
  expect(
    errorOf(await command('register_site', { authorization_redirect_uri: REDIRECT })),
  ).toMatchObject({ error: 'blank_protection_access_token' });
  const site = dataOf(
    await command('register_site', {
      authorization_redirect_uri: REDIRECT,
      protection_access_token: token,
    }),
  );
  const data = dataOf(
    await command('get_authorization_url', { oxd_id: site.oxd_id, protection_access_token: token }),
  );
  expect(data.authorization_url).toEqual(expect.any(String));
});

test('socket protection - a token of another setup client is invalid_protection_access_token', async () => {
  const mine = await setupClient();
  const theirs = await setupClient();
  expect(
    errorOf(
      await command('get_authorization_url', {
        oxd_id: mine.oxdId,
        protection_access_token: theirs.token,
      }),
    ),
  ).toMatchObject({ error: 'invalid_protection_access_token', details: null });
});

test('socket protection - a token without the oxd scope is protection_access_token_insufficient_scope', async () => {
  const { oxdId, token } = await setupClient(['openid']);
  expect(
    errorOf(
      await command('get_authorization_url', { oxd_id: oxdId, protection_access_token: token }),
    ),
  ).toMatchObject({ error: 'protection_access_token_insufficient_scope' });
});

test('expired tokens - are inactive on the socket, on /v3/ and on 4.x', async () => {
  const socketSite = await setupClient();
  const registered = await post('/register-site', { redirect_uris: [REDIRECT] });
  const token4 = await post('/get-client-token', {
    client_id: registered.json.client_id,
    client_secret: registered.json.client_secret,
    scope: ['oxd'],
  });
  await sleep((TOKEN_TTL + 1.5) * 1000);
  expect(
    errorOf(
      await command('get_authorization_url', {
        oxd_id: socketSite.oxdId,
        protection_access_token: socketSite.token,
      }),
    ),
  ).toMatchObject({ error: 'inactive_protection_access_token' });
  const v3 = await post(
    '/v3/get-authorization-url',
    { oxd_id: socketSite.oxdId },
    socketSite.token,
  );
  expect(v3).toMatchObject({
    status: 200,
    json: { status: 'error', data: { error: 'inactive_protection_access_token' } },
  });
  const v4 = await post(
    '/get-authorization-url',
    { oxd_id: registered.json.oxd_id },
    token4.json.access_token,
  );
  expect(v4).toMatchObject({ status: 403, json: { error: 'inactive_access_token' } });
}, 30_000);
