/**
 * node:cluster: three workers on one port, one configuration file without an id, sessions
 * in Redis. Every worker registers at start-up at the same moment; oxd sees one
 * registration, and logins spread over the workers succeed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseIni } from '../../src/config/ini';
import { SiteBrowser, type Instance, useRedisAndScratch } from '../helpers/app-instances';
import { ensureBuilt, ROOT } from '../helpers/build';
import { DIST_ENTRY, FIXTURES, registeredSites, writeStackConfig } from '../helpers/instances';
import { dedicatedStack, type LocalStack } from '../helpers/local-stack';

const WORKERS = 3;
let stack: LocalStack;
let primary: ChildProcess | undefined;

// Declared before the Redis it uses, so that the cluster stops first.
afterAll(async () => {
  if (primary && primary.exitCode === null) {
    const exited = new Promise((resolve) => primary?.once('exit', resolve));
    primary.kill('SIGTERM');
    await exited;
  }
});

const scratch = useRedisAndScratch('express-oxd-cluster-');

beforeAll(async () => {
  await ensureBuilt();
  stack = await dedicatedStack();
}, 180_000);

it(`${WORKERS} cluster workers starting together on a file without an id register once`, async () => {
  const file = join(scratch.dir, 'site.cfg');
  await writeStackConfig(file, stack, 'https://app.example');
  const args = [DIST_ENTRY, file, '--redis-port', String(scratch.redis.port), '--register'];
  const child = spawn(process.execPath, [join(FIXTURES, 'cluster.js'), String(WORKERS), ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  primary = child;
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const ready = await new Promise<{ port: number; ports: number; workers: number[] }>(
    (resolve, reject) => {
      let out = '';
      child.stdout?.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const newline = out.indexOf('\n');
        if (newline >= 0) resolve(JSON.parse(out.slice(0, newline)));
      });
      child.once('exit', (code) => reject(new Error(`cluster exited (${code}): ${stderr}`)));
    },
  );
  expect(ready.ports).toBe(1);
  expect(ready.workers).toHaveLength(WORKERS);

  const sites = await registeredSites(stack);
  expect(sites).toHaveLength(1);
  expect(parseIni(readFileSync(file, 'utf8')).get('oxd', 'id')).toBe(sites[0]);

  const site: Instance = {
    port: ready.port,
    pid: child.pid ?? 0,
    origin: `http://127.0.0.1:${ready.port}`,
    stderr: () => stderr,
    logs: () => [],
    alive: () => child.exitCode === null,
    stop: () => Promise.resolve(),
  };
  const users = stack.op.users;
  const pids = new Set<number>();
  await Promise.all(
    Array.from({ length: 12 }, async (_, i) => {
      const user = users[i % users.length]!;
      const browser = new SiteBrowser();
      expect((await browser.login(site, site, user, stack.op.ca)).status).toBe(302);
      const me = await browser.get(site, '/me', 'application/json');
      expect(me.status).toBe(200);
      const body = me.json<{ sub: string; pid: number }>();
      expect(body.sub).toBe(user.claims.sub);
      pids.add(body.pid);
    }),
  );
  expect(pids.size).toBeGreaterThan(1);
  expect(await registeredSites(stack)).toHaveLength(1);
  expect(stderr).toBe('');
}, 60_000);
