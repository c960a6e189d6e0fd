/**
 * The local stack with the real `OxdClient` on each dialect (oxd 3.x socket, HTTPS 4.x,
 * HTTPS 3.x /v3/): a complete OpenID Connect login through the OP's login form, and the
 * UMA round trip including need_info and claims gathering. Plus the start/stop cycle check
 * of `startLocalOp` + `startLocalOxd` in a child process.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { resolveConfig } from '../../src/config/resolve';
import { OxdCommandError } from '../../src/errors';
import type { UmaResource } from '../../src/oxd/commands';
import { OxdClient } from '../../src/oxd/client';
import { ROOT } from '../helpers/build';
import { useLocalStack } from '../helpers/local-stack';
import { submitOpLogin } from '../../src/testing/op-login';

const RP = 'https://rp.example';
const VIEW = 'https://photoz.example/dev/actions/view';
const ALL = 'https://photoz.example/dev/actions/all';
const ADD = 'https://photoz.example/dev/actions/add';
const INTERNAL = 'https://photoz.example/dev/actions/internalClient';
const PRIVATE = 'https://photoz.example/dev/actions/private';
const JANE_EMAIL = 'jane.doe@example.com';

const RESOURCES: UmaResource[] = [
  {
    path: '/photos',
    conditions: [
      { httpMethods: ['GET'], scopes: [VIEW] },
      { httpMethods: ['PUT', 'POST'], scopes: [ALL, ADD], ticketScopes: [ADD] },
    ],
  },
  {
    path: '/admin',
    conditions: [
      {
        httpMethods: ['GET'],
        scope_expression: {
          rule: { and: [{ or: [{ var: 0 }, { var: 1 }] }, { var: 2 }] },
          data: [ALL, ADD, INTERNAL],
        },
      },
    ],
  },
  { path: '/private', conditions: [{ httpMethods: ['GET'], scopes: [PRIVATE] }] },
];

type Dialect = 'socket' | 'https4' | 'https3';

const stack = useLocalStack({
  umaClaimsPolicy: {
    [PRIVATE]: [{ name: 'email', friendly_name: 'email', value: JANE_EMAIL }],
  },
});
const clients: OxdClient[] = [];

afterAll(async () => {
  await Promise.all(clients.map((client) => client.close()));
});

/** A client of the local stack for one dialect; `name` keeps sites apart. */
function clientFor(dialect: Dialect, name: string): OxdClient {
  const client = {
    opHost: stack.op.issuer,
    authorizationRedirectUri: `${RP}/${name}/callback`,
    postLogoutRedirectUri: `${RP}/${name}/logged-out`,
    scope: ['openid', 'profile', 'email'],
  };
  const oxd =
    dialect === 'socket'
      ? { host: stack.oxd.host, port: stack.oxd.port }
      : {
          host: dialect === 'https3' ? `${stack.oxd.httpsUrl}/v3` : stack.oxd.httpsUrl,
          https: true,
          serverVersion: dialect === 'https3' ? 3 : 4,
          ca: stack.oxd.ca,
        };
  const created = new OxdClient(resolveConfig({ oxd, client }), { writeBack: false });
  clients.push(created);
  return created;
}

/** The first value of a claim, whatever the dialect's shape (3.x lists, 4.x scalars). */
function first(value: unknown): unknown {
  return Array.isArray(value) ? value[0] : value;
}

async function commandError(promise: Promise<unknown>): Promise<OxdCommandError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof OxdCommandError) return err;
    throw err;
  }
  throw new Error('expected the command to fail');
}

/** Fills in the UMA claims-gathering page like a user and returns where it redirects. */
async function gatherClaims(url: string, claims: Record<string, string>): Promise<URL> {
  const agent = new Agent({ connect: { ca: stack.oxd.ca } });
  try {
    const page = await request(url, { dispatcher: agent });
    const html = await page.body.text();
    expect(page.statusCode).toBe(200);
    const ticket = /name="ticket" value="([^"]+)"/.exec(html)?.[1];
    const action = /<form method="post" action="([^"]+)"/.exec(html)?.[1];
    if (!ticket || !action) throw new Error(`no claims form on the page:\n${html}`);
    const answer = await request(new URL(action, url), {
      method: 'POST',
      dispatcher: agent,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ ticket, ...claims }).toString(),
    });
    await answer.body.dump();
    expect(answer.statusCode).toBe(302);
    return new URL(String(answer.headers.location));
  } finally {
    await agent.close();
  }
}

describe.each<Dialect>(['socket', 'https4', 'https3'])('OxdClient over %s', (dialect) => {
  test('login - registers, logs jane in at the OP and uses every token', async () => {
    const oxd = clientFor(dialect, `login-${dialect}`);
    const oxdId = await oxd.register();
    expect(oxdId).toMatch(/^[0-9a-f-]{36}$/);

    const { authorization_url } = await oxd.getAuthorizationUrl();
    const jane = stack.op.users.find((user) => user.username === 'jane');
    if (!jane) throw new Error('the local OP has no user jane');
    const callback = await submitOpLogin(authorization_url, jane, stack.op.ca);
    expect(callback.origin + callback.pathname).toBe(`${RP}/login-${dialect}/callback`);
    const code = callback.searchParams.get('code') ?? '';
    const state = callback.searchParams.get('state') ?? '';

    const tokens = await oxd.getTokensByCode({ code, state });
    expect(tokens.access_token).toEqual(expect.any(String));
    expect(tokens.id_token.split('.')).toHaveLength(3);
    expect(tokens.refresh_token).toEqual(expect.any(String));
    expect(first(tokens.id_token_claims.sub)).toBe(jane.claims.sub);
    expect(first(tokens.id_token_claims.email)).toBe(JANE_EMAIL);
    if (dialect === 'https4') expect(tokens.id_token_claims.sub).toBe(jane.claims.sub);
    else expect(tokens.id_token_claims.sub).toEqual([jane.claims.sub]);

    // The state was used once.
    const replay = await commandError(oxd.getTokensByCode({ code, state }));
    expect(replay.error).toBe('bad_request');
    expect(replay.error_description).toBe("'state' is not registered.");

    const info = await oxd.getUserInfo({ access_token: tokens.access_token });
    expect(first(info.claims.sub)).toBe(jane.claims.sub);
    expect(first(info.claims.name)).toBe('Jane Doe');

    const refreshed = await oxd.getAccessTokenByRefreshToken({
      refresh_token: tokens.refresh_token ?? '',
    });
    expect(refreshed.access_token).not.toBe(tokens.access_token);
    const afterRefresh = await oxd.getUserInfo({ access_token: refreshed.access_token });
    expect(first(afterRefresh.claims.sub)).toBe(jane.claims.sub);

    const introspection = await oxd.introspectAccessToken({ access_token: refreshed.access_token });
    expect(introspection).toMatchObject({ active: true, sub: jane.claims.sub });
    const bogus = await oxd.introspectAccessToken({ access_token: 'not-a-token' });
    expect(bogus.active).toBe(false);

    const { uri } = await oxd.getLogoutUri({ id_token_hint: tokens.id_token, state: 'bye' });
    const logout = new URL(uri);
    expect(logout.origin + logout.pathname).toBe(`${stack.op.issuer}/session/end`);
    expect(Object.fromEntries(logout.searchParams)).toEqual({
      post_logout_redirect_uri: `${RP}/login-${dialect}/logged-out`,
      state: 'bye',
      // The default profile answers 3.x as 3.1.4 (hint ignored), 4.x as 4.2 (hint appended).
      ...(dialect === 'https4' ? { id_token_hint: tokens.id_token } : {}),
    });
  });

  test('login - get_authorization_code logs in without a browser', async () => {
    const oxd = clientFor(dialect, `code-${dialect}`);
    if (dialect === 'https3') {
      // oxd-https-extension 3.1.x serves no /get-authorization-code (its RestResource).
      const missing = await commandError(
        oxd.getAuthorizationCode({ username: 'john', password: 'john-password' }),
      );
      expect(missing.error).toBe('http_status_404');
      return;
    }
    const { code } = await oxd.getAuthorizationCode({
      username: 'john',
      password: 'john-password',
      state: `state-${dialect}`,
    });
    const tokens = await oxd.getTokensByCode({ code, state: `state-${dialect}` });
    expect(first(tokens.id_token_claims.preferred_username)).toBe('john');
    const status = await oxd.checkIdToken({ id_token: tokens.id_token });
    expect(status.active).toBe(true);
    const wrong = await commandError(
      oxd.getAuthorizationCode({ username: 'john', password: 'wrong' }),
    );
    expect(wrong.error).toBe('bad_request');
  });

  test('uma - protect, ticket, RPT, grant, denial, scope expression, need_info and claims gathering', async () => {
    const rs = clientFor(dialect, `rs-${dialect}`);
    const rp = clientFor(dialect, `rp-${dialect}`);
    await rs.umaRsProtect({ resources: RESOURCES });
    const again = await commandError(rs.umaRsProtect({ resources: RESOURCES }));
    expect(again.error).toBe('uma_protection_exists');
    await rs.umaRsProtect({ resources: RESOURCES, overwrite: true });

    // No RPT: denied with a ticket and the WWW-Authenticate header.
    const denied = await rs.umaRsCheckAccess({ rpt: '', path: '/photos', http_method: 'GET' });
    expect(denied.access).toBe('denied');
    expect(denied['www-authenticate_header']).toBe(
      `UMA realm="rs",as_uri="${stack.oxd.httpsUrl}",error="insufficient_scope",ticket="${denied.ticket}"`,
    );
    const rpt = await rp.umaRpGetRpt({ ticket: denied.ticket ?? '' });
    expect(rpt).toMatchObject({ access_token: expect.any(String), token_type: 'Bearer' });

    expect(
      await rs.umaRsCheckAccess({ rpt: rpt.access_token, path: '/photos', http_method: 'GET' }),
    ).toMatchObject({ access: 'granted' });
    const introspected = await rs.introspectRpt({ rpt: rpt.access_token });
    expect(introspected.active).toBe(true);
    expect(introspected.permissions?.[0]?.resource_scopes).toEqual([VIEW]);

    // The view permission does not cover POST: denied, with the POST ticket scopes.
    const post = await rs.umaRsCheckAccess({
      rpt: rpt.access_token,
      path: '/photos',
      http_method: 'POST',
    });
    expect(post).toMatchObject({ access: 'denied', ticket: expect.any(String) });

    const unprotected = await commandError(
      rs.umaRsCheckAccess({ rpt: '', path: '/nowhere', http_method: 'GET' }),
    );
    expect(unprotected.error).toBe('invalid_request');

    // Scope expression: (all or add) and internalClient; the ticket asks for all three.
    const adminTicket = await rs.umaRsCheckAccess({ rpt: '', path: '/admin', http_method: 'GET' });
    // oxd keeps one RPT per site and hands it back while it is valid, whatever the ticket
    // (UmaTokenService.getRpt; the release profiles do so too): one site per RPT here.
    const adminRpt = await clientFor(dialect, `rp-admin-${dialect}`).umaRpGetRpt({
      ticket: adminTicket.ticket ?? '',
    });
    expect(
      await rs.umaRsCheckAccess({ rpt: adminRpt.access_token, path: '/admin', http_method: 'GET' }),
    ).toMatchObject({ access: 'granted' });
    if (dialect === 'https4') {
      // An RPT holding only "all" fails the expression.
      const partial = await rs.umaRsCheckAccess({
        rpt: '',
        path: '/admin',
        http_method: 'GET',
        scopes: [ALL],
      });
      const partialRpt = await clientFor(dialect, 'rp-partial-https4').umaRpGetRpt({
        ticket: partial.ticket ?? '',
      });
      expect(
        await rs.umaRsCheckAccess({
          rpt: partialRpt.access_token,
          path: '/admin',
          http_method: 'GET',
        }),
      ).toMatchObject({ access: 'denied' });
    }

    // need_info: the private scope needs jane's e-mail, gathered on the AS page.
    const privateTicket = await rs.umaRsCheckAccess({
      rpt: '',
      path: '/private',
      http_method: 'GET',
    });
    const privateRp = clientFor(dialect, `rp-private-${dialect}`);
    const needInfo = await commandError(
      privateRp.umaRpGetRpt({ ticket: privateTicket.ticket ?? '' }),
    );
    expect(needInfo.error).toBe('need_info');
    const details = needInfo.details as { ticket: string; required_claims: { name: string }[] };
    expect(details.required_claims.map((claim) => claim.name)).toEqual(['email']);
    const gathering = await privateRp.umaRpGetClaimsGatheringUrl({
      ticket: details.ticket,
      claims_redirect_uri: `${RP}/rp-${dialect}/claims`,
    });
    const back = await gatherClaims(gathering.url, { email: JANE_EMAIL });
    expect(back.origin + back.pathname).toBe(`${RP}/rp-${dialect}/claims`);
    expect(back.searchParams.get('state')).toBe(gathering.state);
    const privateRpt = await privateRp.umaRpGetRpt({
      ticket: back.searchParams.get('ticket') ?? '',
      state: back.searchParams.get('state') ?? '',
    });
    expect(
      await rs.umaRsCheckAccess({
        rpt: privateRpt.access_token,
        path: '/private',
        http_method: 'GET',
      }),
    ).toMatchObject({ access: 'granted' });
  });
});

test('uma - protected resources survive an oxd restart', async () => {
  const rs = clientFor('https4', 'rs-restart');
  await rs.umaRsProtect({ resources: RESOURCES });
  await stack.stopOxd();
  await stack.startOxd();
  const denied = await rs.umaRsCheckAccess({ rpt: '', path: '/photos', http_method: 'GET' });
  expect(denied).toMatchObject({ access: 'denied', ticket: expect.any(String) });
}, 60_000);

test('startLocalOp + startLocalOxd - 20 start/stop cycles leave nothing open', async () => {
  const script = `
    const net = require('node:net');
    const { startLocalOp, startLocalOxd } = require(${JSON.stringify(join(ROOT, 'dist', 'testing', 'index.js'))});
    const { encodeFrame } = require(${JSON.stringify(join(ROOT, 'dist', 'oxd', 'framing.js'))});
    function registerSite(port) {
      return new Promise((resolve, reject) => {
        const socket = net.connect(port, '127.0.0.1', () =>
          socket.write(encodeFrame({ command: 'register_site',
            params: { authorization_redirect_uri: 'https://rp.example/cb' } })));
        socket.once('data', (chunk) => { socket.destroy(); resolve(String(chunk)); });
        socket.once('error', reject);
      });
    }
    (async () => {
      for (let i = 0; i < 20; i += 1) {
        const op = await startLocalOp();
        const oxd = await startLocalOxd({ opIssuer: op.issuer, opCa: op.ca, port: 0, httpsPort: 0 });
        const answer = await registerSite(oxd.port);
        if (!answer.includes('"status":"ok"')) throw new Error('register_site failed: ' + answer);
        await oxd.close();
        await op.close();
      }
      process.stdout.write(JSON.stringify(process.getActiveResourcesInfo()) + '\\n');
    })().catch((err) => { process.exitCode = 1; console.error(err); });
  `;
  const child = spawn(process.execPath, ['-e', script], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exit = await new Promise<number | string>((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve('did not exit within 150 s');
    }, 150_000);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(code ?? String(signal));
    });
  });
  expect({ exit, output: output.replace(/^.*Unsupported runtime.*\n/gm, '') }).toEqual({
    exit: 0,
    output: expect.stringMatching(/^\[[^\]]*\]\n$/),
  });
}, 160_000);
