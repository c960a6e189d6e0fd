/**
 * Creating a client from a configuration file or object (config-aware code outside src/oxd):
 * `OxdClient.fromConfig()` from the package entry, `createOxdClient()`, and the client itself,
 * which writes no file unless its creator passes a `writeBack` callback.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createOxdClient, OxdClient, OxdConfigError } from '../src';
import { resolveConfig } from '../src/config-entry';
import { oxdScript, ScriptedTransport } from './oxd/client-fixtures';

const clients: OxdClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

const SITE = [
  '# my site',
  '[oxd]',
  'host = 127.0.0.1',
  'port = 8099',
  'id =',
  '',
  '[client]',
  'op_host = https://op.example.test',
  'authorization_redirect_uri = https://rp.example.test/callback',
  '',
].join('\n');

describe('OxdClient.fromConfig', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'express-oxd-client-'));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('fromConfig - reads the INI file and writes the registration back into it', async () => {
    const file = join(dir, 'site.cfg');
    await writeFile(file, SITE);
    const transport = new ScriptedTransport('socket', oxdScript());
    const client = OxdClient.fromConfig(file, { transport });
    clients.push(client);
    expect(client.oxdId).toBeUndefined();
    await expect(client.register()).resolves.toBe('site-1');
    const text = await readFile(file, 'utf8');
    expect(text).toMatch(/^# my site$/m);
    expect(text).toMatch(/^id = ?site-1$/m);
    expect(transport.requests[0]?.params).toMatchObject({
      op_host: 'https://op.example.test',
      authorization_redirect_uri: 'https://rp.example.test/callback',
    });
  });

  test('fromConfig - a bad configuration throws OxdConfigError naming the setting', () => {
    expect(() =>
      OxdClient.fromConfig({ oxd: { host: '127.0.0.1' }, client: {} }, { writeBack: false }),
    ).toThrow(OxdConfigError);
    expect(() =>
      OxdClient.fromConfig({ oxd: { host: '127.0.0.1' }, client: {} }, { writeBack: false }),
    ).toThrow(/authorizationRedirectUri/);
  });

  test('createOxdClient - is what fromConfig does; writeBack false writes nothing', async () => {
    const file = join(dir, 'memory.cfg');
    await writeFile(file, SITE);
    const transport = new ScriptedTransport('socket', oxdScript());
    const client = createOxdClient(file, { transport, writeBack: false });
    clients.push(client);
    await expect(client.register()).resolves.toBe('site-1');
    expect(await readFile(file, 'utf8')).toBe(SITE);
  });

  test('new OxdClient - reads and writes no file even when the configuration came from one', async () => {
    const file = join(dir, 'direct.cfg');
    await writeFile(file, SITE);
    const transport = new ScriptedTransport('socket', oxdScript());
    const saved: unknown[] = [];
    const silent = new OxdClient(resolveConfig(file), { transport });
    const injected = new OxdClient(resolveConfig(file), {
      transport,
      writeBack: async (values) => {
        saved.push(values);
      },
    });
    clients.push(silent, injected);
    await expect(silent.register()).resolves.toBe('site-1');
    await expect(injected.register()).resolves.toBe('site-1');
    expect(await readFile(file, 'utf8')).toBe(SITE);
    expect(saved).toEqual([
      { oxd: { id: 'site-1' }, client: { client_id: 'c-1', client_secret: 's-1' } },
    ]);
  });
});
