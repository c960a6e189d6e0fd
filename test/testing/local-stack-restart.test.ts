/**
 * Restarting `express-oxd-local` with the same command while an app runs: the OP comes back
 * on its default port with the same certificate, clients and keys, the oxd server with its
 * registrations, and the written configuration keeps the registration the app wrote back,
 * so the running app keeps logging users in. Also where the stack keeps its data by default.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import {
  closeSharedAgent,
  freePort,
  type Instance,
  SiteBrowser,
  startInstance,
} from '../helpers/app-instances';
import { ensureBuilt, ROOT } from '../helpers/build';

jest.setTimeout(180_000);

const CLI = join(ROOT, 'dist', 'testing', 'cli.js');

interface Stack {
  child: ChildProcess;
  ready: { op: { issuer: string; ca: string }; oxd: { port: number } };
  stop(): Promise<void>;
}

/** Runs the CLI in `cwd` until it prints its JSON line. */
function startStack(cwd: string, args: string[]): Promise<Stack> {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      if (stdout.includes('\n')) resolve({ child, ready: JSON.parse(stdout), stop });
    });
    child.once('exit', (code) => reject(new Error(`express-oxd-local exited ${code}:\n${stderr}`)));
  });
}

const stacks: Stack[] = [];
const instances: Instance[] = [];
const dirs: string[] = [];

beforeAll(() => ensureBuilt(), 240_000);

afterAll(async () => {
  await Promise.all(instances.splice(0).map((instance) => instance.stop()));
  await Promise.all(stacks.splice(0).map((stack) => stack.stop()));
  await closeSharedAgent();
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

async function project(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'express-oxd-restart-'));
  dirs.push(dir);
  await writeFile(join(dir, 'package.json'), '{ "private": true }\n');
  return dir;
}

/** The `[oxd] id` line of a configuration file. */
async function oxdId(file: string): Promise<string | undefined> {
  return /^id = (\S+)$/m.exec(await readFile(file, 'utf8'))?.[1];
}

test('restarting the stack with the same command keeps a running app able to log users in', async () => {
  const dir = await project();
  const configFile = join(dir, 'app.cfg');
  // The OP's port is left to its default; the oxd ports are fixed by the command.
  const command = [
    '--json',
    '--write-config',
    'app.cfg',
    '--port',
    String(await freePort()),
    '--https-port',
    String(await freePort()),
  ];
  const first = await startStack(dir, command);
  stacks.push(first);
  const user = { username: 'jane', password: 'jane-password' };

  const app = await startInstance(configFile);
  instances.push(app);
  const before = new SiteBrowser();
  const firstLogin = await before.login(app, app, user, first.ready.op.ca);
  expect(firstLogin.status).toBe(302);
  expect((await before.get(app, '/me', 'application/json')).status).toBe(200);
  const registered = await oxdId(configFile);
  expect(registered).toBeDefined();

  await first.stop();
  const second = await startStack(dir, command);
  stacks.push(second);
  expect(second.ready.op.issuer).toBe(first.ready.op.issuer);
  expect(second.ready.op.ca).toBe(first.ready.op.ca);
  // The rewritten configuration still holds the registration.
  expect(await oxdId(configFile)).toBe(registered);

  const after = new SiteBrowser();
  const secondLogin = await after.login(app, app, user, second.ready.op.ca);
  expect(secondLogin.status).toBe(302);
  const me = await after.get(app, '/me', 'application/json');
  expect(me.status).toBe(200);
  expect(me.json()).toMatchObject({ email: 'jane.doe@example.com' });
  expect(app.alive()).toBe(true);
  expect(app.stderr()).toBe('');
  expect(await oxdId(configFile)).toBe(registered);

  // Per project by default: the data lies in the project's node_modules/.cache.
  const data = join(dir, 'node_modules', '.cache', 'express-oxd-local');
  expect(await readdir(data)).toEqual(expect.arrayContaining(['local-op', 'local-oxd']));
  await second.stop();
});

/** Every file under `dir`, relative to it. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort();
}

test("the stack's data directory has no file in common with the demo's", async () => {
  const dir = await project();
  const stack = await startStack(dir, [
    '--json',
    ...['--op-port', '0', '--port', '0', '--https-port', '0', '--data-dir', 'data'],
  ]);
  stacks.push(stack);
  await stack.stop();
  const ours = await filesUnder(join(dir, 'data'));
  expect(ours.length).toBeGreaterThan(0);

  // The demo's local stack, with its data directory.
  const demoData = join(dir, 'demo-data');
  const demo = spawn(
    process.execPath,
    [
      join(ROOT, 'demo-app', 'start.js'),
      ...['--port', '0', '--op-port', '0', '--oxd-port', '0', '--oxd-https-port', '0'],
      ...['--data-dir', demoData, '--cert-dir', join(dir, 'demo-certs')],
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exited = new Promise<void>((resolve) => demo.once('exit', () => resolve()));
  let output = '';
  demo.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  demo.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const deadline = Date.now() + 90_000;
  while (!output.includes('Press Ctrl+C to stop.')) {
    if (demo.exitCode !== null || Date.now() > deadline) throw new Error(output);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  demo.kill('SIGTERM');
  await exited;
  const demos = await filesUnder(demoData);
  expect(demos).toEqual(expect.arrayContaining(['oxd-key.pem']));

  expect(ours.filter((file) => demos.includes(file))).toEqual([]);
});
