/**
 * need_info end to end in headless Chromium: a web app calls a UMA-protected API with
 * umaClaims().fetch, the AS needs the user's e-mail, the user is sent to the local oxd
 * server's claims-gathering page, fills it in, comes back to the app's claims route, and the
 * app obtains the RPT and shows the API's answer. The state of the gathering is checked like
 * a login's: unknown, foreign or replayed returns are refused.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import express from 'express';
import session from 'express-session';
import { request } from 'undici';
import { umaClaims, UmaNeedInfoError, umaProtect } from '../../src';
import { launchBrowser, type BrowserSession } from '../helpers/browser';
import { dedicatedStack } from '../helpers/local-stack';
import { clientFor, type LocalStack, type TransportName } from '../helpers/stack-fixture';
import { JANE_EMAIL, PRIVATE, RESOURCES, startResourceServer } from './uma-fixture';
import { listenLocal } from '../helpers/listen';

let stack: LocalStack;
let browser: BrowserSession;
const closers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  stack = await dedicatedStack({
    umaClaimsPolicy: { [PRIVATE]: [{ name: 'email', friendly_name: 'email', value: JANE_EMAIL }] },
  });
  browser = await launchBrowser({ trustedCertificates: [stack.oxd.ca] });
}, 120_000);

afterAll(async () => {
  for (const close of closers.reverse()) await close();
  await browser?.close();
});

/** The requesting party's web app, over HTTP on 127.0.0.1; resolves with its origin. */
async function startRpApp(transport: TransportName, apiUrl: string) {
  const rp = clientFor(stack, transport).client;
  let handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.end();
  const server: Server = createServer((req, res) => handler(req, res));
  const { url: origin, close } = await listenLocal(server);
  const claims = umaClaims({ client: rp, claimsRedirectUri: `${origin}/uma/claims` });
  const app = express();
  app.use(session({ secret: 'uma browser test', resave: false, saveUninitialized: false }));
  app.use(claims);
  app.get('/private', async (req, res, next) => {
    try {
      const answer = await claims.fetch(req, apiUrl);
      res.type('html').send(`<p id="result">${answer.status} ${await answer.text()}</p>`);
    } catch (err) {
      if (!(err instanceof UmaNeedInfoError)) throw err;
      await claims.gatherClaims(req, res, { ticket: err.ticket, returnTo: '/private' }).catch(next);
    }
  });
  handler = app;
  closers.push(close, () => rp.close());
  return { origin, claims, rp };
}

describe.each<TransportName>(['socket', 'https4'])('umaClaims over %s', (transport) => {
  test('need_info - claims-gathering page in a browser, back to the app, RPT, 200', async () => {
    const rsClient = clientFor(stack, transport).client;
    const rs = await startResourceServer(umaProtect(RESOURCES, { client: rsClient }));
    closers.push(
      () => rs.close(),
      () => rsClient.close(),
    );
    const { origin } = await startRpApp(transport, `${rs.url}/api/private`);
    const { page } = browser;
    const returns: string[] = [];
    page.on('request', (req) => {
      if (req.url().startsWith(`${origin}/uma/claims?`)) returns.push(req.url());
    });

    await page.goto(`${origin}/private`);
    // The AS's page, on the oxd server, asks for the e-mail the policy requires.
    expect(page.url().startsWith(`${stack.oxd.httpsUrl}/uma/claims-gathering?`)).toBe(true);
    await page.fill('#email', JANE_EMAIL);
    await Promise.all([page.waitForURL(`${origin}/private`), page.click('#submit')]);
    expect(await page.textContent('#result')).toBe('200 {"private":"jane-only photos"}');
    expect(returns).toHaveLength(1);
    const back = new URL(returns[0] as string);
    expect(back.searchParams.get('ticket')).toMatch(/^[0-9a-f-]{36}$/);
    expect(back.searchParams.get('state')).toBeTruthy();

    // The session keeps the RPT: the page works again without a detour.
    await page.goto(`${origin}/private`);
    expect(page.url()).toBe(`${origin}/private`);
    expect(await page.textContent('#result')).toBe('200 {"private":"jane-only photos"}');

    // The return is single use: replayed in the same browser, refused with 400.
    const replay = await page.goto(returns[0] as string);
    expect(replay?.status()).toBe(400);
    // And it is no good in another session (no cookie) either.
    const foreign = await request(returns[0] as string);
    await foreign.body.dump();
    expect(foreign.statusCode).toBe(400);
    await browser.context.clearCookies();
  });

  test('claims route - a state this session did not start, or none, is refused, the real one still works', async () => {
    const rsClient = clientFor(stack, transport).client;
    const rs = await startResourceServer(umaProtect(RESOURCES, { client: rsClient }));
    closers.push(
      () => rs.close(),
      () => rsClient.close(),
    );
    const { origin } = await startRpApp(transport, `${rs.url}/api/private`);
    const { page } = browser;
    // Start a real gathering in the browser, then come back with a made-up state.
    await page.goto(`${origin}/private`);
    const gathering = new URL(page.url());
    const ticket = gathering.searchParams.get('ticket') ?? '';
    for (const query of [
      `ticket=${ticket}&state=made-up`,
      `ticket=${ticket}`,
      'error=access_denied',
    ]) {
      const answer = await page.goto(`${origin}/uma/claims?${query}`);
      expect({ query, status: answer?.status() }).toEqual({ query, status: 400 });
    }
    // The real state still works after those attempts (they did not consume it).
    await page.goto(gathering.href);
    await page.fill('#email', JANE_EMAIL);
    await Promise.all([page.waitForURL(`${origin}/private`), page.click('#submit')]);
    expect(await page.textContent('#result')).toContain('jane-only photos');
    await browser.context.clearCookies();
  });
});
