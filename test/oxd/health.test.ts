/**
 * Health and shutdown: `client.ping()` and the `oxdReadiness()` route answer from the local
 * oxd (socket and HTTPS) within a short timeout, say "not ready" when oxd is stalled or gone
 * long before the commands' `response_timeout`, and once the client is closing; a draining
 * `close()` lets the commands already asked finish while refusing new ones.
 */
import { createServer as createNetServer } from 'node:net';
import { createServer, type Server } from 'node:http';
import request from 'supertest';
import { createOxdClient, ERROR_CODES, oxdReadiness, type OxdClient } from '../../src';
import { OxdError } from '../../src/errors';
import {
  ok,
  respond,
  startScriptedOxdServer,
  wait,
  type ScriptedOxdServer,
} from '../fixtures/scripted-oxd-server';
import { useLocalStack } from '../helpers/local-stack';

const CLIENT = { authorizationRedirectUri: 'https://rp.example.test/callback' };

const stack = useLocalStack();
const clients: OxdClient[] = [];
const servers: ScriptedOxdServer[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

function socketClient(port: number, oxd: Record<string, unknown> = {}): OxdClient {
  const client = createOxdClient(
    { oxd: { host: '127.0.0.1', port, ...oxd }, client: CLIENT },
    { writeBack: false },
  );
  clients.push(client);
  return client;
}

async function failure(promise: Promise<unknown>): Promise<OxdError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  if (!(error instanceof OxdError)) throw new Error(`expected an OxdError, got ${String(error)}`);
  return error;
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('client.ping()', () => {
  test('the local oxd over the socket and over HTTPS answers, before any registration', async () => {
    const socket = socketClient(stack.oxd.port);
    await expect(socket.ping({ timeoutMs: 2000 })).resolves.toEqual(expect.any(Number));
    expect(socket.oxdId).toBeUndefined();
    // The local oxd serves its 3.x dialect under /v3 but its health check at the root only,
    // as oxd-server 4.x does: the 4.x base URL is the one to probe here.
    const https = createOxdClient(
      {
        oxd: { host: stack.oxd.httpsUrl, https: true, serverVersion: 4, ca: stack.oxd.ca },
        client: CLIENT,
      },
      { writeBack: false },
    );
    clients.push(https);
    await expect(https.ping()).resolves.toEqual(expect.any(Number));
    expect(https.oxdId).toBeUndefined();
  });

  test('a stalled oxd fails the ping at its short timeout, not at response_timeout', async () => {
    const stalled = await startScriptedOxdServer({ otherwise: [] });
    servers.push(stalled);
    const client = socketClient(stalled.port, { responseTimeoutMs: 30_000 });
    const started = Date.now();
    const error = await failure(client.ping({ timeoutMs: 300 }));
    expect(error.code).toBe(ERROR_CODES.RESPONSE_TIMEOUT);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  test('oxd not running fails the ping with OXD_TRANSPORT_FAILED', async () => {
    const client = socketClient(await closedPort());
    expect((await failure(client.ping())).code).toBe(ERROR_CODES.TRANSPORT_FAILED);
  });
});

describe('oxdReadiness()', () => {
  async function serve(client: OxdClient): Promise<Server> {
    const server = createServer(oxdReadiness(client, { timeoutMs: 300 }));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return server;
  }
  const close = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()));

  test('200 while oxd answers; 503 when it is stalled; 503 closing once close() began', async () => {
    const up = socketClient(stack.oxd.port);
    const upServer = await serve(up);
    const stalled = await startScriptedOxdServer({ otherwise: [] });
    servers.push(stalled);
    const down = socketClient(stalled.port);
    const downServer = await serve(down);
    try {
      const ready = await request(upServer).get('/ready');
      expect(ready.status).toBe(200);
      expect(ready.body).toMatchObject({ status: 'ready', oxdMs: expect.any(Number) });
      expect(ready.headers['cache-control']).toBe('no-store');
      const unavailable = await request(downServer).get('/ready');
      expect(unavailable.status).toBe(503);
      expect(unavailable.body).toEqual({
        status: 'unavailable',
        code: ERROR_CODES.RESPONSE_TIMEOUT,
      });
      await up.close({ drain: true });
      const closing = await request(upServer).get('/ready');
      expect(closing.status).toBe(503);
      expect(closing.body).toEqual({ status: 'closing' });
    } finally {
      await Promise.all([close(upServer), close(downServer)]);
    }
  });
});

describe('graceful shutdown: close({ drain: true })', () => {
  test('commands already asked finish; a command asked after close() began is refused at once', async () => {
    const slow = await startScriptedOxdServer({
      otherwise: [
        wait(200),
        respond(ok({ authorization_url: 'https://op.example.test/authorize' })),
      ],
    });
    servers.push(slow);
    const client = socketClient(slow.port, { oxdId: 'site-1', poolSize: 1 });
    const asked = Array.from({ length: 5 }, () => client.getAuthorizationUrl({}));
    const closed = client.close({ drain: true });
    const late = await failure(client.getAuthorizationUrl({}));
    expect(late.code).toBe(ERROR_CODES.CLIENT_CLOSED);
    const results = await Promise.all(asked);
    expect(results.map((result) => result.authorization_url)).toEqual(
      Array(5).fill('https://op.example.test/authorize'),
    );
    await closed;
    expect(slow.requests).toHaveLength(5);
  });

  test('close() without drain fails the commands still waiting', async () => {
    const slow = await startScriptedOxdServer({
      otherwise: [
        wait(200),
        respond(ok({ authorization_url: 'https://op.example.test/authorize' })),
      ],
    });
    servers.push(slow);
    const client = socketClient(slow.port, { oxdId: 'site-1', poolSize: 1 });
    const asked = Array.from({ length: 3 }, () => failure(client.getAuthorizationUrl({})));
    await client.close();
    for (const error of await Promise.all(asked)) {
      expect(error.code).toBe(ERROR_CODES.CLIENT_CLOSED);
    }
  });
});
