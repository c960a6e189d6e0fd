/**
 * guardSession(): a session store that fails answers 503 OXD_SESSION_STORE_UNAVAILABLE when the
 * session cannot be loaded, and a save that fails after the response has started never cuts
 * the response off. The store here fails on demand: a real Redis cannot be made to fail
 * between a request's load and its save at a chosen moment (the instances suite restarts a
 * real one mid-run).
 */
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import session from 'express-session';
import { ERROR_CODES, guardSession, oxdErrorHandler } from '../../src';
import { capturingLogger } from '../helpers/capture-logger';
import { getOnNewConnection } from '../helpers/fresh-get';

const logger = capturingLogger();
beforeEach(() => logger.clear());

class FlakyStore extends session.MemoryStore {
  failGet = false;
  failSet = false;
  override get(
    sid: string,
    callback: (err: unknown, session?: session.SessionData | null) => void,
  ) {
    if (this.failGet) return callback(new Error('connect ECONNREFUSED 127.0.0.1:6379'));
    return super.get(sid, callback);
  }
  override set(sid: string, data: session.SessionData, callback?: (err?: unknown) => void) {
    if (this.failSet) return callback?.(new Error('connect ECONNREFUSED 127.0.0.1:6379'));
    return super.set(sid, data, callback);
  }
}

let server: Server;
let store: FlakyStore;

beforeAll(async () => {
  store = new FlakyStore();
  const app = express();
  app.use(
    guardSession(
      session({ store, secret: 'test secret', resave: false, saveUninitialized: false }),
      { logger },
    ),
  );
  app.get('/count', (req, res) => {
    const data = req.session as unknown as { count?: number };
    data.count = (data.count ?? 0) + 1;
    res.json({ count: data.count });
  });
  // A body larger than the socket buffers: part of it is still queued when the save fails.
  const big = 'x'.repeat(8 * 1024 * 1024);
  app.get('/big', (req, res) => {
    const data = req.session as unknown as { count?: number };
    data.count = (data.count ?? 0) + 1;
    res.type('text/plain').send(big);
  });
  app.use(oxdErrorHandler());
  server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

/** A GET over a fresh connection: status, body and whether the connection was cut. */
async function get(path: string, cookie?: string) {
  const { port } = server.address() as AddressInfo;
  const { status, text, cookie: set, cut } = await getOnNewConnection(port, path, { cookie });
  return { status, body: text, cookie: set, cut };
}

test('a store that cannot load the session answers 503 OXD_SESSION_STORE_UNAVAILABLE', async () => {
  const first = await get('/count');
  expect(first.status).toBe(200);
  store.failGet = true;
  try {
    const down = await get('/count', first.cookie);
    expect(down.cut).toBeUndefined();
    expect(down.status).toBe(503);
    expect(JSON.parse(down.body).code).toBe(ERROR_CODES.SESSION_STORE_UNAVAILABLE);
    // Logged once, by guardSession, with the class of what failed: not its message.
    expect(logger.summary()).toEqual([
      ['error', ERROR_CODES.SESSION_STORE_UNAVAILABLE, 'session_store', 503, 'Error'],
    ]);
    expect(JSON.stringify(logger.lines)).not.toContain('6379');
  } finally {
    store.failGet = false;
  }
});

test('a save that fails after the response started leaves the response whole', async () => {
  const first = await get('/count');
  expect(JSON.parse(first.body)).toEqual({ count: 1 });
  store.failSet = true;
  try {
    for (let i = 0; i < 5; i += 1) {
      const answer = await get('/count', first.cookie);
      expect(answer.cut).toBeUndefined();
      expect(answer.status).toBe(200);
      // The change could not be stored, so each request sees the stored count.
      expect(JSON.parse(answer.body)).toEqual({ count: 2 });
    }
  } finally {
    store.failSet = false;
  }
  store.failSet = true;
  try {
    const big = await get('/big', first.cookie);
    expect(big.cut).toBeUndefined();
    expect(big.status).toBe(200);
    expect(big.body.length).toBe(8 * 1024 * 1024);
  } finally {
    store.failSet = false;
  }
  // Each failed save is a warning: the response was served.
  expect(logger.summary()).toEqual(
    Array.from({ length: 6 }, () => [
      'warn',
      ERROR_CODES.SESSION_STORE_UNAVAILABLE,
      'session_store',
      undefined,
      'Error',
    ]),
  );
  // Once the store works again, so do the saves.
  expect(JSON.parse((await get('/count', first.cookie)).body)).toEqual({ count: 2 });
  expect(JSON.parse((await get('/count', first.cookie)).body)).toEqual({ count: 3 });
});
