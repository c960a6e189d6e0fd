/**
 * `npm run demo` as a user runs it: it builds, starts the local OP, the local oxd server and
 * the demo site, prints the address, serves the home page over HTTPS, and stops cleanly on
 * Ctrl+C. A second start reuses the registration the first one wrote into the config file.
 */
import { execFile } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { ensureBuilt, ROOT } from '../helpers/build';
import { prepareWorkDir, startDemoProcess, type DemoProcess } from '../helpers/demo-process';

jest.setTimeout(180_000);

const started: DemoProcess[] = [];
const agents: Agent[] = [];

async function cleanUp(): Promise<void> {
  await Promise.all(agents.splice(0).map((agent) => agent.close()));
  await Promise.all(started.splice(0).map((demo) => demo.dispose()));
}

afterEach(cleanUp);

async function start(...args: Parameters<typeof startDemoProcess>): Promise<DemoProcess> {
  const demo = await startDemoProcess(...args);
  started.push(demo);
  return demo;
}

function agentFor(ca: string): Agent {
  const agent = new Agent({ connect: { ca } });
  agents.push(agent);
  return agent;
}

/** `[oxd] id` of an INI text. */
function oxdId(ini: string): string {
  const section = /^\[oxd\]$([\s\S]*?)(?=^\[|(?![\s\S]))/m.exec(ini)?.[1] ?? '';
  return /^id\s*=(.*)$/m.exec(section)?.[1]?.trim() ?? '';
}

/** The printed ports, to start again on the same addresses. */
function printedPorts(output: string): string[] {
  const demo = /running at https:\/\/127\.0\.0\.1:(\d+)\//.exec(output)?.[1];
  const op = /Local OpenID Provider: https:\/\/127\.0\.0\.1:(\d+)/.exec(output)?.[1];
  const oxd = /socket 127\.0\.0\.1:(\d+), HTTPS https:\/\/127\.0\.0\.1:(\d+)/.exec(output);
  if (!demo || !op || !oxd?.[1] || !oxd[2]) throw new Error(`ports not printed:\n${output}`);
  return ['--port', demo, '--op-port', op, '--oxd-port', oxd[1], '--oxd-https-port', oxd[2]];
}

/** Starts a login at the demo and returns the OP authorization URL it redirects to. */
async function loginRedirect(demo: DemoProcess, dispatcher: Agent): Promise<URL> {
  const res = await request(new URL('/login', demo.url), { dispatcher });
  await res.body.dump();
  expect(res.statusCode).toBe(302);
  return new URL(String(res.headers.location));
}

beforeAll(async () => {
  await ensureBuilt();
});

/** `git status --porcelain` of the checkout (untracked files included, ignored ones not). */
function gitStatus(): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'git',
      ['status', '--porcelain', '--untracked-files=all'],
      { cwd: ROOT },
      (error, stdout) => (error ? reject(error) : resolve(stdout)),
    );
  });
}

test('npm run demo - registers and writes back into a git-ignored copy; the checkout stays as it was', async () => {
  const before = await gitStatus();
  const tracked = await readFile(join(ROOT, 'demosite.cfg'), 'utf8');
  // The repository's demosite.cfg, on free ports: every endpoint line differs from the file.
  const demo = await start({ command: 'npm', repositoryConfig: true });
  const login = await loginRedirect(demo, agentFor(await demo.demoCertificate()));
  expect(login.searchParams.get('client_id')).toBeTruthy();
  const copy = await readFile(demo.configFile, 'utf8');
  expect(oxdId(copy)).not.toBe('');
  expect(copy).toContain(`authorization_redirect_uri = ${new URL('/callback', demo.url).href}`);
  expect(demo.output()).toContain(`registration results go to ${demo.configFile}`);
  const exit = await demo.stop('SIGINT');
  expect(['SIGINT', 130, 0]).toContain(exit.signal ?? exit.code);

  expect(await readFile(join(ROOT, 'demosite.cfg'), 'utf8')).toBe(tracked);
  expect(await gitStatus()).toBe(before);
});

test('npm run demo - serves the home page over HTTPS and stops cleanly on Ctrl+C', async () => {
  const demo = await start({ command: 'npm' });
  expect(demo.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/$/);
  expect(demo.username).toBe('jane');

  const res = await request(demo.url, { dispatcher: agentFor(await demo.demoCertificate()) });
  const body = await res.body.text();
  expect(res.statusCode).toBe(200);
  expect(body).toContain('Log in');
  expect(String(res.headers['content-security-policy'])).toContain("default-src 'self'");
  expect(String(res.headers['content-security-policy'])).toContain("script-src 'none'");

  // Ctrl+C reaches the whole process group. The demo closes its servers and exits 0
  // ("Stopped." is printed just before); npm, interrupted itself, ends with SIGINT.
  const exit = await demo.stop('SIGINT');
  expect(['SIGINT', 130, 0]).toContain(exit.signal ?? exit.code);
  expect(demo.output()).toContain('Stopped.');
  expect(demo.output()).not.toContain('did not stop cleanly');
  await expect(
    request(demo.url, { dispatcher: agentFor(await demo.demoCertificate()) }),
  ).rejects.toThrow(/ECONNREFUSED/);
});

test('start - a second start reuses the registration written back by the first', async () => {
  const workDir = await prepareWorkDir();
  try {
    const first = await start({ workDir });
    const demoCa = await first.demoCertificate();
    const firstLogin = await loginRedirect(first, agentFor(demoCa));
    const registered = oxdId(await readFile(first.configFile, 'utf8'));
    expect(registered).not.toBe('');
    const ports = printedPorts(first.output());
    await expect(first.stop('SIGTERM')).resolves.toEqual({ code: 0, signal: null });
    // The configuration given with --config is only read.
    expect(oxdId(await readFile(first.templateFile, 'utf8'))).toBe('');

    const second = await start({ workDir, args: ports });
    expect(second.output()).not.toContain('registers again');
    expect(oxdId(await readFile(second.configFile, 'utf8'))).toBe(registered);
    const secondLogin = await loginRedirect(second, agentFor(await second.demoCertificate()));
    expect(secondLogin.searchParams.get('client_id')).toBe(
      firstLogin.searchParams.get('client_id'),
    );
    // The OP still knows the client: it answers the authorization request with its login page.
    const atOp = await request(secondLogin, { dispatcher: agentFor(await second.opCertificate()) });
    await atOp.body.dump();
    expect(atOp.statusCode).toBe(303);
  } finally {
    await cleanUp();
    await rm(workDir, { recursive: true, force: true });
  }
});

test('start - registers again, with a notice, when the local oxd server lost the stored oxd id', async () => {
  const workDir = await prepareWorkDir();
  try {
    const first = await start({ workDir });
    await loginRedirect(first, agentFor(await first.demoCertificate()));
    const registered = oxdId(await readFile(first.configFile, 'utf8'));
    expect(registered).not.toBe('');
    const ports = printedPorts(first.output());
    await expect(first.stop('SIGTERM')).resolves.toEqual({ code: 0, signal: null });
    await rm(join(workDir, 'data', 'oxd', 'registrations.json'));

    const second = await start({ workDir, args: ports });
    expect(second.output()).toContain(`does not know the oxd id ${registered}`);
    expect(oxdId(await readFile(second.configFile, 'utf8'))).toBe('');
    const login = await loginRedirect(second, agentFor(await second.demoCertificate()));
    expect(login.origin).toBe(/Local OpenID Provider: (\S+)/.exec(second.output())?.[1]);
    const again = oxdId(await readFile(second.configFile, 'utf8'));
    expect(again).not.toBe('');
    expect(again).not.toBe(registered);
  } finally {
    await cleanUp();
    await rm(workDir, { recursive: true, force: true });
  }
});

test.each([
  ['--op-port', 'DEMO_OP_PORT'],
  ['--oxd-port', 'DEMO_OXD_PORT'],
  ['--oxd-https-port', 'DEMO_OXD_HTTPS_PORT'],
  ['--port', 'DEMO_PORT'],
])('start - a busy port is named with the flag that changes it (%s)', async (flag, variable) => {
  const busy = createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  const { port } = busy.address() as AddressInfo;
  const workDir = await prepareWorkDir();
  try {
    const ports = { '--port': '0', '--op-port': '0', '--oxd-port': '0', '--oxd-https-port': '0' };
    ports[flag as keyof typeof ports] = String(port);
    const outcome = await new Promise<{ code: number | null; output: string }>((resolve) => {
      execFile(
        process.execPath,
        [
          join(ROOT, 'demo-app', 'start.js'),
          ...Object.entries(ports).flat(),
          ...['--config', join(workDir, 'demosite.cfg'), '--data-dir', join(workDir, 'data')],
          ...['--cert-dir', join(workDir, 'certs')],
        ],
        { cwd: ROOT },
        (error, stdout, stderr) =>
          resolve({ code: error ? Number(error.code) : 0, output: stdout + stderr }),
      );
    });
    expect(outcome.code).toBe(1);
    expect(outcome.output).toContain(`Port ${port} is in use`);
    expect(outcome.output).toContain(`choose another with ${flag} (or ${variable}`);
  } finally {
    busy.close();
    await rm(workDir, { recursive: true, force: true });
  }
});
