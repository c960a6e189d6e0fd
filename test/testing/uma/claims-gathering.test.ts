import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import type { UmaResource } from '../../../src/oxd/commands';
import {
  type NeedInfoDetails,
  UmaAuthorizationServer,
  UmaError,
} from '../../../src/testing/uma/authorization-server';

const RS = 'rs-oxd-id';
const RP = 'rp-oxd-id';
const VIEW = 'https://photoz.example/actions/view';
const CLAIMS_REDIRECT = 'https://rp.example/uma/claims?from=as';
const PHOTO: UmaResource[] = [
  { path: '/photo', conditions: [{ httpMethods: ['GET'], scopes: [VIEW] }] },
];

let httpServer: Server;
let base: string;
let as: UmaAuthorizationServer;
let nowMs = Date.UTC(2030, 0, 1, 12, 0, 0);

beforeAll(async () => {
  httpServer = createServer((req, res) => {
    if (!as.handleClaimsGathering(req, res)) {
      res.statusCode = 404;
      res.end('not the claims page');
    }
  });
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve, reject) =>
    httpServer.close((err) => (err ? reject(err) : resolve())),
  );
});

beforeEach(() => {
  nowMs = Date.UTC(2030, 0, 1, 12, 0, 0);
  as = new UmaAuthorizationServer({
    asUri: base,
    claimsGatheringEndpoint: `${base}/uma/gather`,
    claimsPolicy: {
      [VIEW]: [{ name: 'email', friendly_name: 'E-mail address', value: 'alice@example.com' }],
    },
    now: () => nowMs,
  });
  as.protect(RS, PHOTO, false);
});

function deniedTicket(): string {
  const result = as.checkAccess(RS, { rpt: '', path: '/photo', http_method: 'GET' });
  if (result.access !== 'denied') throw new Error('expected access to be denied');
  return result.ticket;
}

/** Exchanges a fresh ticket, expecting need_info, and returns the need_info ticket. */
function needInfoTicket(): string {
  try {
    as.getRpt(RP, { ticket: deniedTicket() });
  } catch (err) {
    if (err instanceof UmaError && err.error === 'need_info') {
      return (err.details as NeedInfoDetails).ticket;
    }
    throw err;
  }
  throw new Error('expected need_info');
}

async function get(url: string) {
  const res = await request(url, { method: 'GET' });
  return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
}

async function post(path: string, form: Record<string, string>, contentType?: string) {
  const res = await request(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': contentType ?? 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form).toString(),
  });
  return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
}

function formOf(html: string): { action: string; ticket: string } {
  const action = /<form method="post" action="([^"]+)">/.exec(html)?.[1];
  const ticket = /<input type="hidden" name="ticket" value="([^"]+)">/.exec(html)?.[1];
  if (!action || !ticket) throw new Error(`no claims form in page:\n${html}`);
  return { action, ticket };
}

test('claims gathering - need_info, form, redirect with a new ticket, then the RPT is granted', async () => {
  const ticket = needInfoTicket();
  const { url, state } = as.claimsGatheringUrl(RP, {
    ticket,
    claims_redirect_uri: CLAIMS_REDIRECT,
    state: 'rp-state',
  });
  expect(state).toBe('rp-state');

  const page = await get(url);
  expect(page.status).toBe(200);
  expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
  // Nothing loads but the page's own inline style (by its hash) and icon.
  expect(page.headers['content-security-policy']).toMatch(
    /^default-src 'none'; style-src 'sha256-[A-Za-z0-9+/]+=*'; img-src data:; frame-ancestors 'none'$/,
  );
  expect(page.headers['cache-control']).toBe('no-store');
  expect(page.body).toMatch(/<label for="email">E-mail address<\/label>/);
  expect(page.body).toMatch(/<input id="email" name="email" type="email" required>/);
  expect(page.body).not.toMatch(/<script|\sstyle=|\son\w+=/i);
  const form = formOf(page.body);
  expect(form).toEqual({ action: '/uma/gather', ticket });

  const wrong = await post(form.action, { ticket, email: 'mallory@example.com' });
  expect(wrong.status).toBe(400);
  expect(wrong.body).toMatch(
    /<p role="alert" id="error" class="error">Not accepted: E-mail address\./,
  );
  expect(wrong.body).toContain('value="mallory@example.com"');
  expect(wrong.body).not.toContain('alice@example.com');
  expect(formOf(wrong.body).ticket).toBe(ticket);

  const accepted = await post(form.action, { ticket, email: ' alice@example.com ' });
  expect(accepted.status).toBe(302);
  const location = new URL(String(accepted.headers.location));
  expect(`${location.origin}${location.pathname}`).toBe('https://rp.example/uma/claims');
  expect(location.searchParams.get('from')).toBe('as');
  expect(location.searchParams.get('state')).toBe('rp-state');
  const newTicket = location.searchParams.get('ticket') ?? '';
  expect(newTicket).not.toBe(ticket);
  expect(newTicket).not.toBe('');

  const replay = await post(form.action, { ticket, email: 'alice@example.com' });
  expect(replay.status).toBe(400);
  expect(replay.body).toMatch(/invalid, expired or already used/);

  const wrongState = (() => {
    try {
      as.getRpt(RP, { ticket: newTicket, state: 'other-state' });
    } catch (err) {
      return err as UmaError;
    }
    return undefined;
  })();
  expect(wrongState?.error).toBe('invalid_state');

  const { access_token, pct } = as.getRpt(RP, { ticket: newTicket, state: 'rp-state' });
  expect(as.checkAccess(RS, { rpt: access_token, path: '/photo', http_method: 'GET' })).toEqual({
    access: 'granted',
  });
  const again = as.getRpt(RP, { ticket: deniedTicket(), pct });
  expect(again.pct).toBe(pct);
});

test('claims gathering - claims gathered for one client do not serve another', async () => {
  const ticket = needInfoTicket();
  const { url } = as.claimsGatheringUrl(RP, { ticket, claims_redirect_uri: CLAIMS_REDIRECT });
  formOf((await get(url)).body);
  const accepted = await post('/uma/gather', { ticket, email: 'alice@example.com' });
  const newTicket = new URL(String(accepted.headers.location)).searchParams.get('ticket') ?? '';
  expect(() => as.getRpt('other-rp', { ticket: newTicket })).toThrow(
    expect.objectContaining({ error: 'need_info' }),
  );
});

test.each([
  ['another claims_redirect_uri', { claims_redirect_uri: 'https://evil.example/steal' }],
  ['another client_id', { client_id: 'other-rp' }],
  ['another state', { state: 'guessed' }],
  ['an unknown ticket', { ticket: 'made-up' }],
])('claims gathering - refuses a link with %s', async (_title, change) => {
  const ticket = needInfoTicket();
  const { url } = as.claimsGatheringUrl(RP, { ticket, claims_redirect_uri: CLAIMS_REDIRECT });
  const tampered = new URL(url);
  for (const [key, value] of Object.entries(change)) tampered.searchParams.set(key, value);
  const page = await get(tampered.href);
  expect(page.status).toBe(400);
  expect(page.body).toMatch(/invalid, expired or already used/);
  expect(page.body).not.toContain('<form');
});

test('claims gathering - a ticket without a gathering request or an expired one is refused', async () => {
  const bare = needInfoTicket();
  expect((await post('/uma/gather', { ticket: bare, email: 'alice@example.com' })).status).toBe(
    400,
  );
  const ticket = needInfoTicket();
  const { url } = as.claimsGatheringUrl(RP, { ticket, claims_redirect_uri: CLAIMS_REDIRECT });
  nowMs += 301_000;
  expect((await get(url)).status).toBe(400);
});

test('claims gathering - escapes values it echoes into the page', async () => {
  const ticket = needInfoTicket();
  as.claimsGatheringUrl(RP, { ticket, claims_redirect_uri: CLAIMS_REDIRECT });
  const page = await post('/uma/gather', { ticket, email: '"><script>alert(1)</script>' });
  expect(page.status).toBe(400);
  expect(page.body).not.toContain('<script>');
  expect(page.body).toContain('value="&#34;&#62;&#60;script&#62;alert(1)&#60;/script&#62;"');
});

test('claims gathering - a ticket whose scopes need no claims shows a form without inputs', async () => {
  as.protect(
    RS,
    [
      {
        path: '/open',
        conditions: [{ httpMethods: ['GET'], scopes: ['https://photoz.example/free'] }],
      },
    ],
    true,
  );
  const denied = as.checkAccess(RS, { rpt: '', path: '/open', http_method: 'GET' });
  if (denied.access !== 'denied') throw new Error('expected denied');
  const { url, state } = as.claimsGatheringUrl(RP, {
    ticket: denied.ticket,
    claims_redirect_uri: CLAIMS_REDIRECT,
  });
  const page = await get(url);
  expect(page.body).toMatch(/No further information is needed/);
  const done = await post('/uma/gather', { ticket: denied.ticket });
  expect(done.status).toBe(302);
  const next = new URL(String(done.headers.location));
  expect(next.searchParams.get('state')).toBe(state);
  expect(as.getRpt(RP, { ticket: next.searchParams.get('ticket') ?? '', state }).token_type).toBe(
    'Bearer',
  );
});

test('claims gathering - leaves other paths to the caller and rejects other methods and bodies', async () => {
  expect((await get(`${base}/uma/gather/else`)).status).toBe(404);
  expect((await get(`${base}/`)).body).toBe('not the claims page');

  const put = await request(`${base}/uma/gather`, { method: 'PUT', body: 'x' });
  expect(put.statusCode).toBe(405);
  expect(put.headers.allow).toBe('GET, POST');
  await put.body.dump();

  expect((await post('/uma/gather', { ticket: 'x' }, 'application/json')).status).toBe(415);
  expect((await post('/uma/gather', { ticket: 'x', pad: 'a'.repeat(20_000) })).status).toBe(413);
});
