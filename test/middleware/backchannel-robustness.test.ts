/**
 * Back-channel logout under conditions an app meets in production: a body parser mounted
 * before `oxdAuth()` (the route takes the parsed body), a client that never sends the body it
 * announced (refused in bounded time), oxd failing or stalling on `get_jwks` (failed fetches
 * count toward the once-a-minute limit, posts answer 503 at once so the OP retries), and a
 * session store failing mid-way (503 `OXD_SESSION_STORE_UNAVAILABLE`, and the OP's retry
 * still ends the session). The logout tokens are the ones the local OP sends when the user
 * signs out there.
 */
import { generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import { connect } from 'node:net';
import express from 'express';
import session from 'express-session';
import request from 'supertest';
import { OxdTransportError } from '../../src/errors';
import type { OxdReply, OxdRequest, Transport } from '../../src/oxd/transport';
import { OpCookieJar } from '../../src/testing/op-login';
import {
  useBackchannelApps,
  type BackchannelApp,
  type Middleware,
} from '../helpers/backchannel-fixture';
import { HTML, logIn } from '../helpers/stack-fixture';

const { stack, start: startApp } = useBackchannelApps();

const DELIVERY_TIMEOUT = { timeout: 20_000 };

/**
 * Logs one browser in, then signs it out at the OP; resolves with its agent (still logged
 * in at the app) and the logout token the OP sent, not delivered yet.
 */
async function loggedInThenSignedOut(app: BackchannelApp) {
  const agent = request.agent(app.server);
  const jar = new OpCookieJar();
  expect((await logIn(agent, stack, '/login', jar)).status).toBe(302);
  const token = await app.signOutAtOp(jar);
  expect((await agent.get('/').set('Accept', HTML)).text).toMatch(/logged in/);
  return { agent, token };
}

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });

/** The same claims (a fresh jti) signed by a key the OP never had, under key id `kid`. */
function foreignToken(token: string, kid: string): string {
  const claims = JSON.parse(
    Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8'),
  ) as Record<string, unknown>;
  const head = Buffer.from(JSON.stringify({ alg: 'RS256', kid })).toString('base64url');
  const body = Buffer.from(JSON.stringify({ ...claims, jti: randomUUID() })).toString('base64url');
  const signature = sign('sha256', Buffer.from(`${head}.${body}`), privateKey);
  return `${head}.${body}.${signature.toString('base64url')}`;
}

describe('a body parser before oxdAuth()', () => {
  const parsers: [string, Middleware][] = [
    ['express.urlencoded()', express.urlencoded({ extended: false }) as Middleware],
    [
      'express.urlencoded({ extended: true })',
      express.urlencoded({ extended: true }) as Middleware,
    ],
    ["express.text({ type: '*/*' })", express.text({ type: '*/*' }) as Middleware],
    ["express.raw({ type: '*/*' })", express.raw({ type: '*/*' }) as Middleware],
  ];
  test.each(parsers)('%s: the route reads its body and ends the session', async (_name, parser) => {
    const app = await startApp({ before: parser });
    const { agent, token } = await loggedInThenSignedOut(app);
    const reply = await app.deliver(token, { timeout: 4000 });
    expect(reply.status).toBe(200);
    expect((await agent.get('/').set('Accept', HTML)).text).toBe('home');
    // A forged token through the same parser is still refused.
    const forged = await app.deliver(`${token.slice(0, -4)}AAAA`, { timeout: 4000 });
    expect(forged.status).toBe(400);
  });

  test('a body that never arrives is refused in bounded time', async () => {
    const app = await startApp({});
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(new URL(app.base).port), '127.0.0.1');
      let text = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => {
        text += chunk;
      });
      const timer = setTimeout(() => socket.destroy(new Error('no answer within 20 s')), 20_000);
      socket.on('close', () => {
        clearTimeout(timer);
        resolve(text);
      });
      socket.on('error', reject);
      socket.write(
        'POST /backchannel-logout HTTP/1.1\r\nHost: 127.0.0.1\r\n' +
          'Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 500\r\n\r\nlogout_token=ab',
      );
    });
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(answer).toMatch(/did not arrive/);
  });
});

/** Delegates to the real transport; `get_jwks` fails with a reset while `failing`. */
class JwksFaults implements Transport {
  readonly kind: 'socket' | 'https';
  failing = true;
  calls = 0;

  constructor(private readonly inner: Transport) {
    this.kind = inner.kind;
  }

  async send(req: OxdRequest): Promise<OxdReply> {
    if (req.command === 'get_jwks') {
      this.calls += 1;
      if (this.failing) throw new OxdTransportError('oxd closed the connection (reset)');
    }
    return this.inner.send(req);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

describe('the OP keys while oxd fails', () => {
  test('failed fetches count toward the limit; posts meanwhile answer 503 at once', async () => {
    let now = Date.now();
    let faults!: JwksFaults;
    const app = await startApp({
      options: { clock: () => now },
      wrapTransport: (inner) => (faults = new JwksFaults(inner)),
    });
    const { agent, token: valid } = await loggedInThenSignedOut(app);
    const replies = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        app.deliver(foreignToken(valid, `rotated-${i}`), DELIVERY_TIMEOUT),
      ),
    );
    expect(replies.map((reply) => reply.status)).toEqual(Array(20).fill(503));
    expect(replies[0]?.headers['retry-after']).toBeDefined();
    expect(faults.calls).toBe(1);
    // Within the minute, a valid token meets no oxd call either: 503, the OP retries later.
    expect((await app.deliver(valid, DELIVERY_TIMEOUT)).status).toBe(503);
    expect(faults.calls).toBe(1);
    expect((await agent.get('/').set('Accept', HTML)).text).toMatch(/logged in/);
    // oxd is back and a minute has passed: the retried token ends the session.
    faults.failing = false;
    now += 61_000;
    expect((await app.deliver(valid, DELIVERY_TIMEOUT)).status).toBe(200);
    expect(faults.calls).toBe(2);
    expect((await agent.get('/').set('Accept', HTML)).text).toBe('home');
  });

  test('a stalled get_jwks holds no post beyond its bound; later posts answer at once', async () => {
    const app = await startApp({});
    const { agent, token } = await loggedInThenSignedOut(app);
    const release = app.counter.hold('get_jwks');
    try {
      const first = await app.deliver(token, DELIVERY_TIMEOUT);
      expect(first.status).toBe(503);
      // Still stalled: these answer without waiting for it.
      const later = await Promise.all([
        app.deliver(token, DELIVERY_TIMEOUT),
        app.deliver(token, DELIVERY_TIMEOUT),
      ]);
      expect(later.map((reply) => reply.status)).toEqual([503, 503]);
      expect(app.counter.count('get_jwks')).toBe(1);
    } finally {
      release();
    }
    // The fetch completes: the OP's retry ends the session.
    for (let i = 0; i < 50 && (await app.deliver(token, DELIVERY_TIMEOUT)).status === 503; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect((await agent.get('/').set('Accept', HTML)).text).toBe('home');
  });
});

/**
 * A MemoryStore whose `destroy` fails while `failing`: the store goes away after the token's
 * `jti` was checked, while the session is being ended.
 */
class FlakyStore extends session.MemoryStore {
  failing = false;

  override destroy(sid: string, callback?: (err?: unknown) => void) {
    if (this.failing) return callback?.(new Error('store connection lost'));
    return super.destroy(sid, callback);
  }
}

test('a store failure answers 503 OXD_SESSION_STORE_UNAVAILABLE and the retry still works', async () => {
  const store = new FlakyStore();
  const app = await startApp({ store });
  const { agent, token } = await loggedInThenSignedOut(app);
  store.failing = true;
  const failed = await app.deliver(token, DELIVERY_TIMEOUT);
  expect(failed.status).toBe(503);
  expect(failed.body.code).toBe('OXD_SESSION_STORE_UNAVAILABLE');
  store.failing = false;
  // The OP sends the same token again: it was not burnt by the failed attempt.
  expect((await app.deliver(token, DELIVERY_TIMEOUT)).status).toBe(200);
  expect((await agent.get('/').set('Accept', HTML)).text).toBe('home');
});
