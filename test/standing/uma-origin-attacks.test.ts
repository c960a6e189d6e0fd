/**
 * UMA requesting-party attacks, against the local oxd server's UMA authorization server
 * (socket): text planted on the site's claims-gathering redirect route, and a protected API
 * that redirects to another origin whose own (real) UMA challenge would have its ticket
 * exchanged with the user's RPT and PCT.
 */
import { createServer, type Server } from 'node:http';
import express from 'express';
import session from 'express-session';
import request from 'supertest';
import { oxdErrorHandler, umaClaims, umaFetch, umaProtect } from '../../src';
import { dedicatedStack } from '../helpers/local-stack';
import { clientFor, HTML, type CountingTransport, type LocalStack } from '../helpers/stack-fixture';
import { RESOURCES, startResourceServer, type ResourceServer } from '../uma/uma-fixture';
import type { OxdClient } from '../../src/oxd/client';
import { listenLocal } from '../helpers/listen';

const PLANTED = 'Your account is locked. Call +1 555 0100 and read out your password';

let stack: LocalStack;
let rp: OxdClient;
let rpCounter: CountingTransport;
/** The API this site means to call: UMA-protected, and with redirects of its own. */
let api: Server;
let apiUrl: string;
/** Another origin's UMA-protected API (another resource server, another client). */
let elsewhere: ResourceServer;
const closers: (() => Promise<void>)[] = [];

async function listen(server: Server): Promise<string> {
  const { url, close } = await listenLocal(server);
  closers.push(close);
  return url;
}

beforeAll(async () => {
  stack = await dedicatedStack();
  ({ client: rp, counter: rpCounter } = clientFor(stack, 'socket'));
  const rsClient = clientFor(stack, 'socket').client;
  const otherClient = clientFor(stack, 'socket').client;
  elsewhere = await startResourceServer(umaProtect(RESOURCES, { client: otherClient }));
  const app = express();
  app.use('/api', umaProtect(RESOURCES, { client: rsClient }));
  app.get('/api/photos', (_req, res) => res.json({ photos: ['own.jpg'] }));
  app.get('/api/old-photos', (_req, res) => res.redirect(302, '/api/photos'));
  app.get('/api/moved', (_req, res) => res.redirect(302, `${elsewhere.url}/api/photos`));
  api = createServer(app);
  apiUrl = await listen(api);
  closers.push(
    () => elsewhere.close(),
    () => rsClient.close(),
    () => otherClient.close(),
    () => rp.close(),
  );
}, 120_000);

afterAll(async () => {
  for (const close of closers.reverse()) await close();
});

describe('claims-gathering redirect route', () => {
  let site: Server;

  beforeAll(async () => {
    const app = express();
    app.use(session({ secret: 'uma attacks', resave: false, saveUninitialized: false }));
    app.use(umaClaims({ client: rp, claimsRedirectUri: 'https://app.example/uma/claims' }));
    app.use(oxdErrorHandler());
    site = createServer(app);
    await listen(site);
  });

  test.each([
    ['no state', `error=${encodeURIComponent(PLANTED)}`],
    ['a made-up state', `state=made-up&error=${encodeURIComponent(PLANTED)}`],
    [
      'an error_description',
      `error=access_denied&error_description=${encodeURIComponent(PLANTED)}`,
    ],
  ])(
    'an error with %s: 400 state mismatch, the planted text shown nowhere',
    async (_label, query) => {
      for (const accept of [HTML, 'application/json']) {
        const answer = await request(site).get(`/uma/claims?${query}`).set('Accept', accept);
        expect(answer.status).toBe(400);
        expect(answer.text).toContain('OXD_STATE_MISMATCH');
        expect(answer.text).not.toContain('locked');
        expect(answer.text).not.toContain('access_denied');
      }
    },
  );
});

describe('umaFetch and other origins', () => {
  test('a same-origin redirect is followed and its challenge honoured: 200', async () => {
    const before = rpCounter.count('uma_rp_get_rpt');
    const answer = await umaFetch(`${apiUrl}/api/old-photos`, {}, { client: rp });
    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual({ photos: ['own.jpg'] });
    expect(rpCounter.count('uma_rp_get_rpt')).toBe(before + 1);
  });

  test("a redirect to another origin is returned as it is: that origin's ticket is never exchanged", async () => {
    const before = rpCounter.count('uma_rp_get_rpt');
    const kept: string[] = [];
    const answer = await umaFetch(
      `${apiUrl}/api/moved`,
      {},
      {
        client: rp,
        rpt: 'the-users-rpt',
        pct: 'the-users-pct',
        onRpt: ({ rpt }) => void kept.push(rpt),
      },
    );
    expect(answer.status).toBe(302);
    expect(answer.headers.get('location')).toBe(`${elsewhere.url}/api/photos`);
    await answer.body?.cancel();
    expect(rpCounter.count('uma_rp_get_rpt')).toBe(before);
    expect(kept).toEqual([]);
  });

  test("with redirect: 'follow' chosen, another origin's challenge is returned, not honoured", async () => {
    const before = rpCounter.count('uma_rp_get_rpt');
    const kept: string[] = [];
    const answer = await umaFetch(
      `${apiUrl}/api/moved`,
      { redirect: 'follow' },
      { client: rp, onRpt: ({ rpt }) => void kept.push(rpt) },
    );
    expect(answer.status).toBe(401);
    expect(answer.headers.get('www-authenticate')).toMatch(/^UMA /);
    await answer.body?.cancel();
    expect(rpCounter.count('uma_rp_get_rpt')).toBe(before);
    expect(kept).toEqual([]);
  });
});
