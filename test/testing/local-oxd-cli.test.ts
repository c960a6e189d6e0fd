/**
 * The `express-oxd-local` CLI (dist/testing/cli.js) as a user runs it: usage errors, the
 * human-readable start-up text, the one-line JSON, and a clean exit on SIGINT / SIGTERM;
 * missing optional peers, default ports, the written configuration and dev certificate.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, symlink } from 'node:fs/promises';
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
  const both = start(['--op-port', '0', '--port', '0', '--https-port', '0', '--data-dir', dataDir]);
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
  expect(text).toContain(`  ca_file = ${join(dataDir, 'local-oxd', 'cert.pem')}`);
  expect(text).toContain('  jane / jane-password  jane.doe@example.com');
  expect(text).toContain(`  its CA certificate: ${join(dataDir, 'local-op', 'cert.pem')}`);
  expect(await readFile(join(dataDir, 'local-op', 'cert.pem'), 'utf8')).toContain(
    'BEGIN CERTIFICATE',
  );
  expect(await readFile(join(dataDir, 'local-oxd', 'cert.pem'), 'utf8')).toContain(
    'BEGIN CERTIFICATE',
  );

  both.child.kill('SIGINT');
  expect(await both.exited).toBe(0);
}, 90_000);

test('cli - --json prints one line with both servers; SIGTERM exits 0', async () => {
  const both = start([
    '--json',
    ...['--op-port', '0', '--port', '0', '--https-port', '0', '--data-dir', dataDir],
  ]);
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
  const op = start(['op', '--json', '--op-port', '0', '--data-dir', dataDir]);
  const opInfo = (JSON.parse(await waitFor(op, '\n')) as { op: { issuer: string } }).op;
  expect(Object.keys(JSON.parse(op.output()) as object)).toEqual(['op']);
  const oxdArgs = [
    'oxd',
    '--json',
    '--op-issuer',
    opInfo.issuer,
    '--op-ca-file',
    join(dataDir, 'local-op', 'cert.pem'),
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

/**
 * A project where express-oxd is installed (a copy of dist/ and package.json) with its
 * dependency undici, plus the given optional peers taken from this checkout.
 */
async function projectWith(peers: string[]): Promise<string> {
  const project = join(dataDir, 'project');
  const installed = join(project, 'node_modules', 'express-oxd');
  await mkdir(installed, { recursive: true });
  await cp(join(ROOT, 'dist'), join(installed, 'dist'), { recursive: true });
  await cp(join(ROOT, 'package.json'), join(installed, 'package.json'));
  for (const name of ['undici', ...peers]) {
    await symlink(join(ROOT, 'node_modules', name), join(project, 'node_modules', name), 'dir');
  }
  return join(installed, 'dist', 'testing', 'cli.js');
}

function runFile(file: string, args: string[]): Run {
  const child = spawn(process.execPath, [file, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const process_: Run = {
    child,
    output: () => stdout,
    errors: () => stderr,
    exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))),
  };
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  started.push(process_);
  return process_;
}

test('cli - names every missing optional peer in one message, without a stack trace', async () => {
  const cli = await projectWith([]);
  const none = runFile(cli, ['--port', '0', '--https-port', '0', '--data-dir', dataDir]);
  expect(await none.exited).toBe(1);
  expect(none.errors()).toContain('oidc-provider, selfsigned and jose, which are not installed');
  expect(none.errors()).toContain('npm install --save-dev oidc-provider@9 selfsigned@5 jose@6');
  expect(none.errors()).not.toMatch(/\n\s+at /);
  expect(none.errors().trim().split('\n')).toHaveLength(2);
  expect(none.output()).toBe('');
}, 60_000);

test('cli - names only the peer that is missing', async () => {
  const cli = await projectWith(['oidc-provider', 'jose']);
  const one = runFile(cli, ['op', '--data-dir', dataDir]);
  expect(await one.exited).toBe(1);
  expect(one.errors()).toContain('the optional package selfsigned, which is not installed');
  expect(one.errors()).toContain('npm install --save-dev selfsigned@5\n');
  expect(one.errors()).not.toContain('oidc-provider');
  expect(one.errors()).not.toMatch(/\n\s+at /);
}, 60_000);

/** The port numbers named in the `(default ...)` remarks of a usage text's port options. */
function defaultPorts(usage: string): number[] {
  const portLines = usage.split('\n').filter((line) => /^\s*--[a-z-]*port\b/.test(line));
  return [...portLines.join('\n').matchAll(/\(default:? ([^)]*)\)/g)].flatMap((match) =>
    [...(match[1] ?? '').matchAll(/\b\d{4,5}\b/g)].map((port) => Number(port[0])),
  );
}

test("cli - default ports differ from the demo's", async () => {
  const help = start(['--help']);
  expect(await help.exited).toBe(0);
  const ours = defaultPorts(help.output());
  expect(ours).toHaveLength(3);

  const demoHelp = runFile(join(ROOT, 'demo-app', 'start.js'), ['--help']);
  expect(await demoHelp.exited).toBe(0);
  const demos = defaultPorts(demoHelp.output());
  expect(demos).toEqual(expect.arrayContaining([8443, 8444, 8099, 8445]));
  expect(ours.filter((port) => demos.includes(port))).toEqual([]);
});

test('cli - --write-config writes a complete configuration for --app-url, also printed', async () => {
  const file = join(dataDir, 'app.cfg');
  const both = start([
    ...['--op-port', '0', '--port', '0', '--https-port', '0', '--data-dir', dataDir],
    ...['--app-url', 'https://127.0.0.1:4711', '--write-config', file],
  ]);
  const text = await waitFor(both, 'Press Ctrl+C to stop.');
  const issuer = /Local OpenID Provider: (https:\/\/127\.0\.0\.1:\d+)/.exec(text)?.[1];
  const port = /socket 127\.0\.0\.1:(\d+)/.exec(text)?.[1];
  const expected = [
    '[oxd]',
    'host = 127.0.0.1',
    `port = ${port}`,
    '[client]',
    `op_host = ${issuer}`,
    'authorization_redirect_uri = https://127.0.0.1:4711/callback',
    'post_logout_redirect_uri = https://127.0.0.1:4711/',
    'client_name = express-oxd local app',
  ];
  const written = await readFile(file, 'utf8');
  for (const line of expected) {
    expect(written).toMatch(new RegExp(`^${line.replace(/[[\]./]/g, '\\$&')}$`, 'm'));
    expect(text).toContain(`  ${line}\n`);
  }
  // express-oxd reads it as it is.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { resolveConfig } = require(
    join(ROOT, 'dist', 'config-entry.js'),
  ) as typeof import('../../src/config-entry');
  const config = resolveConfig(file);
  expect(config.client).toMatchObject({
    opHost: issuer,
    authorizationRedirectUri: 'https://127.0.0.1:4711/callback',
    postLogoutRedirectUri: 'https://127.0.0.1:4711/',
    clientName: 'express-oxd local app',
  });
  expect(config.oxd).toMatchObject({ host: '127.0.0.1', port: Number(port), https: false });
  both.child.kill('SIGINT');
  expect(await both.exited).toBe(0);
}, 90_000);

test.each(['4.1', '4.2'])(
  'cli - --oxd-version %s --write-config writes an oxd 4.x REST configuration the package accepts',
  async (version) => {
    // oxd 4.x has no socket (4.x RestResource only): the configuration names its HTTPS URL.
    const file = join(dataDir, `app-${version}.cfg`);
    const both = start([
      ...['--port', '0', '--https-port', '0', '--data-dir', dataDir, '--oxd-version', version],
      ...['--app-url', 'https://127.0.0.1:4711', '--write-config', file],
    ]);
    const text = await waitFor(both, 'Press Ctrl+C to stop.');
    const httpsUrl = /HTTPS (https:\/\/127\.0\.0\.1:\d+)/.exec(text)?.[1];
    const written = await readFile(file, 'utf8');
    expect(written).not.toMatch(/^port = /m);
    for (const line of ['https_extension = true', `host = ${httpsUrl}`, 'server_version = 4']) {
      expect(written).toContain(`\n${line}\n`);
      expect(text).toContain(`  ${line}\n`);
    }
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { resolveConfig } = require(
      join(ROOT, 'dist', 'config-entry.js'),
    ) as typeof import('../../src/config-entry');
    const config = resolveConfig(file);
    expect(config.oxd).toMatchObject({ https: true, serverVersion: 4 });
    expect(config.oxd.host.replace(/\/+$/, '')).toBe(httpsUrl);
    expect(await readFile(config.oxd.caFile as string, 'utf8')).toContain('BEGIN CERTIFICATE');
    both.child.kill('SIGINT');
    expect(await both.exited).toBe(0);
  },
  90_000,
);

test('cli - a --write-config path that cannot be written fails clearly and stops the servers', async () => {
  const file = join(dataDir, 'missing-dir', 'app.cfg');
  const both = start([
    '--op-port',
    '0',
    '--port',
    '0',
    '--https-port',
    '0',
    '--data-dir',
    dataDir,
    '--write-config',
    file,
  ]);
  expect(await both.exited).toBe(1);
  expect(both.errors()).toContain(`cannot write the configuration to ${file}`);
  expect(both.errors()).not.toMatch(/\n\s+at /);
  await expect(readdir(join(dataDir))).resolves.not.toContain('missing-dir');
}, 90_000);

test('cli - --app-url must be an https URL without credentials', async () => {
  for (const bad of ['http://127.0.0.1:3000', 'https://user:pw@127.0.0.1:3000', 'not a url']) {
    const run = start(['--app-url', bad]);
    expect(await run.exited).toBe(2);
    expect(run.errors()).toContain('--app-url must be');
  }
});

test('cli - --write-dev-cert writes a certificate for the app host and keeps it', async () => {
  const certDir = join(dataDir, 'certs');
  const args = [
    'op',
    '--op-port',
    '0',
    '--data-dir',
    dataDir,
    '--write-dev-cert',
    certDir,
    '--app-url',
    'https://localhost:3000',
  ];
  const first = start(args);
  await waitFor(first, 'Press Ctrl+C to stop.');
  expect(first.output()).toContain(
    `Development certificate for localhost: ${join(certDir, 'dev-cert.pem')}`,
  );
  const cert = await readFile(join(certDir, 'dev-cert.pem'), 'utf8');
  const x509 = new X509Certificate(cert);
  expect(x509.checkHost('localhost')).toBe('localhost');
  expect(x509.checkIP('127.0.0.1')).toBe('127.0.0.1');
  const key = await readFile(join(certDir, 'dev-key.pem'), 'utf8');
  expect(x509.checkPrivateKey(createPrivateKey(key))).toBe(true);
  first.child.kill('SIGTERM');
  expect(await first.exited).toBe(0);

  const second = start(args);
  await waitFor(second, 'Press Ctrl+C to stop.');
  expect(await readFile(join(certDir, 'dev-cert.pem'), 'utf8')).toBe(cert);
  second.child.kill('SIGTERM');
  expect(await second.exited).toBe(0);
}, 90_000);
