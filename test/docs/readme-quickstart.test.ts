/**
 * The README's quick start, run as a new user runs it: the code blocks marked
 * `<!-- readme-test: ... -->` are taken from README.md (and the express-oxd/testing snippet from
 * docs/local-stack.md; the README's app.js must read as examples/quickstart/app.js, which is what
 * runs), the packed package (`npm pack`) is
 * installed with the README's install lines in a scratch project, the local stack and the app
 * are started with the README's commands, and a user logs in through the OP's login form,
 * sees the profile, and logs out back to the app. Only the ports are chosen by the test
 * (free ones), and the stack keeps its data in the scratch directory.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { ensureBuilt, ROOT } from '../helpers/build';
import { followOpLogout, OpCookieJar, submitOpLogin } from '../../src/testing/op-login';

jest.setTimeout(180_000);

interface Block {
  marker: string;
  lang: string;
  code: string;
}

/** The fenced code blocks that directly follow a `<!-- readme-test: MARKER -->` comment. */
function markedBlocks(markdown: string): Block[] {
  const pattern = /<!--\s*readme-test:\s*([^>]*?)\s*-->\s*\n```(\w*)\n([\s\S]*?)\n```/g;
  return [...markdown.matchAll(pattern)].map((match) => ({
    marker: match[1] ?? '',
    lang: match[2] ?? '',
    code: match[3] ?? '',
  }));
}

/** The environment of a user's shell: without the variables npm sets for this test run. */
function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name)),
  );
  return { ...env, NO_COLOR: '1', ...extra };
}

function run(
  command: string,
  args: string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv },
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      { cwd: options.cwd, env: options.env ?? userEnv(), maxBuffer: 32 * 1024 * 1024 },
      (error, stdout, stderr) =>
        resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

interface Background {
  child: ChildProcess;
  output(): string;
  waitFor(marker: string | RegExp): Promise<string>;
  stop(): Promise<void>;
}

/** Runs a shell script in its own process group, as a terminal would. */
function background(script: string, cwd: string, env: NodeJS.ProcessEnv): Background {
  const child = spawn('bash', ['-c', script], {
    cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    output: () => output,
    async waitFor(marker) {
      const deadline = Date.now() + 60_000;
      const found = () =>
        typeof marker === 'string' ? output.includes(marker) : marker.test(output);
      while (!found()) {
        if (child.exitCode !== null || child.signalCode !== null) {
          throw new Error(`"${script}" exited before printing ${String(marker)}:\n${output}`);
        }
        if (Date.now() > deadline)
          throw new Error(`no ${String(marker)} from "${script}":\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      return output;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGTERM');
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
        }
        const killer = setTimeout(() => {
          try {
            process.kill(-child.pid!, 'SIGKILL');
          } catch {
            // already gone
          }
        }, 10_000);
        await exited;
        clearTimeout(killer);
      }
    },
  };
}

/** A port that was free a moment ago (the app's address must be known before it starts). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** `name=value` pairs of the Set-Cookie headers, merged into `jar`. */
function keepCookies(jar: Map<string, string>, setCookie: string | string[] | undefined): void {
  for (const header of setCookie === undefined ? [] : [setCookie].flat()) {
    const [pair = ''] = header.split(';');
    const eq = pair.indexOf('=');
    if (eq > 0) jar.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
  }
}

function cookieHeader(jar: Map<string, string>): string {
  return [...jar].map(([name, value]) => `${name}=${value}`).join('; ');
}

/** Follows the OP's redirects to its login page and returns the client name shown there. */
async function opLoginPageClientName(authorizationUrl: URL, ca: string): Promise<string> {
  const agent = new Agent({ connect: { ca } });
  const jar = new OpCookieJar();
  try {
    let url = authorizationUrl;
    for (let hop = 0; hop < 10; hop += 1) {
      const cookie = jar.header(url);
      const res = await request(url, { dispatcher: agent, headers: cookie ? { cookie } : {} });
      jar.store(url, res.headers['set-cookie']);
      const body = await res.body.text();
      if (res.statusCode >= 300 && res.statusCode < 400) {
        url = new URL(String(res.headers.location), url);
        continue;
      }
      const name = /<strong id="client-name">([^<]*)<\/strong>/.exec(body)?.[1];
      if (name === undefined) throw new Error(`no client name on the OP page ${url.href}`);
      return name;
    }
    throw new Error('too many redirects at the OP');
  } finally {
    await agent.close();
  }
}

const EXAMPLE_APP = join(ROOT, 'examples', 'quickstart', 'app.js');

/**
 * The quick start's app.js: examples/quickstart/app.js, which the README shows as it is (the
 * block must be the file, so the README cannot drift from what runs here).
 */
async function quickStartApp(): Promise<string> {
  const file = await readFile(EXAMPLE_APP, 'utf8');
  expect(block('file app.js').code).toBe(file.replace(/\n$/, ''));
  return file;
}

/** The pages holding the marked blocks: the quick start, and the express-oxd/testing snippet. */
const DOC_PAGES = ['README.md', 'docs/local-stack.md'];

let dir: string;
let blocks: Block[];
const running: Background[] = [];
const agents: Agent[] = [];

function block(marker: string): Block {
  const found = blocks.filter((candidate) => candidate.marker === marker);
  if (found.length !== 1) {
    throw new Error(`${DOC_PAGES.join(', ')}: expected one "${marker}" block`);
  }
  return found[0]!;
}

beforeAll(async () => {
  blocks = (await Promise.all(DOC_PAGES.map((page) => readFile(join(ROOT, page), 'utf8')))).flatMap(
    markedBlocks,
  );
  dir = await mkdtemp(join(tmpdir(), 'express-oxd-readme-'));
  await ensureBuilt();
  // The package as it would be published (scripts skipped: dist/ is built, and rebuilding it
  // would pull it from under other tests).
  const packed = await run(
    'npm',
    ['pack', '--json', '--ignore-scripts', '--pack-destination', dir],
    { cwd: ROOT },
  );
  expect(packed.code).toBe(0);
  const tarball = join(dir, (JSON.parse(packed.stdout) as { filename: string }[])[0]!.filename);

  const project = join(dir, 'app');
  await run('mkdir', ['-p', project], { cwd: dir });
  await writeFile(join(project, 'package.json'), '{ "private": true }\n');
  const installs = blocks.filter((candidate) => candidate.marker === 'install');
  expect(installs.length).toBeGreaterThanOrEqual(2);
  for (const { code } of installs) {
    for (const line of code.split('\n').filter((text) => text.startsWith('npm install'))) {
      const args = line
        .split(/\s+/)
        .slice(1)
        .map((word) => (word === 'express-oxd' ? tarball : word));
      const installed = await run(
        'npm',
        [...args, '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'],
        { cwd: project },
      );
      if (installed.code !== 0) throw new Error(`${line} failed:\n${installed.stderr}`);
    }
  }
}, 240_000);

afterAll(async () => {
  await Promise.all(running.splice(0).map((process) => process.stop()));
  await Promise.all(agents.splice(0).map((agent) => agent.close()));
  await rm(dir, { recursive: true, force: true });
});

test('README - the install lines install express-oxd, express, express-session and the peers', async () => {
  const project = join(dir, 'app');
  const manifest = JSON.parse(await readFile(join(project, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
    devDependencies: Record<string, string>;
  };
  expect(Object.keys(manifest.dependencies).sort()).toEqual([
    'express',
    'express-oxd',
    'express-session',
  ]);
  expect(Object.keys(manifest.devDependencies).sort()).toEqual([
    'jose',
    'oidc-provider',
    'selfsigned',
  ]);
});

test('README - app.js refuses to start without SESSION_SECRET and says how to set it', async () => {
  const project = join(dir, 'app');
  await writeFile(join(project, 'app.js'), await quickStartApp());
  const env = userEnv();
  delete env.SESSION_SECRET;
  const started = await run(process.execPath, ['app.js'], { cwd: project, env });
  expect(started.code).toBe(1);
  expect(started.stderr).toContain('Set SESSION_SECRET to a long random string');
  expect(started.stderr).toContain('export SESSION_SECRET=');
  expect(started.stderr).not.toMatch(/\n\s+at /);
});

test('README - the quick start runs as written: login at the OP, profile, logout back to the app', async () => {
  const project = join(dir, 'app');
  await writeFile(join(project, 'app.js'), await quickStartApp());
  const stackLine = block('stack').code.trim();
  expect(stackLine).toMatch(/^npx express-oxd-local /);
  const stackData = join(dir, 'stack-data');
  // The app's address is given to the stack before the app starts; when another process
  // takes that port in between (tests run in parallel), both start again on another one.
  let origin = '';
  let stack: Background | undefined;
  for (let attempt = 1; stack === undefined; attempt += 1) {
    origin = `https://127.0.0.1:${await freePort()}`;
    const started = background(
      `${stackLine} --op-port 0 --port 0 --https-port 0 --data-dir ${stackData} --app-url ${origin}`,
      project,
      userEnv(),
    );
    running.push(started);
    await started.waitFor('Press Ctrl+C to stop.');
    const app = background(block('run').code, project, userEnv({ PORT: new URL(origin).port }));
    running.push(app);
    try {
      await app.waitFor(`Listening on ${origin}/`);
      stack = started;
    } catch (error) {
      if (attempt === 3 || !app.output().includes('EADDRINUSE')) throw error;
      await Promise.all([app.stop(), started.stop()]);
    }
  }
  const opCa = await readFile(join(stackData, 'local-op', 'cert.pem'), 'utf8');
  const user = /^ {2}(\S+) \/ (\S+)/m.exec(stack.output().split('Test users')[1] ?? '');
  expect(user?.[1]).toBe('jane');

  const agent = new Agent({
    connect: { ca: await readFile(join(project, 'dev-cert.pem'), 'utf8') },
  });
  agents.push(agent);
  const cookies = new Map<string, string>();
  const get = async (url: string | URL) => {
    const res = await request(new URL(url, origin), {
      dispatcher: agent,
      // As a browser asks: an HTML page, so a protected page redirects to the login.
      headers: {
        accept: 'text/html',
        ...(cookies.size > 0 ? { cookie: cookieHeader(cookies) } : {}),
      },
    });
    keepCookies(cookies, res.headers['set-cookie']);
    return {
      status: res.statusCode,
      location: res.headers.location as string | undefined,
      body: await res.body.text(),
    };
  };

  const home = await get('/');
  expect(home.status).toBe(200);
  expect(home.body).toContain('<a href="/login">Log in</a>');

  // A protected page sends the browser to the OP's login form, by way of /login.
  const profileFirst = await get('/profile');
  expect(profileFirst.status).toBe(302);
  let next = new URL(profileFirst.location!, origin);
  if (next.origin === origin) {
    const login = await get(next);
    expect(login.status).toBe(302);
    next = new URL(login.location!);
  }
  // The OP's login page names the app (client_name from app.cfg), not a raw client id.
  expect(await opLoginPageClientName(next, opCa)).toBe('express-oxd local app');

  const opJar = new OpCookieJar();
  const callback = await submitOpLogin(
    next.href,
    { username: user![1]!, password: user![2]! },
    opCa,
    opJar,
  );
  expect(callback.origin).toBe(origin);
  expect(callback.pathname).toBe('/callback');

  const back = await get(callback);
  expect(back.status).toBe(302);
  expect(new URL(back.location!, origin).pathname).toBe('/profile');
  const profile = await get('/profile');
  expect(profile.status).toBe(200);
  expect(JSON.parse(profile.body)).toMatchObject({
    name: 'Jane Doe',
    email: 'jane.doe@example.com',
  });
  const greeting = await get('/');
  expect(greeting.body).toContain('Hi Jane Doe.');
  // Registration was written back into the file the stack wrote.
  expect(await readFile(join(project, 'app.cfg'), 'utf8')).toMatch(/^id = \S+/m);

  // Logout ends the session and, after the OP's confirmation, lands on the app again.
  const logout = await get('/logout');
  expect(logout.status).toBe(302);
  const signedOut = await followOpLogout(logout.location!, opCa, opJar);
  expect(signedOut.location.href).toMatch(new RegExp(`^${origin}/(\\?|$)`));
  const after = await get('/');
  expect(after.body).toContain('<a href="/login">Log in</a>');
});

test('README - the express-oxd/testing snippet runs as an ES module', async () => {
  const project = join(dir, 'app');
  const file = join(project, 'local-stack.mjs');
  await writeFile(file, block('file local-stack.mjs').code);
  const result = await run(process.execPath, [file], { cwd: project });
  expect(result.stderr).not.toMatch(/SyntaxError|Error:/);
  expect(result.code).toBe(0);
  expect(result.stdout).toMatch(
    /^OP https:\/\/127\.0\.0\.1:\d+, oxd socket 127\.0\.0\.1:\d+, user jane$/m,
  );
});
