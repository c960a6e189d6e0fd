/**
 * What `npm publish` would ship: the file list of `npm pack --dry-run --json`. Scripts are
 * skipped (prepack would clean and rebuild dist/ under the other tests); dist/ is built first.
 */
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { ensureBuilt, ROOT } from '../helpers/build';

interface PackResult {
  files: { path: string }[];
}

function packDryRun(): Promise<PackResult> {
  return new Promise((resolve, reject) => {
    execFile(
      'npm',
      ['pack', '--dry-run', '--json', '--ignore-scripts'],
      { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`npm pack failed: ${stderr}`));
        else resolve((JSON.parse(stdout) as PackResult[])[0]!);
      },
    );
  });
}

async function filesUnder(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...(await filesUnder(path)));
    else found.push(path);
  }
  return found;
}

let files: string[];

beforeAll(async () => {
  await ensureBuilt();
  files = (await packDryRun()).files.map((file) => file.path).sort();
}, 240_000);

test('tarball - ships LICENSE, README and package.json at the top, nothing else there', () => {
  expect(files.filter((file) => !file.startsWith('dist/'))).toEqual([
    'LICENSE',
    'README.md',
    'package.json',
  ]);
});

test('tarball - ships a .js and a .d.ts for every module of src/', async () => {
  const modules = (await filesUnder(join(ROOT, 'src')))
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'))
    .map((file) => relative(join(ROOT, 'src'), file).replace(/\.ts$/, ''));
  expect(modules.length).toBeGreaterThan(20);
  for (const module of modules) {
    expect(files).toContain(`dist/${module}.js`);
    expect(files).toContain(`dist/${module}.d.ts`);
  }
  expect(files).toContain('dist/testing/cli.js');
});

test('tarball - ships no source maps, sources or tests', () => {
  expect(files.filter((file) => file.endsWith('.map'))).toEqual([]);
  expect(files.filter((file) => /^(src|test|demo-app|scripts)\//.test(file))).toEqual([]);
  expect(files.filter((file) => /\.ts$/.test(file) && !file.endsWith('.d.ts'))).toEqual([]);
  expect(files.every((file) => /\.(js|d\.ts)$/.test(file) || !file.startsWith('dist/'))).toBe(true);
});

test('tarball - the built JavaScript carries no source-map comment pointing at missing files', async () => {
  const built = (await filesUnder(join(ROOT, 'dist'))).filter((file) => file.endsWith('.js'));
  for (const file of built) {
    expect(await readFile(file, 'utf8')).not.toMatch(/sourceMappingURL/);
  }
});
