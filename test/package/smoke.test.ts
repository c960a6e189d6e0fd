import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureBuilt, ROOT } from '../helpers/build';
import { nodeOutput } from '../helpers/instances';

/**
 * The exact runtime export list of each entry point. Adding a name is a decision about the
 * public API (and a change here), not a side effect of exporting something inside the package.
 */
const EXPECTED: Readonly<Record<string, readonly string[]>> = {
  'express-oxd': [
    'ERROR_CODES',
    'HttpsTransport',
    'OxdAuthError',
    'OxdBusyError',
    'OxdClient',
    'OxdCommandError',
    'OxdConfigError',
    'OxdError',
    'OxdProtocolError',
    'OxdTimeoutError',
    'OxdTransportError',
    'SocketTransport',
    'UMA_CACHE_DEFAULTS',
    'UmaNeedInfoError',
    'attemptSilentLogin',
    'claimCheck',
    'createOxdClient',
    'claimEquals',
    'claimIncludes',
    'guardSession',
    'oxdAuth',
    'oxdErrorHandler',
    'oxdReadiness',
    'readUmaChallenge',
    'redisRefreshLock',
    'renderOxdError',
    'requireAuth',
    'traceIds',
    'umaClaims',
    'umaFetch',
    'umaGetRpt',
    'umaProtect',
  ],
  'express-oxd/config': [
    'DEFAULTS',
    'IniDocument',
    'assertWritable',
    'parseIni',
    'resolveConfig',
    'writeBack',
  ],
  'express-oxd/testing': [
    'LOCAL_OXD_DEFAULTS',
    'OXD_VERSIONS',
    'createSelfSignedCertificate',
    'startLocalOp',
    'startLocalOxd',
  ],
};
const ENTRIES = Object.keys(EXPECTED);
const sorted = (names: readonly string[]): string[] => [...names].sort();

describe('package entry points', () => {
  let dir: string;

  beforeAll(async () => {
    await ensureBuilt();
    // Inside the repository so that `express-oxd` resolves through the package's own exports map.
    dir = await mkdtemp(join(ROOT, 'test', 'package', '.smoke-'));
  }, 240_000);

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('require() from a .cjs file loads each entry with exactly its export list', async () => {
    const file = join(dir, 'load.cjs');
    await writeFile(
      file,
      `const names = {};
for (const entry of ${JSON.stringify(ENTRIES)}) names[entry] = Object.keys(require(entry));
const main = require('express-oxd');
const { resolveConfig } = require('express-oxd/config');
const config = resolveConfig({ client: { authorizationRedirectUri: 'https://app.example/cb' } });
console.log(JSON.stringify({ names, oxdAuth: typeof main.oxdAuth,
  error: new main.OxdError('OXD_CONFIG_INVALID', 'x').code, port: config.oxd.port,
  fromConfig: main.OxdClient.fromConfig === main.createOxdClient }));`,
    );
    const result = JSON.parse(await nodeOutput([file]));
    for (const entry of ENTRIES) {
      expect({ entry, names: sorted(result.names[entry]) }).toEqual({
        entry,
        names: sorted(EXPECTED[entry]!),
      });
    }
    expect(result.oxdAuth).toBe('function');
    expect(result.error).toBe('OXD_CONFIG_INVALID');
    expect(result.port).toBe(8099);
    expect(result.fromConfig).toBe(true);
  });

  test('an app on the oxd socket starts without loading undici; the HTTPS transport loads it', async () => {
    const file = join(dir, 'lazy.cjs');
    await writeFile(
      file,
      `const loaded = () => Object.keys(require.cache).filter((f) => /node_modules[\\/]undici[\\/]/.test(f)).length;
const { oxdAuth, createOxdClient } = require('express-oxd');
const config = { oxd: { host: '127.0.0.1', port: 1 },
  client: { opHost: 'https://op.example', authorizationRedirectUri: 'https://app.example/cb' } };
const socketApp = oxdAuth({ config });
const atStart = loaded();
const https = createOxdClient({ ...config, oxd: { host: 'https://127.0.0.1:1', https: true } });
console.log(JSON.stringify({ atStart, afterHttps: loaded() }));
Promise.all([socketApp.client.close(), https.close()]);`,
    );
    const result = JSON.parse(await nodeOutput([file]));
    expect(result.atStart).toBe(0);
    expect(result.afterHttps).toBeGreaterThan(0);
  });

  test('import from a .mjs file loads each entry with exactly its export list', async () => {
    const file = join(dir, 'load.mjs');
    await writeFile(
      file,
      `import { oxdAuth, OxdClient } from 'express-oxd';
import { parseIni } from 'express-oxd/config';
import { writeFileSync } from 'node:fs';
const names = {};
for (const entry of ${JSON.stringify(ENTRIES)}) names[entry] = Object.keys(await import(entry));
// What this Node.js adds to the namespace of any CommonJS module with one export.
writeFileSync(new URL('./plain.cjs', import.meta.url), "Object.defineProperty(exports, '__esModule', { value: true }); exports.only = 1;");
const added = Object.keys(await import('./plain.cjs')).filter((name) => name !== 'only');
console.log(JSON.stringify({ names, added, oxdAuth: typeof oxdAuth, client: typeof OxdClient,
  ini: parseIni('[oxd]\\nport = 8099\\n').get('oxd', 'port') }));`,
    );
    const result = JSON.parse(await nodeOutput([file]));
    // Node adds \`default\` (module.exports), the compiler's \`__esModule\` marker and, from
    // Node.js 23, \`module.exports\` to the namespace of a CommonJS module; the names it adds to
    // a one-export module are allowed, every other name must be on the list.
    const ESM_EXTRAS: string[] = result.added;
    expect(ESM_EXTRAS).toEqual(expect.arrayContaining(['__esModule', 'default']));
    for (const entry of ENTRIES) {
      expect({ entry, names: sorted(result.names[entry]) }).toEqual({
        entry,
        names: sorted([...EXPECTED[entry]!, ...ESM_EXTRAS]),
      });
    }
    expect(result).toMatchObject({ oxdAuth: 'function', client: 'function', ini: '8099' });
  });

  test('the exports map is closed: internal modules cannot be deep-imported', async () => {
    const file = join(dir, 'deep.cjs');
    await writeFile(
      file,
      `for (const path of ['express-oxd/dist/oxd/client', 'express-oxd/dist/config/ini']) {
  try { require(path); console.log('loaded'); } catch (e) { console.log(e.code); }
}`,
    );
    expect((await nodeOutput([file])).trim().split('\n')).toEqual([
      'ERR_PACKAGE_PATH_NOT_EXPORTED',
      'ERR_PACKAGE_PATH_NOT_EXPORTED',
    ]);
  });
});
