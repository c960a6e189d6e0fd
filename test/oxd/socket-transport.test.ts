import { connect, createServer, Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import {
  ERROR_CODES,
  OxdBusyError,
  OxdConfigError,
  OxdError,
  OxdProtocolError,
  OxdTimeoutError,
  OxdTransportError,
} from '../../src/errors';
import { encodeFrame } from '../../src/oxd/framing';
import { SocketTransport, type SocketTransportOptions } from '../../src/oxd/socket-transport';
import type { OxdRequest } from '../../src/oxd/transport';
import {
  closeWithoutAnswer,
  echo,
  internalErrorThenClose,
  ok,
  oxdError,
  respond,
  startScriptedOxdServer,
  wait,
  type ReceivedRequest,
  type ScriptedOxdServer,
  type ScriptedOxdServerOptions,
} from '../fixtures/scripted-oxd-server';

const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

async function serve(options: ScriptedOxdServerOptions = {}): Promise<ScriptedOxdServer> {
  const server = await startScriptedOxdServer(options);
  cleanups.push(() => server.close());
  return server;
}

function transportFor(
  server: { port: number } | undefined,
  options: Partial<SocketTransportOptions> = {},
): SocketTransport {
  const transport = new SocketTransport({ host: '127.0.0.1', port: server?.port ?? 1, ...options });
  cleanups.push(() => transport.close());
  return transport;
}

function command(name: string, params: Record<string, unknown> = {}, token?: string): OxdRequest {
  return { command: name, path: name.replace(/_/g, '-'), params, token };
}

/** Resolves with what `promise` rejected with; fails the test if it resolved. */
async function rejection(promise: Promise<unknown>): Promise<OxdError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(OxdError);
    return error as OxdError;
  }
  throw new Error('expected the request to fail, but it succeeded');
}

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const echoed = (request: OxdRequest) => ({
  ok: true,
  data: { command: request.command, params: request.params },
});

describe('SocketTransport answers', () => {
  it('socket - sends one prefixed ASCII frame and returns the ok data', async () => {
    const server = await serve({
      connections: [
        [[respond(ok({ authorization_url: 'https://op.test/authorize?x=1', n: null }))]],
      ],
    });
    const transport = transportFor(server);

    const reply = await transport.send(
      command('get_authorization_url', { oxd_id: 'site-1', scope: ['openid'] }),
    );

    expect(transport.kind).toBe('socket');
    expect(reply).toEqual({
      ok: true,
      data: { authorization_url: 'https://op.test/authorize?x=1', n: null },
    });
    expect(server.connections[0]?.raw.toString('latin1')).toBe(
      encodeFrame({
        command: 'get_authorization_url',
        params: { oxd_id: 'site-1', scope: ['openid'] },
      }),
    );
  });

  it('socket - normalises an error reply and treats null fields as absent', async () => {
    const needInfo = { error: 'need_info', ticket: 'tk-1', redirect_user: 'https://op.test/c' };
    // oxd closes the connection after internal_error, so need_info comes on a second one.
    const server = await serve({
      connections: [
        [
          [respond(oxdError('invalid_oxd_id', 'Invalid oxd_id.'))],
          [respond(oxdError('internal_error'))],
        ],
        [[respond(oxdError('need_info', 'needs claims', needInfo))]],
      ],
    });
    const transport = transportFor(server);

    await expect(transport.send(command('get_rp', { oxd_id: 'x' }))).resolves.toEqual({
      ok: false,
      error: 'invalid_oxd_id',
      error_description: 'Invalid oxd_id.',
      details: undefined,
    });
    const bare = await transport.send(command('get_rp'));
    expect(bare).toEqual({ ok: false, error: 'internal_error' });
    expect(bare).toHaveProperty('error_description', undefined);
    expect(bare).toHaveProperty('details', undefined);
    await expect(transport.send(command('uma_rp_get_rpt'))).resolves.toEqual({
      ok: false,
      error: 'need_info',
      error_description: 'needs claims',
      details: needInfo,
    });
  });

  it('socket - puts the protection token inside params and nowhere else', async () => {
    const server = await serve();
    const transport = transportFor(server);

    await transport.send(
      command('get_user_info', { oxd_id: 'site-1', access_token: 'at' }, 'pat-42'),
    );
    await transport.send(command('get_client_token', { client_id: 'c' }));

    const [withToken, withoutToken] = server.requests;
    expect(withToken?.params).toEqual({
      oxd_id: 'site-1',
      access_token: 'at',
      protection_access_token: 'pat-42',
    });
    expect(withoutToken?.params).toEqual({ client_id: 'c' });
  });

  it('socket - round-trips non-ASCII text, escaped on the way out and raw UTF-8 on the way back', async () => {
    const server = await serve();
    const transport = transportFor(server);
    const request = command('get_user_info', { name: 'Zoë Ωμέγα 東京 😀', note: '\u2028' });

    await expect(transport.send(request)).resolves.toEqual(echoed(request));

    const raw = server.connections[0]?.raw as Buffer;
    expect(raw.every((byte) => byte < 0x80)).toBe(true);
  });

  it('socket - decodes an answer that arrives one byte per write', async () => {
    const body = ok({ claims: { name: ['Zoë 😀'], email: ['zoe@example.test'] } });
    const server = await serve({ connections: [[[respond(body, { writeSize: 1 })]]] });
    const transport = transportFor(server);

    await expect(transport.send(command('get_user_info'))).resolves.toEqual({
      ok: true,
      data: body.data,
    });
  });

  it('socket - answers a 9999-character response', async () => {
    const data = { id_token: '' };
    data.id_token = 'x'.repeat(9999 - JSON.stringify(ok(data)).length);
    expect(JSON.stringify(ok(data))).toHaveLength(9999);
    const server = await serve({ connections: [[[respond(ok(data))]]] });
    const transport = transportFor(server);

    await expect(transport.send(command('get_tokens_by_code'))).resolves.toEqual({
      ok: true,
      data,
    });
  });
});

describe('SocketTransport pool', () => {
  it('socket - reuses one idle connection for sequential requests', async () => {
    const server = await serve();
    const transport = transportFor(server);

    for (const name of ['a', 'b', 'c']) {
      await expect(transport.send(command(name))).resolves.toEqual(echoed(command(name)));
    }
    expect(server.connections).toHaveLength(1);
    expect(server.connections[0]?.requests.map((r) => r.command)).toEqual(['a', 'b', 'c']);
  });

  it('socket - spreads concurrent requests over at most poolSize connections without mixing answers', async () => {
    const server = await serve({ otherwise: [wait(20), ...echo()] });
    const transport = transportFor(server, { poolSize: 3 });
    const requests = Array.from({ length: 12 }, (_, i) => command(`cmd_${i}`, { i }));

    const replies = await Promise.all(requests.map((request) => transport.send(request)));

    expect(replies).toEqual(requests.map(echoed));
    expect(server.connections).toHaveLength(3);
    expect(server.pipelined).toBe(0);
    for (const connection of server.connections)
      expect(connection.requests.length).toBeGreaterThan(0);
  });

  it('socket - queues requests beyond the pool and sends them in order, one at a time', async () => {
    const server = await serve({ otherwise: [wait(10), ...echo()] });
    const transport = transportFor(server, { poolSize: 1 });
    const requests = ['first', 'second', 'third', 'fourth'].map((name) => command(name));

    const replies = await Promise.all(requests.map((request) => transport.send(request)));

    expect(replies).toEqual(requests.map(echoed));
    expect(server.connections).toHaveLength(1);
    expect(server.requests.map((r: ReceivedRequest) => r.command)).toEqual([
      'first',
      'second',
      'third',
      'fourth',
    ]);
    expect(server.pipelined).toBe(0);
  });

  it('socket - does not keep the process alive with idle connections', async () => {
    const server = await serve({ connections: [[[wait(100), ...echo()]]] });
    const sockets: Socket[] = [];
    const transport = transportFor(server, {
      connect: (host, port) => {
        const socket = connect({ host, port });
        sockets.push(socket);
        return socket;
      },
    });
    // Node lists only the handles that keep the event loop alive.
    const keepsAlive = (socket: Socket | undefined) =>
      (process as unknown as { _getActiveHandles(): unknown[] })
        ._getActiveHandles()
        .includes(socket);

    const pending = transport.send(command('slow'));
    await waitFor(() => server.requests.length === 1, 'the request to arrive');
    expect(keepsAlive(sockets[0])).toBe(true);
    await pending;
    expect(keepsAlive(sockets[0])).toBe(false);

    const again = transport.send(command('again'));
    expect(keepsAlive(sockets[0])).toBe(true);
    await again;
    expect(keepsAlive(sockets[0])).toBe(false);
    expect(sockets).toHaveLength(1);
    expect(sockets[0]?.destroyed).toBe(false);
  });
});

describe('SocketTransport timeouts', () => {
  it('socket - times out a slow answer and gives the next request its own answer', async () => {
    // Connection 0 answers 150 ms after the timeout: had it been reused, that late answer
    // would reach the next request.
    const server = await serve({ connections: [[[wait(450), respond(ok({ late: true }))]]] });
    const transport = transportFor(server, { responseTimeoutMs: 300 });

    const error = await rejection(transport.send(command('get_tokens_by_code')));
    expect(error).toBeInstanceOf(OxdTimeoutError);
    expect(error.code).toBe(ERROR_CODES.RESPONSE_TIMEOUT);
    expect((error as OxdTimeoutError).timeoutMs).toBe(300);
    expect(error.message).toContain(`127.0.0.1:${server.port}`);
    expect(error.message).toContain('get_tokens_by_code');

    const next = command('get_user_info', { n: 2 });
    await expect(transport.send(next)).resolves.toEqual(echoed(next));
    await new Promise((resolve) => setTimeout(resolve, 300));
    await expect(transport.send(next)).resolves.toEqual(echoed(next));
    expect(server.connections).toHaveLength(2);
    expect(server.connections[0]?.closed).toBe(true);
    expect(server.connections[1]?.requests).toHaveLength(2);
  });

  it('socket - fails with OXD_CONNECT_TIMEOUT when the connection never completes', async () => {
    const sockets: Socket[] = [];
    const transport = transportFor(undefined, {
      port: 8099,
      connectTimeoutMs: 100,
      connect: () => {
        const socket = new Socket();
        sockets.push(socket);
        return socket;
      },
    });

    const error = await rejection(transport.send(command('get_rp')));

    expect(error).toBeInstanceOf(OxdTimeoutError);
    expect(error.code).toBe(ERROR_CODES.CONNECT_TIMEOUT);
    expect((error as OxdTimeoutError).timeoutMs).toBe(100);
    expect(error.message).toContain('127.0.0.1:8099');
    expect(error.message).toMatch(/oxd-server is running/);
    expect(sockets).toHaveLength(1);
    expect(sockets[0]?.destroyed).toBe(true);
  });
});

describe('SocketTransport deadlines and queue bound', () => {
  /** Sends `request` and settles with how long after asking it failed, and with what. */
  async function timedFailure(transport: SocketTransport, request: OxdRequest) {
    const askedAt = performance.now();
    const error = await rejection(transport.send(request));
    return { error, ms: performance.now() - askedAt };
  }

  it('socket - with oxd stalled, each queued command fails within its own deadline from when it was asked', async () => {
    // A server that reads every request and never answers.
    const server = await serve({ otherwise: [] });
    const transport = transportFor(server, { poolSize: 1, responseTimeoutMs: 1000 });

    const failures = await Promise.all(
      [1, 2, 3, 4, 5].map((n) => timedFailure(transport, command(`get_user_info_${n}`))),
    );

    for (const [index, { error, ms }] of failures.entries()) {
      expect(error).toBeInstanceOf(OxdTimeoutError);
      expect(error.code).toBe(ERROR_CODES.RESPONSE_TIMEOUT);
      expect(error.status).toBe(504);
      expect(error.message).toContain(`get_user_info_${index + 1}`);
      expect(ms).toBeGreaterThanOrEqual(990);
      expect(ms).toBeLessThan(1500);
    }
    // Only the first command ever reached oxd over the one connection; the others timed out
    // while waiting for it and say so.
    expect(server.requests.map((r) => r.command)).toEqual(['get_user_info_1']);
    for (const { error } of failures.slice(1)) expect(error.message).toMatch(/free connection/);
  });

  it('socket - a command that waited in the queue gets only what is left of its deadline', async () => {
    // The first answer takes 600 ms; the second command, asked at the same time, then has
    // 400 ms left of its 1000 ms, while oxd needs 600 ms again.
    const server = await serve({ otherwise: [wait(600), ...echo()] });
    const transport = transportFor(server, { poolSize: 1, responseTimeoutMs: 1000 });

    const first = transport.send(command('first'));
    const second = timedFailure(transport, command('second'));

    await expect(first).resolves.toEqual(echoed(command('first')));
    const { error, ms } = await second;
    expect(error.code).toBe(ERROR_CODES.RESPONSE_TIMEOUT);
    expect(ms).toBeGreaterThanOrEqual(990);
    expect(ms).toBeLessThan(1500);
  });

  it('socket - a full queue refuses at once with OXD_BUSY (503), and frees up as commands finish', async () => {
    const server = await serve({ connections: [[[wait(800), ...echo()]]], otherwise: echo() });
    const transport = transportFor(server, {
      poolSize: 1,
      maxQueued: 2,
      responseTimeoutMs: 5000,
    });

    const accepted = ['running', 'queued_1', 'queued_2'].map((name) =>
      transport.send(command(name)),
    );
    const refused = await timedFailure(transport, command('one_too_many'));

    expect(refused.ms).toBeLessThan(100);
    expect(refused.error).toBeInstanceOf(OxdBusyError);
    expect(refused.error.code).toBe(ERROR_CODES.BUSY);
    expect(refused.error.code).toBe('OXD_BUSY');
    expect(refused.error.status).toBe(503);
    expect((refused.error as OxdBusyError).queueLimit).toBe(2);
    expect(refused.error.message).toContain('one_too_many');
    expect(refused.error.message).toMatch(/retry later/);
    expect(server.requests.map((r) => r.command)).not.toContain('one_too_many');

    // The accepted ones all get their answers, and afterwards the queue takes commands again.
    await expect(Promise.all(accepted)).resolves.toEqual(
      ['running', 'queued_1', 'queued_2'].map((name) => echoed(command(name))),
    );
    await expect(transport.send(command('later'))).resolves.toEqual(echoed(command('later')));
  });

  it('socket - maxQueued 0 refuses whenever every connection is busy', async () => {
    const server = await serve({ connections: [[[wait(300), ...echo()]]] });
    const transport = transportFor(server, { poolSize: 1, maxQueued: 0 });

    const running = transport.send(command('running'));
    const refused = await timedFailure(transport, command('refused'));

    expect(refused.error.code).toBe(ERROR_CODES.BUSY);
    expect(refused.ms).toBeLessThan(100);
    await expect(running).resolves.toEqual(echoed(command('running')));
  });
});

describe('SocketTransport broken connections', () => {
  it('socket - reports a refused connection with host:port, a hint and the cause', async () => {
    const closedPort = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as { port: number };
        probe.close(() => resolve(port));
      });
    });
    const transport = transportFor({ port: closedPort });

    const error = await rejection(transport.send(command('register_site')));

    expect(error).toBeInstanceOf(OxdTransportError);
    expect(error.code).toBe(ERROR_CODES.TRANSPORT_FAILED);
    expect(error.message).toContain(`127.0.0.1:${closedPort}`);
    expect(error.message).toMatch(/check that oxd-server is running/);
    expect((error.cause as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
  });

  it('socket - reports a connection reset mid-request, then recovers on a new connection', async () => {
    const server = await serve({ connections: [[[{ type: 'reset' }]]] });
    const transport = transportFor(server);

    const error = await rejection(transport.send(command('get_user_info')));
    expect(error).toBeInstanceOf(OxdTransportError);
    expect(error.message).toContain(`127.0.0.1:${server.port}`);
    expect(error.message).toMatch(/oxd-server is running/);
    expect((error.cause as NodeJS.ErrnoException).code).toBe('ECONNRESET');

    await expect(transport.send(command('get_rp'))).resolves.toEqual(echoed(command('get_rp')));
    expect(server.connections).toHaveLength(2);
  });

  it('socket - reports a connection dropped in the middle of an answer', async () => {
    const server = await serve({
      connections: [[[{ type: 'raw', data: '0040{"status":"ok","da' }, { type: 'end' }]]],
    });
    const transport = transportFor(server);

    const error = await rejection(transport.send(command('get_user_info')));

    expect(error).toBeInstanceOf(OxdTransportError);
    expect(error.message).toMatch(/middle of the answer/);
    expect(error.message).toContain(`127.0.0.1:${server.port}`);
    expect(error.message).toMatch(/oxd-server is running/);
    await expect(transport.send(command('get_rp'))).resolves.toEqual(echoed(command('get_rp')));
  });

  it('socket - explains a close without any answer as a response probably too large for the socket', async () => {
    const huge = { id_token: 'e'.repeat(10_000) };
    const server = await serve({ connections: [[[respond(ok(huge))]], [closeWithoutAnswer()]] });
    const transport = transportFor(server);

    for (const name of ['get_tokens_by_code', 'get_user_info']) {
      const error = await rejection(transport.send(command(name)));
      expect(error).toBeInstanceOf(OxdTransportError);
      expect(error.message).toContain(name);
      expect(error.message).toContain(`127.0.0.1:${server.port}`);
      expect(error.message).toMatch(/probably larger than the 9999-character limit/);
      expect(error.message).toMatch(/HTTPS transport/);
    }
    expect(server.connections).toHaveLength(2);
  });

  it('socket - returns internal_error normally and sends the next request on a fresh connection', async () => {
    const server = await serve({ connections: [[[...echo()], [...internalErrorThenClose()]]] });
    const transport = transportFor(server);

    await expect(transport.send(command('get_rp'))).resolves.toEqual(echoed(command('get_rp')));
    await expect(transport.send(command('get_tokens_by_code'))).resolves.toEqual({
      ok: false,
      error: 'internal_error',
      error_description: 'Unknown internal server error occurs.',
      details: undefined,
    });
    const next = command('get_authorization_url', { oxd_id: 'site-1' });
    await expect(transport.send(next)).resolves.toEqual(echoed(next));

    expect(server.connections).toHaveLength(2);
    expect(server.connections[1]?.requests.map((r) => r.command)).toEqual([
      'get_authorization_url',
    ]);
  });

  it('socket - replaces an idle connection that oxd-server closed', async () => {
    const server = await serve({ connections: [[[...echo(), { type: 'end' }]]] });
    const transport = transportFor(server);

    await transport.send(command('get_rp'));
    await waitFor(() => server.connections[0]?.closed === true, 'the idle connection to close');

    await expect(transport.send(command('get_rp'))).resolves.toEqual(echoed(command('get_rp')));
    expect(server.connections).toHaveLength(2);
  });
});

describe('SocketTransport protocol errors', () => {
  it.each<[string, ScriptedOxdServerOptions['otherwise'], RegExp]>([
    [
      'a bad length prefix',
      [{ type: 'raw', data: 'HTTP/1.1 400 Bad Request\r\n\r\n' }],
      /bad frame/,
    ],
    ['a zero length prefix', [{ type: 'raw', data: '0000' }], /bad frame/],
    ['a frame that is not JSON', [{ type: 'raw', data: '0009{status:}' }], /not JSON/],
    ['JSON without status', [respond({ data: {} })], /not an oxd/],
    ['an unknown status', [respond({ status: 'fine', data: {} })], /not an oxd/],
    ['data that is not an object', [respond({ status: 'ok', data: [1, 2] })], /not an oxd/],
    [
      'an error without an error code',
      [respond({ status: 'error', data: { error_description: 'x' } })],
      /not an oxd/,
    ],
    [
      'two responses to one request',
      [{ type: 'respondMany', bodies: [ok({ n: 1 }), ok({ n: 2 })] }],
      /more than one response/,
    ],
    [
      'bytes after the response',
      [{ type: 'raw', data: '0025{"status":"ok","data":{}}00' }],
      /more than one response/,
    ],
  ])(
    'socket - rejects %s with OXD_PROTOCOL_ERROR and discards the connection',
    async (_, step, message) => {
      const server = await serve({ connections: [[step ?? []]] });
      const transport = transportFor(server);

      const error = await rejection(transport.send(command('get_user_info')));

      expect(error).toBeInstanceOf(OxdProtocolError);
      expect(error.code).toBe(ERROR_CODES.PROTOCOL_ERROR);
      expect(error.message).toMatch(message);
      expect(error.message).toContain(`127.0.0.1:${server.port}`);
      await waitFor(() => server.connections[0]?.closed === true, 'the connection to be discarded');
      await expect(transport.send(command('get_rp'))).resolves.toEqual(echoed(command('get_rp')));
      expect(server.connections).toHaveLength(2);
    },
  );

  it('socket - discards a connection that sends a frame while no request is pending', async () => {
    const server = await serve({
      connections: [[[...echo(), wait(30), respond(ok({ unsolicited: true }))]]],
    });
    const transport = transportFor(server);

    await expect(transport.send(command('get_rp'))).resolves.toEqual(echoed(command('get_rp')));
    await waitFor(() => server.connections[0]?.closed === true, 'the connection to be discarded');

    const next = command('get_user_info');
    await expect(transport.send(next)).resolves.toEqual(echoed(next));
    expect(server.connections).toHaveLength(2);
  });

  it('socket - rejects a request over 9999 characters before sending it, leaving the connection intact', async () => {
    const server = await serve();
    const transport = transportFor(server);
    await transport.send(command('get_rp'));

    const error = await rejection(
      transport.send(command('uma_rs_protect', { resources: 'r'.repeat(10_000) })),
    );
    expect(error).toBeInstanceOf(OxdProtocolError);
    expect(error.code).toBe(ERROR_CODES.FRAME_TOO_LARGE);
    expect(error.message).toContain('uma_rs_protect');
    expect(error.message).toMatch(/HTTPS transport/);

    await expect(transport.send(command('get_rp'))).resolves.toEqual(echoed(command('get_rp')));
    expect(server.connections).toHaveLength(1);
    expect(server.requests.map((r) => r.command)).toEqual(['get_rp', 'get_rp']);
  });
});

describe('SocketTransport close', () => {
  it('socket - close rejects pending and queued requests and every later send with OXD_CLIENT_CLOSED', async () => {
    const server = await serve({ otherwise: [] });
    const transport = transportFor(server, { poolSize: 1 });

    const pending = rejection(transport.send(command('get_rp')));
    const queued = rejection(transport.send(command('get_user_info')));
    await waitFor(() => server.requests.length === 1, 'the first request to arrive');
    await transport.close();

    const later = rejection(transport.send(command('get_rp')));
    for (const error of await Promise.all([pending, queued, later])) {
      expect(error.code).toBe(ERROR_CODES.CLIENT_CLOSED);
    }
    await waitFor(() => server.connections[0]?.closed === true, 'the connection to close');
    expect(server.requests).toHaveLength(1);
    await transport.close();
  });

  it('socket - close destroys idle connections', async () => {
    const server = await serve();
    const transport = transportFor(server, { poolSize: 2 });
    await Promise.all([transport.send(command('a')), transport.send(command('b'))]);

    await transport.close();

    await waitFor(
      () => server.connections.length === 2 && server.connections.every((c) => c.closed),
      'both connections to close',
    );
  });
});

describe('SocketTransport options', () => {
  it.each<[string, Partial<SocketTransportOptions>]>([
    ['host', { host: '' }],
    ['port', { port: 0 }],
    ['port', { port: 70000 }],
    ['poolSize', { poolSize: 0 }],
    ['poolSize', { poolSize: 1.5 }],
    ['connectTimeoutMs', { connectTimeoutMs: -1 }],
    ['responseTimeoutMs', { responseTimeoutMs: Number.NaN }],
    ['responseTimeoutMs', { responseTimeoutMs: 2 ** 31 }],
    ['maxQueued', { maxQueued: -1 }],
    ['maxQueued', { maxQueued: 2.5 }],
  ])('socket - rejects an invalid %s option naming it', (key, options) => {
    let caught: unknown;
    try {
      new SocketTransport({ host: '127.0.0.1', port: 8099, ...options });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(OxdConfigError);
    expect((caught as OxdConfigError).key).toBe(key);
    expect((caught as OxdConfigError).message).toContain(key);
  });
});
