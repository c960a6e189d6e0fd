import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureBuilt, ROOT } from '../helpers/build';

/** Runs a script file with node from the repository root; resolves with its stdout. */
function runNode(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [file], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`node ${file} exited ${code}: ${err}`)),
    );
  });
}

const EXPECTED_MAIN = [
  'OxdClient',
  'createOxdClient',
  'OxdError',
  'ERROR_CODES',
  'oxdAuth',
  'requireAuth',
  'oxdErrorHandler',
  'resolveConfig',
  'SocketTransport',
  'HttpsTransport',
];
const EXPECTED_TESTING = ['startLocalOp', 'startLocalOxd', 'createSelfSignedCertificate'];

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

  test('require() from a .cjs file loads the main and testing entries', async () => {
    const file = join(dir, 'load.cjs');
    await writeFile(
      file,
      `const main = require('express-oxd');
const testing = require('express-oxd/testing');
console.log(JSON.stringify({ main: Object.keys(main), testing: Object.keys(testing),
  oxdAuth: typeof main.oxdAuth, error: new main.OxdError('OXD_CONFIG_INVALID', 'x').code,
  fromConfig: main.OxdClient.fromConfig === main.createOxdClient }));`,
    );
    const result = JSON.parse(await runNode(file));
    expect(result.main).toEqual(expect.arrayContaining(EXPECTED_MAIN));
    expect(result.testing).toEqual(expect.arrayContaining(EXPECTED_TESTING));
    expect(result.oxdAuth).toBe('function');
    expect(result.error).toBe('OXD_CONFIG_INVALID');
    expect(result.fromConfig).toBe(true);
  });

  test('import from a .mjs file loads the main and testing entries', async () => {
    const file = join(dir, 'load.mjs');
    await writeFile(
      file,
      `import { oxdAuth, OxdClient } from 'express-oxd';
import * as testing from 'express-oxd/testing';
console.log(JSON.stringify({ oxdAuth: typeof oxdAuth, client: typeof OxdClient,
  testing: Object.keys(testing) }));`,
    );
    const result = JSON.parse(await runNode(file));
    expect(result).toMatchObject({ oxdAuth: 'function', client: 'function' });
    expect(result.testing).toEqual(expect.arrayContaining(EXPECTED_TESTING));
  });

  test('the exports map is closed: internal modules cannot be deep-imported', async () => {
    const file = join(dir, 'deep.cjs');
    await writeFile(
      file,
      `try { require('express-oxd/dist/oxd/client'); console.log('loaded'); }
catch (e) { console.log(e.code); }`,
    );
    expect((await runNode(file)).trim()).toBe('ERR_PACKAGE_PATH_NOT_EXPORTED');
  });
});
