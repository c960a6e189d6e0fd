/**
 * Creating a client from a configuration file or object (config-aware code outside src/oxd):
 * `OxdClient.fromConfig()` from the package entry, `createOxdClient()`, and the client itself,
 * which writes no file unless its creator passes a `writeBack` callback.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createOxdClient, OxdBusyError, OxdClient, OxdConfigError } from '../src';
import { ok, respond, startScriptedOxdServer, wait } from './fixtures/scripted-oxd-server';
import { resolveConfig } from '../src/config-entry';
import { oxdScript, ScriptedTransport } from './fixtures/oxd-client';

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
    await writeFile(file, SITE, { mode: 0o600 }); // owner-only: registration writes a secret
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

  test('createOxdClient - a bad logger is refused by name before the configuration is read', async () => {
    // A file others can read that holds a secret: reading it warns through the logger.
    const file = join(dir, 'bad-logger.cfg');
    await writeFile(file, `${SITE}client_secret = s3cret\n`, { mode: 0o644 });
    const logger = { warn: 'loud', error: () => undefined } as unknown as Console;
    expect(() => createOxdClient(file, { logger, writeBack: false })).toThrow(
      'OxdClient option logger must be an object with warn(message, fields) and error(message, fields), such as console',
    );
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

describe('createOxdClient - transport limits from the configuration', () => {
  test('[oxd] max_queued and pool_size reach the socket transport: one command too many is refused at once', async () => {
    const server = await startScriptedOxdServer({
      otherwise: [wait(300), respond(ok({ node: { oxd_id: 'site-1' } }))],
    });
    try {
      const client = createOxdClient(
        {
          oxd: { host: '127.0.0.1', port: server.port, oxdId: 'site-1', poolSize: 1, maxQueued: 0 },
          client: { authorizationRedirectUri: 'https://rp.example.test/callback' },
        },
        { writeBack: false },
      );
      clients.push(client);
      const running = client.getRp({});
      const refused = await client.getRp({}).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(refused).toBeInstanceOf(OxdBusyError);
      expect((refused as OxdBusyError).status).toBe(503);
      await expect(running).resolves.toEqual({ node: { oxd_id: 'site-1' } });
      expect(server.requests).toHaveLength(1);
    } finally {
      await server.close();
    }
  });

  test('[oxd] max_response_bytes is read from the INI file', async () => {
    const config = resolveConfig({
      oxd: { max_response_bytes: '2048', https_extension: 'true', host: 'https://127.0.0.1:1' },
      client: { authorization_redirect_uri: 'https://rp.example.test/callback' },
    });
    expect(config.oxd.maxResponseBytes).toBe(2048);
    expect(() =>
      resolveConfig({
        oxd: { max_response_bytes: '10' },
        client: { authorization_redirect_uri: 'https://rp.example.test/callback' },
      }),
    ).toThrow(/max_response_bytes/);
  });
});
