import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { oxdAuth } from '../../src/middleware/oxd-auth';
import type { OxdConfigError } from '../../src/errors';

const CLIENT = [
  '[client]',
  'op_host = https://op.example.com',
  'authorization_redirect_uri = https://app.example.com/callback',
].join('\n');

function captureError(fn: () => unknown): OxdConfigError {
  try {
    fn();
  } catch (error) {
    return error as OxdConfigError;
  }
  throw new Error('expected the factory to throw');
}

describe('oxdAuth start-up', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'oxd-startup-'));
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  test('start-up - throws when registration will be needed and the config file cannot be rewritten', () => {
    const file = join(dir, 'site.cfg');
    writeFileSync(file, `# my site\n[oxd]\nhost = 127.0.0.1\nport = 8099\n${CLIENT}\n`);
    mkdirSync(`${file}.lock`); // another writer's lock path is taken: the write-back could never land
    const error = captureError(() => oxdAuth(file));
    expect(error).toMatchObject({ code: 'OXD_CONFIG_WRITE_FAILED', file });
    expect(error.message).toContain(file);
  });

  test('start-up - accepts the same file once it is writable, without touching the network', () => {
    const file = join(dir, 'site.cfg');
    writeFileSync(file, `[oxd]\nhost = 127.0.0.1\nport = 1\n${CLIENT}\n`);
    const handler = oxdAuth(file);
    expect(typeof handler).toBe('function');
    expect(handler.client.oxdId).toBeUndefined();
  });

  test('start-up - names the option when the config is invalid', () => {
    const file = join(dir, 'site.cfg');
    writeFileSync(file, '[oxd]\nport = 99999\n' + CLIENT + '\n');
    const error = captureError(() => oxdAuth(file));
    expect(error).toMatchObject({ code: 'OXD_CONFIG_INVALID', key: 'oxd.port', file });
  });
});
