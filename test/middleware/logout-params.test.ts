/**
 * `logoutParams`: extra parameters on the OP's end-session URL, from the option and per
 * `req.oxd.logout()` call; those the logout sets itself are refused. Express 5, Express 4
 * and Connect, against the local OP and oxd.
 */
import request from 'supertest';
import { OxdConfigError, oxdAuth, type OxdAuthOptions } from '../../src';
import { useLocalStack } from '../helpers/local-stack';
import { followOpLogout, OpCookieJar } from '../../src/testing/op-login';
import { buildApp, FRAMEWORKS, type Framework } from '../fixtures/apps';
import { APP_ORIGIN, clientFor, configFor, HTML, logIn } from '../helpers/stack-fixture';
import { capturingLogger } from '../helpers/capture-logger';

const stack = useLocalStack();
const closers: (() => Promise<void>)[] = [];

afterAll(async () => {
  await Promise.all(closers.map((close) => close()));
});

function agentFor(framework: Framework, options: Partial<OxdAuthOptions>) {
  const { client, counter } = clientFor(stack, 'socket');
  closers.push(() => client.close());
  const handler = oxdAuth({ config: configFor(stack, 'socket'), client, ...options });
  return { agent: request.agent(buildApp(framework, handler)), counter };
}

const logoutParams = (params: Record<string, string>) =>
  `/app-logout?logoutParams=${encodeURIComponent(JSON.stringify(params))}`;

describe.each(FRAMEWORKS)('%s', (framework) => {
  test('the option and the call add parameters to the end-session URL; the OP takes them', async () => {
    const { agent } = agentFor(framework, { logoutParams: { ui_locales: 'fr', audience: 'a' } });
    const jar = new OpCookieJar();
    await logIn(agent, stack, '/login', jar);
    const out = await agent.get('/logout').set('Accept', HTML);
    const url = new URL(out.headers.location as string);
    expect(url.origin).toBe(stack.op.issuer);
    expect(url.searchParams.get('ui_locales')).toBe('fr');
    expect(url.searchParams.get('audience')).toBe('a');
    // The flow's own parameters are still there, once.
    expect(url.searchParams.getAll('state')).toHaveLength(1);
    expect(url.searchParams.getAll('id_token_hint')).toHaveLength(1);
    expect(url.searchParams.get('post_logout_redirect_uri')).toBe(`${APP_ORIGIN}/logged-out`);
    const done = await followOpLogout(url.href, stack.op.ca, jar);
    expect(done.location.href.startsWith(`${APP_ORIGIN}/logged-out`)).toBe(true);

    // Per call: the call's values win over the option's.
    await logIn(agent, stack, '/login', new OpCookieJar());
    const call = await agent.get(logoutParams({ ui_locales: 'de', logout_hint: 'jane' }));
    const callUrl = new URL(call.headers.location as string);
    expect(callUrl.searchParams.get('ui_locales')).toBe('de');
    expect(callUrl.searchParams.get('logout_hint')).toBe('jane');
    expect(callUrl.searchParams.get('audience')).toBe('a');
  });

  test('a call naming a parameter the logout sets is refused and logged, and the login kept', async () => {
    const logger = capturingLogger();
    const { agent } = agentFor(framework, { logger });
    await logIn(agent, stack);
    const refused = await agent
      .get(logoutParams({ state: 'mine' }))
      .set('Accept', 'application/json');
    expect(refused.status).toBe(500);
    expect((await agent.get('/api/me').set('Accept', 'application/json')).status).toBe(200);
    expect(logger.summary()).toEqual([['error', 'OXD_CONFIG_INVALID', 'logout', 500, undefined]]);
  });
});

describe('logoutParams option', () => {
  const CONFIG = {
    oxd: { host: '127.0.0.1', port: 1 },
    client: { opHost: 'https://127.0.0.1:2', authorizationRedirectUri: 'https://app.example/cb' },
  };
  test.each<[string, unknown, string]>([
    ['state', { state: 'x' }, 'logoutParams.state: is set by the logout itself'],
    ['id_token_hint', { id_token_hint: 'x' }, 'logoutParams.id_token_hint: is set by the logout'],
    [
      'post_logout_redirect_uri',
      { post_logout_redirect_uri: 'https://evil.example/' },
      'logoutParams.post_logout_redirect_uri: is set by the logout',
    ],
    [
      'a non-string value',
      { ui_locales: 5 },
      'logoutParams.ui_locales: must be a non-empty string',
    ],
    ['a control character', { ui_locales: 'fr\nx' }, 'logoutParams.ui_locales: must be'],
    ['a list', ['ui_locales'], 'logoutParams: must be an object'],
  ])('refuses %s at start-up', (_name, logoutParams, message) => {
    let thrown: unknown;
    try {
      oxdAuth({ config: CONFIG, logoutParams: logoutParams as Record<string, string> });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(OxdConfigError);
    expect((thrown as OxdConfigError).key).toBe('logoutParams');
    expect((thrown as Error).message).toContain(`oxdAuth option ${message}`);
  });
});
