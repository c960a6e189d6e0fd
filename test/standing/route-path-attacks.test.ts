/**
 * The middleware's own routes under request targets written as is on a raw socket: an
 * absolute-form target (`GET http://host/login HTTP/1.1`, which Express routes by its path),
 * doubled slashes and `.` segments reach the same route as the plain path; a target that
 * cannot be normalised reaches none. Express 5 and Express 4, against the local OP and oxd
 * (socket). `requireAuth()` sends the browser to the login with the page's path as
 * `returnTo`, not with `/` because the target named a host.
 */
import { createServer, type Server } from 'node:http';
import session from 'express-session';
import { oxdAuth } from '../../src';
import { dedicatedStack } from '../helpers/local-stack';
import { rawRequest } from '../helpers/raw-http';
import { buildApp } from '../fixtures/apps';
import { clientFor, configFor, HTML, type LocalStack } from '../helpers/stack-fixture';
import { listenLocal } from '../helpers/listen';

let stack: LocalStack;
const closers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  stack = await dedicatedStack();
}, 120_000);

afterAll(async () => {
  for (const close of closers.reverse()) await close();
});

/** One HTTP/1.1 request with `target` written byte for byte. */
async function raw(base: string, method: string, target: string) {
  const { status, headers, body } = await rawRequest(base, method, target, undefined, {
    Accept: HTML,
  });
  return { status, location: headers.location, body };
}

describe.each(['express5', 'express4'] as const)('%s', (framework) => {
  let base: string;
  let host: string;

  beforeAll(async () => {
    const { client } = clientFor(stack, 'socket');
    const auth = oxdAuth({
      config: configFor(stack, 'socket'),
      client,
      routes: { backchannelLogout: '/backchannel-logout' },
    });
    const server: Server = createServer(
      buildApp(framework, auth, { store: new session.MemoryStore() }),
    );
    const listening = await listenLocal(server);
    base = listening.url;
    host = new URL(base).host;
    closers.push(listening.close, () => client.close());
  });

  test.each([
    ['the login route', 'GET', '/login'],
    ['the callback route', 'GET', '/callback?state=made-up&code=made-up'],
    ['the logout route', 'GET', '/logout'],
    ['the front-channel logout route', 'GET', '/frontchannel-logout'],
    ['the back-channel logout route', 'POST', '/backchannel-logout'],
  ])('%s answers the same to every spelling of its path', async (_label, method, path) => {
    const plain = await raw(base, method, path);
    expect(plain.status).not.toBe(404);
    for (const target of [
      `http://${host}${path}`,
      `/${path}`,
      `/.${path}`,
      path.replace(/^\/([a-z])/, (_m, first: string) => `/%${first.charCodeAt(0).toString(16)}`),
    ]) {
      const answer = await raw(base, method, target);
      expect({ target, status: answer.status }).toEqual({ target, status: plain.status });
    }
  });

  test('a target that cannot be normalised is no route of the middleware', async () => {
    for (const target of ['/login%2f', '/%2e%2e/login', '/login%zz']) {
      expect({ target, status: (await raw(base, 'GET', target)).status }).toEqual({
        target,
        status: 404,
      });
    }
  });

  test('requireAuth() sends the browser to the login with the path of an absolute-form target', async () => {
    const answer = await raw(base, 'GET', `http://${host}/profile?tab=1`);
    expect(answer.status).toBe(302);
    expect(answer.location).toBe(`/login?returnTo=${encodeURIComponent('/profile?tab=1')}`);
  });
});
