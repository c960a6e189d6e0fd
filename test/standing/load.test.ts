/**
 * Load: a burst of full logins at once (200 under CI, 25 locally) through the middleware
 * against the local OP and oxd, each signing in on the OP's real login form. Every login
 * succeeds, the site is registered exactly once, and the heap after garbage collection
 * comes back near where it started once the sessions are gone (a second burst shows no
 * growth per login).
 */
import { createServer, type Server } from 'node:http';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import session from 'express-session';
import request from 'supertest';
import { oxdAuth, type OxdAuthHandler } from '../../src';
import { resolveConfig } from '../../src/config/resolve';
import { OxdClient } from '../../src/oxd/client';
import { HttpsTransport } from '../../src/oxd/https-transport';
import { SocketTransport } from '../../src/oxd/socket-transport';
import { useLocalStack } from '../helpers/local-stack';
import { buildApp } from '../fixtures/apps';
import { configFor, CountingTransport, HTML, logIn } from '../helpers/stack-fixture';

const LOGINS = process.env.CI ? 200 : 25;
const MB = 1024 * 1024;

/** `global.gc` when node runs with --expose-gc, otherwise the same function obtained at run time. */
function collector(): () => void {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (existing) return existing;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

const gc = collector();

async function heapAfterGc(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
  return process.memoryUsage().heapUsed;
}

const stack = useLocalStack();

describe.each(['socket', 'https4'] as const)('%s', (kind) => {
  let server: Server;
  let auth: OxdAuthHandler;
  let counter: CountingTransport;
  let store: session.MemoryStore;

  beforeAll(async () => {
    const timeouts = { connectTimeoutMs: 10_000, responseTimeoutMs: 60_000 };
    // The socket transport's default queue holds the burst: each login waits at most its
    // deadline. The HTTPS transport has no such queue.
    counter = new CountingTransport(
      kind === 'socket'
        ? new SocketTransport({
            host: stack.oxd.host,
            port: stack.oxd.port,
            ...timeouts,
          })
        : new HttpsTransport({
            baseUrl: stack.oxd.httpsUrl,
            serverVersion: 4,
            ca: stack.oxd.ca,
            ...timeouts,
          }),
    );
    // A client that has not registered yet: the burst's first login registers the site.
    const client = new OxdClient(resolveConfig(configFor(stack, kind)), {
      transport: counter,
      writeBack: false,
    });
    auth = oxdAuth({ config: configFor(stack, kind), client });
    store = new session.MemoryStore();
    server = createServer(buildApp('express5', auth, { store }));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });

  afterAll(async () => {
    await auth.client.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  /** LOGINS full logins at once; returns how many ended logged in. */
  async function burst(): Promise<number> {
    const results = await Promise.all(
      Array.from({ length: LOGINS }, async () => {
        const agent = request.agent(server);
        const done = await logIn(agent, stack);
        if (done.status !== 302 || done.headers.location !== '/') return false;
        const me = await agent.get('/api/me').set('Accept', 'application/json');
        return me.status === 200 && me.body.sub !== undefined;
      }),
    );
    return results.filter(Boolean).length;
  }

  function clearSessions(): Promise<void> {
    return new Promise((resolve, reject) => store.clear((err) => (err ? reject(err) : resolve())));
  }

  test(`${LOGINS} concurrent full logins all succeed, register once, and leave the heap where it was`, async () => {
    const start = await heapAfterGc();
    const began = Date.now();

    expect(await burst()).toBe(LOGINS);
    const firstMs = Date.now() - began;
    expect(counter.count('register_site')).toBe(1);
    expect(counter.count('get_tokens_by_code')).toBe(LOGINS);
    if (kind === 'https4') expect(counter.count('get_client_token')).toBe(1);
    await clearSessions();
    const afterFirst = await heapAfterGc();

    expect(await burst()).toBe(LOGINS);
    expect(counter.count('register_site')).toBe(1);
    await clearSessions();
    const afterSecond = await heapAfterGc();

    process.stdout.write(
      `load ${kind}: ${2 * LOGINS} logins in two bursts of ${LOGINS} (first burst ${firstMs} ms), ` +
        `1 registration; heap after GC ${(start / MB).toFixed(1)} MB at start, ` +
        `${(afterFirst / MB).toFixed(1)} MB after the first burst, ${(afterSecond / MB).toFixed(1)} MB after the second\n`,
    );
    // Back near the start (module code and caches warmed by the first burst stay), and no
    // growth from one burst to the next: well under 20 kB per login.
    expect(afterFirst - start).toBeLessThan(24 * MB);
    expect(afterSecond - afterFirst).toBeLessThan(Math.max(4 * MB, LOGINS * 20 * 1024));
  }, 300_000);

  test('the app still serves a login afterwards', async () => {
    const agent = request.agent(server);
    expect((await logIn(agent, stack)).status).toBe(302);
    expect((await agent.get('/profile').set('Accept', HTML)).status).toBe(200);
  }, 60_000);
});
