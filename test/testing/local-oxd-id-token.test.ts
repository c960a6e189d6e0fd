/**
 * get_tokens_by_code against a misbehaving OpenID Provider: a scripted OP (HTTPS on
 * 127.0.0.1, its own RS256 key in its JWKS) answers the code exchange with an id_token that
 * has exactly one fault. The local oxd server runs as a child process pointed at it, and each
 * fault must come back as oxd's error code: on the socket in the `{status, data}` envelope,
 * on HTTPS 4.x as HTTP 500 `{error, error_description}`.
 */
import type { ChildProcess } from 'node:child_process';
import { type KeyObject, createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Server, createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { type Socket, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from 'undici';
import { FrameDecoder, encodeFrame } from '../../src/oxd/framing';
import { selfSignedCert } from '../fixtures/tls';
import { startLocalProcess, stopLocalProcess } from '../helpers/local-stack';
import { rawHttps } from '../helpers/raw-https';

const REDIRECT = 'https://rp.example/callback';

type Fault =
  | 'none'
  | 'bad_issuer'
  | 'bad_audience'
  | 'expired'
  | 'bad_nonce'
  | 'bad_at_hash'
  | 'bad_signature';

/** The error oxd answers for each fault. */
const EXPECTED: Readonly<Record<Exclude<Fault, 'none'>, string>> = {
  bad_issuer: 'invalid_id_token_bad_issuer',
  bad_audience: 'invalid_id_token_bad_audience',
  expired: 'invalid_id_token_expired',
  bad_nonce: 'invalid_id_token_bad_nonce',
  bad_at_hash: 'invalid_access_token_bad_hash',
  bad_signature: 'invalid_id_token_bad_signature',
};
const FAULTS = Object.keys(EXPECTED) as Exclude<Fault, 'none'>[];

function base64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function rs256(claims: Record<string, unknown>, kid: string, key: KeyObject): string {
  const input = `${base64url({ alg: 'RS256', typ: 'JWT', kid })}.${base64url(claims)}`;
  return `${input}.${sign('sha256', Buffer.from(input), key).toString('base64url')}`;
}

function atHash(accessToken: string): string {
  return createHash('sha256')
    .update(accessToken, 'ascii')
    .digest()
    .subarray(0, 16)
    .toString('base64url');
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/**
 * The scripted OP: discovery, JWKS, dynamic registration, a token endpoint (client
 * credentials, and authorization codes handed out by `issueCode`) and introspection.
 * There is no authorization endpoint behind the advertised URL: codes come from the test.
 */
class ScriptedOp {
  readonly kid = 'scripted-key-1';
  private readonly key = generateKeyPairSync('rsa', { modulusLength: 2048 });
  /** A key the OP does not publish, signing under the published kid. */
  private readonly foreignKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  private readonly clients = new Map<string, string>();
  private readonly codes = new Map<string, { fault: Fault; nonce: string; clientId: string }>();
  private readonly tokens = new Map<string, string>();
  issuer = '';

  private constructor(private readonly server: Server) {}

  static async start(cert: { cert: string; key: string }): Promise<ScriptedOp> {
    const server = createServer({ cert: cert.cert, key: cert.key });
    const op = new ScriptedOp(server);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      op.handle(req, res).catch((err: unknown) => sendJson(res, 500, { error: String(err) }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    op.issuer = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return op;
  }

  /** A code the token endpoint exchanges for an id_token with `fault`. */
  issueCode(clientId: string, nonce: string, fault: Fault): string {
    const code = randomBytes(16).toString('base64url');
    this.codes.set(code, { fault, nonce, clientId });
    return code;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private authenticated(req: IncomingMessage): string | undefined {
    const header = req.headers.authorization ?? '';
    if (!header.startsWith('Basic ')) return undefined;
    const [id, secret] = Buffer.from(header.slice(6), 'base64')
      .toString('utf8')
      .split(':')
      .map(decodeURIComponent) as [string, string];
    return this.clients.get(id) === secret ? id : undefined;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', this.issuer).pathname;
    const body = await readBody(req);
    if (path === '/.well-known/openid-configuration') {
      sendJson(res, 200, {
        issuer: this.issuer,
        authorization_endpoint: `${this.issuer}/authorize`,
        token_endpoint: `${this.issuer}/token`,
        jwks_uri: `${this.issuer}/jwks`,
        registration_endpoint: `${this.issuer}/register`,
        introspection_endpoint: `${this.issuer}/introspect`,
        id_token_signing_alg_values_supported: ['RS256'],
      });
    } else if (path === '/jwks') {
      const jwk = this.key.publicKey.export({ format: 'jwk' });
      sendJson(res, 200, { keys: [{ ...jwk, kid: this.kid, alg: 'RS256', use: 'sig' }] });
    } else if (path === '/register' && req.method === 'POST') {
      const clientId = `client-${randomBytes(6).toString('hex')}`;
      const secret = randomBytes(16).toString('base64url');
      this.clients.set(clientId, secret);
      sendJson(res, 201, { ...JSON.parse(body), client_id: clientId, client_secret: secret });
    } else if (path === '/token' && req.method === 'POST') {
      this.token(res, this.authenticated(req), new URLSearchParams(body));
    } else if (path === '/introspect' && req.method === 'POST') {
      const token = new URLSearchParams(body).get('token') ?? '';
      const owner = this.tokens.get(token);
      sendJson(
        res,
        200,
        owner && this.authenticated(req)
          ? { active: true, client_id: owner, scope: 'oxd' }
          : { active: false },
      );
    } else {
      sendJson(res, 404, { error: 'not_found' });
    }
  }

  private token(res: ServerResponse, clientId: string | undefined, form: URLSearchParams): void {
    if (!clientId) {
      sendJson(res, 401, { error: 'invalid_client' });
      return;
    }
    const accessToken = randomBytes(24).toString('base64url');
    this.tokens.set(accessToken, clientId);
    if (form.get('grant_type') === 'client_credentials') {
      sendJson(res, 200, {
        access_token: accessToken,
        token_type: 'Bearer',
        expires_in: 300,
        scope: 'oxd',
      });
      return;
    }
    const code = this.codes.get(form.get('code') ?? '');
    if (
      form.get('grant_type') !== 'authorization_code' ||
      !code ||
      code.clientId !== clientId ||
      // oxd sends no PKCE (no release has code_challenge): a verifier here would be a bug.
      form.get('code_verifier') !== null
    ) {
      sendJson(res, 400, { error: 'invalid_grant' });
      return;
    }
    this.codes.delete(form.get('code') ?? '');
    const now = Math.floor(Date.now() / 1000);
    const { fault } = code;
    const claims = {
      iss: fault === 'bad_issuer' ? `${this.issuer}/elsewhere` : this.issuer,
      sub: 'subject-1',
      aud: fault === 'bad_audience' ? 'another-client' : clientId,
      iat: fault === 'expired' ? now - 7200 : now,
      exp: fault === 'expired' ? now - 3600 : now + 300,
      nonce: fault === 'bad_nonce' ? 'a-nonce-oxd-never-issued' : code.nonce,
      at_hash: atHash(fault === 'bad_at_hash' ? `${accessToken}-other` : accessToken),
    };
    const key = fault === 'bad_signature' ? this.foreignKey : this.key.privateKey;
    sendJson(res, 200, {
      access_token: accessToken,
      token_type: 'Bearer',
      expires_in: 300,
      id_token: rs256(claims, this.kid, key),
    });
  }
}

/** One socket command on a fresh connection; resolves with the reply frame. */
function socketCommand(
  port: number,
  command: string,
  params: unknown,
): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect(port, '127.0.0.1', () =>
      socket.write(encodeFrame({ command, params })),
    );
    const decoder = new FrameDecoder();
    socket.on('data', (chunk: Buffer) => {
      const [frame] = decoder.push(chunk);
      if (frame === undefined) return;
      socket.destroy();
      resolve(JSON.parse(frame) as Record<string, unknown>);
    });
    socket.on('error', reject);
    socket.on('close', () => reject(new Error(`connection closed before the ${command} reply`)));
  });
}

let op: ScriptedOp;
let oxdChild: ChildProcess | undefined;
let oxd: { host: string; port: number; httpsUrl: string; ca: string };
let agent: Agent;
let dataDir: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'express-oxd-id-token-'));
  const cert = await selfSignedCert();
  op = await ScriptedOp.start(cert);
  const caFile = join(dataDir, 'op-ca.pem');
  await writeFile(caFile, cert.cert);
  const started = await startLocalProcess([
    'oxd',
    '--op-issuer',
    op.issuer,
    '--op-ca-file',
    caFile,
    '--port',
    '0',
    '--https-port',
    '0',
    '--data-dir',
    dataDir,
  ]);
  oxdChild = started.child;
  oxd = started.ready.oxd as typeof oxd;
  agent = new Agent({ connect: { ca: oxd.ca } });
}, 120_000);

afterAll(async () => {
  await agent?.close();
  await stopLocalProcess(oxdChild);
  await op?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

async function post(
  path: string,
  body: unknown,
  token?: string,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const answer = await rawHttps(oxd.httpsUrl + path, { dispatcher: agent, body, token });
  return { status: answer.status, json: answer.json as Record<string, unknown> };
}

/** state and nonce of an authorization URL. */
function stateAndNonce(url: unknown): { state: string; nonce: string } {
  const query = new URL(String(url)).searchParams;
  const state = query.get('state');
  const nonce = query.get('nonce');
  if (!state || !nonce) throw new Error(`no state or nonce in ${String(url)}`);
  return { state, nonce };
}

/** Socket (3.x): registers a site, starts a login, exchanges a code with `fault`. */
async function exchangeOnSocket(fault: Fault): Promise<Record<string, unknown>> {
  const registered = await socketCommand(oxd.port, 'register_site', {
    authorization_redirect_uri: REDIRECT,
  });
  expect(registered.status).toBe('ok');
  const oxdId = (registered.data as { oxd_id: string }).oxd_id;
  const rp = await socketCommand(oxd.port, 'get_rp', { oxd_id: oxdId });
  const clientId = (rp.data as { node: { client_id: string } }).node.client_id;
  const url = await socketCommand(oxd.port, 'get_authorization_url', { oxd_id: oxdId });
  const { state, nonce } = stateAndNonce(
    (url.data as { authorization_url: string }).authorization_url,
  );
  const code = op.issueCode(clientId, nonce, fault);
  return socketCommand(oxd.port, 'get_tokens_by_code', { oxd_id: oxdId, code, state });
}

/** HTTPS 4.x: the same with a site of its own and its Bearer token. */
async function exchangeOnHttps4(
  fault: Fault,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const registered = await post('/register-site', { redirect_uris: [REDIRECT] });
  expect(registered.status).toBe(200);
  const site = registered.json as { oxd_id: string; client_id: string; client_secret: string };
  const token = await post('/get-client-token', {
    client_id: site.client_id,
    client_secret: site.client_secret,
    scope: ['oxd'],
  });
  expect(token.status).toBe(200);
  const bearer = String(token.json.access_token);
  const url = await post('/get-authorization-url', { oxd_id: site.oxd_id }, bearer);
  expect(url.status).toBe(200);
  const { state, nonce } = stateAndNonce(url.json.authorization_url);
  const code = op.issueCode(site.client_id, nonce, fault);
  return post('/get-tokens-by-code', { oxd_id: site.oxd_id, code, state }, bearer);
}

describe('get_tokens_by_code with a faulty id_token from the OP', () => {
  test('get_tokens_by_code - accepts the scripted OP id_token when it has no fault', async () => {
    const socket = await exchangeOnSocket('none');
    expect(socket).toMatchObject({
      status: 'ok',
      data: { id_token_claims: { sub: ['subject-1'] } },
    });
    const https = await exchangeOnHttps4('none');
    expect(https).toMatchObject({ status: 200, json: { id_token_claims: { sub: 'subject-1' } } });
  });

  test.each(FAULTS)(
    'get_tokens_by_code (socket) - id_token fault %s answers its oxd error',
    async (fault) => {
      expect(await exchangeOnSocket(fault)).toEqual({
        status: 'error',
        data: { error: EXPECTED[fault], error_description: expect.any(String), details: null },
      });
    },
  );

  test.each(FAULTS)(
    'get_tokens_by_code (4.x) - id_token fault %s is HTTP 500 with its oxd error',
    async (fault) => {
      expect(await exchangeOnHttps4(fault)).toEqual({
        status: 500,
        json: { error: EXPECTED[fault], error_description: expect.any(String) },
      });
    },
  );
});
