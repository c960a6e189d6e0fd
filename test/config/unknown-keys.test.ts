import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig, type ConfigInput } from '../../src/config/resolve';
import { ERROR_CODES, OxdConfigError } from '../../src/errors';
import { ensureBuilt } from '../helpers/build';
import { capturingWarnings } from '../helpers/warnings';

const ROOT = join(__dirname, '..', '..');
const FIXTURES = join(ROOT, 'test', 'fixtures', 'config');
const secretWarnings: string[] = [];
const quiet = {
  warn: (message: string) => void secretWarnings.push(message),
  error: () => undefined,
};

let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'express-oxd-unknown-keys-'));
  await ensureBuilt();
}, 240_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let counter = 0;
function iniFile({ oxd = '', client = '' }: { oxd?: string; client?: string }): string {
  const path = join(dir, `case-${++counter}.cfg`);
  writeFileSync(
    path,
    `[oxd]\nid = abc\n${oxd}\n[client]\n` +
      `authorization_redirect_uri = https://app.example.com/callback\n${client}\n`,
  );
  return path;
}

function captureError(action: () => unknown): OxdConfigError {
  try {
    action();
  } catch (error) {
    if (error instanceof OxdConfigError) return error;
    throw error;
  }
  throw new Error('expected an OxdConfigError');
}

/**
 * Resolves the INI file in a separate node process, through the build, as an application
 * would; returns what that process printed on stderr (process warnings go there).
 */
function stderrOfResolving(path: string): Promise<string> {
  const script =
    `const { resolveConfig } = require(${JSON.stringify(join(ROOT, 'dist', 'config', 'resolve.js'))});` +
    `resolveConfig(${JSON.stringify(path)});`;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['-e', script], (error, _stdout, stderr) =>
      error === null ? resolve(stderr) : reject(new Error(`${error.message}\n${stderr}`)),
    );
  });
}

describe('resolveConfig - unknown keys in the INI file', () => {
  it.each([
    ['client', 'scopee = openid,profile', 'scope'],
    ['client', 'post_logout_redirect_url = https://app.example.com/', 'post_logout_redirect_uri'],
    ['client', 'opHost = https://op.example.com', 'op_host'],
    ['client', 'client_secrett =', 'client_secret'],
    ['oxd', 'conect_timeout = 1000', 'connect_timeout'],
    ['oxd', 'https_extention = true', 'https_extension'],
  ] as const)('refuses the near miss [%s] %s, naming the key it is near', (section, line, near) => {
    const path = iniFile(section === 'oxd' ? { oxd: line } : { client: line });
    const key = line.split('=')[0]?.trim().toLowerCase() as string;
    const error = captureError(() => resolveConfig(path));
    expect(error.code).toBe(ERROR_CODES.CONFIG_INVALID);
    expect(error.key).toBe(`${section}.${key}`);
    expect(error.file).toBe(path);
    expect(error.message).toBe(
      `${path}: [${section}] ${key} is not a setting; did you mean ${near}? ` +
        `(the ${section} settings are listed in the README)`,
    );
  });

  it('words a near miss as the object form does', () => {
    const client = { authorization_redirect_uri: 'https://app.example.com/callback' };
    const mistyped = { oxd: { id: 'abc' }, client: { ...client, scopee: 'openid' } };
    const fromObject = captureError(() => resolveConfig(mistyped as ConfigInput));
    const fromFile = captureError(() => resolveConfig(iniFile({ client: 'scopee = openid' })));
    expect(fromObject.message.replace('config client.scopee', '')).toBe(
      fromFile.message.replace(/^.*\[client\] scopee/, ''),
    );
    expect(fromFile.key).toBe(fromObject.key);
  });

  it('refuses the object-only ca in a file, pointing to ca_file', () => {
    const path = iniFile({ oxd: 'ca = -----BEGIN CERTIFICATE-----' });
    const error = captureError(() => resolveConfig(path));
    expect(error.key).toBe('oxd.ca');
    expect(error.message).toContain('[oxd] ca is accepted only in a settings object');
    expect(error.message).toContain('ca_file');
  });

  it('ignores keys of oxd-python files that express-oxd does not use, without a warning', async () => {
    const path = iniFile({
      oxd: 'connection_type = local',
      client:
        'client_id_issued_at = 1500000000\nclient_secret_expires_at = 0\n' +
        'grant_type = authorization_code\nclient_frontchannel_logout_uri = https://app.example.com/x',
    });
    const config = resolveConfig(path);
    expect(config.client.grantTypes).toEqual(['authorization_code', 'refresh_token']);
    expect(config.client.clientFrontchannelLogoutUris).toEqual([]);
    expect(await stderrOfResolving(path)).toBe('');
  });

  it('loads a file with a key near no setting, and warns about it', async () => {
    const path = iniFile({ oxd: 'unknown_oxd_key = kept as is' });
    const { result, warnings } = capturingWarnings(() => resolveConfig(path));
    expect(result.oxd.oxdId).toBe('abc');
    expect(warnings).toEqual([expect.stringContaining('[oxd] unknown_oxd_key is not a setting')]);
    const stderr = await stderrOfResolving(path);
    expect(stderr).toContain(
      `[OXD_CONFIG_UNKNOWN_KEY] OxdConfigWarning: ${path}: [oxd] unknown_oxd_key is not a ` +
        'setting and is ignored (the oxd settings are listed in the README)',
    );
    expect(stderr.match(/OxdConfigWarning/g)).toHaveLength(1);
  });

  it('leaves other sections alone', async () => {
    const path = join(dir, 'other-sections.cfg');
    writeFileSync(
      path,
      readFileSync(iniFile({}), 'utf8') + '[demo]\nprot = 1\n[extras]\nscopee = x\n',
    );
    expect(resolveConfig(path).oxd.oxdId).toBe('abc');
    expect(await stderrOfResolving(path)).toBe('');
  });

  it.each(['demosite.cfg', 'test/fixtures/config/good.cfg', 'test/fixtures/config/commented.cfg'])(
    'still loads %s',
    (file) => {
      // The repository's files are 0644: one holding secrets warns, here to `secretWarnings`.
      const { warnings } = capturingWarnings(() =>
        resolveConfig(join(ROOT, file), { logger: quiet }),
      );
      // commented.cfg keeps a key no setting has, on purpose.
      expect(warnings).toEqual(
        file.endsWith('commented.cfg')
          ? [expect.stringContaining('[oxd] unknown_oxd_key is not a setting')]
          : [],
      );
    },
  );

  it.each(readdirSync(FIXTURES).filter((name) => name.endsWith('.cfg')))(
    'refuses no key of the fixture %s',
    (name) => {
      const { warnings } = capturingWarnings(() =>
        expect(() => resolveConfig(join(FIXTURES, name), { logger: quiet })).not.toThrow(
          /is not a setting|accepted only in a settings object/,
        ),
      );
      expect(warnings).toEqual(
        name === 'commented.cfg'
          ? [expect.stringContaining('[oxd] unknown_oxd_key is not a setting')]
          : [],
      );
    },
  );
});
