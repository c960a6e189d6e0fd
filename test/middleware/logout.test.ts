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
import { ensureBuilt } from '../helpers/build';
import { startLocalStack } from '../helpers/local-stack';
import { followOpLogout, OpCookieJar, resumeOpSession, submitOpLogin } from '../helpers/op-login';
import { buildApp, FRAMEWORKS, type Framework } from './app-fixture';
import {
  APP_ORIGIN,
  configFor,
  countingTransport,
  firstUser,
  HTML,
  logIn,
  type Agent,
  type LocalStack,
  type TransportName,
} from './stack-fixture';

let stack: LocalStack;
const clients: OxdClient[] = [];

beforeAll(async () => {
  await ensureBuilt();
  stack = await startLocalStack();
}, 180_000);

afterAll(async () => {
  await Promise.all(clients.map((client) => client.close()));
  await stack?.close();
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
