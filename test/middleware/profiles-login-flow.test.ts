/**
 * The same login-flow assertions against every oxd release line the local oxd reproduces
 * (`--oxd-version`), on each transport that release has: 3.1.3 and 3.1.4 over the socket
 * and the https-extension envelope, 4.1 and 4.2 over 4.x REST (4.x has no socket). Login,
 * callback, user info, refresh, logout with `id_token_hint` reaching the OP (appended by the
 * middleware where oxd drops it: 3.1.4 and 4.1), a refresh token the OP refuses (oxd's
 * `internal_error`: the login ends, never a 503), and update_site.
 */
import request from 'supertest';
import { oxdAuth } from '../../src';
import { resolveConfig } from '../../src/config/resolve';
import { OxdClient } from '../../src/oxd/client';
import type { OxdReply, OxdRequest, Transport } from '../../src/oxd/transport';
import { ensureBuilt } from '../helpers/build';
import { dedicatedStack } from '../helpers/local-stack';
import { followOpLogout, OpCookieJar } from '../../src/testing/op-login';
import { buildApp } from '../fixtures/apps';
import {
  type Agent,
  configFor,
  countingTransport,
  HTML,
  type LocalStack,
  logIn,
  PROFILE_CASES,
  type Profile,
} from '../helpers/stack-fixture';
import { capturingLogger } from '../helpers/capture-logger';

const REFRESH = 'get_access_token_by_refresh_token';
/** Access tokens live 2 s, so the refresh test waits for real expiry, briefly. */
const ACCESS_TOKEN_TTL_S = 2;
/** `sub` of the local OP's first user (jane). */
const USER_SUB = '248289761001';

const CASES = PROFILE_CASES;
/** Releases whose get_logout_uri carries the caller's id_token_hint. */
const KEEPS_HINT: Profile[] = ['3.1.3', '4.2'];

const stacks = new Map<Profile, LocalStack>();

beforeAll(async () => {
  await ensureBuilt();
  for (const version of new Set(CASES.map(([version]) => version))) {
    stacks.set(
      version,
      await dedicatedStack({ oxdVersion: version, accessTokenTtl: ACCESS_TOKEN_TTL_S }),
    );
  }
}, 240_000);

afterAll(async () => {
  await Promise.all([...stacks.values()].map((stack) => stack.close()));
});

/**
 * Delegates to a real transport and keeps every reply, by command. With `spoilRefresh` set, a
 * refresh sends a refresh token the OP never issued: the real OP refuses it, the real oxd
 * answers as the release does.
 */
class RecordingTransport implements Transport {
  readonly kind: 'socket' | 'https';
  readonly replies = new Map<string, OxdReply[]>();
  spoilRefresh = false;

  constructor(private readonly inner: Transport) {
    this.kind = inner.kind;
  }

  async send(original: OxdRequest): Promise<OxdReply> {
    const req =
      this.spoilRefresh && original.command === REFRESH
        ? { ...original, params: { ...original.params, refresh_token: 'spoiled-refresh-token' } }
        : original;
    const reply = await this.inner.send(req);
    this.replies.set(req.command, [...(this.replies.get(req.command) ?? []), reply]);
    return reply;
  }

  count(command: string): number {
    return this.replies.get(command)?.length ?? 0;
  }

  lastReply(command: string): OxdReply | undefined {
    return this.replies.get(command)?.at(-1);
  }

  last(command: string): Record<string, unknown> {
    const reply = this.replies.get(command)?.at(-1);
    if (!reply?.ok) throw new Error(`no successful ${command} reply: ${JSON.stringify(reply)}`);
    return reply.data;
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function jwtPayload(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<
    string,
    unknown
  >;
}

describe.each(CASES)('oxd %s over %s', (version, transport) => {
  let stack: LocalStack;
  let recorder: RecordingTransport;
  let client: OxdClient;
  let agent: Agent;
  const jar = new OpCookieJar();

  beforeAll(() => {
    stack = stacks.get(version) as LocalStack;
    const config = configFor(stack, transport);
    recorder = new RecordingTransport(countingTransport(stack, transport));
    client = new OxdClient(resolveConfig(config), { transport: recorder, writeBack: false });
    agent = request.agent(
      buildApp('express5', oxdAuth({ config, client, logger: capturingLogger() })),
    );
  });

  afterAll(async () => {
    await client?.close();
  });

  test('login, callback and user info', async () => {
    const done = await logIn(agent, stack, '/login?returnTo=%2Fprofile', jar);
    expect(done.status).toBe(302);
    expect(done.headers.location).toBe('/profile');
    const profile = await agent.get('/profile').set('Accept', HTML);
    expect(profile.status).toBe(200);
    expect(profile.body.user).toMatchObject({ sub: USER_SUB, email: 'jane.doe@example.com' });
    expect(profile.body.hasRefreshToken).toBe(true);
    const userInfo = await agent.get('/userinfo').set('Accept', 'application/json');
    expect(userInfo.status).toBe(200);
    expect(userInfo.body).toMatchObject({ sub: USER_SUB, email: 'jane.doe@example.com' });
  });

  test('an expired access token is refreshed and the new one works', async () => {
    const before = await agent.get('/profile').set('Accept', HTML);
    await sleep(Math.max(0, (before.body.expiresAt as number) - Date.now()) + 250);
    const refreshes = recorder.count('get_access_token_by_refresh_token');
    const profile = await agent.get('/profile').set('Accept', HTML);
    expect(profile.status).toBe(200);
    expect(profile.body.expired).toBe(false);
    expect(profile.body.expiresAt).toBeGreaterThan(before.body.expiresAt as number);
    expect(recorder.count('get_access_token_by_refresh_token')).toBe(refreshes + 1);
    const userInfo = await agent.get('/userinfo').set('Accept', 'application/json');
    expect(userInfo.status).toBe(200);
    expect(userInfo.body.email).toBe('jane.doe@example.com');
  });

  test(`logout reaches the OP with id_token_hint (${
    KEEPS_HINT.includes(version) ? 'oxd keeps it' : 'oxd drops it, the middleware adds it'
  })`, async () => {
    const logout = await agent.get('/logout').set('Accept', HTML);
    expect(logout.status).toBe(302);
    const endSession = new URL(logout.headers.location as string);
    expect(endSession.origin + endSession.pathname).toBe(`${stack.op.issuer}/session/end`);
    const hint = endSession.searchParams.get('id_token_hint') ?? '';
    expect(jwtPayload(hint)).toMatchObject({ sub: USER_SUB, iss: stack.op.issuer });
    expect(endSession.searchParams.getAll('id_token_hint')).toHaveLength(1);
    const fromOxd = new URL(recorder.last('get_logout_uri').uri as string);
    expect(fromOxd.searchParams.has('id_token_hint')).toBe(KEEPS_HINT.includes(version));
    const atOp = await followOpLogout(endSession.href, stack.op.ca, jar);
    expect(atOp.location.href.startsWith('https://app.example/logged-out')).toBe(true);
    expect((await agent.get('/').set('Accept', HTML)).text).toBe('home');
  });

  test('a refresh token the OP refuses ends the login: 302 to log in, 401 for an API, never 503', async () => {
    const expire = async () => {
      const before = await agent.get('/profile').set('Accept', HTML);
      expect(before.status).toBe(200);
      await sleep(Math.max(0, (before.body.expiresAt as number) - Date.now()) + 250);
    };
    recorder.spoilRefresh = true;
    try {
      expect((await logIn(agent, stack, '/login', new OpCookieJar())).status).toBe(302);
      await expire();
      const page = await agent.get('/profile').set('Accept', HTML);
      // What oxd answers (GetAccessTokenByRefreshTokenOperation): internal_error, every release.
      expect(recorder.lastReply(REFRESH)).toMatchObject({ ok: false, error: 'internal_error' });
      expect(page.status).toBe(302);
      expect(page.headers.location).toBe('/login?returnTo=%2Fprofile');

      expect((await logIn(agent, stack, '/login', new OpCookieJar())).status).toBe(302);
      await expire();
      const refreshes = recorder.count(REFRESH);
      const api = await agent.get('/profile').set('Accept', 'application/json');
      expect(recorder.count(REFRESH)).toBe(refreshes + 1);
      expect(api.status).toBe(401);
    } finally {
      recorder.spoilRefresh = false;
    }
  });

  test('update_site changes the registration', async () => {
    const name = `renamed on ${version} ${transport}`;
    await client.updateSite({ client_name: name });
    // 3.1.3 has no get_rp and the https-extension no /get-rp: read it back over the socket
    // of 3.1.4 only.
    if (version === '3.1.3' || transport === 'https3') return;
    const { node } = await client.getRp();
    expect((node as { client_name?: string }).client_name).toBe(name);
  });
});
