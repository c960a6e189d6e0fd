/**
 * get_request_uri on the local oxd server (oxd 4.2+): `POST /get-request-object-uri` stores a
 * request object JWT and answers its URI; `GET /get-request-object/<id>` serves it as text.
 * Raw HTTPS calls through undici with the server's CA, and the same through `OxdClient`.
 */
import { connect } from 'node:net';
import { Agent } from 'undici';
import { resolveConfig } from '../../src/config/resolve';
import { OxdClient } from '../../src/oxd/client';
import { FrameDecoder, encodeFrame } from '../../src/oxd/framing';
import { RequestObjectStore } from '../../src/testing/oxd/request-objects';
import { dedicatedStack, type LocalStack } from '../helpers/local-stack';
import { type HttpAnswer, rawHttps } from '../helpers/raw-https';

const REDIRECT = 'https://rp.example/callback';

let stack: LocalStack;
let agent: Agent;
const clients: OxdClient[] = [];

beforeAll(async () => {
  stack = await dedicatedStack();
  agent = new Agent({ connect: { ca: stack.oxd.ca } });
}, 120_000);

afterAll(async () => {
  await Promise.all(clients.map((client) => client.close()));
  await agent?.close();
});

function call(
  method: 'GET' | 'POST',
  url: string,
  body?: unknown,
  token?: string,
): Promise<HttpAnswer> {
  return rawHttps(url, { dispatcher: agent, method, body, token });
}

/** A 4.x site with its Bearer token. */
async function site4(): Promise<{ oxdId: string; clientId: string; token: string }> {
  const registered = await call('POST', `${stack.oxd.httpsUrl}/register-site`, {
    redirect_uris: [REDIRECT],
  });
  expect(registered.status).toBe(200);
  const site = registered.json as { oxd_id: string; client_id: string; client_secret: string };
  const token = await call('POST', `${stack.oxd.httpsUrl}/get-client-token`, {
    client_id: site.client_id,
    client_secret: site.client_secret,
    scope: ['oxd'],
  });
  expect(token.status).toBe(200);
  return {
    oxdId: site.oxd_id,
    clientId: site.client_id,
    token: (token.json as { access_token: string }).access_token,
  };
}

function decodeJwt(jwt: string): {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  signature: string;
} {
  const [header, payload, signature] = jwt.split('.');
  if (header === undefined || payload === undefined || signature === undefined) {
    throw new Error(`not a JWT: ${jwt}`);
  }
  const part = (text: string) =>
    JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as Record<string, unknown>;
  return { header: part(header), payload: part(payload), signature };
}

describe('get_request_uri (HTTPS 4.x)', () => {
  let site: { oxdId: string; clientId: string; token: string };

  beforeAll(async () => {
    site = await site4();
  });

  /** `token` '' sends no Authorization header. */
  const requestUri = (body: Record<string, unknown>, token: string = site.token) =>
    call('POST', `${stack.oxd.httpsUrl}/get-request-object-uri`, body, token);

  test('get_request_uri - the returned URI serves an RS256 request object with the site and given claims', async () => {
    const answer = await requestUri({
      oxd_id: site.oxdId,
      oxd_host_url: stack.oxd.httpsUrl,
      params: { prompt: 'login', ui_locales: 'de' },
    });
    expect(answer.status).toBe(200);
    const uri = (answer.json as { request_uri: string }).request_uri;
    expect(uri).toMatch(
      new RegExp(`^${stack.oxd.httpsUrl.replace(/\./g, '\\.')}/get-request-object/[\\w-]{16,}$`),
    );

    const fetched = await call('GET', uri);
    expect(fetched.status).toBe(200);
    expect(fetched.type).toMatch(/^text\/plain/);
    const { header, payload, signature } = decodeJwt(fetched.text);
    expect(header).toMatchObject({ alg: 'RS256', kid: expect.any(String) });
    expect(signature).not.toBe('');
    expect(payload).toEqual({
      iss: site.clientId,
      aud: stack.op.issuer,
      client_id: site.clientId,
      response_type: 'code',
      redirect_uri: REDIRECT,
      scope: 'openid profile email',
      prompt: 'login',
      ui_locales: 'de',
      iat: expect.any(Number),
      exp: expect.any(Number),
      jti: expect.any(String),
    });
    expect(payload.exp as number).toBeGreaterThan(payload.iat as number);
  });

  test('get_request_uri - request_object_signing_alg none gives an unsigned request object', async () => {
    const answer = await requestUri({
      oxd_id: site.oxdId,
      oxd_host_url: `${stack.oxd.httpsUrl}/`,
      request_object_signing_alg: 'none',
    });
    const uri = (answer.json as { request_uri: string }).request_uri;
    expect(uri.startsWith(`${stack.oxd.httpsUrl}/get-request-object/`)).toBe(true);
    const { header, payload, signature } = decodeJwt((await call('GET', uri)).text);
    expect(header).toEqual({ alg: 'none', typ: 'JWT' });
    expect(signature).toBe('');
    expect(payload).toMatchObject({ iss: site.clientId, aud: stack.op.issuer });
  });

  test('get-request-object - an unknown id is 404 request_object_not_found', async () => {
    const answer = await call('GET', `${stack.oxd.httpsUrl}/get-request-object/no-such-id`);
    expect(answer).toMatchObject({
      status: 404,
      json: { error: 'request_object_not_found', error_description: expect.any(String) },
    });
  });

  test('get_request_uri - a missing oxd_host_url is 400 bad_request_no_oxd_host', async () => {
    expect(await requestUri({ oxd_id: site.oxdId })).toMatchObject({
      status: 400,
      json: {
        error: 'bad_request_no_oxd_host',
        error_description: expect.stringContaining('oxd_host_url'),
      },
    });
  });

  test('get_request_uri - an unsupported signing alg is 400 invalid_algorithm', async () => {
    expect(
      await requestUri({
        oxd_id: site.oxdId,
        oxd_host_url: stack.oxd.httpsUrl,
        request_object_signing_alg: 'HS256',
      }),
    ).toMatchObject({ status: 400, json: { error: 'invalid_algorithm' } });
  });

  test('get_request_uri - needs the Bearer token like the other protected commands', async () => {
    expect(
      await requestUri({ oxd_id: site.oxdId, oxd_host_url: stack.oxd.httpsUrl }, ''),
    ).toMatchObject({ status: 403, json: { error: 'blank_access_token' } });
  });

  test('get_request_uri - OxdClient.getRequestUri returns a URI that serves the request object', async () => {
    const client = new OxdClient(
      resolveConfig({
        oxd: { host: stack.oxd.httpsUrl, https: true, serverVersion: 4, ca: stack.oxd.ca },
        client: { opHost: stack.op.issuer, authorizationRedirectUri: REDIRECT },
      }),
      { writeBack: false },
    );
    clients.push(client);
    const { request_uri: uri } = await client.getRequestUri({
      oxd_host_url: stack.oxd.httpsUrl,
      params: { login_hint: 'jane' },
    });
    const fetched = await call('GET', uri);
    expect(fetched.status).toBe(200);
    expect(decodeJwt(fetched.text).payload).toMatchObject({
      aud: stack.op.issuer,
      redirect_uri: REDIRECT,
      login_hint: 'jane',
    });
  });
});

describe('get_request_uri (socket 3.x)', () => {
  test('get_request_uri (socket) - is unsupported_operation, as oxd 3.x has no such command', async () => {
    const reply = await new Promise<unknown>((resolve, reject) => {
      const socket = connect(stack.oxd.port, '127.0.0.1', () =>
        socket.write(
          encodeFrame({
            command: 'get_request_uri',
            params: { oxd_id: 'any', oxd_host_url: stack.oxd.httpsUrl },
          }),
        ),
      );
      const decoder = new FrameDecoder();
      socket.on('data', (chunk: Buffer) => {
        const [frame] = decoder.push(chunk);
        if (frame === undefined) return;
        socket.destroy();
        resolve(JSON.parse(frame));
      });
      socket.on('error', reject);
    });
    expect(reply).toEqual({
      status: 'error',
      data: {
        error: 'unsupported_operation',
        error_description: 'Operation is not supported by server error.',
        details: null,
      },
    });
  });
});

describe('RequestObjectStore', () => {
  test('RequestObjectStore - serves a request object until its time is up, then forgets it', async () => {
    let now = 1_000_000;
    const store = new RequestObjectStore(60_000, () => now);
    const id = await store.create({ iss: 'client' }, 'none');
    expect(decodeJwt(store.get(id) ?? '').payload).toEqual({ iss: 'client' });
    now += 59_999;
    expect(store.get(id)).toBeDefined();
    now += 1;
    expect(store.get(id)).toBeUndefined();
    expect(store.get('unknown')).toBeUndefined();
  });
});
