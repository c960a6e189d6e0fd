/**
 * Per-user grants (the default of umaClaims()) follow the logged-in user, not the session:
 * oxd keeps one RPT per site and hands it back to every uma_rp_get_rpt while it is valid
 * (`UmaTokenService.getRpt`, oxd 3.1.3 to 4.5; the local oxd does the same), and umaClaims()
 * lets it reach only the user it was obtained for. A user logged in through oxdAuth() in two
 * sessions (two browsers, or a new session after logging in again) is one requesting user and
 * uses the RPT in both; another user is still refused with 403 OXD_UMA_RPT_OF_ANOTHER_USER.
 * The login is the one oxdAuth() stores (tokens, the claims read from them), as a user has it.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import session from 'express-session';
import request from 'supertest';
import { ERROR_CODES, OxdError, oxdAuth, umaClaims, umaProtect } from '../../src';
import { OpCookieJar, submitOpLogin } from '../../src/testing/op-login';
import { capturingLogger } from '../helpers/capture-logger';
import { dedicatedStack } from '../helpers/local-stack';
import {
  appPath,
  clientFor,
  configFor,
  HTML,
  type Agent,
  type LocalStack,
} from '../helpers/stack-fixture';
import { RESOURCES, startResourceServer } from './uma-fixture';

jest.setTimeout(120_000);

let stack: LocalStack;
let origin: string;
const closers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  stack = await dedicatedStack();
  const rsClient = clientFor(stack, 'socket').client;
  const rs = await startResourceServer(umaProtect(RESOURCES, { client: rsClient }));
  const auth = oxdAuth({
    logger: capturingLogger(),
    config: configFor(stack, 'socket'),
    client: clientFor(stack, 'socket').client,
  });
  const claims = umaClaims({
    client: auth.client,
    claimsRedirectUri: 'https://app.example/uma/claims',
  });
  const app = express();
  app.use(session({ secret: 'rpt owner test', resave: false, saveUninitialized: true }));
  app.use(auth);
  app.use(claims);
  app.get('/album', async (req, res, next) => {
    try {
      const answer = await claims.fetch(req, `${rs.url}/api/photos`);
      res.status(answer.status).json({ api: await answer.json(), rpt: claims.rpt(req) ?? null });
    } catch (err) {
      next(err);
    }
  });
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    res.status(err instanceof OxdError ? err.status : 500).json({
      code: err instanceof OxdError ? err.code : 'unexpected',
      message: (err as Error).message,
    });
  });
  const server: Server = createServer(app);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  closers.push(
    () => rs.close(),
    () => rsClient.close(),
    () => auth.client.close(),
    () => new Promise<void>((resolve) => server.close(() => resolve())),
  );
}, 180_000);

afterAll(async () => {
  for (const close of closers.reverse()) await close();
});

/** A new browser (its own session and OP cookies) in which user number `index` logs in. */
async function loggedIn(index: number): Promise<Agent> {
  const user = stack.op.users[index];
  if (!user) throw new Error(`the local OP has no user ${index}`);
  const agent = request.agent(origin);
  const login = await agent.get('/login').set('Accept', HTML);
  expect(login.status).toBe(302);
  const callback = await submitOpLogin(
    login.headers.location as string,
    user,
    stack.op.ca,
    new OpCookieJar(),
  );
  const back = await agent.get(appPath(callback)).set('Accept', HTML);
  expect(back.status).toBe(302);
  return agent;
}

test('the same user in two sessions uses its RPT in both; another user is refused', async () => {
  const first = await loggedIn(0);
  const a = await first.get('/album');
  expect(a.status).toBe(200);
  expect(a.body.api).toMatchObject({ resource: '/photos' });
  const rpt = a.body.rpt as string;
  expect(rpt).toEqual(expect.any(String));

  // The same user, logged in again in another browser: a new session, the same user.
  const second = await loggedIn(0);
  const b = await second.get('/album');
  expect(b.body).toMatchObject({ api: { resource: '/photos' }, rpt });
  expect(b.status).toBe(200);

  // Another user gets the site's RPT from oxd and is refused it.
  const other = await loggedIn(1);
  const c = await other.get('/album');
  expect(c.status).toBe(403);
  expect(c.body.code).toBe(ERROR_CODES.UMA_RPT_OF_ANOTHER_USER);
  expect(JSON.stringify(c.body)).not.toContain(rpt);
});
