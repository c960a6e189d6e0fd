/**
 * umaProtect() under pressure, against the local oxd server (socket and HTTPS 4.x): hostile
 * RPTs never cause a 5xx, the decision cache never serves one RPT's grant to another and
 * expires, registration is single-flight, survives a new instance and heals after another
 * instance overwrote the resources.
 */
import { randomBytes } from 'node:crypto';
import { request } from 'undici';
import { umaGetRpt, umaProtect } from '../../src';
import { capturingLogger } from '../helpers/capture-logger';
import { useLocalStack } from '../helpers/local-stack';
import { clientFor, type TransportName } from '../helpers/stack-fixture';
import {
  RESOURCES,
  type ResourceServer,
  parseOxdChallenge,
  rawRequest,
  startResourceServer,
} from './uma-fixture';

const stack = useLocalStack();
const closers: (() => Promise<void>)[] = [];

afterAll(async () => {
  for (const close of closers.reverse()) await close();
});

async function status(rs: ResourceServer, path: string, rpt?: string): Promise<number> {
  const response = await request(rs.url + path, {
    headers: rpt === undefined ? {} : { authorization: `Bearer ${rpt}` },
  });
  await response.body.dump();
  return response.statusCode;
}

async function ticket(rs: ResourceServer, path: string): Promise<string> {
  const answer = await rawRequest(rs.url, 'GET', path);
  expect(answer.status).toBe(401);
  return parseOxdChallenge(answer.headers['www-authenticate']).ticket as string;
}

describe.each<TransportName>(['socket', 'https4'])('umaProtect over %s', (transport) => {
  test('hostile RPTs - empty, 10 kB, non-ASCII, malformed or foreign - get 401 with a ticket, never 5xx', async () => {
    const { client } = clientFor(stack, transport);
    const rs = await startResourceServer(umaProtect(RESOURCES, { client }));
    closers.push(
      () => rs.close(),
      () => client.close(),
    );
    const foreign = clientFor(stack, transport);
    const foreignRs = await startResourceServer(umaProtect(RESOURCES, { client: foreign.client }));
    closers.push(
      () => foreignRs.close(),
      () => foreign.client.close(),
    );
    // One requesting party (oxd site) per RPT: oxd hands a site's unexpired RPT back whatever
    // the ticket (UmaTokenService.getRpt, oxd 3.1.3 to 4.5).
    const rp = clientFor(stack, transport).client;
    const foreignRp = clientFor(stack, transport).client;
    closers.push(
      () => rp.close(),
      () => foreignRp.close(),
    );
    const foreignRpt = (
      await umaGetRpt(foreignRp, { ticket: await ticket(foreignRs, '/api/photos') })
    ).rpt;

    const hostile: [string, string | Buffer][] = [
      ['empty Bearer', 'Bearer '],
      ['Bearer alone', 'Bearer'],
      ['10 kB token', `Bearer ${'a'.repeat(10 * 1024)}`],
      ['9990-character token (an oxd socket frame limit)', `Bearer ${'b'.repeat(9990)}`],
      ['non-ASCII token', 'Bearer jétön-ключ-🔑'],
      ['latin-1 bytes', Buffer.from([0x42, 0x65, 0x61, 0x72, 0x65, 0x72, 0x20, 0xe9, 0xff])],
      ['quotes and commas', 'Bearer a",ticket="x'],
      ['two tokens', 'Bearer abc def'],
      ['Basic credentials', `Basic ${Buffer.from('user:pass').toString('base64')}`],
      ['random opaque token', `Bearer ${randomBytes(32).toString('base64url')}`],
      ["another resource server's RPT", `Bearer ${foreignRpt}`],
    ];
    for (const [name, authorization] of hostile) {
      const answer = await rawRequest(rs.url, 'GET', '/api/photos', authorization);
      expect({ name, status: answer.status }).toEqual({ name, status: 401 });
      expect(parseOxdChallenge(answer.headers['www-authenticate']).ticket).toMatch(
        /^[0-9a-f-]{36}$/,
      );
    }
    // Each of those tickets is real: the last one still buys an RPT for this server.
    const good = await umaGetRpt(rp, { ticket: await ticket(rs, '/api/photos') });
    expect(await status(rs, '/api/photos', good.rpt)).toBe(200);
  });

  test('cache - a grant is reused for the same RPT only, then expires; denials are never cached', async () => {
    let now = 1_000_000;
    const { client, counter } = clientFor(stack, transport);
    const rs = await startResourceServer(
      umaProtect(RESOURCES, { client, cache: { ttlMs: 2000 }, clock: () => now }),
    );
    closers.push(
      () => rs.close(),
      () => client.close(),
    );
    // One requesting party (oxd site) per RPT, as in the test above.
    const rp = clientFor(stack, transport).client;
    const itemRp = clientFor(stack, transport).client;
    closers.push(
      () => rp.close(),
      () => itemRp.close(),
    );
    const photosRpt = (await umaGetRpt(rp, { ticket: await ticket(rs, '/api/photos') })).rpt;
    const itemRpt = (await umaGetRpt(itemRp, { ticket: await ticket(rs, '/api/photos/1') })).rpt;
    const checks = () => counter.count('uma_rs_check_access');

    const before = checks();
    expect(await status(rs, '/api/photos', photosRpt)).toBe(200);
    expect(await status(rs, '/api/photos', photosRpt)).toBe(200);
    expect(await status(rs, '/api/photos', photosRpt)).toBe(200);
    expect(checks()).toBe(before + 1);

    // Another RPT, valid for another resource, is checked on its own and denied here.
    expect(await status(rs, '/api/photos', itemRpt)).toBe(401);
    expect(await status(rs, '/api/photos', itemRpt)).toBe(401);
    expect(checks()).toBe(before + 3);
    // The same RPT on another resource or method is not covered by the cached grant.
    expect(await status(rs, '/api/photos/1', photosRpt)).toBe(401);
    const post = await request(`${rs.url}/api/photos`, {
      method: 'POST',
      headers: { authorization: `Bearer ${photosRpt}` },
    });
    await post.body.dump();
    expect(post.statusCode).toBe(401);
    expect(checks()).toBe(before + 5);

    now += 2001;
    expect(await status(rs, '/api/photos', photosRpt)).toBe(200);
    expect(checks()).toBe(before + 6);
  });

  test('registration - once for concurrent first requests, again (overwrite) by a new instance', async () => {
    const { client, counter } = clientFor(stack, transport);
    const protect = umaProtect(RESOURCES, { client });
    const rs = await startResourceServer(protect);
    closers.push(
      () => rs.close(),
      () => client.close(),
    );
    await client.register();
    const release = counter.hold('uma_rs_protect');
    const pending = Array.from({ length: 8 }, () => status(rs, '/api/photos'));
    await new Promise((resolve) => setTimeout(resolve, 100));
    release();
    expect(await Promise.all(pending)).toEqual(Array(8).fill(401));
    expect(counter.count('uma_rs_protect')).toBe(1);

    // A restarted (or second) instance of the same site registers again without an error.
    const restarted = await startResourceServer(umaProtect(RESOURCES, { client }));
    closers.push(() => restarted.close());
    const rp = clientFor(stack, transport).client;
    closers.push(() => rp.close());
    const rpt = (await umaGetRpt(rp, { ticket: await ticket(restarted, '/api/photos') })).rpt;
    expect(counter.count('uma_rs_protect')).toBe(2);
    expect(await status(restarted, '/api/photos', rpt)).toBe(200);
    // Both instances see the same registration now.
    expect(await status(rs, '/api/photos', rpt)).toBe(200);
  });

  test('registration - heals when another instance of the site overwrote the resources', async () => {
    const { client, counter } = clientFor(stack, transport);
    const rs = await startResourceServer(umaProtect(RESOURCES, { client }));
    closers.push(
      () => rs.close(),
      () => client.close(),
    );
    expect(await status(rs, '/api/photos')).toBe(401);
    const stranger = umaProtect(
      [{ path: '/else', conditions: [{ httpMethods: ['GET'], scopes: ['x'] }] }],
      {
        client,
      },
    );
    await stranger.register();
    expect(counter.count('uma_rs_protect')).toBe(2);
    // oxd no longer knows /photos: the middleware registers its resources again and answers.
    const answer = await rawRequest(rs.url, 'GET', '/api/photos');
    expect(answer.status).toBe(401);
    expect(parseOxdChallenge(answer.headers['www-authenticate']).ticket).toBeTruthy();
    expect(counter.count('uma_rs_protect')).toBe(3);
  });

  test('oxd unreachable - the request fails with 503, logged once, and works once oxd is back', async () => {
    const clientLogger = capturingLogger();
    const logger = capturingLogger();
    const { client } = clientFor(stack, transport, { logger: clientLogger });
    const rs = await startResourceServer(umaProtect(RESOURCES, { client, logger }));
    closers.push(
      () => rs.close(),
      () => client.close(),
    );
    expect(await status(rs, '/api/photos')).toBe(401);
    await stack.stopOxd();
    try {
      const answer = await rawRequest(rs.url, 'GET', '/api/photos', 'Bearer abc');
      expect(answer.status).toBe(503);
      expect(answer.headers['www-authenticate']).toBeUndefined();
      expect(logger.summary()).toEqual([
        ['error', 'OXD_TRANSPORT_FAILED', 'uma_check', 503, 'ECONNREFUSED'],
      ]);
      // The UMA helpers log through the client's logger.
      await expect(umaGetRpt(client, { ticket: 'a-ticket' })).rejects.toMatchObject({
        code: 'OXD_TRANSPORT_FAILED',
      });
      expect(clientLogger.summary()).toEqual([
        ['error', 'OXD_TRANSPORT_FAILED', 'uma_get_rpt', 503, 'ECONNREFUSED'],
      ]);
      expect(JSON.stringify([logger.lines, clientLogger.lines])).not.toMatch(/abc|a-ticket/);
    } finally {
      await stack.startOxd();
    }
    expect(await status(rs, '/api/photos')).toBe(401);
  }, 60_000);
});
