/**
 * Logging out against the local OP and oxd, in Express 5, Express 4 and Connect: after
 * update_site changed the post-logout URI, with an OP that has no end-session endpoint, and
 * the logout options (local-only, returnTo, `req.oxd.logout()`).
 */
import request from 'supertest';
import { oxdAuth, type OxdAuthOptions } from '../../src';
import type { WriteBackValues } from '../../src/config/types';
import { resolveConfig } from '../../src/config/resolve';
import { OxdClient } from '../../src/oxd/client';
import { useLocalStack, dedicatedStack } from '../helpers/local-stack';
import {
  followOpLogout,
  OpCookieJar,
  resumeOpSession,
  submitOpLogin,
} from '../../src/testing/op-login';
import { buildApp, FRAMEWORKS, type Framework } from '../fixtures/apps';
import {
  APP_ORIGIN,
  appPath,
  configFor,
  countingTransport,
  firstUser,
  HTML,
  logIn,
  type Agent,
  type LocalStack,
  type TransportName,
} from '../helpers/stack-fixture';

const stack = useLocalStack();
const clients: OxdClient[] = [];

afterAll(async () => {
  await Promise.all(clients.map((client) => client.close()));
});

/** A client registering its own site, whose write-backs land in `saved`. */
function siteClient(
  transport: TransportName,
  target: LocalStack = stack,
): { client: OxdClient; saved: WriteBackValues[] } {
  const saved: WriteBackValues[] = [];
  const client = new OxdClient(resolveConfig(configFor(target, transport)), {
    transport: countingTransport(target, transport),
    writeBack: async (values) => {
      saved.push(values);
    },
  });
  clients.push(client);
  return { client, saved };
}

/** The fixture app (its `/app-logout` page calls `req.oxd.logout()`) with a supertest agent. */
function appWith(
  framework: Framework,
  options: Partial<OxdAuthOptions> & { client: OxdClient },
  target: LocalStack = stack,
  transport: TransportName = 'socket',
): Agent {
  const handler = oxdAuth({ config: configFor(target, transport), ...options });
  return request.agent(buildApp(framework, handler));
}

describe.each(['socket', 'https4'] as const)('after update_site, over %s', (transport) => {
  test.each(FRAMEWORKS)(
    '%s - logout sends the registered post-logout URI and the OP ends its session',
    async (framework) => {
      const { client, saved } = siteClient(transport);
      const agent: Agent = appWith(framework, { client }, stack, transport);
      const jar = new OpCookieJar();
      expect((await logIn(agent, stack, '/login', jar)).status).toBe(302);

      const changed = `${APP_ORIGIN}/goodbye-${framework}`;
      await client.updateSite(
        transport === 'https4'
          ? { post_logout_redirect_uris: [changed] }
          : { post_logout_redirect_uri: changed },
      );
      expect(client.postLogoutRedirectUri).toBe(changed);
      expect(saved.at(-1)?.client?.post_logout_redirect_uri).toBe(changed);

      const logout = await agent.get('/logout').set('Accept', HTML);
      expect(logout.status).toBe(302);
      const endSession = new URL(logout.headers.location as string);
      expect(endSession.searchParams.get('post_logout_redirect_uri')).toBe(changed);
      const atOp = await followOpLogout(endSession.href, stack.op.ca, jar);
      expect(atOp.location.href.startsWith(changed)).toBe(true);

      // The OP session is gone: the next login asks for the password again.
      const login = await agent.get('/login').set('Accept', HTML);
      await expect(
        resumeOpSession(login.headers.location as string, stack.op.ca, jar),
      ).rejects.toThrow(/login form/);
      await expect(
        submitOpLogin(login.headers.location as string, firstUser(stack), stack.op.ca, jar),
      ).resolves.toBeInstanceOf(URL);
    },
  );
});

describe('an OP without end_session_endpoint', () => {
  let bare: LocalStack;
  beforeAll(async () => {
    bare = await dedicatedStack({ endSession: false });
  }, 180_000);
  afterAll(async () => {
    await bare?.close();
  });

  describe.each(['socket', 'https4'] as const)('over %s', (transport) => {
    test.each(FRAMEWORKS)(
      '%s - logout ends the local session and lands on the post-logout URI',
      async (framework) => {
        const { client } = siteClient(transport, bare);
        const agent = appWith(framework, { client }, bare, transport);
        expect((await logIn(agent, bare)).status).toBe(302);
        const logout = await agent.get('/logout').set('Accept', HTML);
        expect(logout.status).toBe(302);
        expect(logout.headers.location).toBe(`${APP_ORIGIN}/logged-out`);
        expect((await agent.get('/').set('Accept', HTML)).text).toBe('home');

        // With a returnTo, there instead.
        expect((await logIn(agent, bare)).status).toBe(302);
        const back = await agent.get('/logout?returnTo=/after').set('Accept', HTML);
        expect(back.headers.location).toBe('/after');
        expect((await agent.get('/').set('Accept', HTML)).text).toBe('home');
      },
    );
  });
});

describe.each(FRAMEWORKS)('logout options, %s', (framework) => {
  test('idpLogout false: only the local session ends, without asking oxd', async () => {
    const counter = countingTransport(stack, 'socket');
    const counted = new OxdClient(resolveConfig(configFor(stack, 'socket')), {
      transport: counter,
      writeBack: false,
    });
    clients.push(counted);
    const agent = appWith(framework, { client: counted, idpLogout: false });
    const jar = new OpCookieJar();
    expect((await logIn(agent, stack, '/login', jar)).status).toBe(302);
    const logout = await agent.get('/logout').set('Accept', HTML);
    expect(logout.status).toBe(302);
    expect(logout.headers.location).toBe('/');
    expect(counter.count('get_logout_uri')).toBe(0);
    expect((await agent.get('/').set('Accept', HTML)).text).toBe('home');
    // The OP session is still there: the next login needs no password.
    const login = await agent.get('/login').set('Accept', HTML);
    await expect(
      resumeOpSession(login.headers.location as string, stack.op.ca, jar),
    ).resolves.toBeInstanceOf(URL);
  });

  test('returnTo after an OP logout comes back through the post-logout URI', async () => {
    const { client } = siteClient('socket');
    const agent = appWith(framework, { client });
    const jar = new OpCookieJar();
    expect((await logIn(agent, stack, '/login', jar)).status).toBe(302);
    const logout = await agent.get('/logout?returnTo=/profile%3Ftab%3D2').set('Accept', HTML);
    const endSession = new URL(logout.headers.location as string);
    expect(endSession.origin).toBe(stack.op.issuer);
    const atOp = await followOpLogout(endSession.href, stack.op.ca, jar);
    expect(atOp.location.pathname).toBe('/logged-out');
    const landing = await agent.get(appPath(atOp.location)).set('Accept', HTML);
    expect(landing.status).toBe(302);
    expect(landing.headers.location).toBe('/profile?tab=2');
    // Logged out here and at the OP.
    expect((await agent.get('/profile').set('Accept', HTML)).status).toBe(302);
    const login = await agent.get('/login').set('Accept', HTML);
    await expect(
      resumeOpSession(login.headers.location as string, stack.op.ca, jar),
    ).rejects.toThrow(/login form/);
  });

  test('returnTo is validated like the login one', async () => {
    const { client } = siteClient('socket');
    const agent = appWith(framework, { client, idpLogout: false });
    for (const target of ['https://evil.example/', '//evil.example', '/\\evil.example']) {
      expect((await logIn(agent, stack)).status).toBe(302);
      const logout = await agent
        .get(`/logout?returnTo=${encodeURIComponent(target)}`)
        .set('Accept', HTML);
      expect(logout.headers.location).toBe('/');
    }
    // A landing whose state carries an unsafe path is left to the application.
    const forged = Buffer.from('//evil.example', 'utf8').toString('base64url');
    const landing = await agent
      .get(`/logged-out?state=${'a'.repeat(22)}.${forged}`)
      .set('Accept', HTML);
    expect(landing.headers.location).toBeUndefined();
  });

  test('req.oxd.logout({ returnTo, idpLogout }) from an application route', async () => {
    const { client } = siteClient('socket');
    const agent = appWith(framework, { client });
    const jar = new OpCookieJar();
    expect((await logIn(agent, stack, '/login', jar)).status).toBe(302);
    const local = await agent.get('/app-logout?returnTo=/bye&idpLogout=false').set('Accept', HTML);
    expect(local.status).toBe(302);
    expect(local.headers.location).toBe('/bye');
    expect((await agent.get('/').set('Accept', HTML)).text).toBe('home');

    const login = await agent.get('/login').set('Accept', HTML);
    const callback = await resumeOpSession(login.headers.location as string, stack.op.ca, jar);
    expect((await agent.get(appPath(callback)).set('Accept', HTML)).status).toBe(302);
    const full = await agent.get('/app-logout?returnTo=/bye&idpLogout=true').set('Accept', HTML);
    const endSession = new URL(full.headers.location as string);
    expect(endSession.origin).toBe(stack.op.issuer);
    const atOp = await followOpLogout(endSession.href, stack.op.ca, jar);
    const landing = await agent.get(appPath(atOp.location)).set('Accept', HTML);
    expect(landing.headers.location).toBe('/bye');
  });
});

describe.each(FRAMEWORKS)('front-channel logout over https4, %s', (framework) => {
  test('ends the session only on the OP’s iss and sid', async () => {
    const { client } = siteClient('https4');
    const jar = new OpCookieJar();
    const user = appWith(framework, { client }, stack, 'https4');
    expect((await logIn(user, stack, '/login', jar)).status).toBe(302);
    const loggedIn = `home, logged in as 248289761001`;

    // Links on other sites: no parameters, only iss, a wrong sid.
    for (const query of ['', `?iss=${encodeURIComponent(stack.op.issuer)}`, '?sid=guess']) {
      const page = await user.get(`/frontchannel-logout${query}`).set('Accept', HTML);
      expect(page.status).toBe(200);
      expect((await user.get('/').set('Accept', HTML)).text).toBe(loggedIn);
    }
    const wrongSid = await user
      .get(`/frontchannel-logout?iss=${encodeURIComponent(stack.op.issuer)}&sid=guess`)
      .set('Accept', HTML);
    expect(wrongSid.status).toBe(200);
    expect((await user.get('/').set('Accept', HTML)).text).toBe(loggedIn);

    // The same OP session logs out through another session of the site: the OP's page
    // loads the front-channel URI with iss and sid.
    const other = appWith(framework, { client }, stack, 'https4');
    const login = await other.get('/login').set('Accept', HTML);
    const back = await resumeOpSession(login.headers.location as string, stack.op.ca, jar);
    expect((await other.get(appPath(back)).set('Accept', HTML)).status).toBe(302);
    const logout = await other.get('/logout').set('Accept', HTML);
    const atOp = await followOpLogout(logout.headers.location as string, stack.op.ca, jar);
    const [frame] = atOp.frontchannelLogoutUris;
    expect(frame?.searchParams.get('iss')).toBe(stack.op.issuer);
    expect(frame?.searchParams.get('sid')).toBeTruthy();
    const ended = await user.get(appPath(frame as URL)).set('Accept', HTML);
    expect(ended.status).toBe(200);
    expect((await user.get('/').set('Accept', HTML)).text).toBe('home');
  });
});
