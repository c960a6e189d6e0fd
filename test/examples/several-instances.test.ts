/**
 * examples/several-instances: the deploy step `express-oxd register` fills in the shared
 * configuration file, then two processes of app.js run on one Redis (a real redis-server)
 * behind what would be a load balancer (the test sends its X-Forwarded-Proto). A user logs in
 * starting on one process, the OP's redirect lands on the other, and both see the login, then
 * the logout. The instances register nothing themselves.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseIni } from '../../src/config/ini';
import { SiteBrowser, useRedisAndScratch } from '../helpers/app-instances';
import { ROOT } from '../helpers/build';
import { startExample, type ExampleProcess } from '../helpers/examples';
import { registeredSites, runNode, writeStackConfig } from '../helpers/instances';
import { useLocalStack } from '../helpers/local-stack';

jest.setTimeout(120_000);

const stack = useLocalStack();
const scratch = useRedisAndScratch('express-oxd-example-instances-');

test('register once at deploy, two processes on one Redis: a login on one is seen on the other', async () => {
  const file = join(scratch.dir, 'site.cfg');
  // The redirect URIs name the site behind the load balancer, not an instance.
  await writeStackConfig(file, stack, 'https://app.example');
  const registered = await runNode([join(ROOT, 'dist', 'cli.js'), 'register', file, '--json']).done;
  expect(registered.stderr).toBe('');
  expect(registered.code).toBe(0);
  expect(JSON.parse(registered.stdout)).toMatchObject({ action: 'registered', file });
  const oxdId = parseIni(await readFile(file, 'utf8')).get('oxd', 'id');
  expect(oxdId).toBeTruthy();

  const env = {
    OXD_CONFIG: file,
    REDIS_URL: `redis://127.0.0.1:${scratch.redis.port}`,
    SESSION_SECRET: 'several instances example secret',
    PORT: '0',
  };
  const [a, b] = (await Promise.all([
    startExample('several-instances', 'app.js', env),
    startExample('several-instances', 'app.js', env),
  ])) as [ExampleProcess, ExampleProcess];
  expect(a.pid).not.toBe(b.pid);

  const browser = new SiteBrowser({ headers: { 'x-forwarded-proto': 'https' } });
  const jane = stack.op.users[0]!;
  const back = await browser.login(a, b, jane, stack.op.ca);
  expect(back.status).toBe(302);
  expect(browser.jar.names()).toContain('connect.sid');

  for (const instance of [a, b]) {
    const profile = await browser.get(instance, '/profile', 'application/json');
    expect(profile.status).toBe(200);
    expect(profile.json()).toMatchObject({ sub: jane.claims.sub, pid: instance.pid });
  }

  const out = await browser.get(b, '/logout');
  expect(out.status).toBe(302);
  expect(out.location).toContain(stack.op.issuer);
  for (const instance of [a, b]) {
    expect((await browser.get(instance, '/', 'application/json')).json()).toEqual({
      user: null,
      pid: instance.pid,
    });
  }

  // The deploy step's registration is the only one, and the file still holds it.
  expect(await registeredSites(stack)).toEqual([oxdId]);
  expect(parseIni(await readFile(file, 'utf8')).get('oxd', 'id')).toBe(oxdId);
  for (const instance of [a, b]) {
    expect(instance.alive()).toBe(true);
    expect(instance.stderr()).toBe('');
  }
  // SIGTERM: each instance closes its server, its oxd connections and Redis, and exits.
  expect(await Promise.all([a.stop(), b.stop()])).toEqual([
    { code: 0, signal: null },
    { code: 0, signal: null },
  ]);
});
