/**
 * guardSession() bounds the wait for the session store: with the Redis recipe of the docs
 * (`disableOfflineQueue: true`), a real `redis-server` stopped with SIGSTOP keeps the
 * connection open and answers nothing, as a network partition does. Each request then
 * answers 503 `OXD_SESSION_STORE_UNAVAILABLE` at the bound instead of hanging, and the
 * answers Redis sends once it resumes never continue those requests nor reach others.
 */
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RedisStore } from 'connect-redis';
import express from 'express';
import session from 'express-session';
import { createClient } from 'redis';
import { ERROR_CODES, guardSession, oxdErrorHandler } from '../../src';
import { startRedis, type RedisServer } from '../helpers/app-instances';
import { capturingLogger } from '../helpers/capture-logger';
import { getOnNewConnection } from '../helpers/fresh-get';

let redis: RedisServer;
let client: ReturnType<typeof createClient>;
let stopped = false;
const logger = capturingLogger();
/** Requests that reached the route, by session. */
const reached: string[] = [];

function appWith(options: Parameters<typeof guardSession>[1]): express.Express {
  const app = express();
  app.use(
    guardSession(
      session({
        store: new RedisStore({ client, prefix: 'sess:' }),
        secret: 'test secret',
        resave: false,
        saveUninitialized: false,
      }),
      options,
    ),
  );
  app.get('/count', (req, res) => {
    const data = req.session as unknown as { count?: number; name?: string };
    data.name ??= String(req.query.name);
    data.count = (data.count ?? 0) + 1;
    reached.push(data.name);
    res.json({ name: data.name, count: data.count });
  });
  app.use(oxdErrorHandler());
  return app;
}

async function listen(app: express.Express): Promise<Server> {
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return server;
}

interface Reply {
  status: number;
  body: Record<string, unknown>;
  cookie?: string;
  ms: number;
}

async function get(server: Server, path: string, cookie?: string): Promise<Reply> {
  const { port } = server.address() as AddressInfo;
  const reply = await getOnNewConnection(port, path, { cookie, timeoutMs: 15000 });
  if (reply.cut !== undefined) throw new Error(reply.cut);
  return {
    status: reply.status ?? 0,
    body: JSON.parse(reply.text) as Record<string, unknown>,
    cookie: reply.cookie,
    ms: reply.ms,
  };
}

function pause(): void {
  process.kill(redis.pid as number, 'SIGSTOP');
  stopped = true;
}

function resume(): void {
  if (!stopped) return;
  process.kill(redis.pid as number, 'SIGCONT');
  stopped = false;
}

beforeAll(async () => {
  redis = await startRedis();
  client = createClient({
    socket: { host: '127.0.0.1', port: redis.port },
    disableOfflineQueue: true,
  });
  client.on('error', () => {});
  await client.connect();
});

afterEach(() => resume());

afterAll(async () => {
  resume();
  client.destroy();
  await redis.stop();
});

test('a stalled Redis: 503 OXD_SESSION_STORE_UNAVAILABLE at the default bound, logged once, and the late answers reach no request', async () => {
  const server = await listen(appWith({ logger }));
  try {
    const alice = await get(server, '/count?name=alice');
    const bob = await get(server, '/count?name=bob');
    expect([alice.body, bob.body]).toEqual([
      { name: 'alice', count: 1 },
      { name: 'bob', count: 1 },
    ]);
    reached.length = 0;

    pause();
    const stalled = await Promise.all([
      get(server, '/count', alice.cookie),
      get(server, '/count', bob.cookie),
    ]);
    for (const reply of stalled) {
      expect(reply.status).toBe(503);
      expect(reply.body.code).toBe(ERROR_CODES.SESSION_STORE_UNAVAILABLE);
      // The default bound is 3 s (slack for a loaded machine, far below a hanging request).
      expect(reply.ms).toBeGreaterThanOrEqual(2900);
      expect(reply.ms).toBeLessThan(9000);
    }
    expect(reached).toEqual([]);
    expect(logger.lines).toEqual([
      [
        'error',
        'express-oxd: session_store failed with OXD_SESSION_STORE_UNAVAILABLE (ETIMEDOUT)',
        {
          code: ERROR_CODES.SESSION_STORE_UNAVAILABLE,
          status: 503,
          operation: 'session_store',
          cause: 'ETIMEDOUT',
        },
      ],
      expect.arrayContaining(['error']),
    ]);

    // Redis resumes and answers the two loads it holds: they are dropped.
    resume();
    const [again, bobAgain] = [
      await get(server, '/count', alice.cookie),
      await get(server, '/count', bob.cookie),
    ];
    expect([again.status, again.body]).toEqual([200, { name: 'alice', count: 2 }]);
    expect([bobAgain.status, bobAgain.body]).toEqual([200, { name: 'bob', count: 2 }]);
    expect(reached).toEqual(['alice', 'bob']);
    expect(logger.lines).toHaveLength(2);
  } finally {
    server.closeAllConnections();
    server.close();
  }
});

test('timeoutMs sets the bound', async () => {
  logger.clear();
  const server = await listen(appWith({ logger, timeoutMs: 300 }));
  try {
    const first = await get(server, '/count?name=carol');
    pause();
    const reply = await get(server, '/count', first.cookie);
    expect(reply.status).toBe(503);
    expect(reply.body.code).toBe(ERROR_CODES.SESSION_STORE_UNAVAILABLE);
    expect(reply.ms).toBeLessThan(2500);
    expect(logger.lines.map(([level, , fields]) => [level, fields.cause])).toEqual([
      ['error', 'ETIMEDOUT'],
    ]);
  } finally {
    resume();
    server.closeAllConnections();
    server.close();
  }
});

test('a bound that is not a whole number of milliseconds is refused, naming the option', () => {
  const middleware = (_req: unknown, _res: unknown, next: () => void) => next();
  expect(() => guardSession(middleware, { timeoutMs: 0 })).toThrow(
    'guardSession option timeoutMs: must be a whole number of milliseconds, 1 or more',
  );
  expect(() => guardSession(middleware, { logger: {} as never })).toThrow(/option logger/);
});
