/**
 * Several instances of an app as separate processes, sessions in one Redis (connect-redis
 * and the redis client, as the README recipe), one configuration file without an id, the
 * local oxd and an OP that rotates refresh tokens. Nothing about a login may live in one
 * process's memory only, two instances refreshing the same expired token at once must not
 * log the user out, and a Redis outage answers 503 until Redis is back.
 */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient } from 'redis';
import {
  SiteBrowser,
  startInstance,
  type Instance,
  useRedisAndScratch,
} from '../helpers/app-instances';
import { ensureBuilt } from '../helpers/build';
import { registeredSites, writeStackConfig } from '../helpers/instances';
import { dedicatedStack, type LocalStack } from '../helpers/local-stack';

const ACCESS_TOKEN_TTL = 4;
const JSON_ACCEPT = 'application/json';
let stack: LocalStack;
let instances: Instance[];

interface Me {
  sub: string;
  pid: number;
  accessToken: string;
  expiresAt: number;
}

// Declared before the Redis they use, so that the instances stop first.
afterAll(async () => {
  await Promise.all((instances ?? []).map((instance) => instance.stop()));
});

const scratch = useRedisAndScratch('express-oxd-shared-sessions-');

beforeAll(async () => {
  await ensureBuilt();
  stack = await dedicatedStack({ accessTokenTtl: ACCESS_TOKEN_TTL, rotateRefreshToken: true });
  const file = join(scratch.dir, 'site.cfg');
  await writeStackConfig(file, stack, 'https://app.example');
  instances = await Promise.all(
    [0, 1, 2].map(() => startInstance(file, { redisPort: scratch.redis.port })),
  );
}, 180_000);

afterEach(() => {
  for (const instance of instances) {
    expect(instance.alive()).toBe(true);
    expect(instance.stderr()).toBe('');
  }
});

function user(index: number) {
  const found = stack.op.users[index % stack.op.users.length];
  if (!found) throw new Error('the local OP has no users');
  return found;
}

async function me(browser: SiteBrowser, instance: Instance): Promise<Me> {
  const reply = await browser.get(instance, '/me', JSON_ACCEPT);
  expect(reply.status).toBe(200);
  return reply.json<Me>();
}

it('login on A, callback on B, page on C, refresh on B, logout on A: then every instance sends the user to login', async () => {
  const [a, b, c] = instances as [Instance, Instance, Instance];
  const browser = new SiteBrowser();
  const jane = user(0);
  const back = await browser.login(a, b, jane, stack.op.ca);
  expect(back.status).toBe(302);
  expect(back.location).toBe('/');

  const first = await me(browser, c);
  expect(first).toMatchObject({ sub: jane.claims.sub, pid: c.pid });

  const refreshed = await browser.get(b, '/refresh', JSON_ACCEPT);
  expect(refreshed.status).toBe(200);
  const after = refreshed.json<Me>();
  expect(after.accessToken).not.toBe(first.accessToken);
  // The other instances see the refreshed token, not the one they may have seen before.
  expect((await me(browser, c)).accessToken).toBe(after.accessToken);
  expect((await me(browser, a)).accessToken).toBe(after.accessToken);

  const out = await browser.get(a, '/logout');
  expect(out.status).toBe(302);
  expect(out.location).toContain(stack.op.issuer);
  for (const instance of [a, b, c]) {
    const page = await browser.get(instance, '/me');
    expect(page.status).toBe(302);
    expect(page.location).toBe('/login?returnTo=%2Fme');
  }
  expect(await registeredSites(stack)).toHaveLength(1);
}, 60_000);

it('two instances that see the same expired access token at once keep the user logged in', async () => {
  const [a, b, c] = instances as [Instance, Instance, Instance];
  for (const round of [0, 1]) {
    const browser = new SiteBrowser();
    expect((await browser.login(a, b, user(round + 1), stack.op.ca)).status).toBe(302);
    const before = await me(browser, c);
    await sleep(Math.max(0, before.expiresAt - Date.now()) + 100);
    const [onA, onB] = await Promise.all([
      browser.get(a, '/me', JSON_ACCEPT),
      browser.get(b, '/me', JSON_ACCEPT),
    ]);
    expect([onA.status, onB.status]).toEqual([200, 200]);
    const tokens = [onA.json<Me>().accessToken, onB.json<Me>().accessToken];
    expect(tokens[0]).not.toBe(before.accessToken);
    expect(tokens[1]).toBe(tokens[0]);
    // The login goes on with the one refresh token the OP issued last.
    const later = await browser.get(c, '/refresh', JSON_ACCEPT);
    expect(later.status).toBe(200);
    expect((await me(browser, a)).sub).toBe(user(round + 1).claims.sub);
  }
}, 60_000);

it('an instance with refreshLeeway refreshes a token about to expire; the others take the new one', async () => {
  const [a, b] = instances as [Instance, Instance];
  const early = await startInstance(join(scratch.dir, 'site.cfg'), {
    redisPort: scratch.redis.port,
    leeway: ACCESS_TOKEN_TTL - 1,
  });
  try {
    const browser = new SiteBrowser();
    expect((await browser.login(a, b, user(0), stack.op.ca)).status).toBe(302);
    const first = await me(browser, a);
    await sleep(Math.max(0, first.expiresAt - (ACCESS_TOKEN_TTL - 1) * 1000 - Date.now()) + 100);
    // Not expired yet: an instance without leeway keeps the token.
    expect((await me(browser, b)).accessToken).toBe(first.accessToken);
    const ahead = await me(browser, early);
    expect(ahead.accessToken).not.toBe(first.accessToken);
    expect(ahead.expiresAt).toBeGreaterThan(first.expiresAt);
    expect((await me(browser, b)).accessToken).toBe(ahead.accessToken);
    expect(early.stderr()).toBe('');
  } finally {
    await early.stop();
  }
}, 30_000);

it('while Redis is down requests fail with a clear 503 (page or JSON); once it is back they succeed', async () => {
  const [a, b, c] = instances as [Instance, Instance, Instance];
  const browser = new SiteBrowser();
  expect((await browser.login(a, c, user(0), stack.op.ca)).status).toBe(302);
  await me(browser, b);

  await scratch.redis.stop();
  const api = await browser.get(a, '/me', JSON_ACCEPT);
  expect(api.status).toBe(503);
  expect(api.json()).toMatchObject({
    error: 'session_store_unavailable',
    code: 'OXD_SESSION_STORE_UNAVAILABLE',
  });
  const page = await browser.get(b, '/me');
  expect(page.status).toBe(503);
  expect(page.contentType).toContain('text/html');
  expect(page.text).toContain('The site is temporarily unavailable');
  const stranger = await new SiteBrowser().get(c, '/login');
  expect(stranger.status).toBe(503);
  // Each instance logged its failure once: loading the session (guardSession), or saving
  // the new login of a visitor without a session.
  for (const [instance, operation] of [
    [a, 'session_store'],
    [b, 'session_store'],
    [c, 'login'],
  ] as const) {
    expect(instance.logs()).toEqual([
      expect.objectContaining({
        log: 'error',
        code: 'OXD_SESSION_STORE_UNAVAILABLE',
        status: 503,
        operation,
      }),
    ]);
  }

  await scratch.redis.start();
  // The clients reconnect by themselves, each on its own back-off; no instance restarts.
  const deadline = Date.now() + 10_000;
  for (const instance of [a, b, c]) {
    let reply = await browser.get(instance, '/me', JSON_ACCEPT);
    while (reply.status === 503 && Date.now() < deadline) {
      await sleep(100);
      reply = await browser.get(instance, '/me', JSON_ACCEPT);
    }
    // Persistence is off: the restarted Redis is empty, so the user logs in again.
    expect(reply.status).toBe(401);
  }
  const again = new SiteBrowser();
  expect((await again.login(b, c, user(1), stack.op.ca)).status).toBe(302);
  expect((await me(again, a)).sub).toBe(user(1).claims.sub);
}, 60_000);

it('stores a logged-in session in Redis in a few kilobytes', async () => {
  const [a, b] = instances as [Instance, Instance];
  const browser = new SiteBrowser();
  expect((await browser.login(a, b, user(2), stack.op.ca)).status).toBe(302);
  const client = createClient({ socket: { host: '127.0.0.1', port: scratch.redis.port } });
  await client.connect();
  try {
    const keys = await client.keys('sess:*');
    const sizes = await Promise.all(keys.map((key) => client.strLen(key)));
    const largest = Math.max(...sizes);
    expect(largest).toBeGreaterThan(0);
    expect(largest).toBeLessThan(8192);
  } finally {
    await client.quit();
  }
}, 30_000);
