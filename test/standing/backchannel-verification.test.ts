/**
 * Back-channel logout tokens that must not pass verification, against the local OP and oxd
 * 4.x (HTTPS), with the OP located by `op_configuration_endpoint` only (no `op_host`). The
 * OP's key set as oxd's `get_jwks` returns it gains keys of other types, as an OP rotating
 * to ECDSA or EdDSA publishes them (an EC P-256 and P-384 key and an Ed25519 key, none naming
 * its `alg`), and an RSA key the test signs valid tokens with.
 *
 * - an algorithm is bound to its key type and curve (RFC 8725 §3.1): an ECDSA signature under
 *   an `RS256` header, or an ES256 signature by a P-384 key, is refused;
 * - a key node:crypto cannot use for the algorithm (Ed25519 under `RS256`) is a 400, not a 500;
 * - `iss` must be the OP's issuer, derived from `op_configuration_endpoint` when `op_host` is
 *   unset;
 * - the back-channel event must be a JSON object;
 * - one token ends sessions once, even delivered twice at the same moment to one instance or
 *   to two instances sharing a store and a Redis `refreshLock`.
 */
import { generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import session from 'express-session';
import { createClient } from 'redis';
import request from 'supertest';
import { oxdAuth, redisRefreshLock, type OxdAuthHandler, type RefreshLock } from '../../src';
import { resolveConfig } from '../../src/config/resolve';
import { OxdClient } from '../../src/oxd/client';
import { startRedis, type RedisServer } from '../helpers/app-instances';
import { dedicatedStack } from '../helpers/local-stack';
import { buildApp } from '../fixtures/apps';
import {
  configFor,
  countingTransport,
  rewriteReply,
  HTML,
  logIn,
  type LocalStack,
} from '../helpers/stack-fixture';

const EVENT = 'http://schemas.openid.net/event/backchannel-logout';
const ROUTE = '/backchannel-logout';

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
const ed25519 = generateKeyPairSync('ed25519');

/** The keys added to the OP's set: none but the RSA one names its `alg`. */
const EXTRA_KEYS = [
  { ...rsa.publicKey.export({ format: 'jwk' }), kid: 'test-rsa', alg: 'RS256', use: 'sig' },
  { ...p256.publicKey.export({ format: 'jwk' }), kid: 'test-p256', use: 'sig' },
  { ...p384.publicKey.export({ format: 'jwk' }), kid: 'test-p384', use: 'sig' },
  { ...ed25519.publicKey.export({ format: 'jwk' }), kid: 'test-ed25519', use: 'sig' },
];

/** A MemoryStore whose reads take 20 ms, as a networked store's do. */
class SlowStore extends session.MemoryStore {
  override get(sid: string, callback: (err: unknown, value?: session.SessionData | null) => void) {
    setTimeout(() => super.get(sid, callback), 20);
  }
}

let stack: LocalStack;
let redis: RedisServer;
let redisClient: ReturnType<typeof createClient>;
let client: OxdClient;
const closers: (() => Promise<void>)[] = [];

/** The https4 configuration, with the OP named by its discovery document only. */
function discoveryOnlyConfig() {
  const config = configFor(stack, 'https4');
  const { opHost, ...rest } = config.client;
  return {
    ...config,
    client: { ...rest, opConfigurationEndpoint: `${opHost}/.well-known/openid-configuration` },
  };
}

beforeAll(async () => {
  [stack, redis] = await Promise.all([dedicatedStack(), startRedis()]);
  redisClient = createClient({ socket: { host: '127.0.0.1', port: redis.port } });
  await redisClient.connect();
  client = new OxdClient(resolveConfig(discoveryOnlyConfig()), {
    // The real oxd, whose `get_jwks` answer also lists EXTRA_KEYS.
    transport: rewriteReply(countingTransport(stack, 'https4'), 'get_jwks', (data) => ({
      ...data,
      keys: [...(data.keys as unknown[]), ...EXTRA_KEYS],
    })),
    writeBack: false,
  });
  await client.register();
}, 180_000);

afterAll(async () => {
  await Promise.all(closers.map((close) => close()));
  await client?.close();
  await redisClient?.quit();
  await redis?.stop();
});

/** An app (Express 5) with the back-channel route on a real socket, over `store`. */
async function startSite(store: session.Store, refreshLock?: RefreshLock) {
  const handler: OxdAuthHandler = oxdAuth({
    config: discoveryOnlyConfig(),
    client,
    routes: { backchannelLogout: ROUTE },
    ...(refreshLock ? { refreshLock } : {}),
  });
  const server: Server = createServer(buildApp('express5', handler, { store }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return server;
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A logout token for the first test user, signed as given; `claims` override the valid ones. */
function logoutToken(
  options: {
    alg?: string;
    kid?: string;
    key?: KeyObject;
    hash?: string | null;
    dsaEncoding?: 'der' | 'ieee-p1363';
  } = {},
  claims: Record<string, unknown> = {},
): string {
  const kid = options.kid ?? 'test-rsa';
  const head = b64({ alg: options.alg ?? 'RS256', ...(kid === '' ? {} : { kid }), typ: 'JWT' });
  const body = b64({
    iss: stack.op.issuer,
    aud: client.clientId,
    iat: Math.floor(Date.now() / 1000),
    jti: randomUUID(),
    sub: stack.op.users[0]?.claims.sub,
    events: { [EVENT]: {} },
    ...claims,
  });
  const signature = sign(
    options.hash === undefined ? 'sha256' : options.hash,
    Buffer.from(`${head}.${body}`),
    {
      key: options.key ?? rsa.privateKey,
      ...(options.dsaEncoding ? { dsaEncoding: options.dsaEncoding } : {}),
    },
  );
  return `${head}.${body}.${signature.toString('base64url')}`;
}

function deliver(server: Server, token: string) {
  return request(server).post(ROUTE).type('form').send({ logout_token: token });
}

async function loggedIn(agent: ReturnType<typeof request.agent>): Promise<boolean> {
  return /logged in/.test((await agent.get('/').set('Accept', HTML)).text);
}

describe('refused tokens leave the user logged in', () => {
  let server: Server;
  let browser: ReturnType<typeof request.agent>;

  beforeAll(async () => {
    server = await startSite(new session.MemoryStore());
    browser = request.agent(server);
    expect((await logIn(browser, stack)).status).toBe(302);
  }, 60_000);

  const forged: [string, () => string][] = [
    [
      'an ECDSA P-256 signature under an RS256 header',
      () => logoutToken({ alg: 'RS256', kid: 'test-p256', key: p256.privateKey }),
    ],
    [
      'an ES256 signature by a P-384 key',
      () =>
        logoutToken({
          alg: 'ES256',
          kid: 'test-p384',
          key: p384.privateKey,
          dsaEncoding: 'ieee-p1363',
        }),
    ],
    [
      'an ES384 signature by a P-256 key',
      () =>
        logoutToken({
          alg: 'ES384',
          kid: 'test-p256',
          hash: 'sha384',
          key: p256.privateKey,
          dsaEncoding: 'ieee-p1363',
        }),
    ],
    [
      'an RS256 header naming an Ed25519 key',
      () => logoutToken({ alg: 'RS256', kid: 'test-ed25519', key: ed25519.privateKey, hash: null }),
    ],
    [
      'an RS256 header and no kid, among keys of every type',
      () => logoutToken({ alg: 'RS256', kid: '', key: ed25519.privateKey, hash: null }),
    ],
    ['another issuer (op_host unset)', () => logoutToken({}, { iss: 'https://op.evil.example' })],
    ['the logout event null', () => logoutToken({}, { events: { [EVENT]: null } })],
    ['the logout event a list', () => logoutToken({}, { events: { [EVENT]: [] } })],
  ];

  test.each(forged)('%s: 400', async (_label, make) => {
    const answer = await deliver(server, make());
    expect(answer.status).toBe(400);
    expect(answer.body.error).toBe('invalid_request');
    expect(await loggedIn(browser)).toBe(true);
  });

  test('a valid token signed by the same key ends the session (the cases above were not refused for another reason)', async () => {
    expect((await deliver(server, logoutToken())).status).toBe(200);
    expect(await loggedIn(browser)).toBe(false);
  });
});

describe('one token is used once', () => {
  test('delivered twice at the same moment to one instance: one 200, one 400', async () => {
    const server = await startSite(new SlowStore());
    const token = logoutToken();
    const answers = await Promise.all([deliver(server, token), deliver(server, token)]);
    expect(answers.map((answer) => answer.status).sort()).toEqual([200, 400]);
    expect(answers.find((answer) => answer.status === 400)?.body.error_description).toMatch(
      /already used/,
    );
  });

  test('delivered at the same moment to two instances sharing a store and a Redis refreshLock: one 200', async () => {
    const store = new SlowStore();
    const lock = redisRefreshLock(redisClient);
    const [first, second] = await Promise.all([startSite(store, lock), startSite(store, lock)]);
    const token = logoutToken();
    const answers = await Promise.all([deliver(first, token), deliver(second, token)]);
    expect(answers.map((answer) => answer.status).sort()).toEqual([200, 400]);
    // Later deliveries find the store's record too.
    await sleep(10);
    expect((await deliver(first, token)).status).toBe(400);
    expect((await deliver(second, token)).status).toBe(400);
  });
});
