/**
 * Who the requesting party is through oxd: the site. oxd keeps one RPT per site and answers
 * every uma_rp_get_rpt with it while it is valid, whatever the ticket
 * (`UmaTokenService.getRpt`, oxd 3.1.3 to 4.5; the local oxd does the same on every profile,
the default one included).
 * Two users (two sessions) of one web app call a UMA-protected API with umaClaims().fetch:
 * with per-user grants (the default) the second user gets 403 OXD_UMA_RPT_OF_ANOTHER_USER and
 * never the first user's RPT; with siteWideRpt both use the site's RPT, as intended.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import session from 'express-session';
import request from 'supertest';
import { ERROR_CODES, OxdError, umaClaims, umaProtect } from '../../src';
import { dedicatedStack } from '../helpers/local-stack';
import { clientFor, type LocalStack, type TransportName } from '../helpers/stack-fixture';
import { RESOURCES, startResourceServer } from './uma-fixture';

/** The local oxd's profile ('default': no --oxd-version, both lines at once) and transport. */
const CASES: ['3.1.4' | '4.2' | 'default', TransportName][] = [
  ['3.1.4', 'socket'],
  ['4.2', 'https4'],
  ['default', 'socket'],
  ['default', 'https4'],
];

const stacks = new Map<string, LocalStack>();
const closers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  for (const version of new Set(CASES.map(([profile]) => profile))) {
    stacks.set(version, await dedicatedStack(version === 'default' ? {} : { oxdVersion: version }));
  }
}, 180_000);

afterAll(async () => {
  for (const close of closers.reverse()) await close();
});

/** A web app whose `/album` calls the protected API for the session's user. */
async function startApp(stack: LocalStack, transport: TransportName, siteWideRpt: boolean) {
  const rsClient = clientFor(stack, transport).client;
  const rs = await startResourceServer(umaProtect(RESOURCES, { client: rsClient }));
  const rp = clientFor(stack, transport).client;
  const claims = umaClaims({
    client: rp,
    claimsRedirectUri: 'https://app.example/uma/claims',
    siteWideRpt,
  });
  const app = express();
  app.use(session({ secret: 'requesting party test', resave: false, saveUninitialized: true }));
  app.use(claims);
  app.get('/album', async (req, res, next) => {
    try {
      const answer = await claims.fetch(req, `${rs.url}/api/photos`);
      res.status(answer.status).json({ api: await answer.json(), rpt: claims.rpt(req) ?? null });
    } catch (err) {
      next(err);
    }
  });
  app.get('/rpt', (req, res) => {
    res.json({ rpt: claims.rpt(req) ?? null });
  });
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const status = err instanceof OxdError ? err.status : 500;
    res.status(status).json({
      code: err instanceof OxdError ? err.code : 'unexpected',
      message: (err as Error).message,
    });
  });
  const server: Server = createServer(app);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  closers.push(
    () => rs.close(),
    () => rsClient.close(),
    () => rp.close(),
    () => new Promise<void>((resolve) => server.close(() => resolve())),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe.each(CASES)('oxd %s over %s', (version, transport) => {
  test("per-user grants (default) - user B gets 403 with its own code, never user A's RPT", async () => {
    const stack = stacks.get(version) as LocalStack;
    const origin = await startApp(stack, transport, false);
    const userA = request.agent(origin);
    const userB = request.agent(origin);

    const a = await userA.get('/album');
    expect(a.status).toBe(200);
    expect(a.body.api).toMatchObject({ resource: '/photos' });
    const rptA = a.body.rpt as string;
    expect(rptA).toEqual(expect.any(String));

    const b = await userB.get('/album');
    expect(b.status).toBe(403);
    expect(b.body.code).toBe(ERROR_CODES.UMA_RPT_OF_ANOTHER_USER);
    expect(b.body.code).toBe('OXD_UMA_RPT_OF_ANOTHER_USER');
    expect(b.body.message).toMatch(/one RPT per site/);
    expect(b.body.message).toMatch(/siteWideRpt/);
    expect(JSON.stringify(b.body)).not.toContain(rptA);
    expect((await userB.get('/rpt')).body.rpt).toBeNull();

    // User A keeps working with its own RPT.
    const again = await userA.get('/album');
    expect(again.status).toBe(200);
    expect(again.body.rpt).toBe(rptA);
  });

  test('siteWideRpt - the site is the requesting party: user B uses the same RPT, as intended', async () => {
    const stack = stacks.get(version) as LocalStack;
    const origin = await startApp(stack, transport, true);
    const a = await request.agent(origin).get('/album');
    expect(a.status).toBe(200);
    const b = await request.agent(origin).get('/album');
    expect(b.status).toBe(200);
    expect(b.body.api).toMatchObject({ resource: '/photos' });
    expect(b.body.rpt).toBe(a.body.rpt);
  });
});
