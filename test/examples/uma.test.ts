/**
 * examples/uma: api.js (a photo API behind umaProtect, its own oxd site) and app.js (a web app
 * that logs users in and calls the API as the requesting party through umaClaims), both run
 * as processes on the local stack. The API refuses a request without an RPT with a UMA
 * ticket; a logged-in user's album page gets the photos through an RPT.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { parseIni } from '../../src/config/ini';
import { closeSharedAgent, SiteBrowser } from '../helpers/app-instances';
import { startExample } from '../helpers/examples';
import { registeredSites, writeStackConfig } from '../helpers/instances';
import { useLocalStack } from '../helpers/local-stack';

jest.setTimeout(120_000);

const stack = useLocalStack();
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'express-oxd-example-uma-'));
});

afterAll(async () => {
  await closeSharedAgent();
  await rm(dir, { recursive: true, force: true });
});

test('the API answers 401 with a ticket without an RPT; the logged-in app reads the album through one', async () => {
  const apiCfg = join(dir, 'api.cfg');
  const appCfg = join(dir, 'app.cfg');
  await writeStackConfig(apiCfg, stack, 'https://api.example');
  await writeStackConfig(appCfg, stack, 'https://app.example');
  const api = await startExample('uma', 'api.js', { OXD_CONFIG: apiCfg, PORT: '0' });

  const bare = await request(`${api.origin}/api/photos`);
  expect(bare.statusCode).toBe(401);
  expect(String(bare.headers['www-authenticate'])).toMatch(/^UMA realm=.*ticket="[^"]+"/);
  await bare.body.dump();

  const app = await startExample('uma', 'app.js', {
    OXD_CONFIG: appCfg,
    API_URL: api.origin,
    APP_URL: 'https://app.example',
    SESSION_SECRET: 'uma example secret',
    PORT: '0',
  });
  const browser = new SiteBrowser();
  const before = await browser.get(app, '/album');
  expect(before.status).toBe(302);
  expect(before.location).toBe('/login?returnTo=%2Falbum');

  const back = await browser.login(app, app, stack.op.users[0]!, stack.op.ca);
  expect(back.status).toBe(302);
  for (let visit = 0; visit < 2; visit += 1) {
    const album = await browser.get(app, '/album', 'application/json');
    expect(album.status).toBe(200);
    expect(album.json()).toEqual({
      photos: [
        { id: 1, title: 'Harbour at dawn' },
        { id: 2, title: 'Snow on the pass' },
      ],
    });
  }

  // Two sites at oxd: the API's (resource server) and the app's (requesting party).
  const ids = [apiCfg, appCfg].map(async (file) =>
    parseIni(await readFile(file, 'utf8')).get('oxd', 'id'),
  );
  expect((await registeredSites(stack)).sort()).toEqual((await Promise.all(ids)).sort());
  for (const process of [api, app]) {
    expect(process.alive()).toBe(true);
    expect(process.stderr()).toBe('');
  }
  // SIGTERM: both close their server and oxd connections, and exit.
  expect(await Promise.all([app.stop(), api.stop()])).toEqual([
    { code: 0, signal: null },
    { code: 0, signal: null },
  ]);
});
