/**
 * The refresh lock is a lease renewed while the refresh runs (`RefreshLock.extend()`):
 * two instances share the session store and a `redisRefreshLock` on a real Redis, the OP
 * rotates refresh tokens, and one instance's refresh takes longer than the lock's lease
 * (derived from the timeouts) and longer than the former fixed 20 s. The other instance
 * waits for it and adopts its tokens instead of replaying the same refresh token, which the
 * OP would treat as theft. A lock without `extend()` keeps working.
 */
import { createServer, type Server } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import session from 'express-session';
import { createClient } from 'redis';
import request from 'supertest';
import { oxdAuth, redisRefreshLock, type RefreshLock } from '../../src';
import { resolveConfig } from '../../src/config/resolve';
import { OxdClient } from '../../src/oxd/client';
import { startRedis, type RedisServer } from '../helpers/app-instances';
import { useLocalStack } from '../helpers/local-stack';
import { buildApp } from '../fixtures/apps';
import {
  configFor,
  countingTransport,
  HTML,
  logIn,
  sessionCookie,
  type CountingTransport,
} from '../helpers/stack-fixture';
import { capturingLogger } from '../helpers/capture-logger';

const REFRESH = 'get_access_token_by_refresh_token';
/** Timeouts giving a lease of 200 + 800 + the margin, far below the refresh's duration. */
const TIMEOUTS = { connectTimeoutMs: 200, responseTimeoutMs: 800 };
const HOLD_MS = 21_000;

const stack = useLocalStack({ rotateRefreshToken: true });
let redis: RedisServer;
let redisClient: ReturnType<typeof createClient>;
const servers: Server[] = [];
const clients: OxdClient[] = [];

beforeAll(async () => {
  redis = await startRedis();
  redisClient = createClient({ url: `redis://127.0.0.1:${redis.port}` });
  await redisClient.connect();
}, 180_000);

afterAll(async () => {
  await Promise.all(clients.map((client) => client.close()));
  await Promise.all(
    servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))),
  );
  await redisClient?.quit();
  await redis?.stop();
});

interface Instance {
  server: Server;
  counter: CountingTransport;
  client: OxdClient;
}

/** One app instance: its own oxd client, the shared store and lock, the shared clock. */
async function instance(
  store: session.Store,
  refreshLock: RefreshLock,
  clock: () => number,
  oxdId?: string,
): Promise<Instance> {
  const config = configFor(stack, 'socket');
  const settings = { ...config, oxd: { ...config.oxd, ...TIMEOUTS, oxdId } };
  const counter = countingTransport(stack, 'socket');
  const client = new OxdClient(resolveConfig(settings), { transport: counter, writeBack: false });
  clients.push(client);
  const auth = oxdAuth({
    config: settings,
    client,
    refreshLock,
    clock,
    logger: capturingLogger(),
  });
  const server = createServer(buildApp('express5', auth, { store }));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, counter, client };
}

async function twoInstances(
  refreshLock: RefreshLock,
  store: session.Store = new session.MemoryStore(),
) {
  const offset = { ms: 0 };
  const clock = () => Date.now() + offset.ms;
  const a = await instance(store, refreshLock, clock);
  const agent = request.agent(a.server);
  const done = await logIn(agent, stack);
  expect(done.status).toBe(302);
  const cookie = sessionCookie(done.headers['set-cookie']);
  if (cookie === undefined) throw new Error('no session cookie after the login');
  // B serves the same site: the registration A made.
  const b = await instance(store, refreshLock, clock, a.client.oxdId);
  const profile = (target: Instance) =>
    request(target.server)
      .get('/profile')
      .set('Accept', HTML)
      .set('Cookie', `connect.sid=${cookie}`);
  offset.ms = 2 * 60 * 60 * 1000; // the access token has expired: the next page refreshes
  return { a, b, profile, offset };
}

test('a refresh slower than its lease keeps the lock: the other instance waits and adopts its tokens', async () => {
  const { a, b, profile, offset } = await twoInstances(redisRefreshLock(redisClient));
  const release = a.counter.hold(REFRESH);
  const first = profile(a).then((response) => response);
  while (a.counter.count(REFRESH) === 0) await sleep(20);
  // A has asked for the refresh and holds the lock far beyond its lease.
  await sleep(HOLD_MS);
  const second = profile(b).then((response) => response);
  await sleep(1000);
  release();
  const [pageA, pageB] = await Promise.all([first, second]);
  expect(pageA.status).toBe(200);
  expect(pageB.status).toBe(200);
  // One refresh in all: B never replayed the refresh token A was using.
  expect(a.counter.count(REFRESH) + b.counter.count(REFRESH)).toBe(1);
  expect(pageB.body.expiresAt).toBe(pageA.body.expiresAt);
  // The grant is intact: the session refreshes again later.
  offset.ms *= 2;
  const later = await profile(b);
  expect(later.status).toBe(200);
  expect(b.counter.count(REFRESH)).toBe(1);
}, 90_000);

test('a RefreshLock without extend() keeps working', async () => {
  const full = redisRefreshLock(redisClient, { prefix: 'plain:' });
  const plain: RefreshLock = { acquire: full.acquire, release: full.release };
  const { a, b, profile } = await twoInstances(plain);
  const [pageA, pageB] = await Promise.all([profile(a), profile(b)]);
  expect(pageA.status).toBe(200);
  expect(pageB.status).toBe(200);
  expect(a.counter.count(REFRESH) + b.counter.count(REFRESH)).toBe(1);
}, 60_000);

/** A session store whose reads can be made to wait (a slow store), through `slow`. */
class SlowStore extends session.MemoryStore {
  slow: (() => Promise<void>) | undefined;

  override get(
    sid: string,
    callback: (err: unknown, session?: session.SessionData | null) => void,
  ) {
    const slow = this.slow;
    if (!slow) return super.get(sid, callback);
    slow().then(
      () => super.get(sid, callback),
      (err: unknown) => callback(err),
    );
  }
}

test('a refresh whose lease is lost before it asks the OP is abandoned: 503, the refresh token unused', async () => {
  const store = new SlowStore();
  const { a, profile } = await twoInstances(
    redisRefreshLock(redisClient, { prefix: 'lost:' }),
    store,
  );
  const locks = () => redisClient.keys('lost:oxd-refresh:*');
  // While the lock is held, the store answers slowly and another owner takes the lock over,
  // as an instance would once the lease had lapsed: the holder's next renewal finds it gone.
  store.slow = async () => {
    const held = await locks();
    if (held.length === 0) return;
    for (const key of held) await redisClient.set(key, 'another-instance');
    await sleep(3000); // past the first renewal, a third of the 6 s lease
  };
  const page = await profile(a);
  expect(page.status).toBe(503);
  expect(a.counter.count(REFRESH)).toBe(0);

  store.slow = undefined;
  await redisClient.del(await locks());
  const later = await profile(a);
  expect(later.status).toBe(200);
  expect(a.counter.count(REFRESH)).toBe(1);
}, 60_000);
