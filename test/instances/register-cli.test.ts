/**
 * `express-oxd register <config>` as a deploy step, run as a child process against the
 * local stack: it registers and writes the results back, verifies an existing id without
 * writing, explains an id oxd does not know; afterwards an app can start on the file made
 * read-only (by a process that cannot write it) and log users in.
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseIni } from '../../src/config/ini';
import { ensureBuilt, ROOT } from '../helpers/build';
import {
  closeSharedAgent,
  SiteBrowser,
  startInstance,
  type Instance,
} from '../helpers/app-instances';
import { registeredSites, runNode, writeStackConfig } from '../helpers/instances';
import { dedicatedStack, type LocalStack } from '../helpers/local-stack';

const CLI = join(ROOT, 'dist', 'cli.js');
const ORIGIN = 'https://app.example';
let stack: LocalStack;
let root: string;
let counter = 0;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'express-oxd-register-cli-'));
  chmodSync(root, 0o755);
  await ensureBuilt();
  stack = await dedicatedStack();
}, 180_000);
afterAll(async () => {
  await closeSharedAgent();
  rmSync(root, { recursive: true, force: true });
});

async function configFile(extra: { oxdId?: string; https?: boolean } = {}): Promise<string> {
  const dir = join(root, `case-${++counter}`);
  mkdirSync(dir, { mode: 0o755 });
  const file = join(dir, 'site.cfg');
  await writeStackConfig(file, stack, ORIGIN, extra);
  return file;
}

function register(file: string, ...flags: string[]) {
  return runNode([CLI, 'register', file, ...flags]).done;
}

describe.each([
  ['the oxd socket', false],
  ['the oxd 4.x HTTPS API', true],
])('express-oxd register over %s', (_name, https) => {
  it('registers a site, writes it back, then verifies it without a second registration', async () => {
    const file = await configFile({ https });
    const before = (await registeredSites(stack)).length;
    const first = await register(file, '--json');
    expect(first).toMatchObject({ code: 0, stderr: '' });
    const registered = JSON.parse(first.stdout) as { action: string; oxdId: string };
    expect(registered.action).toBe('registered');
    const ini = parseIni(readFileSync(file, 'utf8'));
    expect(ini.get('oxd', 'id')).toBe(registered.oxdId);
    if (https) expect(ini.get('client', 'client_secret')).toEqual(expect.any(String));

    const written = readFileSync(file, 'utf8');
    const second = await register(file);
    expect(second).toMatchObject({ code: 0, stderr: '' });
    expect(second.stdout).toBe(`verified ${file}: oxd id ${registered.oxdId}\n`);
    expect(readFileSync(file, 'utf8')).toBe(written);
    const sites = await registeredSites(stack);
    expect(sites.length - before).toBe(1);
    expect(sites).toContain(registered.oxdId);
  }, 60_000);

  it('an app starts on the registered file made read-only and logs a user in', async () => {
    const file = await configFile({ https });
    expect(await register(file)).toMatchObject({ code: 0 });
    const dir = join(file, '..');
    // Read-only, and owner-only as a file holding secrets should be (a 0444 file would be
    // used too, with a warning about the secrets others can read).
    chmodSync(file, 0o400);
    chmodSync(dir, 0o555);
    const before = readFileSync(file, 'utf8');
    let app: Instance | undefined;
    try {
      // A process that cannot write the file or its directory (root only without its
      // override of file modes).
      app = await startInstance(file, { withoutFileOverride: true });
      const browser = new SiteBrowser();
      const user = stack.op.users[0]!;
      const back = await browser.login(app, app, user, stack.op.ca);
      expect(back.status).toBe(302);
      const me = await browser.get(app, '/me', 'application/json');
      expect(me.status).toBe(200);
      expect(me.json()).toMatchObject({ sub: user.claims.sub });
      expect(app.stderr()).toBe('');
      expect(readFileSync(file, 'utf8')).toBe(before);
      expect(statSync(file).mode & 0o777).toBe(0o400);
    } finally {
      await app?.stop();
      chmodSync(dir, 0o755);
    }
  }, 60_000);
});

it('explains an id oxd does not know, and leaves the file as it was', async () => {
  const file = await configFile({ oxdId: '6f1c2f5e-0000-4000-8000-000000000000' });
  const text = readFileSync(file, 'utf8');
  const outcome = await register(file);
  expect(outcome.code).toBe(1);
  expect(outcome.stderr).toContain('oxd does not know the site of');
  expect(outcome.stderr).toContain('remove [oxd] id');
  expect(readFileSync(file, 'utf8')).toBe(text);
});

it('refuses an id without the client credentials oxd 4.x needs: nothing registered or written', async () => {
  const file = await configFile({ https: true, oxdId: '6f1c2f5e-0000-4000-8000-000000000001' });
  const text = readFileSync(file, 'utf8');
  const before = (await registeredSites(stack)).length;
  const outcome = await register(file, '--json');
  expect(outcome.code).toBe(1);
  expect(JSON.parse(outcome.stdout)).toMatchObject({
    action: 'failed',
    code: 'OXD_CONFIG_INVALID',
    file,
  });
  expect(outcome.stderr).toContain('no [client] client_id and client_secret');
  expect(outcome.stderr).toContain('Nothing was registered or written');
  expect(outcome.stderr).toContain('remove [oxd] id');
  expect(readFileSync(file, 'utf8')).toBe(text);
  expect((await registeredSites(stack)).length).toBe(before);
});

it('answers bad usage with exit code 2 and the usage text', async () => {
  const outcome = await runNode([CLI, 'regster', 'x.cfg']).done;
  expect(outcome.code).toBe(2);
  expect(outcome.stderr).toContain('unknown command "regster"');
  expect(outcome.stderr).toContain('express-oxd register <config>');
});

it('with --json, a failure is also one JSON line on stdout', async () => {
  const file = await configFile({ oxdId: '6f1c2f5e-0000-4000-8000-000000000000' });
  const outcome = await register(file, '--json');
  expect(outcome.code).toBe(1);
  expect(outcome.stderr).toContain('oxd does not know the site of');
  const lines = outcome.stdout.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(JSON.parse(lines[0]!)).toEqual({
    action: 'failed',
    code: 'OXD_COMMAND_FAILED',
    message: expect.stringContaining('remove [oxd] id'),
    file,
  });
});

it('a missing file is named, with advice a command-line user can follow', async () => {
  const file = join(root, 'no-such-dir', 'site.cfg');
  for (const flags of [[], ['--json']]) {
    const outcome = await register(file, ...flags);
    expect(outcome.code).toBe(1);
    expect(outcome.stderr).toContain(`cannot read the configuration file ${file}`);
    expect(outcome.stderr).toContain('check the path');
    expect(outcome.stderr).not.toContain('object');
    expect(outcome.stderr).not.toMatch(/\n\s+at /);
    if (flags.length === 0) {
      expect(outcome.stdout).toBe('');
    } else {
      expect(JSON.parse(outcome.stdout)).toEqual({
        action: 'failed',
        code: 'OXD_CONFIG_READ_FAILED',
        message: expect.stringContaining(`cannot read the configuration file ${file}`),
        file,
      });
      expect(JSON.parse(outcome.stdout).message).not.toContain('object');
    }
  }
});
