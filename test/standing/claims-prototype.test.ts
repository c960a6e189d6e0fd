/**
 * Claim names that reach an object's prototype. An OP (or an attribute a user may name
 * at the OP) sends `{"__proto__": {"role": "admin"}}` among the UserInfo claims: it must not
 * become the prototype of `req.oxd.user`, or every missing claim would read as the
 * attacker's value and an app's own claim predicate would let the user in.
 * Real login through the local OP and oxd (socket); only the UserInfo answer is altered.
 */
import { createServer, type Server } from 'node:http';
import express from 'express';
import session from 'express-session';
import request from 'supertest';
import { claimCheck, oxdAuth, oxdErrorHandler, type OxdAuthHandler } from '../../src';
import { resolveConfig } from '../../src/config/resolve';
import { OxdClient } from '../../src/oxd/client';
import type { OxdIncomingMessage } from '../../src/session';
import { dedicatedStack } from '../helpers/local-stack';
import {
  configFor,
  countingTransport,
  rewriteReply,
  HTML,
  logIn,
  type LocalStack,
} from '../helpers/stack-fixture';

/** Claims added to every UserInfo answer, as oxd's JSON would carry them. */
const HOSTILE_CLAIMS =
  '{"__proto__": {"role": "admin", "groups": ["admin"]},' +
  ' "constructor": {"prototype": {"polluted": true}}, "prototype": {"role": "admin"}}';

/** The UserInfo answer's claims with {@link HOSTILE_CLAIMS} written in at the start. */
function withHostileClaims(data: Record<string, unknown>): Record<string, unknown> {
  const claims = JSON.parse(
    JSON.stringify(data.claims).replace(/^\{/, `${HOSTILE_CLAIMS.slice(0, -1)},`),
  );
  return { ...data, claims };
}

let stack: LocalStack;
let auth: OxdAuthHandler;
let server: Server;

beforeAll(async () => {
  stack = await dedicatedStack();
  const client = new OxdClient(resolveConfig(configFor(stack, 'socket')), {
    transport: rewriteReply(countingTransport(stack, 'socket'), 'get_user_info', withHostileClaims),
    writeBack: false,
  });
  auth = oxdAuth({ config: configFor(stack, 'socket'), client });
  const app = express();
  app.use(session({ secret: 'claims test', resave: false, saveUninitialized: false }));
  app.use(auth);
  app.get(
    '/admin',
    claimCheck((claims) => claims.role === 'admin'),
    (_req, res) => res.type('text').send('admin area'),
  );
  app.get('/me', (req, res) => {
    const user = (req as unknown as OxdIncomingMessage).oxd?.user ?? {};
    res.json({
      prototypeIsObject: Object.getPrototypeOf(user) === Object.prototype,
      role: (user as Record<string, unknown>).role ?? null,
      names: Object.keys(user),
      polluted: ({} as Record<string, unknown>).polluted ?? null,
    });
  });
  app.use(oxdErrorHandler());
  server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
}, 180_000);

afterAll(async () => {
  await auth?.client.close();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
});

test('a __proto__ claim neither sets the user prototype nor passes a claim predicate', async () => {
  const agent = request.agent(server);
  expect((await logIn(agent, stack)).status).toBe(302);
  const me = await agent.get('/me').set('Accept', 'application/json');
  expect(me.status).toBe(200);
  expect(me.body).toMatchObject({ prototypeIsObject: true, role: null, polluted: null });
  expect(me.body.names).toContain('sub');
  for (const name of ['__proto__', 'constructor', 'prototype']) {
    expect(me.body.names).not.toContain(name);
  }
  const admin = await agent.get('/admin').set('Accept', HTML);
  expect(admin.status).toBe(403);
  expect(admin.text).not.toContain('admin area');
});
