/**
 * `req.oxd.refresh({ scope })`: oxd's `scope` parameter of
 * `get_access_token_by_refresh_token`; the new tokens replace the session's, through the
 * same single flight. Express 5, Express 4 and Connect, against the local OP and oxd.
 */
import request from 'supertest';
import { oxdAuth, type OxdAuthHandler } from '../../src';
import type { OxdReply, OxdRequest, Transport } from '../../src/oxd/transport';
import { useLocalStack } from '../helpers/local-stack';
import { buildApp, FRAMEWORKS, type Framework } from '../fixtures/apps';
import { clientFor, configFor, HTML, logIn } from '../helpers/stack-fixture';

const JSON_ACCEPT = 'application/json';
const stack = useLocalStack();
const handlers: OxdAuthHandler[] = [];

afterAll(async () => {
  await Promise.all(handlers.map((handler) => handler.client.close()));
});

/** The `scope` parameters of the refresh commands sent, in order (`null`: none). */
function agentFor(framework: Framework) {
  const { client, counter } = clientFor(stack, 'socket');
  const scopes: unknown[] = [];
  const send = counter.send.bind(counter);
  (counter as Transport).send = (req: OxdRequest): Promise<OxdReply> => {
    if (req.command === 'get_access_token_by_refresh_token') {
      scopes.push((req.params as { scope?: unknown }).scope ?? null);
    }
    return send(req);
  };
  const handler = oxdAuth({ config: configFor(stack, 'socket'), client });
  handlers.push(handler);
  return { agent: request.agent(buildApp(framework, handler)), scopes, counter };
}

describe.each(FRAMEWORKS)('%s', (framework) => {
  test('a refresh with a narrower scope: new tokens in the session, fewer claims at UserInfo', async () => {
    const { agent, scopes } = agentFor(framework);
    await logIn(agent, stack);
    const wide = await agent.get('/userinfo').set('Accept', JSON_ACCEPT);
    expect(wide.body).toMatchObject({ email: 'jane.doe@example.com' });
    expect(wide.body.name).toBeDefined();

    const before = (await agent.get('/profile').set('Accept', HTML)).body;
    const narrow = await agent.get('/refresh-scope?scope=openid%20email');
    expect(narrow.status).toBe(200);
    expect(scopes).toEqual([['openid', 'email']]);
    // The session keeps the new token: the next request uses it.
    const userInfo = await agent.get('/userinfo').set('Accept', JSON_ACCEPT);
    expect(userInfo.status).toBe(200);
    expect(userInfo.body.email).toBe('jane.doe@example.com');
    expect(userInfo.body.name).toBeUndefined();
    // The login's own claims are what they were.
    expect((await agent.get('/profile').set('Accept', HTML)).body.user).toEqual(before.user);

    // Without scope nothing is sent for it, as before.
    expect((await agent.get('/refresh-scope')).status).toBe(200);
    expect(scopes).toEqual([['openid', 'email'], null]);
  });

  test('concurrent refreshes of one session, one with a scope, each use the latest refresh token', async () => {
    const { agent, scopes, counter } = agentFor(framework);
    await logIn(agent, stack);
    const release = counter.hold('get_access_token_by_refresh_token');
    const plain = agent.get('/refresh-scope').then((res) => res);
    const both = Promise.all([plain, agent.get('/refresh-scope?scope=openid').then((r) => r)]);
    while (counter.count('get_access_token_by_refresh_token') === 0) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
    // The scoped one waits for the one in flight rather than sending the same token again.
    expect(counter.count('get_access_token_by_refresh_token')).toBe(1);
    release();
    const [first, second] = await both;
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    expect(scopes).toEqual([null, ['openid']]);
    expect(second.body.accessToken).not.toBe(first.body.accessToken);
  });

  test('a scope that is not scope names is refused before oxd is asked', async () => {
    const { agent, scopes } = agentFor(framework);
    await logIn(agent, stack);
    const bad = await agent.get('/refresh-scope?scope=%22quoted%22').set('Accept', JSON_ACCEPT);
    expect(bad.status).toBe(500);
    expect(scopes).toEqual([]);
    expect((await agent.get('/api/me').set('Accept', JSON_ACCEPT)).status).toBe(200);
  });
});
