/**
 * The registration lock is a lease its owner renews while it works: two processes sharing
 * a configuration file, with a `register_site` much slower than the lease, make ONE
 * registration (the second waits for the first and adopts its id). Before leases, a lock
 * older than a fixed age was broken as stale although its owner was alive, and the second
 * process registered again. The lease and oxd's delay are short so the test runs in seconds.
 */
import { mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseIni } from '../../src/config/ini';
import { withConfigLock } from '../../src/config/write-back';
import {
  ok,
  respond,
  startScriptedOxdServer,
  wait,
  type ReceivedRequest,
  type ScriptedOxdServer,
} from '../fixtures/scripted-oxd-server';
import { ensureBuilt, ROOT } from '../helpers/build';
import { nodeOutput } from '../helpers/instances';

const LEASE_MS = 1000;
const REGISTER_DELAY_MS = 4000;

/** A process registering the site of `file` with a short lock lease; prints the oxd id. */
const CHILD = `
const { resolveConfig } = require(${JSON.stringify(join(ROOT, 'dist/config/resolve.js'))});
const { oxdClientFor } = require(${JSON.stringify(join(ROOT, 'dist/client-from-config.js'))});
const [file, leaseMs] = process.argv.slice(1);
const client = oxdClientFor(resolveConfig(file), {}, { leaseMs: Number(leaseMs) });
client.register().then(
  (id) => { process.stdout.write(id); return client.close(); },
  (error) => { process.stderr.write(String(error && error.stack || error)); process.exitCode = 1; return client.close(); },
);
`;

function register(file: string): Promise<string> {
  return nodeOutput(['-e', CHILD, file, String(LEASE_MS)]);
}

let dir: string;
let server: ScriptedOxdServer | undefined;

beforeAll(() => ensureBuilt(), 120_000);

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'registration-lease-'));
});

afterEach(async () => {
  await server?.close();
  server = undefined;
  rmSync(dir, { recursive: true, force: true });
});

test('two processes with a register_site slower than the lease make one registration', async () => {
  let registrations = 0;
  server = await startScriptedOxdServer({
    otherwise: [
      wait(REGISTER_DELAY_MS),
      respond((request: ReceivedRequest) =>
        ok(request.command === 'register_site' ? { oxd_id: `site-${++registrations}` } : {}),
      ),
    ],
  });
  const file = join(dir, 'site.cfg');
  writeFileSync(
    file,
    `[oxd]\nhost = 127.0.0.1\nport = ${server.port}\n\n[client]\n` +
      'op_host = https://op.example.test\n' +
      'authorization_redirect_uri = https://rp.example.test/callback\n',
  );

  const first = register(file);
  // The second process starts once the first holds the lock and is registering.
  while (server.requests.length === 0) await sleep(20);
  const second = register(file);

  const ids = await Promise.all([first, second]);
  expect(server.requests.map((request) => request.command)).toEqual(['register_site']);
  expect(ids).toEqual(['site-1', 'site-1']);
  expect(parseIni(readFileSync(file)).get('oxd', 'id')).toBe('site-1');
}, 30_000);

test('a lock whose lease lapsed is broken although its owner is alive; a renewed one is not', async () => {
  const file = join(dir, 'site.cfg');
  writeFileSync(file, '[oxd]\nid = old\n');
  const lock = `${file}.lock`;
  // A live owner (this test's parent process) on this host whose 1 s lease was not renewed.
  writeFileSync(
    lock,
    JSON.stringify({ pid: process.ppid, host: hostname(), nonce: 'x', leaseMs: 1000 }),
  );
  const lapsed = new Date(Date.now() - 1500);
  utimesSync(lock, lapsed, lapsed);
  const started = Date.now();
  await withConfigLock(file, (locked) => locked.write({ oxd: { id: 'taken-over' } }));
  expect(Date.now() - started).toBeLessThan(1000);
  expect(parseIni(readFileSync(file)).get('oxd', 'id')).toBe('taken-over');

  // A holder that keeps working for four leases keeps its lock: the other waits.
  const order: string[] = [];
  const holder = withConfigLock(
    file,
    async (locked) => {
      await sleep(4 * LEASE_MS);
      await locked.write({ oxd: { id: 'holder' } });
      order.push('holder done');
    },
    { leaseMs: LEASE_MS },
  );
  await sleep(50);
  const other = spawnWaiter(file);
  await holder;
  order.push(await other);
  expect(order).toEqual(['holder done', 'holder']);
}, 30_000);

/** Another process that takes the lock (waiting for it) and reads the id it finds. */
function spawnWaiter(file: string): Promise<string> {
  const source = `
const { withConfigLock } = require(${JSON.stringify(join(ROOT, 'dist/config/write-back.js'))});
withConfigLock(process.argv[1], async (locked) => (await locked.read()).oxd.id).then((id) => process.stdout.write(id));
`;
  return nodeOutput(['-e', source, file]);
}
