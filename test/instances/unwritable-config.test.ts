/**
 * A configuration file that can no longer be written after start-up (a volume remounted
 * read-only, a full disk): the first login registers the site, its results cannot be saved,
 * and the registration is kept in memory with one warning through the client's logger; later logins, concurrent or not,
 * use it instead of registering a new site at oxd and a new client at the OP each time.
 * The tests run as root in CI containers, where file modes do not stop a write: the failing
 * write is the one step replaced, inside the real file lock, after a real registration.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig } from '../../src/config/resolve';
import { readSavedRegistration, withConfigLock } from '../../src/config/write-back';
import { ERROR_CODES, OxdConfigError } from '../../src/errors';
import { OxdClient } from '../../src/oxd/client';
import { ensureBuilt } from '../helpers/build';
import { capturingLogger } from '../helpers/capture-logger';
import { registeredSites, writeStackConfig } from '../helpers/instances';
import { dedicatedStack, type LocalStack } from '../helpers/local-stack';

let stack: LocalStack;
let root: string;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'express-oxd-unwritable-'));
  await ensureBuilt();
  stack = await dedicatedStack();
}, 180_000);
afterAll(async () => {
  await stack?.close();
  rmSync(root, { recursive: true, force: true });
});

afterEach(() => {
  jest.restoreAllMocks();
});

describe.each([
  ['the oxd socket', false],
  ['the oxd 4.x HTTPS API', true],
])('over %s', (_name, https) => {
  it('registers once, keeps the registration in memory and warns once', async () => {
    const file = join(root, `site-${https ? 'https' : 'socket'}.cfg`);
    await writeStackConfig(file, stack, 'https://app.example', { https });
    const text = readFileSync(file, 'utf8');
    const unwritable = (): never => {
      throw new OxdConfigError(
        `cannot write registration results to ${file}: EROFS: read-only file system`,
        { code: ERROR_CODES.CONFIG_WRITE_FAILED, file },
      );
    };
    const processWarnings: string[] = [];
    jest.spyOn(process, 'emitWarning').mockImplementation((warning) => {
      processWarnings.push(String(warning));
    });
    const logger = capturingLogger();
    const client = new OxdClient(resolveConfig(file), {
      logger,
      registerOnce: (register) =>
        withConfigLock(file, async (locked) => {
          const saved = await locked.read();
          const fresh = await register(saved);
          return fresh === undefined ? saved : unwritable();
        }),
      readSaved: () => readSavedRegistration(file),
      writeBack: async () => unwritable(),
    });
    try {
      const before = (await registeredSites(stack)).length;
      const first = await client.getAuthorizationUrl();
      expect(first.authorization_url).toContain(stack.op.issuer);
      await Promise.all(Array.from({ length: 5 }, () => client.getAuthorizationUrl()));
      await client.getAuthorizationUrl();
      expect((await registeredSites(stack)).length).toBe(before + 1);
      // The operator's logger is told, once; nothing goes to process warnings.
      expect(logger.lines).toHaveLength(1);
      const [level, message, fields] = logger.lines[0] ?? [];
      expect(level).toBe('warn');
      expect(message).toContain('EROFS');
      expect(message).toContain(`oxd id ${client.oxdId}`);
      expect(message).toContain('kept in memory');
      expect(fields).toEqual({ code: ERROR_CODES.CONFIG_WRITE_FAILED, file });
      expect(processWarnings).toEqual([]);
      expect(readFileSync(file, 'utf8')).toBe(text);
    } finally {
      await client.close();
    }
  });
});
