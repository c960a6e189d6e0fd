/**
 * The `express-oxd-local` CLI (dist/testing/cli.js) as a user runs it: usage errors, the
 * human-readable start-up text, the one-line JSON, and a clean exit on SIGINT / SIGTERM.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, ensureBuilt } from '../helpers/build';

const CLI = join(ROOT, 'dist', 'testing', 'cli.js');

interface Run {
  child: ChildProcess;
  output: () => string;
  errors: () => string;
  exited: Promise<number | null>;
}

function run(args: string[]): Run {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  return { child, output: () => stdout, errors: () => stderr, exited };
}

/** Waits until stdout contains `marker` (or the process exits). */
async function waitFor(process: Run, marker: string): Promise<string> {
  const deadline = Date.now() + 60_000;
  while (!process.output().includes(marker)) {
    if (process.child.exitCode !== null) {
      throw new Error(`exited early: ${process.output()}\n${process.errors()}`);
    }
    if (Date.now() > deadline) throw new Error(`no "${marker}" in: ${process.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return process.output();
}

let dataDir: string;
const started: Run[] = [];

function start(args: string[]): Run {
  const process = run(args);
  started.push(process);
  return process;
}

beforeAll(async () => {
  await ensureBuilt();
}, 240_000);

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'express-oxd-cli-'));
});

afterEach(async () => {
  for (const process of started.splice(0)) {
    if (process.child.exitCode === null) process.child.kill('SIGKILL');
    await process.exited;
  }
  await rm(dataDir, { recursive: true, force: true });
});

test('cli - --help prints the usage and exits 0', async () => {
  const help = start(['--help']);
  expect(await help.exited).toBe(0);
  expect(help.output()).toMatch(/^Usage:\n/);
  expect(help.output()).toContain('--op-ca-file FILE');
});

test('cli - an unknown option or command exits 2 with the usage on stderr', async () => {
  const badOption = start(['--colour']);
  expect(await badOption.exited).toBe(2);
  expect(badOption.errors()).toMatch(/^express-oxd-local: .*--colour[\s\S]*Usage:/);
  const badCommand = start(['serve']);
  expect(await badCommand.exited).toBe(2);
  expect(badCommand.errors()).toContain('unknown command "serve"');
});

test('cli - the oxd command needs the OP issuer and CA file', async () => {
  const oxd = start(['oxd', '--op-issuer', 'https://127.0.0.1:1']);
  expect(await oxd.exited).toBe(2);
  expect(oxd.errors()).toContain('--op-issuer URL and --op-ca-file FILE');
});

test('cli - without a command starts both and says what to configure; SIGINT exits 0', async () => {
  const both = start(['--port', '0', '--https-port', '0', '--data-dir', dataDir]);
  const text = await waitFor(both, 'Press Ctrl+C to stop.');
  const issuer = /Local OpenID Provider: (https:\/\/127\.0\.0\.1:\d+)/.exec(text)?.[1];
  const port = /\n {2}port = (\d+)\n/.exec(text)?.[1];
  const httpsUrl = /HTTPS (https:\/\/127\.0\.0\.1:\d+)/.exec(text)?.[1];
  expect(issuer).toBeDefined();
  expect(Number(port)).toBeGreaterThan(0);
  expect(text).toContain('  [oxd]\n  host = 127.0.0.1\n');
  expect(text).toContain(`  [client]\n  op_host = ${issuer}\n`);
  expect(text).toContain(`  host = ${httpsUrl}/v3 `);
  expect(text).toContain('  https_extension = true');
  expect(text).toContain(`  ca_file = ${join(dataDir, 'oxd-ca.pem')}`);
  expect(text).toContain('  jane / jane-password  jane.doe@example.com');
  expect(await readFile(join(dataDir, 'op-ca.pem'), 'utf8')).toContain('BEGIN CERTIFICATE');
  expect(await readFile(join(dataDir, 'oxd-ca.pem'), 'utf8')).toContain('BEGIN CERTIFICATE');

  both.child.kill('SIGINT');
  expect(await both.exited).toBe(0);
}, 90_000);

test('cli - --json prints one line with both servers; SIGTERM exits 0', async () => {
  const both = start(['--json', '--port', '0', '--https-port', '0', '--data-dir', dataDir]);
  const line = await waitFor(both, '\n');
  const parsed = JSON.parse(line) as Record<string, Record<string, unknown>>;
  expect(Object.keys(parsed)).toEqual(['op', 'oxd']);
  expect(parsed.op).toEqual({
    issuer: expect.stringMatching(/^https:\/\/127\.0\.0\.1:\d+$/),
    ca: expect.stringContaining('BEGIN CERTIFICATE'),
    users: expect.arrayContaining([expect.objectContaining({ username: 'jane' })]),
  });
  expect(parsed.oxd).toEqual({
    host: '127.0.0.1',
    port: expect.any(Number),
    httpsUrl: expect.stringMatching(/^https:\/\/127\.0\.0\.1:\d+$/),
    ca: expect.stringContaining('BEGIN CERTIFICATE'),
  });
  both.child.kill('SIGTERM');
  expect(await both.exited).toBe(0);
  expect(both.output().trim().split('\n')).toHaveLength(1);
}, 90_000);

test('cli - op and oxd start separately; the oxd keeps its certificate across restarts', async () => {
  const op = start(['op', '--json', '--data-dir', dataDir]);
  const opInfo = (JSON.parse(await waitFor(op, '\n')) as { op: { issuer: string } }).op;
  expect(Object.keys(JSON.parse(op.output()) as object)).toEqual(['op']);
  const oxdArgs = [
    'oxd',
    '--json',
    '--op-issuer',
    opInfo.issuer,
    '--op-ca-file',
    join(dataDir, 'op-ca.pem'),
    '--data-dir',
    dataDir,
    '--port',
    '0',
    '--https-port',
    '0',
  ];
  const first = start(oxdArgs);
  const firstInfo = JSON.parse(await waitFor(first, '\n')) as { oxd: { ca: string } };
  expect(Object.keys(firstInfo)).toEqual(['oxd']);
  first.child.kill('SIGTERM');
  expect(await first.exited).toBe(0);

  const second = start(oxdArgs);
  const secondInfo = JSON.parse(await waitFor(second, '\n')) as { oxd: { ca: string } };
  expect(secondInfo.oxd.ca).toBe(firstInfo.oxd.ca);
  second.child.kill('SIGTERM');
  op.child.kill('SIGTERM');
  expect(await Promise.all([second.exited, op.exited])).toEqual([0, 0]);
}, 90_000);
