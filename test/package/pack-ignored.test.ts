/**
 * `npm pack` leaves `express-oxd-<version>.tgz` in the repository root: git ignores it, so a
 * pack leaves `git status` clean.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../helpers/build';

test('git ignores the tarball npm pack writes, for this version and any other', () => {
  const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    version: string;
  };
  for (const name of [`express-oxd-${version}.tgz`, 'express-oxd-10.2.0-beta.1.tgz']) {
    // Exit status 0 and the path on stdout: ignored; status 1: not ignored (execFileSync throws).
    const out = execFileSync('git', ['check-ignore', '--no-index', name], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    expect(out.trim()).toBe(name);
  }
});
