import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';

import { ensureBuilt, ROOT } from '../helpers/build';
import {
  cancelOpLogin,
  followOpLogout,
  OpCookieJar,
  OpLoginRejectedError,
  OpPageError,
  resumeOpSession,
  submitOpLogin,
} from '../../src/testing/op-login';

const RUN_OP = join(ROOT, 'dist', 'testing', 'op', 'run.js');
const ACCESS_TOKEN_TTL = 120;
const RP = 'https://rp.example.test';
const CALLBACK = `${RP}/callback`;
const LOGGED_OUT = `${RP}/logged-out`;

interface OpInfo {
  issuer: string;
  port: number;
  ca: string;
  users: { username: string; password: string; claims: Record<string, unknown> }[];
}

interface RegisteredClient {
  client_id: string;
  client_secret: string;
  registration_access_token: string;
  registration_client_uri: string;
  [key: string]: unknown;
}

interface JsonResponse {
  status: number;
  body: Record<string, unknown>;
}

let child: ChildProcess;
let op: OpInfo;
let agent: Agent;
let discovery: Record<string, string>;
let client: RegisteredClient;

/** Starts `run.js` and resolves with its JSON line (or its exit status, when `--cycles`). */
function runOp(args: string[]): {
  child: ChildProcess;
  line: Promise<string>;
  exit: Promise<number | null>;
} {
  const proc = spawn(process.execPath, [RUN_OP, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exit = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  const line = new Promise<string>((resolve, reject) => {
    proc.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const end = stdout.indexOf('\n');
      if (end >= 0) resolve(stdout.slice(0, end));
    });
    void exit.then((code) =>
      reject(new Error(`local OP exited with ${code} before printing its address:\n${stderr}`)),
    );
  });
  line.catch(() => undefined);
  return { child: proc, line, exit };
}

async function getJson(url: string, headers: Record<string, string> = {}): Promise<JsonResponse> {
  const response = await request(url, { dispatcher: agent, headers });
  return {
    status: response.statusCode,
    body: (await response.body.json()) as Record<string, unknown>,
  };
}

async function sendJson(
  method: 'POST' | 'PUT',
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<JsonResponse> {
  const response = await request(url, {
    method,
    dispatcher: agent,
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return {
    status: response.statusCode,
    body: (await response.body.json()) as Record<string, unknown>,
  };
}

function basicAuth(id: string, secret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}

async function postForm(
  url: string,
  fields: Record<string, string>,
  registered: RegisteredClient = client,
): Promise<JsonResponse> {
  const response = await request(url, {
    method: 'POST',
    dispatcher: agent,
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: basicAuth(registered.client_id, registered.client_secret),
    },
    body: new URLSearchParams(fields).toString(),
  });
  return {
    status: response.statusCode,
    body: (await response.body.json()) as Record<string, unknown>,
  };
}

async function registerClient(metadata: Record<string, unknown> = {}): Promise<RegisteredClient> {
  const { status, body } = await sendJson('POST', discovery.registration_endpoint as string, {
    client_name: 'local OP test RP',
    redirect_uris: [CALLBACK],
    post_logout_redirect_uris: [LOGGED_OUT],
    grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    ...metadata,
  });
  expect({ status, error: body.error_description }).toEqual({ status: 201, error: undefined });
  return body as RegisteredClient;
}

function authorizationUrl(registered: RegisteredClient, extra: Record<string, string> = {}) {
  const state = randomBytes(12).toString('base64url');
  const nonce = randomBytes(12).toString('base64url');
  const url = new URL(discovery.authorization_endpoint as string);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: registered.client_id,
    redirect_uri: CALLBACK,
    scope: 'openid profile email',
    state,
    nonce,
    ...extra,
  }).toString();
  return { url: url.href, state, nonce };
}

function jwtPayload(jwt: unknown): Record<string, unknown> {
  const [, payload = ''] = String(jwt).split('.');
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
}

function userNamed(username: string) {
  const user = op.users.find((candidate) => candidate.username === username);
  if (user === undefined) throw new Error(`the local OP has no user ${username}`);
  return user;
}

/** Full code flow for `username`; returns the token response and the browser's cookies. */
async function signIn(username: string, registered: RegisteredClient = client) {
  const jar = new OpCookieJar();
  const { url, state, nonce } = authorizationUrl(registered);
  const callback = await submitOpLogin(url, userNamed(username), op.ca, jar);
  expect(callback.origin + callback.pathname).toBe(CALLBACK);
  expect(callback.searchParams.get('state')).toBe(state);
  const code = callback.searchParams.get('code');
  expect(code).toEqual(expect.any(String));
  const tokens = await postForm(
    discovery.token_endpoint as string,
    { grant_type: 'authorization_code', code: code as string, redirect_uri: CALLBACK },
    registered,
  );
  expect(tokens.status).toBe(200);
  return { tokens: tokens.body, jar, nonce };
}

beforeAll(async () => {
  await ensureBuilt();
  const started = runOp(['--access-token-ttl', String(ACCESS_TOKEN_TTL)]);
  child = started.child;
  op = JSON.parse(await started.line) as OpInfo;
  agent = new Agent({ connect: { ca: op.ca } });
  discovery = (await getJson(`${op.issuer}/.well-known/openid-configuration`)).body as Record<
    string,
    string
  >;
  client = await registerClient();
}, 180_000);

afterAll(async () => {
  await agent?.close();
  if (child !== undefined && child.exitCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
});

describe('local OP', () => {
  test('discovery - publishes every endpoint under the https issuer on 127.0.0.1', () => {
    expect(op.issuer).toBe(`https://127.0.0.1:${op.port}`);
    expect(discovery.issuer).toBe(op.issuer);
    for (const endpoint of [
      'authorization_endpoint',
      'token_endpoint',
      'userinfo_endpoint',
      'jwks_uri',
      'registration_endpoint',
      'introspection_endpoint',
      'revocation_endpoint',
      'end_session_endpoint',
    ]) {
      expect(discovery[endpoint]).toMatch(new RegExp(`^${op.issuer}/`));
    }
    expect(discovery.grant_types_supported).toEqual(
      expect.arrayContaining(['authorization_code', 'refresh_token', 'client_credentials']),
    );
    expect(discovery.scopes_supported).toEqual(
      expect.arrayContaining(['openid', 'profile', 'email', 'oxd', 'uma_protection']),
    );
    expect(discovery.code_challenge_methods_supported).toEqual(['S256']);
  });

  test('discovery - the TLS certificate is trusted only through the printed ca', async () => {
    await expect(request(`${op.issuer}/.well-known/openid-configuration`)).rejects.toThrow(
      /self.signed|certificate/i,
    );
  });

  test('certificate - covers 127.0.0.1 and localhost and expires in about 30 days', () => {
    const certificate = new X509Certificate(op.ca);
    expect(certificate.subjectAltName?.split(', ').sort()).toEqual([
      'DNS:localhost',
      'IP Address:127.0.0.1',
    ]);
    expect(certificate.checkIP('127.0.0.1')).toBe('127.0.0.1');
    const days = (Date.parse(certificate.validTo) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(29);
    expect(days).toBeLessThanOrEqual(30);
    expect(certificate.ca).toBe(false);
  });

  test('registration - answers with credentials and a registration access token', () => {
    expect(client).toEqual(
      expect.objectContaining({
        client_id: expect.any(String),
        client_secret: expect.any(String),
        registration_access_token: expect.any(String),
        registration_client_uri: expect.stringMatching(new RegExp(`^${op.issuer}/`)),
        redirect_uris: [CALLBACK],
        post_logout_redirect_uris: [LOGGED_OUT],
      }),
    );
  });

  test('registration - updates a client through its registration_client_uri (RFC 7592)', async () => {
    const own = await registerClient();
    const bearer = { authorization: `Bearer ${own.registration_access_token}` };
    const read = await getJson(own.registration_client_uri, bearer);
    expect(read.status).toBe(200);
    expect(read.body.client_id).toBe(own.client_id);

    const updated = await sendJson(
      'PUT',
      own.registration_client_uri,
      {
        client_id: own.client_id,
        client_secret: own.client_secret,
        redirect_uris: [CALLBACK, `${RP}/other-callback`],
        post_logout_redirect_uris: [`${RP}/bye`],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        client_name: 'renamed RP',
      },
      bearer,
    );
    expect(updated.status).toBe(200);
    expect(updated.body).toEqual(
      expect.objectContaining({
        client_name: 'renamed RP',
        redirect_uris: [CALLBACK, `${RP}/other-callback`],
        post_logout_redirect_uris: [`${RP}/bye`],
        registration_access_token: own.registration_access_token,
      }),
    );
  });

  test('registration - rejects an update without the registration access token', async () => {
    const own = await registerClient();
    const response = await sendJson('PUT', own.registration_client_uri, {
      client_id: own.client_id,
      redirect_uris: [CALLBACK],
    });
    expect(response.status).toBe(401);
  });

  test('registration - rejects a front-channel logout URI that is not http(s)', async () => {
    const { status, body } = await sendJson('POST', discovery.registration_endpoint as string, {
      redirect_uris: [CALLBACK],
      frontchannel_logout_uri: 'javascript:alert(1)',
    });
    expect(status).toBe(400);
    expect(body.error).toBe('invalid_client_metadata');
  });

  describe('after a code flow through the login form', () => {
    let tokens: Record<string, unknown>;
    let nonce: string;

    beforeAll(async () => {
      ({ tokens, nonce } = await signIn('jane'));
    });

    test('token - returns an ID token, an access token and a refresh token', () => {
      expect(tokens).toEqual(
        expect.objectContaining({
          id_token: expect.any(String),
          access_token: expect.any(String),
          refresh_token: expect.any(String),
          token_type: 'Bearer',
          expires_in: ACCESS_TOKEN_TTL,
        }),
      );
      const claims = jwtPayload(tokens.id_token);
      expect(claims).toEqual(
        expect.objectContaining({
          iss: op.issuer,
          aud: client.client_id,
          sub: '248289761001',
          nonce,
          name: 'Jane Doe',
          email: 'jane.doe@example.com',
        }),
      );
    });

    test('userinfo - returns the signed-in user claims for the granted scopes', async () => {
      const { status, body } = await getJson(discovery.userinfo_endpoint as string, {
        authorization: `Bearer ${tokens.access_token as string}`,
      });
      expect(status).toBe(200);
      expect(body).toEqual({
        sub: '248289761001',
        name: 'Jane Doe',
        given_name: 'Jane',
        family_name: 'Doe',
        preferred_username: 'jane',
        locale: 'en-US',
        email: 'jane.doe@example.com',
        email_verified: true,
      });
    });

    test('refresh - exchanges the refresh token for a new working access token', async () => {
      const refreshed = await postForm(discovery.token_endpoint as string, {
        grant_type: 'refresh_token',
        refresh_token: tokens.refresh_token as string,
      });
      expect(refreshed.status).toBe(200);
      expect(refreshed.body.access_token).toEqual(expect.any(String));
      expect(refreshed.body.access_token).not.toBe(tokens.access_token);
      expect(refreshed.body.refresh_token).toEqual(expect.any(String));
      const userinfo = await getJson(discovery.userinfo_endpoint as string, {
        authorization: `Bearer ${refreshed.body.access_token as string}`,
      });
      expect(userinfo.body.sub).toBe('248289761001');
    });

    test('introspection - reports the access token active with its subject and client', async () => {
      const { status, body } = await postForm(discovery.introspection_endpoint as string, {
        token: tokens.access_token as string,
      });
      expect(status).toBe(200);
      expect(body).toEqual(
        expect.objectContaining({
          active: true,
          sub: '248289761001',
          client_id: client.client_id,
          token_type: 'Bearer',
          scope: expect.stringContaining('openid'),
        }),
      );
    });

    test('introspection - reports an unknown token inactive', async () => {
      const { body } = await postForm(discovery.introspection_endpoint as string, {
        token: 'not-a-token',
      });
      expect(body).toEqual({ active: false });
    });
  });

  test('revocation - a revoked access token is no longer active', async () => {
    const { tokens } = await signIn('john');
    const revoked = await request(discovery.revocation_endpoint as string, {
      method: 'POST',
      dispatcher: agent,
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: basicAuth(client.client_id, client.client_secret),
      },
      body: new URLSearchParams({ token: tokens.access_token as string }).toString(),
    });
    await revoked.body.dump();
    expect(revoked.statusCode).toBe(200);
    const { body } = await postForm(discovery.introspection_endpoint as string, {
      token: tokens.access_token as string,
    });
    expect(body.active).toBe(false);
  });

  test('login - shows the form again with an error for a wrong password', async () => {
    const { url } = authorizationUrl(client);
    const attempt = submitOpLogin(url, { username: 'jane', password: 'wrong' }, op.ca);
    await expect(attempt).rejects.toBeInstanceOf(OpLoginRejectedError);
    const error = (await attempt.catch((err: unknown) => err)) as OpLoginRejectedError;
    expect(error.status).toBe(200);
    expect(error.message).toContain('Wrong username or password');
    expect(error.html).toContain('id="password"');
    expect(error.html).toContain('value="jane"');
  });

  test('login - the page has no script and a strict Content-Security-Policy', async () => {
    const jar = new OpCookieJar();
    const start = new URL(authorizationUrl(client).url);
    const first = await request(start, { dispatcher: agent });
    await first.body.dump();
    expect(first.statusCode).toBe(303);
    const loginUrl = new URL(String(first.headers.location), start);
    jar.store(start, first.headers['set-cookie']);
    const page = await request(loginUrl, {
      dispatcher: agent,
      headers: { cookie: jar.header(loginUrl) ?? '' },
    });
    const html = await page.body.text();
    expect(page.statusCode).toBe(200);
    expect(html).toContain('id="username"');
    expect(html).not.toMatch(/<script/i);
    expect(page.headers['content-security-policy']).toMatch(/default-src 'none'/);
  });

  test('login - cancelling returns access_denied to the RP', async () => {
    const { url, state } = authorizationUrl(client);
    const callback = await cancelOpLogin(url, op.ca);
    expect(callback.origin + callback.pathname).toBe(CALLBACK);
    expect(callback.searchParams.get('error')).toBe('access_denied');
    expect(callback.searchParams.get('state')).toBe(state);
  });

  test('login - an existing OP session signs in again without the form', async () => {
    const { jar } = await signIn('alex');
    const again = await resumeOpSession(authorizationUrl(client).url, op.ca, jar);
    expect(again.searchParams.get('code')).toEqual(expect.any(String));
  });

  test('pkce - accepts an S256 code_verifier and rejects a wrong one', async () => {
    const verifier = randomBytes(32).toString('base64url');
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const exchange = async (codeVerifier: string) => {
      const { url } = authorizationUrl(client, {
        code_challenge: challenge,
        code_challenge_method: 'S256',
      });
      const callback = await submitOpLogin(url, userNamed('jane'), op.ca);
      return postForm(discovery.token_endpoint as string, {
        grant_type: 'authorization_code',
        code: callback.searchParams.get('code') ?? '',
        redirect_uri: CALLBACK,
        code_verifier: codeVerifier,
      });
    };
    expect((await exchange(verifier)).status).toBe(200);
    const wrong = await exchange(randomBytes(32).toString('base64url'));
    expect(wrong.status).toBe(400);
    expect(wrong.body.error).toBe('invalid_grant');
  });

  test('client_credentials - issues an active token with scope oxd', async () => {
    const { status, body } = await postForm(discovery.token_endpoint as string, {
      grant_type: 'client_credentials',
      scope: 'oxd',
    });
    expect(status).toBe(200);
    expect(body).toEqual(
      expect.objectContaining({
        access_token: expect.any(String),
        token_type: 'Bearer',
        scope: 'oxd',
        expires_in: ACCESS_TOKEN_TTL,
      }),
    );
    const introspected = await postForm(discovery.introspection_endpoint as string, {
      token: body.access_token as string,
    });
    expect(introspected.body).toEqual(
      expect.objectContaining({ active: true, client_id: client.client_id, scope: 'oxd' }),
    );
  });

  test('end_session - signs out and redirects to post_logout_redirect_uri with state', async () => {
    const { tokens, jar } = await signIn('jane');
    const logout = new URL(discovery.end_session_endpoint as string);
    logout.search = new URLSearchParams({
      id_token_hint: tokens.id_token as string,
      post_logout_redirect_uri: LOGGED_OUT,
      state: 'logout-state-1',
    }).toString();
    const result = await followOpLogout(logout.href, op.ca, jar);
    expect(result.location.href).toBe(`${LOGGED_OUT}?state=logout-state-1`);
    expect(result.frontchannelLogoutUris).toEqual([]);
    await expect(resumeOpSession(authorizationUrl(client).url, op.ca, jar)).rejects.toBeInstanceOf(
      OpPageError,
    );
  });

  test('end_session - loads front-channel logout URIs with iss and sid before redirecting', async () => {
    const frontchannel = await registerClient({
      frontchannel_logout_uri: `${RP}/frontchannel-logout`,
      frontchannel_logout_session_required: true,
    });
    const { tokens, jar } = await signIn('john', frontchannel);
    const logout = new URL(discovery.end_session_endpoint as string);
    logout.search = new URLSearchParams({
      id_token_hint: tokens.id_token as string,
      post_logout_redirect_uri: LOGGED_OUT,
      state: 'logout-state-2',
    }).toString();
    const result = await followOpLogout(logout.href, op.ca, jar);
    expect(result.location.href).toBe(`${LOGGED_OUT}?state=logout-state-2`);
    expect(result.frontchannelLogoutUris).toHaveLength(1);
    const [uri] = result.frontchannelLogoutUris;
    expect(uri?.origin + (uri?.pathname ?? '')).toBe(`${RP}/frontchannel-logout`);
    expect(uri?.searchParams.get('iss')).toBe(op.issuer);
    expect(uri?.searchParams.get('sid')).toBe(jwtPayload(tokens.id_token).sid);
  });

  test('dataDir - keeps registered clients and signing keys across a restart', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'express-oxd-op-'));
    const startIn = async () => {
      const started = runOp(['--data-dir', dir]);
      const info = JSON.parse(await started.line) as OpInfo;
      const ownAgent = new Agent({ connect: { ca: info.ca } });
      const get = async (path: string) => {
        const response = await request(`${info.issuer}${path}`, { dispatcher: ownAgent });
        return (await response.body.json()) as Record<string, unknown>;
      };
      const stop = async () => {
        await ownAgent.close();
        started.child.stdin?.end();
        expect(await started.exit).toBe(0);
      };
      return { info, agent: ownAgent, get, stop };
    };
    try {
      const first = await startIn();
      const firstDiscovery = await first.get('/.well-known/openid-configuration');
      const firstJwks = await first.get('/jwks');
      const registration = await request(String(firstDiscovery.registration_endpoint), {
        method: 'POST',
        dispatcher: first.agent,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          redirect_uris: [CALLBACK],
          grant_types: ['client_credentials'],
          response_types: [],
        }),
      });
      const registered = (await registration.body.json()) as RegisteredClient;
      expect(registration.statusCode).toBe(201);
      await first.stop();
      expect((await stat(join(dir, 'signing-keys.json'))).mode & 0o077).toBe(0);
      expect(await readFile(join(dir, 'clients.json'), 'utf8')).toContain(registered.client_id);

      const second = await startIn();
      try {
        expect(await second.get('/jwks')).toEqual(firstJwks);
        const secondDiscovery = await second.get('/.well-known/openid-configuration');
        const token = await request(String(secondDiscovery.token_endpoint), {
          method: 'POST',
          dispatcher: second.agent,
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            authorization: basicAuth(registered.client_id, registered.client_secret),
          },
          body: 'grant_type=client_credentials&scope=oxd',
        });
        const body = (await token.body.json()) as Record<string, unknown>;
        expect({ status: token.statusCode, scope: body.scope }).toEqual({
          status: 200,
          scope: 'oxd',
        });
      } finally {
        await second.stop();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);

  test('lifecycle - stops when its stdin ends', async () => {
    const started = runOp([]);
    const info = JSON.parse(await started.line) as OpInfo;
    expect(info.issuer).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    started.child.stdin?.end();
    await expect(started.exit).resolves.toBe(0);
  }, 60_000);

  test('lifecycle - 20 start/close cycles leave no open handles', async () => {
    const started = runOp(['--cycles', '20']);
    const report = JSON.parse(await started.line) as { cycles: number; activeResources: string[] };
    expect(report.cycles).toBe(20);
    // Only the child's own stdio pipes may remain.
    expect(report.activeResources.filter((name) => name !== 'PipeWrap')).toEqual([]);
    await expect(started.exit).resolves.toBe(0);
  }, 120_000);
});
