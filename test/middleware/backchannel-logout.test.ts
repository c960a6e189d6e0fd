/**
 * Back-channel logout against the local OP (which POSTs the logout_token to the app over a
 * real socket) and the local oxd 4.x: the sessions of the OP session end in the app's
 * session store; forged, replayed and malformed tokens are refused. Express 5, Express 4
 * and Connect.
 */
import { generateKeyPairSync, sign } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import session from 'express-session';
import { oxdAuth } from '../../src';
import { resolveConfig } from '../../src/config/resolve';
import { OxdClient } from '../../src/oxd/client';
import { LOGOUT_TOKEN_DELIVERY_S } from '../../src/middleware/clock-tolerance';
import { recordKey } from '../../src/middleware/logout-records';
import {
  endSessionEndpoint,
  loginsIn,
  registerBackchannelUri,
  startBackchannelApp,
} from '../helpers/backchannel-fixture';
import { capturingLogger } from '../helpers/capture-logger';
import { useLocalStack } from '../helpers/local-stack';
import { followOpLogout, OpCookieJar } from '../../src/testing/op-login';
import { buildApp, FRAMEWORKS, type Framework } from '../fixtures/apps';
import { configFor, countingTransport, HTML, logIn } from '../helpers/stack-fixture';

const stack = useLocalStack();
const closers: (() => Promise<void>)[] = [];

afterAll(async () => {
  await Promise.all(closers.map((close) => close()));
});

/** The app on a real 127.0.0.1 socket; POST bodies to the back-channel route are recorded. */
/** A session store that fails every call while `failing` is set, as Redis down would. */
class FailingStore extends session.MemoryStore {
  failing = false;
  private refused(): Error {
    return Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), {
      code: 'ECONNREFUSED',
    });
  }
  override get(sid: string, callback: (err: unknown, data?: session.SessionData | null) => void) {
    if (this.failing) return callback(this.refused());
    return super.get(sid, callback);
  }
  override set(sid: string, data: session.SessionData, callback?: (err?: unknown) => void) {
    if (this.failing) return callback?.(this.refused());
    return super.set(sid, data, callback);
  }
}

async function startApp(framework: Framework) {
  const client = new OxdClient(resolveConfig(configFor(stack, 'https4')), {
    transport: countingTransport(stack, 'https4'),
    writeBack: false,
  });
  const store = new FailingStore();
  const logger = capturingLogger();
  const handler = oxdAuth({
    config: configFor(stack, 'https4'),
    client,
    logger,
    routes: { backchannelLogout: '/backchannel-logout' },
  });
  const app = buildApp(framework, handler, { store });
  const bodies: string[] = [];
  const server: Server = createServer((req, res) => {
    if (req.method === 'POST' && req.url === '/backchannel-logout') {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => bodies.push(Buffer.concat(chunks).toString('utf8')));
    }
    app(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  closers.push(async () => {
    await client.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  await client.register();
  await registerBackchannelUri(stack, client.oxdId as string, `${base}/backchannel-logout`);
  return { server, base, bodies, store, client, logger };
}

function sessionCount(store: session.MemoryStore): Promise<number> {
  return new Promise((resolve, reject) =>
    store.all((err, all) =>
      err
        ? reject(err)
        : resolve(
            Object.values(all ?? {}).filter((s) => (s as { oxd?: unknown }).oxd !== undefined)
              .length,
          ),
    ),
  );
}

describe.each(FRAMEWORKS)('%s', (framework) => {
  test('the OP ends the sessions of its session; forged and replayed tokens are refused', async () => {
    const app = await startApp(framework);
    const jar = new OpCookieJar();
    const browser = request.agent(app.server);
    const secondTab = request.agent(app.server);
    expect((await logIn(browser, stack, '/login', jar)).status).toBe(302);
    // A second browser profile with its own OP session stays logged in.
    expect((await logIn(secondTab, stack, '/login', new OpCookieJar())).status).toBe(302);
    expect(await sessionCount(app.store)).toBe(2);

    // The user logs out at the OP (elsewhere): the OP POSTs the logout_token.
    await followOpLogout(await endSessionEndpoint(stack), stack.op.ca, jar);
    for (let i = 0; i < 50 && app.bodies.length === 0; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(app.bodies).toHaveLength(1);
    expect((await browser.get('/').set('Accept', HTML)).text).toBe('home');
    expect((await secondTab.get('/').set('Accept', HTML)).text).toMatch(/logged in/);
    expect(await sessionCount(app.store)).toBe(1);

    // The same token again: refused.
    const replay = await request(app.server)
      .post('/backchannel-logout')
      .type('form')
      .send(app.bodies[0] as string);
    expect(replay.status).toBe(400);
    expect(replay.body.error_description).toMatch(/already used/);

    // A token signed by anyone else: refused, nothing ended.
    const token = JSON.parse(
      Buffer.from(
        (new URLSearchParams(app.bodies[0]).get('logout_token') as string).split('.')[1] as string,
        'base64url',
      ).toString(),
    ) as Record<string, unknown>;
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const forge = (claims: Record<string, unknown>, alg = 'RS256') => {
      const head = Buffer.from(JSON.stringify({ alg, kid: 'x' })).toString('base64url');
      const body = Buffer.from(JSON.stringify(claims)).toString('base64url');
      const sig =
        alg === 'none'
          ? ''
          : sign('sha256', Buffer.from(`${head}.${body}`), privateKey).toString('base64url');
      return `${head}.${body}.${sig}`;
    };
    const fresh = { ...token, jti: 'new-jti', iat: Math.floor(Date.now() / 1000) };
    for (const forged of [forge(fresh), forge(fresh, 'none'), 'not-a-jwt']) {
      const refused = await request(app.server)
        .post('/backchannel-logout')
        .type('form')
        .send({ logout_token: forged });
      expect(refused.status).toBe(400);
    }
    const empty = await request(app.server).post('/backchannel-logout').type('form').send({});
    expect(empty.status).toBe(400);
    expect((await secondTab.get('/').set('Accept', HTML)).text).toMatch(/logged in/);
  });
});

test('a session store failing as the OP logs the user out: 503, logged once with its cause', async () => {
  const app = await startApp('express5');
  const jar = new OpCookieJar();
  const browser = request.agent(app.server);
  expect((await logIn(browser, stack, '/login', jar)).status).toBe(302);
  app.store.failing = true;
  try {
    await followOpLogout(await endSessionEndpoint(stack), stack.op.ca, jar);
    for (let i = 0; i < 100 && app.logger.lines.length === 0; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    app.store.failing = false;
  }
  expect(app.bodies).toHaveLength(1);
  expect(app.logger.summary()).toEqual([
    ['error', 'OXD_SESSION_STORE_UNAVAILABLE', 'backchannel_logout', 503, 'ECONNREFUSED'],
  ]);
  // Nothing of the logout token is in the log.
  const token = new URLSearchParams(app.bodies[0]).get('logout_token') as string;
  expect(JSON.stringify(app.logger.lines)).not.toContain(token.split('.')[1]);
});

test('with clockTolerance 300, a used jti is remembered for as long as its token is accepted', async () => {
  // This server's clock runs just under 300 s behind the OP's: a token arrives with an iat
  // that far in the future, the earliest it is accepted.
  let behindMs = 0;
  const app = await startBackchannelApp(stack, {
    options: { clockTolerance: 300, clock: () => Date.now() - behindMs },
  });
  closers.push(() => app.close());
  const jar = new OpCookieJar();
  const browser = request.agent(app.server);
  expect((await logIn(browser, stack, '/login', jar)).status).toBe(302);
  const token = await app.signOutAtOp(jar);
  const claims = JSON.parse(
    Buffer.from(token.split('.')[1] as string, 'base64url').toString('utf8'),
  ) as { iss: string; iat: number; jti: string };

  behindMs = Date.now() - claims.iat * 1000 + 299_000;
  const delivered = await app.deliver(token);
  expect(delivered.status).toBe(200);
  expect(await loginsIn(app.store as session.MemoryStore)).toEqual([]);

  // On this server's clock the token stays acceptable until iat + delivery + tolerance;
  // the store counts by the real clock, which is \`behindMs\` ahead.
  const acceptedUntilMs = (claims.iat + LOGOUT_TOKEN_DELIVERY_S + 300) * 1000 + behindMs;
  const key = recordKey('jti', claims.iss.replace(/\/$/, ''), claims.jti);
  const jti = await new Promise<session.SessionData | null | undefined>((resolve, reject) =>
    app.store.get(key, (err, data) => (err ? reject(err as Error) : resolve(data))),
  );
  expect(jti).toBeTruthy();
  expect(Date.parse(String(jti?.cookie.expires))).toBeGreaterThanOrEqual(acceptedUntilMs);
});
