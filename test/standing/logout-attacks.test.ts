/**
 * Attacks on back-channel and front-channel logout, against the local OP and oxd: forged,
 * altered, misdirected and malformed logout tokens and requests, each asserting that the
 * attacker ends nobody's login (the victim stays logged in, the answer is a refusal), then
 * that the genuine token or request ends exactly the victim's login. The token cases start
 * from the tokens the OP really sent when the victim and the attacker signed out there.
 */
import { createHmac, createPublicKey, generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import request from 'supertest';
import { Agent as UndiciAgent, request as undiciRequest } from 'undici';
import { ensureBuilt } from '../helpers/build';
import { dedicatedStack } from '../helpers/local-stack';
import { OpCookieJar } from '../../src/testing/op-login';
import { startBackchannelApp, type BackchannelApp } from '../helpers/backchannel-fixture';
import { HTML, logIn, type Agent, type LocalStack } from '../helpers/stack-fixture';

let stack: LocalStack;
let app: BackchannelApp;
let otherClient: BackchannelApp;
let victim: Agent;
let victimToken: string;
let attackerToken: string;
let victimSid: string;
let attackerSid: string;
let opPublicPem: string;
let opJwk: Record<string, string>;

const DELIVERY_TIMEOUT = { timeout: 20_000 };

const b64 = (value: unknown) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
const partsOf = (token: string) => token.split('.') as [string, string, string];
const decode = (part: string) =>
  JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
const attackerKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
const rs256 = (head: unknown, body: unknown) => {
  const input = `${b64(head)}.${b64(body)}`;
  return `${input}.${sign('sha256', Buffer.from(input), attackerKey).toString('base64url')}`;
};
const hs256 = (head: unknown, body: unknown, secret: string | Buffer) => {
  const input = `${b64(head)}.${b64(body)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
};

beforeAll(async () => {
  await ensureBuilt();
  stack = await dedicatedStack();
  app = await startBackchannelApp(stack);
  otherClient = await startBackchannelApp(stack);
  victim = request.agent(app.server);
  const victimJar = new OpCookieJar();
  expect((await logIn(victim, stack, '/login', victimJar)).status).toBe(302);
  const attacker = request.agent(app.server);
  const attackerJar = new OpCookieJar();
  expect((await logIn(attacker, stack, '/login', attackerJar)).status).toBe(302);
  victimSid = (await victim.get('/profile').set('Accept', HTML)).body.idTokenClaims.sid as string;
  attackerSid = (await attacker.get('/profile').set('Accept', HTML)).body.idTokenClaims
    .sid as string;
  victimToken = await app.signOutAtOp(victimJar);
  attackerToken = await app.signOutAtOp(attackerJar);
  // The attacker spends its own token: it ends the attacker's login only.
  expect((await app.deliver(attackerToken, DELIVERY_TIMEOUT)).status).toBe(200);
  expect(await victimLoggedIn()).toBe(true);

  const dispatcher = new UndiciAgent({ connect: { ca: stack.op.ca } });
  try {
    const discovery = await undiciRequest(`${stack.op.issuer}/.well-known/openid-configuration`, {
      dispatcher,
    });
    const { jwks_uri: jwksUri } = (await discovery.body.json()) as { jwks_uri: string };
    const jwks = await undiciRequest(jwksUri, { dispatcher });
    const { keys } = (await jwks.body.json()) as { keys: Record<string, string>[] };
    opJwk = keys.find((key) => key.kty === 'RSA') as Record<string, string>;
    opPublicPem = createPublicKey({ key: opJwk, format: 'jwk' })
      .export({ format: 'pem', type: 'spki' })
      .toString();
  } finally {
    await dispatcher.close();
  }
}, 180_000);

afterAll(async () => {
  await app?.close();
  await otherClient?.close();
  await stack?.close();
});

async function victimLoggedIn(): Promise<boolean> {
  return /logged in/.test((await victim.get('/').set('Accept', HTML)).text);
}

/** A fresh copy of the victim's claims (new jti, so the replay check is not what refuses). */
function victimClaims(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...decode(partsOf(victimToken)[1]), jti: randomUUID(), ...extra };
}

type Send = () => Promise<{ status: number }>;
const post =
  (body: string, type = 'application/x-www-form-urlencoded'): Send =>
  () =>
    request(app.server).post('/backchannel-logout').set('Content-Type', type).send(body);
const form = (token: string) => post(new URLSearchParams({ logout_token: token }).toString());

const backchannelCases: [string, () => Send][] = [
  ['alg none, no signature', () => form(`${b64({ alg: 'none' })}.${b64(victimClaims())}.`)],
  [
    'alg none, the genuine signature kept',
    () => form(`${b64({ alg: 'none' })}.${b64(victimClaims())}.${partsOf(victimToken)[2]}`),
  ],
  [
    "HS256 keyed with the OP's public key (PEM)",
    () => form(hs256({ alg: 'HS256', kid: opJwk.kid }, victimClaims(), opPublicPem)),
  ],
  [
    "HS256 keyed with the OP's modulus",
    () =>
      form(
        hs256(
          { alg: 'HS256', kid: opJwk.kid },
          victimClaims(),
          Buffer.from(opJwk.n as string, 'base64url'),
        ),
      ),
  ],
  [
    "another key under the OP's kid",
    () => form(rs256({ alg: 'RS256', kid: opJwk.kid }, victimClaims())),
  ],
  ['another key, no kid', () => form(rs256({ alg: 'RS256' }, victimClaims()))],
  [
    'another key, embedded in the header (jwk)',
    () => {
      const jwk = createPublicKey(attackerKey).export({ format: 'jwk' });
      return form(rs256({ alg: 'RS256', jwk }, victimClaims()));
    },
  ],
  [
    'another key, announced by URL (jku)',
    () => form(rs256({ alg: 'RS256', jku: 'https://attacker.example/jwks' }, victimClaims())),
  ],
  [
    "the victim's payload under the attacker's genuine signature",
    () => {
      const [head, , signature] = partsOf(attackerToken);
      return form(`${head}.${b64(victimClaims())}.${signature}`);
    },
  ],
  [
    "the attacker's genuine token with the victim's sid",
    () => {
      const [head, body, signature] = partsOf(attackerToken);
      const claims = { ...decode(body), sid: victimSid, jti: randomUUID() };
      return form(`${head}.${b64(claims)}.${signature}`);
    },
  ],
  ['the signature stripped', () => form(partsOf(victimToken).slice(0, 2).join('.'))],
  ['an empty signature', () => form(`${partsOf(victimToken).slice(0, 2).join('.')}.`)],
  ['a truncated signature', () => form(victimToken.slice(0, -10))],
  ['a fourth part', () => form(`${victimToken}.AAAA`)],
  ['characters outside base64url', () => form(victimToken.replace('.', '.+/='))],
  [
    'a header that is a JSON array',
    () => form(`${b64(['RS256'])}.${partsOf(victimToken).slice(1).join('.')}`),
  ],
  [
    'PS256 named over an RS256 signature',
    () => {
      const [, body, signature] = partsOf(victimToken);
      return form(`${b64({ alg: 'PS256', kid: opJwk.kid })}.${body}.${signature}`);
    },
  ],
  [
    'ES256 named over an RS256 signature',
    () => {
      const [, body, signature] = partsOf(victimToken);
      return form(`${b64({ alg: 'ES256', kid: opJwk.kid })}.${body}.${signature}`);
    },
  ],
  [
    'the token in the query string, not the body',
    () => () =>
      request(app.server)
        .post(`/backchannel-logout?logout_token=${victimToken}`)
        .type('form')
        .send(''),
  ],
  [
    'the token as JSON',
    () => post(JSON.stringify({ logout_token: victimToken }), 'application/json'),
  ],
  [
    'the token as multipart form data',
    () =>
      post(
        `--b\r\nContent-Disposition: form-data; name="logout_token"\r\n\r\n${victimToken}\r\n--b--\r\n`,
        'multipart/form-data; boundary=b',
      ),
  ],
  [
    'two logout_token parameters (a forged one first)',
    () =>
      post(`logout_token=${rs256({ alg: 'RS256' }, victimClaims())}&logout_token=${attackerToken}`),
  ],
  ['logout_token[] (array syntax)', () => post(`logout_token[]=${attackerToken}`)],
  ['a 100 kB body', () => post(`logout_token=${'a'.repeat(100 * 1024)}`)],
  ['an empty logout_token', () => post('logout_token=')],
  [
    'a GET with the token',
    () => () => request(app.server).get(`/backchannel-logout?logout_token=${victimToken}`),
  ],
  ["the attacker's spent token again", () => form(attackerToken)],
  [
    "the victim's genuine token sent to another client's route (aud)",
    () => () => otherClient.deliver(victimToken, DELIVERY_TIMEOUT),
  ],
];

describe(`back-channel: ${backchannelCases.length} attacks end no login`, () => {
  test.each(backchannelCases)('%s', async (_name, attack) => {
    const reply = await attack()();
    expect(reply.status).toBeGreaterThanOrEqual(400);
    expect(reply.status).toBeLessThan(500);
    expect(await victimLoggedIn()).toBe(true);
  });
});

type FrontParams = [string, string][];
const frontchannelCases: [string, () => FrontParams][] = [
  ['no parameters', () => []],
  ['iss only', () => [['iss', stack.op.issuer]]],
  ['sid only', () => [['sid', victimSid]]],
  [
    "the attacker's sid",
    () => [
      ['iss', stack.op.issuer],
      ['sid', attackerSid],
    ],
  ],
  [
    'another issuer',
    () => [
      ['iss', 'https://attacker.example'],
      ['sid', victimSid],
    ],
  ],
  [
    'the issuer with a path appended',
    () => [
      ['iss', `${stack.op.issuer}/evil`],
      ['sid', victimSid],
    ],
  ],
  [
    'the issuer over http',
    () => [
      ['iss', stack.op.issuer.replace('https:', 'http:')],
      ['sid', victimSid],
    ],
  ],
  [
    'sid twice',
    () => [
      ['iss', stack.op.issuer],
      ['sid', attackerSid],
      ['sid', victimSid],
    ],
  ],
  [
    'iss twice',
    () => [
      ['iss', 'https://attacker.example'],
      ['iss', stack.op.issuer],
      ['sid', victimSid],
    ],
  ],
  [
    'sid[] (array syntax)',
    () => [
      ['iss', stack.op.issuer],
      ['sid[]', victimSid],
    ],
  ],
  [
    'the sid with a trailing space',
    () => [
      ['iss', stack.op.issuer],
      ['sid', `${victimSid} `],
    ],
  ],
  [
    'the sid in upper case',
    () => [
      ['iss', stack.op.issuer],
      ['sid', victimSid.toUpperCase()],
    ],
  ],
  [
    'the sid with a NUL appended',
    () => [
      ['iss', stack.op.issuer],
      ['sid', `${victimSid}\u0000`],
    ],
  ],
];

describe(`front-channel: ${frontchannelCases.length + 2} attacks end no login`, () => {
  test.each(frontchannelCases)('%s', async (_name, params) => {
    const query = new URLSearchParams(params()).toString();
    const reply = await victim.get(`/frontchannel-logout?${query}`);
    expect(reply.status).toBe(200);
    expect(await victimLoggedIn()).toBe(true);
  });

  test('a POST with the right iss and sid', async () => {
    const query = new URLSearchParams({ iss: stack.op.issuer, sid: victimSid });
    const reply = await victim.post(`/frontchannel-logout?${query}`);
    expect(reply.status).toBe(404);
    expect(await victimLoggedIn()).toBe(true);
  });

  test('the right iss and sid from another browser (no victim cookie)', async () => {
    const query = new URLSearchParams({ iss: stack.op.issuer, sid: victimSid });
    const reply = await request(app.server).get(`/frontchannel-logout?${query}`);
    expect(reply.status).toBe(200);
    expect(await victimLoggedIn()).toBe(true);
  });
});

describe('genuine logouts end exactly the victim', () => {
  test("the victim's genuine logout token ends the victim's login", async () => {
    expect((await app.deliver(victimToken, DELIVERY_TIMEOUT)).status).toBe(200);
    expect(await victimLoggedIn()).toBe(false);
  });
});
