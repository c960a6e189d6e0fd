/**
 * examples/cluster: a node:cluster primary with two workers on one port, sessions in one
 * Redis (a real redis-server), a configuration file without an id. The workers register at
 * start-up and oxd sees one site; a user logs in once and every worker serves the profile.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseIni } from '../../src/config/ini';
import { SiteBrowser, useRedisAndScratch } from '../helpers/app-instances';
import { startExample } from '../helpers/examples';
import { registeredSites, writeStackConfig } from '../helpers/instances';
import { useLocalStack } from '../helpers/local-stack';

jest.setTimeout(120_000);

const stack = useLocalStack();
const scratch = useRedisAndScratch('express-oxd-example-cluster-');

test('two workers register once; one login is served by every worker', async () => {
  const file = join(scratch.dir, 'site.cfg');
  await writeStackConfig(file, stack, 'https://app.example');
  const site = await startExample(
    'cluster',
    'app.js',
    {
      OXD_CONFIG: file,
      REDIS_URL: `redis://127.0.0.1:${scratch.redis.port}`,
      SESSION_SECRET: 'cluster example secret',
      PORT: '0',
      WORKERS: '2',
    },
    /Listening on (http:\/\/127\.0\.0\.1:(\d+))\/ \(2 workers\)/,
  );
  const sites = await registeredSites(stack);
  expect(sites).toHaveLength(1);
  expect(parseIni(await readFile(file, 'utf8')).get('oxd', 'id')).toBe(sites[0]);

  // Each request on a new connection: the primary hands connections to the workers in turn.
  const browser = new SiteBrowser({
    headers: { 'x-forwarded-proto': 'https' },
    newConnections: true,
  });
  const jane = stack.op.users[0]!;
  expect((await browser.login(site, site, jane, stack.op.ca)).status).toBe(302);
  const workers = new Set<number>();
  for (let i = 0; i < 6; i += 1) {
    const profile = await browser.get(site, '/profile', 'application/json');
    expect(profile.status).toBe(200);
    const body = profile.json<{ sub: string; worker: number }>();
    expect(body.sub).toBe(jane.claims.sub);
    workers.add(body.worker);
  }
  expect(workers.size).toBe(2);
  expect(workers.has(site.pid)).toBe(false);
  expect(await registeredSites(stack)).toHaveLength(1);
  expect(site.alive()).toBe(true);
  expect(site.stderr()).toBe('');
  // SIGTERM to the primary stops the workers (each closes its server, oxd connections and
  // Redis), then the primary exits.
  expect(await site.stop()).toEqual({ code: 0, signal: null });
});
