/**
 * One registration for processes sharing a configuration file: processes started together
 * on a file without `[oxd] id` register once and all use that site; a process holding an
 * older id adopts the one saved later instead of failing its commands and logins.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createOxdClient } from '../../src/client-from-config';
import { parseIni } from '../../src/config/ini';
import { writeBack } from '../../src/config/write-back';
import { ensureBuilt } from '../helpers/build';
import {
  DIST_ENTRY,
  FIXTURES,
  registeredSites,
  runNode,
  writeStackConfig,
} from '../helpers/instances';
import { dedicatedStack, type LocalStack } from '../helpers/local-stack';
import { submitOpLogin } from '../../src/testing/op-login';

const ORIGIN = 'https://app.example';
let stack: LocalStack;
let root: string;
let counter = 0;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'express-oxd-registration-'));
  await ensureBuilt();
  stack = await dedicatedStack();
}, 180_000);
afterAll(async () => {
  rmSync(root, { recursive: true, force: true });
});

async function configFile(extra: { oxdId?: string } = {}): Promise<string> {
  const file = join(root, `case-${++counter}.cfg`);
  await writeStackConfig(file, stack, ORIGIN, extra);
  return file;
}

function savedId(file: string): string | undefined {
  return parseIni(readFileSync(file, 'utf8')).get('oxd', 'id');
}

it('processes started together on a file without an id register one site and all use it', async () => {
  const file = await configFile();
  const before = (await registeredSites(stack)).length;
  const outcomes = await Promise.all(
    Array.from(
      { length: 4 },
      () => runNode([join(FIXTURES, 'register.js'), DIST_ENTRY, file]).done,
    ),
  );
  const ids = outcomes.map((outcome) => {
    expect(outcome).toMatchObject({ code: 0, stderr: '' });
    return (JSON.parse(outcome.stdout) as { oxdId: string }).oxdId;
  });
  expect(new Set(ids).size).toBe(1);
  expect(savedId(file)).toBe(ids[0]);
  const sites = await registeredSites(stack);
  expect(sites.length - before).toBe(1);
  expect(sites).toContain(ids[0]);
}, 60_000);

it('a client whose site oxd no longer knows adopts the id saved in the file since', async () => {
  const file = await configFile();
  const old = createOxdClient(file);
  const other = createOxdClient(await configFile());
  try {
    const oldId = await old.register();
    // Registered again elsewhere (another process, or the register command), the old site removed.
    const newId = await other.register();
    await writeBack(file, { oxd: { id: newId } });
    await old.removeSite();
    const { authorization_url } = await old.getAuthorizationUrl();
    expect(authorization_url).toContain(stack.op.issuer);
    expect(old.oxdId).toBe(newId);
    expect(old.oxdId).not.toBe(oldId);
  } finally {
    await Promise.all([old.close(), other.close()]);
  }
}, 60_000);

it('a login another process started under a newer site completes on a process holding the old id', async () => {
  const file = await configFile();
  const older = createOxdClient(file);
  const newer = createOxdClient(await configFile());
  try {
    await older.register();
    const newId = await newer.register();
    await writeBack(file, { oxd: { id: newId } });
    const { authorization_url } = await newer.getAuthorizationUrl();
    const back = await submitOpLogin(authorization_url, stack.op.users[0]!, stack.op.ca);
    const code = back.searchParams.get('code') ?? '';
    const state = back.searchParams.get('state') ?? '';
    const tokens = await older.getTokensByCode({ code, state });
    expect(tokens.access_token).toEqual(expect.any(String));
    expect(older.oxdId).toBe(newId);
  } finally {
    await Promise.all([older.close(), newer.close()]);
  }
}, 60_000);
