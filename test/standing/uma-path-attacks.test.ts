/**
 * Request targets that try to walk around `umaProtect()`, against the local oxd server's UMA
 * authorization server (socket). The API is Express 5 or Express 4 with `umaProtect()` on
 * `/api`, routes behind it and `express.static` serving the same tree (`/api/photos/1.json`
 * is a protected file). Each target is written as is on a raw socket, so nothing on the way
 * normalises it: doubled slashes, `.` and `..` segments plain and percent-encoded, encoded
 * letters, an absolute-form target (`GET http://host/api/photos HTTP/1.1`), and targets that
 * cannot be normalised to one meaning (refused with 400, never passed on unchecked).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express5 from 'express';
import { umaGetRpt, umaProtect } from '../../src';
import { dedicatedStack } from '../helpers/local-stack';
import { express4 } from '../fixtures/apps';
import { clientFor, type LocalStack } from '../helpers/stack-fixture';
import { RESOURCES, parseOxdChallenge, rawRequest } from '../uma/uma-fixture';
import { listenLocal } from '../helpers/listen';

const PROTECTED_FILE = '{"photo":"protected"}';

let stack: LocalStack;
let root: string;
const closers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  stack = await dedicatedStack();
  root = mkdtempSync(join(tmpdir(), 'uma-paths-'));
  mkdirSync(join(root, 'photos'));
  mkdirSync(join(root, 'open'));
  writeFileSync(join(root, 'photos', '1.json'), PROTECTED_FILE);
  writeFileSync(join(root, 'open', 'readme.txt'), 'open to all');
}, 120_000);

afterAll(async () => {
  for (const close of closers.reverse()) await close();
  rmSync(root, { recursive: true, force: true });
});

/** The API on 127.0.0.1: `umaProtect()`, its routes, and the static tree, under `/api`. */
async function startApi(makeExpress: typeof express5): Promise<string> {
  const { client } = clientFor(stack, 'socket');
  const app = makeExpress();
  app.use('/api', umaProtect(RESOURCES, { client }));
  app.get('/api/photos', (_req, res) => res.json({ photos: ['protected list'] }));
  app.use('/api', express5.static(root, { index: false }));
  const server: Server = createServer(app);
  const { url, close } = await listenLocal(server);
  closers.push(close, () => client.close());
  return url;
}

describe.each([
  ['Express 5', express5],
  ['Express 4', express4 as unknown as typeof express5],
])('%s', (_name, makeExpress) => {
  let base: string;

  beforeAll(async () => {
    base = await startApi(makeExpress);
  });

  test('controls: the plain path is protected, the open file is served', async () => {
    expect((await rawRequest(base, 'GET', '/api/photos/1.json')).status).toBe(401);
    expect((await rawRequest(base, 'GET', '/api/photos')).status).toBe(401);
    const open = await rawRequest(base, 'GET', '/api/open/readme.txt');
    expect(open).toMatchObject({ status: 200, body: 'open to all' });
  });

  const walkarounds = (_host: string) => [
    '/api/photos//1.json',
    '/api//photos/1.json',
    '/api/photos/./1.json',
    '/api/photos/%2e/1.json',
    '/api/photos/%2E/1.json',
    '/api/open/../photos/1.json',
    '/api/open/%2e%2e/photos/1.json',
    '/api/%70hotos/1.json',
    '/api/photos/1.json/.',
  ];
  const absoluteForm = (host: string) => [
    `http://${host}/api/photos`,
    `http://${host}/api/photos/1.json`,
    `http://${host}/api/photos//1.json`,
  ];

  test.each([
    ['every path walk-around', walkarounds],
    ['an absolute-form target', absoluteForm],
  ])(
    '%s gets the UMA challenge (401 with a ticket), never the protected data',
    async (_label, targets) => {
      const host = new URL(base).host;
      for (const target of targets(host)) {
        const answer = await rawRequest(base, 'GET', target);
        expect({ target, status: answer.status }).toEqual({ target, status: 401 });
        expect(parseOxdChallenge(answer.headers['www-authenticate']).ticket).toMatch(
          /^[0-9a-f-]{36}$/,
        );
        expect(answer.body).not.toContain('protected');
      }
    },
  );

  test('what cannot be normalised is refused with 400, never served', async () => {
    for (const target of [
      '/api/photos/%2f1.json',
      '/api/photos%2F1.json',
      '/api/photos/%zz',
      '/api/photos/%00',
      '/api/%2e%2e/secret',
    ]) {
      const answer = await rawRequest(base, 'GET', target);
      expect({ target, status: answer.status }).toEqual({ target, status: 400 });
      expect(answer.body).not.toContain('protected');
    }
  });

  test('with an RPT for the resource, the normalised walk-arounds are served', async () => {
    const challenge = await rawRequest(base, 'GET', '/api/photos/1.json');
    const ticket = parseOxdChallenge(challenge.headers['www-authenticate']).ticket as string;
    const rp = clientFor(stack, 'socket').client;
    closers.push(() => rp.close());
    const { rpt } = await umaGetRpt(rp, { ticket });
    const answer = await rawRequest(base, 'GET', '/api/photos/./1.json', `Bearer ${rpt}`);
    expect(answer).toMatchObject({ status: 200, body: PROTECTED_FILE });
  });
});
