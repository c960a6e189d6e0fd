/**
 * Secrets and who can read them: write-back makes a file owner-only when it writes a
 * secret into it (and says so once), reading a file holding secrets that others can read
 * warns (once) without refusing it, and the client secret and the protection token can come
 * from environment variables or a separate secrets file, so the configuration itself can be
 * public.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createOxdClient } from '../../src';
import { parseIni } from '../../src/config/ini';
import { resolveConfig } from '../../src/config/resolve';
import { writeBack } from '../../src/config/write-back';
import { OxdConfigError } from '../../src/errors';
import type { Logger } from '../../src/logger';
import type { OxdClient } from '../../src/oxd/client';
import { dedicatedStack } from '../helpers/local-stack';

const SITE =
  '# the site, public\n[oxd]\nhost = 127.0.0.1\nport = 8099\n\n[client]\n' +
  'op_host = https://op.example.test\n' +
  'authorization_redirect_uri = https://rp.example.test/callback\n';

/** A logger that keeps what it is told. */
function capture(): Logger & { warnings: string[]; errors: string[] } {
  const warnings: string[] = [];
  const errors: string[] = [];
  return {
    warnings,
    errors,
    warn: (message) => void warnings.push(message),
    error: (message) => void errors.push(message),
  };
}

const mode = (file: string) => statSync(file).mode & 0o777;

let dir: string;
let counter = 0;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'express-oxd-secrets-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A new file `name` holding `text` with `fileMode`. */
function file(text: string, fileMode: number, name = `site-${++counter}.cfg`): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  chmodSync(path, fileMode);
  return path;
}

describe('write-back', () => {
  test('writing a secret into a file others can read makes it owner-only, and says so once', async () => {
    const path = file(SITE, 0o644);
    const logger = capture();
    await writeBack(path, { oxd: { id: 'site-1' } }, { logger });
    expect(mode(path)).toBe(0o644); // no secret yet: the mode is the user's
    await writeBack(path, { client: { client_id: 'c-1', client_secret: 's-1' } }, { logger });
    expect(mode(path)).toBe(0o600);
    await writeBack(path, { client: { protection_access_token: 'pat-2' } }, { logger });
    expect(mode(path)).toBe(0o600);
    expect(logger.warnings).toHaveLength(1);
    expect(logger.warnings[0]).toContain(path);
    expect(logger.warnings[0]).toMatch(/mode 0644.*owner-only now \(mode 0600\)/);
    expect(logger.warnings[0]).not.toContain('s-1');
    expect(parseIni(readFileSync(path)).get('client', 'client_secret')).toBe('s-1');
  });

  test('an owner-only file stays as it is, without a word', async () => {
    const path = file(SITE, 0o600);
    const logger = capture();
    await writeBack(path, { client: { client_id: 'c-1', client_secret: 's-1' } }, { logger });
    expect(mode(path)).toBe(0o600);
    expect(logger.warnings).toEqual([]);
  });
});

describe('reading', () => {
  test('a file holding secrets that others can read warns once, and is used', () => {
    const path = file(`${SITE}client_id = c-1\nclient_secret = s-1\n`, 0o644);
    const logger = capture();
    expect(resolveConfig(path, { logger }).client.clientSecret).toBe('s-1');
    resolveConfig(path, { logger });
    expect(logger.warnings).toHaveLength(1);
    expect(logger.warnings[0]).toContain(path);
    expect(logger.warnings[0]).toMatch(/mode 0644/);
    expect(logger.warnings[0]).not.toContain('s-1');
  });

  test('no warning for an owner-only file, nor for a readable file without secrets', () => {
    const logger = capture();
    resolveConfig(file(`${SITE}client_id = c-1\nclient_secret = s-1\n`, 0o600), { logger });
    resolveConfig(file(SITE, 0o644), { logger });
    expect(logger.warnings).toEqual([]);
  });

  test('createOxdClient passes its logger to the configuration reader', async () => {
    const logger = capture();
    await createOxdClient(file(SITE, 0o644), { logger, writeBack: false }).close();
    const secret = file(`${SITE}client_id = c-1\nclient_secret = s-1\n`, 0o640);
    await createOxdClient(secret, { logger, writeBack: false }).close();
    expect(logger.warnings).toHaveLength(1);
    expect(logger.warnings[0]).toMatch(/mode 0640/);
  });
});

describe('secrets outside the configuration', () => {
  test('EXPRESS_OXD_CLIENT_SECRET and EXPRESS_OXD_PROTECTION_ACCESS_TOKEN give the secrets of an INI file', () => {
    const path = file(`${SITE}client_id = c-1\nclient_secret = in-the-file\n`, 0o600);
    const env = {
      EXPRESS_OXD_CLIENT_SECRET: 'from-the-environment',
      EXPRESS_OXD_PROTECTION_ACCESS_TOKEN: 'pat-env',
    };
    const config = resolveConfig(path, { env });
    expect(config.client.clientSecret).toBe('from-the-environment');
    expect(config.client.protectionAccessToken).toBe('pat-env');
    expect(resolveConfig(path, { env: {} }).client.clientSecret).toBe('in-the-file');
  });

  test('a secret from the environment is checked like one in the file, and not shown', () => {
    const path = file(SITE, 0o600); // a client secret without a client id
    let error: unknown;
    try {
      resolveConfig(path, { env: { EXPRESS_OXD_CLIENT_SECRET: 'secret-value' } });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(OxdConfigError);
    expect((error as Error).message).toMatch(/client_id is missing while client_secret is set/);
    expect((error as Error).message).not.toContain('secret-value');
  });

  test('a secrets_file holds the registration: its values win over the configuration', () => {
    const secrets = file(
      '[oxd]\nid = site-from-secrets\n\n[client]\nclient_id = c-1\nclient_secret = s-1\n',
      0o600,
      'site-secrets.cfg',
    );
    const path = file(`${SITE}secrets_file = site-secrets.cfg\n`, 0o644);
    const logger = capture();
    const config = resolveConfig(path, { logger });
    expect(config.oxd.oxdId).toBe('site-from-secrets');
    expect(config.client.clientSecret).toBe('s-1');
    expect(config.file).toBe(secrets);
    expect(logger.warnings).toEqual([]);
  });
});

describe('registration into a secrets file, against the local oxd over HTTPS', () => {
  const clients: OxdClient[] = [];
  afterAll(async () => {
    await Promise.all(clients.map((client) => client.close()));
  });

  test('the public configuration is left byte for byte; the secrets file is created owner-only', async () => {
    const stack = await dedicatedStack();
    writeFileSync(join(dir, 'oxd-ca.pem'), stack.oxd.ca);
    const text =
      `[oxd]\nhost = ${stack.oxd.httpsUrl}\nhttps_extension = true\nserver_version = 4\n` +
      'ca_file = oxd-ca.pem\n\n[client]\n' +
      `op_host = ${stack.op.issuer}\n` +
      'authorization_redirect_uri = https://rp.example.test/callback\n' +
      'secrets_file = registered.cfg\n';
    const path = file(text, 0o644);
    const logger = capture();
    const client = createOxdClient(path, { logger });
    clients.push(client);
    const oxdId = await client.register();

    expect(readFileSync(path, 'utf8')).toBe(text);
    expect(mode(path)).toBe(0o644);
    const secretsPath = join(dir, 'registered.cfg');
    expect(mode(secretsPath)).toBe(0o600);
    const saved = parseIni(readFileSync(secretsPath));
    expect(saved.get('oxd', 'id')).toBe(oxdId);
    expect(saved.get('client', 'client_secret')).toEqual(expect.any(String));

    // A restart reads the registration from the secrets file and registers no more.
    const again = createOxdClient(path, { logger });
    clients.push(again);
    expect(again.oxdId).toBe(oxdId);
    await expect(again.getAuthorizationUrl({})).resolves.toMatchObject({
      authorization_url: expect.stringMatching(/^https:\/\//),
    });
    expect(logger.warnings).toEqual([]);
  }, 60_000);
});
