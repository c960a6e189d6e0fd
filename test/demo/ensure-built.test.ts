/**
 * `npm run demo` builds the package itself when dist/ is missing or older than src/ (the
 * package no longer builds on `npm install`). Checked on a scratch copy of the sources, so
 * the checkout's dist/ is never rebuilt under other tests.
 */
import { execFile } from 'node:child_process';
import { cp, mkdtemp, rm, stat, symlink, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../helpers/build';

jest.setTimeout(120_000);

let copy: string;

beforeAll(async () => {
  copy = await mkdtemp(join(tmpdir(), 'express-oxd-ensure-built-'));
  for (const entry of ['src', 'scripts', 'package.json', 'tsconfig.json', 'tsconfig.build.json']) {
    await cp(join(ROOT, entry), join(copy, entry), { recursive: true });
  }
  await symlink(join(ROOT, 'node_modules'), join(copy, 'node_modules'), 'dir');
});

afterAll(async () => {
  await rm(copy, { recursive: true, force: true });
});

function ensureBuilt(): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [join(copy, 'scripts', 'ensure-built.js')],
      { cwd: copy },
      (error, stdout, stderr) =>
        error ? reject(new Error(`${stdout}${stderr}`)) : resolve(stdout),
    );
  });
}

test('ensure-built - builds a missing dist/, leaves a fresh one alone, rebuilds a stale one', async () => {
  await expect(stat(join(copy, 'dist'))).rejects.toMatchObject({ code: 'ENOENT' });
  expect(await ensureBuilt()).toContain('Building express-oxd');
  const built = await stat(join(copy, 'dist', 'index.js'));
  await expect(stat(join(copy, 'dist', 'testing', 'cli.js'))).resolves.toBeDefined();

  expect(await ensureBuilt()).toBe('');
  expect((await stat(join(copy, 'dist', 'index.js'))).mtimeMs).toBe(built.mtimeMs);

  // A source file changed after the build: its output is older than it.
  const past = new Date(Date.now() - 3_600_000);
  await utimes(join(copy, 'dist', 'errors.js'), past, past);
  expect(await ensureBuilt()).toContain('Building express-oxd');
  expect((await stat(join(copy, 'dist', 'errors.js'))).mtimeMs).toBeGreaterThan(
    (await stat(join(copy, 'src', 'errors.ts'))).mtimeMs,
  );
});
