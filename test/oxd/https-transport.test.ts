import { once } from 'node:events';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { Agent, MockAgent } from 'undici';
import { ERROR_CODES, OxdConfigError, OxdError, OxdProtocolError } from '../../src/errors';
import { HttpsTransport, type HttpsTransportOptions } from '../../src/oxd/https-transport';
import type { OxdRequest } from '../../src/oxd/transport';
import { selfSignedCert, type TestCertificate } from '../fixtures/tls';

interface Recorded {
  method: string | undefined;
  url: string | undefined;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  remotePort?: number | undefined;
}

interface Scripted {
  status: number;
  body: string;
  remotePort?: number | undefined;
  contentType?: string;
}

let cert: TestCertificate;
let server: Server;
let port: number;
let recorded: Recorded[] = [];
let connections = 0;
let next: Scripted = { status: 200, body: '{}' };
const transports: HttpsTransport[] = [];

beforeAll(async () => {
  cert = await selfSignedCert();
  server = createServer({ cert: cert.cert, key: cert.key }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      recorded.push({
        method: req.method,
        url: req.url,
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        remotePort: req.socket.remotePort,
      });
      res.writeHead(next.status, { 'content-type': next.contentType ?? 'application/json' });
      res.end(next.body);
    });
  });
  server.on('secureConnection', () => {
    connections += 1;
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server.closeAllConnections();
  server.close();
  await once(server, 'close');
});

beforeEach(() => {
  recorded = [];
  next = { status: 200, body: '{}' };
});

afterEach(async () => {
  await Promise.all(transports.splice(0).map((t) => t.close()));
});

function transport(overrides: Partial<HttpsTransportOptions> = {}): HttpsTransport {
  const t = new HttpsTransport({
    baseUrl: `https://127.0.0.1:${port}`,
    serverVersion: 4,
    ca: cert.cert,
    connectTimeoutMs: 5000,
    responseTimeoutMs: 10000,
    ...overrides,
  });
  transports.push(t);
  return t;
}

const AUTH_URL: OxdRequest = {
  command: 'get_authorization_url',
  path: 'get-authorization-url',
  params: { oxd_id: 'site-1', scope: ['openid', 'profile'] },
  token: 'tok-123',
};

function answer(status: number, body: unknown, contentType?: string): void {
  next = {
    status,
    body: typeof body === 'string' ? body : JSON.stringify(body),
    ...(contentType ? { contentType } : {}),
  };
}

describe('HttpsTransport request', () => {
  test('request - posts the params as JSON to the dashed path with a Bearer token', async () => {
    answer(200, { authorization_url: 'https://op/authorize' });
    await transport().send(AUTH_URL);
    expect(recorded).toHaveLength(1);
    const [req] = recorded;
    expect(req?.method).toBe('POST');
    expect(req?.url).toBe('/get-authorization-url');
    expect(req?.headers['content-type']).toBe('application/json');
    expect(req?.headers.accept).toBe('application/json');
    expect(req?.headers.authorization).toBe('Bearer tok-123');
    expect(req?.body).toBe('{"oxd_id":"site-1","scope":["openid","profile"]}');
  });

  test('request - sends no Authorization header when there is no token', async () => {
    await transport().send({ command: 'get_client_token', path: 'get-client-token', params: {} });
    expect(recorded[0]?.headers.authorization).toBeUndefined();
    expect(recorded[0]?.body).toBe('{}');
  });

  test('request - prepends https:// to a bare host and keeps a base path without doubling slashes', async () => {
    answer(200, { status: 'ok', data: { oxd_id: 'x' } });
    await transport({ baseUrl: `127.0.0.1:${port}/v3/`, serverVersion: 3 }).send({
      command: 'remove_site',
      path: '/remove-site',
      params: { oxd_id: 'x' },
    });
    expect(recorded[0]?.url).toBe('/v3/remove-site');
  });

  test('request - reuses keep-alive connections for consecutive commands', async () => {
    const before = connections;
    const t = transport();
    for (let i = 0; i < 4; i += 1) await t.send(AUTH_URL);
    expect(recorded).toHaveLength(4);
    expect(connections - before).toBeLessThan(4);
    expect(new Set(recorded.map((r) => r.remotePort)).size).toBe(connections - before);
  });

  test('request - rejects a base URL that is not https', () => {
    expect(() => transport({ baseUrl: 'http://127.0.0.1:8443' })).toThrow(OxdConfigError);
    expect(() => transport({ baseUrl: 'http://127.0.0.1:8443' })).toThrow(/only speaks https/);
  });
});

describe('HttpsTransport 3.x envelope', () => {
  const v3 = () => transport({ serverVersion: 3 });

  test('v3 - unwraps status ok data', async () => {
    answer(200, { status: 'ok', data: { authorization_url: 'https://op/a' } });
    await expect(v3().send(AUTH_URL)).resolves.toEqual({
      ok: true,
      data: { authorization_url: 'https://op/a' },
    });
  });

  test('v3 - reads status error on HTTP 200 as an oxd error and drops null details', async () => {
    answer(200, {
      status: 'error',
      data: { error: 'invalid_oxd_id', error_description: 'Invalid oxd_id.', details: null },
    });
    await expect(v3().send(AUTH_URL)).resolves.toEqual({
      ok: false,
      error: 'invalid_oxd_id',
      error_description: 'Invalid oxd_id.',
      details: undefined,
      httpStatus: 200,
    });
  });

  test('v3 - keeps need_info details from the envelope', async () => {
    const details = { error: 'need_info', ticket: 't-2', redirect_user: 'https://as/claims' };
    answer(200, {
      status: 'error',
      data: { error: 'need_info', error_description: 'more', details },
    });
    const reply = await v3().send(AUTH_URL);
    expect(reply).toMatchObject({ ok: false, error: 'need_info', details });
  });

  test('v3 - unwraps the envelope serialised inside a Dropwizard 403 message', async () => {
    answer(403, {
      code: 403,
      message:
        '{"status":"error","data":{"error":"403","error_description":"Forbidden Access","details":null}}',
    });
    await expect(v3().send(AUTH_URL)).resolves.toEqual({
      ok: false,
      error: '403',
      error_description: 'Forbidden Access',
      details: undefined,
      httpStatus: 403,
    });
  });

  test('v3 - reads an envelope sent with an error status', async () => {
    answer(403, {
      status: 'error',
      data: { error: '403', error_description: 'Forbidden Access' },
    });
    await expect(v3().send(AUTH_URL)).resolves.toMatchObject({
      ok: false,
      error: '403',
      httpStatus: 403,
    });
  });

  test('v3 - maps a Dropwizard message carrying the OP body to http_status_N', async () => {
    answer(401, { code: 401, message: '{"error":"invalid_client"}' });
    await expect(v3().send(AUTH_URL)).resolves.toEqual({
      ok: false,
      error: 'http_status_401',
      error_description: '{"error":"invalid_client"}',
      httpStatus: 401,
    });
  });

  test('v3 - maps a plain-text 400 to http_status_400 with the text as description', async () => {
    answer(400, 'Invalid parameters. Message: Unexpected character', 'text/plain');
    await expect(v3().send(AUTH_URL)).resolves.toEqual({
      ok: false,
      error: 'http_status_400',
      error_description: 'Invalid parameters. Message: Unexpected character',
      httpStatus: 400,
    });
  });

  test('v3 - maps a plain-text 500 to http_status_500', async () => {
    answer(500, 'Command client is not able to connect to oxd-server.', 'text/plain');
    await expect(v3().send(AUTH_URL)).resolves.toMatchObject({
      ok: false,
      error: 'http_status_500',
      error_description: 'Command client is not able to connect to oxd-server.',
    });
  });

  test('v3 - rejects a 200 body without the envelope and points at server_version', async () => {
    answer(200, { authorization_url: 'https://op/a' });
    const failure = v3().send(AUTH_URL);
    await expect(failure).rejects.toBeInstanceOf(OxdProtocolError);
    await expect(failure).rejects.toThrow(/server_version=4/);
  });
});

describe('HttpsTransport 4.x bare bodies', () => {
  test('v4 - returns a 200 body as the data', async () => {
    answer(200, { authorization_url: 'https://op/a' });
    await expect(transport().send(AUTH_URL)).resolves.toEqual({
      ok: true,
      data: { authorization_url: 'https://op/a' },
    });
  });

  test('v4 - treats an empty 200 body as empty data', async () => {
    answer(200, '');
    await expect(transport().send(AUTH_URL)).resolves.toEqual({ ok: true, data: {} });
  });

  test('v4 - reads {error,error_description} with the HTTP status', async () => {
    answer(400, { error: 'invalid_oxd_id', error_description: 'Invalid oxd_id.' });
    await expect(transport().send(AUTH_URL)).resolves.toEqual({
      ok: false,
      error: 'invalid_oxd_id',
      error_description: 'Invalid oxd_id.',
      details: undefined,
      httpStatus: 400,
    });
  });

  test('v4 - keeps an explicit details field', async () => {
    answer(500, { error: 'internal_error', error_description: 'x', details: { a: 1 } });
    await expect(transport().send(AUTH_URL)).resolves.toMatchObject({ details: { a: 1 } });
  });

  test('v4 - passes the whole need_info object as details', async () => {
    const body = {
      error: 'need_info',
      ticket: 't-9',
      required_claims: [{ name: 'email' }],
      redirect_user: 'https://as/claims',
    };
    answer(403, body);
    await expect(transport().send(AUTH_URL)).resolves.toEqual({
      ok: false,
      error: 'need_info',
      error_description: undefined,
      details: body,
      httpStatus: 403,
    });
  });

  test('v4 - maps Dropwizard {code,message} to http_status_N', async () => {
    answer(403, { code: 403, message: 'HTTP 403 Forbidden' });
    await expect(transport().send(AUTH_URL)).resolves.toEqual({
      ok: false,
      error: 'http_status_403',
      error_description: 'HTTP 403 Forbidden',
      httpStatus: 403,
    });
  });

  test('v4 - rejects a 200 body that is not a JSON object', async () => {
    answer(200, 'eyJhbGciOi.not.json', 'text/plain');
    await expect(transport().send(AUTH_URL)).rejects.toBeInstanceOf(OxdProtocolError);
  });
});

describe('HttpsTransport failures', () => {
  test('failure - an untrusted certificate fails with the URL and a ca_file hint', async () => {
    const t = transport({ ca: undefined });
    const failure = t.send(AUTH_URL);
    await expect(failure).rejects.toMatchObject({ code: ERROR_CODES.TRANSPORT_FAILED });
    await expect(failure).rejects.toThrow(`https://127.0.0.1:${port}/get-authorization-url`);
    await expect(failure).rejects.toThrow(/ca_file/);
    expect(recorded).toHaveLength(0);
  });

  test('failure - a refused connection fails with OXD_TRANSPORT_FAILED naming the URL', async () => {
    const closed = createServer({ cert: cert.cert, key: cert.key });
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const deadPort = (closed.address() as AddressInfo).port;
    closed.close();
    await once(closed, 'close');
    const failure = transport({ baseUrl: `https://127.0.0.1:${deadPort}` }).send(AUTH_URL);
    await expect(failure).rejects.toMatchObject({ code: ERROR_CODES.TRANSPORT_FAILED });
    await expect(failure).rejects.toThrow(`127.0.0.1:${deadPort}`);
  });

  test('failure - a connection reset fails with OXD_TRANSPORT_FAILED', async () => {
    const mock = new MockAgent();
    mock.disableNetConnect();
    mock
      .get('https://oxd.test')
      .intercept({ path: '/get-authorization-url', method: 'POST' })
      .replyWithError(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }));
    const failure = transport({ baseUrl: 'https://oxd.test', dispatcher: mock }).send(AUTH_URL);
    await expect(failure).rejects.toMatchObject({ code: ERROR_CODES.TRANSPORT_FAILED });
    await expect(failure).rejects.toThrow(/ECONNRESET/);
    await mock.close();
  });

  test('failure - a server that does not answer in time fails with OXD_RESPONSE_TIMEOUT', async () => {
    const mock = new MockAgent();
    mock.disableNetConnect();
    mock
      .get('https://oxd.test')
      .intercept({ path: '/get-authorization-url', method: 'POST' })
      .reply(200, '{}')
      .delay(5000);
    const t = transport({
      baseUrl: 'https://oxd.test',
      dispatcher: mock,
      connectTimeoutMs: 20,
      responseTimeoutMs: 80,
    });
    await expect(t.send(AUTH_URL)).rejects.toMatchObject({
      code: ERROR_CODES.RESPONSE_TIMEOUT,
      timeoutMs: 80,
    });
    await mock.close();
  });

  test("failure - a health check whose answer undici timed out names the ping's own deadline", async () => {
    // undici's headers timeout is the ping's deadline; when it fires before the transport's
    // own timer, the error says how long the ping waited, not response_timeout.
    const mock = new MockAgent();
    mock.disableNetConnect();
    mock
      .get('https://oxd.test')
      .intercept({ path: '/health-check', method: 'GET' })
      .replyWithError(
        Object.assign(new Error('Headers Timeout Error'), { code: 'UND_ERR_HEADERS_TIMEOUT' }),
      );
    const t = transport({
      baseUrl: 'https://oxd.test',
      dispatcher: mock,
      responseTimeoutMs: 30_000,
    });
    const failure = t.ping(300);
    await expect(failure).rejects.toMatchObject({
      code: ERROR_CODES.RESPONSE_TIMEOUT,
      timeoutMs: 300,
    });
    await expect(failure).rejects.toThrow(
      'oxd at https://oxd.test/health-check did not answer within 300 ms',
    );
    await mock.close();
  });

  test('close - a request still waiting for oxd fails with OXD_CLIENT_CLOSED', async () => {
    const mock = new MockAgent();
    mock.disableNetConnect();
    mock
      .get('https://oxd.test')
      .intercept({ path: '/get-authorization-url', method: 'POST' })
      .reply(200, '{}')
      .delay(5000);
    const t = transport({ baseUrl: 'https://oxd.test', dispatcher: mock });
    const pending = t.send(AUTH_URL);
    await new Promise((resolve) => setImmediate(resolve));
    await t.close();
    await expect(pending).rejects.toMatchObject({ code: ERROR_CODES.CLIENT_CLOSED });
    await mock.close();
  });

  test('close - later sends fail with OXD_CLIENT_CLOSED', async () => {
    const t = transport();
    await t.close();
    const failure = t.send(AUTH_URL);
    await expect(failure).rejects.toBeInstanceOf(OxdError);
    await expect(failure).rejects.toMatchObject({ code: ERROR_CODES.CLIENT_CLOSED });
  });

  test('close - leaves an injected dispatcher open', async () => {
    const agent = new Agent({ connect: { ca: cert.cert } });
    const t = transport({ dispatcher: agent, ca: undefined });
    await t.send(AUTH_URL);
    await t.close();
    const other = transport({ dispatcher: agent, ca: undefined });
    await expect(other.send(AUTH_URL)).resolves.toMatchObject({ ok: true });
    await agent.close();
  });
});

describe('HttpsTransport answer size cap', () => {
  const HUGE = 300 * 1024 * 1024;

  /** An HTTPS server whose every answer is `size` bytes of JSON-ish text, streamed. */
  async function bigAnswerServer(size: number, declareLength: boolean) {
    let written = 0;
    const big = createServer({ cert: cert.cert, key: cert.key }, (req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, {
          'content-type': 'application/json',
          ...(declareLength ? { 'content-length': String(size) } : {}),
        });
        const chunk = Buffer.alloc(64 * 1024, 0x20);
        const pump = () => {
          while (written < size && !res.destroyed) {
            const piece = chunk.subarray(0, Math.min(chunk.length, size - written));
            written += piece.length;
            if (!res.write(piece)) {
              res.once('drain', pump);
              return;
            }
          }
          if (written >= size) res.end();
        };
        pump();
      });
    });
    big.listen(0, '127.0.0.1');
    await once(big, 'listening');
    return {
      port: (big.address() as AddressInfo).port,
      written: () => written,
      close: async () => {
        big.closeAllConnections();
        big.close();
        await once(big, 'close');
      },
    };
  }

  test.each([
    ['streamed without a length', false],
    ['with a declared content-length', true],
  ])(
    'size - a 300 MB answer %s fails with OXD_FRAME_TOO_LARGE after at most a few MB',
    async (_how, declareLength) => {
      const big = await bigAnswerServer(HUGE, declareLength);
      try {
        const t = transport({ baseUrl: `https://127.0.0.1:${big.port}` });
        const failure = t.send(AUTH_URL);
        await expect(failure).rejects.toBeInstanceOf(OxdProtocolError);
        await expect(failure).rejects.toMatchObject({
          code: ERROR_CODES.FRAME_TOO_LARGE,
          status: 502,
        });
        await expect(failure).rejects.toThrow(/1048576-byte limit/);
        await expect(failure).rejects.toThrow(`127.0.0.1:${big.port}`);
        // Let the server notice the dropped connection, then check how much it got to send.
        await new Promise((resolve) => setTimeout(resolve, 200));
        expect(big.written()).toBeLessThan(16 * 1024 * 1024);
      } finally {
        await big.close();
      }
    },
  );

  test('size - maxResponseBytes sets the cap: an answer of exactly the cap is read, one byte more is not', async () => {
    const body = JSON.stringify({ pad: 'x'.repeat(200) });
    answer(200, body);
    await expect(
      transport({ maxResponseBytes: Buffer.byteLength(body) }).send(AUTH_URL),
    ).resolves.toMatchObject({ ok: true, data: { pad: 'x'.repeat(200) } });
    answer(200, body);
    await expect(
      transport({ maxResponseBytes: Buffer.byteLength(body) - 1 }).send(AUTH_URL),
    ).rejects.toMatchObject({ code: ERROR_CODES.FRAME_TOO_LARGE });
  });

  test('size - an oversized error answer is refused too', async () => {
    answer(500, 'e'.repeat(5000));
    await expect(transport({ maxResponseBytes: 4096 }).send(AUTH_URL)).rejects.toMatchObject({
      code: ERROR_CODES.FRAME_TOO_LARGE,
    });
  });

  test.each([0, -1, 1.5, Number.NaN])('size - rejects maxResponseBytes %p naming it', (value) => {
    expect(() => transport({ maxResponseBytes: value })).toThrow(OxdConfigError);
    expect(() => transport({ maxResponseBytes: value })).toThrow(/maxResponseBytes/);
  });
});
