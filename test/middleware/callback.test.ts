/**
 * The login callback as users and attackers reach it, against the local OP and oxd, in
 * Express 5, Express 4 and Connect: replayed and stale callbacks, OP error answers with and
 * without a matching state, a cancelled login, and the RFC 9207 `iss` parameter.
 */
import request from 'supertest';
import { ERROR_CODES, oxdAuth } from '../../src';
import { capturingLogger } from '../helpers/capture-logger';
import { useLocalStack } from '../helpers/local-stack';
import { cancelOpLogin, OpCookieJar } from '../../src/testing/op-login';
import { buildApp, FRAMEWORKS, type Framework } from '../fixtures/apps';
import {
  appPath,
  clientFor,
  configFor,
  HTML,
  startAndSignIn,
  type Agent,
} from '../helpers/stack-fixture';

const USER_SUB = '248289761001';
/** Text an attacker would like the site to show as its own. */
const BAIT = 'Your account is locked. Call +1 555 0100 now';

const stack = useLocalStack();
const closers: (() => Promise<void>)[] = [];

afterAll(async () => {
  await Promise.all(closers.map((close) => close()));
});

function agentFor(framework: Framework): Agent {
  const { client } = clientFor(stack, 'socket');
  closers.push(() => client.close());
  return request.agent(
    buildApp(framework, oxdAuth({ config: configFor(stack, 'socket'), client })),
  );
}

describe.each(FRAMEWORKS)('%s', (framework) => {
  test('a replayed callback while logged in sends the user on; logged out it is refused', async () => {
    const agent = agentFor(framework);
    const callback = appPath(await startAndSignIn(agent, stack, '/login?returnTo=/profile'));
    const first = await agent.get(callback).set('Accept', HTML);
    expect(first.status).toBe(302);
    expect(first.headers.location).toBe('/profile');

    // Back button / reload of the callback URL: no error page under a logged-in header.
    const again = await agent.get(callback).set('Accept', HTML);
    expect(again.status).toBe(302);
    expect(again.headers.location).toBe('/');
    expect((await agent.get('/').set('Accept', HTML)).text).toBe(`home, logged in as ${USER_SUB}`);
    // A stale or unknown state while logged in: the same.
    const stale = await agent.get('/callback?code=old&state=expired-long-ago').set('Accept', HTML);
    expect(stale.status).toBe(302);
    expect(stale.headers.location).toBe('/');

    // Nobody logged in: still refused.
    const stranger = agentFor(framework);
    const refused = await stranger.get(callback).set('Accept', HTML);
    expect(refused.status).toBe(400);
    expect(refused.text).toContain(ERROR_CODES.STATE_MISMATCH);
  });

  test('an OP error without a matching state shows a generic page, never the given text', async () => {
    const agent = agentFor(framework);
    // A login is in progress, so the session exists; the link carries another state.
    await agent.get('/login').set('Accept', HTML);
    const description = encodeURIComponent(BAIT);
    for (const query of [
      `error=access_denied&error_description=${description}`,
      `error=server_error&error_description=${description}&state=not-ours`,
    ]) {
      const page = await agent.get(`/callback?${query}`).set('Accept', HTML);
      expect(page.status).toBe(400);
      expect(page.text).toContain('Login could not be completed');
      expect(page.text).not.toContain('locked');
      expect(page.text).not.toContain('555');
      const json = await agent.get(`/callback?${query}`).set('Accept', 'application/json');
      expect(json.status).toBe(400);
      expect(json.body.error).toBe('invalid_state');
      expect(JSON.stringify(json.body)).not.toContain('555');
    }
  });

  test('a login cancelled at the OP is a friendly outcome, not an error', async () => {
    const agent = agentFor(framework);
    const login = await agent.get('/login').set('Accept', HTML);
    const back = await cancelOpLogin(login.headers.location as string, stack.op.ca);
    expect(back.searchParams.get('error')).toBe('access_denied');
    const page = await agent.get(appPath(back)).set('Accept', HTML);
    expect(page.status).toBe(401);
    expect(page.text).toContain('Login cancelled');
    expect(page.text).toContain('You can log in again');

    const second = await agent.get('/login').set('Accept', HTML);
    const cancelled = await cancelOpLogin(second.headers.location as string, stack.op.ca);
    const json = await agent.get(appPath(cancelled)).set('Accept', 'application/json');
    expect(json.status).toBe(401);
    expect(json.body).toMatchObject({
      error: 'access_denied',
      code: ERROR_CODES.LOGIN_CANCELLED,
    });
    expect((await agent.get('/').set('Accept', HTML)).text).toBe('home');
  });

  test('RFC 9207: a callback naming another issuer is refused', async () => {
    const agent = agentFor(framework);
    const callback = await startAndSignIn(agent, stack, '/login', new OpCookieJar());
    expect(callback.searchParams.get('iss')).toBe(stack.op.issuer);
    const mixedUp = new URL(callback);
    mixedUp.searchParams.set('iss', 'https://attacker.example');
    const refused = await agent.get(appPath(mixedUp)).set('Accept', HTML);
    expect(refused.status).toBe(400);
    expect(refused.text).toContain(ERROR_CODES.STATE_MISMATCH);
    expect((await agent.get('/').set('Accept', HTML)).text).toBe('home');

    const genuine = await startAndSignIn(agent, stack, '/login', new OpCookieJar());
    expect((await agent.get(appPath(genuine)).set('Accept', HTML)).status).toBe(302);
    expect((await agent.get('/').set('Accept', HTML)).text).toBe(`home, logged in as ${USER_SUB}`);
  });
});

describe('a code the OP refuses', () => {
  test('https4 - oxd 4.x says bad_request: 400 asking to log in again, not a server error', async () => {
    const { client } = clientFor(stack, 'https4');
    closers.push(() => client.close());
    const agent = request.agent(
      buildApp('express5', oxdAuth({ config: configFor(stack, 'https4'), client })),
    );
    const callback = await startAndSignIn(agent, stack);
    callback.searchParams.set('code', 'made-up-authorization-code');
    const refused = await agent.get(appPath(callback)).set('Accept', 'application/json');
    expect(refused.status).toBe(400);
    expect(refused.body.code).toBe(ERROR_CODES.OP_ERROR);
    expect(refused.body.error_description).toMatch(/Start the login again/);
    expect((await agent.get('/').set('Accept', HTML)).text).toBe('home');
  });

  test('socket - oxd 3.x answers internal_error for a refused code as for an outage: 502, logged once', async () => {
    // oxd 3.1 cannot tell the two apart (GetTokensByCodeOperation), so neither can the app.
    const { client } = clientFor(stack, 'socket');
    closers.push(() => client.close());
    const logger = capturingLogger();
    const agent = request.agent(
      buildApp('express5', oxdAuth({ config: configFor(stack, 'socket'), client, logger })),
    );
    const callback = await startAndSignIn(agent, stack);
    callback.searchParams.set('code', 'made-up-authorization-code');
    const failed = await agent.get(appPath(callback)).set('Accept', 'application/json');
    expect(failed.status).toBe(502);
    expect((await agent.get('/').set('Accept', HTML)).text).toBe('home');
    // The application's log has the failure with oxd's error; never the code or state.
    expect(logger.summary()).toEqual([
      ['error', ERROR_CODES.COMMAND_FAILED, 'callback', 502, 'internal_error'],
    ]);
    const logged = JSON.stringify(logger.lines);
    expect(logged).not.toContain('made-up-authorization-code');
    expect(logged).not.toContain(callback.searchParams.get('state') as string);
  });
});
