/**
 * Back-channel logout across instances: two app processes with sessions in one Redis and the
 * `refreshLock` of the README recipe (`redisRefreshLock()`), one registration, the OP's
 * back-channel URI on one of them. Twelve browsers of one user log in at the same moment, each
 * starting on one instance and finishing on the other; the user signs out at the OP with a
 * `sub`-only logout token, and every one of the twelve sessions ends, whichever instance
 * recorded it. A login the application copies into a regenerated session on one instance
 * ends too, whichever instance serves the new session first, before or after the logout.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseIni } from '../../src/config/ini';
import { followOpLogout, OpCookieJar } from '../../src/testing/op-login';
import {
  SiteBrowser,
  startInstance,
  type Instance,
  useRedisAndScratch,
} from '../helpers/app-instances';
import { endSessionEndpoint, registerBackchannelUri } from '../helpers/backchannel-fixture';
import { ensureBuilt } from '../helpers/build';
import { writeStackConfig } from '../helpers/instances';
import { dedicatedStack, type LocalStack } from '../helpers/local-stack';

const JSON_ACCEPT = 'application/json';
let stack: LocalStack;
let instances: Instance[] = [];

// Declared before the Redis it uses, so that the instances stop first.
afterAll(async () => {
  await Promise.all(instances.map((instance) => instance.stop()));
});

const scratch = useRedisAndScratch('express-oxd-backchannel-instances-');

beforeAll(async () => {
  const { dir: root, redis } = scratch;
  await ensureBuilt();
  stack = await dedicatedStack();
  const file = join(root, 'site.cfg');
  await writeStackConfig(file, stack, 'https://app.example');
  // oxd 3.x (the socket): the instances read the OP's keys from the OP, which they trust so.
  writeFileSync(
    file,
    readFileSync(file, 'utf8').replace('[client]\n', `[client]\nop_ca_file = ${stack.opCaFile}\n`),
  );
  const first = await startInstance(file, {
    redisPort: redis.port,
    register: true,
    backchannel: true,
  });
  const second = await startInstance(file, { redisPort: redis.port, backchannel: true });
  instances = [first, second];
  const oxdId = parseIni(readFileSync(file, 'utf8')).get('oxd', 'id') as string;
  await registerBackchannelUri(stack, oxdId, `${first.origin}/backchannel-logout`, false);
}, 180_000);

test('12 concurrent logins over two instances: a sub-only logout at the OP ends all 12', async () => {
  const [a, b] = instances as [Instance, Instance];
  const user = stack.op.users[0] as { username: string; password: string };
  const browsers = Array.from({ length: 12 }, () => new SiteBrowser());
  const jars = browsers.map(() => new OpCookieJar());
  const done = await Promise.all(
    browsers.map((browser, i) =>
      browser.login(i % 2 ? a : b, i % 2 ? b : a, user, stack.op.ca, jars[i]),
    ),
  );
  expect(done.map((reply) => reply.status)).toEqual(Array(12).fill(302));
  for (const browser of browsers) {
    expect((await browser.get(a, '/me', JSON_ACCEPT)).status).toBe(200);
  }

  await followOpLogout(await endSessionEndpoint(stack), stack.op.ca, jars[0]);
  const loggedIn = async () => {
    const replies = await Promise.all(
      browsers.map((browser) => browser.get(b, '/me', JSON_ACCEPT)),
    );
    return replies.filter((reply) => reply.status === 200).length;
  };
  for (let i = 0; i < 50 && (await loggedIn()) > 0; i += 1) await sleep(100);
  expect(await loggedIn()).toBe(0);
  for (const instance of instances) expect(instance.stderr()).toBe('');
}, 120_000);

describe('a login the application copied into a regenerated session', () => {
  /**
   * Logs a browser in on the first instance, which then copies the login into a regenerated
   * session. `signOut` ends the OP session; the OP has posted its logout token to the first
   * instance, and had the answer, by the time it resolves.
   */
  async function copiedLogin() {
    const [a, b] = instances as [Instance, Instance];
    const user = stack.op.users[0] as { username: string; password: string };
    const browser = new SiteBrowser();
    const jar = new OpCookieJar();
    expect((await browser.login(a, a, user, stack.op.ca, jar)).status).toBe(302);
    expect((await browser.get(a, '/copy', JSON_ACCEPT)).status).toBe(200);
    const endSession = await endSessionEndpoint(stack);
    return { b, browser, signOut: () => followOpLogout(endSession, stack.op.ca, jar) };
  }

  test('its first request on the other instance moves the records; the logout then ends it', async () => {
    const { b, browser, signOut } = await copiedLogin();
    expect((await browser.get(b, '/me', JSON_ACCEPT)).status).toBe(200);
    await signOut();
    expect((await browser.get(b, '/me', JSON_ACCEPT)).status).toBe(401);
  });

  test('a logout that comes before its next request ends it on the other instance', async () => {
    const { b, browser, signOut } = await copiedLogin();
    await signOut();
    expect((await browser.get(b, '/me', JSON_ACCEPT)).status).toBe(401);
    for (const instance of instances) expect(instance.stderr()).toBe('');
  });
});
