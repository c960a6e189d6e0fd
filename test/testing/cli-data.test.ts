/**
 * Where `express-oxd-local` keeps its data by default, and when the registration an app wrote
 * into its configuration is kept at the next start (only while the data directory knows it).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dataLayout, defaultDataDir, registrationStillKnown } from '../../src/testing/cli-data';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'express-oxd-cli-data-'));
});

afterEach(() => rm(dir, { recursive: true, force: true }));

test('the default data directory belongs to the project around the current folder', async () => {
  const project = join(dir, 'project');
  await mkdir(join(project, 'src', 'deep'), { recursive: true });
  await writeFile(join(project, 'package.json'), '{}');
  const expected = join(project, 'node_modules', '.cache', 'express-oxd-local');
  expect(defaultDataDir(project, {})).toBe(expected);
  expect(defaultDataDir(join(project, 'src', 'deep'), {})).toBe(expected);
});

test('outside any project the default data directory is in the user cache, not shared', () => {
  // The file system root holds no package.json.
  expect(defaultDataDir('/', { XDG_CACHE_HOME: '/home/u/.cache' }, 'linux')).toBe(
    '/home/u/.cache/express-oxd-local',
  );
  expect(defaultDataDir('/', { LOCALAPPDATA: 'C:\\Users\\u\\AppData\\Local' }, 'win32')).toMatch(
    /^C:\\Users\\u\\AppData\\Local[\\/]express-oxd-local$/,
  );
  expect(defaultDataDir('/', {}, 'linux')).not.toContain(tmpdir());
});

const ISSUER = 'https://127.0.0.1:8544';

async function knownData(site: Record<string, unknown>, clients: string[]): Promise<void> {
  const layout = dataLayout(dir);
  await mkdir(layout.oxd, { recursive: true });
  await mkdir(layout.op, { recursive: true });
  await writeFile(layout.registrations, JSON.stringify({ version: 1, sites: { 'oxd-1': site } }));
  await writeFile(
    layout.opClients,
    JSON.stringify({ version: 1, entries: clients.map((id) => ({ key: `Client:${id}` })) }),
  );
}

const saved = {
  oxd: { id: 'oxd-1' },
  client: { client_id: 'c-1', client_secret: 's-1', protection_access_token: 'old-token' },
};

test('a registration the oxd server and the OP still know is kept, without the old token', async () => {
  await knownData({ oxd_id: 'oxd-1', op_host: `${ISSUER}/`, client_id: 'c-1' }, ['c-1']);
  await expect(registrationStillKnown(dir, saved, ISSUER, true)).resolves.toEqual({
    oxd: { id: 'oxd-1' },
    client: { client_id: 'c-1', client_secret: 's-1' },
  });
});

test('a registration the data directory no longer knows is dropped', async () => {
  // Nothing stored at all.
  await expect(registrationStillKnown(dir, saved, ISSUER, true)).resolves.toBeUndefined();
  // The OP forgot the client.
  await knownData({ oxd_id: 'oxd-1', op_host: ISSUER, client_id: 'c-1' }, ['c-2']);
  await expect(registrationStillKnown(dir, saved, ISSUER, true)).resolves.toBeUndefined();
  // The site belongs to another OP (another --op-port).
  await knownData({ oxd_id: 'oxd-1', op_host: 'https://127.0.0.1:9999', client_id: 'c-1' }, [
    'c-1',
  ]);
  await expect(registrationStillKnown(dir, saved, ISSUER, true)).resolves.toBeUndefined();
  // The site has another client now.
  await knownData({ oxd_id: 'oxd-1', op_host: ISSUER, client_id: 'c-9' }, ['c-9']);
  await expect(registrationStillKnown(dir, saved, ISSUER, true)).resolves.toBeUndefined();
  // No registration in the file.
  await expect(registrationStillKnown(dir, {}, ISSUER, true)).resolves.toBeUndefined();
});
