/**
 * umaProtect() + umaGetRpt() + umaFetch() against the local oxd server's UMA authorization
 * server, on each dialect (oxd 3.x socket, oxd 4.x HTTPS, oxd 3.x HTTPS extension): the 401
 * challenge and its ticket, RPTs for the right and the wrong scope, scope expressions, and
 * the fetch wrapper's single retry.
 */
import { request } from 'undici';
import { OxdCommandError, umaFetch, umaGetRpt, umaProtect, UmaNeedInfoError } from '../../src';
import type { OxdClient } from '../../src/oxd/client';
import { capturingLogger } from '../helpers/capture-logger';
import { useLocalStack } from '../helpers/local-stack';
import { clientFor, TRANSPORTS, type TransportName } from '../helpers/stack-fixture';
import {
  B,
  C,
  INTERNAL,
  JANE_EMAIL,
  PRIVATE,
  RESOURCES,
  type ResourceServer,
  parseOxdChallenge,
  startResourceServer,
} from './uma-fixture';

const stack = useLocalStack({
  umaClaimsPolicy: { [PRIVATE]: [{ name: 'email', friendly_name: 'email', value: JANE_EMAIL }] },
});
const closers: (() => Promise<void>)[] = [];

afterAll(async () => {
  for (const close of closers.reverse()) await close();
});

interface Answer {
  status: number;
  wwwAuthenticate: string | undefined;
  json: Record<string, unknown>;
}

async function call(
  rs: ResourceServer,
  method: string,
  path: string,
  rpt?: string,
): Promise<Answer> {
  const response = await request(rs.url + path, {
    method: method as 'GET',
    headers: rpt === undefined ? {} : { authorization: `Bearer ${rpt}` },
  });
  const text = await response.body.text();
  const header = response.headers['www-authenticate'];
  return {
    status: response.statusCode,
    wwwAuthenticate: typeof header === 'string' ? header : undefined,
    json: text ? (JSON.parse(text) as Record<string, unknown>) : {},
  };
}

/** The ticket of a 401 answer, checked against oxd's header layout. */
function ticketOf(answer: Answer): string {
  expect(answer.status).toBe(401);
  return parseOxdChallenge(answer.wwwAuthenticate).ticket as string;
}

describe.each<TransportName>([...TRANSPORTS])('umaProtect over %s', (transport) => {
  let rs: ResourceServer;
  const rpLogger = capturingLogger();
  let rsClient: OxdClient;

  beforeAll(async () => {
    rsClient = clientFor(stack, transport).client;
    rs = await startResourceServer(umaProtect(RESOURCES, { client: rsClient }));
    closers.push(
      () => rs.close(),
      () => rsClient.close(),
    );
  });

  /**
   * A requesting party of its own (a new oxd site). oxd keeps one RPT per site and hands it
   * back, whatever the ticket, while it has not expired (`UmaTokenService.getRpt`, oxd 3.1.3
   * to 4.5): each RPT a test needs next to another comes from its own site.
   */
  function newRp(): OxdClient {
    const { client } = clientFor(stack, transport, { logger: rpLogger });
    closers.push(() => client.close());
    return client;
  }

  /** A fresh RPT for `method path`, holding the ticket's scopes plus `scope`. */
  async function rptFor(method: string, path: string, scope?: string[]): Promise<string> {
    const ticket = ticketOf(await call(rs, method, path));
    return (await umaGetRpt(newRp(), { ticket, ...(scope ? { scope } : {}) })).rpt;
  }

  test('no RPT - 401 with the UMA challenge in oxd layout, and its ticket buys an RPT that gets 200', async () => {
    const denied = await call(rs, 'GET', '/api/photos');
    // UMA 2.0 Grant §3.2 (Federated Authorization §4.2 registers the ticket): a request without
    // an RPT gets 401 with `WWW-Authenticate: UMA realm, as_uri, ticket`. oxd writes it with
    // realm "rs", error="insufficient_scope" and no spaces after the commas; it is passed on as is.
    expect(denied.status).toBe(401);
    expect(denied.wwwAuthenticate).toMatch(
      /^UMA realm="rs",as_uri="https:\/\/127\.0\.0\.1:\d+",error="insufficient_scope",ticket="[0-9a-f-]{36}"$/,
    );
    const challenge = parseOxdChallenge(denied.wwwAuthenticate);
    expect(challenge.as_uri).toBe(stack.oxd.httpsUrl);
    expect(denied.json).toMatchObject({ error: 'insufficient_scope', ticket: challenge.ticket });

    const { rpt } = await umaGetRpt(newRp(), { ticket: challenge.ticket as string });
    const granted = await call(rs, 'GET', '/api/photos', rpt);
    expect(granted).toMatchObject({ status: 200, json: { resource: '/photos' } });
    expect(granted.wwwAuthenticate).toBeUndefined();
    // HEAD runs Express's GET route, so it is checked as GET.
    expect((await call(rs, 'HEAD', '/api/photos')).status).toBe(401);
    expect((await call(rs, 'HEAD', '/api/photos', rpt)).status).toBe(200);
  });

  test('an Express path template is one resource - /photos/:id for every id', async () => {
    const rpt = await rptFor('GET', '/api/photos/1');
    expect(await call(rs, 'GET', '/api/photos/42', rpt)).toMatchObject({
      status: 200,
      json: { id: '42', resource: '/photos/:id' },
    });
    // Case and a trailing slash do not get around the check (Express routes ignore both).
    expect((await call(rs, 'GET', '/api/PHOTOS/7/')).status).toBe(401);
    expect((await call(rs, 'GET', '/api/open')).status).toBe(200);
  });

  test('an RPT for the wrong scope or resource - 401 with a new ticket', async () => {
    const viewRpt = await rptFor('GET', '/api/photos');
    const post = await call(rs, 'POST', '/api/photos', viewRpt);
    const ticket = ticketOf(post);
    expect((await call(rs, 'GET', '/api/photos/1', viewRpt)).status).toBe(401);
    // The new ticket names the add scope: its RPT is good for POST.
    const addRpt = (await umaGetRpt(newRp(), { ticket })).rpt;
    expect((await call(rs, 'POST', '/api/photos', addRpt)).status).toBe(201);
  });

  test('scope expression (A and not B) or C - allows and denies as the rule says', async () => {
    expect((await call(rs, 'GET', '/api/expr', await rptFor('GET', '/api/expr'))).status).toBe(200);
    const aAndB = await rptFor('DELETE', '/api/expr', [B]);
    expect((await call(rs, 'DELETE', '/api/expr', aAndB)).status).toBe(401);
    expect((await call(rs, 'PUT', '/api/expr', await rptFor('PUT', '/api/expr'))).status).toBe(401);
    expect((await call(rs, 'POST', '/api/expr', await rptFor('POST', '/api/expr'))).status).toBe(
      200,
    );
    const bAndC = await rptFor('PUT', '/api/expr', [C]);
    expect((await call(rs, 'PUT', '/api/expr', bAndC)).status).toBe(200);
    const aBAndC = await rptFor('DELETE', '/api/expr', [B, C]);
    expect((await call(rs, 'DELETE', '/api/expr', aBAndC)).status).toBe(200);
  });

  test('scope expression (all or add) and internal - allows and denies as the rule says', async () => {
    expect((await call(rs, 'GET', '/api/admin', await rptFor('GET', '/api/admin'))).status).toBe(
      401,
    );
    const allInternal = await rptFor('GET', '/api/admin', [INTERNAL]);
    expect((await call(rs, 'GET', '/api/admin', allInternal)).status).toBe(200);
    const addOnly = await rptFor('POST', '/api/admin');
    expect((await call(rs, 'POST', '/api/admin', addOnly)).status).toBe(401);
    const addInternal = await rptFor('POST', '/api/admin', [INTERNAL]);
    expect((await call(rs, 'POST', '/api/admin', addInternal)).status).toBe(200);
  });

  test('umaFetch - 401, ticket, RPT, retry once, 200; the kept RPT is sent first next time', async () => {
    const rp = newRp();
    const obtained: string[] = [];
    const first = await umaFetch(
      `${rs.url}/api/photos`,
      {},
      {
        client: rp,
        onRpt: ({ rpt }) => {
          obtained.push(rpt);
        },
      },
    );
    expect(first.status).toBe(200);
    expect(await first.json()).toMatchObject({ photos: expect.any(Array) });
    expect(obtained).toHaveLength(1);

    const again = await umaFetch(
      `${rs.url}/api/photos`,
      {},
      {
        client: rp,
        rpt: obtained[0],
        onRpt: ({ rpt }) => {
          obtained.push(rpt);
        },
      },
    );
    expect(again.status).toBe(200);
    await again.body?.cancel();
    expect(obtained).toHaveLength(1);

    // Another resource with the kept RPT: the exchange asks to upgrade it, but oxd hands the
    // site's unexpired RPT back without asking the AS (UmaTokenService.getRpt, oxd 3.1.3 to
    // 4.5), so the retry is refused as well; the 401 reaches the caller, nothing loops.
    const other = await umaFetch(
      `${rs.url}/api/photos/9`,
      {},
      {
        client: rp,
        rpt: obtained[0],
        onRpt: ({ rpt }) => {
          obtained.push(rpt);
        },
      },
    );
    expect(other.status).toBe(401);
    await other.body?.cancel();
    expect(obtained).toEqual([obtained[0], obtained[0]]);
    // A site holding no RPT yet gets its own, for that resource.
    const fresh = await umaFetch(`${rs.url}/api/photos/9`, {}, { client: newRp() });
    expect(fresh.status).toBe(200);
    await fresh.body?.cancel();
  });

  test('umaFetch - need_info rejects with UmaNeedInfoError carrying a new ticket', async () => {
    const rp = newRp();
    const error = await umaFetch(`${rs.url}/api/private`, {}, { client: rp }).catch((e) => e);
    expect(error).toBeInstanceOf(UmaNeedInfoError);
    expect(error.code).toBe('OXD_UMA_NEED_INFO');
    expect(error.ticket).toMatch(/^[0-9a-f-]{36}$/);
    expect(error.requiredClaims.map((c: { name?: string }) => c.name)).toEqual(['email']);
    expect(error.redirectUser).toBe(`${stack.oxd.httpsUrl}/uma/claims-gathering`);
    // The ticket of the need_info answer is used up once exchanged again.
    await umaGetRpt(rp, { ticket: error.ticket }).catch(() => undefined);
    rpLogger.clear();
    const reused = await umaGetRpt(rp, { ticket: error.ticket }).catch((e) => e);
    expect(reused).toBeInstanceOf(OxdCommandError);
    expect(reused.error).toBe('invalid_ticket');
    // Logged through the client's logger, without the ticket.
    expect(rpLogger.summary()).toEqual([
      ['error', 'OXD_COMMAND_FAILED', 'uma_get_rpt', 502, 'invalid_ticket'],
    ]);
    expect(JSON.stringify(rpLogger.lines)).not.toContain(error.ticket);
  });

  test("another client's RPT - a second resource server's RPT gets 401 here, and back", async () => {
    const otherClient = clientFor(stack, transport).client;
    const other = await startResourceServer(umaProtect(RESOURCES, { client: otherClient }));
    closers.push(
      () => other.close(),
      () => otherClient.close(),
    );
    const otherTicket = ticketOf(await call(other, 'GET', '/api/photos'));
    const otherRpt = (await umaGetRpt(newRp(), { ticket: otherTicket })).rpt;
    expect((await call(other, 'GET', '/api/photos', otherRpt)).status).toBe(200);
    expect((await call(rs, 'GET', '/api/photos', otherRpt)).status).toBe(401);
    const ownRpt = await rptFor('GET', '/api/photos');
    expect((await call(other, 'GET', '/api/photos', ownRpt)).status).toBe(401);
  });
});
