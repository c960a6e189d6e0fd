/**
 * Logging a user out from another site: a link or form on another page that reaches the
 * logout route would end the local session and, through the OP, the single sign-on session.
 * Real logins through the local OP and oxd (socket), Express 5; the browser's Fetch Metadata
 * and `Origin` headers are sent as a browser sends them for each kind of request.
 */
import { createServer, type Server } from 'node:http';
import session from 'express-session';
import request from 'supertest';
import { oxdAuth, type OxdAuthHandler } from '../../src';
import { dedicatedStack } from '../helpers/local-stack';
import { buildApp } from '../fixtures/apps';
import {
  APP_ORIGIN,
  clientFor,
  configFor,
  HTML,
  logIn,
  type Agent,
  type LocalStack,
} from '../helpers/stack-fixture';

let stack: LocalStack;
let auth: OxdAuthHandler;
let server: Server;

beforeAll(async () => {
  stack = await dedicatedStack();
  auth = oxdAuth({ config: configFor(stack, 'socket'), client: clientFor(stack, 'socket').client });
  server = createServer(buildApp('express5', auth, { store: new session.MemoryStore() }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
}, 180_000);

afterAll(async () => {
  await auth?.client.close();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
});

async function loggedInAgent(): Promise<Agent> {
  const agent = request.agent(server);
  expect((await logIn(agent, stack)).status).toBe(302);
  expect(await loggedIn(agent)).toBe(true);
  return agent;
}

async function loggedIn(agent: Agent): Promise<boolean> {
  return /logged in/.test((await agent.get('/').set('Accept', HTML)).text);
}

describe('refused: the user stays logged in', () => {
  test.each([
    ['a cross-site form', { 'Sec-Fetch-Site': 'cross-site', Origin: 'https://evil.example' }],
    [
      'a form on a sibling subdomain',
      { 'Sec-Fetch-Site': 'same-site', Origin: 'https://x.app.example' },
    ],
    ['another Origin, no Fetch Metadata', { Origin: 'https://evil.example' }],
    ['Origin null (a sandboxed frame), no Fetch Metadata', { Origin: 'null' }],
    ['neither Origin nor Fetch Metadata', {}],
  ])('POST /logout from %s: 403', async (_label, headers) => {
    const agent = await loggedInAgent();
    const answer = await agent.post('/logout').set('Accept', HTML).set(headers);
    expect(answer.status).toBe(403);
    expect(answer.headers.location).toBeUndefined();
    expect(await loggedIn(agent)).toBe(true);
  });

  test('a cross-site GET of /logout (a link or image elsewhere): a confirmation page, nothing ended', async () => {
    const agent = await loggedInAgent();
    const answer = await agent
      .get('/logout?returnTo=%2Fbye')
      .set('Accept', HTML)
      .set('Sec-Fetch-Site', 'cross-site');
    expect(answer.status).toBe(200);
    expect(answer.headers.location).toBeUndefined();
    expect(answer.headers['x-frame-options']).toBe('DENY');
    expect(answer.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(answer.text).toContain('<form method="post" action="/logout?returnTo=%2Fbye">');
    expect(await loggedIn(agent)).toBe(true);

    // Pressing the button (a same-origin POST) logs out, to the OP, keeping returnTo.
    const confirmed = await agent
      .post('/logout?returnTo=%2Fbye')
      .set('Accept', HTML)
      .set('Sec-Fetch-Site', 'same-origin')
      .set('Origin', APP_ORIGIN);
    expect(confirmed.status).toBe(302);
    expect(new URL(confirmed.headers.location as string).origin).toBe(stack.op.issuer);
    expect(await loggedIn(agent)).toBe(false);
  });
});

describe('accepted: the user is logged out', () => {
  test.each([
    ['a same-origin form', { 'Sec-Fetch-Site': 'same-origin', Origin: APP_ORIGIN }],
    ['the site origin, no Fetch Metadata', { Origin: APP_ORIGIN }],
  ])('POST /logout from %s: to the OP', async (_label, headers) => {
    const agent = await loggedInAgent();
    const answer = await agent.post('/logout').set('Accept', HTML).set(headers);
    expect(answer.status).toBe(302);
    expect(new URL(answer.headers.location as string).origin).toBe(stack.op.issuer);
    expect(await loggedIn(agent)).toBe(false);
  });

  test('a same-origin or same-site GET of /logout still logs out', async () => {
    for (const site of ['same-origin', 'same-site']) {
      const agent = await loggedInAgent();
      const answer = await agent.get('/logout').set('Accept', HTML).set('Sec-Fetch-Site', site);
      expect(answer.status).toBe(302);
      expect(await loggedIn(agent)).toBe(false);
    }
  });
});
